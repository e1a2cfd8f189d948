/**
 * The one list of environment variables shared by the constructs and the trainer image.
 *
 * The constructs set these variables on the containers they emit; the Python package
 * `korean_llm_trainer` parses them with a parser driven by `contract.json`, which the projen task
 * `contract` writes from this module (`npx projen contract`). A jest test fails when the committed
 * JSON is stale, and a Python test parses every stage's synthesized env, so the two sides cannot drift.
 */

/**
 * How the trainer parses a contract variable's string value.
 */
export enum ContractType {
  /** Any non-empty string. */
  STRING = 'string',
  /** An absolute filesystem path inside the container. */
  PATH = 'path',
  /** A base-10 integer, optionally bounded by `min` / `max`. */
  INT = 'int',
  /** A decimal or scientific-notation number (`2e-5`), optionally bounded. */
  FLOAT = 'float',
  /** `true` or `false`. */
  BOOL = 'bool',
  /** One of `choices`. */
  ENUM = 'enum',
  /** A comma-separated list of non-empty strings. */
  LIST = 'list',
  /** A secret, always delivered by `secretKeyRef`, never as a literal value. */
  SECRET = 'secret',
}

/**
 * A trainer command: the value of `STAGE` and the sub-command of `python -m korean_llm_trainer`.
 */
export enum TrainerCommand {
  /** Clean, filter and deduplicate the raw Korean corpus. */
  PREPROCESS = 'preprocess',
  /** Continued pre-training (run with `torchrun`). */
  CPT = 'cpt',
  /** Supervised fine-tuning (run with `torchrun`). */
  SFT = 'sft',
  /** Preference tuning: DPO, ORPO, KTO or GRPO (run with `torchrun`). */
  RLHF = 'rlhf',
  /** lm-evaluation-harness on Korean benchmarks; writes the score file. */
  EVALUATE = 'evaluate',
  /** Merge a LoRA adapter into a servable model directory. */
  EXPORT = 'export',
}

/**
 * One environment variable of the trainer contract.
 */
export interface ContractVariable {
  /** The variable's name. */
  readonly name: string;
  /** How the trainer parses it. */
  readonly type: ContractType;
  /** What it means. */
  readonly description: string;
  /** The commands that read it. */
  readonly commands: TrainerCommand[];
  /**
   * Whether the commands that read it fail without it.
   */
  readonly required: boolean;
  /**
   * The value the trainer assumes when the variable is absent.
   * @default - none (required, or the feature is off)
   */
  readonly default?: string;
  /**
   * Allowed values, for `ENUM`.
   * @default - any value of the type
   */
  readonly choices?: string[];
  /**
   * The smallest allowed value, for `INT` and `FLOAT`.
   * @default - unbounded
   */
  readonly min?: number;
  /**
   * The largest allowed value, for `INT` and `FLOAT`.
   * @default - unbounded
   */
  readonly max?: number;
  /**
   * Whether `min` itself is excluded (a learning rate must be > 0, not >= 0).
   * @default false
   */
  readonly exclusiveMin?: boolean;
}

const C = TrainerCommand;
const TRAIN = [C.CPT, C.SFT, C.RLHF];
const ALL = [C.PREPROCESS, C.CPT, C.SFT, C.RLHF, C.EVALUATE, C.EXPORT];

/** The default port of the trainer's Prometheus endpoint. */
const DEFAULT_METRICS_PORT = 9108;

/** The RLHF / preference methods the trainer implements (values of `RLHF_METHOD`). */
const RLHF_METHODS = ['dpo', 'orpo', 'kto', 'grpo'];

/** The GRPO reward functions built into the trainer (values of `GRPO_REWARD_FUNCS`). */
const GRPO_REWARD_FUNCTIONS = ['korean_ratio', 'length', 'format', 'no_repetition'];

