import { Size, Testing } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import {
  BaseModel, CptStage, GpuNodePool, GpuTrainingJob, KueueClusterQueue, KueueGpuQueue, Labels,
  KueueLocalQueue, KueueQueueingStrategy, KueueResourceFlavor, KueueWorkloadPriorityClass, TaintEffect, TrainerCommand,
} from '../src';
import { find, nsChart } from './util/platform';
import { expectValid } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';

describe('KueueGpuQueue', () => {
  test('a flavor for the node pool, a GPU/CPU/memory quota and a LocalQueue in the namespace', () => {
    const chart = nsChart();
    const queue = new KueueGpuQueue(chart, 'queue', { gpus: 8 });
    const job = new CptStage(chart, 'cpt', { image: IMAGE, runId: 'r1', baseModel: BaseModel.huggingFace('org/m'), queueing: queue.queueing() });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const flavor = find(docs, 'ResourceFlavor');
    expect(flavor.apiVersion).toBe('kueue.x-k8s.io/v1beta2');
    expect(flavor.metadata).toMatchObject({ name: 'gpu-training' });
    expect(flavor.metadata.namespace).toBeUndefined();
    expect(flavor.spec).toEqual({ nodeLabels: { 'node-type': 'gpu-training' }, nodeTaints: [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }] });
    const cq = find(docs, 'ClusterQueue');
    expect(cq.apiVersion).toBe('kueue.x-k8s.io/v1beta2');
    expect(cq.metadata.name).toBe('llm-training-gpu-training');
    expect(cq.metadata.namespace).toBeUndefined();
    expect(cq.spec.namespaceSelector).toEqual({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['llm-training'] }] });
    expect(cq.spec.queueingStrategy).toBe('BestEffortFIFO');
    expect(cq.spec.resourceGroups).toEqual([{
      coveredResources: ['cpu', 'memory', 'nvidia.com/gpu'],
      flavors: [{
        name: 'gpu-training',
        resources: [
          { name: 'cpu', nominalQuota: '128' },
          { name: 'memory', nominalQuota: '1024Gi' },
          { name: 'nvidia.com/gpu', nominalQuota: 8 },
        ],
      }],
    }]);
    const lq = find(docs, 'LocalQueue');
    expect(lq.metadata).toMatchObject({ name: 'gpu-training', namespace: 'llm-training' });
    expect(lq.spec).toEqual({ clusterQueue: 'llm-training-gpu-training' });
    // the job carries the queue label Kueue reads, on the job object
    expect(find(docs, 'PyTorchJob').metadata.labels[Labels.KUEUE_QUEUE]).toBe('gpu-training');
    expect(queue.admits(job)).toBe(true);
  });

  test('a pool with one GPU product and custom taints shapes the flavor', () => {
    const chart = nsChart();
    const nodePool = GpuNodePool.fromLabels({ pool: 'h100' }, {
      taints: [{ key: 'dedicated', value: 'training', effect: TaintEffect.NO_EXECUTE }],
      gpuProducts: ['NVIDIA-H100-80GB-HBM3'],
    });
    new KueueResourceFlavor(chart, 'f', { name: 'h100', nodePool });
    const spec = Testing.synth(chart)[0].spec;
    expect(spec.nodeLabels).toEqual({ 'pool': 'h100', 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' });
    expect(spec.nodeTaints).toEqual([{ key: 'dedicated', value: 'training', effect: 'NoExecute' }]);
  });

  test('explicit quota, cohort, strategy and preemption; priority classes label jobs', () => {
    const chart = nsChart();
    const flavor = new KueueResourceFlavor(chart, 'f');
    const cq = new KueueClusterQueue(chart, 'cq', {
      flavor,
      gpus: 4,
      cpu: Cpu.millis(64500),
      memory: Size.gibibytes(512),
      cohortName: 'research',
      gpuBorrowingLimit: 4,
      queueingStrategy: KueueQueueingStrategy.STRICT_FIFO,
      preemptLowerPriority: true,
      namespaces: ['a', 'b'],
    });
    const lq = new KueueLocalQueue(chart, 'lq', { clusterQueue: cq, name: 'team-a' });
    const pc = new KueueWorkloadPriorityClass(chart, 'pc', { name: 'urgent', value: 100, description: 'hot fixes' });
    const job = new GpuTrainingJob(chart, 'job', { image: IMAGE, trainerCommand: TrainerCommand.SFT, gpusPerNode: 8, queueing: pc.queueing(lq) });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const spec = find(docs, 'ClusterQueue').spec;
    expect(spec.cohortName).toBe('research');
    expect(spec.queueingStrategy).toBe('StrictFIFO');
    expect(spec.preemption).toEqual({ withinClusterQueue: 'LowerPriority' });
    expect(spec.namespaceSelector.matchExpressions[0].values).toEqual(['a', 'b']);
    expect(spec.resourceGroups[0].flavors[0].resources).toEqual([
      { name: 'cpu', nominalQuota: '64.5' },
      { name: 'memory', nominalQuota: '512Gi' },
      { name: 'nvidia.com/gpu', nominalQuota: 4, borrowingLimit: 4 },
    ]);
    const wpc = find(docs, 'WorkloadPriorityClass');
    expect(wpc).toMatchObject({ apiVersion: 'kueue.x-k8s.io/v1beta2', value: 100, description: 'hot fixes', metadata: { name: 'urgent' } });
    expect(wpc.metadata.namespace).toBeUndefined();
    const labels = find(docs, 'PyTorchJob').metadata.labels;
    expect(labels[Labels.KUEUE_QUEUE]).toBe('team-a');
    expect(labels[Labels.KUEUE_PRIORITY]).toBe('urgent');
    // 8 GPUs fit in 4 + 4 borrowed
    expect(lq.admits(job)).toBe(true);
  });

  test('fails when a Kueue quota is below one job\'s GPUs (explicit check)', () => {
    const chart = nsChart();
    const queue = new KueueGpuQueue(chart, 'queue', { gpus: 8 });
    const job = new GpuTrainingJob(chart, 'job', { image: IMAGE, trainerCommand: TrainerCommand.CPT, nodes: 2, gpusPerNode: 8, queueing: queue.queueing() });
    expect(queue.admits(job)).toBe(false);
    expect(() => queue.checkAdmits(job)).toThrow(/^'gpus' must be at least the 16 GPUs of job 'test\/job' \(2 node\(s\) x 8\).*, got 8$/);
  });

  test('fails when a Kueue quota is below one job\'s GPUs (at synthesis, for every job queued there)', () => {
    const chart = nsChart();
    const queue = new KueueGpuQueue(chart, 'queue', { gpus: 4 });
    new GpuTrainingJob(chart, 'job', { image: IMAGE, trainerCommand: TrainerCommand.CPT, gpusPerNode: 8, queueing: queue.queueing() });
    expect(() => Testing.synth(chart)).toThrow(/'gpus' of ClusterQueue 'llm-training-gpu-training' must be at least the 8 GPUs of job 'test\/job' queued in LocalQueue 'gpu-training', got 4/);
  });

  test('fails when the quota or names are invalid', () => {
    const chart = nsChart();
    const flavor = new KueueResourceFlavor(chart, 'f');
    expect(() => new KueueClusterQueue(chart, 'a', { flavor, gpus: 0 })).toThrow("'gpus' must be an integer from 1 to 100000, got 0");
    expect(() => new KueueClusterQueue(chart, 'b', { flavor, gpus: 2.5 })).toThrow("'gpus' must be an integer from 1 to 100000, got 2.5");
    expect(() => new KueueClusterQueue(chart, 'c', { flavor, gpus: 2, gpuBorrowingLimit: 2 }))
      .toThrow("'gpuBorrowingLimit' must be unset without a 'cohortName' (there is nothing to borrow from), got 2");
    expect(() => new KueueClusterQueue(chart, 'd', { flavor, gpus: 2, memory: Size.gibibytes(0) })).toThrow("'memory' must be a size greater than zero, got 0Gi");
    expect(() => new KueueClusterQueue(chart, 'e', { flavor, gpus: 2, cpu: Cpu.units(0) })).toThrow("'cpu' must be a positive amount");
    expect(() => new KueueGpuQueue(chart, 'g', { gpus: 1, localQueueName: 'GPU' })).toThrow("'name' must be a DNS-1123 label");
    expect(() => new KueueWorkloadPriorityClass(chart, 'p', { value: 1.5 })).toThrow("'value' must be an integer from -1000000000 to 1000000000, got 1.5");
  });
});
