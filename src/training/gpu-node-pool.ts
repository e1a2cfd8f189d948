import * as v from '../_validate';
import { Labels } from '../labels';

/**
 * The effect of a node taint that GPU pods must tolerate.
 */
export enum TaintEffect {
  /** New pods without the toleration are not scheduled on the node. */
  NO_SCHEDULE = 'NoSchedule',
  /** The scheduler avoids the node for pods without the toleration. */
  PREFER_NO_SCHEDULE = 'PreferNoSchedule',
  /** Pods without the toleration are evicted. */
  NO_EXECUTE = 'NoExecute',
}

/**
 * A taint on the pool's nodes, which every GPU pod tolerates.
 */
export interface NodeTaint {
  /** The taint key, e.g. `nvidia.com/gpu`. */
  readonly key: string;
  /**
   * The taint value. Without one the toleration matches any value (`operator: Exists`).
   * @default - any value
   */
  readonly value?: string;
  /**
   * The taint effect.
   * @default TaintEffect.NO_SCHEDULE
   */
  readonly effect?: TaintEffect;
}

/**
 * Options of a GPU node pool.
 */
export interface GpuNodePoolOptions {
  /**
   * Taints on the pool's nodes; every GPU pod gets a matching toleration.
   * @default - the NVIDIA GPU Operator's `nvidia.com/gpu:NoSchedule` taint (the seed's toleration)
   */
  readonly taints?: NodeTaint[];
  /**
   * GPU products the pods may run on, matched against the GPU feature discovery label
   * `nvidia.com/gpu.product` with required node affinity (e.g. `NVIDIA-H100-80GB-HBM3`).
   * @default - any GPU product
   */
  readonly gpuProducts?: string[];
  /**
   * The extended resource name of the GPUs.
   * @default 'nvidia.com/gpu'
   */
  readonly gpuResourceName?: string;
}

/**
 * A toleration as the pod spec wants it.
 * @internal
 */
export interface _Toleration {
  readonly key: string;
  readonly operator: 'Exists' | 'Equal';
  readonly value?: string;
  readonly effect: string;
}

/**
 * Where GPU pods run: a node selector, tolerations and optional GPU product affinity.
 *
 * The seed declares its GPU nodes with a `kind: Node` manifest. Nodes are registered by their
 * kubelets (or a cloud node pool), never applied from a manifest: applying one creates a fake,
 * unschedulable node object or overwrites a real node's labels. The library models the pool as what
 * pods need to find it instead: labels to select and taints to tolerate.
 */
export class GpuNodePool {
  /**
   * The seed's pool: nodes labelled `node-type: gpu-training`, tainted `nvidia.com/gpu:NoSchedule`.
   */
  public static seedDefault(): GpuNodePool {
    return GpuNodePool.fromLabels({ 'node-type': 'gpu-training' });
  }

  /**
   * The default pool of inference servers and of the pipeline's GPU container steps (evaluation):
   * nodes labelled `node-type: gpu-inference`, tainted `nvidia.com/gpu:NoSchedule`. Kept apart from
   * the training pool on purpose: pods that Kueue does not admit but that take GPUs of the nodes a
   * ClusterQueue hands out make Kueue admit jobs that then cannot schedule.
   */
  public static inferenceDefault(): GpuNodePool {
    return GpuNodePool.fromLabels({ 'node-type': 'gpu-inference' });
  }

  /**
   * Nodes carrying all of these labels.
   * @param labels node labels to select, e.g. `{ 'node-type': 'gpu-training' }`
   */
  public static fromLabels(labels: { [key: string]: string }, options: GpuNodePoolOptions = {}): GpuNodePool {
    return new GpuNodePool(labels, options);
  }

  /**
   * Any node with GPUs: no node selector, only the GPU taint toleration (the scheduler still
   * places pods only where `nvidia.com/gpu` is allocatable).
   */
  public static anyGpuNode(options: GpuNodePoolOptions = {}): GpuNodePool {
    return new GpuNodePool({}, options);
  }

  /** The extended resource name of the pool's GPUs. */
  public readonly gpuResourceName: string;
  private readonly labels: { [key: string]: string };
  private readonly taints: NodeTaint[];
  private readonly products: string[];

  private constructor(labels: { [key: string]: string }, options: GpuNodePoolOptions) {
    for (const [key, value] of Object.entries(labels)) {
      v.labelKey('nodePool.labels key', key);
      v.labelValue(`nodePool.labels['${key}']`, value);
    }
    for (const taint of options.taints ?? []) {
      v.labelKey('nodePool.taints[].key', taint.key);
      v.labelValue(`nodePool.taints['${taint.key}'].value`, taint.value);
    }
    for (const product of options.gpuProducts ?? []) {
      v.nonEmpty('nodePool.gpuProducts[]', product);
      v.labelValue('nodePool.gpuProducts[]', product);
    }
    v.uniqueKeys('nodePool.gpuProducts', options.gpuProducts ?? []);
    const resource = options.gpuResourceName ?? 'nvidia.com/gpu';
    if (!/^[a-z0-9.-]+\/[a-z0-9._-]+$/.test(resource)) {
      v.fail('nodePool.gpuResourceName', resource, 'an extended resource name such as \'nvidia.com/gpu\'');
    }
    this.labels = { ...labels };
    this.taints = [...(options.taints ?? [{ key: 'nvidia.com/gpu', effect: TaintEffect.NO_SCHEDULE }])];
    this.products = [...(options.gpuProducts ?? [])];
    this.gpuResourceName = resource;
  }

  /** A copy of this pool restricted to the given GPU products (`nvidia.com/gpu.product`). */
  public withGpuProducts(...products: string[]): GpuNodePool {
    return new GpuNodePool(this.labels, { taints: this.taints, gpuProducts: products, gpuResourceName: this.gpuResourceName });
  }

  /** The node selector (a copy). */
  public get nodeSelector(): { [key: string]: string } {
    return { ...this.labels };
  }

  /** The GPU products the pool is restricted to (a copy; empty for any). */
  public get gpuProducts(): string[] {
    return [...this.products];
  }

  /** @internal */
  public _tolerations(): _Toleration[] {
    return this.taints.map((t) => ({
      key: t.key,
      operator: t.value === undefined ? 'Exists' : 'Equal',
      ...(t.value === undefined ? {} : { value: t.value }),
      effect: t.effect ?? TaintEffect.NO_SCHEDULE,
    }));
  }

  /** @internal the pod affinity for GPU products, or undefined */
  public _affinity(): any {
    if (this.products.length === 0) return undefined;
    return {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: Labels.GPU_PRODUCT, operator: 'In', values: [...this.products] }] }],
        },
      },
    };
  }
}
