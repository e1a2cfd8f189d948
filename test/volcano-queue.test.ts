import { Duration, Size, Testing } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import { GpuTrainingJob, TrainerCommand, VolcanoQueue } from '../src';
import { find, nsChart } from './util/platform';
import { expectValid } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';

describe('VolcanoQueue', () => {
  test('a cluster-scoped queue with a GPU capability; jobs gang-schedule into it', () => {
    const chart = nsChart();
    const queue = new VolcanoQueue(chart, 'q', { gpus: 16, cpu: Cpu.units(200), memory: Size.gibibytes(1600), weight: 2 });
    const job = new GpuTrainingJob(chart, 'job', {
      image: IMAGE,
      trainerCommand: TrainerCommand.CPT,
      nodes: 2,
      gpusPerNode: 8,
      queueing: queue.queueing({ priorityClass: 'high', minAvailable: 2, scheduleTimeout: Duration.minutes(30) }),
    });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const q = find(docs, 'Queue');
    expect(q.apiVersion).toBe('scheduling.volcano.sh/v1beta1');
    expect(q.metadata.namespace).toBeUndefined();
    expect(q.spec).toEqual({ weight: 2, reclaimable: false, capability: { 'nvidia.com/gpu': 16, 'cpu': '200', 'memory': '1600Gi' } });
    expect(find(docs, 'PyTorchJob').spec.runPolicy.schedulingPolicy).toEqual({ minAvailable: 2, queue: 'gpu-training', priorityClass: 'high', scheduleTimeoutSeconds: 1800 });
    expect(queue.admits(job)).toBe(true);
  });

  test('fails when a job needs more GPUs than the queue (explicit check and at synthesis)', () => {
    const chart = nsChart();
    const queue = new VolcanoQueue(chart, 'q', { gpus: 8 });
    const job = new GpuTrainingJob(chart, 'job', { image: IMAGE, trainerCommand: TrainerCommand.CPT, nodes: 2, gpusPerNode: 8, queueing: queue.queueing() });
    expect(() => queue.checkAdmits(job)).toThrow(/^'gpus' must be at least the 16 GPUs of job 'test\/job'.*, got 8$/);
    expect(() => Testing.synth(chart)).toThrow(/'gpus' of Volcano queue 'gpu-training' must be at least the 16 GPUs of job 'test\/job', got 8/);
  });

  test('fails when the capability or weight is invalid', () => {
    expect(() => new VolcanoQueue(nsChart(), 'q', { gpus: -1 })).toThrow("'gpus' must be an integer from 1 to 100000, got -1");
    expect(() => new VolcanoQueue(nsChart(), 'q', { gpus: 1, weight: 0 })).toThrow("'weight' must be an integer from 1 to 65535, got 0");
    expect(() => new VolcanoQueue(nsChart(), 'q', { gpus: 1, gpuResourceName: 'gpu' })).toThrow("'gpuResourceName' must be an extended resource name such as 'nvidia.com/gpu', got 'gpu'");
  });
});
