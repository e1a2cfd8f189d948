import { Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { clusterScoped, cores, namespaceOf, quantity, trainingJobsIn } from './_platform';
import { ClusterQueueV1Beta2, ClusterQueueV1Beta2SpecQueueingStrategy, ClusterQueueV1Beta2SpecResourceGroupsFlavorsResourcesBorrowingLimit, ClusterQueueV1Beta2SpecResourceGroupsFlavorsResourcesNominalQuota, ClusterQueueV1Beta2SpecPreemptionWithinClusterQueue } from '../../imports/kueue-clusterqueue-kueue.x-k8s.io';
import { LocalQueueV1Beta2 } from '../../imports/kueue-localqueue-kueue.x-k8s.io';
import { ResourceFlavorV1Beta2 } from '../../imports/kueue-resourceflavor-kueue.x-k8s.io';
import { WorkloadPriorityClassV1Beta2 } from '../../imports/kueue-workloadpriorityclass-kueue.x-k8s.io';
import * as v from '../_validate';
import { Labels, LABELS, PART_OF } from '../labels';
import { GpuNodePool } from '../training/gpu-node-pool';
import { GpuTrainingJob } from '../training/gpu-training-job';
import { KueueOptions, Queueing, QueueingKind } from '../training/queueing';

/**
 * Properties of a Kueue ResourceFlavor.
 */
export interface KueueResourceFlavorProps {
  /**
   * The flavor's name (cluster-scoped).
   * @default 'gpu-training'
   */
  readonly name?: string;
  /**
   * The GPU nodes the flavor stands for: its labels become the flavor's `nodeLabels` (Kueue adds
   * them as a node selector to admitted pods) and its taints the flavor's `nodeTaints` (only
   * workloads tolerating them are admitted to the flavor; our training jobs do). A pool limited to
   * one GPU product adds `nvidia.com/gpu.product` to the node labels.
   * @default GpuNodePool.seedDefault()
   */
  readonly nodePool?: GpuNodePool;
}

/**
 * A Kueue `ResourceFlavor` (kueue.x-k8s.io/v1beta2): the GPU nodes a ClusterQueue's quota is for.
 */
export class KueueResourceFlavor extends Construct {
  /** The flavor's name. */
  public readonly name: string;
  /** The node pool it describes. */
  public readonly nodePool: GpuNodePool;

  public constructor(scope: Construct, id: string, props: KueueResourceFlavorProps = {}) {
    super(scope, id);
    this.name = props.name ?? 'gpu-training';
    v.dns1123Label('name', this.name, 253);
    this.nodePool = props.nodePool ?? GpuNodePool.seedDefault();
    const products = this.nodePool.gpuProducts;
    const nodeLabels = { ...this.nodePool.nodeSelector, ...(products.length === 1 ? { [Labels.GPU_PRODUCT]: products[0] } : {}) };
    const taints = this.nodePool._tolerations().map((t) => ({ key: t.key, effect: t.effect, ...(t.value !== undefined ? { value: t.value } : {}) }));
    const flavor = new ResourceFlavorV1Beta2(this, 'Resource', {
      metadata: { name: this.name, labels: { [LABELS.partOf]: PART_OF } },
      spec: { nodeLabels: Object.keys(nodeLabels).length ? nodeLabels : undefined, nodeTaints: taints.length ? taints : undefined },
    });
    clusterScoped(flavor);
  }
}

/**
 * How a ClusterQueue orders the workloads waiting for quota.
 */
export enum KueueQueueingStrategy {
  /** Oldest first, but a younger job that fits may be admitted while an older, larger one waits. */
  BEST_EFFORT_FIFO = 'BestEffortFIFO',
  /** Oldest first, always: a large job at the head blocks smaller ones behind it. */
  STRICT_FIFO = 'StrictFIFO',
}

/**
 * Properties of a Kueue ClusterQueue.
 */
export interface KueueClusterQueueProps {
  /**
   * The flavor the quota is for.
   */
  readonly flavor: KueueResourceFlavor;
  /**
   * GPUs the queue may have admitted at once (`nominalQuota` of the GPU resource). Every job
   * using the queue must fit in it: Kueue admits a job whole or not at all.
   */
  readonly gpus: number;
  /**
   * CPU quota. Kueue refuses workloads that request a resource the queue does not cover, so the
   * queue covers CPU and memory too.
   * @default - 16 cores per GPU (the seed's CPT stage asks for 8 per GPU)
   */
  readonly cpu?: Cpu;
  /**
   * Memory quota.
   * @default - 128Gi per GPU (the seed's CPT stage asks for 50Gi per GPU)
   */
  readonly memory?: Size;
  /**
   * The ClusterQueue's name (cluster-scoped).
   * @default - '<namespace>-gpu-training', or 'gpu-training' in a chart without a namespace
   */
  readonly name?: string;
  /**
   * A cohort to borrow unused quota from (and lend to).
   * @default - no cohort
   */
  readonly cohortName?: string;
  /**
   * GPUs the queue may borrow from its cohort beyond `gpus`.
   * @default - unlimited when in a cohort; none otherwise
   */
  readonly gpuBorrowingLimit?: number;
  /**
   * Namespaces whose LocalQueues may point at this queue (matched on `kubernetes.io/metadata.name`).
   * @default - the chart's namespace; every namespace in a chart without one
   */
  readonly namespaces?: string[];
  /**
   * How waiting workloads are ordered.
   * @default KueueQueueingStrategy.BEST_EFFORT_FIFO
   */
  readonly queueingStrategy?: KueueQueueingStrategy;
  /**
   * Let a higher-priority workload preempt lower-priority ones admitted by this queue.
   * @default false (Kueue's default: no preemption)
   */
  readonly preemptLowerPriority?: boolean;
}

/**
 * A Kueue `ClusterQueue` (kueue.x-k8s.io/v1beta2) with a GPU, CPU and memory quota on one flavor.
 *
 * Kueue reserves the whole quota of a job before any of its pods are created, so a multi-node job
 * never holds half its GPUs while waiting for the rest. (To also release the quota of a job whose
 * pods cannot all start, enable `waitForPodsReady` in Kueue's configuration.)
 */
export class KueueClusterQueue extends Construct {
  /** The queue's name. */
  public readonly name: string;
  /** The GPU quota. */
  public readonly gpus: number;
  /** The most GPUs a single job may use: the quota plus the borrowing limit (when set). */
  public readonly maxGpusPerJob: number;
  /** The extended resource name of the GPUs. */
  public readonly gpuResourceName: string;

  public constructor(scope: Construct, id: string, props: KueueClusterQueueProps) {
    super(scope, id);
    const ns = namespaceOf(this);
    this.name = props.name ?? (ns ? `${ns}-gpu-training` : 'gpu-training');
    v.dns1123Label('name', this.name, 253);
    v.positiveInt('gpus', props.gpus, 100000);
    v.nonNegativeInt('gpuBorrowingLimit', props.gpuBorrowingLimit);
    v.dns1123Label('cohortName', props.cohortName, 253);
    if (props.gpuBorrowingLimit !== undefined && !props.cohortName) {
      v.fail('gpuBorrowingLimit', props.gpuBorrowingLimit, 'unset without a \'cohortName\' (there is nothing to borrow from)');
    }
    for (const n of props.namespaces ?? []) v.dns1123Label('namespaces[]', n);
    v.positiveSize('memory', props.memory);
    const cpu = props.cpu ? cores('cpu', props.cpu) : props.gpus * 16;
    const memory = props.memory ? quantity(props.memory) : `${props.gpus * 128}Gi`;
    this.gpus = props.gpus;
    this.gpuResourceName = props.flavor.nodePool.gpuResourceName;
    this.maxGpusPerJob = props.cohortName
      ? (props.gpuBorrowingLimit === undefined ? Number.MAX_SAFE_INTEGER : props.gpus + props.gpuBorrowingLimit)
      : props.gpus;

    const namespaces = props.namespaces ?? (ns ? [ns] : []);
    const Nominal = ClusterQueueV1Beta2SpecResourceGroupsFlavorsResourcesNominalQuota;
    const queue = new ClusterQueueV1Beta2(this, 'Resource', {
      metadata: { name: this.name, labels: { [LABELS.partOf]: PART_OF } },
      spec: {
        cohortName: props.cohortName,
        namespaceSelector: namespaces.length
          ? { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [...namespaces] }] }
          : {},
        queueingStrategy: (props.queueingStrategy ?? KueueQueueingStrategy.BEST_EFFORT_FIFO) as string as ClusterQueueV1Beta2SpecQueueingStrategy,
        ...(props.preemptLowerPriority
          ? { preemption: { withinClusterQueue: ClusterQueueV1Beta2SpecPreemptionWithinClusterQueue.LOWER_PRIORITY } }
          : {}),
        resourceGroups: [{
          coveredResources: ['cpu', 'memory', this.gpuResourceName],
          flavors: [{
            name: props.flavor.name,
            resources: [
              { name: 'cpu', nominalQuota: Nominal.fromString(String(cpu)) },
              { name: 'memory', nominalQuota: Nominal.fromString(memory) },
              {
                name: this.gpuResourceName,
                nominalQuota: Nominal.fromNumber(props.gpus),
                ...(props.gpuBorrowingLimit !== undefined
                  ? { borrowingLimit: ClusterQueueV1Beta2SpecResourceGroupsFlavorsResourcesBorrowingLimit.fromNumber(props.gpuBorrowingLimit) }
                  : {}),
              },
            ],
          }],
        }],
      },
    });
    clusterScoped(queue);
  }

  /** Whether a job fits in the queue's GPU quota (a job that does not is never admitted). */
  public admits(job: GpuTrainingJob): boolean {
    return job.totalGpus <= this.maxGpusPerJob;
  }

  /** Throws when a job needs more GPUs than the queue can ever admit at once. */
  public checkAdmits(job: GpuTrainingJob): void {
    if (!this.admits(job)) {
      v.fail('gpus', this.gpus, `at least the ${job.totalGpus} GPUs of job '${job.node.path}' (${job.nodes} node(s) x ${job.gpusPerNode}): Kueue admits a job whole, so a job larger than the ClusterQueue '${this.name}' quota waits forever`);
    }
  }
}

