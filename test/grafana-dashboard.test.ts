import { Testing } from 'cdk8s';
import { TrainingDashboard } from '../src';
import { nsChart } from './util/platform';
import { expectValid } from './util/schema';

describe('TrainingDashboard', () => {
  test('a ConfigMap the Grafana sidecar loads, with dcgm-exporter and trainer metrics per run and stage', () => {
    const chart = nsChart();
    const dashboard = new TrainingDashboard(chart, 'dashboard', { folder: 'LLM' });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const cm = docs[0];
    expect(cm.kind).toBe('ConfigMap');
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(cm.metadata.annotations).toEqual({ grafana_folder: 'LLM' });
    const model = JSON.parse(cm.data['korean-llm-training.json']);
    expect(model).toEqual(dashboard.dashboard);
    expect(model.title).toBe('Korean LLM Training Dashboard');
    expect(model.templating.list.map((v: any) => v.name)).toEqual(['datasource', 'run', 'stage']);
    expect(model.templating.list[1].query.query).toBe('label_values(global_step{namespace="llm-training"}, run)');
    const exprs: { [title: string]: string } = Object.fromEntries(model.panels.map((p: any) => [p.title, p.targets[0].expr]));
    const trainerJoin = ' * on (namespace, pod) group_left (run, stage, model) group by (namespace, pod, run, stage, model) (global_step{namespace="llm-training", run=~"$run", stage=~"$stage"})';
    expect(exprs['GPU Utilization']).toBe('avg by (namespace, pod, gpu) (DCGM_FI_DEV_GPU_UTIL{namespace="llm-training"})' + trainerJoin);
    expect(exprs['GPU Memory Usage']).toBe('100 * avg by (namespace, pod, gpu) (DCGM_FI_DEV_FB_USED{namespace="llm-training"} / '
      + '(DCGM_FI_DEV_FB_USED{namespace="llm-training"} + DCGM_FI_DEV_FB_FREE{namespace="llm-training"}))' + trainerJoin);
    expect(exprs['Training Loss']).toBe('training_loss{namespace="llm-training", run=~"$run", stage=~"$stage"}');
    expect(exprs['Tokens per Second']).toBe('sum by (run, stage, model) (tokens_per_second{namespace="llm-training", run=~"$run", stage=~"$stage"})');
    expect(JSON.stringify(model)).not.toMatch(/nvidia_gpu_/);
  });

  test('fails when there is no namespace or the uid is invalid', () => {
    expect(() => new TrainingDashboard(Testing.chart(), 'd')).toThrow("'trainingNamespace' must be a namespace (set it or give the chart a namespace), got 'undefined'");
    expect(() => new TrainingDashboard(nsChart(), 'd', { uid: 'a b' })).toThrow("'uid' must be at most 40 letters, digits, '-' or '_', got 'a b'");
  });
});
