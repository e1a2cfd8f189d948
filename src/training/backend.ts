import { IConstruct } from 'constructs';
import { PYTORCH_JOB } from './_pytorch-job';
import { trainJobBackend } from './_train-job';
import { JobBackend } from './_workload';

/**
 * A Kubeflow Trainer v2 release whose API the TrainJob backend targets. The `trainer.kubeflow.org/v1alpha1`
 * API changes at minor releases (`podSpecOverrides` became `runtimePatches`, `mlPolicy.torch.numProcPerNode`
 * moved to the TrainJob), so the release is a choice the user states.
 */
export class TrainerVersion {
  /** Kubeflow Trainer v2.3 (Kubernetes 1.31+, JobSet). */
  public static readonly V2_3 = new TrainerVersion('2.3');

  private constructor(
    /** The release, `major.minor`. */
    public readonly version: string,
  ) {}
}

/**
 * Options of the Kubeflow Trainer v2 backend.
 */
export interface TrainJobBackendOptions {
  /**
   * The Trainer release the emitted TrainJob and TrainingRuntime are written for.
   * @default TrainerVersion.V2_3
   */
  readonly version?: TrainerVersion;
}

/**
 * The Kubernetes API a training job is emitted as.
 *
 * A stage describes what it needs (image, command, GPUs, nodes, env, volumes, placement); the
 * backend owns how that becomes a job object, how a pipeline waits for it, what RBAC the pipeline
 * needs for it, how long its name may be and how gang scheduling is expressed.
 */
export class TrainingBackend {
  /**
   * The context key that sets the backend of every job that has no `backend` prop: `pytorchjob`
   * (the default) or `trainjob` (Trainer v2.3), e.g. `cdk8s synth -c cdk8s-korean-llm:trainingBackend=trainjob`
   * or `app.node.setContext(...)` before the charts are built.
   */
  public static readonly CONTEXT_KEY = 'cdk8s-korean-llm:trainingBackend';

  /**
   * Kubeflow Training Operator v1 `PyTorchJob` (kubeflow.org/v1, operator v1.7-v1.9): one Master
   * pod plus `nodes - 1` Workers, torchrun reading the operator's `PET_*` variables.
   */
  public static pytorchJob(): TrainingBackend {
    return new TrainingBackend(PYTORCH_JOB);
  }

  /**
   * Kubeflow Trainer v2 `TrainJob` (trainer.kubeflow.org/v1alpha1) plus, per job, a namespaced
   * `TrainingRuntime` carrying what a TrainJob cannot (volumes, `/dev/shm`, security contexts,
   * placement, the metrics port, JobSet failure policy and TTL, the Volcano pod-group policy). The
   * Torch plugin injects `PET_*` into the container named `node`, so the same torchrun launch runs.
   * Needs Kubernetes 1.31+, JobSet and the Trainer release given (v2.3 by default).
   */
  public static trainJob(options: TrainJobBackendOptions = {}): TrainingBackend {
    return new TrainingBackend(trainJobBackend((options.version ?? TrainerVersion.V2_3).version));
  }

  /**
   * The backend of a job without a `backend` prop: the `CONTEXT_KEY` context value, else PyTorchJob.
   * @internal
   */
  public static _fromContext(scope: IConstruct): TrainingBackend {
    const value = scope.node.tryGetContext(TrainingBackend.CONTEXT_KEY);
    if (value === undefined || value === 'pytorchjob') return TrainingBackend.pytorchJob();
    if (value === 'trainjob') return TrainingBackend.trainJob();
    throw new Error(`context '${TrainingBackend.CONTEXT_KEY}' must be 'pytorchjob' or 'trainjob', got ${JSON.stringify(value)}`);
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
