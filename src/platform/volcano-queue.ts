import { Duration, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { clusterScoped, cores, quantity, trainingJobsIn } from './_platform';
import { Queue, QueueSpecCapability } from '../../imports/volcano-queue-scheduling.volcano.sh';
import * as v from '../_validate';
import { LABELS, PART_OF } from '../labels';
import { GpuTrainingJob } from '../training/gpu-training-job';
import { Queueing, QueueingKind, VolcanoOptions } from '../training/queueing';

/**
 * Properties of a Volcano queue.
 */
export interface VolcanoQueueProps {
  /**
   * The most GPUs the queue's running jobs may hold together (`capability`). Every job using the
   * queue must fit in it: a pod group larger than the capability is never scheduled.
   */
  readonly gpus: number;
  /**
   * The most CPU the queue's jobs may hold.
   * @default - no CPU limit
   */
  readonly cpu?: Cpu;
  /**
   * The most memory the queue's jobs may hold.
   * @default - no memory limit
   */
  readonly memory?: Size;
  /**
   * The queue's name (cluster-scoped).
   * @default 'gpu-training'
   */
  readonly name?: string;
  /**
   * The queue's share of the cluster relative to other queues.
   * @default 1
   */
  readonly weight?: number;
  /**
   * Whether other queues may reclaim resources this queue uses beyond its share.
   * @default false (training jobs are expensive to interrupt)
   */
  readonly reclaimable?: boolean;
  /**
   * The extended resource name of the GPUs.
   * @default 'nvidia.com/gpu'
   */
  readonly gpuResourceName?: string;
}

/**
 * A Volcano `Queue` (scheduling.volcano.sh/v1beta1) with a GPU capability, for gang-scheduled jobs.
 *
 * Volcano places the pods of a job's pod group all together or not at all, so a multi-node job
 * never holds half its GPUs while waiting. The Training Operator creates the pod groups only when
 * it runs with `--gang-scheduler-name=volcano` (see docs/platform.md).
 */
export class VolcanoQueue extends Construct {
  /** The queue's name. */
  public readonly name: string;
  /** The GPU capability. */
  public readonly gpus: number;

  public constructor(scope: Construct, id: string, props: VolcanoQueueProps) {
    super(scope, id);
    this.name = props.name ?? 'gpu-training';
    v.dns1123Label('name', this.name);
    v.positiveInt('gpus', props.gpus, 100000);
    v.positiveInt('weight', props.weight, 65535);
    v.positiveSize('memory', props.memory);
    const gpuResource = props.gpuResourceName ?? 'nvidia.com/gpu';
    if (!/^[a-z0-9.-]+\/[a-z0-9._-]+$/.test(gpuResource)) v.fail('gpuResourceName', gpuResource, 'an extended resource name such as \'nvidia.com/gpu\'');
    this.gpus = props.gpus;
    const capability: { [key: string]: QueueSpecCapability } = { [gpuResource]: QueueSpecCapability.fromNumber(props.gpus) };
    if (props.cpu) capability.cpu = QueueSpecCapability.fromString(String(cores('cpu', props.cpu)));
    if (props.memory) capability.memory = QueueSpecCapability.fromString(quantity(props.memory));
    const queue = new Queue(this, 'Resource', {
      metadata: { name: this.name, labels: { [LABELS.partOf]: PART_OF } },
      spec: { weight: props.weight ?? 1, reclaimable: props.reclaimable ?? false, capability },
    });
    clusterScoped(queue);
    this.node.addValidation({
      validate: () => trainingJobsIn(this)
        .filter((job) => job.queueing.kind === QueueingKind.VOLCANO && job.queueing.queueName === this.name && !this.admits(job))
        .map((job) => `'gpus' of Volcano queue '${this.name}' must be at least the ${job.totalGpus} GPUs of job '${job.node.path}', got ${this.gpus} (a pod group larger than the queue is never scheduled)`),
    });
  }

  /** The `queueing` prop of the jobs that use this queue (gang scheduling through Volcano). */
  public queueing(options: VolcanoQueueingOptions = {}): Queueing {
    const o: VolcanoOptions = { ...options, queue: this.name };
    return Queueing.volcano(o);
  }

  /** Whether a job fits in the queue's GPU capability. */
  public admits(job: GpuTrainingJob): boolean {
    return job.totalGpus <= this.gpus;
  }

  /** Throws when a job needs more GPUs than the queue's capability. */
  public checkAdmits(job: GpuTrainingJob): void {
    if (!this.admits(job)) {
      v.fail('gpus', this.gpus, `at least the ${job.totalGpus} GPUs of job '${job.node.path}': a pod group larger than Volcano queue '${this.name}' is never scheduled`);
    }
  }
}

/**
 * Options of Volcano gang scheduling through a VolcanoQueue (the queue itself is set).
 */
export interface VolcanoQueueingOptions {
  /**
   * The PriorityClass of the job's pod group.
   * @default - none
   */
  readonly priorityClass?: string;
  /**
   * Pods that must be placed together before any starts.
   * @default - every pod of the job (all-or-nothing)
   */
  readonly minAvailable?: number;
  /**
   * How long the pod group may wait to be scheduled as a whole.
   * @default - Volcano's default
   */
  readonly scheduleTimeout?: Duration;
}
