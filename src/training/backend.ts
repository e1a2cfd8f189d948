import { PYTORCH_JOB } from './_pytorch-job';
import { JobBackend } from './_workload';

/**
 * The Kubernetes API a training job is emitted as.
 *
 * A stage describes what it needs (image, command, GPUs, nodes, env, volumes, placement); the
 * backend owns how that becomes a job object, how a pipeline waits for it, what RBAC the pipeline
 * needs for it, how long its name may be and how gang scheduling is expressed.
 */
export class TrainingBackend {
  /**
   * Kubeflow Training Operator v1 `PyTorchJob` (kubeflow.org/v1, operator v1.7-v1.9): one Master
   * pod plus `nodes - 1` Workers, torchrun reading the operator's `PET_*` variables.
   */
  public static pytorchJob(): TrainingBackend {
    return new TrainingBackend(PYTORCH_JOB);
  }

  private constructor(private readonly impl: JobBackend) {}

  /** `apiVersion` of the emitted job. */
  public get apiVersion(): string {
    return this.impl.apiVersion;
  }

  /** `kind` of the emitted job. */
  public get kind(): string {
    return this.impl.kind;
  }

  /** API group of the job (for RBAC). */
  public get apiGroup(): string {
    return this.impl.apiGroup;
  }

  /** Plural resource name of the job (for RBAC and `kubectl`). */
  public get resourcePlural(): string {
    return this.impl.resourcePlural;
  }

  /** @internal */
  public get _impl(): JobBackend {
    return this.impl;
  }
}
