import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { namespaceOf } from './_platform';
import * as v from '../_validate';
import { MetricNames } from './training-monitoring';
import { LABELS, PART_OF } from '../labels';

/**
 * Properties of the training dashboard.
 */
export interface TrainingDashboardProps {
  /**
   * The namespace of the training pods the panels show.
   * @default - the chart's namespace
   */
  readonly trainingNamespace?: string;
  /**
   * The dashboard's title.
   * @default 'Korean LLM Training Dashboard' (the seed's)
   */
  readonly title?: string;
  /**
   * The dashboard's uid (stable links).
   * @default 'korean-llm-training'
   */
  readonly uid?: string;
  /**
   * The Grafana folder the sidecar puts the dashboard in (annotation `grafana_folder`, honoured when
   * the sidecar's `folderAnnotation` is set to it).
   * @default - the sidecar's default folder
   */
  readonly folder?: string;
  /**
   * The namespace of the ConfigMap (the Grafana sidecar must watch it; kube-prometheus-stack's
   * watches only Grafana's namespace unless `sidecar.dashboards.searchNamespace` is `ALL`).
   * @default - the chart's namespace
   */
  readonly configMapNamespace?: string;
}

/**
 * The seed's Grafana dashboard as a ConfigMap labelled `grafana_dashboard: "1"`, which the Grafana
 * dashboard sidecar loads.
 *
 * The seed's panels query `nvidia_gpu_utilization` and `nvidia_gpu_memory_*`, which nothing exports;
 * these use dcgm-exporter's `DCGM_FI_DEV_GPU_UTIL` and `DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED +
 * DCGM_FI_DEV_FB_FREE)`, restricted to the GPUs of trainer pods, and the trainer's own
 * `training_loss`, `tokens_per_second`, `learning_rate` and `global_step`. Template variables select
 * the run and the stage.
 */
export class TrainingDashboard extends Construct {
  /** The ConfigMap's data key holding the dashboard JSON. */
  public static readonly FILE_NAME = 'korean-llm-training.json';
  /** The dashboard model (a copy is returned by `dashboard`). */
  private readonly model: any;

  public constructor(scope: Construct, id: string, props: TrainingDashboardProps = {}) {
    super(scope, id);
    const ns = props.trainingNamespace ?? namespaceOf(this);
    if (ns === undefined) v.fail('trainingNamespace', 'undefined', 'a namespace (set it or give the chart a namespace)');
    v.dns1123Label('trainingNamespace', ns);
    v.dns1123Label('configMapNamespace', props.configMapNamespace);
    const uid = props.uid ?? 'korean-llm-training';
    if (!/^[A-Za-z0-9_-]{1,40}$/.test(uid)) v.fail('uid', uid, 'at most 40 letters, digits, \'-\' or \'_\'');
    v.nonEmpty('title', props.title);
    v.nonEmpty('folder', props.folder);

    const trainer = `namespace="${ns}", run=~"$run", stage=~"$stage"`;
    const trainerPods = `group by (namespace, pod, run, stage, model) (${MetricNames.GLOBAL_STEP}{${trainer}})`;
    const onTrainer = (expr: string) => `${expr} * on (namespace, pod) group_left (run, stage, model) ${trainerPods}`;
    const gpu = `namespace="${ns}"`;
    const panel = (panelId: number, title: string, expr: string, legend: string, unit: string, x: number, y: number) => ({
      id: panelId,
      title,
      type: 'timeseries',
      datasource: { type: 'prometheus', uid: '${datasource}' },
      gridPos: { h: 8, w: 12, x, y },
      fieldConfig: { defaults: { unit }, overrides: [] },
      options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
      targets: [{ refId: 'A', expr, legendFormat: legend, datasource: { type: 'prometheus', uid: '${datasource}' } }],
    });
    const variable = (name: string, label: string) => ({
      name,
      label,
      type: 'query',
      datasource: { type: 'prometheus', uid: '${datasource}' },
      query: { query: `label_values(${MetricNames.GLOBAL_STEP}{namespace="${ns}"}, ${name})`, refId: `${name}-values` },
      definition: `label_values(${MetricNames.GLOBAL_STEP}{namespace="${ns}"}, ${name})`,
      refresh: 2,
      includeAll: true,
      multi: true,
      allValue: '.*',
      current: { selected: true, text: ['All'], value: ['$__all'] },
      sort: 1,
    });
    this.model = {
      uid,
      title: props.title ?? 'Korean LLM Training Dashboard',
      tags: ['korean-llm', 'training'],
      timezone: 'browser',
      schemaVersion: 39,
      version: 1,
      editable: true,
      refresh: '30s',
      time: { from: 'now-6h', to: 'now' },
      templating: {
        list: [
          { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 },
          variable('run', 'Run'),
          variable('stage', 'Stage'),
        ],
      },
      panels: [
        panel(1, 'GPU Utilization', onTrainer(`avg by (namespace, pod, gpu) (${MetricNames.GPU_UTIL}{${gpu}})`), '{{stage}} {{run}} {{pod}} GPU {{gpu}}', 'percent', 0, 0),
        panel(2, 'GPU Memory Usage', onTrainer(`100 * avg by (namespace, pod, gpu) (${MetricNames.GPU_FB_USED}{${gpu}} / (${MetricNames.GPU_FB_USED}{${gpu}} + ${MetricNames.GPU_FB_FREE}{${gpu}}))`), '{{stage}} {{run}} {{pod}} GPU {{gpu}}', 'percent', 12, 0),
        panel(3, 'Training Loss', `${MetricNames.TRAINING_LOSS}{${trainer}}`, '{{stage}} {{run}} {{model}} {{pod}}', 'none', 0, 8),
        panel(4, 'Tokens per Second', `sum by (run, stage, model) (${MetricNames.TOKENS_PER_SECOND}{${trainer}})`, '{{stage}} {{run}} {{model}}', 'short', 12, 8),
        panel(5, 'Learning Rate', `max by (run, stage, model) (${MetricNames.LEARNING_RATE}{${trainer}})`, '{{stage}} {{run}} {{model}}', 'none', 0, 16),
        panel(6, 'Global Step', `max by (run, stage, model) (${MetricNames.GLOBAL_STEP}{${trainer}})`, '{{stage}} {{run}} {{model}}', 'none', 12, 16),
      ],
    };

    new kplus.ConfigMap(this, 'Resource', {
      metadata: {
        // no `namespace` key without one: the chart's namespace applies
        ...(props.configMapNamespace ? { namespace: props.configMapNamespace } : {}),
        labels: { grafana_dashboard: '1', [LABELS.partOf]: PART_OF },
        ...(props.folder ? { annotations: { grafana_folder: props.folder } } : {}),
      },
      data: { [TrainingDashboard.FILE_NAME]: JSON.stringify(this.model, null, 2) },
    });
  }

  /** The dashboard model (a copy). */
  public get dashboard(): any {
    return JSON.parse(JSON.stringify(this.model));
  }
}
