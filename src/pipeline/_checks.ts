// Checks of a pipeline's steps that need no more than their arguments.

import { PipelineStep, RetryOptions, _StepRole } from './step';
import * as v from '../_validate';
import { ITrainingStorage } from '../platform/storage';

/** Longest Kubernetes name a controller can derive objects from (a DNS-1123 label). */
const MAX_DERIVED_NAME = 63;
/** Names the pipeline's own templates use. */
const RESERVED_STEP_NAMES = ['main', 'exit-handler', 'cleanup', 'notify'];

/** A step name is a short DNS label, unique in the pipeline, and not one of the pipeline's own templates. */
export function checkStepName(name: string, steps: PipelineStep[]): void {
  v.dns1123Label('step name', name, 32);
  if (steps.some((s) => s.name === name) || RESERVED_STEP_NAMES.includes(name)) {
    v.fail('step name', name, `unique within the pipeline (and not ${RESERVED_STEP_NAMES.slice(0, -1).join(', ')} or ${RESERVED_STEP_NAMES[RESERVED_STEP_NAMES.length - 1]})`);
  }
}

/**
 * Every name the job's controller derives from a step's job (`<run>-<step>-xxxxx<suffix>`) must be a
 * DNS label.
 * @param maxRunName the longest run name the pipeline's kind gives (`<workflow>-xxxxx`, cron suffixes)
 */
export function checkDerivedNames(workflowName: string, maxRunName: number, step: PipelineStep, manifest: any): void {
  const suffix = step.job!.backend._impl.longestDerivedSuffix(manifest.spec);
  const longest = maxRunName + step.name.length + 2 + 5 + suffix.length;
  if (longest > MAX_DERIVED_NAME) {
    v.fail('name', workflowName, `short enough that '<run>-${step.name}-xxxxx${suffix.replace(/[0-9]+$/, 'N')}' fits ${MAX_DERIVED_NAME} characters (${longest} now): shorten the pipeline name or the step name`);
  }
}

/** Stages and servers exchange models through the pipeline's output claim, at the same path. */
export function requireSameStorage(pipeline: ITrainingStorage, storage: ITrainingStorage, prop: string): void {
  if (storage.output.claimName !== pipeline.output.claimName || storage.output.mountPath !== pipeline.output.mountPath) {
    v.fail(prop, storage.output.claimName, `the pipeline's output claim '${pipeline.output.claimName}' at ${pipeline.output.mountPath}: stages exchange models through it`);
  }
}

/** A gate's minimum: 0..1 for an evaluate step's score, any finite number for another output. */
export function checkMinimum(prop: string, value: number | undefined, gate: PipelineStep | undefined, output: string): void {
  if (gate && gate._role === _StepRole.EVALUATION && output === 'score') v.numberIn(prop, value, 0, 1);
  else if (value !== undefined && !Number.isFinite(value)) v.fail(prop, value, 'a finite number');
}

export function validateRetry(prop: string, r: RetryOptions | undefined): void {
  if (!r) return;
  v.nonNegativeInt(`${prop}.limit`, r.limit);
  v.positiveDuration(`${prop}.backoff`, r.backoff);
  v.positiveDuration(`${prop}.maxBackoff`, r.maxBackoff);
  if (r.factor !== undefined && (!Number.isInteger(r.factor) || r.factor < 1)) v.fail(`${prop}.factor`, r.factor, 'a positive integer');
}
