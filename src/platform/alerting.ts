import { ApiObject, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { namespaceOf } from './_platform';
import { PrometheusRule, PrometheusRuleProps, PrometheusRuleSpecGroupsRules } from '../../imports/prometheusrule-monitoring.coreos.com';
import * as v from '../_validate';
import { SecretKey } from '../secret-key';
import { MetricNames } from './training-monitoring';
import { LABELS, PART_OF } from '../labels';

/** The AlertmanagerConfig the library emits (monitoring.coreos.com/v1alpha1). */
const ALERTMANAGER_CONFIG = { apiVersion: 'monitoring.coreos.com/v1alpha1', kind: 'AlertmanagerConfig' };

/** The part of an AlertmanagerConfig that `SlackAlerts` sets (field names as the CRD spells them). */
interface AlertmanagerConfigProps {
  readonly metadata: { readonly labels: { [key: string]: string } };
  readonly spec: {
    readonly route: {
      readonly receiver: string;
      readonly matchers: { readonly name: string; readonly value: string; readonly matchType: '=' | '!=' | '=~' | '!~' }[];
      readonly groupBy: string[];
      readonly groupWait: string;
      readonly groupInterval: string;
      readonly repeatInterval: string;
    };
    readonly receivers: {
      readonly name: string;
      readonly slackConfigs: {
        readonly apiURL: { readonly name: string; readonly key: string };
        readonly channel?: string;
        readonly sendResolved: boolean;
        readonly title: string;
        readonly text: string;
      }[];
    }[];
  };
}

/** The name of the Slack receiver of `SlackAlerts`. */
const SLACK_RECEIVER = 'slack';

/** The label every training alert carries, which the Alertmanager route matches. */
export const ALERT_GROUP_LABEL = 'alert_group';
/** The value of `alert_group` on the training alerts. */
export const ALERT_GROUP = 'korean-llm-training';

/** Names of the alerts `TrainingAlerts` defines. */
export class TrainingAlertNames {
  /** GPUs of a training pod below the utilisation threshold. */
  public static readonly GPU_UTILIZATION_LOW = 'KoreanLlmGpuUtilizationLow';
  /** A PyTorchJob failed: the Training Operator counted it, or kube-state-metrics saw its `Failed` condition. */
  public static readonly TRAINING_JOB_FAILED = 'KoreanLlmTrainingJobFailed';
  /** The training loss is NaN or infinite. */
  public static readonly LOSS_NOT_FINITE = 'KoreanLlmTrainingLossNotFinite';
  /** The training loss stopped falling. */
  public static readonly LOSS_PLATEAU = 'KoreanLlmTrainingLossPlateau';
  /** No optimizer step for a while. */
  public static readonly NO_PROGRESS = 'KoreanLlmTrainingNoProgress';
}

/**
 * Properties of the training alerts.
 */
export interface TrainingAlertsProps {
  /**
   * Alert when the average GPU utilisation of a training pod stays below this percentage.
   * @default 50 (the seed's)
   */
  readonly gpuUtilizationThreshold?: number;
  /**
   * The window the GPU utilisation is averaged over.
   * @default Duration.minutes(30)
   */
  readonly gpuUtilizationWindow?: Duration;
  /**
   * Alert when `global_step` has not changed for this long.
   * @default Duration.minutes(30)
   */
  readonly noProgressWindow?: Duration;
  /**
   * Alert when the average loss of this window is not below the previous window's.
   * @default Duration.hours(2)
   */
  readonly lossPlateauWindow?: Duration;
  /**
   * The namespace of the training pods (and of the Training Operator's `job_namespace` label).
   * @default - the chart's namespace
   */
  readonly trainingNamespace?: string;
  /**
   * Labels on the PrometheusRule, for the Prometheus `ruleSelector`
   * (kube-prometheus-stack selects `release: <helm release>` by default).
   * @default - none
   */
  readonly labels?: { [key: string]: string };
}

/** One alerting rule as the PrometheusRule wants it. */
interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly severity: string;
  readonly summary: string;
  readonly description: string;
}

