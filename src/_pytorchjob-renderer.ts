// The one place that knows how a training workload becomes a Kubeflow PyTorchJob (kubeflow.org/v1).
// Stages and pipelines describe *what* they need (`TrainingWorkload`); a TrainJob renderer for
// Kubeflow Trainer v2 can be added beside this file without touching them.

import { _Toleration } from './gpu-node-pool';
import { ClaimMount } from './storage';
import {
  PyTorchJobSpec,
  PyTorchJobSpecPytorchReplicaSpecs,
  PyTorchJobSpecPytorchReplicaSpecsTemplateSpecContainersResourcesLimits as Limit,
  PyTorchJobSpecPytorchReplicaSpecsTemplateSpecContainersResourcesRequests as Request,
  PyTorchJobSpecPytorchReplicaSpecsTemplateSpecVolumesEmptyDirSizeLimit as EmptyDirSize,
} from '../imports/kubeflow-kubeflow.org';

/** The container name the Training Operator's webhook requires. */
export const PYTORCH_CONTAINER_NAME = 'pytorch';

/** One environment variable: a literal value or a Secret reference. */
export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: any;
}

/** What a training job needs, independent of the job API that runs it. */
export interface TrainingWorkload {
  readonly image: string;
  readonly imagePullPolicy?: string;
  readonly command: string[];
  readonly args?: string[];
  readonly gpusPerNode: number;
  readonly gpuResourceName: string;
  readonly nodes: number;
  readonly elastic?: { minNodes: number; maxNodes: number; maxRestarts: number };
  readonly cpu: string;
  readonly memory: string;
  readonly sharedMemory: string;
  readonly env: EnvVar[];
  readonly claims: ClaimMount[];
  readonly metricsPort: number;
  readonly nodeSelector: { [key: string]: string };
  readonly tolerations: _Toleration[];
  readonly affinity?: any;
  readonly restartPolicy: string;
  readonly backoffLimit: number;
  readonly cleanPodPolicy: string;
  readonly ttlSecondsAfterFinished: number;
  readonly activeDeadlineSeconds: number;
  readonly schedulingPolicy?: any;
  readonly podLabels: { [key: string]: string };
  readonly podAnnotations: { [key: string]: string };
  readonly serviceAccountName?: string;
  readonly imagePullSecrets: string[];
  readonly runAsUser: number;
  readonly priorityClassName?: string;
}

/** The container security context of every container the library emits: non-root, no privilege. */
export function containerSecurityContext(): any {
  return { allowPrivilegeEscalation: false, privileged: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } };
}

/** Paths of the writable scratch volumes every trainer pod gets. */
export const SCRATCH_MOUNTS = { shm: '/dev/shm', tmp: '/tmp', cache: '/cache' };