/**
 * Properties of a Kueue LocalQueue.
 */
export interface KueueLocalQueueProps {
  /** The ClusterQueue it submits to. */
  readonly clusterQueue: KueueClusterQueue;
  /**
   * The LocalQueue's name (in the chart's namespace), the value of the jobs' `kueue.x-k8s.io/queue-name` label.
   * @default 'gpu-training'
   */
  readonly name?: string;
}

/**
 * A Kueue `LocalQueue` (kueue.x-k8s.io/v1beta2) in the chart's namespace, pointing at a ClusterQueue.
 *
 * Pass `localQueue.queueing()` as the `queueing` prop of stages and jobs. At synthesis every job in
 * the same chart queued here is checked against the ClusterQueue's GPU quota.
 */
export class KueueLocalQueue extends Construct {
  /** The LocalQueue's name. */
  public readonly name: string;
  /** The ClusterQueue it submits to. */
  public readonly clusterQueue: KueueClusterQueue;

  public constructor(scope: Construct, id: string, props: KueueLocalQueueProps) {
    super(scope, id);
    this.name = props.name ?? 'gpu-training';
    v.dns1123Label('name', this.name);
    this.clusterQueue = props.clusterQueue;
    new LocalQueueV1Beta2(this, 'Resource', {
      metadata: { name: this.name, labels: { [LABELS.partOf]: PART_OF } },
      spec: { clusterQueue: props.clusterQueue.name },
    });
    this.node.addValidation({
      validate: () => trainingJobsIn(this)
        .filter((job) => job.queueing.kind === QueueingKind.KUEUE && job.queueing.queueName === this.name && !this.admits(job))
        .map((job) => `'gpus' of ClusterQueue '${this.clusterQueue.name}' must be at least the ${job.totalGpus} GPUs of job '${job.node.path}' queued in LocalQueue '${this.name}', got ${this.clusterQueue.gpus} (Kueue admits a job whole, so it would wait forever)`),
    });
  }

