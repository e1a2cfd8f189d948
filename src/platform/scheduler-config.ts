import { Yaml } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import * as v from '../_validate';
import { LABELS, PART_OF } from '../labels';

/**
 * A point of a `RequestedToCapacityRatio` scoring shape.
 */
export interface UtilizationShapePoint {
  /** Node utilisation, 0 to 100 (percent). */
  readonly utilization: number;
  /** The score at that utilisation, 0 to 10. */
  readonly score: number;
}

/**
 * How the `NodeResourcesFit` plugin scores nodes for GPU pods.
 */
export class ScoringStrategy {
  /**
   * Prefer the fullest nodes (bin-packing). The default for training: a job that needs 8 GPUs on
   * one node finds one only if smaller jobs were packed together instead of spread over every node.
   */
  public static mostAllocated(): ScoringStrategy {
    return new ScoringStrategy('MostAllocated');
  }

  /**
   * Prefer the emptiest nodes (spreading), the scheduler's default and the seed's choice: good for
   * many small inference pods, bad for large training jobs (it fragments GPUs across nodes).
   */
  public static leastAllocated(): ScoringStrategy {
    return new ScoringStrategy('LeastAllocated');
  }

  /**
   * Score by a piecewise-linear function of the requested-to-capacity ratio. The default shape
   * (0 % -> 0, 100 % -> 10) is bin-packing.
   */
  public static requestedToCapacityRatio(shape?: UtilizationShapePoint[]): ScoringStrategy {
    const points = shape ?? [{ utilization: 0, score: 0 }, { utilization: 100, score: 10 }];
    if (points.length === 0) v.fail('shape', '[]', 'at least one point');
    let last = -1;
    for (const p of points) {
      if (!Number.isInteger(p.utilization) || p.utilization < 0 || p.utilization > 100) v.fail('shape[].utilization', p.utilization, 'an integer from 0 to 100');
      if (!Number.isInteger(p.score) || p.score < 0 || p.score > 10) v.fail('shape[].score', p.score, 'an integer from 0 to 10');
      if (p.utilization <= last) v.fail('shape[].utilization', p.utilization, 'strictly increasing');
      last = p.utilization;
    }
    return new ScoringStrategy('RequestedToCapacityRatio', points.map((p) => ({ utilization: p.utilization, score: p.score })));
  }

  private constructor(
    /** The strategy's `type` in the scheduler configuration. */
    public readonly type: string,
    private readonly shape?: UtilizationShapePoint[],
  ) {}

  /** @internal */
  public _render(resources: { name: string; weight: number }[]): any {
    return {
      type: this.type,
      resources,
      ...(this.shape ? { requestedToCapacityRatio: { shape: this.shape.map((p) => ({ ...p })) } } : {}),
    };
  }
}

/**
 * Properties of the GPU scheduler configuration.
 */
export interface GpuSchedulerConfigProps {
  /**
   * The profile's scheduler name (pods opt in with `spec.schedulerName`).
   * @default 'gpu-scheduler' (the seed's)
   */
  readonly schedulerName?: string;
  /**
   * How nodes are scored.
   * @default ScoringStrategy.mostAllocated() - bin-packing, for training
   */
  readonly scoringStrategy?: ScoringStrategy;
  /**
   * Weight of the GPU resource in the score.
   * @default 100 (the seed's)
   */
  readonly gpuWeight?: number;
  /**
   * Weight of CPU and memory in the score.
   * @default 1
   */
  readonly cpuMemoryWeight?: number;
  /**
   * The extended resource name of the GPUs.
   * @default 'nvidia.com/gpu'
   */
  readonly gpuResourceName?: string;
  /**
   * The ConfigMap's name.
   * @default 'gpu-scheduler-config' (the seed's)
   */
  readonly name?: string;
  /**
   * The ConfigMap's namespace (where the second scheduler runs).
   * @default 'kube-system' (the seed's)
   */
  readonly configMapNamespace?: string;
}

/**
 * The seed's GPU scheduler profile: a `KubeSchedulerConfiguration` in a ConfigMap (key
 * `config.yaml`), for a second kube-scheduler started with `--config`.
 *
 * Two fixes over the seed: the API is `kubescheduler.config.k8s.io/v1` (the seed's `v1beta3` was
 * removed in Kubernetes 1.29), and the scoring strategy is a choice whose default is
 * `MostAllocated` (bin-packing) with `nvidia.com/gpu` weighted: the seed's `LeastAllocated`
 * spreads pods so that every node ends up with a few free GPUs and a job needing a whole node
 * waits. `NodeResourcesFit` and `NodeAffinity` are enabled by default in every profile, so only
 * the plugin's arguments are set.
 */
export class GpuSchedulerConfig extends Construct {
  /** The ConfigMap's data key. */
  public static readonly FILE_NAME = 'config.yaml';
  /** The profile's scheduler name. */
  public readonly schedulerName: string;
  /** The scoring strategy. */
  public readonly scoringStrategy: ScoringStrategy;
  /** The ConfigMap. */
  public readonly configMap: kplus.ConfigMap;
  private readonly config: any;

  public constructor(scope: Construct, id: string, props: GpuSchedulerConfigProps = {}) {
    super(scope, id);
    this.schedulerName = props.schedulerName ?? 'gpu-scheduler';
    v.dns1123Label('schedulerName', this.schedulerName, 253);
    this.scoringStrategy = props.scoringStrategy ?? ScoringStrategy.mostAllocated();
    const gpuWeight = props.gpuWeight ?? 100;
    const otherWeight = props.cpuMemoryWeight ?? 1;
    v.positiveInt('gpuWeight', gpuWeight, 100);
    v.positiveInt('cpuMemoryWeight', otherWeight, 100);
    const gpu = props.gpuResourceName ?? 'nvidia.com/gpu';
    if (!/^[a-z0-9.-]+\/[a-z0-9._-]+$/.test(gpu)) v.fail('gpuResourceName', gpu, 'an extended resource name such as \'nvidia.com/gpu\'');
    const name = props.name ?? 'gpu-scheduler-config';
    v.dns1123Label('name', name, 253);
    const ns = props.configMapNamespace ?? 'kube-system';
    v.dns1123Label('configMapNamespace', ns);

    this.config = {
      apiVersion: 'kubescheduler.config.k8s.io/v1',
      kind: 'KubeSchedulerConfiguration',
      leaderElection: { leaderElect: true, resourceNamespace: ns, resourceName: this.schedulerName },
      profiles: [{
        schedulerName: this.schedulerName,
        pluginConfig: [{
          name: 'NodeResourcesFit',
          args: {
            scoringStrategy: this.scoringStrategy._render([
              { name: gpu, weight: gpuWeight },
              { name: 'cpu', weight: otherWeight },
              { name: 'memory', weight: otherWeight },
            ]),
          },
        }],
      }],
    };
    this.configMap = new kplus.ConfigMap(this, 'Resource', {
      metadata: { name, namespace: ns, labels: { [LABELS.partOf]: PART_OF } },
      data: { [GpuSchedulerConfig.FILE_NAME]: Yaml.stringify(this.config) },
    });
  }

  /** The scheduler configuration (a copy). */
  public get schedulerConfig(): any {
    return JSON.parse(JSON.stringify(this.config));
  }
}
