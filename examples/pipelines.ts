// The seed's pipelines (sections 4, 8 and 9.1) and a custom one built from the same parts.
import { App, Chart, Cron } from 'cdk8s';
import { ConcurrencyPolicy } from 'cdk8s-plus-28';
import {
  BaseModel, GpuNodePool, IModelServer, KoreanBenchmark, KoreanLlmPipeline, Pipeline,
  PipelineKind, PreferenceMethod, SecretKey, SftStage, TrainingVolumes,
} from '../src';
import { IMAGE } from './standalone-stages';

/**
 * The inference server the deploy step rolls. In a real app this is a `VllmServer` or `KServeModelServer` construct
 * (see the platform examples); any object with these fields works.
 */
export function vllmDeployment(name = 'llm-inference-server'): IModelServer {
  return {
    resourceApiGroup: 'apps',
    resourceApiVersion: 'apps/v1',
    resourceKind: 'Deployment',
    resourcePlural: 'deployments',
    resourceName: name,
    rolloutPatch: (modelPath: string) => ({
      spec: { template: { metadata: { annotations: { 'korean-llm/model-path': modelPath } } } },
    }),
  };
}

/** The seed's section 4: preprocess -> CPT -> SFT -> RLHF -> evaluate -> deploy, as one Workflow. */
export function seedPipeline(app: App): Chart {
  const chart = new Chart(app, 'korean-llm-pipeline', { namespace: 'llm-training', disableResourceNameHashes: true });
  new KoreanLlmPipeline(chart, 'training', {
    name: 'korean-llm-training',
    image: IMAGE,
    baseModel: 'unsloth/Qwen2.5-7B-bnb-4bit',
    modelSize: '7B',
    storage: TrainingVolumes.fromClaims(),
    nodePool: GpuNodePool.seedDefault(),
    cpt: { gpusPerNode: 4 },
    sft: { gpusPerNode: 2 },
    rlhf: { gpusPerNode: 2, method: PreferenceMethod.DPO },
    evaluation: { benchmarks: KoreanBenchmark.defaults(), minScore: 0.55 },
    server: vllmDeployment('llm-inference-server'),
    slackWebhook: SecretKey.of('slack-webhook', 'url'),
  });
  return chart;
}

/** The seed's section 9.1: 7B on 4 GPUs and 72B on 8 GPUs trained in parallel, as a WorkflowTemplate. */
export function multiModelPipeline(app: App): Chart {
  const chart = new Chart(app, 'multi-model-training', { namespace: 'llm-training', disableResourceNameHashes: true });
  new KoreanLlmPipeline(chart, 'multi-model', {
    name: 'multi-model-training',
    kind: PipelineKind.workflowTemplate(),
    image: IMAGE,
    models: [
      { name: 'qwen-7b', baseModel: 'unsloth/Qwen2.5-7B-bnb-4bit', modelSize: '7B', cpt: { gpusPerNode: 4 } },
      { name: 'qwen-72b', baseModel: 'unsloth/Qwen2.5-72B-bnb-4bit', modelSize: '72B', cpt: { gpusPerNode: 8 }, sft: { gpusPerNode: 8 }, rlhf: { gpusPerNode: 8 } },
    ],
    preprocess: { enabled: false },
    cpt: { dataPath: '/data/korean_corpus.jsonl' },
  });
  return chart;
}

/** Periodic retraining: SFT -> RLHF on fresh data every Sunday at 03:00 Seoul time. */
export function scheduledRetraining(app: App): Chart {
  const chart = new Chart(app, 'weekly-retraining', { namespace: 'llm-training', disableResourceNameHashes: true });
  new KoreanLlmPipeline(chart, 'weekly', {
    name: 'weekly-retrain',
    kind: PipelineKind.cron(Cron.schedule({ minute: '0', hour: '3', weekDay: '0' }), { timezone: 'Asia/Seoul', concurrencyPolicy: ConcurrencyPolicy.FORBID }),
    image: IMAGE,
    baseModel: 'unsloth/Qwen2.5-7B-bnb-4bit',
    preprocess: { enabled: false },
    cpt: { enabled: false },
    evaluation: { minScore: 0.6 },
    server: vllmDeployment('llm-inference-server'),
  });
  return chart;
}

/** A custom pipeline: two SFT variants in parallel, both evaluated, the better one deployed. */
export function customPipeline(app: App): Chart {
  const chart = new Chart(app, 'sft-bake-off', { namespace: 'llm-training', disableResourceNameHashes: true });
  const pipeline = new Pipeline(chart, 'bake-off', { name: 'sft-bake-off', image: IMAGE });
  const base = BaseModel.huggingFace('unsloth/Qwen2.5-7B-Instruct-bnb-4bit');
  const lowLr = new SftStage(pipeline, 'sft-low-lr', { image: IMAGE, baseModel: base, learningRate: 5e-5, modelName: 'qwen-7b-low' });
  const highLr = new SftStage(pipeline, 'sft-high-lr', { image: IMAGE, baseModel: base, learningRate: 2e-4, modelName: 'qwen-7b-high' });
  pipeline.addStage(lowLr);
  pipeline.addStage(highLr, { baseModelParameter: 'sft-low-lr-base-model' });
  const evalLow = pipeline.addEvaluation('eval-low-lr', { model: lowLr, benchmarks: [KoreanBenchmark.KOBEST, KoreanBenchmark.of('kmmlu_hard')] });
  const evalHigh = pipeline.addEvaluation('eval-high-lr', { model: highLr, benchmarks: [KoreanBenchmark.KOBEST, KoreanBenchmark.of('kmmlu_hard')] });
  const server = vllmDeployment('llm-inference-server');
  pipeline.addDeployment('deploy-low-lr', { model: lowLr, server, gate: evalLow, competitors: [evalHigh], minScore: 0.5 });
  pipeline.addDeployment('deploy-high-lr', { model: highLr, server, gate: evalHigh, competitors: [evalLow], minScore: 0.5 });
  return chart;
}
