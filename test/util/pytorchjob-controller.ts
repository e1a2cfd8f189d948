// A small, readable model of what the Kubeflow Training Operator v1 (v1.7-v1.9) writes to a
// PyTorchJob's status, so tests can replay a job's life against the conditions a pipeline step
// waits with (`argoOutcome` in ./argo-conditions). Written from the operator's code:
//
// - `pkg/controller.v1/common/job.go` `ReconcileJobs`: the finished branch (clean up pods, nothing
//   recounted), the suspended branch (Kueue: delete pods, `Suspended`), the resumed branch (reset
//   `startTime`), then the **backoff** branch (`backoffLimit` set and `NumRequeues() + 1 > limit`;
//   the controller-runtime operator's work queue is `util.FakeWorkQueue`, whose `NumRequeues` is
//   always 0) and the **past-active-deadline** branch: both delete every pod and append `Failed`
//   **without recounting `replicaStatuses`**; otherwise the normal path: `ReconcilePods`, then
//   `UpdateJobStatus`;
// - `common/pod.go` `ReconcilePods`: per replica type, reset the counters
//   (`initializeReplicaStatuses`), create missing pods, recreate a failed pod under OnFailure/Always,
//   count each pod by phase (`updateJobReplicaStatuses`: Running -> active, Succeeded, Failed);
// - `pytorch/pytorchjob_controller.go` `UpdateJobStatus`: with a Master, `Running` while it runs and
//   `Succeeded` once it succeeded; Worker-only (elastic), `Succeeded` once a Worker succeeded; a
//   counted failure with `failed > 0 && replicas > succeeded + running` appends `Restarting`
//   (restart policy other than Never) or `Failed` and increments the failed-jobs metric;
// - `pkg/util/status.go` `setCondition` / `filterOutCondition`: nothing changes once `Failed`; a
//   condition of the same type, status and reason is left alone; otherwise the old entry of that
//   type is dropped (Running and Restarting replace each other; Running turns False when Succeeded
//   or Failed is set) and the new one appended at the end.
//
// Simplifications: a deleted pod is gone at once (no terminating pods); the replica types are
// visited in a given order (Go map order is random: tests try both); `ExitCode` is not modelled.

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';
export type ReplicaType = 'Master' | 'Worker';

export interface ModelPod {
  readonly type: ReplicaType;
  readonly index: number;
  phase: PodPhase;
  restarts: number;
}

interface Condition {
  type: string;
  status: 'True' | 'False';
  reason: string;
}

interface Counts {
  active: number;
  succeeded: number;
  failed: number;
}

const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';

export interface ModelOptions {
  /** The order `ReconcileJobs` and `UpdateJobStatus` visit the replica types in (a Go map's). */
  readonly order?: ReplicaType[];
}

export class PyTorchJobModel {
  /** Seconds since creation. */
  public now = 0;
  /** The pods that exist. */
  public pods: ModelPod[] = [];
  /** `training_operator_jobs_failed_total` increments for this job. */
  public failedJobsMetric = 0;

  private readonly spec: any;
  private readonly conditions: Condition[] = [];
  private readonly counts = new Map<ReplicaType, Counts>();
  private readonly order: ReplicaType[];
  private startTime?: number;

  /**
   * Creates the job as the API server and the operator's create hook leave it: Kueue's webhook
   * suspends a job carrying its queue label; `onOwnerCreateFunc` appends `Created`.
   */
  public constructor(private readonly manifest: any, options: ModelOptions = {}) {
    this.spec = JSON.parse(JSON.stringify(manifest.spec));
    this.spec.runPolicy = this.spec.runPolicy ?? {};
    if (manifest.metadata?.labels?.[KUEUE_QUEUE_LABEL]) this.spec.runPolicy.suspend = true;
    this.order = (options.order ?? ['Master', 'Worker']).filter((t) => this.replicaSpecs[t]);
    this.setCondition('Created', 'True', 'PyTorchJobCreated');
    this.reconcile();
  }

  /** The object as Argo's executor reads it (`kubectl get -o json`); zero counters are omitted. */
  public get object(): any {
    const replicaStatuses: any = {};
    for (const [type, c] of this.counts) {
      replicaStatuses[type] = {
        ...(c.active ? { active: c.active } : {}),
        ...(c.succeeded ? { succeeded: c.succeeded } : {}),
        ...(c.failed ? { failed: c.failed } : {}),
        selector: `training.kubeflow.org/replica-type=${type.toLowerCase()}`,
      };
    }
    return {
      ...this.manifest,
      spec: this.spec,
      status: {
        conditions: this.conditions.map((c) => ({ ...c })),
        replicaStatuses,
        ...(this.startTime !== undefined ? { startTime: this.startTime } : {}),
      },
    };
  }

