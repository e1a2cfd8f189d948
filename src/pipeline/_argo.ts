// How a pipeline becomes an Argo Workflow spec: templates of each kind of step, and the spec around
// them. The Pipeline construct decides what the steps are; this module only renders them.

import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { ContainerStepProps } from './pipeline-options';
import { _StepRender, PipelineParameter, PipelineStep, RetryOptions } from './step';
import * as v from '../_validate';
import { ITrainingStorage } from '../platform/storage';
import { claimMount, containerSecurityContext, podSecurityContext, SCRATCH_ENV, scratchMounts, scratchVolumes } from '../training/_pod-defaults';
import { GpuNodePool } from '../training/gpu-node-pool';
import { GpuTrainingJob } from '../training/gpu-training-job';
import { QueueingKind } from '../training/queueing';

export const ARGO_API_VERSION = 'argoproj.io/v1alpha1';
/** The run id inside a pipeline: every job name, label and output path derives from it. */
export const RUN_ID = '{{workflow.name}}';
/** Where the evaluate step writes the aggregate score (the trainer contract's SCORE_FILE). */
export const SCORE_FILE = '/tmp/score';
/** Size of `/dev/shm` in container steps (evaluation loads the model with DataLoader workers). */
const CONTAINER_SHARED_MEMORY = '8Gi';

/** Defaults of `RetryOptions`. */
export const RETRY_DEFAULTS = { limit: 2, backoff: Duration.minutes(2), factor: 2, maxBackoff: Duration.hours(1) };

/**
 * The retry strategy (the step's options over the pipeline's) and the deadline of one attempt.
 *
 * No `backoff.maxDuration`: Argo measures it from the **first** attempt's start (`operator.go`
 * `processNodeRetries`: `firstChildNode.StartedAt.Add(maxDuration)`), gives up when a retry's wait
 * would end past it, and cuts a retry off at it (`executionDeadline`), so any value shorter than a
 * stage's whole life (a CPT runs for days) means a late failure is never retried. A step's life is
 * bounded without it: at most `limit + 1` attempts of at most `activeDeadlineSeconds` each, with
 * waits of `backoff * factor^n`, each capped at `maxBackoff` (`backoff.cap`).
 */
export function retryAndDeadline(defaults: RetryOptions | undefined, retry: RetryOptions | undefined, deadline: Duration): any {
  const r = { ...defaults, ...retry };
  return {
    retryStrategy: {
      limit: r.limit ?? RETRY_DEFAULTS.limit,
      retryPolicy: 'Always',
      backoff: {
        duration: `${v.seconds(r.backoff ?? RETRY_DEFAULTS.backoff)}s`,
        factor: r.factor ?? RETRY_DEFAULTS.factor,
        cap: `${v.seconds(r.maxBackoff ?? RETRY_DEFAULTS.maxBackoff)}s`,
      },
    },
    activeDeadlineSeconds: v.seconds(deadline),
  };
}

/** How long a queued training job may wait for admission, unless a pipeline or step says otherwise. */
export const DEFAULT_MAX_QUEUE_TIME = Duration.days(1);
/** What a step's deadline adds to its job's: time for the operator to write `Failed` and for Argo to poll it. */
export const STEP_DEADLINE_SLACK = Duration.minutes(10);

/**
 * The deadline of one attempt of a training step: the job's own `activeDeadline`, plus `maxQueueTime`
 * when the job waits in a queue, plus `STEP_DEADLINE_SLACK`.
 *
 * The step's clock starts when the step starts; the job's does not always. Without a queue the
 * operator sets `status.startTime` on its first reconcile, so time spent Pending counts against the
 * job's own deadline. Kueue creates the job suspended and the operator resets `status.startTime`
 * when Kueue resumes it (`ReconcileJobs`, the resumed branch in `common/job.go`; again after a
 * preemption); under Volcano gang scheduling the operator creates no pod, and sets no start time,
 * until the pod group is admitted (`DelayPodCreationDueToPodGroup`). So a queued job's deadline
 * runs from admission, and the step must allow for the queue, or it would cut off a job that is
 * within its own deadline.
 */
export function stageDeadline(job: GpuTrainingJob, maxQueueTime: Duration | undefined): Duration {
  const queued = job.queueing.kind !== QueueingKind.NONE;
  const queue = queued ? v.seconds(maxQueueTime ?? DEFAULT_MAX_QUEUE_TIME) : 0;
  return Duration.seconds(v.seconds(job.activeDeadline) + queue + v.seconds(STEP_DEADLINE_SLACK));
}

/**
 * A training step: an Argo `resource` template that creates the job (a new name per attempt) and
 * waits until the backend's conditions say it ended.
 */
