import { Duration } from 'cdk8s';
import { GangSettings } from './_workload';
import * as v from '../_validate';
import { Labels } from '../labels';

/**
 * Options for queueing through Kueue.
 */
export interface KueueOptions {
  /**
   * A Kueue `WorkloadPriorityClass` name.
   * @default - the queue's default priority
   */
  readonly priorityClass?: string;
}

/**
 * Options for Volcano gang scheduling (for a PyTorchJob, `runPolicy.schedulingPolicy`, which only
 * acts when the Training Operator runs with `--gang-scheduler-name=volcano`).
 */
export interface VolcanoOptions {
  /**
   * The Volcano queue.
   * @default - Volcano's `default` queue
   */
  readonly queue?: string;
  /**
   * The PriorityClass of the job's pod group.
   * @default - none
   */
  readonly priorityClass?: string;
  /**
   * How long the pod group may wait to be scheduled as a whole.
   * @default - Volcano's default
   */
  readonly scheduleTimeout?: Duration;
  /**
   * Pods that must be placed together before any starts.
   * @default - every pod of the job (all-or-nothing)
   */
  readonly minAvailable?: number;
}

/**
 * Who admits a training job's pods.
 */
export enum QueueingKind {
  /** The default scheduler, pod by pod. */
  NONE = 'none',
  /** Kueue admits the whole job against a ClusterQueue's quota. */
  KUEUE = 'kueue',
  /** Volcano gang-schedules the job's pods as one pod group. */
  VOLCANO = 'volcano',
}

/**
 * What a queueing choice adds to a job, whatever its backend: labels on the job object, and gang
 * settings the backend expresses in its own terms.
 * @internal
 */
export interface _QueueingRender {
  readonly labels: { [key: string]: string };
  readonly gang?: GangSettings;
}

/**
 * How a training job waits for GPUs, so a multi-node job never holds half its GPUs while waiting
 * for the rest.
 *
 * - `Queueing.kueue(...)`: Kueue admits the whole job at once against a ClusterQueue's GPU quota
 *   (the label `kueue.x-k8s.io/queue-name`; Kueue's PyTorchJob integration must be enabled: it is
 *   off by default since Kueue 0.19).
 * - `Queueing.volcano(...)`: Volcano gang-schedules the job's pods as one pod group.
 * - `Queueing.none()`: the default scheduler, pod by pod.
 */
export class Queueing {
  /** No queueing: pods go straight to the scheduler. */
  public static none(): Queueing {
    return new Queueing(QueueingKind.NONE, undefined, {});
  }

  /**
   * Queue through a Kueue LocalQueue.
   * @param queueName the LocalQueue's name in the job's namespace
   */
  public static kueue(queueName: string, options: KueueOptions = {}): Queueing {
    v.dns1123Label('queueing.kueue queueName', queueName);
    v.dns1123Label('queueing.kueue priorityClass', options.priorityClass, 253);
    return new Queueing(QueueingKind.KUEUE, queueName, { kueue: options });
  }

  /** Gang-schedule through Volcano. */
  public static volcano(options: VolcanoOptions = {}): Queueing {
    v.dns1123Label('queueing.volcano queue', options.queue);
    v.positiveInt('queueing.volcano minAvailable', options.minAvailable);
    v.positiveDuration('queueing.volcano scheduleTimeout', options.scheduleTimeout);
    return new Queueing(QueueingKind.VOLCANO, options.queue, { volcano: options });
  }

  /** Who admits the job's pods. */
  public readonly kind: QueueingKind;
  /** The Kueue LocalQueue or Volcano queue, when one is set. */
  public readonly queueName?: string;
  private readonly options: { kueue?: KueueOptions; volcano?: VolcanoOptions };

  private constructor(kind: QueueingKind, queueName: string | undefined, options: { kueue?: KueueOptions; volcano?: VolcanoOptions }) {
    this.kind = kind;
    this.queueName = queueName;
    this.options = options;
  }

  /**
   * @internal
   * @param pods the job's pod count, the gang size
   */
  public _render(pods: number): _QueueingRender {
    if (this.kind === QueueingKind.KUEUE) {
      const labels: { [key: string]: string } = { [Labels.KUEUE_QUEUE]: this.queueName! };
      if (this.options.kueue?.priorityClass) labels[Labels.KUEUE_PRIORITY] = this.options.kueue.priorityClass;
      return { labels };
    }
    if (this.kind === QueueingKind.VOLCANO) {
      const o = this.options.volcano!;
      if (o.minAvailable !== undefined && o.minAvailable > pods) {
        v.fail('queueing.volcano minAvailable', o.minAvailable, `at most the job's ${pods} pod(s)`);
      }
      return {
        labels: {},
        gang: {
          minMember: o.minAvailable ?? pods,
          queue: o.queue,
          priorityClass: o.priorityClass,
          scheduleTimeoutSeconds: o.scheduleTimeout ? v.seconds(o.scheduleTimeout) : undefined,
        },
      };
    }
    return { labels: {} };
  }
}
