// The status writes of Kubeflow Trainer v2.3's TrainJob controller, written from its source so that
// tests can replay every end of a TrainJob against the conditions a pipeline waits on:
//
// - `pkg/controller/trainjob_controller.go` `Reconcile`: `removeFailedCondition` (except a
//   DeadlineExceeded one), `setSuspendedCondition` (Suspended=True while `spec.suspend`, then
//   Suspended=False/Resumed), `setTrainJobStatus` (the runtime's status, the deadline condition kept),
//   `reconcileDeadline` (Failed/DeadlineExceeded past `activeDeadlineSeconds`, the JobSet deleted);
// - the JobSet plugin's `Status`: the JobSet's Completed/Failed conditions copied as Complete/Failed,
//   `jobsStatus` copied from the JobSet's `replicatedJobsStatus` (built by JobSet from a Go map: its
//   order is not fixed when there are several replicated jobs);
// - conditions are set with `meta.SetStatusCondition`: an existing type is updated in place, a new
//   one appended; `meta.RemoveStatusCondition` removes one.

export interface Condition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface ReplicatedJobStatus {
  name: string;
  ready: number;
  succeeded: number;
  failed: number;
  active: number;
  suspended: number;
}

/** What the JobSet controller reports. */
export interface JobSetStatus {
  conditions: { type: 'Completed' | 'Failed'; reason: string }[];
  replicatedJobsStatus: ReplicatedJobStatus[];
}

const TIME = '2026-11-28T00:00:00Z';

function setStatusCondition(conditions: Condition[], c: Omit<Condition, 'lastTransitionTime'>): void {
  const existing = conditions.find((x) => x.type === c.type);
  if (existing) Object.assign(existing, c);
  else conditions.push({ ...c, lastTransitionTime: TIME });
}

function removeStatusCondition(conditions: Condition[], type: string): void {
  const i = conditions.findIndex((x) => x.type === type);
  if (i >= 0) conditions.splice(i, 1);
}

const isTrue = (conditions: Condition[], type: string) => conditions.some((c) => c.type === type && c.status === 'True');

/** A TrainJob as the API server holds it, and the controller acting on it. */
export class TrainJobController {
  /** The TrainJob object (what Argo polls). */
  public readonly object: any;
  /** The JobSet, while it exists. */
  public jobSet?: JobSetStatus;
  private deadlinePassed = false;

  public constructor(manifest: any, options: { suspend?: boolean } = {}) {
    this.object = JSON.parse(JSON.stringify(manifest));
    this.object.metadata.name = this.object.metadata.name ?? `${this.object.metadata.generateName}abcde`;
    // Kueue's webhook creates a queued TrainJob suspended
    if (options.suspend) this.object.spec.suspend = true;
    this.object.status = {};
  }

  private get conditions(): Condition[] {
    this.object.status.conditions = this.object.status.conditions ?? [];
    return this.object.status.conditions;
  }

  /** Kueue admits (suspend false) or preempts (suspend true) the TrainJob. */
  public setSuspend(suspend: boolean): void {
    this.object.spec.suspend = suspend;
    this.reconcile();
  }

  /** The JobSet reports a new status (its replicated jobs in the order given). */
  public jobSetStatus(status: JobSetStatus): void {
    this.jobSet = JSON.parse(JSON.stringify(status));
    this.reconcile();
  }

  /** `activeDeadlineSeconds` passes. */
  public passDeadline(): void {
    this.deadlinePassed = true;
    this.reconcile();
  }

  private finished(): boolean {
    return isTrue(this.conditions, 'Complete') || isTrue(this.conditions, 'Failed');
  }

  /** One `Reconcile`. */
  public reconcile(): void {
    const conditions = this.conditions;
    const failed = conditions.find((c) => c.type === 'Failed');
    if (failed && failed.reason !== 'DeadlineExceeded') removeStatusCondition(conditions, 'Failed');

    if (this.object.spec.suspend) {
      setStatusCondition(conditions, { type: 'Suspended', status: 'True', reason: 'Suspended', message: 'TrainJob is suspended' });
    } else if (isTrue(conditions, 'Suspended')) {
      setStatusCondition(conditions, { type: 'Suspended', status: 'False', reason: 'Resumed', message: 'TrainJob is resumed' });
    }

    // setTrainJobStatus: the JobSet plugin's status; without a JobSet the Get fails and nothing changes
    const deadline = conditions.find((c) => c.type === 'Failed' && c.reason === 'DeadlineExceeded');
    if (this.jobSet) {
      for (const c of this.jobSet.conditions) {
        setStatusCondition(conditions, { type: c.type === 'Completed' ? 'Complete' : 'Failed', status: 'True', reason: c.reason, message: c.reason });
      }
      this.object.status.jobsStatus = this.jobSet.replicatedJobsStatus.map((s) => ({ ...s }));
      if (deadline) setStatusCondition(conditions, deadline);
    }

    // reconcileDeadline
    if (this.deadlinePassed && !this.finished() && !this.object.spec.suspend) {
      setStatusCondition(conditions, { type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'TrainJob exceeded its activeDeadlineSeconds' });
      this.jobSet = undefined;
    }
    if (conditions.length === 0) delete this.object.status.conditions;
  }
}

/** The status of the runtime's one replicated job `node` with `nodes` pods. */
export function nodeJob(counts: Partial<ReplicatedJobStatus> = {}): ReplicatedJobStatus {
  return { name: 'node', ready: 0, succeeded: 0, failed: 0, active: 0, suspended: 0, ...counts };
}
