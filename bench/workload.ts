// The benchmark's workload: N pipelines (storage + KoreanLlmPipeline + monitoring) in one of two
// layouts, and the "floor": the very same documents emitted through bare cdk8s ApiObjects.

import { ApiObject, App, Chart, JsonPatch } from 'cdk8s';
import { vllmDeployment } from '../examples/pipelines';
import { IMAGE } from '../examples/standalone-stages';
import { GpuNodePool, KoreanBenchmark, KoreanLlmPipeline, PreferenceMethod, SecretKey } from '../src';
import { TrainingAlerts } from '../src/platform/alerting';
import { DcgmExporterMonitor, TrainerPodMonitor, TrainingOperatorMonitor } from '../src/platform/training-monitoring';
import { TrainingStorage, VolumeSource } from '../src/platform/training-storage';

/** (a) every pipeline in one chart; (b) one chart per pipeline. */
export type Layout = 'a' | 'b';

export const LAYOUT_NAMES: Record<Layout, string> = {
  a: 'one chart',
  b: 'chart per pipeline',
};

/**
 * One pipeline of the benchmark: its storage and the seed's full pipeline using it. Monitoring is
 * added per training namespace (`addNamespaceMonitoring`) and per cluster (`addClusterMonitoring`),
 * as a platform deploys it: a second trainer PodMonitor or PrometheusRule in the same namespace
 * would scrape every trainer pod and fire every alert twice, and a dcgm-exporter ServiceMonitor per
 * namespace would scrape the exporter once per namespace.
 *
 * Construct ids: in one chart (layout a) each pipeline's constructs need ids of their own
 * (`p7-storage`); with a chart per pipeline (layout b) the chart's id carries the pipeline and its
 * constructs take the same ids in every chart (`storage`, `training`), as the floor's ApiObjects
 * do (`o0`..`o9` in every chart). Ids that differ from chart to chart give every chart's children
 * object a hidden class of its own, which cdk8s's per-chart walk of the whole app pays for at
 * 1000 charts (figures in docs/benchmark.md).
 */
function addPipeline(scope: Chart, i: number, ids: 'unique' | 'chart-local'): void {
  const p = `p${i}`;
  const id = (name: string) => (ids === 'unique' ? `${p}-${name}` : name);
  const storage = new TrainingStorage(scope, id('storage'), {
    source: VolumeSource.nfs('nfs.example.internal', `/exports/${p}/data`, { mountOptions: ['nfsvers=4.1', 'hard'] }),
    data: { claimName: `${p}-data-pvc` },
    output: { claimName: `${p}-output-pvc`, source: VolumeSource.nfs('nfs.example.internal', `/exports/${p}/output`) },
  });
  new KoreanLlmPipeline(scope, id('training'), {
    name: `${p}-training`,
    image: IMAGE,
    baseModel: 'unsloth/Qwen2.5-7B-bnb-4bit',
    modelSize: '7B',
    storage,
    nodePool: GpuNodePool.seedDefault(),
    cpt: { gpusPerNode: 4 },
    sft: { gpusPerNode: 2 },
    rlhf: { gpusPerNode: 2, method: PreferenceMethod.DPO },
    evaluation: { benchmarks: KoreanBenchmark.defaults(), minScore: 0.55 },
    server: vllmDeployment(`${p}-inference-server`),
    slackWebhook: SecretKey.of('slack-webhook', 'url'),
  });
}

/** The monitoring of one training namespace: the trainer PodMonitor and the training alerts. */
function addNamespaceMonitoring(chart: Chart): void {
  new TrainerPodMonitor(chart, 'trainer-monitor');
  new TrainingAlerts(chart, 'training-alerts');
}

/** The cluster's monitors: dcgm-exporter and the Training Operator, once. */
function addClusterMonitoring(chart: Chart): void {
  new DcgmExporterMonitor(chart, 'dcgm-exporter-monitor');
  new TrainingOperatorMonitor(chart, 'training-operator-monitor');
}

/** Builds the library's constructs for N pipelines in a layout (nothing is synthesized yet). */
export function buildLibrary(layout: Layout, n: number): App {
  const app = new App();
  if (layout === 'a') {
    const chart = new Chart(app, 'bench', { namespace: 'llm-training', disableResourceNameHashes: true });
    for (let i = 0; i < n; i++) addPipeline(chart, i, 'unique');
    addNamespaceMonitoring(chart);
    addClusterMonitoring(chart);
  } else {
    for (let i = 0; i < n; i++) {
      const chart = new Chart(app, `bench-${i}`, { namespace: `llm-training-${i}`, disableResourceNameHashes: true });
      addPipeline(chart, i, 'chart-local');
      addNamespaceMonitoring(chart);
    }
    addClusterMonitoring(new Chart(app, 'platform', { namespace: 'monitoring', disableResourceNameHashes: true }));
  }
  return app;
}

/** The documents of each chart, as the library produced them (the floor's input). */
export type CapturedDocs = any[][];

/** Synthesizes the library once and keeps every chart's JSON documents (and the synthesized app). */
export function captureDocs(layout: Layout, n: number): { docs: CapturedDocs; yaml: string; app: App } {
  const app = buildLibrary(layout, n);
  const yaml = app.synthYaml();
  // synthYaml has validated and resolved the app: each chart's toJson() is now what it emitted
  const docs = app.charts.map((c) => c.toJson());
  return { docs: JSON.parse(JSON.stringify(docs)), yaml, app };
}

/**
 * The floor: the same documents in the same chart layout, as bare ApiObjects (no construct logic).
 * A document without `metadata.name` (the Workflow, which has a `generateName`) needs the same
 * JSON patch the library uses, or cdk8s would name it.
 */
export function buildFloor(docs: CapturedDocs): App {
  const app = new App();
  docs.forEach((chartDocs, c) => {
    const chart = new Chart(app, `floor-${c}`);
    chartDocs.forEach((doc, j) => {
      const obj = new ApiObject(chart, `o${j}`, doc);
      if (doc.metadata?.name === undefined) obj.addJsonPatch(JsonPatch.remove('/metadata/name'));
    });
  });
  return app;
}

/** The library run, as `cdk8s synth` does it: build the constructs, produce the YAML. */
export function runLibrary(layout: Layout, n: number): string {
  return buildLibrary(layout, n).synthYaml();
}

/** The floor run: build the ApiObjects, produce the YAML. */
export function runFloor(docs: CapturedDocs): string {
  return buildFloor(docs).synthYaml();
}
