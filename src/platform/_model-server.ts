// Private helpers of the model servers (vllm-server.ts, kserve-model-server.ts): the options both
// take, validated once, and the checks of a model path.

import { Chart, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import * as v from '../_validate';
import { cores } from './_platform';
import { ModelServerOptions } from './model-server';
import { checkDistinctVolumes, ITrainingStorage, TrainingVolumes } from './storage';
import { GpuNodePool } from '../training/gpu-node-pool';

/** The options of `ModelServerOptions`, validated, with their defaults. */
export interface CommonModel {
  readonly name: string;
  readonly servedModelName: string;
  readonly storage: ITrainingStorage;
  readonly gpus: number;
  readonly cpu: Cpu;
  readonly memory: Size;
  readonly nodePool: GpuNodePool;
}

export function commonOptions(scope: IConstruct, props: ModelServerOptions): CommonModel {
  v.namespace('namespace (of the chart)', Chart.of(scope).namespace);
  const servedModelName = props.servedModelName ?? 'korean-llm';
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/.test(servedModelName)) {
    v.fail('servedModelName', servedModelName, 'letters, digits, \'.\', \'_\', \'-\' or \'/\' (at most 128)');
  }
  const name = props.name ?? servedModelName;
  v.dns1035('name', name, 53);
  const storage = props.storage ?? TrainingVolumes.fromClaims();
  checkDistinctVolumes(storage);
  checkModelPath(props.modelPath, storage);
  if (props.gpus !== undefined && (!Number.isInteger(props.gpus) || props.gpus < 1 || props.gpus > 16)) {
    v.fail('gpus', props.gpus, 'an integer from 1 to 16 (whole GPUs per replica)');
  }
  const cpu = props.cpu ?? Cpu.units(8);
  cores('cpu', cpu);
  const memory = props.memory ?? Size.gibibytes(64);
  v.positiveSize('memory', memory);
  return { name, servedModelName, storage, gpus: props.gpus ?? 1, cpu, memory, nodePool: props.nodePool ?? GpuNodePool.inferenceDefault() };
}

/** A rollout path: below the output mount; Argo placeholders (`{{...}}`) may stand for parts of it. */
export function checkRolloutPath(modelPath: string, storage: ITrainingStorage): void {
  if (typeof modelPath === 'string' && modelPath.includes('{{')) {
    const root = storage.output.mountPath;
    if (!modelPath.startsWith(root + '/') || modelPath.includes('..')) {
      v.fail('modelPath', modelPath, `a directory below the output mount '${root}/' (placeholders may stand for parts below it)`);
    }
    return;
  }
  checkModelPath(modelPath, storage);
}

function checkModelPath(modelPath: string, storage: ITrainingStorage): void {
  const root = storage.output.mountPath;
  if (typeof modelPath !== 'string' || !modelPath.startsWith(root + '/') || /\s/.test(modelPath) || modelPath.includes('..')) {
    v.fail('modelPath', modelPath, `a directory below the output mount '${root}/' without '..' or white space`);
  }
}
