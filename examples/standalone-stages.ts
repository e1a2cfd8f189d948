// The seed's section 3: the three training stages as standalone PyTorchJobs, plus a two-node job.
import { App, Chart, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import {
  BaseModel, CptStage, GpuNodePool, GpuTrainingJob, PreferenceMethod, RlhfStage, SftStage,
  TrainerCommand, TrainingVolumes,
} from '../src';

/** The image users build from python/Dockerfile and push to their registry. */
export const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';

export function standaloneStages(app: App): Chart {
  const chart = new Chart(app, 'standalone-stages', { namespace: 'llm-training', disableResourceNameHashes: true });
  const storage = TrainingVolumes.fromClaims(); // the seed's llm-training-data-pvc and model-output-pvc
  const runId = 'ko-2026-11-28';

  const cpt = new CptStage(chart, 'korean-llm-cpt', {
    image: IMAGE,
    runId,
    storage,
    baseModel: BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit'),
    modelSize: '7B',
    embeddingLearningRate: 1e-6,
  });
  const sft = new SftStage(chart, 'korean-llm-sft', {
    image: IMAGE,
    runId,
    storage,
    baseModel: BaseModel.fromStage(cpt),
    modelSize: '7B',
  });
  new RlhfStage(chart, 'korean-llm-rlhf', {
    image: IMAGE,
    runId,
    storage,
    baseModel: BaseModel.fromStage(sft),
    modelSize: '7B',
    method: PreferenceMethod.DPO,
  });
  return chart;
}

export function twoNodeJob(app: App): Chart {
  const chart = new Chart(app, 'two-node-job', { namespace: 'llm-training', disableResourceNameHashes: true });
  // One Master and one Worker with identical GPU shapes: 2 x 8 GPUs, torchrun on both nodes.
  new GpuTrainingJob(chart, 'korean-llm-sft-72b', {
    image: IMAGE,
    trainerCommand: TrainerCommand.SFT,
    nodes: 2,
    gpusPerNode: 8,
    cpu: Cpu.units(96),
    memory: Size.gibibytes(900),
    storage: TrainingVolumes.fromClaims(),
    nodePool: GpuNodePool.seedDefault().withGpuProducts('NVIDIA-H100-80GB-HBM3'),
    env: {
      STAGE: 'SFT',
      RUN_ID: 'ko-72b-2026-11-28',
      MODEL_NAME: 'qwen2-5-72b',
      MODEL_SIZE: '72B',
      BASE_MODEL_PATH: 'Qwen/Qwen2.5-72B-Instruct',
      DATA_PATH: '/data/sft.jsonl',
      OUTPUT_DIR: '/output/runs/ko-72b-2026-11-28/qwen2-5-72b/sft',
      LEARNING_RATE: '1e-4',
    },
  });
  return chart;
}
