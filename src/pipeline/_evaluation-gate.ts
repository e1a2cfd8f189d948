/**
 * The evaluation gate's wiring (internal): per-task minimums, English retention, champion vs
 * challenger and the judged task become workflow parameters, the evaluate step's env and output
 * parameters (the trainer writes one file per task score and per check, see
 * `korean_llm_trainer/gate.py`), and conditions of the deploy step's `when`, added through
 * `Pipeline.addDeploymentGate` (unquoted placeholders: govaluate compares numbers).
 */
import { ChampionOptions, JudgeOptions, RetentionOptions } from './evaluation-gate';
import { KoreanBenchmark } from './korean-benchmark';
import type { Pipeline } from './pipeline';
import type { PipelineStep } from './step';
import * as v from '../_validate';
import { SecretKey } from '../secret-key';

/** What the gate gives the evaluate step and the deploy step. */
export interface GatePlan {
  readonly env: { [name: string]: string };
  readonly secretEnv: { [name: string]: SecretKey };
  /** Conditions to add to the deploy step, on the evaluate step's outputs. */
  readonly gates: { output: string; minValue: number; parameterName: string }[];
}

/** Where the trainer writes the gate's files (`EVAL_SCORES_DIR`). */
export const SCORES_DIR = '/tmp/scores';
const DEFAULT_RETENTION_TASKS = ['mmlu', 'arc_easy', 'hellaswag'];

/** The output parameter of a task's score: `score-kmmlu` (`.` spelt `-`, as the trainer does). */
export function scoreOutput(taskName: string): string {
  return `score-${taskName.replace(/\./g, '-')}`;
}

/**
 * The output files the trainer's evaluate command writes: one per task, the judged task (when
 * `JUDGE_PROMPTS_PATH` is set), `retention`, `champion-margin` and `summary`.
 */
export function gateOutputFiles(benchmarks: KoreanBenchmark[], env: { [name: string]: string }): { [name: string]: string } {
  const tasks = benchmarks.map((b) => b.taskName);
  if (env.JUDGE_PROMPTS_PATH) tasks.push(env.JUDGE_TASK ?? 'judged');
  const files: { [name: string]: string } = {};
  for (const n of [...tasks.map(scoreOutput), 'retention', 'champion-margin', 'summary']) files[n] = `${SCORES_DIR}/${n}`;
  return files;
}

/** Options of the gate. */
export interface GateOptions {
  readonly benchmarks: KoreanBenchmark[];
  /** The aggregate's minimum (undefined without a deploy step). */
  readonly minScore?: number;
  readonly retention?: RetentionOptions;
  readonly champion?: ChampionOptions;
  readonly judge?: JudgeOptions;
  /** The base model's Hugging Face id or path (a parameter reference). */
  readonly baseModel: string;
  /** The output volume's mount path (the base scores' cache lives there). */
  readonly outputPath: string;
  /** Whether a deploy step exists: every minimum needs one. */
  readonly deploy: boolean;
}

/**
 * Validates the gate, declares its workflow parameters and gives the evaluate step's env. The
 * parameters exist before the evaluate step, so its report shows the thresholds the deploy `when`
 * applies, even when they are overridden at submit.
 */