  /** The condition types, in order. */
  public get conditionTypes(): string[] {
    return this.conditions.map((c) => c.type);
  }

  /** Kueue admits the job: it clears `runPolicy.suspend`. */
  public admit(): this {
    this.spec.runPolicy.suspend = false;
    return this.reconcile();
  }

  /** Kueue preempts (or evicts) the job: it sets `runPolicy.suspend` again. */
  public preempt(): this {
    this.spec.runPolicy.suspend = true;
    return this.reconcile();
  }

  /** The scheduler binds every pending pod and its container starts. */
  public startPods(): this {
    for (const p of this.pods) if (p.phase === 'Pending') p.phase = 'Running';
    return this.reconcile();
  }

  /** A pod's container exits 0. */
  public succeed(type: ReplicaType, index = 0): this {
    this.pod(type, index).phase = 'Succeeded';
    return this.reconcile();
  }

  /**
   * A pod's container exits non-zero: under `Never` the pod ends `Failed`; under OnFailure/Always
   * the kubelet restarts the container in place (the pod stays Running, its restart count grows).
   */
  public crash(type: ReplicaType, index = 0): this {
    const pod = this.pod(type, index);
    if (['OnFailure', 'Always'].includes(this.replicaSpecs[type].restartPolicy)) pod.restarts++;
    else pod.phase = 'Failed';
    return this.reconcile();
  }

  /** Time passes, then the job is reconciled (a resync or any pod event). */
  public advance(seconds: number): this {
    this.now += seconds;
    return this.reconcile();
  }

  /** `ReconcileJobs`. */
  public reconcile(): this {
    const runPolicy = this.spec.runPolicy;
    if (this.isFinished) {
      this.deletePods(true);
      if (this.has('Succeeded')) {
        for (const c of this.counts.values()) {
          c.succeeded += c.active;
          c.active = 0;
        }
      }
      return this;
    }
    if (runPolicy.suspend) {
      this.deletePods(false);
      for (const c of this.counts.values()) c.active = 0;
      if (this.has('Running')) this.setCondition('Running', 'False', 'PyTorchJobSuspended');
      if (!this.has('Suspended')) this.setCondition('Suspended', 'True', 'PyTorchJobSuspended');
      return this;
    }
    if (this.has('Suspended')) {
      this.setCondition('Suspended', 'False', 'PyTorchJobResumed');
      this.startTime = this.now;
    }

    const previousRetry = 0; // util.FakeWorkQueue.NumRequeues
    const active = this.pods.filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed').length;
    const failed = this.pods.filter((p) => p.phase === 'Failed').length;
    const totalReplicas = this.order.reduce((n, t) => n + this.replicaSpecs[t].replicas, 0);
    const prevFailed = [...this.counts.values()].reduce((n, c) => n + c.failed, 0);
    let exceedsBackoffLimit = false;
    let pastBackoffLimit = false;
    if (runPolicy.backoffLimit !== undefined) {
      exceedsBackoffLimit = failed > prevFailed && active !== totalReplicas && previousRetry + 1 > runPolicy.backoffLimit;
      pastBackoffLimit = this.pastBackoffLimit(runPolicy.backoffLimit);
    }
    const pastActiveDeadline = runPolicy.activeDeadlineSeconds !== undefined && this.startTime !== undefined
      && this.now - this.startTime >= runPolicy.activeDeadlineSeconds;
    if (exceedsBackoffLimit || pastBackoffLimit || pastActiveDeadline) {
      // not finished yet when the pods are deleted: every pod goes, whatever cleanPodPolicy says
      this.deletePods(false);
      this.setCondition('Failed', 'True', 'PyTorchJobFailed');
      return this; // written without recounting replicaStatuses
    }

    for (const type of this.order) this.reconcilePods(type);
    this.updateJobStatus();
    return this;
  }

  private get replicaSpecs(): { [type: string]: any } {
    return this.spec.pytorchReplicaSpecs;
  }

  private get isFinished(): boolean {
    return this.has('Succeeded') || this.has('Failed');
  }