/** Every variable of the trainer contract, in a stable order. */
const VARIABLES: ContractVariable[] = [
  // ---- identity of the run --------------------------------------------------------------------
  { name: 'STAGE', type: ContractType.ENUM, commands: ALL, required: true, choices: ['PREPROCESS', 'CPT', 'SFT', 'RLHF', 'EVALUATE', 'EXPORT'], description: 'The stage this container runs, in the seed\'s upper-case spelling; must match the command' },
  { name: 'RUN_ID', type: ContractType.STRING, commands: ALL, required: true, description: 'The run this work belongs to (`{{workflow.name}}` in a pipeline); part of every output path so runs never collide' },
  { name: 'MODEL_NAME', type: ContractType.STRING, commands: [C.CPT, C.SFT, C.RLHF, C.EVALUATE, C.EXPORT], required: true, description: 'A short DNS-label name for the model being trained (`qwen2-5-7b`); part of every output path and of the metric labels' },
  { name: 'MODEL_SIZE', type: ContractType.STRING, commands: TRAIN, required: false, description: 'The seed\'s model size label (`7B`, `72B`), recorded in metrics and the completion marker' },
  // ---- paths ----------------------------------------------------------------------------------
  { name: 'BASE_MODEL_PATH', type: ContractType.STRING, commands: TRAIN, required: true, description: 'The model to start from: a Hugging Face id (`unsloth/Qwen2.5-7B-bnb-4bit`) or the previous stage\'s `model/` directory' },
  { name: 'DATA_PATH', type: ContractType.PATH, commands: [C.PREPROCESS, C.CPT, C.SFT, C.RLHF], required: true, description: 'The stage\'s dataset: a JSONL file or a directory of JSONL files on the data volume (for preprocess, the raw input)' },
  { name: 'OUTPUT_DIR', type: ContractType.PATH, commands: [C.PREPROCESS, C.CPT, C.SFT, C.RLHF, C.EXPORT], required: true, description: 'Where the command writes: `/output/runs/<run-id>/<model>/<stage>/` for training (holding `checkpoints/`, `model/` and `_COMPLETE`); the cleaned corpus directory for preprocess; the servable model directory for export' },
  { name: 'MODEL_PATH', type: ContractType.PATH, commands: [C.EVALUATE, C.EXPORT], required: true, description: 'The model to evaluate, or the stage directory whose adapter export merges' },
  { name: 'SCORE_FILE', type: ContractType.PATH, commands: [C.EVALUATE], required: false, default: '/tmp/score', description: 'Where evaluate writes the aggregate score (0..1, mean of each task\'s primary accuracy); the Argo step exposes it as output parameter `score`' },
  { name: 'EVAL_OUTPUT_DIR', type: ContractType.PATH, commands: [C.EVALUATE], required: false, description: 'Where evaluate writes the full results JSON (default: `eval/` beside the evaluated model)' },
  // ---- training hyper-parameters --------------------------------------------------------------
  { name: 'LEARNING_RATE', type: ContractType.FLOAT, commands: TRAIN, required: true, min: 0, exclusiveMin: true, max: 1, description: 'Peak learning rate' },
  { name: 'EMBEDDING_LEARNING_RATE', type: ContractType.FLOAT, commands: [C.CPT], required: false, min: 0, exclusiveMin: true, max: 1, description: 'CPT only: the separate, smaller learning rate for `embed_tokens` and `lm_head` (default: LEARNING_RATE / 10)' },
  { name: 'NUM_EPOCHS', type: ContractType.FLOAT, commands: TRAIN, required: false, default: '1', min: 0, exclusiveMin: true, description: 'Training epochs (fractions allowed)' },
  { name: 'MAX_SEQ_LENGTH', type: ContractType.INT, commands: TRAIN, required: false, default: '4096', min: 128, max: 1048576, description: 'Maximum tokens per training sequence' },
  { name: 'PER_DEVICE_BATCH_SIZE', type: ContractType.INT, commands: TRAIN, required: false, default: '2', min: 1, description: 'Sequences per GPU per step' },
  { name: 'GRADIENT_ACCUMULATION_STEPS', type: ContractType.INT, commands: TRAIN, required: false, default: '32', min: 1, description: 'Micro-batches accumulated per optimizer step' },
  { name: 'WARMUP_RATIO', type: ContractType.FLOAT, commands: TRAIN, required: false, default: '0.03', min: 0, max: 1, description: 'Fraction of the steps spent warming up the learning rate' },
  { name: 'WEIGHT_DECAY', type: ContractType.FLOAT, commands: TRAIN, required: false, default: '0.01', min: 0, max: 1, description: 'AdamW weight decay' },
  { name: 'LORA_R', type: ContractType.INT, commands: TRAIN, required: false, default: '64', min: 1, max: 1024, description: 'LoRA rank' },
  { name: 'LORA_ALPHA', type: ContractType.INT, commands: TRAIN, required: false, default: '16', min: 1, max: 4096, description: 'LoRA alpha' },
  { name: 'LORA_DROPOUT', type: ContractType.FLOAT, commands: TRAIN, required: false, default: '0.1', min: 0, max: 1, description: 'LoRA dropout' },
  { name: 'PACKING', type: ContractType.BOOL, commands: [C.CPT, C.SFT], required: false, default: 'true', description: 'Pack several short examples into one sequence' },
  { name: 'LOAD_IN_4BIT', type: ContractType.BOOL, commands: TRAIN, required: false, default: 'true', description: 'Load the base model quantized to 4 bits (QLoRA)' },
  { name: 'SAVE_STEPS', type: ContractType.INT, commands: TRAIN, required: false, default: '500', min: 1, description: 'Checkpoint every N optimizer steps (what a restarted pod resumes from)' },
  { name: 'SAVE_TOTAL_LIMIT', type: ContractType.INT, commands: TRAIN, required: false, default: '3', min: 1, description: 'Checkpoints kept on the output volume' },
  { name: 'LOGGING_STEPS', type: ContractType.INT, commands: TRAIN, required: false, default: '10', min: 1, description: 'Log (and update the metrics endpoint) every N steps' },
  { name: 'SEED', type: ContractType.INT, commands: TRAIN, required: false, default: '3407', min: 0, description: 'Random seed' },
  { name: 'DDP_TIMEOUT', type: ContractType.INT, commands: TRAIN, required: false, default: '10800', min: 60, description: 'Seconds collectives and the merge barrier wait for every rank (tokenizing a large corpus on rank 0 takes long)' },
  { name: 'DATASET_NUM_PROC', type: ContractType.INT, commands: TRAIN, required: false, default: '0', min: 0, description: 'Processes that tokenize the dataset (0: the CPUs available to each local process, at most 32)' },
  // ---- RLHF / preference tuning ---------------------------------------------------------------
  { name: 'RLHF_METHOD', type: ContractType.ENUM, commands: [C.RLHF], required: false, default: 'dpo', choices: RLHF_METHODS, description: 'The preference method: `dpo` (`{prompt, chosen, rejected}`), `orpo` (same format), `kto` (`{prompt, completion, label}`) or `grpo` (`{prompt}` plus reward functions)' },
  { name: 'RLHF_BETA', type: ContractType.FLOAT, commands: [C.RLHF], required: false, default: '0.1', min: 0, exclusiveMin: true, max: 10, description: 'The method\'s beta (KL / odds-ratio weight)' },
  { name: 'GRPO_REWARD_FUNCS', type: ContractType.LIST, commands: [C.RLHF], required: false, default: 'korean_ratio,format', choices: GRPO_REWARD_FUNCTIONS, description: 'GRPO only: built-in reward functions by name' },
  { name: 'GRPO_NUM_GENERATIONS', type: ContractType.INT, commands: [C.RLHF], required: false, default: '8', min: 2, description: 'GRPO only: completions sampled per prompt' },
  { name: 'MAX_COMPLETION_LENGTH', type: ContractType.INT, commands: [C.RLHF], required: false, default: '512', min: 1, description: 'GRPO only: maximum generated tokens per completion' },
  // ---- preprocess -----------------------------------------------------------------------------
  { name: 'MIN_CHARS', type: ContractType.INT, commands: [C.PREPROCESS], required: false, default: '50', min: 0, description: 'Drop documents shorter than this (after cleaning)' },
  { name: 'MAX_CHARS', type: ContractType.INT, commands: [C.PREPROCESS], required: false, default: '100000', min: 1, description: 'Drop documents longer than this' },
  { name: 'MIN_HANGUL_RATIO', type: ContractType.FLOAT, commands: [C.PREPROCESS], required: false, default: '0.3', min: 0, max: 1, description: 'Drop documents whose share of Hangul among letters is below this' },
  { name: 'DEDUP_THRESHOLD', type: ContractType.FLOAT, commands: [C.PREPROCESS], required: false, default: '0.8', min: 0, exclusiveMin: true, max: 1, description: 'Estimated Jaccard similarity above which two documents are near-duplicates (MinHash + LSH)' },
  { name: 'NUM_WORKERS', type: ContractType.INT, commands: [C.PREPROCESS], required: false, default: '0', min: 0, description: 'Worker processes (0: one per CPU the container may use)' },
  { name: 'SPLIT_SENTENCES', type: ContractType.BOOL, commands: [C.PREPROCESS], required: false, default: 'false', description: 'Split documents into sentences with `kss` when it is installed' },
  { name: 'QUALITY_FILTERS', type: ContractType.BOOL, commands: [C.PREPROCESS], required: false, default: 'true', description: 'Korean web-text quality filters: standalone jamo, repeated characters, repeated word trigrams, repeated lines, boilerplate lines' },
  // ---- evaluate -------------------------------------------------------------------------------
  { name: 'EVAL_TASKS', type: ContractType.LIST, commands: [C.EVALUATE], required: false, default: 'kobest,kmmlu,haerae', description: 'lm-evaluation-harness task names' },
  { name: 'EVAL_BATCH_SIZE', type: ContractType.STRING, commands: [C.EVALUATE], required: false, default: 'auto', description: 'lm-evaluation-harness batch size (`auto` or an integer)' },
  { name: 'EVAL_LIMIT', type: ContractType.FLOAT, commands: [C.EVALUATE], required: false, min: 0, exclusiveMin: true, description: 'Evaluate only this many examples per task (or this fraction when < 1): for smoke runs' },
  // ---- the evaluation gate ----------------------------------------------------------------------
  { name: 'EVAL_SCORES_DIR', type: ContractType.PATH, commands: [C.EVALUATE], required: false, default: '/tmp/scores', description: 'Where evaluate writes one file per task score (`score-<task>`), `retention`, `champion-margin` and `summary`: the Argo output parameters the deploy `when` compares' },
  { name: 'EVAL_MIN_SCORE', type: ContractType.FLOAT, commands: [C.EVALUATE], required: false, min: 0, max: 1, description: 'The aggregate score\'s minimum, for the report (the deploy `when` applies it)' },
  { name: 'EVAL_MIN_SCORES', type: ContractType.LIST, commands: [C.EVALUATE], required: false, description: 'Per-task minimums as `task=minimum` (`kmmlu=0.45,kobest=0.6`), for the report (the deploy `when` applies them)' },
  { name: 'EVAL_RETENTION_TASKS', type: ContractType.LIST, commands: [C.EVALUATE], required: false, description: 'English tasks scored on the candidate and the base model (`mmlu,arc_easy,hellaswag`): retention is the candidate\'s mean over them divided by the base\'s' },
  { name: 'EVAL_BASE_MODEL', type: ContractType.STRING, commands: [C.EVALUATE], required: false, description: 'The base model (Hugging Face id or path) that retention and the base deltas compare with; required with EVAL_RETENTION_TASKS' },
  { name: 'EVAL_MIN_RETENTION', type: ContractType.FLOAT, commands: [C.EVALUATE], required: false, default: '0.97', min: 0, max: 1, description: 'The lowest retention (candidate / base on the English tasks) that passes, for the report (the deploy `when` applies it)' },
  { name: 'EVAL_CACHE_DIR', type: ContractType.PATH, commands: [C.EVALUATE], required: false, description: 'Where the base model\'s scores are cached, one file per model id, evaluation limit and harness version (default: no cache)' },
  { name: 'EVAL_CHAMPION_PATH', type: ContractType.PATH, commands: [C.EVALUATE], required: false, description: 'The currently deployed model, evaluated on the same tasks (champion vs challenger); no model there (a first deployment) passes' },
  { name: 'EVAL_CHAMPION_TOLERANCE', type: ContractType.FLOAT, commands: [C.EVALUATE], required: false, default: '0.01', min: 0, max: 1, description: 'How far below the champion\'s aggregate the candidate may score and still pass' },
  { name: 'JUDGE_PROMPTS_PATH', type: ContractType.PATH, commands: [C.EVALUATE], required: false, description: 'A JSONL prompt set (LogicKor / KoMT-Bench style: `turns`, optional `category`, `references`) the candidate answers and a judge rates; turns the judged task on' },
  { name: 'JUDGE_TASK', type: ContractType.STRING, commands: [C.EVALUATE], required: false, default: 'judged', description: 'The judged task\'s name in the report and its output parameter (`score-<name>`)' },
  { name: 'JUDGE_ENDPOINT', type: ContractType.STRING, commands: [C.EVALUATE], required: false, description: 'The judge\'s OpenAI-compatible base URL (`https://api.example.com/v1`); or JUDGE_MODEL_PATH' },
  { name: 'JUDGE_MODEL', type: ContractType.STRING, commands: [C.EVALUATE], required: false, description: 'The judge\'s model name at JUDGE_ENDPOINT' },
  { name: 'JUDGE_API_KEY', type: ContractType.SECRET, commands: [C.EVALUATE], required: false, description: 'The judge endpoint\'s API key, from a Secret by `secretKeyRef`' },
  { name: 'JUDGE_MODEL_PATH', type: ContractType.PATH, commands: [C.EVALUATE], required: false, description: 'A local judge model served with vLLM in the evaluate step\'s pod (instead of JUDGE_ENDPOINT)' },
  { name: 'CANDIDATE_ENDPOINT', type: ContractType.STRING, commands: [C.EVALUATE], required: false, description: 'An OpenAI-compatible base URL already serving the candidate (a VllmServer); default: vLLM serves MODEL_PATH in the pod' },
  { name: 'CANDIDATE_MODEL', type: ContractType.STRING, commands: [C.EVALUATE], required: false, description: 'The candidate\'s model name at CANDIDATE_ENDPOINT (default: MODEL_PATH)' },
  // ---- observability and tracking -------------------------------------------------------------
  { name: 'METRICS_PORT', type: ContractType.INT, commands: TRAIN, required: false, default: String(DEFAULT_METRICS_PORT), min: 1024, max: 65535, description: 'Port of the Prometheus text endpoint served by local rank 0 of each node' },
  { name: 'WANDB_PROJECT', type: ContractType.STRING, commands: TRAIN, required: false, description: 'Weights & Biases project (per stage, as the seed\'s jobs do); reporting is on only when WANDB_API_KEY is set too' },
  { name: 'WANDB_API_KEY', type: ContractType.SECRET, commands: TRAIN, required: false, description: 'Weights & Biases API key, from a Secret by `secretKeyRef` (the seed\'s `wandb-secret` / `api-key`)' },
  { name: 'MLFLOW_TRACKING_URI', type: ContractType.STRING, commands: TRAIN, required: false, description: 'MLflow tracking server; reporting to MLflow is on only when set' },
  { name: 'MLFLOW_EXPERIMENT_NAME', type: ContractType.STRING, commands: TRAIN, required: false, description: 'MLflow experiment name' },
  { name: 'HF_TOKEN', type: ContractType.SECRET, commands: [C.CPT, C.SFT, C.RLHF, C.EVALUATE, C.EXPORT], required: false, description: 'Hugging Face token for gated models, from a Secret by `secretKeyRef`' },
];

