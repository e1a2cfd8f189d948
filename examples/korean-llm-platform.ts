// The whole seed in one chart: NFS storage, a Kueue GPU queue, the pipeline with experiment
// tracking, the vLLM server its deploy step rolls, monitoring, alerts to Slack and the dashboard.
import { App, Chart, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import {
  ExperimentTracking, GpuNodePool, KoreanBenchmark, KoreanLlmPipeline, KueueGpuQueue, PreferenceMethod,
  SecretKey, SlackAlerts, TrainingAlerts, TrainingDashboard, TrainingMonitors, TrainingStorage, VllmServer,
  VolumeSource,
} from '../src';
import { IMAGE } from './standalone-stages';

export function koreanLlmPlatform(app: App): Chart {
  const chart = new Chart(app, 'korean-llm', { namespace: 'llm-training', disableResourceNameHashes: true });
  const nodePool = GpuNodePool.seedDefault();

  // the seed's 10Ti training data and 2Ti model output on NFS, ReadWriteMany
  const storage = new TrainingStorage(chart, 'storage', {
    source: VolumeSource.nfs('nfs-server.example.com', '/data/llm-training'),
    output: { source: VolumeSource.nfs('nfs-server.example.com', '/data/llm-output') },
  });
  // Kueue admits a job only when all of its GPUs fit the quota: no half-started multi-node jobs
  const queue = new KueueGpuQueue(chart, 'gpu-queue', { gpus: 16, nodePool });

  // serving runs on its own GPU nodes (GpuNodePool.inferenceDefault(), `node-type: gpu-inference`),
  // as does the evaluate step: GPUs of the queue's nodes taken outside Kueue would starve its jobs
  const server = new VllmServer(chart, 'llm-inference-server', {
    name: 'llm-inference-server',
    image: 'vllm/vllm-openai:v0.11.0',
    storage,
    modelPath: `${storage.output.mountPath}/serving/bootstrap/model`,
    servedModelName: 'korean-llm',
    gpus: 1,
    cpu: Cpu.units(8),
    memory: Size.gibibytes(64),
  });

  new KoreanLlmPipeline(chart, 'pipeline', {
    name: 'korean-llm-training',
    image: IMAGE,
    baseModel: 'unsloth/Qwen2.5-7B-bnb-4bit',
    modelSize: '7B',
    storage,
    nodePool,
    queueing: queue.queueing(),
    cpt: { gpusPerNode: 4 },
    sft: { gpusPerNode: 2 },
    rlhf: { gpusPerNode: 2, method: PreferenceMethod.DPO },
    // the gate: the mean, each task's own minimum, and at least 97 % of the base model's English score
    evaluation: {
      benchmarks: [KoreanBenchmark.KOBEST.withMinimum(0.6), KoreanBenchmark.KMMLU.withMinimum(0.45), KoreanBenchmark.HAERAE],
      minScore: 0.55,
      retention: { tasks: ['mmlu', 'arc_easy', 'hellaswag'], minRetention: 0.97 },
    },
    server,
    tracking: ExperimentTracking.of({
      wandb: { apiKey: SecretKey.of('wandb-secret', 'api-key') },
      mlflow: { trackingUri: 'http://mlflow-server:5000', experimentName: 'korean-llm-training' },
    }),
    slackWebhook: SecretKey.of('slack-webhook', 'url'),
  });

  new TrainingMonitors(chart, 'monitors');
  new TrainingAlerts(chart, 'alerts', { trainingNamespace: 'llm-training' });
  new SlackAlerts(chart, 'slack', { webhookUrl: SecretKey.of('slack-webhook', 'url'), channel: '#llm-training' });
  new TrainingDashboard(chart, 'dashboard', { trainingNamespace: 'llm-training' });
  return chart;
}