  private has(type: string): boolean {
    return this.conditions.some((c) => c.type === type && c.status === 'True');
  }

  private pod(type: ReplicaType, index: number): ModelPod {
    const pod = this.pods.find((p) => p.type === type && p.index === index);
    if (!pod) throw new Error(`no ${type} pod ${index} (pods: ${JSON.stringify(this.pods)})`);
    return pod;
  }

  /** `DeletePodsAndServices`: once finished, `cleanPodPolicy` decides; before, every pod goes. */
  private deletePods(finished: boolean): void {
    const policy = this.spec.runPolicy.cleanPodPolicy ?? 'None';
    if (finished && policy === 'None') return;
    this.pods = this.pods.filter((p) => finished && policy === 'Running' && p.phase !== 'Running' && p.phase !== 'Pending');
  }

  /** `core.PastBackoffLimit`: container restarts of running pods under OnFailure/Always. */
  private pastBackoffLimit(limit: number): boolean {
    let restarts = 0;
    for (const type of this.order) {
      if (!['OnFailure', 'Always'].includes(this.replicaSpecs[type].restartPolicy)) continue;
      for (const p of this.pods) if (p.type === type && p.phase === 'Running') restarts += p.restarts;
    }
    return limit === 0 ? restarts > 0 : restarts >= limit;
  }

  /** `ReconcilePods` for one replica type. */
  private reconcilePods(type: ReplicaType): void {
    const spec = this.replicaSpecs[type];
    const counts: Counts = { active: 0, succeeded: 0, failed: 0 };
    this.counts.set(type, counts);
    for (let index = 0; index < spec.replicas; index++) {
      const pod = this.pods.find((p) => p.type === type && p.index === index);
      if (!pod) {
        this.pods.push({ type, index, phase: 'Pending', restarts: 0 });
        continue;
      }
      if (pod.phase === 'Failed' && ['OnFailure', 'Always'].includes(spec.restartPolicy)) {
        this.pods = this.pods.filter((p) => p !== pod);
        this.setCondition('Restarting', 'True', 'PyTorchJobRestarting');
      }
      if (pod.phase === 'Running') counts.active++;
      if (pod.phase === 'Succeeded') counts.succeeded++;
      if (pod.phase === 'Failed') counts.failed++;
    }
  }

  /** `UpdateJobStatus` of the PyTorchJob controller. */
  private updateJobStatus(): void {
    if (this.startTime === undefined) this.startTime = this.now;
    const hasMaster = this.replicaSpecs.Master !== undefined;
    for (const type of this.order) {
      const spec = this.replicaSpecs[type];
      const { active: running, succeeded, failed } = this.counts.get(type)!;
      const expected = spec.replicas - succeeded;
      if (hasMaster) {
        if (type === 'Master') {
          if (running > 0) this.setCondition('Running', 'True', 'PyTorchJobRunning');
          if (expected === 0) {
            this.setCondition('Succeeded', 'True', 'PyTorchJobSucceeded');
            return;
          }
        }
      } else if (type === 'Worker') {
        if (expected === 0 || (this.spec.elasticPolicy !== undefined && succeeded > 0)) {
          this.setCondition('Succeeded', 'True', 'PyTorchJobSucceeded');
        } else if (running > 0) {
          this.setCondition('Running', 'True', 'PyTorchJobRunning');
        }
      }
      if (failed > 0 && spec.replicas > succeeded + running) {
        if (spec.restartPolicy !== 'Never') {
          this.setCondition('Restarting', 'True', 'PyTorchJobRestarting');
        } else {
          this.setCondition('Failed', 'True', 'PyTorchJobFailed');
          this.failedJobsMetric++;
        }
      }
    }
  }

  /** `setCondition` with `filterOutCondition`. */
  private setCondition(type: string, status: 'True' | 'False', reason: string): void {
    if (this.has('Failed')) return;
    const current = this.conditions.find((c) => c.type === type);
    if (current && current.status === status && current.reason === reason) return;
    const kept: Condition[] = [];
    for (const c of this.conditions) {
      if ((type === 'Restarting' && c.type === 'Running') || (type === 'Running' && c.type === 'Restarting') || c.type === type) continue;
      kept.push((type === 'Failed' || type === 'Succeeded') && c.type === 'Running' ? { ...c, status: 'False' } : c);
    }
    this.conditions.splice(0, this.conditions.length, ...kept, { type, status, reason });
  }
}
