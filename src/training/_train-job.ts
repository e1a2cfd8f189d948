// Kubeflow Trainer v2 `TrainJob` (trainer.kubeflow.org/v1alpha1), written for one Trainer release
// (v2.3): how a training workload becomes a TrainJob plus the namespaced TrainingRuntime it refers
// to, and how a pipeline sees the TrainJob end.
//
// What each object carries (Trainer v2.3, `pkg/apis/trainer/v1alpha1`):
// - the TrainingRuntime: everything a TrainJob cannot express without `runtimePatches` (renamed
//   twice in three releases, so not used): volumes and mounts, `/dev/shm`, security contexts, node
//   placement, the metrics port, pod labels, the JobSet failure policy and TTL, the pod-group policy;
//   one replicated job `node` labelled as the trainer ancestor, so the Torch plugin sizes it with
//   `mlPolicy.numNodes` and the TrainJob's `trainer` (and injects `PET_*` into its container `node`;
//   `core/trainingruntime.go` `newRuntimeInfo`);
// - the TrainJob: the runtime reference, image, command, env (secrets by reference), nodes,
//   resources per node (`resourcesPerNode` replaces the `node` container's resources), processes per
//   node (v2.3 has no `mlPolicy.torch.numProcPerNode`), the deadline, the Kueue labels.

