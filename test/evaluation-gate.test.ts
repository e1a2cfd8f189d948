import * as fs from 'fs';
import * as path from 'path';
import { App, Chart, Testing } from 'cdk8s';
import { koreanLlmPlatform } from '../examples/korean-llm-platform';
import { KoreanBenchmark, KoreanLlmPipeline, KoreanLlmPipelineProps, SecretKey, VllmServer } from '../src';
import { envOf, evaluateWhen, expectArgoValid, taskOf, templateOf } from './util/argo';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';

function workflowOf(docs: any[]): any {
  return docs.find((d) => d.kind === 'Workflow');
}

function build(evaluation: KoreanLlmPipelineProps['evaluation'], withServer = true): any {
  const app = Testing.app();
  const chart = new Chart(app, 'c', { namespace: 'llm' });
  const server = withServer ? new VllmServer(chart, 'vllm', { image: 'vllm/vllm-openai:v0.11.0', modelPath: '/output/serving/current' }) : undefined;
  new KoreanLlmPipeline(chart, 'p', { image: IMAGE, baseModel: 'unsloth/Qwen2.5-7B-bnb-4bit', server, evaluation, preprocess: { enabled: false } });
  return workflowOf(Testing.synth(chart));
}

/** Argo's substitution of the deploy task's `when`: every output the evaluate step writes, and the parameter defaults. */
function simulate(wf: any, outputs: { [name: string]: string }, overrides: { [name: string]: string } = {}): boolean {
  const when = taskOf(wf, 'deploy').when;
  const values: { [placeholder: string]: string } = {};
  for (const p of wf.spec.arguments.parameters) values[`workflow.parameters.${p.name}`] = overrides[p.name] ?? p.value;
  for (const [n, val] of Object.entries(outputs)) values[`tasks.evaluate.outputs.parameters.${n}`] = val;
  return evaluateWhen(when, values);
}