  /**
   * The `queueing` prop of the jobs that use this queue.
   */
  public queueing(options: KueueOptions = {}): Queueing {
    return Queueing.kueue(this.name, options);
  }

  /** Whether a job fits in the ClusterQueue's GPU quota. */
  public admits(job: GpuTrainingJob): boolean {
    return this.clusterQueue.admits(job);
  }

  /** Throws when a job needs more GPUs than the ClusterQueue can ever admit at once. */
  public checkAdmits(job: GpuTrainingJob): void {
    this.clusterQueue.checkAdmits(job);
  }
}

/**
 * Properties of a Kueue WorkloadPriorityClass.
 */
export interface KueueWorkloadPriorityClassProps {
  /** The priority: higher values are admitted (and, with preemption, kept) first. */
  readonly value: number;
  /**
   * The class's name (cluster-scoped), the value of the jobs' `kueue.x-k8s.io/priority-class` label.
   * @default - generated from the construct path
   */
  readonly name?: string;
  /**
   * What the class is for.
   * @default - none
   */
  readonly description?: string;
}

/**
 * A Kueue `WorkloadPriorityClass` (kueue.x-k8s.io/v1beta2): queueing priority that does not change
 * the pods' own scheduling priority.
 */
export class KueueWorkloadPriorityClass extends Construct {
  /** The class's name. */
  public readonly name: string;
  /** The priority value. */
  public readonly value: number;

