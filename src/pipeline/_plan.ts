// A pipeline's plan: the estimate of each training step, the rows of `pipeline.plan()`, the
// workflow's total annotations, the budget guard and the estimate in the Mermaid labels.

import { ApiObject, Lazy } from 'cdk8s';
import { Node } from 'constructs';
import { Budget, BudgetLevel, PlanRow, PlanTable } from './plan';
import { PipelineStep } from './step';
import * as v from '../_validate';
import { annotateEstimate } from '../training/_stage-estimate';
import { TrainingEstimate } from '../training/estimate';
import { GpuTrainingJob } from '../training/gpu-training-job';
import { TrainingStage } from '../training/training-stage';

/** The annotation a warn-level budget writes on the workflow. */
export const BUDGET_WARNING_ANNOTATION = 'korean-llm/budget-warning';
/** The annotation listing training steps without an estimate (when others have one). */
export const UNESTIMATED_ANNOTATION = 'korean-llm/unestimated-steps';

/** Estimates given to plain jobs through the step options. */
const given = new WeakMap<GpuTrainingJob, TrainingEstimate>();

/** The job's estimate: a stage's own (from its plan), or one given with the step. */
export function estimateOf(job: GpuTrainingJob): TrainingEstimate | undefined {
  return (job instanceof TrainingStage ? job.estimate : undefined) ?? given.get(job);
}

/** Gives a job an estimate through the step options, and annotates its object like a stage's. */
export function attachEstimate(job: GpuTrainingJob, estimate: TrainingEstimate): void {
  if (job instanceof TrainingStage && job.estimate) {
    v.fail('estimate', 'a TrainingEstimate', `unset for stage '${job.node.path}', which has its own from its 'plan'`);
  }
  if (estimate.gpus !== job.totalGpus) {
    v.fail('estimate', `an estimate for ${estimate.gpus} GPUs`, `an estimate for the job's ${job.totalGpus} GPUs`);
  }
  given.set(job, estimate);
  annotateEstimate(job.apiObject, estimate);
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** One row per training step, in the order the steps were added. */
export function planRows(steps: PipelineStep[]): PlanRow[] {
  const finish = new Map<PipelineStep, number | undefined>();
  const visiting = new Set<PipelineStep>();
  // the earliest finish of a step if each starts when its dependencies end; undefined when unknown
  const finishOf = (s: PipelineStep): number | undefined => {
    if (finish.has(s)) return finish.get(s);
    if (visiting.has(s)) return undefined; // a cycle (reported by validation)
    visiting.add(s);
    const start = startOf(s);
    const e = s.job ? estimateOf(s.job) : undefined;
    const result = start === undefined || (s.job && !e) ? undefined : round2(start + (e ? round2(e.wallHours) : 0));
    visiting.delete(s);
    finish.set(s, result);
    return result;
  };
  const startOf = (s: PipelineStep): number | undefined => {
    let start = 0;
    for (const d of s.dependencies) {
      const f = finishOf(d);
      if (f === undefined) return undefined;
      start = Math.max(start, f);
    }
    return start;
  };
  return steps.filter((s) => s.job).map((s) => {
    const job = s.job!;
    const e = estimateOf(job);
    const common = {
      step: s.name,
      stage: job.trainerCommand,
      gpus: job.totalGpus,
      deadlineHours: round2(v.seconds(job.activeDeadline) / 3600),
      estimated: e !== undefined,
    };
    if (!e) return common;
    return {
      ...common,
      gpuType: e.gpuType.name,
      method: e.method,
      trainTokens: e.trainTokens,
      utilization: e.utilization,
      wallHours: round2(e.wallHours),
      gpuHours: round2(e.gpuHours),
      cost: e.cost === undefined ? undefined : round2(e.cost),
      startHours: startOf(s),
      finishHours: finishOf(s),
    };
  });
}

/**
 * The budget's breaches: for each limit, the step at which the running total of the steps (in the
 * order they were added) first passes it; or the steps the check cannot see.
 */
export function budgetProblems(path: string, rows: PlanRow[], budget: Budget): string[] {
  const missing = rows.filter((r) => !r.estimated).map((r) => `'${r.step}'`);
  if (missing.length > 0) {
    return [`pipeline ${path} has a budget but training step${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ha${missing.length > 1 ? 've' : 's'} no estimate: give the stage a 'plan' (GPU type and tokens), or a job the step option 'estimate'`];
  }
  const problems: string[] = [];
  const check = (prop: string, limit: number | undefined, what: string, unit: string, valueOf: (r: PlanRow) => number | undefined) => {
    if (limit === undefined) return;
    const unpriced = rows.filter((r) => valueOf(r) === undefined).map((r) => `'${r.step}'`);
    if (unpriced.length > 0) {
      problems.push(`pipeline ${path}: '${prop}' needs a cost for every training step, and ${unpriced.join(', ')} ha${unpriced.length > 1 ? 've' : 's'} none: set 'plan.pricePerGpuHour'`);
      return;
    }
    let total = 0;
    for (const r of rows) {
      total += Math.round(valueOf(r)! * 100);
      if (total / 100 > limit) {
        const items = rows.map((x) => `${x.step} ${valueOf(x)!.toFixed(2)}`).join(', ');
        const all = rows.reduce((a, x) => a + Math.round(valueOf(x)! * 100), 0) / 100;
        problems.push(`pipeline ${path} is over budget: step '${r.step}' takes the ${what} to ${(total / 100).toFixed(2)}${unit}, over '${prop}' (${limit}); `
          + `the whole run: ${all.toFixed(2)}${unit} (${items})`);
        return;
      }
    }
  };
  check('budget.maxGpuHours', budget.maxGpuHours, 'estimate', ' GPU-hours', (r) => r.gpuHours);
  check('budget.maxCost', budget.maxCost, 'estimated cost', '', (r) => r.cost);
  return problems;
}

/** Checks a budget's props. */
export function checkBudget(budget: Budget | undefined): void {
  if (!budget) return;
  if (budget.maxGpuHours === undefined && budget.maxCost === undefined) v.fail('budget', '{}', 'a budget with maxGpuHours or maxCost');
  for (const [prop, value] of [['budget.maxGpuHours', budget.maxGpuHours], ['budget.maxCost', budget.maxCost]] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) v.fail(prop, value, 'a number greater than 0');
  }
  if (budget.level !== undefined && !Object.values(BudgetLevel).includes(budget.level)) {
    v.fail('budget.level', budget.level, `one of ${Object.values(BudgetLevel).join(', ')}`);
  }
}

