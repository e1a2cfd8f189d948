import { App, Chart, Testing } from 'cdk8s';
import {
  BaseModel, BudgetLevel, CptStage, GpuTrainingJob, GpuType, KoreanLlmPipeline, KoreanLlmPipelineProps, Pipeline, PipelineProps, PlanTable,
  RlhfStage, SftStage, StagePlan, TrainerCommand, TrainingEstimate, TrainingMethod,
} from '../src';
import { expectArgoValid, expectMermaidOf, manifestOf } from './util/argo';
import { embeddedManifests, expectValid } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
const BASE = 'unsloth/Qwen2.5-7B-bnb-4bit';
const H100 = GpuType.H100_SXM;
const GPU_HOURS = 'korean-llm/estimated-gpu-hours';
const WALL_HOURS = 'korean-llm/estimated-wall-hours';
const COST = 'korean-llm/estimated-cost';

const CPT_PLAN: StagePlan = { gpuType: H100, tokens: 1e9, pricePerGpuHour: 3 };
const SFT_PLAN: StagePlan = { gpuType: H100, samples: 100_000, meanTokensPerSample: 1000, pricePerGpuHour: 3 };
const RLHF_PLAN: StagePlan = { gpuType: H100, samples: 20_000, meanTokensPerSample: 600, pricePerGpuHour: 3 };

function newChart(app: App = Testing.app()): Chart {
  return new Chart(app, 'test', { namespace: 'llm-training', disableResourceNameHashes: true });
}

function korean(props: Partial<KoreanLlmPipelineProps> = {}, chart = newChart()): KoreanLlmPipeline {
  return new KoreanLlmPipeline(chart, 'pipeline', {
    image: IMAGE, name: 'ko', baseModel: BASE, cpt: { plan: CPT_PLAN }, sft: { plan: SFT_PLAN }, rlhf: { plan: RLHF_PLAN }, ...props,
  });
}

/** cpt -> sft, and a second sft branch from cpt in parallel. */
function branched(props: Partial<PipelineProps> = {}): { pipeline: Pipeline; cpt: CptStage; a: SftStage; b: SftStage } {
  const pipeline = new Pipeline(newChart(), 'pipeline', { image: IMAGE, name: 'demo', ...props });
  const cpt = new CptStage(pipeline, 'cpt', { image: IMAGE, baseModel: BaseModel.huggingFace(BASE), plan: { gpuType: H100, tokens: 1e8, pricePerGpuHour: 2 } });
  const a = new SftStage(pipeline, 'sft-a', { image: IMAGE, baseModel: BaseModel.fromStage(cpt), plan: { gpuType: H100, tokens: 2e8, pricePerGpuHour: 2 } });
  const b = new SftStage(pipeline, 'sft-b', { image: IMAGE, baseModel: BaseModel.fromStage(cpt), plan: { gpuType: H100, tokens: 5e7, pricePerGpuHour: 2 } });
  pipeline.addStage(cpt);
  pipeline.addStage(a);
  pipeline.addStage(b);
  return { pipeline, cpt, a, b };
}

const workflowOf = (docs: any[]) => docs.find((d) => d.kind === 'Workflow');
const cents = (s: string) => Math.round(parseFloat(s) * 100);

