import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { KoreanBenchmark } from './korean-benchmark';
import { PipelineKind } from './pipeline-kind';
import { Budget } from './plan';
import { PipelineStep, RetryOptions, StepOptions } from './step';
import { IModelServer } from '../platform/model-server';
import { ITrainingStorage } from '../platform/storage';
import { SecretKey } from '../secret-key';
import { TrainingEstimate } from '../training/estimate';
import { GpuNodePool } from '../training/gpu-node-pool';
import { Queueing } from '../training/queueing';
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
  /**
   * How long the stage's job may wait in its queue (Kueue or Volcano), per attempt.
   * @default - the pipeline's `maxQueueTime`
   */
  readonly maxQueueTime?: Duration;
  /**
   * The estimate of a job that has no `plan` of its own (a `GpuTrainingJob` running your own
   * command): `TrainingEstimate.compute(...)`. It is annotated on the job like a stage's and counts
   * in the plan and the budget.
   * @default - a stage's own estimate (from its `plan`); none for a GpuTrainingJob
   */
  readonly estimate?: TrainingEstimate;
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
   * GPUs; see `nodePool` and `queueing` for where a GPU step runs.
   * @default 0
   */
  readonly gpus?: number;
  /**
   * Where a GPU step runs.
   * @default - the pipeline's `gpuStepNodePool` (`GpuNodePool.inferenceDefault()`), or with `queueing` the pipeline's `nodePool`
   */
  readonly nodePool?: GpuNodePool;
  /**
   * Admit the step's pod through a Kueue LocalQueue, like the training jobs (`Queueing.kueue(...)`:
   * the label `kueue.x-k8s.io/queue-name` on the pod). Then the step may run on the training pool
   * without Kueue handing its GPUs to a job as well. Needs Kueue's plain Pod integration (`pod` in
   * the Kueue configuration's `integrations.frameworks`, off by default): without it the label is
   * ignored and the pod takes the GPUs outside the queue.
   * @default Queueing.none() - the pod goes straight to the scheduler, on `nodePool`
   */
  readonly queueing?: Queueing;
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
 * How an evaluation runs: the benchmarks, resources, placement, and optionally your own image and
 * command (a safety or domain eval) whose score then gates the deployment.
 */
