// The benchmark's apps: pipelines of the library as a platform deploys them, and cdk8s-plus-28
// programs of the same document count.

import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { vllmDeployment } from '../examples/pipelines';
import { IMAGE } from '../examples/standalone-stages';
import {
  DcgmExporterMonitor, GpuNodePool, KoreanBenchmark, KoreanLlmPipeline, PreferenceMethod, SecretKey, TrainerPodMonitor,
  TrainingAlerts, TrainingOperatorMonitor, TrainingStorage, VolumeSource,
} from '../src';

/**
 * One pipeline: its storage on NFS and the seed's full pipeline (CPT, SFT, DPO, evaluation, deploy
 * step, Slack notifications) using it.
 */
function addPipeline(scope: Chart, name: string): void {
  const storage = new TrainingStorage(scope, `${name}-storage`, {
    source: VolumeSource.nfs('nfs.example.internal', `/exports/${name}/data`, { mountOptions: ['nfsvers=4.1', 'hard'] }),
    data: { claimName: `${name}-data-pvc` },
    output: { claimName: `${name}-output-pvc`, source: VolumeSource.nfs('nfs.example.internal', `/exports/${name}/output`) },
  });
  new KoreanLlmPipeline(scope, name, {
    name,
    image: IMAGE,
    baseModel: 'unsloth/Qwen2.5-7B-bnb-4bit',
    modelSize: '7B',
    storage,
    nodePool: GpuNodePool.seedDefault(),
    cpt: { gpusPerNode: 4 },
    sft: { gpusPerNode: 2 },
    rlhf: { gpusPerNode: 2, method: PreferenceMethod.DPO },
    evaluation: { benchmarks: KoreanBenchmark.defaults(), minScore: 0.55 },
    server: vllmDeployment(`${name}-server`),
    slackWebhook: SecretKey.of('slack-webhook', 'url'),
  });
}

/**
 * The library's app: `n` pipelines, each in a chart (training namespace) of its own with that
 * namespace's trainer PodMonitor and alerts, or all of them in one chart; the cluster's monitors once.
 */
export function libraryApp(app: App, n: number, layout: 'chart-per-pipeline' | 'one-chart'): void {
  const namespaceChart = (id: string) => {
    const chart = new Chart(app, id, { namespace: id });
    new TrainerPodMonitor(chart, 'trainer-monitor');
    new TrainingAlerts(chart, 'training-alerts');
    return chart;
  };
  if (layout === 'one-chart') {
    const chart = namespaceChart('llm-training');
    for (let i = 0; i < n; i++) addPipeline(chart, `training-${i}`);
  } else {
    for (let i = 0; i < n; i++) addPipeline(namespaceChart(`llm-training-${i}`), 'training');
  }
  const platform = new Chart(app, 'platform', { namespace: 'monitoring' });
  new DcgmExporterMonitor(platform, 'dcgm-exporter-monitor');
  new TrainingOperatorMonitor(platform, 'training-operator-monitor');
}

/**
 * A cdk8s-plus-28 app with the given number of documents in each chart: Deployments (a container
 * with resources, probes, a volume and a security context), Services, ConfigMaps, ServiceAccounts
 * and Jobs in turn, one document each.
 */
export function plusApp(app: App, docsPerChart: number[]): void {
  docsPerChart.forEach((count, c) => {
    const chart = new Chart(app, `chart-${c}`, { namespace: `ns-${c}` });
    for (let i = 0; i < count; i++) {
      const id = `r${i}`;
      switch (i % 5) {
        case 0: {
          const d = new kplus.Deployment(chart, id, { replicas: 2, securityContext: { user: 1000, group: 1000 } });
          d.addContainer({
            image: 'registry.example.com/app:1.0.0',
            portNumber: 8000,
            envVariables: { MODE: kplus.EnvValue.fromValue('serve'), TOKEN: kplus.EnvValue.fromValue('none') },
            resources: { cpu: { request: kplus.Cpu.units(1), limit: kplus.Cpu.units(2) } },
            readiness: kplus.Probe.fromHttpGet('/health'),
            volumeMounts: [{ path: '/cache', volume: kplus.Volume.fromEmptyDir(chart, `${id}-cache`, 'cache') }],
          });
          break;
        }
        case 1:
          new kplus.Service(chart, id, { ports: [{ port: 80, targetPort: 8000 }], selector: kplus.Pods.select(chart, `${id}-pods`, { labels: { app: id } }) });
          break;
        case 2:
          new kplus.ConfigMap(chart, id, { data: { 'config.yaml': `name: ${id}\nreplicas: 2\n` } });
          break;
        case 3:
          new kplus.ServiceAccount(chart, id, { automountToken: false });
          break;
        default:
          new kplus.Job(chart, id, { containers: [{ image: 'registry.example.com/batch:1.0.0', args: ['--step', id] }], securityContext: { user: 1000 } });
      }
    }
  });
}
