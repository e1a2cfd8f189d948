import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { ChampionOptions, JudgeOptions, RetentionOptions } from './evaluation-gate';
import { EvaluationRunOptions, PipelineProps } from './pipeline-options';
import { ExperimentTracking } from '../platform/experiment-tracking';
import { IModelServer } from '../platform/model-server';
import { SecretKey } from '../secret-key';
import { TrainingBackend } from '../training/backend';
import { StagePlan } from '../training/estimate';
import { Queueing } from '../training/queueing';
import { PreferenceMethod, RewardFunction } from '../training/rlhf-stage';
import { TrainingHyperParameters } from '../training/training-stage';

/**
 * Shape and hyper-parameters of one training stage of the pipeline.
 */
export interface StageOptions extends TrainingHyperParameters {
  /**
   * Run this stage (a disabled stage is skipped: the next one starts from the previous model).
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * GPUs per node.
   * @default - the stage's default (CPT 4, SFT 2, RLHF 2: the seed's)
   */
  readonly gpusPerNode?: number;
  /**
   * Nodes.
   * @default 1
   */
  readonly nodes?: number;
  /**
   * CPU per node.
   * @default - the stage's default (CPT 32, SFT 16, RLHF 16)
   */
  readonly cpu?: kplus.Cpu;
  /**
   * Memory per node.
   * @default - the stage's default (CPT 200Gi, SFT 100Gi, RLHF 100Gi)
   */
  readonly memory?: Size;
  /**
   * The stage's dataset on the data volume.
   * @default - CPT: the preprocess step's output (or `/data/korean_corpus.jsonl` without it); SFT `/data/sft.jsonl`; RLHF `/data/preference.jsonl`
   */
  readonly dataPath?: string;
  /**
   * The longest one job may run.
   * @default - with a `plan`, twice the estimated wall hours (at least 2 hours); else CPT 7 days, SFT and RLHF 2 days
   */
  readonly activeDeadline?: Duration;
  /**
   * What the stage will process, for its estimate (see `TrainingStageProps.plan`) and the pipeline's `budget`.
   * @default - no estimate
   */
  readonly plan?: StagePlan;
}

/**
 * Options of the CPT stage.
 */
export interface CptOptions extends StageOptions {
  /**
   * Learning rate of `embed_tokens` / `lm_head`.
   * @default - learningRate / 10
   */
  readonly embeddingLearningRate?: number;
}

/**
 * Options of the RLHF stage.
 */
export interface RlhfOptions extends StageOptions {
  /**
   * The preference method.
   * @default PreferenceMethod.DPO
   */
  readonly method?: PreferenceMethod;
  /**
   * The method's beta.
   * @default 0.1
   */
  readonly beta?: number;
  /**
   * GRPO reward functions.
   * @default - korean_ratio and format
   */
  readonly rewardFunctions?: RewardFunction[];
}

/**
 * One model trained by the pipeline (several models fan out into parallel branches).
 */
export interface ModelVariant {
  /** A short name (DNS label) used in step names, paths and labels, e.g. `qwen-7b`. */
  readonly name: string;
  /** The Hugging Face id of the base model. */
  readonly baseModel: string;
  /**
   * The seed's size label (`7B`).
   * @default - none
   */
  readonly modelSize?: string;
  /**
   * CPT options for this model (over the pipeline's).
   * @default - the pipeline's
   */
  readonly cpt?: CptOptions;
  /**
   * SFT options for this model.
   * @default - the pipeline's
   */
  readonly sft?: StageOptions;
  /**
   * RLHF options for this model.
   * @default - the pipeline's
   */
  readonly rlhf?: RlhfOptions;
}

/**
 * Options of the preprocessing step.
 */
