import * as v from '../_validate';

/**
 * A GPU model and its peak dense bf16 tensor throughput, what a training estimate divides by.
 *
 * The figures are the vendor datasheets' dense (no structured sparsity) BF16 Tensor Core numbers;
 * where a datasheet gives only the "with sparsity" figure, half of it. AWS's A10G has no NVIDIA
 * datasheet: measure it and use `GpuType.custom(...)`.
 */
export class GpuType {
  /** NVIDIA A100 (SXM or PCIe, 40 or 80 GB): 312 TFLOP/s dense bf16. */
  public static readonly A100 = new GpuType('A100', 312e12);
  /** NVIDIA H100 SXM: 989 TFLOP/s dense bf16 (1,979 with sparsity). */
  public static readonly H100_SXM = new GpuType('H100-SXM', 989e12);
  /** NVIDIA H100 PCIe: 756 TFLOP/s dense bf16 (1,513 with sparsity). */
  public static readonly H100_PCIE = new GpuType('H100-PCIe', 756e12);
  /** NVIDIA H200 (SXM): 989 TFLOP/s dense bf16, the H100's compute with more and faster memory. */
  public static readonly H200 = new GpuType('H200', 989e12);
  /** NVIDIA B200 (HGX B200): 2,250 TFLOP/s dense bf16 (4.5 PFLOP/s with sparsity). */
  public static readonly B200 = new GpuType('B200', 2250e12);
  /** NVIDIA L40S: 362 TFLOP/s dense bf16 (733 with sparsity). */
  public static readonly L40S = new GpuType('L40S', 362e12);
  /** NVIDIA L4: 121 TFLOP/s dense bf16 (242 with sparsity). */
  public static readonly L4 = new GpuType('L4', 121e12);
  /** NVIDIA A10: 125 TFLOP/s dense bf16 (250 with sparsity). */
  public static readonly A10 = new GpuType('A10', 125e12);

  /**
   * A GPU of your own: its name and peak dense bf16 FLOP/s (e.g. `600e12`).
   */
  public static custom(name: string, peakFlops: number): GpuType {
    v.nonEmpty('gpuType name', name);
    if (!(Number.isFinite(peakFlops) && peakFlops >= 1e9)) v.fail('peakFlops', peakFlops, 'the peak FLOP/s of one GPU, at least 1e9 (e.g. 312e12 for an A100)');
    return new GpuType(name, peakFlops);
  }

  private constructor(
    /** The GPU's name as the plan shows it. */
    public readonly name: string,
    /** Peak dense bf16 FLOP/s of one GPU. */
    public readonly peakFlops: number,
  ) {}
}

/**
 * How the weights are trained: the FLOPs per token follow from it.
 */
export enum TrainingMethod {
  /** Every weight gets a gradient: 6 FLOPs per parameter per token (2 forward, 4 backward). */
  FULL = 'full',
  /**
   * LoRA adapters on a frozen 16-bit base: the backward pass computes activation gradients only
   * (no weight gradients for the frozen base), 4 FLOPs per parameter per token.
   */
  LORA = 'lora',
  /** LoRA adapters on a frozen 4-bit base (QLoRA): LoRA's FLOPs, slower per FLOP (dequantization). */
  QLORA = 'qlora',
}

/**
 * What a training estimate is computed from. FLOPs per token follow the usual dense-transformer
 * rule (2 FLOPs per parameter per token forward, twice that backward); attention's own FLOPs are
 * left out (at 4k tokens they add some 10-20%, part of what the utilisation absorbs).
 */
