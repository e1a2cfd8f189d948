// Gang-friendly queueing: Kueue admits a whole job against a GPU quota (or Volcano gang-schedules its
// pods), so a multi-node job never holds half its GPUs while waiting for the rest.
import { App, Chart, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import {
  BaseModel, CptStage, GpuNodePool, KueueGpuQueue, KueueWorkloadPriorityClass, SftStage, VolcanoQueue,
} from '../src';
import { IMAGE } from './standalone-stages';

export function platformKueue(app: App): Chart {
  const chart = new Chart(app, 'platform-kueue', { namespace: 'llm-training', disableResourceNameHashes: true });
  const nodePool = GpuNodePool.seedDefault().withGpuProducts('NVIDIA-H100-80GB-HBM3');
  const queue = new KueueGpuQueue(chart, 'queue', { gpus: 16, cpu: Cpu.units(240), memory: Size.gibibytes(1800), nodePool });
  const urgent = new KueueWorkloadPriorityClass(chart, 'urgent', { name: 'llm-urgent', value: 1000, description: 'Hot-fix retraining' });
  const cpt = new CptStage(chart, 'korean-llm-cpt', {
    image: IMAGE,
    runId: 'ko-2026-11-28',
    nodePool,
    nodes: 2,
    gpusPerNode: 8,
    queueing: queue.queueing(),
    baseModel: BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit'),
  });
  queue.checkAdmits(cpt); // throws at synth time if the quota could never admit the job
  new SftStage(chart, 'korean-llm-sft', {
    image: IMAGE,
    runId: 'ko-2026-11-28',
    nodePool,
    queueing: urgent.queueing(queue.localQueue),
    baseModel: BaseModel.fromStage(cpt),
  });
  return chart;
}

export function platformVolcano(app: App): Chart {
  const chart = new Chart(app, 'platform-volcano', { namespace: 'llm-training', disableResourceNameHashes: true });
  const queue = new VolcanoQueue(chart, 'queue', { gpus: 16, weight: 2 });
  new CptStage(chart, 'korean-llm-cpt', {
    image: IMAGE,
    runId: 'ko-2026-11-28',
    nodes: 2,
    gpusPerNode: 8,
    queueing: queue.queueing(),
    baseModel: BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit'),
  });
  return chart;
}