export function planGate(pipeline: Pipeline, o: GateOptions): GatePlan {
  const env: { [name: string]: string } = {};
  const secretEnv: { [name: string]: SecretKey } = {};
  const gates: { output: string; minValue: number; parameterName: string }[] = [];
  const minimums: string[] = [];
  const needDeploy = (prop: string, value: unknown) => {
    if (!o.deploy) v.fail(prop, value, 'unset without \'server\' (no deploy step to gate)');
  };
  const param = (name: string, value: string, description: string) =>
    pipeline.parameters.find((p) => p.name === name) ?? pipeline.addParameter(name, value, description);
  const minimum = (task: string, value: number, prop: string) => {
    v.numberIn(prop, value, 0, 1);
    needDeploy(prop, value);
    const name = `min-${task.replace(/\./g, '-')}`;
    minimums.push(`${task}=${param(name, String(value), `lowest '${task}' score (0..1) that deploys`).ref}`);
    gates.push({ output: scoreOutput(task), minValue: value, parameterName: name });
  };

  for (const b of o.benchmarks) if (b.minScore !== undefined) minimum(b.taskName, b.minScore, `evaluation.benchmarks['${b.taskName}'].minScore`);

  const j = o.judge;
  if (j) {
    v.absolutePath('evaluation.judge.promptsPath', j.promptsPath);
    const task = j.taskName ?? 'logickor';
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(task)) v.fail('evaluation.judge.taskName', task, 'letters, digits, \'_\', \'.\', \'-\'');
    if (o.benchmarks.some((b) => b.taskName === task)) v.fail('evaluation.judge.taskName', task, 'a name no benchmark has');
    if ((j.endpoint === undefined) === (j.judgeModelPath === undefined)) {
      v.fail('evaluation.judge', j.endpoint ?? j.judgeModelPath ?? 'neither', 'given exactly one of \'endpoint\' (an OpenAI-compatible judge) and \'judgeModelPath\' (a local judge served by vLLM)');
    }
    if (j.endpoint !== undefined) {
      if (!/^https?:\/\/\S+$/.test(j.endpoint)) v.fail('evaluation.judge.endpoint', j.endpoint, 'an http(s) URL');
      if (!j.model) v.fail('evaluation.judge.model', j.model, 'the judge\'s model name at \'endpoint\'');
      env.JUDGE_ENDPOINT = j.endpoint;
      env.JUDGE_MODEL = j.model;
      if (j.apiKey) secretEnv.JUDGE_API_KEY = j.apiKey;
    } else {
      v.absolutePath('evaluation.judge.judgeModelPath', j.judgeModelPath);
      if (j.model || j.apiKey) v.fail('evaluation.judge.model/apiKey', j.model ?? 'apiKey', 'unset with \'judgeModelPath\' (they describe an endpoint)');
      env.JUDGE_MODEL_PATH = j.judgeModelPath!;
    }
    if (j.candidateEndpoint !== undefined) {
      if (!/^https?:\/\/\S+$/.test(j.candidateEndpoint)) v.fail('evaluation.judge.candidateEndpoint', j.candidateEndpoint, 'an http(s) URL');
      env.CANDIDATE_ENDPOINT = j.candidateEndpoint;
      if (j.candidateModel) env.CANDIDATE_MODEL = j.candidateModel;
    } else if (j.candidateModel) {
      v.fail('evaluation.judge.candidateModel', j.candidateModel, 'unset without \'candidateEndpoint\'');
    }
    env.JUDGE_PROMPTS_PATH = j.promptsPath;
    env.JUDGE_TASK = task;
    if (j.minScore !== undefined) minimum(task, j.minScore, 'evaluation.judge.minScore');
  }

  const r = o.retention;
  if (r) {
    const tasks = r.tasks ?? DEFAULT_RETENTION_TASKS;
    if (tasks.length === 0) v.fail('evaluation.retention.tasks', '[]', 'at least one English task');
    for (const t of tasks) {
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(t)) v.fail('evaluation.retention.tasks[]', t, 'an lm-evaluation-harness task name');
      if (o.benchmarks.some((b) => b.taskName === t)) v.fail('evaluation.retention.tasks[]', t, 'a task that is not also a benchmark');
    }
    v.uniqueKeys('evaluation.retention.tasks', tasks);
    const min = r.minRetention ?? 0.97;
    v.numberIn('evaluation.retention.minRetention', min, 0, 1);
    needDeploy('evaluation.retention', tasks.join(','));
    env.EVAL_RETENTION_TASKS = tasks.join(',');
    env.EVAL_BASE_MODEL = o.baseModel;
    env.EVAL_CACHE_DIR = `${o.outputPath}/eval-cache`;
    env.EVAL_MIN_RETENTION = param('min-retention', String(min), 'lowest English retention (candidate / base model) that deploys').ref;
    gates.push({ output: 'retention', minValue: min, parameterName: 'min-retention' });
  }

  const c = o.champion;
  if (c) {
    v.absolutePath('evaluation.champion.modelPath', c.modelPath);
    const tolerance = c.tolerance ?? 0.01;
    v.numberIn('evaluation.champion.tolerance', tolerance, 0, 1);
    needDeploy('evaluation.champion', c.modelPath);
    env.EVAL_CHAMPION_PATH = param('champion-model-path', c.modelPath, 'the deployed model (champion) the candidate must match').ref;
    env.EVAL_CHAMPION_TOLERANCE = param('champion-tolerance', String(tolerance), 'how far below the champion\'s score the candidate may be').ref;
    // the trainer writes candidate - champion + tolerance: >= 0 passes
    gates.push({ output: 'champion-margin', minValue: 0, parameterName: 'min-champion-margin' });
  }

  if (minimums.length > 0) env.EVAL_MIN_SCORES = minimums.join(',');
  if (o.deploy) {
    env.EVAL_MIN_SCORE = param('min-score', String(o.minScore ?? 0.5), 'lowest evaluation score (0..1) that deploys').ref;
  }
  if (Object.keys(env).length > 0) env.EVAL_SCORES_DIR = SCORES_DIR;
  return { env, secretEnv, gates };
}

/** Adds the gate's conditions to the deploy step. */
export function wireGate(pipeline: Pipeline, plan: GatePlan, evaluation: PipelineStep, deploy: PipelineStep): void {
  for (const g of plan.gates) {
    pipeline.addDeploymentGate(deploy, { step: evaluation, output: g.output, minValue: g.minValue, parameterName: g.parameterName });
  }
}
