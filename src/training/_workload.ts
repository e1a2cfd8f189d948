// What a training job needs, independent of the job API that runs it: the description a
// `GpuTrainingJob` hands to its backend (`TrainingBackend`), and what a backend must provide.

import { Construct } from 'constructs';
import type { GpuTrainingJobProps } from './gpu-job-options';
import { _Toleration } from './gpu-node-pool';
import { ClaimMount } from '../platform/storage';

/** One environment variable: a literal value or a Secret reference. */
export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: any;
}

/** Gang scheduling, whatever the scheduler: the pods that must start together, and where they queue. */
export interface GangSettings {
  /** Pods placed together before any starts. */
  readonly minMember: number;
  /** The scheduler's queue (Volcano). */
  readonly queue?: string;
  /** The PriorityClass of the pod group. */
  readonly priorityClass?: string;
  /** How long the group may wait to be scheduled as a whole. */
  readonly scheduleTimeoutSeconds?: number;
}

/** A training workload: one container per node, `nodes` identical pods. */
export interface TrainingWorkload {
  readonly image: string;
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
  /** `runPolicy.backoffLimit`; undefined inside a pipeline (a failed pod must take the operator's normal path). */
  readonly backoffLimit?: number;
  readonly cleanPodPolicy: string;
  readonly ttlSecondsAfterFinished: number;
  readonly activeDeadlineSeconds: number;
  readonly gang?: GangSettings;
  readonly podLabels: { [key: string]: string };
  readonly podAnnotations: { [key: string]: string };
  readonly serviceAccountName?: string;
  readonly imagePullSecrets: string[];
  readonly runAsUser: number;
  readonly priorityClassName?: string;
}

/** How a pipeline step waits for a job: Argo `resource` template conditions. */
export interface WaitConditions {
  /** Requirements that are all true once the job succeeded (Argo ANDs them). */
  readonly success: string;
  /** Requirements any of which is true once the job failed (Argo ORs them). */
  readonly failure: string;
}

/** What a job API (PyTorchJob, TrainJob, ...) must provide. One implementation per file. */
export interface JobBackend {
  /** `apiVersion` of the job object. */
  readonly apiVersion: string;
  /** `kind` of the job object. */
  readonly kind: string;
  /** API group, for RBAC. */
  readonly apiGroup: string;
  /** Plural resource name, for RBAC and `kubectl delete <plural>`. */
  readonly resourcePlural: string;
  /** Other resources of the same group a pipeline's workflow needs to read (none for PyTorchJob). */
  readonly extraReadResources: string[];
  /** The longest name a standalone job may have so that every object the controller derives fits. */
  readonly maxJobNameLength: number;
  /** Throws, at construction, on props the job API cannot express. */
  checkProps?(props: GpuTrainingJobProps): void;
  /** Creates objects the job needs beside itself (e.g. a training runtime), at construction. */
  attach?(job: Construct, workload: () => TrainingWorkload): void;
  /** The job's `spec` (`job`: the construct, where `attach` left its objects). */
  renderSpec(workload: TrainingWorkload, job?: Construct): any;
  /** How a pipeline step sees the job end, from the rendered spec. */
  waitConditions(spec: any): WaitConditions;
  /** The longest suffix the controller appends to the job's name for objects it derives. */
  longestDerivedSuffix(spec: any): string;
}