  public constructor(scope: Construct, id: string, props: KueueWorkloadPriorityClassProps) {
    super(scope, id);
    if (!Number.isInteger(props.value) || Math.abs(props.value) > 1_000_000_000) {
      v.fail('value', props.value, 'an integer from -1000000000 to 1000000000');
    }
    v.dns1123Label('name', props.name, 253);
    const pc = new WorkloadPriorityClassV1Beta2(this, 'Resource', {
      metadata: { ...(props.name ? { name: props.name } : {}), labels: { [LABELS.partOf]: PART_OF } },
      value: props.value,
      ...(props.description ? { description: props.description } : {}),
    });
    clusterScoped(pc);
    this.name = pc.name;
    this.value = props.value;
  }

  /** The `queueing` prop of jobs queued in `localQueue` with this priority. */
  public queueing(localQueue: KueueLocalQueue): Queueing {
    return localQueue.queueing({ priorityClass: this.name });
  }
}

/**
 * Properties of a complete Kueue GPU queue.
 */
export interface KueueGpuQueueProps {
  /**
   * The GPU quota of the ClusterQueue.
   */
  readonly gpus: number;
  /**
   * The GPU nodes.
   * @default GpuNodePool.seedDefault()
   */
  readonly nodePool?: GpuNodePool;
  /**
   * CPU quota.
   * @default - 16 cores per GPU
   */
  readonly cpu?: Cpu;
  /**
   * Memory quota.
   * @default - 128Gi per GPU
   */
  readonly memory?: Size;
  /**
   * The LocalQueue's name.
   * @default 'gpu-training'
   */
  readonly localQueueName?: string;
  /**
   * The ClusterQueue's name.
   * @default - '<namespace>-gpu-training'
   */
  readonly clusterQueueName?: string;
  /**
   * The ResourceFlavor's name.
   * @default 'gpu-training'
   */
  readonly flavorName?: string;
  /**
   * How waiting workloads are ordered.
   * @default KueueQueueingStrategy.BEST_EFFORT_FIFO
   */
  readonly queueingStrategy?: KueueQueueingStrategy;
}

/**
 * The three Kueue objects a namespace needs to queue GPU jobs: a ResourceFlavor for the node pool,
 * a ClusterQueue with the quota, and a LocalQueue in the chart's namespace.
 *
 * Kueue 0.19 turned its PyTorchJob integration off by default: enable `kubeflow.org/pytorchjob` in
 * `integrations.frameworks` of Kueue's configuration (see docs/platform.md).
 */
export class KueueGpuQueue extends Construct {
  /** The ResourceFlavor. */
  public readonly flavor: KueueResourceFlavor;
  /** The ClusterQueue. */
  public readonly clusterQueue: KueueClusterQueue;
  /** The LocalQueue. */
  public readonly localQueue: KueueLocalQueue;

  public constructor(scope: Construct, id: string, props: KueueGpuQueueProps) {
    super(scope, id);
    this.flavor = new KueueResourceFlavor(this, 'Flavor', { name: props.flavorName, nodePool: props.nodePool });
    this.clusterQueue = new KueueClusterQueue(this, 'ClusterQueue', {
      flavor: this.flavor,
      gpus: props.gpus,
      cpu: props.cpu,
      memory: props.memory,
      name: props.clusterQueueName,
      queueingStrategy: props.queueingStrategy,
    });
    this.localQueue = new KueueLocalQueue(this, 'LocalQueue', { clusterQueue: this.clusterQueue, name: props.localQueueName });
  }

  /** The `queueing` prop of the jobs that use this queue. */
  public queueing(options: KueueOptions = {}): Queueing {
    return this.localQueue.queueing(options);
  }

  /** Whether a job fits in the GPU quota. */
  public admits(job: GpuTrainingJob): boolean {
    return this.clusterQueue.admits(job);
  }

  /** Throws when a job needs more GPUs than the quota. */
  public checkAdmits(job: GpuTrainingJob): void {
    this.clusterQueue.checkAdmits(job);
  }
}
