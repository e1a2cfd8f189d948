// Private helpers shared by the platform constructs (queues, monitoring, serving).

import { ApiObject, Chart, JsonPatch, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import * as v from '../_validate';
import { GpuTrainingJob } from '../training/gpu-training-job';

/** Removes the chart's namespace from a cluster-scoped object (PersistentVolume, ClusterQueue, ...). */
export function clusterScoped(obj: ApiObject): void {
  if (obj.metadata.namespace !== undefined) obj.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
}

/** The namespace of the chart holding a construct, if it sets one. */
export function namespaceOf(scope: IConstruct): string | undefined {
  return Chart.of(scope).namespace;
}

/** CPU cores of a `Cpu` (`Cpu.units(8)` -> 8, `Cpu.millis(500)` -> 0.5). */
export function cores(prop: string, cpu: Cpu): number {
  const amount = cpu.amount;
  const n = amount.endsWith('m') ? Number(amount.slice(0, -1)) / 1000 : Number(amount);
  if (!Number.isFinite(n) || n <= 0) v.fail(prop, amount, 'a positive amount (Cpu.units(n) or Cpu.millis(n))');
  return n;
}

/** A quantity string for a Size: the largest binary unit that keeps it whole (`10Ti`, `1536Gi`). */
export function quantity(size: Size): string {
  const mi = v.mebibytes(size);
  const units: [string, number][] = [['Pi', 1024 ** 3], ['Ti', 1024 ** 2], ['Gi', 1024], ['Mi', 1]];
  for (const [unit, factor] of units) {
    if (Number.isInteger(mi / factor)) return `${mi / factor}${unit}`;
  }
  return `${Math.ceil(mi)}Mi`;
}

/** Every GpuTrainingJob (and stage) in the chart of a construct. */
export function trainingJobsIn(scope: IConstruct): GpuTrainingJob[] {
  return Chart.of(scope).node.findAll().filter((c): c is GpuTrainingJob => c instanceof GpuTrainingJob);
}

/** Env names that must never carry a literal value. */
export const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|WEBHOOK)/i;