/** What the plan needs of its pipeline. */
export interface PlannedPipeline {
  readonly node: Node;
  readonly allSteps: PipelineStep[];
}

/**
 * Wires a pipeline's plan into its workflow: the total annotations (computed at synthesis, when
 * every step is known), the warn-level budget annotation, and the fail-level budget validation.
 */
export function wirePlan(pipeline: PlannedPipeline, resource: ApiObject, budget: Budget | undefined): void {
  const rows = () => planRows(pipeline.allSteps);
  const totals = () => {
    const r = rows();
    return r.some((x) => x.estimated) ? PlanTable.totals(r) : undefined;
  };
  const lazy = (produce: () => string | undefined) => Lazy.any({ produce }) as any as string;
  const m = resource.metadata;
  m.addAnnotation(TrainingEstimate.GPU_HOURS_ANNOTATION, lazy(() => totals()?.gpuHours.toFixed(2)));
  m.addAnnotation(TrainingEstimate.WALL_HOURS_ANNOTATION, lazy(() => totals()?.wallHours?.toFixed(2)));
  m.addAnnotation(TrainingEstimate.COST_ANNOTATION, lazy(() => totals()?.cost?.toFixed(2)));
  m.addAnnotation(UNESTIMATED_ANNOTATION, lazy(() => {
    const t = totals();
    return t && t.unestimatedSteps.length > 0 ? t.unestimatedSteps.join(',') : undefined;
  }));
  if (!budget) return;
  const problems = () => budgetProblems(pipeline.node.path, rows(), budget);
  if ((budget.level ?? BudgetLevel.FAIL) === BudgetLevel.WARN) {
    m.addAnnotation(BUDGET_WARNING_ANNOTATION, lazy(() => (problems().length > 0 ? problems().join('; ') : undefined)));
  } else {
    pipeline.node.addValidation({ validate: problems });
  }
}

/** The estimate in a training step's Mermaid label (empty without one). */
export function estimateLabel(job: GpuTrainingJob): string {
  const e = estimateOf(job);
  if (!e) return '';
  return `<br/>est. ${e.wallHours.toFixed(2)} h, ${e.gpuHours.toFixed(2)} GPU-h${e.cost === undefined ? '' : `, cost ${e.cost.toFixed(2)}`}`;
}
