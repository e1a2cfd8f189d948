// The seed's pipeline on Kubeflow Trainer v2: the same stages as `korean-llm-pipeline`, each a
// TrainJob (trainer.kubeflow.org/v1alpha1, Trainer v2.3) with its own TrainingRuntime, queued
// through Kueue's TrainJob integration (on by default since Kueue 0.15).
import { App, Chart } from 'cdk8s';
import {
  GpuNodePool, KoreanBenchmark, KoreanLlmPipeline, KueueGpuQueue, PreferenceMethod, TrainerVersion,
  TrainingBackend, TrainingVolumes,
} from '../src';
import { vllmDeployment } from './pipelines';
import { IMAGE } from './standalone-stages';

export function trainJobPipeline(app: App): Chart {
  const chart = new Chart(app, 'korean-llm-trainjob', { namespace: 'llm-training', disableResourceNameHashes: true });
  const queue = new KueueGpuQueue(chart, 'queue', { gpus: 8 });
  new KoreanLlmPipeline(chart, 'training', {
    name: 'korean-llm-trainjob',
    image: IMAGE,
    baseModel: 'unsloth/Qwen2.5-7B-bnb-4bit',
    modelSize: '7B',
    storage: TrainingVolumes.fromClaims(),
    nodePool: GpuNodePool.seedDefault(),
    backend: TrainingBackend.trainJob({ version: TrainerVersion.V2_3 }),
    queueing: queue.queueing(),
    cpt: { gpusPerNode: 4 },
    sft: { gpusPerNode: 2 },
    rlhf: { gpusPerNode: 2, method: PreferenceMethod.DPO },
    evaluation: { benchmarks: KoreanBenchmark.defaults(), minScore: 0.55 },
    server: vllmDeployment('llm-inference-server'),
  });
  return chart;
}
