import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { KoreanBenchmark } from './korean-benchmark';
import { PipelineKind } from './pipeline-kind';
import { PipelineStep, RetryOptions, StepOptions } from './step';
import { IModelServer } from '../platform/model-server';
import { ITrainingStorage } from '../platform/storage';
import { SecretKey } from '../secret-key';
import { GpuNodePool } from '../training/gpu-node-pool';
import { TrainingStage } from '../training/training-stage';

/**
 * Options of a training step.
 */
export interface StageStepOptions extends StepOptions {
  /**
   * Expose the stage's learning rate (and, for a Hugging Face base model, the base model) as
   * workflow parameters named `<step>-learning-rate` / `<step>-base-model`, with the stage's values
   * as defaults, so `argo submit -p <step>-learning-rate=2e-5` changes them per run.
   * @default true
   */
  readonly parameterize?: boolean;
  /**
   * The step's name in the DAG (a DNS-1123 label).
   * @default - the stage's construct id
   */
  readonly name?: string;
  /**
   * The name of the workflow parameter carrying a Hugging Face base model.
   * @default '<step>-base-model'
   */
  readonly baseModelParameter?: string;
  /**
   * The name of the workflow parameter carrying the learning rate.
   * @default '<step>-learning-rate'
   */
  readonly learningRateParameter?: string;
}

/**
 * A container step: preprocess, or anything of your own.
 */
export interface ContainerStepProps extends StepOptions {
  /**
   * The image.
   * @default - the pipeline's image
   */
  readonly image?: string;
  /** The command. */
  readonly command: string[];
  /**
   * Arguments.
   * @default - none
   */
  readonly args?: string[];
  /**
   * Environment variables (values may use `{{workflow.parameters.x}}`).
   * @default - none
   */
  readonly env?: { [name: string]: string };
  /**
   * Environment variables from Secrets.
   * @default - none
   */
  readonly secretEnv?: { [name: string]: SecretKey };
  /**
   * CPU (requests = limits).
   * @default Cpu.units(2)
   */
  readonly cpu?: kplus.Cpu;
  /**
   * Memory (requests = limits).
   * @default Size.gibibytes(4)
   */
  readonly memory?: Size;
  /**
   * GPUs; a GPU step runs on the pipeline's node pool.
   * @default 0
   */
  readonly gpus?: number;
  /**
   * Mount the data volume read-write (preprocess writes its output to the output volume instead).
   * @default false
   */
  readonly writableData?: boolean;
  /**
   * The longest one attempt may run.
   * @default Duration.hours(6)
   */
  readonly activeDeadline?: Duration;
  /**
   * Output parameters read from files the container writes (name -> path).
   * @default - none
   */
  readonly outputFiles?: { [name: string]: string };
}

/**
 * The evaluate step: lm-evaluation-harness on Korean benchmarks, exposing output parameter `score`.
 */
export interface EvaluationStepProps extends StepOptions {
  /** The stage whose merged model is evaluated (a dependency on it is added). */
  readonly model: TrainingStage;
  /**
   * The benchmarks.
   * @default KoreanBenchmark.defaults() - kobest, kmmlu, haerae
   */
  readonly benchmarks?: KoreanBenchmark[];
  /**
   * GPUs for the evaluation (the seed's 1).
   * @default 1
   */
  readonly gpus?: number;
  /**
   * CPU.
   * @default Cpu.units(8)
   */
  readonly cpu?: kplus.Cpu;
  /**
   * Memory (the seed's 50Gi).
   * @default Size.gibibytes(50)
   */
  readonly memory?: Size;
  /**
   * Evaluate only this many examples per task (a smoke run).
   * @default - every example
   */
  readonly limit?: number;
  /**
   * The longest one attempt may run.
   * @default Duration.hours(12)
   */
  readonly activeDeadline?: Duration;
}

/**
 * The deploy step: rolls the inference server to the evaluated model when its score is high enough.
 */
export interface DeploymentStepProps extends StepOptions {
  /** The stage whose merged model is served. */
  readonly model: TrainingStage;
  /** The server to roll. */
  readonly server: IModelServer;
  /**
   * The evaluate step whose score gates the deployment (a dependency on it is added).
   * @default - no gate: deploy after the model's stage
   */
  readonly gate?: PipelineStep;
  /**
   * The lowest score (0..1) that deploys; the default of workflow parameter `min-score`.
   * @default 0.5
   */
  readonly minScore?: number;
  /**
   * Other evaluate steps the gate's score must beat, to deploy only the best of several candidates
   * (on a tie, the evaluate step added first wins). Dependencies on them are added.
   * @default - none
   */
  readonly competitors?: PipelineStep[];
}

/**
 * Properties of a pipeline.
 */
export interface PipelineProps {
  /**
   * The trainer image for container steps, pinned to a tag or digest.
   */
  readonly image: string;
  /**
   * The data and output volumes (existing claims; never `volumeClaimTemplates`).
   * @default TrainingVolumes.fromClaims() - the seed's `llm-training-data-pvc` and `model-output-pvc`
   */
  readonly storage?: ITrainingStorage;
  /**
   * Emit a Workflow, a WorkflowTemplate or a CronWorkflow.
   * @default PipelineKind.workflow()
   */
  readonly kind?: PipelineKind;
  /**
   * The workflow's name prefix (generateName) or the template's name: a DNS-1035 label.
   * @default - derived from the construct path, so two pipelines in a namespace never collide
   */
  readonly name?: string;
  /**
   * Node pool of GPU container steps (evaluation).
   * @default GpuNodePool.seedDefault()
   */
  readonly nodePool?: GpuNodePool;
  /**
   * Retries of each step.
   * @default - 2 retries, 2 minutes backoff doubling up to 1 hour
   */
  readonly retry?: RetryOptions;
  /**
   * Slack incoming-webhook URL, from a Secret: the exit handler posts each run's result.
   * @default - no notification
   */
  readonly slackWebhook?: SecretKey;
  /**
   * Delete the run's PyTorchJobs when the run does not succeed (stopped, failed, timed out), so no
   * orphaned job keeps holding GPUs.
   * @default true
   */
  readonly cleanupOnExit?: boolean;
  /**
   * Keep finished runs this long after success.
   * @default Duration.days(1)
   */
  readonly ttlAfterSuccess?: Duration;
  /**
   * Keep finished runs this long after failure (for their logs).
   * @default Duration.days(7)
   */
  readonly ttlAfterFailure?: Duration;
  /**
   * Label the training pods with `workflows.argoproj.io/workflow` so `argo logs <run>` shows
   * them too (the Argo 3.7 controller then logs that it cannot map those pods to nodes: harmless).
   * With false, use `kubectl logs -l korean-llm/run=<run>`.
   * @default true
   */
  readonly argoLogs?: boolean;
  /**
   * Steps running at once.
   * @default - unlimited
   */
  readonly parallelism?: number;
  /**
   * UID and GID of every container.
   * @default 1000
   */
  readonly runAsUser?: number;
  /**
   * Extra labels on every pod of the workflow (values may use `{{workflow.parameters.x}}`).
   * @default - none
   */
  readonly podLabels?: { [key: string]: string };
}