describe('pipeline.plan()', () => {
  test('one row per training step with its estimate, start and finish', () => {
    const pipeline = korean();
    const rows = pipeline.plan();
    expect(rows.map((r) => r.step)).toEqual(['cpt', 'sft', 'rlhf']);
    const [cpt, sft, rlhf] = rows;
    // cpt: 2 epochs x 1e9 tokens, 6 x 7.61e9 x 2e9 = 9.132e19 FLOPs at 247.25e12 FLOP/s per GPU
    // = 369,342.77 GPU-seconds = 102.60 GPU-hours, 25.65 hours on 4 GPUs, cost 3 x 102.60
    expect(cpt).toMatchObject({
      stage: 'cpt',
      gpus: 4,
      gpuType: 'H100-SXM',
      method: TrainingMethod.QLORA,
      trainTokens: 2e9,
      estimated: true,
      gpuHours: 102.6,
      wallHours: 25.65,
      cost: 307.79,
      startHours: 0,
      finishHours: 25.65,
      deadlineHours: 52,
    });
    expect(sft).toMatchObject({
      gpus: 2, trainTokens: 3e8, gpuHours: 15.39, wallHours: 7.69, startHours: 25.65, finishHours: 33.34, deadlineHours: 16,
    });
    // DPO: 20,000 pairs x 600 tokens x 2 sequences, and the reference forward of each
    expect(rlhf).toMatchObject({ trainTokens: 2.4e7, gpuHours: 1.64, wallHours: 0.82, startHours: 33.34, finishHours: 34.16, deadlineHours: 2 });
  });

  test('parallel branches: the run takes the longest chain, GPU-hours add up', () => {
    const { pipeline } = branched();
    const rows = pipeline.plan();
    expect(rows.map((r) => [r.step, r.startHours, r.finishHours])).toEqual([
      ['cpt', 0, rows[0].wallHours],
      ['sft-a', rows[0].wallHours, rows[0].finishHours! + rows[1].wallHours!],
      ['sft-b', rows[0].wallHours, rows[0].finishHours! + rows[2].wallHours!],
    ]);
    const totals = PlanTable.totals(rows);
    expect(totals.wallHours).toBe(rows[1].finishHours);
    expect(totals.gpuHours).toBeCloseTo(rows[0].gpuHours! + rows[1].gpuHours! + rows[2].gpuHours!, 10);
    expect(totals.unestimatedSteps).toEqual([]);
  });

  test('a step without an estimate: no numbers for it nor after it', () => {
    const pipeline = new Pipeline(newChart(), 'pipeline', { image: IMAGE, name: 'demo' });
    const cpt = new CptStage(pipeline, 'cpt', { image: IMAGE, baseModel: BaseModel.huggingFace(BASE) });
    const sft = new SftStage(pipeline, 'sft', { image: IMAGE, baseModel: BaseModel.fromStage(cpt), plan: { gpuType: H100, tokens: 1e7 } });
    pipeline.addStage(cpt);
    pipeline.addStage(sft);
    const [a, b] = pipeline.plan();
    expect(a).toEqual({ step: 'cpt', stage: 'cpt', gpus: 4, deadlineHours: 168, estimated: false });
    expect(b.gpuHours).toBeGreaterThan(0);
    expect(b.startHours).toBeUndefined();
    expect(PlanTable.totals([a, b])).toEqual({ gpuHours: b.gpuHours, cost: undefined, wallHours: undefined, unestimatedSteps: ['cpt'] });
    const wf = workflowOf(Testing.synth(Chart.of(pipeline)));
    expect(wf.metadata.annotations).toEqual({ [GPU_HOURS]: b.gpuHours!.toFixed(2), 'korean-llm/unestimated-steps': 'cpt' });
  });

  test('PlanTable.toMarkdown renders the rows and a total line', () => {
    expect(PlanTable.toMarkdown(korean().plan())).toBe([
      '| step | stage | GPUs | GPU | method | tokens | start (h) | wall (h) | GPU-hours | cost | deadline (h) |',
      '| --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      '| cpt | cpt | 4 | H100-SXM | qlora | 2B | 0.00 | 25.65 | 102.60 | 307.79 | 52 |',
      '| sft | sft | 2 | H100-SXM | qlora | 300M | 25.65 | 7.69 | 15.39 | 46.17 | 16 |',
      '| rlhf | rlhf | 2 | H100-SXM | qlora | 24M | 33.34 | 0.82 | 1.64 | 4.92 | 2 |',
      '| **total** | | 8 | | | | | 34.16 | 119.63 | 358.88 | |',
      '',
    ].join('\n'));
  });

  test('toMermaid shows the estimate of each stage', () => {
    const mermaid = expectMermaidOf(korean());
    expect(mermaid).toContain('cpt["cpt<br/>PyTorchJob 1x4 GPU<br/>est. 25.65 h, 102.60 GPU-h, cost 307.79"]');
    expect(mermaid).toContain('sft["sft<br/>PyTorchJob 1x2 GPU<br/>est. 7.69 h, 15.39 GPU-h, cost 46.17"]');
    // no estimate, no label change
    expect(korean({ cpt: {}, sft: {}, rlhf: {} }).toMermaid()).toContain('cpt["cpt<br/>PyTorchJob 1x4 GPU"]');
  });
});

