import { Cron, Duration } from 'cdk8s';
import { ConcurrencyPolicy } from 'cdk8s-plus-28';
import * as v from '../_validate';

/**
 * Options of a scheduled pipeline.
 */
export interface CronOptions {
  /**
   * The IANA timezone of the schedule (e.g. `Asia/Seoul`).
   * @default - the controller's timezone (usually UTC)
   */
  readonly timezone?: string;
  /**
   * What happens when a run is due while another runs (cdk8s-plus-28's `ConcurrencyPolicy`, whose
   * values are Argo's too). Forbid by default: two retraining runs would compete for the same GPUs.
   * @default ConcurrencyPolicy.FORBID
   */
  readonly concurrencyPolicy?: ConcurrencyPolicy;
  /**
   * How late a missed run may still start.
   * @default Duration.hours(1)
   */
  readonly startingDeadline?: Duration;
  /**
   * Finished successful runs to keep.
   * @default 3
   */
  readonly successfulJobsHistoryLimit?: number;
  /**
   * Finished failed runs to keep.
   * @default 3
   */
  readonly failedJobsHistoryLimit?: number;
  /**
   * Create the CronWorkflow suspended.
   * @default false
   */
  readonly suspend?: boolean;
}

/** Ranges and names of the five cron fields: minute, hour, day of month, month, day of week. */
const CRON_FIELDS: Array<{ min: number; max: number; names?: string[] }> = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

/**
 * A schedule Argo's cron parser (robfig/cron, standard five fields) accepts: each field a list of
 * `*`, `?` (day fields), a value or a range, optionally `/step`, values within the field's range.
 */
function isCronSchedule(schedule: string): boolean {
  const fields = schedule.split(/\s+/);
  if (fields.length !== 5) return false;
  return fields.every((field, i) => field.split(',').every((item) => {
    const f = CRON_FIELDS[i];
    const value = (x: string): number => {
      const named = f.names?.indexOf(x.toUpperCase()) ?? -1;
      const n = named >= 0 ? named + f.min : /^[0-9]+$/.test(x) ? Number(x) : NaN;
      return n >= f.min && n <= f.max ? n : NaN;
    };
    const m = /^(\*|\?|([0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?)(?:\/([0-9]+))?$/.exec(item);
    if (!m) return false;
    if (m[1] === '?' && i !== 2 && i !== 4) return false;
    if (m[4] !== undefined && !(Number(m[4]) >= 1)) return false;
    if (m[2] === undefined) return true;
    const low = value(m[2]);
    const high = m[3] === undefined ? low : value(m[3]);
    return !Number.isNaN(low) && !Number.isNaN(high) && low <= high;
  }));
}

/**
 * An IANA time zone name as Go's `time.LoadLocation` (which Argo's cron controller uses) finds it in
 * the tz database: case-sensitive names such as `Asia/Seoul`, `UTC` or `Etc/GMT-9`, no offsets
 * (`+09:00`) or abbreviations (`KST`). The database is the one of the JavaScript runtime (ICU);
 * links such as `Asia/Calcutta` resolve there as in Go.
 */
function isIanaTimezone(tz: string): boolean {
  if (!/^[A-Z][A-Za-z0-9_+-]*(\/[A-Z][A-Za-z0-9_+-]*)*$/.test(tz)) return false;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return false;
  }
  // ICU matches names case-insensitively; Go reads a file of exactly that name
  return resolved === tz || resolved.toLowerCase() !== tz.toLowerCase();
}

/**
 * Which Argo object a pipeline is emitted as.
 */
export class PipelineKind {
  /** A `Workflow` with `generateName`: `kubectl create -f` (or `argo submit`) starts one run. */
  public static workflow(): PipelineKind {
    return new PipelineKind('Workflow');
  }

  /**
   * A `WorkflowTemplate`: apply it once, then start runs with
   * `argo submit --from workflowtemplate/<name> -p learning-rate=...`.
   */
  public static workflowTemplate(): PipelineKind {
    return new PipelineKind('WorkflowTemplate');
  }

  /**
   * A `CronWorkflow`: periodic retraining.
   * @param schedule the schedule, e.g. `Cron.schedule({ minute: '0', hour: '3', weekDay: '0' })` (Sundays at 03:00)
   */
  public static cron(schedule: Cron, options: CronOptions = {}): PipelineKind {
    const expression = schedule.expressionString;
    if (!isCronSchedule(expression)) {
      v.fail('schedule', expression, 'a five-field cron expression such as \'0 3 * * 0\' (each field a value, range, list or step within its range)');
    }
    v.nonNegativeInt('successfulJobsHistoryLimit', options.successfulJobsHistoryLimit);
    v.nonNegativeInt('failedJobsHistoryLimit', options.failedJobsHistoryLimit);
    v.positiveDuration('startingDeadline', options.startingDeadline);
    if (options.timezone !== undefined && !isIanaTimezone(options.timezone)) {
      v.fail('timezone', options.timezone, 'an IANA time zone name such as \'Asia/Seoul\' or \'UTC\' (case-sensitive, no offsets or abbreviations)');
    }
    return new PipelineKind('CronWorkflow', expression, options);
  }

  private constructor(
    /** The Argo kind: Workflow, WorkflowTemplate or CronWorkflow. */
    public readonly kind: string,
    /** The cron schedule, for a CronWorkflow. */
    public readonly schedule?: string,
    private readonly cronOptions: CronOptions = {},
  ) {}

  /** @internal the CronWorkflow spec around a workflow spec */
  public _cronSpec(workflowSpec: any): any {
    const o = this.cronOptions;
    return {
      schedules: [this.schedule],
      ...(o.timezone ? { timezone: o.timezone } : {}),
      concurrencyPolicy: o.concurrencyPolicy ?? ConcurrencyPolicy.FORBID,
      startingDeadlineSeconds: v.seconds(o.startingDeadline ?? Duration.hours(1)),
      successfulJobsHistoryLimit: o.successfulJobsHistoryLimit ?? 3,
      failedJobsHistoryLimit: o.failedJobsHistoryLimit ?? 3,
      ...(o.suspend ? { suspend: true } : {}),
      workflowSpec,
    };
  }

  /**
   * @internal The longest `{{workflow.name}}` this kind produces for a name prefix of `n` characters:
   * generateName adds 5 characters; a CronWorkflow adds `-` and a 10-digit Unix time.
   */
  public _maxRunNameLength(n: number): number {
    return this.kind === 'CronWorkflow' ? n + 11 : n + 6;
  }
}
