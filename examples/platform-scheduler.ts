// The seed's section 7.2, fixed: kubescheduler.config.k8s.io/v1 and bin-packing for GPU training.
import { App, Chart } from 'cdk8s';
import { GpuSchedulerConfig, ScoringStrategy } from '../src';

export function platformScheduler(app: App): Chart {
  const chart = new Chart(app, 'platform-scheduler', { disableResourceNameHashes: true });
  new GpuSchedulerConfig(chart, 'gpu-scheduler', { scoringStrategy: ScoringStrategy.mostAllocated() });
  return chart;
}