export interface PreprocessOptions {
  /**
   * Run preprocessing before CPT.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * The raw corpus (JSONL files) on the data volume: the default of workflow parameter `data-path`.
   * @default '/data/raw'
   */
  readonly inputPath?: string;
  /**
   * CPU (the seed's 8).
   * @default Cpu.units(8)
   */
  readonly cpu?: kplus.Cpu;
  /**
   * Memory (the seed's 32Gi).
   * @default Size.gibibytes(32)
   */
  readonly memory?: Size;
  /**
   * Drop documents whose share of Hangul is below this (0..1).
   * @default 0.3
   */
  readonly minHangulRatio?: number;
  /**
   * Near-duplicate threshold (0..1, MinHash Jaccard estimate).
   * @default 0.8
   */
  readonly dedupThreshold?: number;
}

/**
 * Options of the evaluation step and the quality gate.
 */
export interface EvaluationOptions extends EvaluationRunOptions {
  /**
   * English retention against the base model (no forgetting): deploy only when the candidate keeps
   * at least `minRetention` of the base model's English score. Only with `server`.
   * @default - no retention check
   */
  readonly retention?: RetentionOptions;
  /**
   * Champion vs challenger: deploy only when the candidate scores at least the deployed model's
   * mean minus a tolerance. Only with `server`.
   * @default - no champion check
   */
  readonly champion?: ChampionOptions;
  /**
   * A judged, generative Korean task (LogicKor / KoMT-Bench style) scored in the evaluate step.
   * @default - none
   */
  readonly judge?: JudgeOptions;
  /**
   * The lowest score (0..1) that deploys (workflow parameter `min-score`). Only with `server`:
   * without a deploy step there is nothing to gate, and the value is rejected rather than ignored.
   * @default 0.5
   */
  readonly minScore?: number;
}

/**
 * Properties of the Korean LLM pipeline.
 */
export interface KoreanLlmPipelineProps extends PipelineProps {
  /**
   * The Hugging Face id of the base model (a single-model pipeline; workflow parameter `base-model`).
   * @default - required unless `models` is given
   */
  readonly baseModel?: string;
  /**
   * The seed's size label of the base model.
   * @default - none
   */
  readonly modelSize?: string;
  /**
   * Models trained in parallel, each through CPT -> SFT -> RLHF -> evaluate (the seed's 9.1).
   * @default - one model, `baseModel`
   */
  readonly models?: ModelVariant[];
  /**
   * CPT options for every model.
   * @default - the seed's: 4 GPUs, 32 CPU, 200Gi
   */
  readonly cpt?: CptOptions;
  /**
   * SFT options for every model.
   * @default - the seed's: 2 GPUs, 16 CPU, 100Gi
   */
  readonly sft?: StageOptions;
  /**
   * RLHF options for every model.
   * @default - the seed's: 2 GPUs, 16 CPU, 100Gi, DPO
   */
  readonly rlhf?: RlhfOptions;
  /**
   * Preprocessing.
   * @default - enabled
   */
  readonly preprocess?: PreprocessOptions;
  /**
   * Evaluation and the deployment gate.
   * @default - kobest, kmmlu, haerae; min score 0.5
   */
  readonly evaluation?: EvaluationOptions;
  /**
   * The inference server the deploy step rolls (single-model pipelines only).
   * @default - no deploy step
   */
  readonly server?: IModelServer;
  /**
   * How training jobs wait for GPUs.
   * @default Queueing.none()
   */
  readonly queueing?: Queueing;
  /**
   * The job API of the training stages: `TrainingBackend.trainJob()` for Kubeflow Trainer v2.
   * @default - the context value `TrainingBackend.CONTEXT_KEY` if set, else TrainingBackend.pytorchJob()
   */
  readonly backend?: TrainingBackend;
  /**
   * Hugging Face token for gated models.
   * @default - none
   */
  readonly hfToken?: SecretKey;
  /**
   * Experiment tracking configured once and applied to every stage (the seed's 9.2); each stage
   * keeps its own W&B project (`korean-llm-<stage>`) unless one project is given.
   * @default - each stage's default: W&B from the optional Secret `wandb-secret` / `api-key`
   */
  readonly tracking?: ExperimentTracking;
}
