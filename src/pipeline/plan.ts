import { TrainingMethod } from '../training/estimate';

/**
 * What a budget breach does at synthesis.
 */
export enum BudgetLevel {
  /** Synthesis fails with a message naming the step that takes the estimate past the limit. */
  FAIL = 'fail',
  /** Synthesis goes on; the workflow carries the message in the annotation `korean-llm/budget-warning`. */
  WARN = 'warn',
}

/**
 * The most a pipeline run may cost, checked against the training stages' estimates at synthesis.
 * Every training step must then have an estimate (a stage `plan`, or `estimate` in the step options).
 */
export interface Budget {
  /**
   * The most GPU-hours of all training steps together.
   * @default - no limit on GPU-hours
   */
  readonly maxGpuHours?: number;
  /**
   * The most cost of all training steps together (every stage needs `plan.pricePerGpuHour`).
   * @default - no limit on cost
   */
  readonly maxCost?: number;
  /**
   * What a breach does.
   * @default BudgetLevel.FAIL
   */
  readonly level?: BudgetLevel;
}

/**
 * One training step of a pipeline's plan (`pipeline.plan()`). Hours and cost are rounded to two
 * decimals, the values of the jobs' annotations; totals add the rounded values.
 */
export interface PlanRow {
  /** The step's name in the DAG. */
  readonly step: string;
  /**
   * The trainer command (`cpt`, `sft`, `rlhf`).
   * @default - a job running a command of its own
   */
  readonly stage?: string;
  /** GPUs of the job (per node x nodes). */
  readonly gpus: number;
  /** The longest one attempt of the job may run (`activeDeadline`), in hours. */
  readonly deadlineHours: number;
  /**
   * Whether the step has an estimate (the fields below are set only then).
   */
  readonly estimated: boolean;
  /**
   * The GPU model.
   * @default - no estimate
   */
  readonly gpuType?: string;
  /**
   * How the weights are trained.
   * @default - no estimate
   */
  readonly method?: TrainingMethod;
  /**
   * Tokens trained, all epochs.
   * @default - no estimate
   */
  readonly trainTokens?: number;
  /**
   * The utilisation assumed (or implied by a measured throughput).
   * @default - no estimate
   */
  readonly utilization?: number;
  /**
   * Estimated wall-clock hours of the job.
   * @default - no estimate
   */
  readonly wallHours?: number;
  /**
   * Estimated GPU-hours.
   * @default - no estimate
   */
  readonly gpuHours?: number;
  /**
   * Estimated cost.
   * @default - no estimate, or no price
   */
  readonly cost?: number;
  /**
   * When the job would start, in hours from the run's start, if every step started as soon as the
   * steps it depends on finished and only training steps took time.
   * @default - unknown (a training step before it has no estimate)
   */
  readonly startHours?: number;
  /**
   * When the job would finish, in the same terms as `startHours`.
   * @default - unknown
   */
  readonly finishHours?: number;
}

/**
 * Totals of a plan.
 */
export interface PlanTotals {
  /** GPU-hours of the estimated steps. */
  readonly gpuHours: number;
  /**
   * Cost of the estimated steps, when every one has a price.
   * @default - a step without a price
   */
  readonly cost?: number;
  /**
   * Wall hours of the longest chain of training steps (the latest `finishHours`).
   * @default - unknown (a step without an estimate)
   */
  readonly wallHours?: number;
  /** Training steps without an estimate. */
  readonly unestimatedSteps: string[];
}

/**
 * Renders a pipeline's plan for people: a Markdown table for a pull-request comment.
 */
export class PlanTable {
  /** The totals of the rows: sums of the rounded values, and the latest finish. */
  public static totals(rows: PlanRow[]): PlanTotals {
    const estimated = rows.filter((r) => r.estimated);
    const cents = (x: number | undefined) => Math.round((x ?? 0) * 100);
    const sum = (xs: (number | undefined)[]) => xs.reduce<number>((a, x) => a + cents(x), 0) / 100;
    const priced = estimated.every((r) => r.cost !== undefined);
    const finishes = rows.map((r) => r.finishHours);
    return {
      gpuHours: sum(estimated.map((r) => r.gpuHours)),
      cost: estimated.length > 0 && priced ? sum(estimated.map((r) => r.cost)) : undefined,
      wallHours: rows.length > 0 && finishes.every((f) => f !== undefined) ? Math.max(...(finishes as number[])) : undefined,
      unestimatedSteps: rows.filter((r) => !r.estimated).map((r) => r.step),
    };
  }

  /**
   * A Markdown table: one line per training step and a total line (GPU-hours and cost summed, wall
   * hours of the longest chain of steps); `-` where a value is not known.
   */
  public static toMarkdown(rows: PlanRow[]): string {
    const n = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(2));
    const lines = [
      '| step | stage | GPUs | GPU | method | tokens | start (h) | wall (h) | GPU-hours | cost | deadline (h) |',
      '| --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ];
    for (const r of rows) {
      lines.push(`| ${r.step} | ${r.stage ?? '-'} | ${r.gpus} | ${r.gpuType ?? '-'} | ${r.method ?? '-'} | ${PlanTable.count(r.trainTokens)} | ${n(r.startHours)} | ${n(r.wallHours)} | ${n(r.gpuHours)} | ${n(r.cost)} | ${r.deadlineHours} |`);
    }
    const t = PlanTable.totals(rows);
    lines.push(`| **total** | | ${rows.reduce((a, r) => a + r.gpus, 0)} | | | | | ${n(t.wallHours)} | ${n(t.gpuHours)} | ${n(t.cost)} | |`);
    return lines.join('\n') + '\n';
  }

  /** A token count for people: `1.5B`, `300M`, `12K`. */
  private static count(x: number | undefined): string {
    if (x === undefined) return '-';
    const units: [number, string][] = [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'K']];
    for (const [size, unit] of units) {
      if (x >= size) return `${parseFloat((x / size).toFixed(2))}${unit}`;
    }
    return String(x);
  }

  private constructor() {}
}
