// What every pod the library emits gets, whoever renders it (training jobs, pipeline container
// steps, the vLLM server): writable scratch volumes on a read-only image, the variables pointing the
// Hugging Face and Triton caches at them, and restricted-profile security contexts.

import { ClaimMount } from '../platform/storage';

/** Paths of the writable scratch volumes. */
export const SCRATCH_MOUNTS = { shm: '/dev/shm', tmp: '/tmp', cache: '/cache' };

/** Names of the scratch volumes, in the order they are listed. */
const SCRATCH_VOLUMES: [name: string, path: string][] = [['dshm', SCRATCH_MOUNTS.shm], ['tmp', SCRATCH_MOUNTS.tmp], ['cache', SCRATCH_MOUNTS.cache]];

/** The variables that send the trainer's and its libraries' caches to the scratch volumes. */
export const SCRATCH_ENV: { name: string; value: string }[] = [
  { name: 'HOME', value: SCRATCH_MOUNTS.tmp },
  { name: 'HF_HOME', value: `${SCRATCH_MOUNTS.cache}/huggingface` },
  { name: 'TRITON_CACHE_DIR', value: `${SCRATCH_MOUNTS.cache}/triton` },
  { name: 'XDG_CACHE_HOME', value: SCRATCH_MOUNTS.cache },
];

/**
 * Size limits of the disk-backed scratch volumes. Without one, a runaway write (a cache filled by a
 * loop, a dump in `/tmp`) fills the node's ephemeral storage and the kubelet evicts every pod on the
 * node; with one, only the offending pod is evicted. A limit reserves nothing at scheduling time.
 * - `/tmp` (`HOME`, temporary files, the evaluate step's score and results): 20Gi.
 * - `/cache` (`HF_HOME`: a Hugging Face base model is downloaded there; Triton kernels): 200Gi, room
 *   for a 72B model in bf16 (about 145 GB) plus kernels.
 */
export const SCRATCH_SIZE_LIMITS = { tmp: '20Gi', cache: '200Gi' };

/**
 * The scratch volumes: a memory-backed `/dev/shm` (NCCL and DataLoader workers exchange tensors
 * through it; the container runtime's default is 64Mi), `/tmp` and `/cache` (size limits in
 * `SCRATCH_SIZE_LIMITS`).
 * @param sharedMemory the `/dev/shm` size limit (a quantity such as `16Gi`)
 */
export function scratchVolumes(sharedMemory: string): any[] {
  return [
    { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: sharedMemory } },
    { name: 'tmp', emptyDir: { sizeLimit: SCRATCH_SIZE_LIMITS.tmp } },
    { name: 'cache', emptyDir: { sizeLimit: SCRATCH_SIZE_LIMITS.cache } },
  ];
}

/** The container mounts of the scratch volumes. */
export function scratchMounts(): any[] {
  return SCRATCH_VOLUMES.map(([name, mountPath]) => ({ name, mountPath }));
}

/** Whether a path is one of the scratch mounts or below one. */
export function isScratchPath(path: string): boolean {
  return Object.values(SCRATCH_MOUNTS).some((p) => path === p || path.startsWith(p + '/'));
}

/** Non-root, no privilege escalation, every capability dropped (Pod Security "restricted"). */
export function containerSecurityContext(): any {
  return { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, runAsNonRoot: true };
}

/**
 * The pod security context: the image's user, volumes writable by its group without a recursive
 * `chown` of a large model volume at every start (`OnRootMismatch`), RuntimeDefault seccomp.
 */
export function podSecurityContext(uid: number): any {
  return {
    fsGroup: uid,
    fsGroupChangePolicy: 'OnRootMismatch',
    runAsGroup: uid,
    runAsNonRoot: true,
    runAsUser: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** An empty collection is left out, not emitted as `[]` or `{}`. */
export function nonEmpty<T extends object>(x: T): T | undefined {
  return Object.keys(x).length > 0 ? x : undefined;
}

/** The container mount of an existing claim. */
export function claimMount(c: ClaimMount): any {
  return { name: c.volumeName, mountPath: c.mountPath, readOnly: c.readOnly || undefined, subPath: c.subPath };
}

/** The pod volumes of claims, one per claim; a claim mounted read-only everywhere is attached read-only. */
export function claimVolumes(claims: ClaimMount[]): any[] {
  const byVolume = new Map<string, ClaimMount[]>();
  for (const c of claims) byVolume.set(c.volumeName, [...(byVolume.get(c.volumeName) ?? []), c]);
  return [...byVolume.entries()].map(([name, mounts]) => ({
    name,
    persistentVolumeClaim: { claimName: mounts[0].claimName, readOnly: mounts.every((m) => m.readOnly) ? true : undefined },
  }));
}