describe('estimate annotations', () => {
  test('each job carries its estimate; the workflow the sums and the longest chain', () => {
    const pipeline = korean();
    const docs = Testing.synth(Chart.of(pipeline));
    expectValid(docs);
    expectArgoValid(docs);
    const wf = workflowOf(docs);
    const jobs = embeddedManifests(wf);
    expect(jobs).toHaveLength(3);
    for (const job of jobs) expect(Object.keys(job.metadata.annotations).sort()).toEqual([COST, GPU_HOURS, WALL_HOURS]);
    expect(manifestOf(wf, 'cpt').metadata.annotations).toEqual({ [GPU_HOURS]: '102.60', [WALL_HOURS]: '25.65', [COST]: '307.79' });
    const sum = (key: string) => jobs.reduce((a, j) => a + cents(j.metadata.annotations[key]), 0);
    expect(cents(wf.metadata.annotations[GPU_HOURS])).toBe(sum(GPU_HOURS));
    expect(cents(wf.metadata.annotations[COST])).toBe(sum(COST));
    // a chain: the run's wall hours are the stages' in turn
    expect(cents(wf.metadata.annotations[WALL_HOURS])).toBe(sum(WALL_HOURS));
    expect(wf.metadata.annotations).toEqual({ [GPU_HOURS]: '119.63', [WALL_HOURS]: '34.16', [COST]: '358.88' });
  });

  test('parallel branches: wall hours of the longest chain, not the sum', () => {
    const { pipeline, cpt, a, b } = branched();
    const wf = workflowOf(Testing.synth(Chart.of(pipeline)));
    const hours = (s: { estimate?: TrainingEstimate }) => Math.round(s.estimate!.wallHours * 100);
    expect(cents(wf.metadata.annotations[WALL_HOURS])).toBe(hours(cpt) + Math.max(hours(a), hours(b)));
    expect(cents(wf.metadata.annotations[GPU_HOURS])).toBe([cpt, a, b].reduce((x, s) => x + Math.round(s.estimate!.gpuHours * 100), 0));
  });

  test('no estimate anywhere: no annotations (the output is unchanged)', () => {
    const docs = Testing.synth(Chart.of(korean({ cpt: {}, sft: {}, rlhf: {} })));
    const wf = workflowOf(docs);
    expect(wf.metadata.annotations).toBeUndefined();
    for (const job of embeddedManifests(wf)) expect(job.metadata.annotations).toBeUndefined();
  });

  test('a GpuTrainingJob of your own takes an estimate through the step options', () => {
    const pipeline = new Pipeline(newChart(), 'pipeline', { image: IMAGE, name: 'demo', budget: { maxGpuHours: 100 } });
    const job = new GpuTrainingJob(pipeline, 'pretrain', { image: IMAGE, command: ['python', 'train.py'], gpusPerNode: 8, nodes: 2 });
    const estimate = TrainingEstimate.compute({
      modelParameters: 1e9, trainTokens: 2e10, method: TrainingMethod.FULL, gpuType: GpuType.B200, gpus: 16,
    });
    pipeline.addStage(job, { estimate });
    // 6 x 1e9 x 2e10 = 1.2e20 FLOPs / (2250e12 x 0.35) = 152,380.95 GPU-seconds = 42.33 GPU-hours
    expect(pipeline.plan()[0]).toMatchObject({ estimated: true, gpus: 16, gpuHours: 42.33, wallHours: 2.65, method: TrainingMethod.FULL });
    expect(pipeline.node.validate()).toEqual([]);
    const wf = workflowOf(Testing.synth(Chart.of(pipeline)));
    expect(manifestOf(wf, 'pretrain').metadata.annotations).toEqual({ [GPU_HOURS]: '42.33', [WALL_HOURS]: '2.65' });
  });

  test('fails when a step estimate is given for another GPU count, or for a stage with a plan', () => {
    const pipeline = new Pipeline(newChart(), 'pipeline', { image: IMAGE, name: 'demo' });
    const job = new GpuTrainingJob(pipeline, 'pretrain', { image: IMAGE, trainerCommand: TrainerCommand.CPT, gpusPerNode: 8 });
    const estimate = TrainingEstimate.compute({ modelParameters: 1e9, trainTokens: 1e9, method: TrainingMethod.FULL, gpuType: H100, gpus: 4 });
    expect(() => pipeline.addStage(job, { estimate })).toThrow('\'estimate\' must be an estimate for the job\'s 8 GPUs, got \'an estimate for 4 GPUs\'');
    const sft = new SftStage(pipeline, 'sft', { image: IMAGE, baseModel: BaseModel.huggingFace(BASE), plan: { gpuType: H100, tokens: 1e6 } });
    expect(() => pipeline.addStage(sft, { estimate })).toThrow(/'estimate' must be unset for stage 'test\/pipeline\/sft', which has its own from its 'plan'/);
  });
});