/**
 * A PrometheusRule's props with each rule's `expr` a plain string: the generated type wraps it in a
 * class that only the generated `toJson` mapping unwraps, a second pass over the whole object.
 */
type RuleProps = Omit<PrometheusRuleProps, 'spec'> & {
  readonly spec: { readonly groups: { readonly name: string; readonly rules: (Omit<PrometheusRuleSpecGroupsRules, 'expr'> & { readonly expr: string })[] }[] };
};

/** What `TrainingAlerts` computes before it creates its PrometheusRule. */
interface AlertsPlan {
  readonly props: RuleProps;
  readonly rules: AlertRule[];
  readonly namespace: string;
  readonly threshold: number;
}

/** The metric the kube-state-metrics configuration of `TrainingAlerts.kubeStateMetricsConfig()` exports. */
export const JOB_CONDITION_METRIC = 'korean_llm_job_condition';

/**
 * A PyTorchJob failed in the last 10 minutes, seen either way the operator can fail it:
 *
 * - its failed-jobs counter, which only `UpdateJobStatus` increments, on the normal path (a
 *   counted failed pod: pipeline jobs, which run with `restartPolicy: Never` and no backoff limit);
 * - the job's `Failed` condition as kube-state-metrics exports it (`kubeStateMetricsConfig()`), for
 *   the branches of `ReconcileJobs` (`common/job.go`) that append `Failed` without touching the
 *   counter: past `activeDeadlineSeconds`, past `backoffLimit` (standalone jobs, `OnFailure`). The
 *   condition counts when it became true within the window (`unless` its value 10 minutes ago), so
 *   a failed job kept for its logs alerts once, not until its TTL. Without that configuration the
 *   second half selects nothing.
 *
 * One series per namespace (`or` keeps the counter's when both fire).
 */
function jobFailedExpr(ns: string): string {
  // the operator's own `namespace` label is its namespace: copy `job_namespace` over it
  const counted = `sum by (namespace) (label_replace(increase(${MetricNames.JOBS_FAILED}{job_namespace="${ns}", framework="pytorch"}[10m]), "namespace", "$1", "job_namespace", "(.*)")) > 0`;
  const condition = `${JOB_CONDITION_METRIC}{namespace="${ns}", customresource_kind="PyTorchJob", condition="Failed"}`;
  return `(${counted}) or count by (namespace) ((${condition} == 1) unless (${condition} offset 10m == 1))`;
}

