// Kubeflow Training Operator v1 `PyTorchJob` (kubeflow.org/v1): the one place that knows how a
// training workload becomes that object and how a pipeline sees it end.

import { claimMount, claimVolumes, containerSecurityContext, nonEmpty, podSecurityContext, scratchMounts, scratchVolumes } from './_pod-defaults';
import { JobBackend, TrainingWorkload, WaitConditions } from './_workload';

/** The container name the operator's admission webhook requires. */
const CONTAINER_NAME = 'pytorch';


function podTemplate(w: TrainingWorkload): any {
  const quantities = { cpu: w.cpu, memory: w.memory, [w.gpuResourceName]: w.gpusPerNode };
  return {
    metadata: { annotations: nonEmpty(w.podAnnotations), labels: w.podLabels },
    spec: {
      affinity: w.affinity,
      containers: [{
        name: CONTAINER_NAME,
        image: w.image,
        command: w.command,
        args: w.args && w.args.length > 0 ? w.args : undefined,
        env: w.env,
        ports: [{ containerPort: w.metricsPort, name: 'metrics', protocol: 'TCP' }],
        resources: { limits: quantities, requests: quantities },
        securityContext: containerSecurityContext(),
        volumeMounts: [
          ...scratchMounts(),
          ...w.claims.map(claimMount),
        ],
      }],
      imagePullSecrets: w.imagePullSecrets.length > 0 ? w.imagePullSecrets.map((name) => ({ name })) : undefined,
      nodeSelector: nonEmpty(w.nodeSelector),
      priorityClassName: w.priorityClassName,
      securityContext: podSecurityContext(w.runAsUser),
      serviceAccountName: w.serviceAccountName,
      tolerations: w.tolerations.length > 0 ? w.tolerations : undefined,
      volumes: [...scratchVolumes(w.sharedMemory), ...claimVolumes(w.claims)],
    },
  };
}

function renderSpec(w: TrainingWorkload): any {
  const replica = (replicas: number) => ({ replicas, restartPolicy: w.restartPolicy, template: podTemplate(w) });
  // Master + (nodes - 1) identical Workers; an elastic job is Worker-only, as the operator wants.
  const replicaSpecs = w.elastic
    ? { Worker: replica(w.elastic.maxNodes) }
    : w.nodes > 1 ? { Master: replica(1), Worker: replica(w.nodes - 1) } : { Master: replica(1) };
  return {
    elasticPolicy: w.elastic ? {
      maxReplicas: w.elastic.maxNodes,
      maxRestarts: w.elastic.maxRestarts,
      minReplicas: w.elastic.minNodes,
      rdzvBackend: 'c10d',
    } : undefined,
    // torchrun reads PET_NPROC_PER_NODE from this: one process per GPU
    nprocPerNode: String(w.gpusPerNode),
    pytorchReplicaSpecs: replicaSpecs,
    runPolicy: {
      activeDeadlineSeconds: w.activeDeadlineSeconds,
      // unset inside a pipeline (see `GpuTrainingJob.workload()`): with `restartPolicy: Never` and no
      // backoffLimit, a failed pod takes the operator's normal path, which counts it, keeps it (and
      // its logs) under `cleanPodPolicy: Running` and increments the failed-jobs metric
      backoffLimit: w.backoffLimit,
      cleanPodPolicy: w.cleanPodPolicy,
      // acted on only when the operator runs with --gang-scheduler-name (volcano, scheduler-plugins)
      schedulingPolicy: w.gang ? {
        minAvailable: w.gang.minMember,
        queue: w.gang.queue,
        priorityClass: w.gang.priorityClass,
        scheduleTimeoutSeconds: w.gang.scheduleTimeoutSeconds,
      } : undefined,
      ttlSecondsAfterFinished: w.ttlSecondsAfterFinished,
    },
  };
}

/**
 * The most `status.conditions` entries a PyTorchJob can hold. The v1 operator (v1.7-v1.9) writes six
 * condition types (Created, Running, Restarting, Suspended, Succeeded, Failed), each at most once:
 * `setCondition` (`pkg/util/status.go`) drops the old entry of a type before appending the new one
 * (`filterOutCondition`; Running and Restarting even replace each other) and appends nothing once
 * the job has `Failed`. So `Failed`, whenever it is written, sits at an index below six.
 */
export const MAX_JOB_CONDITIONS = 6;

/**
 * How a pipeline step sees a PyTorchJob end, from what the operator writes (v1.7-v1.9):
 *
 * - **Success** from a counter only: `ReconcilePods` (`pkg/controller.v1/common/pod.go`) recounts
 *   `replicaStatuses.<type>.succeeded` from pod phases on the normal path, in the same status write
 *   in which `UpdateJobStatus` (`pytorchjob_controller.go`) appends `Succeeded`: when the Master
 *   succeeds, or, for a Worker-only (elastic) job, when a Worker does. Never a condition index:
 *   success requirements are ANDed, and no index is `Succeeded` in every run.
 * - **Failure** from either what the normal path writes (`replicaStatuses.<type>.failed > 0`: with
 *   `restartPolicy: Never` a failed pod stays `Failed` and `UpdateJobStatus` appends `Failed`) or a
 *   `Failed` condition at any index: `ReconcileJobs` (`common/job.go`) fails a job past
 *   `runPolicy.activeDeadlineSeconds`, or past `runPolicy.backoffLimit` (`NumRequeues` of its fake
 *   work queue is always 0, so `backoffLimit: 0` trips on the first failed pod), by appending
 *   `Failed` and writing the status **without recounting** `replicaStatuses`, after deleting every
 *   pod. Conditions are appended in the order things happen (Created, Suspended/Resumed under
 *   Kueue, Running, Restarting, Failed), so the index of `Failed` varies: the requirement is
 *   repeated for every index below `MAX_JOB_CONDITIONS`. Argo ORs failure requirements and checks
 *   them before success (`workflow/executor/resource.go`), and a requirement is a label-selector
 *   requirement over a gjson path (no list queries; a key is at most 63 characters).
 */
function waitConditions(spec: any): WaitConditions {
  const types = Object.keys(spec.pytorchReplicaSpecs).sort();
  const failedCondition = Array.from({ length: MAX_JOB_CONDITIONS }, (_, i) => `status.conditions.${i}.type == Failed`);
  return {
    // Worker-only (elastic): the operator succeeds the job once a Worker succeeds
    success: types.includes('Master') ? 'status.replicaStatuses.Master.succeeded > 0' : 'status.replicaStatuses.Worker.succeeded > 0',
    failure: [...types.map((t) => `status.replicaStatuses.${t}.failed > 0`), ...failedCondition].join(','),
  };
}

/** The PyTorchJob backend. */
export const PYTORCH_JOB: JobBackend = {
  apiVersion: 'kubeflow.org/v1',
  kind: 'PyTorchJob',
  apiGroup: 'kubeflow.org',
  resourcePlural: 'pytorchjobs',
  extraReadResources: [],
  // the operator's Services are `<job>-master-0` / `<job>-worker-N`: 63-character DNS labels
  maxJobNameLength: 52,
  renderSpec,
  waitConditions,
  longestDerivedSuffix: (spec) => `-worker-${Math.max(0, (spec.pytorchReplicaSpecs.Worker?.replicas ?? 0) - 1)}`,
};
