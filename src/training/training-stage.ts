import { Duration, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import * as v from '../_validate';
import { annotateEstimate, stageEstimate } from './_stage-estimate';
import { StagePlan, StagePlanShape, TrainingEstimate } from './estimate';
import { GpuJobOptions } from './gpu-job-options';
import { GpuTrainingJob } from './gpu-training-job';
import { LABELS } from '../labels';
import { TrainingVolumes } from '../platform/storage';
import { SecretKey } from '../secret-key';
import { TrainerCommand } from './trainer-contract';

/**
 * The model a stage starts from (`BASE_MODEL_PATH`).
 */
export class BaseModel {
  /**
   * A Hugging Face model id, downloaded by the trainer (`unsloth/Qwen2.5-7B-bnb-4bit`).
   */
  public static huggingFace(modelId: string): BaseModel {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/.test(modelId)) {
      v.fail('baseModel', modelId, 'a Hugging Face model id such as \'unsloth/Qwen2.5-7B-bnb-4bit\'');
    }
    return new BaseModel(() => modelId, BaseModel.slug(modelId.split('/').pop()!));
  }

  /**
   * A model directory on a mounted volume.
   */
  public static fromPath(path: string, modelName?: string): BaseModel {
    v.absolutePath('baseModel', path);
    return new BaseModel(() => path, modelName ?? BaseModel.slug(path.split('/').filter(Boolean).pop() ?? 'model'));
  }

  /**
   * The merged model (`model/`) of an earlier stage of the same run: CPT's output is SFT's base
   * model, SFT's is RLHF's. Inside a pipeline the dependency is added for you.
   */
  public static fromStage(stage: TrainingStage): BaseModel {
    return new BaseModel(() => stage.modelPath, stage.modelName, stage);
  }

  /** A DNS-label form of a model id: `Qwen2.5-7B-bnb-4bit` -> `qwen2-5-7b-bnb-4bit`. */
  private static slug(name: string): string {
    const s = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '');
    return /^[a-z]/.test(s) ? s : `m-${s}`.slice(0, 40);
  }

  private constructor(
    private readonly produce: () => string,
    /** The model name derived from the source (used in paths and labels unless a stage sets one). */
    public readonly defaultModelName: string,
    /** The stage this model comes from, if any. */
    public readonly stage?: TrainingStage,
  ) {}

  /** The value of `BASE_MODEL_PATH` (computed at synthesis). */
  public get path(): string {
    return this.produce();
  }
}

/**
 * Hyper-parameters every training stage takes (they reach the trainer as contract variables).
 */
export interface TrainingHyperParameters {
  /**
   * Peak learning rate (`LEARNING_RATE`), greater than 0.
   * @default - 1e-5 for CPT (the seed's), 2e-4 for SFT, 5e-6 for RLHF
   */
  readonly learningRate?: number;
  /**
   * Epochs (`NUM_EPOCHS`).
   * @default 2 for CPT (the seed's), 3 for SFT, 1 for RLHF
   */
  readonly epochs?: number;
  /**
   * Maximum tokens per sequence (`MAX_SEQ_LENGTH`).
   * @default 4096 (the seed's)
   */
  readonly maxSeqLength?: number;
  /**
   * Sequences per GPU per step (`PER_DEVICE_BATCH_SIZE`).
   * @default 2 (the seed's)
   */
  readonly batchSize?: number;
  /**
   * Gradient accumulation steps (`GRADIENT_ACCUMULATION_STEPS`).
   * @default 32 for CPT (the seed's), 8 otherwise
   */
  readonly gradientAccumulationSteps?: number;
  /**
   * LoRA rank (`LORA_R`).
   * @default 64 (the seed's)
   */
  readonly loraRank?: number;
  /**
   * LoRA alpha (`LORA_ALPHA`).
   * @default 16 (the seed's)
   */
  readonly loraAlpha?: number;
  /**
   * LoRA dropout (`LORA_DROPOUT`), 0 to 1.
   * @default 0.1 (the seed's)
   */
  readonly loraDropout?: number;
  /**
   * Pack short examples into full sequences (`PACKING`; CPT and SFT).
   * @default true
   */
  readonly packing?: boolean;
  /**
   * Load the base model in 4 bits, QLoRA (`LOAD_IN_4BIT`).
   * @default true
   */
  readonly loadIn4bit?: boolean;
  /**
   * Checkpoint every N steps (`SAVE_STEPS`): what a restarted job resumes from.
   * @default 500
   */
  readonly saveSteps?: number;
}

