import { Chart, Duration, Testing } from 'cdk8s';
import {
  BaseModel, CptStage, GpuType, PreferenceMethod, RlhfStage, SftStage, StagePlan, TrainingEstimate, TrainingMethod,
} from '../src';
import { knownModelParameters } from '../src/training/_stage-estimate';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
const QWEN_7B = 'unsloth/Qwen2.5-7B-bnb-4bit';
const HOUR = 3600;

function chart(): Chart {
  return new Chart(Testing.app(), 'test', { namespace: 'llm-training', disableResourceNameHashes: true });
}

function sft(plan: StagePlan, props: any = {}): SftStage {
  return new SftStage(chart(), 'sft', { image: IMAGE, runId: 'r1', baseModel: BaseModel.huggingFace(QWEN_7B), plan, ...props });
}

function grpo(plan: StagePlan, props: any = {}): RlhfStage {
  return new RlhfStage(chart(), 'rlhf', {
    image: IMAGE, runId: 'r1', baseModel: BaseModel.huggingFace('Qwen/Qwen2.5-1.5B-Instruct'), method: PreferenceMethod.GRPO, plan, ...props,
  });
}

describe('GpuType', () => {
  test('peak dense bf16 FLOP/s from the datasheets', () => {
    expect(GpuType.A100.peakFlops).toBe(312e12);
    expect(GpuType.H100_SXM.peakFlops).toBe(989e12);
    expect(GpuType.H100_PCIE.peakFlops).toBe(756e12);
    expect(GpuType.H200.peakFlops).toBe(989e12);
    expect(GpuType.B200.peakFlops).toBe(2250e12);
    expect(GpuType.L40S.peakFlops).toBe(362e12);
    expect(GpuType.L4.peakFlops).toBe(121e12);
    expect(GpuType.A10.peakFlops).toBe(125e12);
    expect(GpuType.custom('MI300X', 1307e12)).toMatchObject({ name: 'MI300X', peakFlops: 1307e12 });
  });

  test('fails when a custom GPU has no sensible peak', () => {
    expect(() => GpuType.custom('x', 0)).toThrow('\'peakFlops\' must be the peak FLOP/s of one GPU, at least 1e9 (e.g. 312e12 for an A100), got 0');
    expect(() => GpuType.custom('x', Number.NaN)).toThrow(/'peakFlops' must be/);
    expect(() => GpuType.custom(' ', 1e12)).toThrow('\'gpuType name\' must be a non-empty string, got \' \'');
  });
});