export interface TrainingEstimateProps {
  /** The model's parameters (N), e.g. `7.61e9`. */
  readonly modelParameters: number;
  /** Tokens trained: run forward and backward through the model (all epochs). */
  readonly trainTokens: number;
  /** How the weights are trained. */
  readonly method: TrainingMethod;
  /** The GPU model. */
  readonly gpuType: GpuType;
  /** GPUs of the job. */
  readonly gpus: number;
  /**
   * Recompute activations in the backward pass (one more forward: +2 FLOPs per parameter per token).
   * @default - true for LoRA and QLoRA (the trainer always checkpoints), false for FULL
   */
  readonly gradientCheckpointing?: boolean;
  /**
   * Tokens that only run forward (2 FLOPs per parameter each): a frozen reference model's log-probs
   * (DPO, KTO, GRPO), prompt prefill before generation.
   * @default 0
   */
  readonly forwardTokens?: number;
  /**
   * Tokens generated one by one (2 FLOPs per parameter each, at `generationUtilization`): GRPO's completions.
   * @default 0
   */
  readonly generatedTokens?: number;
  /**
   * The share of peak FLOP/s the training FLOPs run at (model FLOPs utilisation, with the
   * recomputation counted), 0 to 1.
   * @default - TrainingEstimate.defaultUtilization(method): 0.35 full, 0.30 LoRA, 0.25 QLoRA
   */
  readonly utilization?: number;
  /**
   * The share of peak FLOP/s token-by-token generation runs at, 0 to 1 (decoding is bound by memory
   * bandwidth, not FLOPs).
   * @default 0.05
   */
  readonly generationUtilization?: number;
  /**
   * A measured throughput instead of the utilisation: trained tokens per second per GPU (the
   * trainer's `num_input_tokens_seen` / runtime / GPUs of a short run of the same stage, generation
   * and reference passes included). Then time = trainTokens / (this x gpus).
   * @default - computed from FLOPs and `utilization`
   */
  readonly tokensPerSecondPerGpu?: number;
  /**
   * Price of one GPU-hour (any currency; the cost is in the same one).
   * @default - no cost
   */
  readonly pricePerGpuHour?: number;
}

/**
 * What a training stage will process, for its estimate (GPU-hours, wall hours, cost), the budget
 * guard and the default deadline. Give the dataset either as `tokens` or as `samples` x
 * `meanTokensPerSample`; the stage's epochs multiply it.
 *
 * What a sample is depends on the stage: CPT a document, SFT a conversation; DPO and ORPO a
 * preference pair, whose `meanTokensPerSample` is the tokens of the prompt plus one response (the
 * trainer runs both responses); KTO one prompt-completion example; GRPO a prompt, whose completions
 * (`numGenerations` of `maxCompletionLength` tokens each, an upper bound) are added.
 */
export interface StagePlan {
  /** The GPU model of the stage's nodes. */
  readonly gpuType: GpuType;
  /**
   * Tokens of the dataset (one epoch) as the trainer reads them: CPT's corpus, SFT's conversations,
   * both sequences of every DPO/ORPO pair. Not for GRPO (give `samples`).
   * @default - samples x meanTokensPerSample
   */
  readonly tokens?: number;
  /**
   * Examples of the dataset (one epoch); with `meanTokensPerSample`.
   * @default - `tokens` is given instead
   */
  readonly samples?: number;
  /**
   * Mean tokens of one example (GRPO: of one prompt); with `samples`.
   * @default - `tokens` is given instead
   */
  readonly meanTokensPerSample?: number;
  /**
   * The base model's parameters.
   * @default - from the base model's id: a table of Qwen2.5, Llama 3.x, EXAONE 3.5 and Gemma 2
   * sizes, else the size in its name (`-7B`, a mixture of experts' active `-A3B`)
   */
  readonly modelParameters?: number;
  /**
   * The share of peak FLOP/s the training runs at.
   * @default - 0.25 with a 4-bit base (QLoRA, the stages' default), 0.30 with `loadIn4bit: false`
   */
  readonly utilization?: number;
  /**
   * GRPO: the share of peak FLOP/s generation runs at.
   * @default 0.05
   */
  readonly generationUtilization?: number;
  /**
   * A measured throughput replacing the utilisation: tokens per second per GPU from a short run of
   * the same stage (`num_input_tokens_seen` / runtime / GPUs in the trainer's log).
   * @default - from FLOPs and `utilization`
   */
  readonly tokensPerSecondPerGpu?: number;
  /**
   * Price of one GPU-hour (the cost is in its currency).
   * @default - no cost
   */
  readonly pricePerGpuHour?: number;
}

