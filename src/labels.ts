// The label keys and values the library writes, in one place. The public `Labels` class lists the
// ones users select on (kubectl, PromQL, Kueue); the library's modules read the same strings.

/**
 * The labels and annotations the library puts on what it emits.
 */
export class Labels {
  /** The run a pod belongs to (`{{workflow.name}}` in a pipeline): `kubectl logs -l korean-llm/run=<run>`. */
  public static readonly RUN = 'korean-llm/run';
  /** The training stage a pod runs (`cpt`, `sft`, `rlhf`). */
  public static readonly STAGE = 'korean-llm/stage';
  /** The model a pod trains or serves. */
  public static readonly MODEL = 'korean-llm/model';
  /** The pipeline a run comes from. */
  public static readonly PIPELINE = 'korean-llm/pipeline';
  /** The attempt of a pipeline step (Argo's `{{retries}}`). */
  public static readonly ATTEMPT = 'korean-llm/attempt';
  /** `app.kubernetes.io/component`: `trainer` or `inference`. */
  public static readonly COMPONENT = 'app.kubernetes.io/component';
  /** `app.kubernetes.io/part-of`, set to `korean-llm` on everything the library emits. */
  public static readonly PART_OF = 'app.kubernetes.io/part-of';
  /** The value of `app.kubernetes.io/part-of`. */
  public static readonly PART_OF_VALUE = 'korean-llm';
  /** The label Kueue reads to queue a job. */
  public static readonly KUEUE_QUEUE = 'kueue.x-k8s.io/queue-name';
  /** The label Kueue reads for a workload's priority class. */
  public static readonly KUEUE_PRIORITY = 'kueue.x-k8s.io/priority-class';
  /** The node label of the NVIDIA GPU product (set by GPU feature discovery). */
  public static readonly GPU_PRODUCT = 'nvidia.com/gpu.product';
}

/** The keys above under short names, for the library's own modules. */
export const LABELS = {
  run: Labels.RUN,
  stage: Labels.STAGE,
  model: Labels.MODEL,
  pipeline: Labels.PIPELINE,
  component: Labels.COMPONENT,
  partOf: Labels.PART_OF,
};

/** The value of `app.kubernetes.io/part-of` on everything the library emits. */
export const PART_OF = Labels.PART_OF_VALUE;
