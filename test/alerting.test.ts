import { Duration, Testing } from 'cdk8s';
import { ALERT_GROUP, JOB_CONDITION_METRIC, SecretKey, SlackAlerts, TrainingAlertNames, TrainingAlerts } from '../src';
import { find, nsChart } from './util/platform';
import { expectValid } from './util/schema';

function rulesOf(docs: any[]): { [alert: string]: any } {
  return Object.fromEntries(find(docs, 'PrometheusRule').spec.groups[0].rules.map((r: any) => [r.alert, r]));
}

describe('TrainingAlerts', () => {
  test('five alerts on real metric names, each labelled for routing', () => {
    const chart = nsChart();
    const alerts = new TrainingAlerts(chart, 'alerts', { labels: { release: 'kube-prometheus-stack' } });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const rule = find(docs, 'PrometheusRule');
    expect(rule.metadata.labels.release).toBe('kube-prometheus-stack');
    const rules = rulesOf(docs);
    expect(Object.keys(rules)).toEqual(alerts.alertNames);
    expect(alerts.alertNames).toHaveLength(5);
    for (const r of Object.values<any>(rules)) {
      expect(r.labels).toMatchObject({ alert_group: ALERT_GROUP, namespace: 'llm-training' });
      expect(['warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.summary).toBeTruthy();
      // no metric names from the seed that nothing exports
      expect(r.expr).not.toMatch(/nvidia_gpu_|_memory_total_bytes/);
    }
  });

  test('GPU utilisation: DCGM_FI_DEV_GPU_UTIL over a window, below the seed\'s 50, only on trainer pods', () => {
    const chart = nsChart();
    new TrainingAlerts(chart, 'alerts');
    const r = rulesOf(Testing.synth(chart))[TrainingAlertNames.GPU_UTILIZATION_LOW];
    expect(r.expr).toBe('avg by (namespace, pod) (avg_over_time(DCGM_FI_DEV_GPU_UTIL{namespace="llm-training"}[30m]))'
      + ' * on (namespace, pod) group_left (run, stage, model) group by (namespace, pod, run, stage, model) (global_step{namespace="llm-training"}) < 50');
    expect(r.for).toBe('5m');
  });

  test('failed job, NaN loss, plateau and no progress use the operator\'s and the trainer\'s metrics', () => {
    const chart = nsChart();
    const alerts = new TrainingAlerts(chart, 'alerts', {
      gpuUtilizationThreshold: 30,
      gpuUtilizationWindow: Duration.hours(1),
      noProgressWindow: Duration.minutes(45),
      lossPlateauWindow: Duration.hours(3),
    });
    const rules = rulesOf(Testing.synth(chart));
    expect(rules[TrainingAlertNames.GPU_UTILIZATION_LOW].expr).toMatch(/\[1h\]\)\) .* < 30$/);
    // the operator's counter (normal path) or the job's Failed condition (deadline and backoff branches)
    const failedCondition = 'korean_llm_job_condition{namespace="llm-training", customresource_kind="PyTorchJob", condition="Failed"}';
    expect(rules[TrainingAlertNames.TRAINING_JOB_FAILED].expr).toBe(
      '(sum by (namespace) (label_replace(increase(training_operator_jobs_failed_total{job_namespace="llm-training", framework="pytorch"}[10m]), "namespace", "$1", "job_namespace", "(.*)")) > 0)'
      + ` or count by (namespace) ((${failedCondition} == 1) unless (${failedCondition} offset 10m == 1))`);
    expect(rules[TrainingAlertNames.TRAINING_JOB_FAILED].labels.severity).toBe('critical');
    expect(rules[TrainingAlertNames.LOSS_NOT_FINITE].expr).toBe(
      '(training_loss{namespace="llm-training"} != training_loss{namespace="llm-training"}) or (abs(training_loss{namespace="llm-training"}) == +Inf)');
    expect(rules[TrainingAlertNames.LOSS_PLATEAU].expr).toBe(
      'avg_over_time(training_loss{namespace="llm-training"}[3h]) >= avg_over_time(training_loss{namespace="llm-training"}[3h] offset 3h)');
    expect(rules[TrainingAlertNames.NO_PROGRESS].expr).toBe('changes(global_step{namespace="llm-training"}[45m]) == 0');
    expect(alerts.expressionOf(TrainingAlertNames.NO_PROGRESS)).toContain('global_step');
  });

  test('the kube-state-metrics configuration exports the Failed condition the alert reads', () => {
    const config = JSON.parse(TrainingAlerts.kubeStateMetricsConfig());
    expect(config.kind).toBe('CustomResourceStateMetrics');
    const [resource] = config.spec.resources;
    expect(resource.groupVersionKind).toEqual({ group: 'kubeflow.org', version: 'v1', kind: 'PyTorchJob' });
    // kube-state-metrics names a metric <metricNamePrefix>_<name>
    expect(`${resource.metricNamePrefix}_${resource.metrics[0].name}`).toBe(JOB_CONDITION_METRIC);
    expect(resource.metrics[0].each.gauge).toEqual({ path: ['status', 'conditions'], labelsFromPath: { condition: ['type'] }, valueFrom: ['status'] });
    expect(resource.labelsFromPath).toEqual({ namespace: ['metadata', 'namespace'], name: ['metadata', 'name'] });
    const chart = nsChart();
    new TrainingAlerts(chart, 'alerts');
    const expr = rulesOf(Testing.synth(chart))[TrainingAlertNames.TRAINING_JOB_FAILED].expr;
    expect(expr).toContain(`${JOB_CONDITION_METRIC}{namespace="llm-training", customresource_kind="PyTorchJob", condition="Failed"}`);
  });

  test('fails when an alert threshold is outside 0..100', () => {
    expect(() => new TrainingAlerts(nsChart(), 'a', { gpuUtilizationThreshold: 101 })).toThrow("'gpuUtilizationThreshold' must be a number from 0 to 100, got 101");
    expect(() => new TrainingAlerts(nsChart(), 'a', { gpuUtilizationThreshold: -1 })).toThrow("'gpuUtilizationThreshold' must be a number from 0 to 100, got -1");
    expect(() => new TrainingAlerts(nsChart(), 'a', { gpuUtilizationThreshold: NaN })).toThrow("'gpuUtilizationThreshold' must be a number from 0 to 100, got NaN");
  });

  test('fails when there is no namespace or a window is too short', () => {
    expect(() => new TrainingAlerts(Testing.chart(), 'a')).toThrow("'trainingNamespace' must be a namespace (set it or give the chart a namespace), got 'undefined'");
    expect(() => new TrainingAlerts(nsChart(), 'a', { noProgressWindow: Duration.millis(1) })).toThrow("'noProgressWindow' must be a duration of at least one second");
    expect(() => new TrainingAlerts(nsChart(), 'a').expressionOf('Nope')).toThrow("'alertName' must be one of");
  });
});