export interface EvaluationRunOptions {
  /**
   * The image of your own evaluation (a safety or domain eval, for example).
   * @default - the pipeline's image
   */
  readonly image?: string;
  /**
   * Your own evaluation command. It gets the same env as the trainer's evaluate (`MODEL_PATH`,
   * `MODEL_NAME`, `EVAL_TASKS`, `EVAL_OUTPUT_DIR`, `SCORE_FILE`, ...) and must write one number to
   * `$SCORE_FILE`, which becomes output parameter `score` (a deploy step compares it as a number).
   * @default ['python', '-m', 'korean_llm_trainer', 'evaluate']
   */
  readonly command?: string[];
  /**
   * Arguments of the command.
   * @default - none
   */
  readonly args?: string[];
  /**
   * More environment variables.
   * @default - none
   */
  readonly env?: { [name: string]: string };
  /**
   * Environment variables from Secrets (an API key of a judge model, for example).
   * @default - none
   */
  readonly secretEnv?: { [name: string]: SecretKey };
  /**
   * Where the evaluation runs.
   * @default - the pipeline's `gpuStepNodePool` (`GpuNodePool.inferenceDefault()`), or with `queueing` the pipeline's `nodePool`
   */
  readonly nodePool?: GpuNodePool;
  /**
   * Admit the evaluation through a Kueue LocalQueue (see `ContainerStepProps.queueing`).
   * @default Queueing.none()
   */
  readonly queueing?: Queueing;
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
 * The evaluate step: lm-evaluation-harness on Korean benchmarks (or your own evaluation), exposing
 * output parameter `score`.
 */
export interface EvaluationStepProps extends StepOptions, EvaluationRunOptions {
  /** The stage whose merged model is evaluated (a dependency on it is added). */
  readonly model: TrainingStage;
}

/**
 * One more condition of a deployment: a step's numeric output parameter must reach a minimum.
 */
export interface DeploymentGate {
  /** The step (of the same pipeline) whose output is compared; a dependency on it is added. */
  readonly step: PipelineStep;
  /** The output parameter the step declares (`outputFiles` of a container step); it must hold a number. */
  readonly output: string;
  /** The lowest value that deploys: the default of the workflow parameter `parameterName`. */
  readonly minValue: number;
  /**
   * The workflow parameter holding the minimum (`argo submit -p <name>=...`).
   * @default 'min-<output>'
   */
  readonly parameterName?: string;
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
   * The step whose numeric output gates the deployment (a dependency on it is added): an evaluate
   * step, or any step of the pipeline that declares `gateOutput` (your own safety or domain eval).
   * @default - no gate: deploy after the model's stage
   */
  readonly gate?: PipelineStep;
  /**
   * The gate's output parameter compared with `minScore` (it must hold a number).
   * @default 'score'
   */
  readonly gateOutput?: string;
  /**
   * The lowest value of the gate's output that deploys (0..1 for an evaluate step's score); the
   * default of workflow parameter `min-score` (`min-<gateOutput>` for another output).
   * @default 0.5
   */
  readonly minScore?: number;
  /**
   * Other steps declaring `gateOutput` whose value the gate's must beat, to deploy only the best of
   * several candidates (on a tie, the step added first wins). Dependencies on them are added.
   * @default - none
   */
  readonly competitors?: PipelineStep[];
  /**
   * More conditions, all of which must hold as well (a safety eval's output beside the benchmark
   * score, for example). More can be added later with `pipeline.addDeploymentGate(...)`.
   * @default - none
   */
  readonly additionalGates?: DeploymentGate[];
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
   * The training node pool: `KoreanLlmPipeline` gives it to its stages, and GPU container steps that
   * go through a Kueue queue (`queueing`) run on it.
   * @default GpuNodePool.seedDefault()
   */
  readonly nodePool?: GpuNodePool;
  /**
   * Where GPU container steps (the evaluation, your own GPU steps) run unless they go through a
   * queue. Not the training pool: a pod that Kueue does not admit but that takes GPUs of the nodes
   * a ClusterQueue hands out makes Kueue admit jobs that then cannot schedule.
   * @default GpuNodePool.inferenceDefault() - nodes labelled `node-type: gpu-inference`, tolerating `nvidia.com/gpu:NoSchedule`
   */
  readonly gpuStepNodePool?: GpuNodePool;
  /**
   * Retries of each step. They cover a step's whole life (no Argo `maxDuration`, which counts from
   * the first attempt's start): a training stage that fails after days is retried like one that
   * fails at once, and resumes from its newest checkpoint.
   * @default - 2 retries, waiting 2 minutes then 4 (doubling, each wait capped at 1 hour)
   */
  readonly retry?: RetryOptions;
  /**
   * How long a training job queued by Kueue or Volcano may wait for admission, per attempt. A queued
   * job's own deadline (`activeDeadline`) only starts once it is admitted (the operator restarts its
   * clock when Kueue resumes it, also after a preemption), so each training step's deadline is the
   * job's `activeDeadline` + `maxQueueTime` + 10 minutes. A job without a queue counts its pending
   * time against its own deadline: its step's deadline is `activeDeadline` + 10 minutes.
   * @default Duration.days(1)
   */
  readonly maxQueueTime?: Duration;
  /**
   * Slack incoming-webhook URL, from a Secret: the exit handler posts each run's result. A failed
   * notification (webhook down, Secret missing) is retried and shows as a failed `notify` node, but
   * never changes the run's phase.
   * @default - no notification
   */
  readonly slackWebhook?: SecretKey;
  /**
   * Clean up the run's training jobs when the run ends. After a run that succeeded every job of
   * the run is deleted. After any other end (failed, stopped, errored) only the jobs that have not
   * finished are deleted (still queued, or running: a stopped run's, or an attempt whose step
   * deadline passed), so none holds or takes GPUs; finished jobs are kept, their failed pods with
   * them, so `kubectl logs` works until the job's `ttlAfterFinished`. A failed cleanup never
   * changes the run's phase.
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
  /**
   * The most the training steps of a run may use, checked at synthesis against their estimates
   * (each stage's `plan`): over it, synthesis fails naming the step that passes the limit, or with
   * `level: BudgetLevel.WARN` the workflow carries the annotation `korean-llm/budget-warning`.
   * @default - no budget
   */
  readonly budget?: Budget;
}
