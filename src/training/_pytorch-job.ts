// The one place that knows how a training workload becomes a Kubeflow PyTorchJob (kubeflow.org/v1).
// Stages and pipelines describe *what* they need (`TrainingWorkload`); a TrainJob renderer for
// Kubeflow Trainer v2 can be added beside this file without touching them.

import { _Toleration } from './gpu-node-pool';
import { ClaimMount } from '../platform/storage';

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
  return { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, runAsNonRoot: true };
}

/** Paths of the writable scratch volumes every trainer pod gets. */
export const SCRATCH_MOUNTS = { shm: '/dev/shm', tmp: '/tmp', cache: '/cache' };

/** The variables that point the trainer's libraries at the cache volume (one string each, shared). */
export const SCRATCH_ENV = { hfHome: `${SCRATCH_MOUNTS.cache}/huggingface`, tritonCache: `${SCRATCH_MOUNTS.cache}/triton` };

// The spec is rendered as the JSON cdk8s writes: keys sorted at every level (every literal below
// lists its keys in order; maps and objects from elsewhere go through `sortedJson`), no undefined or
// null values. A pipeline embeds it as is, without a second pass through cdk8s; a test in
// test/gpu-training-job.test.ts compares it, key order included, with what cdk8s writes for the job.

/** A copy of a JSON value with the keys of every object sorted and undefined/null values dropped. */
export function sortedJson(value: any): any {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(sortedJson);
  const json: any = {};
  for (const key of Object.keys(value).sort()) {
    const v = value[key];
    if (v != null) json[key] = sortedJson(v);
  }
  return json;
}

function podTemplate(w: TrainingWorkload): any {
  // cpu < memory < the GPU resource name ('amd.com/gpu', 'nvidia.com/gpu', ...): sorted anyway
  const quantities = (): any => sortedJson({ cpu: w.cpu, memory: w.memory, [w.gpuResourceName]: w.gpusPerNode });
  const mount = (name: string, mountPath: string, readOnly?: boolean, subPath?: string): any => ({
    mountPath,
    name,
    ...(readOnly ? { readOnly: true } : {}),
    ...(subPath ? { subPath } : {}),
  });
  const volumeMounts = [
    mount('dshm', SCRATCH_MOUNTS.shm),
    mount('tmp', SCRATCH_MOUNTS.tmp),
    mount('cache', SCRATCH_MOUNTS.cache),
    ...w.claims.map((c) => mount(c.volumeName, c.mountPath, c.readOnly, c.subPath)),
  ];
  const claimVolumes = new Map<string, ClaimMount>();
  for (const c of w.claims) claimVolumes.set(c.volumeName, c);
  const volumes = [
    // NCCL and DataLoader workers exchange data through /dev/shm; the container default is 64Mi.
    { emptyDir: { medium: 'Memory', sizeLimit: w.sharedMemory }, name: 'dshm' },
    { emptyDir: {}, name: 'tmp' },
    { emptyDir: {}, name: 'cache' },
    ...[...claimVolumes.values()].map((c) => ({
      name: c.volumeName,
      // a claim mounted read-only everywhere is attached read-only too
      persistentVolumeClaim: {
        claimName: c.claimName,
        ...(w.claims.filter((x) => x.volumeName === c.volumeName).every((x) => x.readOnly) ? { readOnly: true } : {}),
      },
    })),
  ];

  // An optional first key is merged with Object.assign, not spread first (`{ ...(a ? { a } : {}),
  // b }`): on Node 20 such a literal gets a hidden class of its own, every time.
  return {
    metadata: Object.assign(Object.keys(w.podAnnotations).length ? { annotations: sortedJson(w.podAnnotations) } : {}, {
      labels: sortedJson(w.podLabels),
    }),
    spec: Object.assign(w.affinity ? { affinity: sortedJson(w.affinity) } : {}, {
      containers: [Object.assign(w.args && w.args.length ? { args: [...w.args] } : {}, {
        command: [...w.command],
        env: w.env.map((e) => (e.valueFrom ? { name: e.name, valueFrom: sortedJson(e.valueFrom) } : { name: e.name, value: e.value })),
        image: w.image,
        ...(w.imagePullPolicy ? { imagePullPolicy: w.imagePullPolicy } : {}),
        name: PYTORCH_CONTAINER_NAME,
        ports: [{ containerPort: w.metricsPort, name: 'metrics', protocol: 'TCP' }],
        resources: { limits: quantities(), requests: quantities() },
        securityContext: containerSecurityContext(),
        volumeMounts,
      })],
      ...(w.imagePullSecrets.length ? { imagePullSecrets: w.imagePullSecrets.map((name) => ({ name })) } : {}),
      ...(Object.keys(w.nodeSelector).length ? { nodeSelector: sortedJson(w.nodeSelector) } : {}),
      ...(w.priorityClassName ? { priorityClassName: w.priorityClassName } : {}),
      securityContext: {
        fsGroup: w.runAsUser,
        fsGroupChangePolicy: 'OnRootMismatch',
        runAsGroup: w.runAsUser,
        runAsNonRoot: true,
        runAsUser: w.runAsUser,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(w.serviceAccountName ? { serviceAccountName: w.serviceAccountName } : {}),
      ...(w.tolerations.length ? { tolerations: w.tolerations.map(sortedJson) } : {}),
      volumes,
    }),
  };
}

/**
 * Renders a workload as a PyTorchJob spec (kubeflow.org/v1), as JSON with sorted keys: what cdk8s
 * would write for it, so that a pipeline can embed it without another cdk8s pass. (The generated
 * `toJson_PyTorchJobSpec` maps every object once more with an object spread per key; it was a
 * third of the time spent producing a stage's manifest.) The strict CRD validation in the tests
 * checks the result against the PyTorchJob schema.
 */
export function renderPyTorchJobSpec(w: TrainingWorkload): any {
  const replica = (replicas: number): any => ({
    replicas,
    restartPolicy: w.restartPolicy,
    template: podTemplate(w),
  });
  // Master + (nodes - 1) identical Workers; an elastic job is Worker-only, as the operator wants.
  const replicaSpecs: { [key: string]: any } = w.elastic
    ? { Worker: replica(w.elastic.maxNodes) }
    : w.nodes > 1
      ? { Master: replica(1), Worker: replica(w.nodes - 1) }
      : { Master: replica(1) };
  return Object.assign(w.elastic ? {
    elasticPolicy: {
      maxReplicas: w.elastic.maxNodes,
      maxRestarts: w.elastic.maxRestarts,
      minReplicas: w.elastic.minNodes,
      rdzvBackend: 'c10d',
    },
  } : {}, {
    // torchrun reads PET_NPROC_PER_NODE from this: one process per GPU
    nprocPerNode: String(w.gpusPerNode),
    pytorchReplicaSpecs: replicaSpecs,
    runPolicy: {
      activeDeadlineSeconds: w.activeDeadlineSeconds,
      backoffLimit: w.backoffLimit,
      cleanPodPolicy: w.cleanPodPolicy,
      ...(w.schedulingPolicy ? { schedulingPolicy: sortedJson(w.schedulingPolicy) } : {}),
      ttlSecondsAfterFinished: w.ttlSecondsAfterFinished,
    },
  });
}
