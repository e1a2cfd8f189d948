import { Testing, Yaml } from 'cdk8s';
import * as yaml from 'js-yaml';
import { BaseModel, CptStage, PrometheusScrapeConfig } from '../src';
import { nsChart } from './util/platform';
import { expectValid } from './util/schema';

describe('PrometheusScrapeConfig', () => {
  test('the seed\'s ConfigMap with fixed relabelling, and annotated trainer pods', () => {
    const chart = nsChart();
    const scrape = new PrometheusScrapeConfig(chart, 'prom');
    new CptStage(chart, 'cpt', {
      image: 'registry.example.com/unsloth-korean:1.0.0',
      runId: 'r1',
      baseModel: BaseModel.huggingFace('org/m'),
      podAnnotations: PrometheusScrapeConfig.podAnnotations(),
    });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const cm = docs.find((d) => d.kind === 'ConfigMap');
    expect(cm.metadata).toMatchObject({ name: 'prometheus-config', namespace: 'monitoring' });
    const config: any = yaml.load(cm.data['prometheus.yml']);
    expect(config).toEqual(scrape.prometheusConfig);
    expect(config.global.scrape_interval).toBe('15s');
    const pods = config.scrape_configs[0];
    expect(pods.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: ['llm-training'] } }]);
    expect(pods.relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' });
    const port = pods.relabel_configs.find((r: any) => r.target_label === '__address__');
    expect(port.source_labels).toEqual(['__address__', '__meta_kubernetes_pod_annotation_prometheus_io_port']);
    expect(new RegExp(`^${port.regex}$`).exec('10.0.0.7:8080;9108')!.slice(1)).toEqual(['10.0.0.7', '9108']);
    expect(port.replacement).toBe('$1:$2');
    expect(pods.relabel_configs.find((r: any) => r.target_label === '__metrics_path__').source_labels).toEqual(['__meta_kubernetes_pod_annotation_prometheus_io_path']);
    expect(pods.relabel_configs.map((r: any) => r.target_label)).toEqual(expect.arrayContaining(['namespace', 'pod']));
    const dcgm = config.scrape_configs[1];
    expect(dcgm).toMatchObject({ job_name: 'nvidia-dcgm', honor_labels: true, kubernetes_sd_configs: [{ role: 'endpoints', namespaces: { names: ['gpu-operator'] } }] });
    expect(dcgm.relabel_configs.slice(0, 2).map((r: any) => r.regex)).toEqual(['nvidia-dcgm-exporter', 'gpu-metrics']);
    // the trainer pods carry the annotations the configuration keeps
    const tpl = docs.find((d) => d.kind === 'PyTorchJob').spec.pytorchReplicaSpecs.Master.template;
    expect(tpl.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9108', 'prometheus.io/path': '/metrics' });
    expect(Yaml.stringify(config)).toBe(cm.data['prometheus.yml']);
  });

  test('fails when a port or namespace is invalid', () => {
    expect(() => PrometheusScrapeConfig.podAnnotations(0)).toThrow("'port' must be an integer from 1 to 65535, got 0");
    expect(() => new PrometheusScrapeConfig(nsChart(), 'p', { configMapNamespace: 'Monitoring' })).toThrow("'configMapNamespace' must be a DNS-1123 label");
  });
});