/**
 * Properties every training stage takes.
 */
export interface TrainingStageProps extends GpuJobOptions, TrainingHyperParameters {
  /**
   * The model to start from.
   */
  readonly baseModel: BaseModel;
  /**
   * The run this stage belongs to: part of every output path, so two runs never overwrite each
   * other's checkpoints. Required for a standalone stage; inside a pipeline the run id is the
   * workflow's name and this is ignored.
   * @default - the pipeline's `{{workflow.name}}`; an error for a standalone stage
   */
  readonly runId?: string;
  /**
   * A short DNS-label name of the model, used in output paths and metric labels.
   * @default - derived from the base model (`qwen2-5-7b-bnb-4bit`)
   */
  readonly modelName?: string;
  /**
   * The seed's model size label (`MODEL_SIZE`, e.g. `7B`).
   * @default - not set
   */
  readonly modelSize?: string;
  /**
   * The dataset (`DATA_PATH`): a JSONL file or a directory of JSONL files.
   * @default - a per-stage path on the data volume (see each stage)
   */
  readonly dataPath?: string;
  /**
   * Weights & Biases project (`WANDB_PROJECT`).
   * @default 'korean-llm-<stage>' (the seed's, one project per stage)
   */
  readonly wandbProject?: string;
  /**
   * Weights & Biases API key, by reference. The trainer reports to W&B only when it is present.
   * @default - the seed's Secret `wandb-secret`, key `api-key`, optional (the pod starts without it)
   */
  readonly wandbApiKey?: SecretKey;
  /**
   * Report to Weights & Biases (`WANDB_PROJECT`, `WANDB_API_KEY`); false leaves the `WANDB_*`
   * variables out.
   * @default true
   */
  readonly wandb?: boolean;
  /**
   * MLflow tracking server (`MLFLOW_TRACKING_URI`).
   * @default - no MLflow reporting
   */
  readonly mlflowTrackingUri?: string;
  /**
   * MLflow experiment (`MLFLOW_EXPERIMENT_NAME`).
   * @default - 'korean-llm' when a tracking URI is set
   */
  readonly mlflowExperimentName?: string;
  /**
   * Hugging Face token for gated models, by reference (`HF_TOKEN`).
   * @default - none
   */
  readonly hfToken?: SecretKey;
  /**
   * What the stage will process, for its estimate: GPU-hours, wall hours and cost, emitted as the
   * job's `korean-llm/estimated-*` annotations, shown by `pipeline.plan()` and checked by a
   * pipeline's `budget`. Without an explicit `activeDeadline`, the deadline then follows from the
   * estimate (`TrainingEstimate.DEADLINE_MULTIPLE` x wall hours, at least `DEADLINE_FLOOR_HOURS`).
   * @default - no estimate
   */
  readonly plan?: StagePlan;
}

/**
 * The defaults a stage preset applies (resources, hyper-parameters, data file, deadline).
 */
export interface StageDefaults {
  /** GPUs per node. */
  readonly gpusPerNode: number;
  /** CPUs per node. */
  readonly cpu: number;
  /** Memory per node in GiB. */
  readonly memoryGi: number;
  /** Learning rate. */
  readonly learningRate: number;
  /** Epochs. */
  readonly epochs: number;
  /** Gradient accumulation steps. */
  readonly gradientAccumulationSteps: number;
  /** The dataset file below the data mount. */
  readonly dataFile: string;
  /** The job's deadline in days. */
  readonly activeDeadlineDays: number;
}

/**
 * A training stage: a GpuTrainingJob that runs `torchrun -m korean_llm_trainer <stage>` with the
 * trainer contract's environment. Use `CptStage`, `SftStage` or `RlhfStage`.
 */
