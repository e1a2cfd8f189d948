import { Duration, Testing } from 'cdk8s';
import {
  BaseModel, CptStage, DcgmExporterMonitor, GpuTrainingJob, MetricNames, TrainerCommand, TrainerPodMonitor, TrainingMonitors,
  TrainingOperatorMonitor,
} from '../src';
import { find, matches, nsChart } from './util/platform';
import { expectValid } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';

describe('TrainingMonitors', () => {
  test('the trainer PodMonitor selects the trainer pods of the same chart on port metrics', () => {
    const chart = nsChart();
    new TrainingMonitors(chart, 'mon', { labels: { release: 'kube-prometheus-stack' } });
    new CptStage(chart, 'cpt', { image: IMAGE, runId: 'r1', baseModel: BaseModel.huggingFace('org/model') });
    new GpuTrainingJob(chart, 'job', { image: IMAGE, trainerCommand: TrainerCommand.SFT, nodes: 2 });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const monitors = docs.filter((d) => d.kind === 'PodMonitor');
    const trainer = monitors.find((m) => m.metadata.name.includes('trainer'));
    expect(trainer.metadata.namespace).toBe('llm-training');
    expect(trainer.metadata.labels.release).toBe('kube-prometheus-stack');
    const selector = trainer.spec.selector.matchLabels;
    expect(selector).toEqual({ 'app.kubernetes.io/part-of': 'korean-llm', 'app.kubernetes.io/component': 'trainer' });
    expect(trainer.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '15s' }]);
    const jobs = docs.filter((d) => d.kind === 'PyTorchJob');
    expect(jobs).toHaveLength(2);
    for (const job of jobs) {
      for (const replica of Object.values<any>(job.spec.pytorchReplicaSpecs)) {
        expect(matches(selector, replica.template.metadata.labels)).toBe(true);
        expect(replica.template.spec.containers[0].ports.map((p: any) => p.name)).toContain('metrics');
        expect(replica.template.metadata.namespace ?? job.metadata.namespace).toBe(trainer.metadata.namespace);
      }
    }
  });

  test('dcgm-exporter: the GPU Operator defaults with honorLabels, so pod and namespace stay the GPU holder\'s', () => {
    const chart = nsChart();
    const mons = new TrainingMonitors(chart, 'mon');
    const docs = Testing.synth(chart);
    expectValid(docs);
    const sm = find(docs, 'ServiceMonitor');
    expect(sm.spec).toEqual({
      selector: { matchLabels: { app: 'nvidia-dcgm-exporter' } },
      namespaceSelector: { matchNames: ['gpu-operator'] },
      endpoints: [{ port: 'gpu-metrics', path: '/metrics', interval: '15s', honorLabels: true }],
    });
    const op = docs.find((d) => d.kind === 'PodMonitor' && d.spec.namespaceSelector?.matchNames?.[0] === 'kubeflow');
    expect(op.spec.selector.matchLabels).toEqual({ 'control-plane': 'kubeflow-training-operator' });
    expect(op.spec.podMetricsEndpoints).toEqual([{ portNumber: 8080, path: '/metrics', interval: '15s' }]);
    expect(mons.namespace).toBe('llm-training');
  });

  test('configurable exporter namespace, labels, port and interval; monitors can be skipped', () => {
    const chart = nsChart();
    new DcgmExporterMonitor(chart, 'd', { exporterNamespace: 'nvidia', selector: { 'app.kubernetes.io/name': 'dcgm-exporter' }, portName: 'metrics', interval: Duration.seconds(30) });
    new TrainingOperatorMonitor(chart, 'o', { operatorNamespace: 'training', port: 9090 });
    new TrainerPodMonitor(chart, 't', { namespaces: ['a', 'b'] });
    new TrainingMonitors(chart, 'm', { monitorDcgmExporter: false, monitorTrainingOperator: false });
    const docs = Testing.synth(chart);
    expectValid(docs);
    expect(find(docs, 'ServiceMonitor').spec.endpoints[0]).toMatchObject({ port: 'metrics', interval: '30s' });
    expect(find(docs, 'ServiceMonitor').spec.namespaceSelector.matchNames).toEqual(['nvidia']);
    expect(docs.filter((d) => d.kind === 'PodMonitor')).toHaveLength(3);
    expect(MetricNames.GPU_UTIL).toBe('DCGM_FI_DEV_GPU_UTIL');
  });

  test('fails when a selector is empty, a port or interval is invalid', () => {
    expect(() => new DcgmExporterMonitor(nsChart(), 'd', { selector: {} })).toThrow("'selector' must be at least one label (an empty selector would scrape every Service), got '{}'");
    expect(() => new TrainingOperatorMonitor(nsChart(), 'o', { port: 0 })).toThrow("'port' must be an integer from 1 to 65535, got 0");
    expect(() => new TrainerPodMonitor(nsChart(), 't', { interval: Duration.millis(10) })).toThrow("'interval' must be a duration of at least one second");
  });
});