/**
 * The trainer contract: the environment variables the constructs set and the trainer image reads,
 * defined once here and written to `python/korean_llm_trainer/contract.json` for the trainer.
 */
export class TrainerContract {
  /** The default port of the trainer's Prometheus endpoint (`METRICS_PORT`). */
  public static readonly DEFAULT_METRICS_PORT = DEFAULT_METRICS_PORT;

  /** Every variable, in a stable order (copies). */
  public static variables(): ContractVariable[] {
    return VARIABLES.map((v) => ({ ...v, commands: [...v.commands], choices: v.choices ? [...v.choices] : undefined }));
  }

  /** The RLHF / preference methods the trainer implements (values of `RLHF_METHOD`). */
  public static rlhfMethods(): string[] {
    return [...RLHF_METHODS];
  }

  /** The GRPO reward functions built into the trainer (values of `GRPO_REWARD_FUNCS`). */
  public static grpoRewardFunctions(): string[] {
    return [...GRPO_REWARD_FUNCTIONS];
  }

  /** The contract as the JSON the trainer reads (`python/korean_llm_trainer/contract.json`). */
  public static toJson(): string {
    return contractJson();
  }

  private constructor() {}
}

function contractJson(): string {
  const doc = {
    comment: 'Generated from src/training/trainer-contract.ts by `npx projen contract`; do not edit by hand.',
    metricsPort: DEFAULT_METRICS_PORT,
    rlhfMethods: RLHF_METHODS,
    grpoRewardFunctions: GRPO_REWARD_FUNCTIONS,
    variables: VARIABLES.map((v) => ({
      name: v.name,
      type: v.type,
      required: v.required,
      commands: v.commands,
      ...(v.default !== undefined ? { default: v.default } : {}),
      ...(v.choices ? { choices: v.choices } : {}),
      ...(v.min !== undefined ? { min: v.min } : {}),
      ...(v.max !== undefined ? { max: v.max } : {}),
      ...(v.exclusiveMin ? { exclusiveMin: true } : {}),
      description: v.description,
    })),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
