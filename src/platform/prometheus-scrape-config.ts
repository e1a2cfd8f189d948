import { Duration, Yaml } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { namespaceOf } from './_platform';
import * as v from '../_validate';
import { LABELS, PART_OF } from '../labels';
import { TrainerContract } from '../training/trainer-contract';

/**
 * Properties of the plain Prometheus scrape configuration.
 */
export interface PrometheusScrapeConfigProps {
  /**
   * The ConfigMap's name.
   * @default 'prometheus-config' (the seed's)
   */
  readonly name?: string;
  /**
   * The ConfigMap's namespace (Prometheus's).
   * @default 'monitoring' (the seed's)
   */
  readonly configMapNamespace?: string;
  /**
   * Namespaces whose annotated pods are scraped.
   * @default - the chart's namespace; every namespace in a chart without one
   */
  readonly podNamespaces?: string[];
  /**
   * The global scrape interval.
   * @default Duration.seconds(15) (the seed's)
   */
  readonly scrapeInterval?: Duration;
  /**
   * The namespace dcgm-exporter runs in.
   * @default 'gpu-operator'
   */
  readonly dcgmExporterNamespace?: string;
  /**
   * The dcgm-exporter Service's name.
   * @default 'nvidia-dcgm-exporter'
   */
  readonly dcgmExporterService?: string;
  /**
   * The dcgm-exporter Service port's name.
   * @default 'gpu-metrics'
   */
  readonly dcgmExporterPortName?: string;
}

/**
 * The seed's plain Prometheus configuration (`prometheus.yml` in a ConfigMap), for clusters
 * without the Prometheus Operator, with its relabelling fixed:
 *
 * - pods are kept only when annotated `prometheus.io/scrape: "true"`, scraped on the port of
 *   `prometheus.io/port` (the seed scraped every declared port) at the path of `prometheus.io/path`;
 *   pods that are not running are dropped; `namespace` and `pod` become target labels, as the
 *   Prometheus Operator sets them, so the same alerts and dashboard work;
 * - dcgm-exporter is discovered per pod through its Service's endpoints with `honor_labels` (the seed's
 *   static `nvidia-dcgm-exporter:9400` resolves to one random exporter pod per scrape, in the wrong
 *   namespace, and loses the GPU holder's `pod` label).
 *
 * Training pods need the annotations: pass `PrometheusScrapeConfig.podAnnotations()` as the
 * `podAnnotations` prop of the stages (the PodMonitor path needs none).
 * Prometheus needs RBAC to list pods and endpoints in those namespaces.
 */
export class PrometheusScrapeConfig extends Construct {
  /** The ConfigMap's data key. */
  public static readonly FILE_NAME = 'prometheus.yml';

  /**
   * The pod annotations that make the plain configuration scrape a trainer pod.
   * @param port the trainer's metrics port
   */
  public static podAnnotations(port: number = TrainerContract.DEFAULT_METRICS_PORT): { [key: string]: string } {
    if (!Number.isInteger(port) || port < 1 || port > 65535) v.fail('port', port, 'an integer from 1 to 65535');
    return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' };
  }

  /** The ConfigMap. */
  public readonly configMap: kplus.ConfigMap;
  private readonly config: any;

  public constructor(scope: Construct, id: string, props: PrometheusScrapeConfigProps = {}) {
    super(scope, id);
    const name = props.name ?? 'prometheus-config';
    v.dns1123Label('name', name, 253);
    const cmNamespace = props.configMapNamespace ?? 'monitoring';
    v.dns1123Label('configMapNamespace', cmNamespace);
    const chartNs = namespaceOf(this);
    const podNamespaces = props.podNamespaces ?? (chartNs ? [chartNs] : []);
    for (const n of podNamespaces) v.dns1123Label('podNamespaces[]', n);
    const interval = props.scrapeInterval ?? Duration.seconds(15);
    v.positiveDuration('scrapeInterval', interval);
    const dcgmNs = props.dcgmExporterNamespace ?? 'gpu-operator';
    v.dns1123Label('dcgmExporterNamespace', dcgmNs);
    const dcgmService = props.dcgmExporterService ?? 'nvidia-dcgm-exporter';
    v.dns1123Label('dcgmExporterService', dcgmService);
    const dcgmPort = props.dcgmExporterPortName ?? 'gpu-metrics';
    v.dns1123Label('dcgmExporterPortName', dcgmPort);

    this.config = {
      global: { scrape_interval: `${v.seconds(interval)}s` },
      scrape_configs: [
        {
          job_name: 'kubernetes-pods',
          kubernetes_sd_configs: [{ role: 'pod', ...(podNamespaces.length ? { namespaces: { names: [...podNamespaces] } } : {}) }],
          relabel_configs: [
            { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' },
            { source_labels: ['__meta_kubernetes_pod_phase'], action: 'drop', regex: 'Pending|Succeeded|Failed|Unknown' },
            { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], action: 'replace', target_label: '__metrics_path__', regex: '(.+)' },
            {
              source_labels: ['__address__', '__meta_kubernetes_pod_annotation_prometheus_io_port'],
              action: 'replace',
              regex: '([^:]+)(?::\\d+)?;(\\d+)',
              replacement: '$1:$2',
              target_label: '__address__',
            },
            { source_labels: ['__meta_kubernetes_namespace'], action: 'replace', target_label: 'namespace' },
            { source_labels: ['__meta_kubernetes_pod_name'], action: 'replace', target_label: 'pod' },
          ],
        },
        {
          job_name: 'nvidia-dcgm',
          honor_labels: true,
          kubernetes_sd_configs: [{ role: 'endpoints', namespaces: { names: [dcgmNs] } }],
          relabel_configs: [
            { source_labels: ['__meta_kubernetes_service_name'], action: 'keep', regex: dcgmService },
            { source_labels: ['__meta_kubernetes_endpoint_port_name'], action: 'keep', regex: dcgmPort },
            { source_labels: ['__meta_kubernetes_pod_node_name'], action: 'replace', target_label: 'node' },
          ],
        },
      ],
    };
    this.configMap = new kplus.ConfigMap(this, 'Resource', {
      metadata: { name, namespace: cmNamespace, labels: { [LABELS.partOf]: PART_OF } },
      data: { [PrometheusScrapeConfig.FILE_NAME]: Yaml.stringify(this.config) },
    });
  }

  /** The Prometheus configuration (a copy). */
  public get prometheusConfig(): any {
    return JSON.parse(JSON.stringify(this.config));
  }
}