describe('SlackAlerts', () => {
  test('routes the training alerts to Slack with the webhook URL from a Secret', () => {
    const chart = nsChart();
    new TrainingAlerts(chart, 'alerts');
    new SlackAlerts(chart, 'slack', { webhookUrl: SecretKey.of('slack-webhook', 'url'), channel: '#llm-training' });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const amc = find(docs, 'AlertmanagerConfig');
    expect(amc.apiVersion).toBe('monitoring.coreos.com/v1alpha1');
    // `=~` on a literal (Alertmanager anchors it): a plain `=` is YAML 1.1's value tag, which PyYAML cannot load
    expect(amc.spec.route.matchers).toEqual([{ name: 'alert_group', value: 'korean-llm-training', matchType: '=~' }]);
    expect(amc.spec.route.receiver).toBe('slack');
    const slack = amc.spec.receivers[0].slackConfigs[0];
    expect(slack.apiURL).toEqual({ name: 'slack-webhook', key: 'url' });
    expect(slack.channel).toBe('#llm-training');
    expect(slack.sendResolved).toBe(true);
    // the route's matcher is a label every rule sets
    for (const rule of find(docs, 'PrometheusRule').spec.groups[0].rules) expect(rule.labels.alert_group).toBe('korean-llm-training');
    // nothing that looks like a webhook URL is inline anywhere
    expect(JSON.stringify(docs)).not.toMatch(/hooks\.slack\.com/);
  });

  test('fails when the webhook is not a Secret reference or the channel is invalid', () => {
    expect(() => new SlackAlerts(nsChart(), 's', { webhookUrl: 'https://hooks.slack.com/services/x' as any }))
      .toThrow("'webhookUrl' must be a SecretKey (the URL is read from a Secret, never inline), got 'https://hooks.slack.com/services/x'");
    expect(() => new SlackAlerts(nsChart(), 's', { webhookUrl: SecretKey.of('s', 'k'), channel: 'LLM Training' })).toThrow("'channel' must be a Slack channel name");
  });
});