describe('TrainingEstimate.compute', () => {
  test('7B full CPT on 1B tokens on 4 H100s: 6ND at 35% of peak', () => {
    const e = TrainingEstimate.compute({
      modelParameters: 7e9, trainTokens: 1e9, method: TrainingMethod.FULL, gpuType: GpuType.H100_SXM, gpus: 4, pricePerGpuHour: 2.5,
    });
    // 6 x 7e9 x 1e9 = 4.2e19 FLOPs; one GPU does 989e12 x 0.35 = 346.15e12 FLOP/s;
    // 4.2e19 / 346.15e12 = 121,334.68 GPU-seconds = 33.7041 GPU-hours, over 4 GPUs 8.4260 hours
    expect(e.flops).toBe(4.2e19);
    expect(e.utilization).toBe(0.35);
    expect(e.gpuHours).toBeCloseTo(33.7041, 4);
    expect(e.wallHours).toBeCloseTo(8.4260, 4);
    expect(e.cost).toBeCloseTo(84.26, 2);
    // deadline: 2 x 8.426 = 16.85, rounded up to 17 hours
    expect(e.deadlineHours).toBe(17);
  });

  test('gradient checkpointing adds a forward pass: 8ND full, 6ND for adapters (their default)', () => {
    const base = { modelParameters: 1e9, trainTokens: 1e9, gpuType: GpuType.A100, gpus: 1, utilization: 0.5 };
    expect(TrainingEstimate.compute({ ...base, method: TrainingMethod.FULL, gradientCheckpointing: true }).flops).toBe(8e18);
    expect(TrainingEstimate.compute({ ...base, method: TrainingMethod.LORA }).flops).toBe(6e18);
    expect(TrainingEstimate.compute({ ...base, method: TrainingMethod.QLORA, gradientCheckpointing: false }).flops).toBe(4e18);
    // 6e18 / (312e12 x 0.5) = 38,461.54 s
    expect(TrainingEstimate.compute({ ...base, method: TrainingMethod.LORA }).gpuHours).toBeCloseTo(38461.538 / HOUR, 6);
  });

  test('default utilisation per method', () => {
    expect(TrainingEstimate.defaultUtilization(TrainingMethod.FULL)).toBe(0.35);
    expect(TrainingEstimate.defaultUtilization(TrainingMethod.LORA)).toBe(0.30);
    expect(TrainingEstimate.defaultUtilization(TrainingMethod.QLORA)).toBe(0.25);
  });

  test('a measured throughput replaces the utilisation, which it then implies', () => {
    const e = TrainingEstimate.compute({
      modelParameters: 7e9, trainTokens: 3.6e8, method: TrainingMethod.QLORA, gpuType: GpuType.H100_SXM, gpus: 2, tokensPerSecondPerGpu: 2000,
    });
    // 3.6e8 tokens / 2000 tokens/s = 180,000 GPU-seconds = 50 GPU-hours, 25 hours on 2 GPUs
    expect(e.gpuHours).toBeCloseTo(50, 10);
    expect(e.wallHours).toBeCloseTo(25, 10);
    // 6 x 7e9 x 2000 = 8.4e13 FLOP/s per GPU, of 989e12
    expect(e.utilization).toBeCloseTo(8.4e13 / 989e12, 10);
    expect(e.cost).toBeUndefined();
  });

  test('the deadline is never below the floor', () => {
    const e = TrainingEstimate.compute({ modelParameters: 1e8, trainTokens: 1e6, method: TrainingMethod.LORA, gpuType: GpuType.H100_SXM, gpus: 1 });
    expect(e.wallHours).toBeLessThan(0.01);
    expect(e.deadlineHours).toBe(TrainingEstimate.DEADLINE_FLOOR_HOURS);
  });

  test.each([
    [{ modelParameters: 0 }, '\'modelParameters\' must be a number greater than 0, got 0'],
    [{ trainTokens: -1 }, '\'trainTokens\' must be a number greater than 0, got -1'],
    [{ gpus: 1.5 }, '\'gpus\' must be a positive integer, got 1.5'],
    [{ utilization: 1.2 }, '\'utilization\' must be a number greater than 0 and at most 1, got 1.2'],
    [{ generationUtilization: 0 }, '\'generationUtilization\' must be a number greater than 0 and at most 1, got 0'],
    [{ tokensPerSecondPerGpu: 1000, utilization: 0.3 }, '\'utilization\' must be unset when \'tokensPerSecondPerGpu\' is given (a measured throughput replaces it), got 0.3'],
    [{ pricePerGpuHour: -2 }, '\'pricePerGpuHour\' must be a number of at least 0, got -2'],
  ])('fails when %j', (bad, message) => {
    const props = { modelParameters: 7e9, trainTokens: 1e9, method: TrainingMethod.FULL, gpuType: GpuType.A100, gpus: 1, ...bad };
    expect(() => TrainingEstimate.compute(props)).toThrow(message);
  });
});