describe('budget', () => {
  test('within budget: synthesis goes on', () => {
    const pipeline = korean({ budget: { maxGpuHours: 120, maxCost: 360 } });
    expect(pipeline.node.validate()).toEqual([]);
    expect(() => Testing.synth(Chart.of(pipeline))).not.toThrow();
  });

  test('fails when the GPU-hours pass the limit, naming the step that passes it', () => {
    const pipeline = korean({ budget: { maxGpuHours: 110 } });
    const message = 'pipeline test/pipeline is over budget: step \'sft\' takes the estimate to 117.99 GPU-hours, over \'budget.maxGpuHours\' (110); '
      + 'the whole run: 119.63 GPU-hours (cpt 102.60, sft 15.39, rlhf 1.64)';
    expect(pipeline.node.validate()).toEqual([message]);
    const app = Testing.app();
    korean({ budget: { maxGpuHours: 110 } }, newChart(app));
    expect(() => app.synth()).toThrow(message);
  });

  test('fails when the cost passes the limit', () => {
    const pipeline = korean({ budget: { maxCost: 300 } });
    expect(pipeline.node.validate()).toEqual([
      'pipeline test/pipeline is over budget: step \'cpt\' takes the estimated cost to 307.79, over \'budget.maxCost\' (300); '
      + 'the whole run: 358.88 (cpt 307.79, sft 46.17, rlhf 4.92)',
    ]);
  });

  test('both limits are checked', () => {
    expect(korean({ budget: { maxGpuHours: 100, maxCost: 300 } }).node.validate()).toHaveLength(2);
  });

  test('warn level: an annotation on the workflow, no failure', () => {
    const pipeline = korean({ budget: { maxGpuHours: 110, level: BudgetLevel.WARN } });
    expect(pipeline.node.validate()).toEqual([]);
    const wf = workflowOf(Testing.synth(Chart.of(pipeline)));
    expect(wf.metadata.annotations['korean-llm/budget-warning']).toMatch(/^pipeline test\/pipeline is over budget: step 'sft' takes the estimate to 117.99 GPU-hours/);
    const within = workflowOf(Testing.synth(Chart.of(korean({ budget: { maxGpuHours: 200, level: BudgetLevel.WARN } }))));
    expect(within.metadata.annotations['korean-llm/budget-warning']).toBeUndefined();
  });

  test('fails when a training step has no estimate', () => {
    const pipeline = korean({ budget: { maxGpuHours: 500 }, rlhf: {} });
    expect(pipeline.node.validate()).toEqual([
      'pipeline test/pipeline has a budget but training step \'rlhf\' has no estimate: give the stage a \'plan\' (GPU type and tokens), or a job the step option \'estimate\'',
    ]);
  });

  test('fails when a cost limit meets a stage without a price', () => {
    const pipeline = korean({ budget: { maxCost: 500 }, sft: { plan: { gpuType: H100, tokens: 1e8 } } });
    expect(pipeline.node.validate()).toEqual([
      'pipeline test/pipeline: \'budget.maxCost\' needs a cost for every training step, and \'sft\' has none: set \'plan.pricePerGpuHour\'',
    ]);
  });

  test.each([
    [{}, '\'budget\' must be a budget with maxGpuHours or maxCost, got \'{}\''],
    [{ maxGpuHours: 0 }, '\'budget.maxGpuHours\' must be a number greater than 0, got 0'],
    [{ maxCost: -5 }, '\'budget.maxCost\' must be a number greater than 0, got -5'],
    [{ maxCost: 5, level: 'loud' }, '\'budget.level\' must be one of fail, warn, got \'loud\''],
  ])('fails when the budget is %j', (budget, message) => {
    expect(() => new Pipeline(newChart(), 'pipeline', { image: IMAGE, budget: budget as any })).toThrow(message);
  });

  test('a multi-model pipeline sums every branch', () => {
    const pipeline = korean({
      baseModel: undefined,
      models: [{ name: 'qwen', baseModel: BASE }, { name: 'llama', baseModel: 'meta-llama/Llama-3.1-8B' }],
      budget: { maxGpuHours: 150 },
    });
    const rows = pipeline.plan();
    expect(rows.map((r) => r.step)).toEqual(['qwen-cpt', 'qwen-sft', 'qwen-rlhf', 'llama-cpt', 'llama-sft', 'llama-rlhf']);
    expect(pipeline.node.validate()).toEqual([expect.stringMatching(/^pipeline test\/pipeline is over budget: step 'llama-cpt' takes the estimate to /)]);
    // the branches run side by side: the run takes as long as the longer one (Llama's 8.03B parameters)
    expect(PlanTable.totals(rows).wallHours).toBe(rows[5].finishHours);
    expect(rows[5].finishHours).toBeGreaterThan(rows[2].finishHours!);
  });

  test('RlhfStage GRPO inside a pipeline plan', () => {
    const pipeline = new Pipeline(newChart(), 'pipeline', { image: IMAGE, name: 'demo' });
    const rlhf = new RlhfStage(pipeline, 'grpo', {
      image: IMAGE,
      baseModel: BaseModel.huggingFace('Qwen/Qwen2.5-1.5B-Instruct'),
      method: 'grpo' as any,
      loadIn4bit: false,
      plan: { gpuType: GpuType.A100, samples: 10_000, meanTokensPerSample: 200 },
    });
    pipeline.addStage(rlhf);
    expect(pipeline.plan()[0]).toMatchObject({ gpuHours: 4.48, wallHours: 2.24, deadlineHours: 5, method: TrainingMethod.LORA });
  });
});