describe('the main example gates on each task, the mean and English retention', () => {
  const wf = workflowOf(Testing.synth(koreanLlmPlatform(Testing.app() as App)));
  // what the trainer writes when everything holds
  const good = { 'score': '0.6100', 'score-kobest': '0.6800', 'score-kmmlu': '0.4700', 'score-haerae': '0.5300', 'retention': '0.9850', 'champion-margin': '1.0000' };

  test('the deploy when compares numbers: unquoted placeholders, one clause per check', () => {
    const when: string = taskOf(wf, 'deploy').when;
    expect(when.split(' && ')).toEqual([
      '{{tasks.evaluate.outputs.parameters.score}} >= {{workflow.parameters.min-score}}',
      '{{tasks.evaluate.outputs.parameters.score-kobest}} >= {{workflow.parameters.min-kobest}}',
      '{{tasks.evaluate.outputs.parameters.score-kmmlu}} >= {{workflow.parameters.min-kmmlu}}',
      '{{tasks.evaluate.outputs.parameters.retention}} >= {{workflow.parameters.min-retention}}',
    ]);
    expect(when).not.toMatch(/'\{\{/);
    const params = Object.fromEntries(wf.spec.arguments.parameters.map((p: any) => [p.name, p.value]));
    expect(params).toMatchObject({ 'min-score': '0.55', 'min-kobest': '0.6', 'min-kmmlu': '0.45', 'min-retention': '0.97' });
    expect(params['min-haerae']).toBeUndefined();
    expectArgoValid([wf]);
  });

  test('deploy runs when every threshold and retention hold', () => {
    expect(simulate(wf, good)).toBe(true);
    // exactly at the minimums
    expect(simulate(wf, { ...good, 'score': '0.5500', 'score-kobest': '0.6000', 'score-kmmlu': '0.4500', 'retention': '0.9700' })).toBe(true);
  });

  test.each([
    ['kmmlu below its minimum though the mean holds', { 'score-kmmlu': '0.4499' }],
    ['kobest below its minimum', { 'score-kobest': '0.5900' }],
    ['the mean below min-score', { score: '0.5400' }],
    ['English retention below 97 % of the base', { retention: '0.9600' }],
  ])('deploy is skipped when %s', (_name, bad) => {
    expect(simulate(wf, { ...good, ...bad })).toBe(false);
  });

  test('each threshold is a workflow parameter overridable at submit', () => {
    expect(simulate(wf, { ...good, 'score-kmmlu': '0.4700' }, { 'min-kmmlu': '0.5' })).toBe(false);
    expect(simulate(wf, { ...good, retention: '0.9600' }, { 'min-retention': '0.95' })).toBe(true);
  });

  test('the evaluate step declares one output per task and per check, read from the files the trainer writes', () => {
    const outputs = templateOf(wf, 'evaluate').outputs.parameters;
    expect(outputs.map((o: any) => o.name)).toEqual(['score', 'score-kobest', 'score-kmmlu', 'score-haerae', 'retention', 'champion-margin', 'summary']);
    expect(outputs[2]).toEqual({ name: 'score-kmmlu', valueFrom: { path: '/tmp/scores/score-kmmlu' } });
  });

  test('the evaluate step gets the thresholds the when applies, the base model and the cache', () => {
    const env = envOf(templateOf(wf, 'evaluate').container);
    expect(env).toMatchObject({
      EVAL_TASKS: 'kobest,kmmlu,haerae',
      EVAL_MIN_SCORES: 'kobest={{workflow.parameters.min-kobest}},kmmlu={{workflow.parameters.min-kmmlu}}',
      EVAL_MIN_SCORE: '{{workflow.parameters.min-score}}',
      EVAL_RETENTION_TASKS: 'mmlu,arc_easy,hellaswag',
      EVAL_BASE_MODEL: '{{workflow.parameters.base-model}}',
      EVAL_MIN_RETENTION: '{{workflow.parameters.min-retention}}',
      EVAL_CACHE_DIR: '/output/eval-cache',
      EVAL_SCORES_DIR: '/tmp/scores',
    });
  });
});

describe('champion vs challenger and the judged task', () => {
  const wf = build({
    benchmarks: [KoreanBenchmark.KMMLU],
    champion: { modelPath: '/output/serving/current', tolerance: 0.02 },
    judge: { promptsPath: '/data/logickor.jsonl', endpoint: 'https://judge.example.com/v1', model: 'judge-large', apiKey: SecretKey.of('judge', 'key'), minScore: 0.7 },
  });
  const good = { 'score': '0.6', 'score-kmmlu': '0.5', 'score-logickor': '0.75', 'retention': '1.0000', 'champion-margin': '0.0050' };

  test('the champion margin and the judged score gate the deployment', () => {
    expect(simulate(wf, good)).toBe(true);
    expect(simulate(wf, { ...good, 'champion-margin': '-0.0010' })).toBe(false);
    expect(simulate(wf, { ...good, 'score-logickor': '0.6900' })).toBe(false);
    expect(simulate(wf, { ...good, 'champion-margin': '1.0000' })).toBe(true); // no champion yet: the trainer writes 1
  });

  test('the judge reaches the trainer by reference', () => {
    const container = templateOf(wf, 'evaluate').container;
    const env = envOf(container);
    expect(env).toMatchObject({
      JUDGE_PROMPTS_PATH: '/data/logickor.jsonl',
      JUDGE_TASK: 'logickor',
      JUDGE_ENDPOINT: 'https://judge.example.com/v1',
      JUDGE_MODEL: 'judge-large',
      EVAL_CHAMPION_PATH: '{{workflow.parameters.champion-model-path}}',
      EVAL_CHAMPION_TOLERANCE: '{{workflow.parameters.champion-tolerance}}',
    });
    const key = container.env.find((e: any) => e.name === 'JUDGE_API_KEY');
    expect(key.valueFrom.secretKeyRef).toMatchObject({ name: 'judge', key: 'key' });
    expect(key.value).toBeUndefined();
    expect(templateOf(wf, 'evaluate').outputs.parameters.map((o: any) => o.name)).toContain('score-logickor');
  });

  test('a local judge model instead of an endpoint', () => {
    const local = build({ judge: { promptsPath: '/data/komt.jsonl', judgeModelPath: '/output/judges/qwen-72b', taskName: 'komt_bench' } });
    expect(envOf(templateOf(local, 'evaluate').container)).toMatchObject({ JUDGE_MODEL_PATH: '/output/judges/qwen-72b', JUDGE_TASK: 'komt_bench' });
    expect(taskOf(local, 'deploy').when).not.toContain('komt_bench'); // no minimum: reported only
  });
});

describe('fails at synth time', () => {
  test('fails when a benchmark minimum is outside 0..1', () => {
    expect(() => KoreanBenchmark.KMMLU.withMinimum(45)).toThrow('\'minimum of benchmark \'kmmlu\'\' must be a number from 0 to 1, got 45');
  });

  test('fails when a minimum is given without a server', () => {
    expect(() => build({ benchmarks: [KoreanBenchmark.KMMLU.withMinimum(0.4)] }, false))
      .toThrow('\'evaluation.benchmarks[\'kmmlu\'].minScore\' must be unset without \'server\' (no deploy step to gate), got 0.4');
    expect(() => build({ retention: {} }, false))
      .toThrow('\'evaluation.retention\' must be unset without \'server\' (no deploy step to gate), got \'mmlu,arc_easy,hellaswag\'');
  });

  test('fails when the retention set is wrong', () => {
    expect(() => build({ retention: { minRetention: 1.2 } })).toThrow('\'evaluation.retention.minRetention\' must be a number from 0 to 1, got 1.2');
    expect(() => build({ retention: { tasks: ['kmmlu'] } })).toThrow('\'evaluation.retention.tasks[]\' must be a task that is not also a benchmark, got \'kmmlu\'');
  });

  test('fails when the judge has no single source', () => {
    expect(() => build({ judge: { promptsPath: '/data/p.jsonl' } }))
      .toThrow('\'evaluation.judge\' must be given exactly one of \'endpoint\' (an OpenAI-compatible judge) and \'judgeModelPath\' (a local judge served by vLLM), got \'neither\'');
    expect(() => build({ judge: { promptsPath: '/data/p.jsonl', endpoint: 'https://j/v1' } }))
      .toThrow('\'evaluation.judge.model\' must be the judge\'s model name at \'endpoint\', got undefined');
    expect(() => build({ judge: { promptsPath: 'p.jsonl', judgeModelPath: '/m' } })).toThrow('\'evaluation.judge.promptsPath\'');
  });

  test('fails when the user env sets a variable of the gate', () => {
    expect(() => build({ retention: {}, env: { EVAL_BASE_MODEL: 'x' } }))
      .toThrow('\'evaluation.env\' must be a variable the evaluation gate does not set itself, got \'EVAL_BASE_MODEL\'');
  });
});

test('each benchmark carries the metric the trainer scores it by (the same table as the trainer\'s)', () => {
  expect(KoreanBenchmark.KOBEST.metric).toBe('acc');
  expect(KoreanBenchmark.HAERAE.metric).toBe('acc_norm');
  expect(KoreanBenchmark.of('kmmlu_direct_law').metric).toBe('exact_match');
  expect(KoreanBenchmark.of('kmmlu_hard').metric).toBe('acc');
  const source = fs.readFileSync(path.join(__dirname, '..', 'python', 'korean_llm_trainer', 'evaluate.py'), 'utf-8');
  const table = /PRIMARY_METRIC = \{([\s\S]*?)\n\}/.exec(source)![1];
  const entries = [...table.matchAll(/"([a-z_]+)": "([a-z_]+)"/g)];
  expect(entries.length).toBeGreaterThan(5);
  for (const [, task, metric] of entries) expect([task, KoreanBenchmark.custom(task).metric]).toEqual([task, metric]);
});