/**
 * What a stage preset adds to its plan, for a subclass of `TrainingStage`: the RLHF stage's method
 * and GRPO settings (they change which tokens the trainer runs).
 */
export interface StagePlanShape {
  /**
   * `RLHF_METHOD` of an RLHF stage: `dpo`, `orpo`, `kto` or `grpo`.
   * @default - 'dpo' for an RLHF stage; unused by other stages
   */
  readonly rlhfMethod?: string;
  /**
   * GRPO: completions per prompt (`GRPO_NUM_GENERATIONS`).
   * @default 8
   */
  readonly numGenerations?: number;
  /**
   * GRPO: the most tokens per completion (`MAX_COMPLETION_LENGTH`).
   * @default 512
   */
  readonly maxCompletionLength?: number;
}

/**
 * A training run's compute, time and cost, known at synth time. Deterministic: the same inputs
 * always give the same numbers.
 *
 * GPU-seconds = (trainFactor x N x trainTokens + 2 x N x forwardTokens) / (peak x utilization)
 * + 2 x N x generatedTokens / (peak x generationUtilization); wall = GPU-seconds / gpus; with a
 * measured `tokensPerSecondPerGpu`, GPU-seconds = trainTokens / tokensPerSecondPerGpu.
 */
export class TrainingEstimate {
  /** Annotation with a job's (or a workflow's total) estimated GPU-hours. */
  public static readonly GPU_HOURS_ANNOTATION = 'korean-llm/estimated-gpu-hours';
  /** Annotation with a job's estimated wall-clock hours (a workflow's: the longest chain of stages). */
  public static readonly WALL_HOURS_ANNOTATION = 'korean-llm/estimated-wall-hours';
  /** Annotation with a job's (or a workflow's total) estimated cost, when a price is known. */
  public static readonly COST_ANNOTATION = 'korean-llm/estimated-cost';
  /**
   * A stage without an explicit `activeDeadline` gets this multiple of its estimated wall hours
   * (rounded up to whole hours, at least `DEADLINE_FLOOR_HOURS`): room for a slower cluster, a
   * restart from the last checkpoint and the time the job waits for its GPUs.
   */
  public static readonly DEADLINE_MULTIPLE = 2;
  /** The shortest deadline derived from an estimate, in hours. */
  public static readonly DEADLINE_FLOOR_HOURS = 2;
  /** The default share of peak FLOP/s token-by-token generation runs at. */
  public static readonly DEFAULT_GENERATION_UTILIZATION = 0.05;

  /**
   * The default utilisation of a method: 0.35 full, 0.30 LoRA, 0.25 QLoRA (4-bit weights are
   * dequantized for every matmul). Assumptions for a single node with good kernels; measure a
   * short run and pass `tokensPerSecondPerGpu` for a number you can trust.
   */
  public static defaultUtilization(method: TrainingMethod): number {
    switch (method) {
      case TrainingMethod.FULL: return 0.35;
      case TrainingMethod.LORA: return 0.30;
      case TrainingMethod.QLORA: return 0.25;
      default: return v.fail('method', method, `one of ${Object.values(TrainingMethod).join(', ')}`);
    }
  }

  /**
   * FLOPs per parameter per trained token: 6 full, 4 LoRA/QLoRA, plus 2 with gradient checkpointing.
   */
  public static trainFactor(method: TrainingMethod, gradientCheckpointing?: boolean): number {
    const base = method === TrainingMethod.FULL ? 6 : 4;
    const checkpointing = gradientCheckpointing ?? method !== TrainingMethod.FULL;
    return base + (checkpointing ? 2 : 0);
  }

