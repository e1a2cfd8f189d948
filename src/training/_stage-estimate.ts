// How a training stage's plan becomes a TrainingEstimate: which tokens the trainer runs forward
// and backward, which only forward, which it generates, for each stage and preference method.

import { ApiObject } from 'cdk8s';
import { StagePlan, StagePlanShape, TrainingEstimate, TrainingMethod } from './estimate';
import { TrainerCommand } from './trainer-contract';
import * as v from '../_validate';

/** What the stage knows besides its plan. */
export interface StageFacts {
  readonly command: TrainerCommand;
  /** The base model's Hugging Face id or directory (of the first stage of a chain). */
  readonly baseModel: string;
  readonly epochs: number;
  readonly loadIn4bit: boolean;
  readonly gpus: number;
  readonly shape?: StagePlanShape;
}

/**
 * The stage's estimate. The trainer always trains LoRA adapters with gradient checkpointing, on a
 * 4-bit base unless `LOAD_IN_4BIT=false` (`training_args.py` `lora_kwargs`, `training.py`
 * `load_model`), so 6 FLOPs per parameter per trained token; DPO, KTO and GRPO also run a frozen
 * reference forward (TRL's `DPOTrainer`/`KTOTrainer`/`GRPOTrainer` with the adapters disabled);
 * KTO runs its KL batch forward through the policy and the reference as well (`calculate_KL`).
 */
export function stageEstimate(plan: StagePlan, facts: StageFacts): TrainingEstimate {
  checkPlan(plan);
  const grpo = facts.command === TrainerCommand.RLHF && facts.shape?.rlhfMethod === 'grpo';
  const given = plan.tokens !== undefined;
  if (given && plan.samples !== undefined) v.fail('plan.tokens', plan.tokens, 'unset when \'plan.samples\' is given (give one of them)');
  if (!given && (plan.samples === undefined || plan.meanTokensPerSample === undefined)) {
    v.fail(plan.samples === undefined ? 'plan.tokens' : 'plan.meanTokensPerSample', undefined,
      'given: the dataset\'s tokens per epoch (plan.tokens), or plan.samples with plan.meanTokensPerSample');
  }
  if (given && plan.meanTokensPerSample !== undefined) v.fail('plan.meanTokensPerSample', plan.meanTokensPerSample, 'used with \'plan.samples\' only');
  if (grpo && given) v.fail('plan.tokens', plan.tokens, 'unset for GRPO: give plan.samples (prompts) and plan.meanTokensPerSample (their mean tokens)');

  const n = plan.modelParameters ?? knownModelParameters(facts.baseModel);
  if (n === undefined) {
    v.fail('plan.modelParameters', undefined, `given for base model '${facts.baseModel}' (its size is not in the table of known models nor in its name)`);
  }
  const e = facts.epochs;
  const samples = plan.samples ?? 0;
  const mean = plan.meanTokensPerSample ?? 0;
  let train: number;
  let forward = 0;
  let generated = 0;
  const method = facts.command === TrainerCommand.RLHF ? facts.shape?.rlhfMethod ?? 'dpo' : undefined;
  if (method === 'grpo') {
    const g = facts.shape?.numGenerations ?? 8;
    const c = facts.shape?.maxCompletionLength ?? 512;
    train = e * samples * g * (mean + c);
    // the prompts' prefill before generating, and the reference's log-probs of every sequence
    forward = e * samples * g * mean + train;
    generated = e * samples * g * c;
  } else if (method === 'dpo' || method === 'orpo') {
    // two sequences per pair: prompt + chosen, prompt + rejected
    train = e * (plan.tokens ?? 2 * samples * mean);
    forward = method === 'dpo' ? train : 0;
  } else if (method === 'kto') {
    train = e * (plan.tokens ?? samples * mean);
    // the reference on the examples, the policy (no gradient) and the reference on the KL batch
    forward = 3 * train;
  } else {
    train = e * (plan.tokens ?? samples * mean);
  }
  return TrainingEstimate.compute({
    modelParameters: n,
    trainTokens: train,
    forwardTokens: forward,
    generatedTokens: generated,
    method: facts.loadIn4bit ? TrainingMethod.QLORA : TrainingMethod.LORA,
    gradientCheckpointing: true,
    gpuType: plan.gpuType,
    gpus: facts.gpus,
    utilization: plan.utilization,
    generationUtilization: plan.generationUtilization,
    tokensPerSecondPerGpu: plan.tokensPerSecondPerGpu,
    pricePerGpuHour: plan.pricePerGpuHour,
  });
}