import { ApiObject, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { claimMount, claimVolumes, containerSecurityContext, nonEmpty, podSecurityContext, scratchMounts, scratchVolumes } from './_pod-defaults';
import { JobBackend, TrainingWorkload, WaitConditions } from './_workload';
import type { GpuTrainingJobProps } from './gpu-job-options';
import * as v from '../_validate';
import { LABELS, PART_OF } from '../labels';

const API_GROUP = 'trainer.kubeflow.org';
const API_VERSION = `${API_GROUP}/v1alpha1`;
/** The replicated job and container the Torch plugin treats as the trainer (`constants.Node`). */
export const NODE = 'node';
/** The label that marks a replicated job as the trainer's (`constants.LabelTrainJobAncestor`). */
export const ANCESTOR_LABEL = 'trainer.kubeflow.org/trainjob-ancestor-step';
/** The Volcano queue annotation the Trainer's Volcano plugin reads from the runtime template. */
const VOLCANO_QUEUE_ANNOTATION = 'scheduling.volcano.sh/queue-name';
/** The id of the runtime beside the job's `Resource`. */
const RUNTIME_ID = 'Runtime';
/**
 * `status.conditions` holds at most 8 entries (the CRD's `maxItems`); the v2.3 controller writes
 * three types (Suspended, Complete, Failed), each once, in place (`meta.SetStatusCondition`).
 */
const MAX_CONDITIONS = 8;


/** A value that only a workflow resolves (`{{workflow.name}}`, `{{retries}}`): it cannot be on a top-level object. */
const perRun = (value: string | undefined) => value !== undefined && value.includes('{{');


/** The pod of every node: what the runtime fixes (the TrainJob sets image, command, env and resources). */
function podTemplate(w: TrainingWorkload): any {
  // labels that name the run stay on the TrainJob (the pipeline's manifest): a runtime is shared by every run
  const labels = Object.fromEntries(Object.entries(w.podLabels).filter(([, value]) => !perRun(value)));
  return {
    metadata: { annotations: nonEmpty(w.podAnnotations), labels },
    spec: {
      affinity: w.affinity,
      containers: [{
        name: NODE,
        image: w.image,
        ports: [{ containerPort: w.metricsPort, name: 'metrics', protocol: 'TCP' }],
        securityContext: containerSecurityContext(),
        volumeMounts: [
          ...scratchMounts(),
          ...w.claims.map(claimMount),
        ],
      }],
      imagePullSecrets: w.imagePullSecrets.length > 0 ? w.imagePullSecrets.map((name) => ({ name })) : undefined,
      nodeSelector: nonEmpty(w.nodeSelector),
      // the Volcano plugin gives the PodGroup the pod template's priority class
      priorityClassName: w.priorityClassName ?? w.gang?.priorityClass,
      // a failed pod fails its Job at once (backoffLimit 0); JobSet's failurePolicy restarts the whole gang
      restartPolicy: 'Never',
      schedulerName: w.gang ? 'volcano' : undefined,
      securityContext: podSecurityContext(w.runAsUser),
      serviceAccountName: w.serviceAccountName,
      tolerations: w.tolerations.length > 0 ? w.tolerations : undefined,
      volumes: [...scratchVolumes(w.sharedMemory), ...claimVolumes(w.claims)],
    },
  };
}

/** The TrainingRuntime's spec for a workload. */
export function renderRuntimeSpec(w: TrainingWorkload): any {
  return {
    mlPolicy: { numNodes: w.nodes, torch: {} },
    // the Volcano plugin makes one PodGroup of every pod (minMember = all nodes)
    podGroupPolicy: w.gang ? { volcano: {} } : undefined,
    template: {
      metadata: {
        labels: { [LABELS.partOf]: PART_OF },
        annotations: w.gang?.queue ? { [VOLCANO_QUEUE_ANNOTATION]: w.gang.queue } : undefined,
      },
      spec: {
        // a pod failure fails the JobSet after `backoffLimit` whole-gang restarts (0 in a pipeline,
        // which retries with a new TrainJob that resumes from the last checkpoint)
        failurePolicy: { maxRestarts: w.backoffLimit ?? 0 },
        replicatedJobs: [{
          name: NODE,
          replicas: 1,
          template: {
            metadata: { labels: { [ANCESTOR_LABEL]: 'trainer' } },
            spec: { backoffLimit: 0, template: podTemplate(w) },
          },
        }],
        ttlSecondsAfterFinished: w.ttlSecondsAfterFinished,
      },
    },
  };
}

function runtimeOf(job: Construct | undefined): ApiObject {
  const runtime = job?.node.tryFindChild(RUNTIME_ID);
  if (!(runtime instanceof ApiObject)) throw new Error(`'${job?.node.path}' has no TrainingRuntime: the TrainJob backend creates it with the job`);
  return runtime;
}

function checkProps(props: GpuTrainingJobProps): void {
  const why = 'with the TrainJob backend';
  if (props.elastic) v.fail('elastic', `{ minNodes: ${props.elastic.minNodes}, maxNodes: ${props.elastic.maxNodes} }`, `unset ${why} (Trainer v2.3 has no elastic Torch policy): use 'nodes'`);
  if (props.restartPolicy !== undefined && props.restartPolicy !== 'Never') {
    v.fail('restartPolicy', props.restartPolicy, `RestartPolicy.NEVER ${why}: pods never restart in place; JobSet restarts the whole job up to 'backoffLimit' times`);
  }
  if (props.cleanPodPolicy !== undefined) {
    v.fail('cleanPodPolicy', props.cleanPodPolicy, `unset ${why} (a TrainJob has none; its JobSet and pods go 'ttlAfterFinished' after it ends)`);
  }
  const gang = props.queueing?._render(props.nodes ?? 1).gang;
  if (gang && gang.minMember !== (props.nodes ?? 1)) {
    v.fail('queueing.volcano minAvailable', gang.minMember, `unset ${why} (the Trainer's Volcano PodGroup always gangs every node, ${props.nodes ?? 1} here)`);
  }
  if (gang?.scheduleTimeoutSeconds !== undefined) {
    v.fail('queueing.volcano scheduleTimeout', `${gang.scheduleTimeoutSeconds}s`, `unset ${why} (the Trainer's Volcano PodGroup has no timeout)`);
  }
  if (gang?.priorityClass && props.priorityClassName && gang.priorityClass !== props.priorityClassName) {
    v.fail('queueing.volcano priorityClass', gang.priorityClass, `the pods' 'priorityClassName' (${props.priorityClassName}) ${why}: the PodGroup takes the pods' priority class`);
  }
}

function attach(job: Construct, workload: () => TrainingWorkload): void {
  // A child of the job, so it stays in the tree (and is emitted as a top-level object) when a
  // pipeline embeds the job; named from the job's path, so two jobs never share a runtime name.
  new ApiObject(job, RUNTIME_ID, {
    apiVersion: API_VERSION,
    kind: 'TrainingRuntime',
    metadata: { labels: { [LABELS.partOf]: PART_OF } },
    spec: Lazy.any({ produce: () => renderRuntimeSpec(workload()) }),
  });
}

function renderSpec(w: TrainingWorkload, job?: Construct): any {
  const quantities = { cpu: w.cpu, memory: w.memory, [w.gpuResourceName]: w.gpusPerNode };
  return {
    activeDeadlineSeconds: w.activeDeadlineSeconds,
    runtimeRef: { apiGroup: API_GROUP, kind: 'TrainingRuntime', name: runtimeOf(job).name },
    trainer: {
      image: w.image,
      command: w.command,
      args: w.args && w.args.length > 0 ? w.args : undefined,
      env: w.env,
      numNodes: w.nodes,
      // torchrun reads PET_NPROC_PER_NODE from this: one process per GPU
      numProcPerNode: w.gpusPerNode,
      resourcesPerNode: { limits: quantities, requests: { ...quantities } },
    },
  };
}

/**
 * How a pipeline sees a TrainJob end (v2.3 `trainjob_controller.go` `Reconcile`, the JobSet plugin's
 * `Status`):
 * - failure: a `Failed` condition, whatever put it there (the JobSet failed after its restarts, the
 *   deadline passed: `DeadlineExceeded`, the runtime is unsupported). Conditions are set in place
 *   and a `Suspended` condition (Kueue) comes first, so `Failed` can sit at different indices: every
 *   index the CRD allows is ORed. `jobsStatus[].failed` is not used: it counts while JobSet restarts.
 * - success: the trainer's replicated job counts a succeeded Job. `jobsStatus` is copied from the
 *   JobSet's `replicatedJobsStatus`, built from a Go map; the runtime has a single replicated job, so
 *   the list has one entry whatever the map order, and its name is required as well, so that another
 *   replicated job's count could never end the step early. A condition index cannot be used (success
 *   requirements are ANDed, and `Complete` is at index 0 or 1 depending on Kueue).
 */
function waitConditions(_spec: any): WaitConditions {
  return {
    success: `status.jobsStatus.0.name == ${NODE},status.jobsStatus.0.succeeded > 0`,
    failure: Array.from({ length: MAX_CONDITIONS }, (_, i) => `status.conditions.${i}.type == Failed`).join(','),
  };
}

/** The TrainJob backend of a Trainer release (`major.minor`; only 2.3 is written). */
export function trainJobBackend(version: string): JobBackend {
  if (version !== '2.3') throw new Error(`Kubeflow Trainer version must be 2.3 (TrainerVersion.V2_3), got ${version}`);
  return {
    apiVersion: API_VERSION,
    kind: 'TrainJob',
    apiGroup: API_GROUP,
    resourcePlural: 'trainjobs',
    extraReadResources: ['trainingruntimes'],
    // JobSet names each pod's hostname `<trainjob>-node-0-<index>` (a 63-character DNS label): 52 leaves 512 nodes
    maxJobNameLength: 52,
    checkProps,
    attach,
    renderSpec,
    waitConditions,
    longestDerivedSuffix: (spec) => `-${NODE}-0-${Math.max(0, (spec.trainer?.numNodes ?? 1) - 1)}`,
  };
}