export abstract class TrainingStage extends GpuTrainingJob {
  /** The stage's trainer command. */
  public readonly stage: TrainerCommand;
  /** The model name used in paths and labels. */
  public readonly modelName: string;
  /** The model this stage starts from. */
  public readonly baseModel: BaseModel;
  /** The learning rate (a pipeline makes it a workflow parameter with this default). */
  public readonly learningRate: number;
  /** The stage's estimate, when it has a `plan`. */
  public readonly estimate?: TrainingEstimate;
  private readonly runIdProp?: string;

  protected constructor(
    scope: Construct, id: string, stage: TrainerCommand, defaults: StageDefaults, props: TrainingStageProps, shape?: StagePlanShape,
  ) {
    // the run and model names label the job object: checked here, before the job checks its labels
    const modelName = props.modelName ?? props.baseModel.defaultModelName;
    v.dns1123Label('runId', props.runId, 40);
    v.dns1035('modelName', modelName, 40);
    // the estimate comes first: the default deadline follows from it
    const estimate = props.plan ? estimateOf(stage, defaults, props, shape) : undefined;
    const deadline = estimate ? Duration.hours(estimate.deadlineHours) : Duration.days(defaults.activeDeadlineDays);
    super(scope, id, {
      ...props,
      trainerCommand: stage,
      labels: { ...props.labels, ...(props.runId ? { [LABELS.run]: props.runId } : {}), [LABELS.stage]: stage, [LABELS.model]: modelName },
      gpusPerNode: props.gpusPerNode ?? defaults.gpusPerNode,
      cpu: props.cpu ?? Cpu.units(defaults.cpu),
      memory: props.memory ?? Size.gibibytes(defaults.memoryGi),
      activeDeadline: props.activeDeadline ?? deadline,
      storage: props.storage ?? TrainingVolumes.fromClaims(),
      env: undefined,
      secretEnv: undefined,
    });
    this.stage = stage;
    this.baseModel = props.baseModel;
    this.runIdProp = props.runId;
    this.modelName = modelName;
    this.learningRate = props.learningRate ?? defaults.learningRate;
    this.estimate = estimate;
    if (estimate) {
      // on the job object, so they reach both the standalone job and the manifest a pipeline embeds
      annotateEstimate(this.apiObject, estimate);
    }
    v.absolutePath('dataPath', props.dataPath);
    v.nonEmpty('modelSize', props.modelSize);
    v.numberIn('learningRate', props.learningRate, 0, 1, true);
    v.numberIn('epochs', props.epochs, 0, 1000, true);
    v.positiveInt('maxSeqLength', props.maxSeqLength, 1048576);
    if (props.maxSeqLength !== undefined && props.maxSeqLength < 128) v.fail('maxSeqLength', props.maxSeqLength, 'an integer from 128 to 1048576');
    v.positiveInt('batchSize', props.batchSize);
    v.positiveInt('gradientAccumulationSteps', props.gradientAccumulationSteps);
    v.positiveInt('loraRank', props.loraRank, 1024);
    v.positiveInt('loraAlpha', props.loraAlpha, 4096);
    v.numberIn('loraDropout', props.loraDropout, 0, 1);
    v.positiveInt('saveSteps', props.saveSteps);
    v.nonEmpty('wandbProject', props.wandbProject);
    if (props.mlflowTrackingUri !== undefined && !/^(https?|file|databricks):/.test(props.mlflowTrackingUri)) {
      v.fail('mlflowTrackingUri', props.mlflowTrackingUri, 'an http(s)://, file: or databricks: URI');
    }
    if (props.baseModel.stage === this) v.fail('baseModel', 'itself', 'another stage');

    const dataRoot = this.storage!.data.mountPath;
    const dataPath = props.dataPath ?? `${dataRoot}/${defaults.dataFile}`;
    const ge = (n: number | undefined, d: number) => String(n ?? d);
    // The trainer contract (src/trainer-contract.ts), in a stable order. Values known now are kept
    // as strings; only those that depend on the run id are computed at synthesis.
    this._setEnv('STAGE', stage.toUpperCase());
    this._setEnv('RUN_ID', () => this.runId);
    this._setEnv('MODEL_NAME', modelName);
    if (props.modelSize) this._setEnv('MODEL_SIZE', props.modelSize);
    this._setEnv('BASE_MODEL_PATH', () => this.baseModel.path);
    this._setEnv('DATA_PATH', dataPath);
    this._setEnv('OUTPUT_DIR', () => this.outputPath);
    this._setEnv('LEARNING_RATE', String(this.learningRate));
    this._setEnv('NUM_EPOCHS', ge(props.epochs, defaults.epochs));
    this._setEnv('MAX_SEQ_LENGTH', ge(props.maxSeqLength, 4096));
    this._setEnv('PER_DEVICE_BATCH_SIZE', ge(props.batchSize, 2));
    this._setEnv('GRADIENT_ACCUMULATION_STEPS', ge(props.gradientAccumulationSteps, defaults.gradientAccumulationSteps));
    this._setEnv('LORA_R', ge(props.loraRank, 64));
    this._setEnv('LORA_ALPHA', ge(props.loraAlpha, 16));
    this._setEnv('LORA_DROPOUT', ge(props.loraDropout, 0.1));
    if (stage !== TrainerCommand.RLHF) this._setEnv('PACKING', String(props.packing ?? true));
    this._setEnv('LOAD_IN_4BIT', String(props.loadIn4bit ?? true));
    this._setEnv('SAVE_STEPS', ge(props.saveSteps, 500));
    if (props.wandb ?? true) {
      this._setEnv('WANDB_PROJECT', props.wandbProject ?? `korean-llm-${stage}`);
      this.addSecretEnv('WANDB_API_KEY', props.wandbApiKey ?? SecretKey.wandbDefault().asOptional());
    }
    if (props.mlflowTrackingUri) {
      this._setEnv('MLFLOW_TRACKING_URI', props.mlflowTrackingUri);
      this._setEnv('MLFLOW_EXPERIMENT_NAME', props.mlflowExperimentName ?? 'korean-llm');
    }
    if (props.hfToken) this.addSecretEnv('HF_TOKEN', props.hfToken);
    for (const [name, value] of Object.entries(props.env ?? {})) this.addEnv(name, value);
    for (const [name, secret] of Object.entries(props.secretEnv ?? {})) this.addSecretEnv(name, secret);

    this.node.addValidation({
      validate: () => (this.embedded || this.runIdProp
        ? []
        : [`'runId' is required for a standalone ${stage} stage (${this.node.path}): it keeps each run's outputs apart; inside a pipeline the workflow name is used`]),
    });
  }