export function stageTemplate(name: string, job: GpuTrainingJob, manifest: any, retry: any): _StepRender {
  const wait = job.backend._impl.waitConditions(manifest.spec);
  return {
    template: {
      name,
      ...retry,
      resource: {
        action: 'create',
        setOwnerReference: true,
        successCondition: wait.success,
        failureCondition: wait.failure,
        manifest: JSON.stringify(manifest, null, 2),
      },
      outputs: { parameters: [{ name: 'job-name', valueFrom: { jsonPath: '{.metadata.name}' } }] },
    },
  };
}

/** What a container template needs from its pipeline. */
export interface ContainerContext {
  readonly image: string;
  readonly storage: ITrainingStorage;
  readonly nodePool: GpuNodePool;
}

/** A container step: the pipeline's volumes, scratch space and security context; a GPU step on the node pool. */
export function containerTemplate(name: string, props: ContainerStepProps, context: ContainerContext, retry: any): any {
  const gpus = props.gpus ?? 0;
  const resources: { [name: string]: string | number } = {
    cpu: (props.cpu ?? kplus.Cpu.units(2)).amount,
    memory: (props.memory ?? Size.gibibytes(4)).asString(),
  };
  if (gpus > 0) resources[context.nodePool.gpuResourceName] = gpus;
  const data = props.writableData ? context.storage.data.withReadOnly(false) : context.storage.data;
  const outputs = Object.entries(props.outputFiles ?? {});
  return {
    name,
    ...retry,
    ...(gpus > 0 ? {
      nodeSelector: context.nodePool.nodeSelector,
      tolerations: context.nodePool._tolerations(),
      affinity: context.nodePool._affinity(),
    } : {}),
    container: {
      image: props.image ?? context.image,
      command: [...props.command],
      args: props.args ? [...props.args] : undefined,
      env: [
        ...SCRATCH_ENV,
        ...Object.entries(props.env ?? {}).map(([n, value]) => ({ name: n, value })),
        ...Object.entries(props.secretEnv ?? {}).map(([n, s]) => ({ name: n, valueFrom: s._envSource() })),
      ],
      resources: { requests: { ...resources }, limits: { ...resources } },
      securityContext: containerSecurityContext(),
      volumeMounts: [...scratchMounts(), ...[data, context.storage.output].map(claimMount)],
    },
    outputs: outputs.length > 0 ? { parameters: outputs.map(([n, path]) => ({ name: n, valueFrom: { path } })) } : undefined,
  };
}


/** What the workflow spec needs from its pipeline. */
export interface WorkflowContext {
  readonly serviceAccountName: string;
  readonly steps: PipelineStep[];
  readonly parameters: PipelineParameter[];
  readonly exitTemplates: any[];
  readonly runLabels: { [key: string]: string };
  readonly runAsUser: number;
  readonly parallelism?: number;
  readonly ttlAfterSuccess: Duration;
  readonly ttlAfterFailure: Duration;
  readonly storage: ITrainingStorage;
}

/** The Workflow spec (also a WorkflowTemplate's, and a CronWorkflow's `workflowSpec`). */
export function workflowSpec(c: WorkflowContext): any {
  const rendered = c.steps.map((step) => ({ step, r: step._render() }));
  const claims = [c.storage.data, c.storage.output];
  return {
    entrypoint: 'main',
    serviceAccountName: c.serviceAccountName,
    arguments: c.parameters.length > 0 ? {
      parameters: c.parameters.map((p) => ({ name: p.name, value: p.defaultValue, description: p.description })),
    } : undefined,
    onExit: c.exitTemplates.length > 0 ? 'exit-handler' : undefined,
    parallelism: c.parallelism,
    podMetadata: { labels: c.runLabels },
    securityContext: podSecurityContext(c.runAsUser),
    podGC: { strategy: 'OnPodSuccess' },
    ttlStrategy: {
      secondsAfterSuccess: v.seconds(c.ttlAfterSuccess),
      secondsAfterFailure: v.seconds(c.ttlAfterFailure),
    },
    // existing claims only: a volumeClaimTemplates entry would be a new, empty volume per run
    volumes: [
      ...scratchVolumes(CONTAINER_SHARED_MEMORY),
      ...claims.map((claim) => ({ name: claim.volumeName, persistentVolumeClaim: { claimName: claim.claimName } })),
    ],
    templates: [
      {
        name: 'main',
        dag: {
          tasks: rendered.map(({ step, r }) => ({
            name: step.name,
            template: step.name,
            depends: step.dependencies.length > 0 ? step.dependencies.map((d) => `${d.name}.Succeeded`).join(' && ') : undefined,
            when: r.when,
          })),
        },
      },
      ...rendered.map(({ r }) => r.template),
      ...c.exitTemplates,
    ],
  };
}