function podTemplate(w: TrainingWorkload): any {
  const limits: { [key: string]: Limit } = {
    cpu: Limit.fromString(w.cpu),
    memory: Limit.fromString(w.memory),
    [w.gpuResourceName]: Limit.fromNumber(w.gpusPerNode),
  };
  const requests: { [key: string]: Request } = {
    cpu: Request.fromString(w.cpu),
    memory: Request.fromString(w.memory),
    [w.gpuResourceName]: Request.fromNumber(w.gpusPerNode),
  };
  const volumeMounts = [
    { name: 'dshm', mountPath: SCRATCH_MOUNTS.shm },
    { name: 'tmp', mountPath: SCRATCH_MOUNTS.tmp },
    { name: 'cache', mountPath: SCRATCH_MOUNTS.cache },
    ...w.claims.map((c) => ({
      name: c.volumeName,
      mountPath: c.mountPath,
      ...(c.readOnly ? { readOnly: true } : {}),
      ...(c.subPath ? { subPath: c.subPath } : {}),
    })),
  ];
  const claimVolumes = new Map<string, ClaimMount>();
  for (const c of w.claims) claimVolumes.set(c.volumeName, c);
  const volumes = [
    // NCCL and DataLoader workers exchange data through /dev/shm; the container default is 64Mi.
    { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: EmptyDirSize.fromString(w.sharedMemory) } },
    { name: 'tmp', emptyDir: {} },
    { name: 'cache', emptyDir: {} },
    ...[...claimVolumes.values()].map((c) => ({
      name: c.volumeName,
      // a claim mounted read-only everywhere is attached read-only too
      persistentVolumeClaim: {
        claimName: c.claimName,
        ...(w.claims.filter((x) => x.volumeName === c.volumeName).every((x) => x.readOnly) ? { readOnly: true } : {}),
      },
    })),
  ];

  return {
    metadata: {
      labels: { ...w.podLabels },
      ...(Object.keys(w.podAnnotations).length ? { annotations: { ...w.podAnnotations } } : {}),
    },
    spec: {
      ...(w.serviceAccountName ? { serviceAccountName: w.serviceAccountName } : {}),
      ...(w.imagePullSecrets.length ? { imagePullSecrets: w.imagePullSecrets.map((name) => ({ name })) } : {}),
      ...(w.priorityClassName ? { priorityClassName: w.priorityClassName } : {}),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: w.runAsUser,
        runAsGroup: w.runAsUser,
        fsGroup: w.runAsUser,
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [{
        name: PYTORCH_CONTAINER_NAME,
        image: w.image,
        ...(w.imagePullPolicy ? { imagePullPolicy: w.imagePullPolicy } : {}),
        command: [...w.command],
        ...(w.args && w.args.length ? { args: [...w.args] } : {}),
        env: w.env.map((e) => ({ ...e })),
        ports: [{ name: 'metrics', containerPort: w.metricsPort, protocol: 'TCP' }],
        resources: { requests, limits },
        securityContext: containerSecurityContext(),
        volumeMounts,
      }],
      volumes,
      ...(Object.keys(w.nodeSelector).length ? { nodeSelector: { ...w.nodeSelector } } : {}),
      ...(w.tolerations.length ? { tolerations: w.tolerations.map((t) => ({ ...t })) } : {}),
      ...(w.affinity ? { affinity: w.affinity } : {}),
    },
  };
}

/** Renders a workload as a PyTorchJob spec (the typed form of the imported CRD). */
export function renderPyTorchJobSpec(w: TrainingWorkload): PyTorchJobSpec {
  const replica = (replicas: number): PyTorchJobSpecPytorchReplicaSpecs => ({
    replicas,
    restartPolicy: w.restartPolicy,
    template: podTemplate(w),
  });
  // Master + (nodes - 1) identical Workers; an elastic job is Worker-only, as the operator wants.
  const replicaSpecs: { [key: string]: PyTorchJobSpecPytorchReplicaSpecs } = w.elastic
    ? { Worker: replica(w.elastic.maxNodes) }
    : w.nodes > 1
      ? { Master: replica(1), Worker: replica(w.nodes - 1) }
      : { Master: replica(1) };
  return {
    // torchrun reads PET_NPROC_PER_NODE from this: one process per GPU
    nprocPerNode: String(w.gpusPerNode),
    pytorchReplicaSpecs: replicaSpecs,
    ...(w.elastic ? {
      elasticPolicy: {
        minReplicas: w.elastic.minNodes,
        maxReplicas: w.elastic.maxNodes,
        maxRestarts: w.elastic.maxRestarts,
        rdzvBackend: 'c10d',
      },
    } : {}),
    runPolicy: {
      cleanPodPolicy: w.cleanPodPolicy,
      backoffLimit: w.backoffLimit,
      ttlSecondsAfterFinished: w.ttlSecondsAfterFinished,
      activeDeadlineSeconds: w.activeDeadlineSeconds,
      ...(w.schedulingPolicy ? { schedulingPolicy: w.schedulingPolicy } : {}),
    },
  };
}

/**
 * A rendered spec as JSON: the quantity classes unwrapped, undefined values dropped. The renderer
 * writes every field under its JSON name, so this is what the generated `toJson_PyTorchJobSpec`
 * returns for it, without that function's object spread per key (quadratic in the keys of every
 * object): the generated mapping was a third of the time spent producing a stage's manifest.
 */
export function pyTorchJobSpecToJson(value: any): any {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(pyTorchJobSpecToJson);
  // Limit, Request and EmptyDirSize wrap a number or string
  if (value.constructor !== Object) return value.value;
  const json: any = {};
  for (const key of Object.keys(value)) {
    if (value[key] !== undefined) json[key] = pyTorchJobSpecToJson(value[key]);
  }
  return json;
}
