import { Testing } from 'cdk8s';
import * as yaml from 'js-yaml';
import { GpuSchedulerConfig, ScoringStrategy } from '../src';
import { expectValid } from './util/schema';

function configOf(strategy?: ScoringStrategy): any {
  const chart = Testing.chart();
  new GpuSchedulerConfig(chart, 'sched', strategy ? { scoringStrategy: strategy } : {});
  const docs = Testing.synth(chart);
  expectValid(docs);
  expect(docs[0].metadata).toMatchObject({ name: 'gpu-scheduler-config', namespace: 'kube-system' });
  return yaml.load(docs[0].data['config.yaml']);
}

describe('GpuSchedulerConfig', () => {
  test('kubescheduler.config.k8s.io/v1 (not v1beta3) with MostAllocated bin-packing and GPUs weighted', () => {
    const config = configOf();
    expect(config.apiVersion).toBe('kubescheduler.config.k8s.io/v1');
    expect(config.kind).toBe('KubeSchedulerConfiguration');
    expect(config.profiles).toHaveLength(1);
    expect(config.profiles[0].schedulerName).toBe('gpu-scheduler');
    expect(config.profiles[0].pluginConfig).toEqual([{
      name: 'NodeResourcesFit',
      args: { scoringStrategy: { type: 'MostAllocated', resources: [{ name: 'nvidia.com/gpu', weight: 100 }, { name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }] } },
    }]);
  });

  test('LeastAllocated and RequestedToCapacityRatio are choices', () => {
    expect(configOf(ScoringStrategy.leastAllocated()).profiles[0].pluginConfig[0].args.scoringStrategy.type).toBe('LeastAllocated');
    const ratio = configOf(ScoringStrategy.requestedToCapacityRatio()).profiles[0].pluginConfig[0].args.scoringStrategy;
    expect(ratio.type).toBe('RequestedToCapacityRatio');
    expect(ratio.requestedToCapacityRatio).toEqual({ shape: [{ utilization: 0, score: 0 }, { utilization: 100, score: 10 }] });
  });

  test('fails when the scoring shape or weights are invalid', () => {
    expect(() => ScoringStrategy.requestedToCapacityRatio([{ utilization: 50, score: 11 }])).toThrow("'shape[].score' must be an integer from 0 to 10, got 11");
    expect(() => ScoringStrategy.requestedToCapacityRatio([{ utilization: 50, score: 1 }, { utilization: 40, score: 2 }])).toThrow("'shape[].utilization' must be strictly increasing, got 40");
    expect(() => new GpuSchedulerConfig(Testing.chart(), 's', { gpuWeight: 0 })).toThrow("'gpuWeight' must be an integer from 1 to 100, got 0");
  });
});
