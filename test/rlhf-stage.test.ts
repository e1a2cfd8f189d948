import { Testing } from 'cdk8s';
import { BaseModel, PreferenceMethod, RewardFunction, RlhfStage, RlhfStageProps, SftStage } from '../src';
import { expectValid } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
const BASE = BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit');

function synthRlhf(props: Partial<RlhfStageProps> = {}): { stage: RlhfStage; doc: any } {
  const chart = Testing.chart();
  const stage = new RlhfStage(chart, 'rlhf', { image: IMAGE, runId: 'ko-run-1', baseModel: BASE, ...props });
  const docs = Testing.synth(chart);
  expectValid(docs);
  expect(docs).toHaveLength(1);
  return { stage, doc: docs[0] };
}

const container = (doc: any) => doc.spec.pytorchReplicaSpecs.Master.template.spec.containers[0];
const envOf = (doc: any): { [name: string]: any } =>
  Object.fromEntries(container(doc).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe('RlhfStage', () => {
  test('defaults', () => {
    const { doc } = synthRlhf();
    expect(doc).toMatchSnapshot();
  });

  test('is DPO with beta 0.1 by default, on the seed\'s 2 GPUs', () => {
    const { doc, stage } = synthRlhf();
    expect(stage.method).toBe(PreferenceMethod.DPO);
    expect(envOf(doc)).toMatchObject({
      STAGE: 'RLHF',
      RLHF_METHOD: 'dpo',
      RLHF_BETA: '0.1',
      LEARNING_RATE: '0.000005',
      NUM_EPOCHS: '1',
      DATA_PATH: '/data/preference.jsonl',
      OUTPUT_DIR: '/output/runs/ko-run-1/qwen2-5-7b-bnb-4bit/rlhf',
      WANDB_PROJECT: 'korean-llm-rlhf',
    });
    // packing does not apply to preference pairs; GRPO settings only for GRPO
    expect(envOf(doc).PACKING).toBeUndefined();
    expect(envOf(doc).GRPO_REWARD_FUNCS).toBeUndefined();
    expect(container(doc).resources.limits).toEqual({ 'cpu': '16', 'memory': '100Gi', 'nvidia.com/gpu': 2 });
    expect(doc.spec.nprocPerNode).toBe('2');
    expect(container(doc).command).toEqual(['torchrun', '-m', 'korean_llm_trainer', 'rlhf']);
  });

  test.each([PreferenceMethod.ORPO, PreferenceMethod.KTO])('%s sets RLHF_METHOD', (method) => {
    const { doc } = synthRlhf({ method, beta: 0.5 });
    expect(envOf(doc)).toMatchObject({ RLHF_METHOD: method, RLHF_BETA: '0.5' });
  });

  test('GRPO sets its reward functions and generations', () => {
    const { doc } = synthRlhf({ method: PreferenceMethod.GRPO });
    expect(envOf(doc)).toMatchObject({ RLHF_METHOD: 'grpo', GRPO_REWARD_FUNCS: 'korean_ratio,format', GRPO_NUM_GENERATIONS: '8' });
    const custom = synthRlhf({
      method: PreferenceMethod.GRPO,
      rewardFunctions: [RewardFunction.LENGTH, RewardFunction.NO_REPETITION],
      numGenerations: 4,
    });
    expect(envOf(custom.doc)).toMatchObject({ GRPO_REWARD_FUNCS: 'length,no_repetition', GRPO_NUM_GENERATIONS: '4' });
  });

  test('starts from the SFT stage\'s merged model', () => {
    const chart = Testing.chart();
    const sft = new SftStage(chart, 'sft', { image: IMAGE, runId: 'ko-run-1', baseModel: BASE, modelName: 'exaone-7b' });
    new RlhfStage(chart, 'rlhf', { image: IMAGE, runId: 'ko-run-1', baseModel: BaseModel.fromStage(sft) });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const rlhf = docs.find((d) => d.metadata.labels['korean-llm/stage'] === 'rlhf');
    expect(envOf(rlhf)).toMatchObject({
      BASE_MODEL_PATH: '/output/runs/ko-run-1/exaone-7b/sft/model',
      MODEL_NAME: 'exaone-7b',
      OUTPUT_DIR: '/output/runs/ko-run-1/exaone-7b/rlhf',
    });
  });

  test('fails when the method is unknown', () => {
    expect(() => synthRlhf({ method: 'ppo' as PreferenceMethod })).toThrow("'method' must be one of dpo, orpo, kto, grpo, got 'ppo'");
  });

  test('fails when beta is 0', () => {
    expect(() => synthRlhf({ beta: 0 })).toThrow("'beta' must be a number greater than 0 and at most 10, got 0");
  });

  test('fails when GRPO options are given to DPO', () => {
    expect(() => synthRlhf({ rewardFunctions: [RewardFunction.LENGTH] })).toThrow("'rewardFunctions' must be used with PreferenceMethod.GRPO only, got 'dpo'");
    expect(() => synthRlhf({ method: PreferenceMethod.KTO, numGenerations: 4 })).toThrow("'numGenerations' must be used with PreferenceMethod.GRPO only, got 'kto'");
  });

  test('fails when numGenerations is below 2', () => {
    expect(() => synthRlhf({ method: PreferenceMethod.GRPO, numGenerations: 1 })).toThrow("'numGenerations' must be an integer of at least 2, got 1");
  });

  test('fails when the reward functions are empty, unknown or repeated', () => {
    expect(() => synthRlhf({ method: PreferenceMethod.GRPO, rewardFunctions: [] })).toThrow("'rewardFunctions' must be at least one reward function, got '[]'");
    expect(() => synthRlhf({ method: PreferenceMethod.GRPO, rewardFunctions: ['bleu' as RewardFunction] }))
      .toThrow("'rewardFunctions[]' must be one of korean_ratio, length, format, no_repetition, got 'bleu'");
    expect(() => synthRlhf({ method: PreferenceMethod.GRPO, rewardFunctions: [RewardFunction.FORMAT, RewardFunction.FORMAT] }))
      .toThrow("'rewardFunctions' must be unique: it appears more than once, got 'format'");
  });

  test('fails when env sets a variable the method props own', () => {
    expect(() => synthRlhf({ env: { RLHF_METHOD: 'kto' } }))
      .toThrow("'env' must be a name not already set (each variable may be set once; the stage sets the contract variables itself), got 'RLHF_METHOD'");
  });
});