function promDuration(prop: string, d: Duration): string {
  v.positiveDuration(prop, d);
  const s = v.seconds(d);
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/**
 * A PrometheusRule (monitoring.coreos.com/v1) with the training alerts, on metrics that really exist:
 *
 * - `KoreanLlmGpuUtilizationLow`: dcgm-exporter's `DCGM_FI_DEV_GPU_UTIL`, averaged per training
 *   pod over a window, below the threshold (the seed's 50 %). Only GPUs held by our trainer pods
 *   count: the GPU series are joined on `namespace`/`pod` with the trainer's own `global_step`
 *   series, which also brings the `run`, `stage` and `model` labels.
 * - `KoreanLlmTrainingJobFailed`: a PyTorchJob of the namespace failed in the last 10 minutes: an
 *   increase of the Training Operator's `training_operator_jobs_failed_total`, or a `Failed`
 *   condition that kube-state-metrics exports with `TrainingAlerts.kubeStateMetricsConfig()`. The
 *   operator increments its counter only when it counts a failed pod; a job failed past its
 *   deadline or its backoff limit gets the condition alone, so configure kube-state-metrics too.
 * - `KoreanLlmTrainingLossNotFinite`: `training_loss` is NaN or infinite.
 * - `KoreanLlmTrainingLossPlateau`: the average `training_loss` of the last window is not below
 *   the window before it.
 * - `KoreanLlmTrainingNoProgress`: `global_step` unchanged for a window.
 *
 * Every alert has `namespace` (the training namespace: AlertmanagerConfig routes only alerts of
 * its own namespace), `severity` and `alert_group: korean-llm-training`.
 *
 * The seed's monitor script compares `value < "50"` as strings and polls every 5 minutes; these
 * rules are evaluated by Prometheus itself.
 *
 * The construct is the PrometheusRule API object itself (no wrapper construct).
 */
export class TrainingAlerts extends ApiObject {
  /**
   * A kube-state-metrics custom-resource-state configuration (JSON, which is YAML) that exports
   * each PyTorchJob condition as `korean_llm_job_condition{namespace, name, condition}` (1 when
   * its status is `True`), which `KoreanLlmTrainingJobFailed` reads. Pass it as the
   * kube-prometheus-stack value `kube-state-metrics.customResourceState.config` (with
   * `customResourceState.enabled: true` and an `rbac.extraRules` entry allowing list and watch on
   * `pytorchjobs.kubeflow.org`), or to kube-state-metrics' `--custom-resource-state-config`.
   */
  public static kubeStateMetricsConfig(): string {
    const config = {
      kind: 'CustomResourceStateMetrics',
      spec: {
        resources: [{
          groupVersionKind: { group: 'kubeflow.org', version: 'v1', kind: 'PyTorchJob' },
          metricNamePrefix: JOB_CONDITION_METRIC.replace(/_job_condition$/, ''),
          labelsFromPath: { namespace: ['metadata', 'namespace'], name: ['metadata', 'name'] },
          metrics: [{
            name: 'job_condition',
            help: 'Conditions of a training job (1 when the condition is True).',
            each: {
              type: 'Gauge',
              // one series per entry of status.conditions; "True"/"False" become 1/0
              gauge: { path: ['status', 'conditions'], labelsFromPath: { condition: ['type'] }, valueFrom: ['status'] },
            },
          }],
        }],
      },
    };
    return JSON.stringify(config, null, 2);
  }

  /** The PrometheusRule's props and the alerting rules, after validating the construct's props. */
  private static plan(scope: Construct, props: TrainingAlertsProps): AlertsPlan {
    const threshold = props.gpuUtilizationThreshold ?? 50;
    v.numberIn('gpuUtilizationThreshold', threshold, 0, 100);
    const ns = props.trainingNamespace ?? namespaceOf(scope);
    if (ns === undefined) v.fail('trainingNamespace', 'undefined', 'a namespace (set it or give the chart a namespace)');
    v.dns1123Label('trainingNamespace', ns);
    for (const [k, value] of Object.entries(props.labels ?? {})) v.labelValue(`labels['${k}']`, value);
    const utilWindow = promDuration('gpuUtilizationWindow', props.gpuUtilizationWindow ?? Duration.minutes(30));
    const progressWindow = promDuration('noProgressWindow', props.noProgressWindow ?? Duration.minutes(30));
    const plateauWindow = promDuration('lossPlateauWindow', props.lossPlateauWindow ?? Duration.hours(2));

    const sel = `namespace="${ns}"`;
    const trainerPods = `group by (namespace, pod, run, stage, model) (${MetricNames.GLOBAL_STEP}{${sel}})`;
    const rules: AlertRule[] = [
      {
        alert: TrainingAlertNames.GPU_UTILIZATION_LOW,
        expr: `avg by (namespace, pod) (avg_over_time(${MetricNames.GPU_UTIL}{${sel}}[${utilWindow}])) * on (namespace, pod) group_left (run, stage, model) ${trainerPods} < ${threshold}`,
        for: '5m',
        severity: 'warning',
        summary: `GPU utilisation of training pod {{ $labels.pod }} below ${threshold}%`,
        description: `The GPUs of {{ $labels.stage }} run {{ $labels.run }} ({{ $labels.model }}) averaged {{ $value | printf "%.0f" }}% over ${utilWindow}: check the data loader, the batch size and NCCL.`,
      },
      {
        alert: TrainingAlertNames.TRAINING_JOB_FAILED,
        expr: jobFailedExpr(ns),
        for: '0m',
        severity: 'critical',
        summary: `A PyTorchJob failed in namespace ${ns}`,
        description: `{{ $value | printf "%.0f" }} PyTorchJob(s) failed in ${ns} in the last 10 minutes: kubectl get pytorchjobs -n ${ns}; a failed pod's logs stay until the job's TTL.`,
      },
      {
        alert: TrainingAlertNames.LOSS_NOT_FINITE,
        // NaN is the one value not equal to itself
        expr: `(${MetricNames.TRAINING_LOSS}{${sel}} != ${MetricNames.TRAINING_LOSS}{${sel}}) or (abs(${MetricNames.TRAINING_LOSS}{${sel}}) == +Inf)`,
        for: '0m',
        severity: 'critical',
        summary: 'Training loss of {{ $labels.stage }} run {{ $labels.run }} is not finite',
        description: 'The loss of {{ $labels.model }} on pod {{ $labels.pod }} is NaN or infinite: training diverged (lower the learning rate, check the data, use bf16).',
      },
      {
        alert: TrainingAlertNames.LOSS_PLATEAU,
        expr: `avg_over_time(${MetricNames.TRAINING_LOSS}{${sel}}[${plateauWindow}]) >= avg_over_time(${MetricNames.TRAINING_LOSS}{${sel}}[${plateauWindow}] offset ${plateauWindow})`,
        for: '15m',
        severity: 'warning',
        summary: 'Training loss of {{ $labels.stage }} run {{ $labels.run }} stopped falling',
        description: `The average loss of {{ $labels.model }} over the last ${plateauWindow} is not below the ${plateauWindow} before.`,
      },
      {
        alert: TrainingAlertNames.NO_PROGRESS,
        expr: `changes(${MetricNames.GLOBAL_STEP}{${sel}}[${progressWindow}]) == 0`,
        for: '0m',
        severity: 'warning',
        summary: 'No training progress in {{ $labels.stage }} run {{ $labels.run }}',
        description: `global_step of {{ $labels.model }} on pod {{ $labels.pod }} has not changed for ${progressWindow}: the job may hang (NCCL, storage) or wait on a checkpoint.`,
      },
    ];

    const ruleProps: RuleProps = {
      metadata: { labels: { ...props.labels, [LABELS.partOf]: PART_OF } },
      spec: {
        groups: [{
          name: 'korean-llm-training',
          rules: rules.map((r) => ({
            alert: r.alert,
            expr: r.expr,
            for: r.for,
            labels: { severity: r.severity, [ALERT_GROUP_LABEL]: ALERT_GROUP, namespace: ns },
            annotations: { summary: r.summary, description: r.description },
          })),
        }],
      },
    };
    return { props: ruleProps, rules, namespace: ns, threshold };
  }

  /** The namespace the alerts are about. */
  public readonly trainingNamespace: string;
  /** The GPU utilisation threshold, percent. */
  public readonly gpuUtilizationThreshold: number;
  private readonly rules: AlertRule[];

  public constructor(scope: Construct, id: string, props: TrainingAlertsProps = {}) {
    const plan = TrainingAlerts.plan(scope, props);
    super(scope, id, { ...PrometheusRule.GVK, ...plan.props });
    this.trainingNamespace = plan.namespace;
    this.gpuUtilizationThreshold = plan.threshold;
    this.rules = plan.rules;
  }

  /** The names of the alerts (a copy). */
  public get alertNames(): string[] {
    return this.rules.map((r) => r.alert);
  }

  /** The PromQL expression of an alert. */
  public expressionOf(alertName: string): string {
    const rule = this.rules.find((r) => r.alert === alertName);
    if (!rule) v.fail('alertName', alertName, `one of ${this.rules.map((r) => r.alert).join(', ')}`);
    return rule.expr;
  }
}

/**
 * Properties of the Slack notifications.
 */
export interface SlackAlertsProps {
  /**
   * The Slack incoming-webhook URL, read by Alertmanager from this Secret key (never inline).
   * The Secret must be in the AlertmanagerConfig's namespace.
   */
  readonly webhookUrl: SecretKey;
  /**
   * The channel to post to.
   * @default - the webhook's own channel
   */
  readonly channel?: string;
  /**
   * Send a message when an alert resolves too.
   * @default true
   */
  readonly sendResolved?: boolean;
  /**
   * How long to wait before the first notification of a group.
   * @default Duration.seconds(30)
   */
  readonly groupWait?: Duration;
  /**
   * How long to wait before repeating a notification that is still firing.
   * @default Duration.hours(4)
   */
  readonly repeatInterval?: Duration;
  /**
   * Labels on the AlertmanagerConfig, for the Alertmanager's `alertmanagerConfigSelector`.
   * @default - none
   */
  readonly labels?: { [key: string]: string };
}

/**
 * An AlertmanagerConfig (monitoring.coreos.com/v1alpha1) that sends the training alerts
 * (`alert_group="korean-llm-training"`) to Slack. The webhook URL stays in a Secret
 * (`slackConfigs[].apiUrl` is a Secret key reference).
 *
 * The Prometheus Operator adds a `namespace="<this namespace>"` matcher to the route, so only
 * alerts of the chart's namespace reach it (which the training alerts are).
 *
 * The construct is the AlertmanagerConfig API object itself (no wrapper construct).
 */
export class SlackAlerts extends ApiObject {
  /** The AlertmanagerConfig's props, after validating the construct's. */
  private static propsOf(props: SlackAlertsProps): AlertmanagerConfigProps {
    if (!(props.webhookUrl instanceof SecretKey)) v.fail('webhookUrl', String(props.webhookUrl), 'a SecretKey (the URL is read from a Secret, never inline)');
    if (props.channel !== undefined && !/^[#@]?[a-z0-9][a-z0-9._-]{0,79}$/.test(props.channel)) {
      v.fail('channel', props.channel, 'a Slack channel name such as \'#llm-training\'');
    }
    for (const [k, value] of Object.entries(props.labels ?? {})) v.labelValue(`labels['${k}']`, value);
    const groupWait = promDuration('groupWait', props.groupWait ?? Duration.seconds(30));
    const repeat = promDuration('repeatInterval', props.repeatInterval ?? Duration.hours(4));
    return {
      metadata: { labels: { ...props.labels, [LABELS.partOf]: PART_OF } },
      spec: {
        route: {
          receiver: SLACK_RECEIVER,
          // `=~` on a literal value, not `=`: a plain `=` is YAML 1.1's value tag and PyYAML (yaml.safe_load)
          // cannot load the file; Alertmanager anchors regular expressions, so this matches exactly
          // 'korean-llm-training' (no character of it is special in a regular expression)
          matchers: [{ name: ALERT_GROUP_LABEL, value: ALERT_GROUP, matchType: '=~' }],
          groupBy: ['alertname', 'run', 'stage'],
          groupWait,
          groupInterval: '5m',
          repeatInterval: repeat,
        },
        receivers: [{
          name: SLACK_RECEIVER,
          slackConfigs: [{
            apiURL: { name: props.webhookUrl.secretName, key: props.webhookUrl.key },
            ...(props.channel ? { channel: props.channel } : {}),
            sendResolved: props.sendResolved ?? true,
            title: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}',
            text: '{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n{{ end }}',
          }],
        }],
      },
    };
  }

  /** The receiver's name. */
  public readonly receiverName: string;

  public constructor(scope: Construct, id: string, props: SlackAlertsProps) {
    super(scope, id, { ...ALERTMANAGER_CONFIG, ...SlackAlerts.propsOf(props) });
    this.receiverName = SLACK_RECEIVER;
  }
}
