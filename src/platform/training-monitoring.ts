import { ApiObject, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { namespaceOf } from './_platform';
import { PodMonitor, PodMonitorProps } from '../../imports/podmonitor-monitoring.coreos.com';
import { ServiceMonitor, ServiceMonitorProps } from '../../imports/servicemonitor-monitoring.coreos.com';
import * as v from '../_validate';
import { LABELS, PART_OF } from '../labels';

/** The value of `app.kubernetes.io/component` on the trainer's pods. */
const TRAINER_COMPONENT = 'trainer';

/** Metric names the monitoring constructs query, in one place. */
export class MetricNames {
  /** dcgm-exporter: GPU utilisation, percent. */
  public static readonly GPU_UTIL = 'DCGM_FI_DEV_GPU_UTIL';
  /** dcgm-exporter: frame buffer memory used, MiB. */
  public static readonly GPU_FB_USED = 'DCGM_FI_DEV_FB_USED';
  /** dcgm-exporter: frame buffer memory free, MiB. */
  public static readonly GPU_FB_FREE = 'DCGM_FI_DEV_FB_FREE';
  /** dcgm-exporter: power draw, watts. */
  public static readonly GPU_POWER = 'DCGM_FI_DEV_POWER_USAGE';
  /** The trainer: loss at the last logging step. */
  public static readonly TRAINING_LOSS = 'training_loss';
  /** The trainer: learning rate. */
  public static readonly LEARNING_RATE = 'learning_rate';
  /** The trainer: input tokens per second, all ranks. */
  public static readonly TOKENS_PER_SECOND = 'tokens_per_second';
  /** The trainer: optimizer steps completed. */
  public static readonly GLOBAL_STEP = 'global_step';
  /** The trainer: epochs completed (fractional). */
  public static readonly EPOCH = 'epoch';
  /** The Training Operator: jobs that failed (labels `job_namespace`, `framework`). */
  public static readonly JOBS_FAILED = 'training_operator_jobs_failed_total';
}

/**
 * Options shared by the monitors.
 */
export interface MonitorOptions {
  /**
   * How often Prometheus scrapes the targets.
   * @default Duration.seconds(15) (the seed's scrape interval)
   */
  readonly interval?: Duration;
  /**
   * Labels on the monitor object, for the Prometheus `podMonitorSelector` / `serviceMonitorSelector`
   * (kube-prometheus-stack selects `release: <helm release>` unless its `*SelectorNilUsesHelmValues`
   * values are false).
   * @default - none
   */
  readonly labels?: { [key: string]: string };
}

function interval(prop: string, d: Duration | undefined): string {
  const value = d ?? Duration.seconds(15);
  v.positiveDuration(prop, value);
  return `${v.seconds(value)}s`;
}

function monitorLabels(labels: { [key: string]: string } | undefined): { [key: string]: string } {
  for (const [k, value] of Object.entries(labels ?? {})) v.labelValue(`labels['${k}']`, value);
  return { ...labels, [LABELS.partOf]: PART_OF };
}

/**
 * Properties of the trainer PodMonitor.
 */
export interface TrainerPodMonitorProps extends MonitorOptions {
  /**
   * Namespaces whose trainer pods are scraped.
   * @default - the chart's namespace (the PodMonitor's own)
   */
  readonly namespaces?: string[];
  /**
   * The name of the trainer's container port.
   * @default 'metrics' (set by GpuTrainingJob on every trainer container)
   */
  readonly portName?: string;
}

/**
 * A PodMonitor (monitoring.coreos.com/v1) that scrapes the trainer's metrics endpoint on every
 * training pod: the pods labelled `app.kubernetes.io/part-of: korean-llm` and
 * `app.kubernetes.io/component: trainer`, container port `metrics` (local rank 0 of each node
 * serves `training_loss`, `learning_rate`, `tokens_per_second`, `global_step` and `epoch`, labelled
 * `run`, `stage` and `model`). Prometheus adds the `namespace` and `pod` target labels, which the
 * GPU alerts join on.
 *
 * The construct is the PodMonitor API object itself (no wrapper construct).
 */
export class TrainerPodMonitor extends ApiObject {
  /** The PodMonitor's props, after validating the construct's. */
  private static propsOf(props: TrainerPodMonitorProps): PodMonitorProps {
    for (const n of props.namespaces ?? []) v.dns1123Label('namespaces[]', n);
    const portName = props.portName ?? 'metrics';
    v.dns1123Label('portName', portName, 15);
    return {
      metadata: { labels: monitorLabels(props.labels) },
      spec: {
        selector: { matchLabels: trainerSelector() },
        ...(props.namespaces ? { namespaceSelector: { matchNames: [...props.namespaces] } } : {}),
        podMetricsEndpoints: [{ port: portName, path: '/metrics', interval: interval('interval', props.interval) }],
      },
    };
  }

  /** The labels the monitor selects pods by. */
  public readonly selector: { [key: string]: string };

  public constructor(scope: Construct, id: string, props: TrainerPodMonitorProps = {}) {
    super(scope, id, { ...PodMonitor.GVK, ...TrainerPodMonitor.propsOf(props) });
    this.selector = trainerSelector();
  }

}

function trainerSelector(): { [key: string]: string } {
  return { [LABELS.partOf]: PART_OF, [LABELS.component]: TRAINER_COMPONENT };
}

/**
 * Properties of the dcgm-exporter monitor.
 */
export interface DcgmExporterMonitorProps extends MonitorOptions {
  /**
   * The namespace dcgm-exporter runs in.
   * @default 'gpu-operator' (the NVIDIA GPU Operator's)
   */
  readonly exporterNamespace?: string;
  /**
   * Labels of the dcgm-exporter Service.
   * @default { app: 'nvidia-dcgm-exporter' } (the GPU Operator's)
   */
  readonly selector?: { [key: string]: string };
  /**
   * The Service port's name.
   * @default 'gpu-metrics' (the GPU Operator's, port 9400)
   */
  readonly portName?: string;
}

/**
 * A ServiceMonitor (monitoring.coreos.com/v1) for NVIDIA dcgm-exporter, which exports
 * `DCGM_FI_DEV_GPU_UTIL`, `DCGM_FI_DEV_FB_USED`, `DCGM_FI_DEV_FB_FREE`, ... per GPU, labelled with
 * the `namespace`, `pod` and `container` that hold the GPU.
 *
 * `honorLabels: true` keeps those labels: without it Prometheus overwrites them with the exporter's
 * own pod and namespace (renaming the GPU holder's to `exported_pod`), and no alert could tell which
 * training pod a GPU belongs to. (If the GPU Operator's own ServiceMonitor is enabled, turn one of
 * the two off, or the GPUs are scraped twice.)
 *
 * The construct is the ServiceMonitor API object itself (no wrapper construct).
 */
export class DcgmExporterMonitor extends ApiObject {
  /** The ServiceMonitor's props, after validating the construct's. */
  private static propsOf(props: DcgmExporterMonitorProps): ServiceMonitorProps {
    const exporterNamespace = props.exporterNamespace ?? 'gpu-operator';
    v.dns1123Label('exporterNamespace', exporterNamespace);
    const selector = props.selector ?? { app: 'nvidia-dcgm-exporter' };
    if (Object.keys(selector).length === 0) v.fail('selector', '{}', 'at least one label (an empty selector would scrape every Service)');
    for (const [k, value] of Object.entries(selector)) v.labelValue(`selector['${k}']`, value);
    const portName = props.portName ?? 'gpu-metrics';
    v.dns1123Label('portName', portName);
    return {
      metadata: { labels: monitorLabels(props.labels) },
      spec: {
        selector: { matchLabels: { ...selector } },
        namespaceSelector: { matchNames: [exporterNamespace] },
        endpoints: [{ port: portName, path: '/metrics', interval: interval('interval', props.interval), honorLabels: true }],
      },
    };
  }

  /** The namespace dcgm-exporter runs in. */
  public readonly exporterNamespace: string;

  public constructor(scope: Construct, id: string, props: DcgmExporterMonitorProps = {}) {
    super(scope, id, { ...ServiceMonitor.GVK, ...DcgmExporterMonitor.propsOf(props) });
    this.exporterNamespace = props.exporterNamespace ?? 'gpu-operator';
  }

}

/**
 * Properties of the Training Operator monitor.
 */
export interface TrainingOperatorMonitorProps extends MonitorOptions {
  /**
   * The namespace the Training Operator runs in.
   * @default 'kubeflow' (the standalone install's)
   */
  readonly operatorNamespace?: string;
  /**
   * Labels of the operator's pods.
   * @default { 'control-plane': 'kubeflow-training-operator' } (the standalone install's)
   */
  readonly selector?: { [key: string]: string };
  /**
   * The operator's metrics port.
   * @default 8080
   */
  readonly port?: number;
}

/**
 * A PodMonitor (monitoring.coreos.com/v1) for the Kubeflow Training Operator's own metrics
 * (`training_operator_jobs_created_total`, `..._successful_total`, `..._failed_total`,
 * `..._restarted_total`, labelled `job_namespace` and `framework`), which the failed-job alert uses.
 *
 * The construct is the PodMonitor API object itself (no wrapper construct).
 */
export class TrainingOperatorMonitor extends ApiObject {
  /** The PodMonitor's props, after validating the construct's. */
  private static propsOf(props: TrainingOperatorMonitorProps): PodMonitorProps {
    const operatorNamespace = props.operatorNamespace ?? 'kubeflow';
    v.dns1123Label('operatorNamespace', operatorNamespace);
    const selector = props.selector ?? { 'control-plane': 'kubeflow-training-operator' };
    if (Object.keys(selector).length === 0) v.fail('selector', '{}', 'at least one label (an empty selector would scrape every pod)');
    for (const [k, value] of Object.entries(selector)) v.labelValue(`selector['${k}']`, value);
    const port = props.port ?? 8080;
    if (!Number.isInteger(port) || port < 1 || port > 65535) v.fail('port', port, 'an integer from 1 to 65535');
    return {
      metadata: { labels: monitorLabels(props.labels) },
      spec: {
        selector: { matchLabels: { ...selector } },
        namespaceSelector: { matchNames: [operatorNamespace] },
        podMetricsEndpoints: [{ portNumber: port, path: '/metrics', interval: interval('interval', props.interval) }],
      },
    };
  }

  /** The namespace the Training Operator runs in. */
  public readonly operatorNamespace: string;

  public constructor(scope: Construct, id: string, props: TrainingOperatorMonitorProps = {}) {
    super(scope, id, { ...PodMonitor.GVK, ...TrainingOperatorMonitor.propsOf(props) });
    this.operatorNamespace = props.operatorNamespace ?? 'kubeflow';
  }

}

/**
 * Properties of the training monitors.
 */
export interface TrainingMonitorsProps extends MonitorOptions {
  /**
   * The dcgm-exporter monitor's options.
   * @default - the GPU Operator's defaults
   */
  readonly dcgmExporter?: DcgmExporterMonitorProps;
  /**
   * The Training Operator monitor's options.
   * @default - the standalone install's defaults
   */
  readonly trainingOperator?: TrainingOperatorMonitorProps;
  /**
   * Emit the dcgm-exporter monitor; false when the GPU Operator's own ServiceMonitor is enabled
   * with `honorLabels`.
   * @default true
   */
  readonly monitorDcgmExporter?: boolean;
  /**
   * Emit the Training Operator monitor; false when it is scraped already.
   * @default true
   */
  readonly monitorTrainingOperator?: boolean;
}

/**
 * The three scrape targets the training alerts and dashboard need: the trainer pods, dcgm-exporter
 * and the Training Operator. The namespace is the chart's.
 */
export class TrainingMonitors extends Construct {
  /** The trainer PodMonitor. */
  public readonly trainer: TrainerPodMonitor;
  /** The dcgm-exporter ServiceMonitor, unless skipped. */
  public readonly dcgmExporter?: DcgmExporterMonitor;
  /** The Training Operator PodMonitor, unless skipped. */
  public readonly trainingOperator?: TrainingOperatorMonitor;
  /** The namespace whose trainer pods are watched. */
  public readonly namespace?: string;

  public constructor(scope: Construct, id: string, props: TrainingMonitorsProps = {}) {
    super(scope, id);
    const common = { interval: props.interval, labels: props.labels };
    this.namespace = namespaceOf(this);
    this.trainer = new TrainerPodMonitor(this, 'Trainer', common);
    if (props.monitorDcgmExporter ?? true) this.dcgmExporter = new DcgmExporterMonitor(this, 'DcgmExporter', { ...common, ...props.dcgmExporter });
    if (props.monitorTrainingOperator ?? true) this.trainingOperator = new TrainingOperatorMonitor(this, 'TrainingOperator', { ...common, ...props.trainingOperator });
  }
}