describe('stage estimates', () => {
  test('QLoRA SFT: 100k conversations of 1000 tokens, 3 epochs, 2 H100s', () => {
    const stage = sft({ gpuType: GpuType.H100_SXM, samples: 100_000, meanTokensPerSample: 1000, pricePerGpuHour: 4 });
    const e = stage.estimate!;
    // 3 epochs x 1e8 = 3e8 tokens; LoRA with checkpointing 6 x 7.61e9 x 3e8 = 1.3698e19 FLOPs;
    // 989e12 x 0.25 = 247.25e12 FLOP/s per GPU -> 55,401.42 GPU-seconds = 15.3893 GPU-hours
    expect(e.method).toBe(TrainingMethod.QLORA);
    expect(e.modelParameters).toBe(7.61e9);
    expect(e.trainTokens).toBe(3e8);
    expect(e.flops).toBeCloseTo(1.3698e19, -14);
    expect(e.gpuHours).toBeCloseTo(15.3893, 4);
    expect(e.wallHours).toBeCloseTo(7.6946, 4);
    expect(e.cost).toBeCloseTo(61.557, 3);
    // no explicit deadline: 2 x 7.69 h rounded up
    expect(stage.activeDeadline.toHours()).toBe(16);
  });

  test('LoRA on a 16-bit base (loadIn4bit: false) assumes 30% of peak', () => {
    const e = sft({ gpuType: GpuType.H100_SXM, tokens: 3e8 }, { loadIn4bit: false, epochs: 1 }).estimate!;
    expect(e.method).toBe(TrainingMethod.LORA);
    expect(e.gpuHours).toBeCloseTo(6 * 7.61e9 * 3e8 / (989e12 * 0.30) / HOUR, 8);
  });

  test('GRPO: generation, prefill and the reference forward are added', () => {
    const stage = grpo({ gpuType: GpuType.A100, samples: 10_000, meanTokensPerSample: 200 }, { loadIn4bit: false });
    const e = stage.estimate!;
    // 1 epoch, 8 generations of up to 512 tokens per prompt of 200:
    //   trained   10,000 x 8 x (200 + 512) = 56,960,000 tokens
    //   forward   prefill 10,000 x 8 x 200 = 16,000,000 + reference 56,960,000 = 72,960,000
    //   generated 10,000 x 8 x 512 = 40,960,000
    expect(e.trainTokens).toBe(56_960_000);
    expect(e.forwardTokens).toBe(72_960_000);
    expect(e.generatedTokens).toBe(40_960_000);
    // 1.54e9 x (6 x 56.96e6 + 2 x 72.96e6) = 7.510272e17 at 312e12 x 0.30 -> 8,023.80 s
    // 2 x 1.54e9 x 40.96e6 = 1.261568e17 at 312e12 x 0.05 -> 8,086.97 s
    expect(e.gpuHours).toBeCloseTo((8023.7949 + 8086.9744) / HOUR, 4);
    expect(e.gpuHours).toBeCloseTo(4.4752, 4);
    expect(e.wallHours).toBeCloseTo(2.2376, 4);
    expect(stage.activeDeadline.toHours()).toBe(5);
  });

  test('GRPO reads numGenerations and maxCompletionLength (prop or env)', () => {
    const plan = { gpuType: GpuType.A100, samples: 1000, meanTokensPerSample: 100 };
    expect(grpo(plan, { numGenerations: 4, maxCompletionLength: 256 }).estimate!.generatedTokens).toBe(1000 * 4 * 256);
    expect(grpo(plan, { env: { MAX_COMPLETION_LENGTH: '1024' } }).estimate!.generatedTokens).toBe(1000 * 8 * 1024);
  });

  test('DPO runs both sequences of a pair, and the reference forward; ORPO has no reference; KTO adds its KL batch', () => {
    const pref = (method: PreferenceMethod) => new RlhfStage(chart(), 'rlhf', {
      image: IMAGE, runId: 'r1', baseModel: BaseModel.huggingFace(QWEN_7B), method, plan: { gpuType: GpuType.H100_SXM, samples: 1000, meanTokensPerSample: 500 },
    }).estimate!;
    expect(pref(PreferenceMethod.DPO)).toMatchObject({ trainTokens: 1e6, forwardTokens: 1e6, generatedTokens: 0 });
    expect(pref(PreferenceMethod.ORPO)).toMatchObject({ trainTokens: 1e6, forwardTokens: 0 });
    expect(pref(PreferenceMethod.KTO)).toMatchObject({ trainTokens: 5e5, forwardTokens: 1.5e6 });
  });

  test('CPT: tokens x epochs on every GPU of every node, and the estimate follows the chain of stages to the base model', () => {
    const c = chart();
    const cpt = new CptStage(c, 'cpt', {
      image: IMAGE,
      runId: 'r1',
      baseModel: BaseModel.huggingFace('LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct'),
      nodes: 2,
      plan: { gpuType: GpuType.H200, tokens: 1e9 },
    });
    expect(cpt.estimate).toMatchObject({ trainTokens: 2e9, gpus: 8, modelParameters: 7.8e9 });
    const next = new SftStage(c, 'sft', { image: IMAGE, runId: 'r1', baseModel: BaseModel.fromStage(cpt), plan: { gpuType: GpuType.H200, tokens: 1e7 } });
    expect(next.estimate!.modelParameters).toBe(7.8e9);
  });

  test('an explicit deadline wins; a stage without a plan keeps its preset deadline', () => {
    expect(sft({ gpuType: GpuType.H100_SXM, tokens: 3e8 }, { activeDeadline: Duration.hours(30) }).activeDeadline.toHours()).toBe(30);
    const plain = new SftStage(chart(), 'sft', { image: IMAGE, runId: 'r1', baseModel: BaseModel.huggingFace(QWEN_7B) });
    expect(plain.estimate).toBeUndefined();
    expect(plain.activeDeadline.toDays()).toBe(2);
  });

  test('the job carries its estimate as annotations', () => {
    const stage = sft({ gpuType: GpuType.H100_SXM, samples: 100_000, meanTokensPerSample: 1000, pricePerGpuHour: 4 });
    const [job] = Testing.synth(Chart.of(stage));
    expect(job.metadata.annotations).toEqual({
      'korean-llm/estimated-gpu-hours': '15.39',
      'korean-llm/estimated-wall-hours': '7.69',
      'korean-llm/estimated-cost': '61.56',
    });
    expect(job.spec.runPolicy.activeDeadlineSeconds).toBe(16 * HOUR);
  });

  test('known base models', () => {
    expect(knownModelParameters('Qwen/Qwen2.5-0.5B-Instruct')).toBe(0.49e9);
    expect(knownModelParameters('unsloth/Qwen2.5-72B-Instruct-bnb-4bit')).toBe(72.7e9);
    expect(knownModelParameters('meta-llama/Llama-3.1-8B-Instruct')).toBe(8.03e9);
    expect(knownModelParameters('meta-llama/Meta-Llama-3-70B')).toBe(70.6e9);
    expect(knownModelParameters('unsloth/Llama-3.2-3B-Instruct')).toBe(3.21e9);
    expect(knownModelParameters('LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct')).toBe(2.4e9);
    expect(knownModelParameters('google/gemma-2-9b-it')).toBe(9.24e9);
    // the size in the name, the active parameters of a mixture of experts
    expect(knownModelParameters('yanolja/EEVE-Korean-10.8B-v1.0')).toBe(10.8e9);
    expect(knownModelParameters('Qwen/Qwen3-30B-A3B')).toBe(3e9);
    expect(knownModelParameters('/models/qwen2.5-14b')).toBe(14.7e9);
    // '4bit' is no size
    expect(knownModelParameters('someone/korean-bnb-4bit')).toBeUndefined();
  });

  test.each([
    [{ tokens: 1e9, samples: 10 }, '\'plan.tokens\' must be unset when \'plan.samples\' is given (give one of them), got 1000000000'],
    [{}, '\'plan.tokens\' must be given: the dataset\'s tokens per epoch (plan.tokens), or plan.samples with plan.meanTokensPerSample, got undefined'],
    [{ samples: 10 }, '\'plan.meanTokensPerSample\' must be given: the dataset\'s tokens per epoch'],
    [{ tokens: 1e9, meanTokensPerSample: 10 }, '\'plan.meanTokensPerSample\' must be used with \'plan.samples\' only, got 10'],
    [{ tokens: 0 }, '\'plan.tokens\' must be a number greater than 0, got 0'],
    [{ samples: 2.5, meanTokensPerSample: 1 }, '\'plan.samples\' must be a positive integer, got 2.5'],
    [{ tokens: 1e9, utilization: 0 }, '\'plan.utilization\' must be a number greater than 0 and at most 1, got 0'],
    [{ tokens: 1e9, utilization: 0.3, tokensPerSecondPerGpu: 100 }, '\'plan.utilization\' must be unset when \'plan.tokensPerSecondPerGpu\' is given'],
    [{ tokens: 1e9, pricePerGpuHour: -1 }, '\'plan.pricePerGpuHour\' must be a number of at least 0, got -1'],
  ])('fails when the plan is %j', (bad, message) => {
    expect(() => sft({ gpuType: GpuType.H100_SXM, ...bad } as StagePlan)).toThrow(message);
  });

  test('fails when the base model\'s size is unknown and not given', () => {
    const make = (plan: StagePlan) => new SftStage(chart(), 'sft', { image: IMAGE, runId: 'r1', baseModel: BaseModel.fromPath('/models/korean-base'), plan });
    expect(() => make({ gpuType: GpuType.A100, tokens: 1e8 })).toThrow(
      '\'plan.modelParameters\' must be given for base model \'/models/korean-base\' (its size is not in the table of known models nor in its name), got undefined');
    expect(make({ gpuType: GpuType.A100, tokens: 1e8, modelParameters: 3e9 }).estimate!.modelParameters).toBe(3e9);
  });

  test('fails when GRPO is given tokens instead of prompts', () => {
    expect(() => grpo({ gpuType: GpuType.A100, tokens: 1e6 })).toThrow(
      '\'plan.tokens\' must be unset for GRPO: give plan.samples (prompts) and plan.meanTokensPerSample (their mean tokens), got 1000000');
  });

  test('fails when maxCompletionLength is outside GRPO or not below maxSeqLength', () => {
    const make = (props: any) => new RlhfStage(chart(), 'rlhf', { image: IMAGE, runId: 'r1', baseModel: BaseModel.huggingFace(QWEN_7B), ...props });
    expect(() => make({ maxCompletionLength: 256 })).toThrow('\'maxCompletionLength\' must be used with PreferenceMethod.GRPO only, got \'dpo\'');
    expect(() => make({ method: PreferenceMethod.GRPO, maxCompletionLength: 4096 })).toThrow('\'maxCompletionLength\' must be an integer from 1 to 4095, got 4096');
    const ok = make({ method: PreferenceMethod.GRPO, maxCompletionLength: 1024, maxSeqLength: 2048 });
    expect(ok.envNames).toContain('MAX_COMPLETION_LENGTH');
  });

  test('fails when a stage with a plan has an invalid GPU count (before the estimate divides by it)', () => {
    expect(() => sft({ gpuType: GpuType.A100, tokens: 1e6 }, { gpusPerNode: 0 })).toThrow('\'gpusPerNode\' must be an integer from 1 to 16, got 0');
    expect(() => sft({ gpuType: GpuType.A100, tokens: 1e6 }, { epochs: 0 })).toThrow('\'epochs\' must be a number greater than 0 and at most 1000, got 0');
  });
});
