// Kubeflow Training Operator v1 `PyTorchJob` (kubeflow.org/v1): the one place that knows how a
// training workload becomes that object and how a pipeline sees it end.

import { containerSecurityContext, podSecurityContext, scratchMounts, scratchVolumes } from './_pod-defaults';
import { JobBackend, TrainingWorkload, WaitConditions } from './_workload';
import { ClaimMount } from '../platform/storage';

/** The container name the operator's admission webhook requires. */
const CONTAINER_NAME = 'pytorch';

/** An empty collection is left out, not emitted as `[]` or `{}`. */
const nonEmpty = <T extends object>(x: T): T | undefined => (Object.keys(x).length > 0 ? x : undefined);

function claimVolumes(claims: ClaimMount[]): any[] {
  const byVolume = new Map<string, ClaimMount[]>();
  for (const c of claims) byVolume.set(c.volumeName, [...(byVolume.get(c.volumeName) ?? []), c]);
  return [...byVolume.entries()].map(([name, mounts]) => ({
    name,
    persistentVolumeClaim: {
      claimName: mounts[0].claimName,
      // a claim mounted read-only everywhere is attached read-only too
      readOnly: mounts.every((m) => m.readOnly) ? true : undefined,
    },
  }));
}

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
          ...w.claims.map((c) => ({ name: c.volumeName, mountPath: c.mountPath, readOnly: c.readOnly || undefined, subPath: c.subPath })),
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

function waitConditions(spec: any): WaitConditions {
  const types = Object.keys(spec.pytorchReplicaSpecs).sort();
  return {
    // Worker-only (elastic): the operator succeeds the job once a Worker succeeds
    success: types.includes('Master') ? 'status.replicaStatuses.Master.succeeded > 0' : 'status.replicaStatuses.Worker.succeeded > 0',
    failure: types.map((t) => `status.replicaStatuses.${t}.failed > 0`).join(','),
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
