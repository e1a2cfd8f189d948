// How a pipeline becomes an Argo Workflow spec: templates of each kind of step, and the spec around
// them. The Pipeline construct decides what the steps are; this module only renders them.

import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { ContainerStepProps } from './pipeline-options';
import { _StepRender, PipelineParameter, PipelineStep, RetryOptions } from './step';
import * as v from '../_validate';
import { ClaimMount, ITrainingStorage } from '../platform/storage';
import { containerSecurityContext, podSecurityContext, SCRATCH_ENV, scratchMounts, scratchVolumes } from '../training/_pod-defaults';
import { GpuNodePool } from '../training/gpu-node-pool';
import { GpuTrainingJob } from '../training/gpu-training-job';

export const ARGO_API_VERSION = 'argoproj.io/v1alpha1';
/** The run id inside a pipeline: every job name, label and output path derives from it. */
export const RUN_ID = '{{workflow.name}}';
/** Where the evaluate step writes the aggregate score (the trainer contract's SCORE_FILE). */
export const SCORE_FILE = '/tmp/score';
/** Size of `/dev/shm` in container steps (evaluation loads the model with DataLoader workers). */
const CONTAINER_SHARED_MEMORY = '8Gi';

/** The retry strategy (the step's options over the pipeline's) and the deadline of one attempt. */
export function retryAndDeadline(defaults: RetryOptions | undefined, retry: RetryOptions | undefined, deadline: Duration): any {
  const r = { ...defaults, ...retry };
  return {
    retryStrategy: {
      limit: r.limit ?? 2,
      retryPolicy: 'Always',
      backoff: {
        duration: `${v.seconds(r.backoff ?? Duration.minutes(2))}s`,
        factor: r.factor ?? 2,
        maxDuration: `${v.seconds(r.maxBackoff ?? Duration.hours(1))}s`,
      },
    },
    activeDeadlineSeconds: v.seconds(deadline),
  };
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

function claimMount(c: ClaimMount): any {
  return { name: c.volumeName, mountPath: c.mountPath, readOnly: c.readOnly || undefined, subPath: c.subPath };
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