/**
 * A job's estimate annotations (GPU-hours, wall hours and, with a price, cost, to two decimals), on
 * its object: they reach both a standalone job and the manifest a pipeline embeds.
 */
export function annotateEstimate(obj: ApiObject, estimate: TrainingEstimate): void {
  obj.metadata.addAnnotation(TrainingEstimate.GPU_HOURS_ANNOTATION, estimate.gpuHours.toFixed(2));
  obj.metadata.addAnnotation(TrainingEstimate.WALL_HOURS_ANNOTATION, estimate.wallHours.toFixed(2));
  if (estimate.cost !== undefined) obj.metadata.addAnnotation(TrainingEstimate.COST_ANNOTATION, estimate.cost.toFixed(2));
}

function checkPlan(plan: StagePlan): void {
  if (plan.gpuType === undefined) v.fail('plan.gpuType', undefined, 'a GpuType (GpuType.H100_SXM, GpuType.custom(...))');
  positive('plan.tokens', plan.tokens);
  v.positiveInt('plan.samples', plan.samples);
  positive('plan.meanTokensPerSample', plan.meanTokensPerSample);
  positive('plan.modelParameters', plan.modelParameters);
  v.numberIn('plan.utilization', plan.utilization, 0, 1, true);
  v.numberIn('plan.generationUtilization', plan.generationUtilization, 0, 1, true);
  positive('plan.tokensPerSecondPerGpu', plan.tokensPerSecondPerGpu);
  if (plan.tokensPerSecondPerGpu !== undefined && plan.utilization !== undefined) {
    v.fail('plan.utilization', plan.utilization, 'unset when \'plan.tokensPerSecondPerGpu\' is given (a measured throughput replaces it)');
  }
  if (plan.pricePerGpuHour !== undefined && !(Number.isFinite(plan.pricePerGpuHour) && plan.pricePerGpuHour >= 0)) {
    v.fail('plan.pricePerGpuHour', plan.pricePerGpuHour, 'a number of at least 0');
  }
}

function positive(prop: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!(Number.isFinite(value) && value > 0)) v.fail(prop, value, 'a number greater than 0');
}

/** Known parameter counts (model cards), by family and size as written in Hugging Face ids. */
const KNOWN_MODELS: { family: RegExp; sizes: { [size: string]: number } }[] = [
  // Qwen2.5 model cards ("Number of Parameters"); the Instruct, Coder and bnb-4bit variants share them
  { family: /qwen2\.5-(?:coder-|math-)?(\d+(?:\.\d+)?)b(?![a-z])/, sizes: { 0.5: 0.49e9, 1.5: 1.54e9, 3: 3.09e9, 7: 7.61e9, 14: 14.7e9, 32: 32.5e9, 72: 72.7e9 } },
  // Llama 3.x (Meta-Llama-3-8B, Llama-3.1-8B, Llama-3.2-1B, Llama-3.3-70B)
  { family: /llama-3(?:\.\d)?-(\d+)b(?![a-z])/, sizes: { 1: 1.24e9, 3: 3.21e9, 8: 8.03e9, 70: 70.6e9 } },
  // EXAONE 3.5 (LGAI-EXAONE): the sizes the release names
  { family: /exaone-3\.5-(\d+(?:\.\d+)?)b(?![a-z])/, sizes: { 2.4: 2.4e9, 7.8: 7.8e9, 32: 32e9 } },
  // Gemma 2 (2b, 9b, 27b)
  { family: /gemma-2-(\d+)b(?![a-z])/, sizes: { 2: 2.61e9, 9: 9.24e9, 27: 27.2e9 } },
];

/**
 * The parameter count of a Hugging Face model id or model directory name: from the table of known
 * models (Qwen2.5, Llama 3.x, EXAONE 3.5, Gemma 2), else the size the name states (`-10.8B-`, or
 * the active parameters of a mixture of experts, `-A3B`), else undefined.
 */
export function knownModelParameters(modelId: string): number | undefined {
  const id = modelId.toLowerCase();
  for (const known of KNOWN_MODELS) {
    const m = known.family.exec(id);
    if (m && known.sizes[m[1]] !== undefined) return known.sizes[m[1]];
  }
  // a mixture of experts computes with its active parameters only
  const active = /(?:^|[-_/.])a(\d+(?:\.\d+)?)b(?![a-z0-9])/.exec(id);
  if (active) return parseFloat(active[1]) * 1e9;
  const stated = /(?:^|[-_/.])(\d+(?:\.\d+)?)b(?![a-z0-9])/.exec(id);
  return stated ? parseFloat(stated[1]) * 1e9 : undefined;
}