  /** Computes an estimate. */
  public static compute(props: TrainingEstimateProps): TrainingEstimate {
    positive('modelParameters', props.modelParameters);
    positive('trainTokens', props.trainTokens);
    nonNegative('forwardTokens', props.forwardTokens);
    nonNegative('generatedTokens', props.generatedTokens);
    v.positiveInt('gpus', props.gpus);
    if (!(props.gpuType instanceof GpuType)) v.fail('gpuType', String(props.gpuType), 'a GpuType (GpuType.H100_SXM, GpuType.custom(...))');
    v.numberIn('utilization', props.utilization, 0, 1, true);
    v.numberIn('generationUtilization', props.generationUtilization, 0, 1, true);
    if (props.tokensPerSecondPerGpu !== undefined) {
      positive('tokensPerSecondPerGpu', props.tokensPerSecondPerGpu);
      if (props.utilization !== undefined) v.fail('utilization', props.utilization, 'unset when \'tokensPerSecondPerGpu\' is given (a measured throughput replaces it)');
    }
    nonNegative('pricePerGpuHour', props.pricePerGpuHour);
    return new TrainingEstimate(props);
  }

  /** The model's parameters. */
  public readonly modelParameters: number;
  /** How the weights are trained. */
  public readonly method: TrainingMethod;
  /** The GPU model. */
  public readonly gpuType: GpuType;
  /** GPUs of the job. */
  public readonly gpus: number;
  /** Tokens trained (all epochs). */
  public readonly trainTokens: number;
  /** Tokens that only run forward. */
  public readonly forwardTokens: number;
  /** Tokens generated. */
  public readonly generatedTokens: number;
  /** FLOPs of the run: training, forward-only and generation. */
  public readonly flops: number;
  /** The utilisation assumed, or implied by a measured throughput (FLOPs / (GPU-seconds x peak)). */
  public readonly utilization: number;
  /** GPU-hours (wall hours x GPUs). */
  public readonly gpuHours: number;
  /** Wall-clock hours of the job once it runs (queueing and image pulls not included). */
  public readonly wallHours: number;
  /** The price of one GPU-hour, if given. */
  public readonly pricePerGpuHour?: number;
  /** GPU-hours x price, if a price is given. */
  public readonly cost?: number;

  private constructor(p: TrainingEstimateProps) {
    const n = p.modelParameters;
    this.modelParameters = n;
    this.method = p.method;
    this.gpuType = p.gpuType;
    this.gpus = p.gpus;
    this.trainTokens = p.trainTokens;
    this.forwardTokens = p.forwardTokens ?? 0;
    this.generatedTokens = p.generatedTokens ?? 0;
    const computeFlops = TrainingEstimate.trainFactor(p.method, p.gradientCheckpointing) * n * this.trainTokens + 2 * n * this.forwardTokens;
    const generationFlops = 2 * n * this.generatedTokens;
    this.flops = computeFlops + generationFlops;
    const peak = p.gpuType.peakFlops;
    let gpuSeconds: number;
    if (p.tokensPerSecondPerGpu !== undefined) {
      gpuSeconds = this.trainTokens / p.tokensPerSecondPerGpu;
      this.utilization = this.flops / (gpuSeconds * peak);
    } else {
      this.utilization = p.utilization ?? TrainingEstimate.defaultUtilization(p.method);
      const generation = p.generationUtilization ?? TrainingEstimate.DEFAULT_GENERATION_UTILIZATION;
      gpuSeconds = computeFlops / (peak * this.utilization) + generationFlops / (peak * generation);
    }
    this.gpuHours = gpuSeconds / 3600;
    this.wallHours = this.gpuHours / this.gpus;
    this.pricePerGpuHour = p.pricePerGpuHour;
    this.cost = p.pricePerGpuHour === undefined ? undefined : this.gpuHours * p.pricePerGpuHour;
  }

  /**
   * The deadline this estimate implies, in whole hours: `DEADLINE_MULTIPLE` x wall hours rounded
   * up, at least `DEADLINE_FLOOR_HOURS`.
   */
  public get deadlineHours(): number {
    return Math.max(TrainingEstimate.DEADLINE_FLOOR_HOURS, Math.ceil(TrainingEstimate.DEADLINE_MULTIPLE * this.wallHours));
  }
}

function positive(prop: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!(Number.isFinite(value) && value > 0)) v.fail(prop, value, 'a number greater than 0');
}

function nonNegative(prop: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!(Number.isFinite(value) && value >= 0)) v.fail(prop, value, 'a number of at least 0');
}
