import { Duration } from 'cdk8s';
import type { Pipeline } from './pipeline';
import * as v from '../_validate';
import type { GpuTrainingJob } from '../training/gpu-training-job';

/**
 * Retries of a pipeline step. Each retry is a new attempt (for a training step, a new job that
 * resumes from the newest checkpoint in the run's output directory), after a wait of
 * `backoff * factor^n` capped at `maxBackoff`. Retries cover a step's whole life: no Argo
 * `backoff.maxDuration` is emitted (Argo counts it from the first attempt's start, so it would end
 * the retries of a long training stage); `limit` and the step's deadline bound it instead.
 */
export interface RetryOptions {
  /**
   * Retries after the first attempt.
   * @default 2
   */
  readonly limit?: number;
  /**
   * Wait before the first retry.
   * @default Duration.minutes(2)
   */
  readonly backoff?: Duration;
  /**
   * Multiplier of the wait for each further retry.
   * @default 2
   */
  readonly factor?: number;
  /**
   * The longest wait before any one retry (Argo `backoff.cap`).
   * @default Duration.hours(1)
   */
  readonly maxBackoff?: Duration;
}

/**
 * Options for every step.
 */
export interface StepOptions {
  /**
   * Steps that must succeed first.
   * @default - none (a training stage whose base model comes from another stage depends on it)
   */
  readonly dependsOn?: PipelineStep[];
  /**
   * Retries of this step.
   * @default - the pipeline's retry options
   */
  readonly retry?: RetryOptions;
}

/**
 * A named workflow parameter. Declare one with `pipeline.addParameter(...)`.
 */
export class PipelineParameter {
  /** @internal */
  public static _create(name: string, defaultValue: string, description?: string): PipelineParameter {
    return new PipelineParameter(name, defaultValue, description);
  }

  private constructor(
    /** The parameter's name. */
    public readonly name: string,
    /** Its default value. */
    public readonly defaultValue: string,
    /** What it means. */
    public readonly description?: string,
  ) {}

  /** The placeholder Argo substitutes: `{{workflow.parameters.<name>}}`. */
  public get ref(): string {
    return `{{workflow.parameters.${this.name}}}`;
  }
}

/** @internal How a step renders: its template, and what its DAG task adds. */
export interface _StepRender {
  readonly template: any;
  readonly when?: string;
}

/** @internal What a step is, for checks that depend on it. */
export enum _StepRole {
  TRAINING = 'training',
  CONTAINER = 'container',
  EVALUATION = 'evaluation',
  DEPLOYMENT = 'deployment',
}

/**
 * One task of a pipeline's DAG. Create steps with the pipeline's `add*` methods.
 */
export class PipelineStep {
  /** @internal */
  public static _create(
    pipeline: Pipeline, name: string, role: _StepRole, render: () => _StepRender,
    extra: { job?: GpuTrainingJob; gate?: PipelineStep } = {},
  ): PipelineStep {
    return new PipelineStep(pipeline, name, role, render, extra.job, extra.gate);
  }

  /** The task's name in the DAG (also its template's name). */
  public readonly name: string;
  /** The pipeline the step belongs to. */
  public readonly pipeline: Pipeline;
  /** The training job, for a training step. */
  public readonly job?: GpuTrainingJob;
  /** @internal */
  public readonly _role: _StepRole;
  /** @internal the step whose output gates this one (a deploy step's evaluation) */
  public readonly _gate?: PipelineStep;
  private readonly deps: PipelineStep[] = [];
  private readonly outputs = new Set<string>();
  private readonly render: () => _StepRender;

  private constructor(pipeline: Pipeline, name: string, role: _StepRole, render: () => _StepRender, job?: GpuTrainingJob, gate?: PipelineStep) {
    this.pipeline = pipeline;
    this.name = name;
    this._role = role;
    this.job = job;
    this._gate = gate;
    this.render = render;
  }

  /** Makes this step wait for others (all must succeed). */
  public addDependency(...steps: PipelineStep[]): void {
    for (const s of steps) {
      if (s.pipeline !== this.pipeline) {
        throw new Error(`'dependsOn' of step '${this.name}' must be steps of the same pipeline (${this.pipeline.node.path}), got step '${s.name}' of ${s.pipeline.node.path}`);
      }
      if (s === this) v.fail('dependsOn', s.name, 'other steps (a step cannot depend on itself)');
      if (!this.deps.includes(s)) this.deps.push(s);
    }
  }

  /** The steps this one waits for (a copy). */
  public get dependencies(): PipelineStep[] {
    return [...this.deps];
  }

  /** The names of the output parameters the step declares (a copy). */
  public get outputParameters(): string[] {
    return [...this.outputs];
  }

  /**
   * A placeholder for one of this step's output parameters: `{{tasks.<step>.outputs.parameters.<name>}}`.
   * The step must declare it (Argo fails a run that refers to an output a template does not have).
   */
  public outputParameter(name: string): string {
    if (!this.outputs.has(name)) {
      const declared = this.outputs.size > 0 ? [...this.outputs].map((o) => `'${o}'`).join(', ') : 'none';
      v.fail(`outputParameter of step '${this.name}'`, name, `an output parameter the step declares (${declared})`);
    }
    return `{{tasks.${this.name}.outputs.parameters.${name}}}`;
  }

  /** @internal the step declares this output parameter */
  public _declareOutput(name: string): void {
    this.outputs.add(name);
  }

  /** @internal */
  public _render(): _StepRender {
    return this.render();
  }
}
