import { GpuNodePool, Labels, TaintEffect } from '../src';

describe('GpuNodePool', () => {
  test('the seed\'s pool: node-type gpu-training, tolerating nvidia.com/gpu:NoSchedule', () => {
    const pool = GpuNodePool.seedDefault();
    expect(pool.nodeSelector).toEqual({ 'node-type': 'gpu-training' });
    expect(pool._tolerations()).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(pool.gpuResourceName).toBe('nvidia.com/gpu');
    expect(pool.gpuProducts).toEqual([]);
    expect(pool._affinity()).toBeUndefined();
  });

  test('any GPU node: no selector', () => {
    expect(GpuNodePool.anyGpuNode().nodeSelector).toEqual({});
  });

  test('taints with and without values', () => {
    const pool = GpuNodePool.fromLabels({ pool: 'a100' }, {
      taints: [
        { key: 'dedicated', value: 'training' },
        { key: 'nvidia.com/gpu', effect: TaintEffect.PREFER_NO_SCHEDULE },
      ],
    });
    expect(pool._tolerations()).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'training', effect: 'NoSchedule' },
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'PreferNoSchedule' },
    ]);
  });

  test('GPU products become required node affinity on the GFD label', () => {
    const pool = GpuNodePool.seedDefault().withGpuProducts('NVIDIA-H100-80GB-HBM3', 'NVIDIA-A100-SXM4-80GB');
    expect(pool.gpuProducts).toEqual(['NVIDIA-H100-80GB-HBM3', 'NVIDIA-A100-SXM4-80GB']);
    expect(pool.nodeSelector).toEqual({ 'node-type': 'gpu-training' });
    expect(pool._affinity()).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: Labels.GPU_PRODUCT, operator: 'In', values: ['NVIDIA-H100-80GB-HBM3', 'NVIDIA-A100-SXM4-80GB'] }] }],
        },
      },
    });
    expect(Labels.GPU_PRODUCT).toBe('nvidia.com/gpu.product');
  });

  test('withGpuProducts keeps taints and the resource name, and does not change the original', () => {
    const base = GpuNodePool.fromLabels({ a: 'b' }, { taints: [{ key: 'x' }], gpuResourceName: 'amd.com/gpu' });
    const restricted = base.withGpuProducts('MI300X');
    expect(restricted._tolerations()).toEqual(base._tolerations());
    expect(restricted.gpuResourceName).toBe('amd.com/gpu');
    expect(base.gpuProducts).toEqual([]);
  });

  test('getters return copies', () => {
    const pool = GpuNodePool.seedDefault();
    pool.nodeSelector.extra = 'x';
    expect(pool.nodeSelector).toEqual({ 'node-type': 'gpu-training' });
  });

  test('fails when a label value is invalid', () => {
    expect(() => GpuNodePool.fromLabels({ 'node-type': 'gpu training' })).toThrow("'nodePool.labels['node-type']' must be a label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit), got 'gpu training'");
  });

  test('fails when a GPU product repeats', () => {
    expect(() => GpuNodePool.seedDefault().withGpuProducts('A100', 'A100')).toThrow("'nodePool.gpuProducts' must be unique: it appears more than once, got 'A100'");
  });

  test('fails when the GPU resource name is not an extended resource', () => {
    expect(() => GpuNodePool.anyGpuNode({ gpuResourceName: 'gpu' })).toThrow("'nodePool.gpuResourceName' must be an extended resource name such as 'nvidia.com/gpu', got 'gpu'");
  });

  test('fails when a taint key is empty', () => {
    expect(() => GpuNodePool.anyGpuNode({ taints: [{ key: '' }] })).toThrow("'nodePool.taints[].key' must be a label key (an optional DNS-1123 subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit; no spaces), got ''");
  });

  test('fails when a node label key has spaces or an invalid prefix', () => {
    for (const bad of ['node type', 'node-type ', 'Example.com/pool', 'a/b/c', '/pool', 'example.com/', 'x'.repeat(64)]) {
      expect(() => GpuNodePool.fromLabels({ [bad]: 'gpu' })).toThrow(`'nodePool.labels key' must be a label key (an optional DNS-1123 subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit; no spaces), got '${bad}'`);
    }
    expect(GpuNodePool.fromLabels({ 'cloud.google.com/gke-nodepool': 'gpu', 'Node_Type.v2': 'a' }).nodeSelector).toEqual({ 'cloud.google.com/gke-nodepool': 'gpu', 'Node_Type.v2': 'a' });
  });

  test('inferenceDefault: its own nodes, apart from the training pool', () => {
    const pool = GpuNodePool.inferenceDefault();
    expect(pool.nodeSelector).toEqual({ 'node-type': 'gpu-inference' });
    expect(pool.nodeSelector).not.toEqual(GpuNodePool.seedDefault().nodeSelector);
    expect(pool._tolerations()).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
  });
});