  /** The run id: the pipeline's `{{workflow.name}}` when embedded, else the `runId` prop. */
  public get runId(): string {
    return this._embeddedRunId() ?? this.runIdProp ?? 'unset-run-id';
  }

  /** The stage's output directory: `/output/runs/<run-id>/<model>/<stage>`. */
  public get outputPath(): string {
    return `${this.storage!.output.mountPath}/runs/${this.runId}/${this.modelName}/${this.stage}`;
  }

  /** The merged model the next stage loads: `<outputPath>/model`. */
  public get modelPath(): string {
    return `${this.outputPath}/model`;
  }

  /** @internal */
  protected _ownLabels(): { [key: string]: string } {
    return {
      ...super._ownLabels(),
      [LABELS.model]: this.modelName,
      ...(this._embeddedRunId() === undefined && this.runIdProp ? { [LABELS.run]: this.runIdProp } : {}),
    };
  }
}

/** The estimate of a stage with a plan, from its props (before the job exists). */
function estimateOf(stage: TrainerCommand, defaults: StageDefaults, props: TrainingStageProps, shape?: StagePlanShape): TrainingEstimate {
  // the props the estimate reads are checked first (the job checks them again, with the same messages)
  v.numberIn('epochs', props.epochs, 0, 1000, true);
  v.positiveInt('gpusPerNode', props.gpusPerNode, 16);
  v.positiveInt('nodes', props.nodes, 512);
  let base = props.baseModel;
  while (base.stage) base = base.stage.baseModel;
  return stageEstimate(props.plan!, {
    command: stage,
    baseModel: base.path,
    epochs: props.epochs ?? defaults.epochs,
    loadIn4bit: props.loadIn4bit ?? true,
    gpus: (props.gpusPerNode ?? defaults.gpusPerNode) * (props.elastic?.maxNodes ?? props.nodes ?? 1),
    shape,
  });
}
