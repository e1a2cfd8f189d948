import { ApiObject, Chart, Duration, JsonPatch, Lazy, Names, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct, IValidation } from 'constructs';
import * as v from '../_validate';
import { KoreanBenchmark, PipelineKind } from './pipeline-kind';
import { IModelServer } from '../platform/model-server';
import { ClaimMount, ITrainingStorage, TrainingVolumes } from '../platform/storage';
import { SecretKey } from '../secret-key';
import { containerSecurityContext, SCRATCH_ENV, SCRATCH_MOUNTS } from '../training/_pytorch-job';
import { GpuNodePool } from '../training/gpu-node-pool';
import { GpuTrainingJob, LABELS, PART_OF } from '../training/gpu-training-job';
import { TrainingStage } from '../training/training-stage';

const ARGO_API_VERSION = 'argoproj.io/v1alpha1';
/** The run id inside a pipeline: every job name, label and output path derives from it. */
export const RUN_ID = '{{workflow.name}}';
/** Where the evaluate step writes the aggregate score (the trainer contract's SCORE_FILE). */
export const SCORE_FILE = '/tmp/score';
/** Longest Kubernetes name the Training Operator can derive Services from (`<job>-worker-N`). */
const MAX_SERVICE_NAME = 63;

/**
 * Retries of a pipeline step.
 */
export interface RetryOptions {
  /**
   * Retries after the first attempt.
   * @default 2
   */
  readonly limit?: number;
  /**
   * Wait before the first retry.
   * @default Duration.minutes(2)
   */
  readonly backoff?: Duration;
  /**
   * Multiplier of the wait for each further retry.
   * @default 2
   */
  readonly factor?: number;
  /**
   * The longest total backoff.
   * @default Duration.hours(1)
   */
  readonly maxBackoff?: Duration;
}

/**
 * Options for every step.
 */
export interface StepOptions {
  /**
   * Steps that must succeed first.
   * @default - none (a training stage whose base model comes from another stage depends on it)
   */
  readonly dependsOn?: PipelineStep[];
  /**
   * Retries of this step.
   * @default - the pipeline's retry options
   */
  readonly retry?: RetryOptions;
}

/**
 * Options of a training step.
 */
export interface StageStepOptions extends StepOptions {
  /**
   * Expose the stage's learning rate (and, for a Hugging Face base model, the base model) as
   * workflow parameters named `<step>-learning-rate` / `<step>-base-model`, with the stage's values
   * as defaults, so `argo submit -p <step>-learning-rate=2e-5` changes them per run.
   * @default true
   */
  readonly parameterize?: boolean;
  /**
   * The step's name in the DAG (a DNS-1123 label).
   * @default - the stage's construct id
   */
  readonly name?: string;
  /**
   * The name of the workflow parameter carrying a Hugging Face base model.
   * @default '<step>-base-model'
   */
  readonly baseModelParameter?: string;
  /**
   * The name of the workflow parameter carrying the learning rate.
   * @default '<step>-learning-rate'
   */
  readonly learningRateParameter?: string;
}

/**
 * A container step: preprocess, or anything of your own.
 */
export interface ContainerStepProps extends StepOptions {
  /**
   * The image.
   * @default - the pipeline's image
   */
  readonly image?: string;
  /** The command. */
  readonly command: string[];
  /**
   * Arguments.
   * @default - none
   */
  readonly args?: string[];
  /**
   * Environment variables (values may use `{{workflow.parameters.x}}`).
   * @default - none
   */
  readonly env?: { [name: string]: string };
  /**
   * Environment variables from Secrets.
   * @default - none
   */
  readonly secretEnv?: { [name: string]: SecretKey };
  /**
   * CPU (requests = limits).
   * @default Cpu.units(2)
   */
  readonly cpu?: kplus.Cpu;
  /**
   * Memory (requests = limits).
   * @default Size.gibibytes(4)
   */
  readonly memory?: Size;
  /**
   * GPUs; a GPU step runs on the pipeline's node pool.
   * @default 0
   */
  readonly gpus?: number;
  /**
   * Mount the data volume read-write (preprocess writes its output to the output volume instead).
   * @default false
   */
  readonly writableData?: boolean;
  /**
   * The longest one attempt may run.
   * @default Duration.hours(6)
   */
  readonly activeDeadline?: Duration;
  /**
   * Output parameters read from files the container writes (name -> path).
   * @default - none
   */
  readonly outputFiles?: { [name: string]: string };
}

/**
 * The evaluate step: lm-evaluation-harness on Korean benchmarks, exposing output parameter `score`.
 */
export interface EvaluationStepProps extends StepOptions {
  /** The stage whose merged model is evaluated (a dependency on it is added). */
  readonly model: TrainingStage;
  /**
   * The benchmarks.
   * @default KoreanBenchmark.defaults() - kobest, kmmlu, haerae
   */
  readonly benchmarks?: KoreanBenchmark[];
  /**
   * GPUs for the evaluation (the seed's 1).
   * @default 1
   */
  readonly gpus?: number;
  /**
   * CPU.
   * @default Cpu.units(8)
   */
  readonly cpu?: kplus.Cpu;
  /**
   * Memory (the seed's 50Gi).
   * @default Size.gibibytes(50)
   */
  readonly memory?: Size;
  /**
   * Evaluate only this many examples per task (a smoke run).
   * @default - every example
   */
  readonly limit?: number;
  /**
   * The longest one attempt may run.
   * @default Duration.hours(12)
   */
  readonly activeDeadline?: Duration;
}

/**
 * The deploy step: rolls the inference server to the evaluated model when its score is high enough.
 */
export interface DeploymentStepProps extends StepOptions {
  /** The stage whose merged model is served. */
  readonly model: TrainingStage;
  /** The server to roll. */
  readonly server: IModelServer;
  /**
   * The evaluate step whose score gates the deployment (a dependency on it is added).
   * @default - no gate: deploy after the model's stage
   */
  readonly gate?: PipelineStep;
  /**
   * The lowest score (0..1) that deploys; the default of workflow parameter `min-score`.
   * @default 0.5
   */
  readonly minScore?: number;
  /**
   * Other evaluate steps the gate's score must beat, to deploy only the best of several candidates
   * (on a tie, the evaluate step added first wins). Dependencies on them are added.
   * @default - none
   */
  readonly competitors?: PipelineStep[];
}

/**
 * Properties of a pipeline.
 */
export interface PipelineProps {
  /**
   * The trainer image for container steps, pinned to a tag or digest.
   */
  readonly image: string;
  /**
   * The data and output volumes (existing claims; never `volumeClaimTemplates`).
   * @default TrainingVolumes.fromClaims() - the seed's `llm-training-data-pvc` and `model-output-pvc`
   */
  readonly storage?: ITrainingStorage;
  /**
   * Emit a Workflow, a WorkflowTemplate or a CronWorkflow.
   * @default PipelineKind.workflow()
   */
  readonly kind?: PipelineKind;
  /**
   * The workflow's name prefix (generateName) or the template's name: a DNS-1035 label.
   * @default - derived from the construct path, so two pipelines in a namespace never collide
   */
  readonly name?: string;
  /**
   * Node pool of GPU container steps (evaluation).
   * @default GpuNodePool.seedDefault()
   */
  readonly nodePool?: GpuNodePool;
  /**
   * Retries of each step.
   * @default - 2 retries, 2 minutes backoff doubling up to 1 hour
   */
  readonly retry?: RetryOptions;
  /**
   * Slack incoming-webhook URL, from a Secret: the exit handler posts each run's result.
   * @default - no notification
   */
  readonly slackWebhook?: SecretKey;
  /**
   * Delete the run's PyTorchJobs when the run does not succeed (stopped, failed, timed out), so no
   * orphaned job keeps holding GPUs.
   * @default true
   */
  readonly cleanupOnExit?: boolean;
  /**
   * Keep finished runs this long after success.
   * @default Duration.days(1)
   */
  readonly ttlAfterSuccess?: Duration;
  /**
   * Keep finished runs this long after failure (for their logs).
   * @default Duration.days(7)
   */
  readonly ttlAfterFailure?: Duration;
  /**
   * Label the training pods with `workflows.argoproj.io/workflow` so `argo logs <run>` shows
   * them too (the Argo 3.7 controller then logs that it cannot map those pods to nodes: harmless).
   * With false, use `kubectl logs -l korean-llm/run=<run>`.
   * @default true
   */
  readonly argoLogs?: boolean;
  /**
   * Steps running at once.
   * @default - unlimited
   */
  readonly parallelism?: number;
  /**
   * UID and GID of every container.
   * @default 1000
   */
  readonly runAsUser?: number;
  /**
   * Extra labels on every pod of the workflow (values may use `{{workflow.parameters.x}}`).
   * @default - none
   */
  readonly podLabels?: { [key: string]: string };
}

/**
 * A named workflow parameter.
 */
export class PipelineParameter {
  /** @internal */
  public constructor(
    /** The parameter's name. */
    public readonly name: string,
    /** Its default value. */
    public readonly defaultValue: string,
    /** What it means. */
    public readonly description?: string,
  ) {}

  /** The placeholder Argo substitutes: `{{workflow.parameters.<name>}}`. */
  public get ref(): string {
    return `{{workflow.parameters.${this.name}}}`;
  }
}

/** @internal how a step renders */
interface StepRender {
  template: any;
  task?: { when?: string };
}

/** No errors: one shared array, so that a valid pipeline's checks allocate nothing. */
const NO_ERRORS: string[] = Object.freeze([]) as unknown as string[];

/**
 * A pipeline's validation: its DAG check, computed again only when a step or a dependency was
 * added since the last one. cdk8s validates the whole app once for every chart it synthesizes
 * (millions of validations with hundreds of charts), and the DAG does not change in between: a
 * validation with nothing changed reads this object only and returns its last errors (reading the
 * steps there, objects all over the heap, cost more than visiting three constructs).
 */
class DagValidation implements IValidation {
  /** A step or dependency was added since the last check (they are only ever added). */
  public changed = true;
  private errors: string[] = NO_ERRORS;

  public constructor(private readonly check: () => string[]) {}

  public validate(): string[] {
    if (this.changed) {
      this.errors = this.check();
      this.changed = false;
    }
    return this.errors;
  }
}

/**
 * One task of a pipeline's DAG. Create steps with the pipeline's `add*` methods.
 */
export class PipelineStep {
  /** @internal */
  public static _create(pipeline: Pipeline, name: string, renderer: () => StepRender, job?: GpuTrainingJob): PipelineStep {
    return new PipelineStep(pipeline, name, renderer, job);
  }

  /** The task's name in the DAG (also its template's name). */
  public readonly name: string;
  /** The pipeline the step belongs to. */
  public readonly pipeline: Pipeline;
  /** The training job, for a training step. */
  public readonly job?: GpuTrainingJob;
  /** @internal set once by `addEvaluation`: the step exposes output parameter `score` */
  public _isEvaluation = false;
  /** @internal set once by `addDeployment`: the step runs only `when` its gate's score is high enough */
  public _isGated = false;
  private readonly deps: PipelineStep[] = [];
  private readonly renderer: () => StepRender;

  private constructor(pipeline: Pipeline, name: string, renderer: () => StepRender, job?: GpuTrainingJob) {
    this.pipeline = pipeline;
    this.name = name;
    this.job = job;
    this.renderer = renderer;
  }

  /** Makes this step wait for others (all must succeed). */
  public addDependency(...steps: PipelineStep[]): void {
    for (const s of steps) {
      if (s.pipeline !== this.pipeline) {
        throw new Error(`'dependsOn' of step '${this.name}' must be steps of the same pipeline (${this.pipeline.node.path}), got step '${s.name}' of ${s.pipeline.node.path}`);
      }
      if (s === this) v.fail('dependsOn', s.name, 'other steps (a step cannot depend on itself)');
      if (!this.deps.includes(s)) {
        this.deps.push(s);
        this.pipeline._dagChanged();
      }
    }
  }

  /** The steps this one waits for (a copy). */
  public get dependencies(): PipelineStep[] {
    return [...this.deps];
  }

  /** A placeholder for one of this step's output parameters: `{{tasks.<step>.outputs.parameters.<name>}}`. */
  public outputParameter(name: string): string {
    return `{{tasks.${this.name}.outputs.parameters.${name}}}`;
  }

  /** @internal */
  public _render(): StepRender {
    return this.renderer();
  }
}

/**
 * A DAG of steps, emitted as one Argo Workflow (or WorkflowTemplate, or CronWorkflow) plus the
 * ServiceAccount, Role and RoleBinding it needs.
 *
 * Training steps are Argo `resource` templates that create the stage's PyTorchJob and wait on it:
 * success when `status.replicaStatuses.Master.succeeded > 0`, failure when any replica type counts
 * a failed pod. The Training Operator counts `replicaStatuses.<type>.failed` from pod phases
 * (`PodFailed`), so inside a pipeline every replica runs with `restartPolicy: Never`: a failed pod
 * is then final for that job and seen at once, and the step's `retryStrategy` starts a new job
 * (`generateName`, so no name clash with the failed attempt) that resumes from the newest checkpoint
 * in the run's output directory. `OnFailure` would restart containers in place without the pod ever
 * reaching `Failed`, so a job that exhausts its `backoffLimit` would never fail the step;
 * `ExitCode` counts the failed pod before recreating it, failing the step while the job goes on.
 */
export class Pipeline extends Construct {
  /** The emitted object's kind. */
  public readonly kind: PipelineKind;
  /** The workflow's generateName prefix, or the template's / cron workflow's name. */
  public readonly workflowName: string;
  /** The ServiceAccount the workflow's pods run as. */
  public readonly serviceAccountName: string;
  /** The data and output volumes. */
  public readonly storage: ITrainingStorage;
  /** The default image of container steps. */
  public readonly image: string;
  /** The node pool of GPU container steps. */
  public readonly nodePool: GpuNodePool;

  private readonly props: PipelineProps;
  private readonly steps: PipelineStep[] = [];
  private readonly params = new Map<string, PipelineParameter>();
  private readonly resource: ApiObject;
  private readonly dag = new DagValidation(() => this.checkDag());
  private readonly rules = new Map<string, { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }>();

  public constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    v.pinnedImage('image', props.image);
    v.dns1035('name', props.name, 40);
    v.positiveInt('parallelism', props.parallelism);
    validateRetry('retry', props.retry);
    v.positiveDuration('ttlAfterSuccess', props.ttlAfterSuccess);
    v.positiveDuration('ttlAfterFailure', props.ttlAfterFailure);
    if (props.runAsUser !== undefined && (!Number.isInteger(props.runAsUser) || props.runAsUser < 1)) {
      v.fail('runAsUser', props.runAsUser, 'a non-root UID (a positive integer)');
    }
    this.props = props;
    this.image = props.image;
    this.kind = props.kind ?? PipelineKind.workflow();
    this.storage = props.storage ?? TrainingVolumes.fromClaims();
    this.nodePool = props.nodePool ?? GpuNodePool.seedDefault();
    this.workflowName = props.name ?? Names.toDnsLabel(this, { maxLen: 30, includeHash: false }).replace(/^[^a-z]+/, '') ?? 'pipeline';

    // Least privilege, grown by the steps (no wildcards): the executor reports outputs through
    // WorkflowTaskResults (Argo >= 3.4); training steps manage PyTorchJobs; a deploy step patches
    // exactly its server.
    // (Plain ApiObjects rather than cdk8s-plus or generated classes: one construct, of one class,
    // per document keeps synthesis of many charts fast, see the benchmark in the README.)
    const sa = new ApiObject(this, 'ServiceAccount', { apiVersion: 'v1', kind: 'ServiceAccount', automountServiceAccountToken: true });
    this.serviceAccountName = sa.name;
    const role = new ApiObject(this, 'Role', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      rules: Lazy.any({ produce: () => [...this.rules.values()] }),
    });
    const namespace = Chart.of(this).namespace;
    new ApiObject(this, 'RoleBinding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
      subjects: [{ apiGroup: '', kind: 'ServiceAccount', name: sa.name, ...(namespace ? { namespace } : {}) }],
    });
    this.allowOnce(['create', 'patch'], { apiGroup: 'argoproj.io', resourceType: 'workflowtaskresults' });

    const isCron = this.kind.kind === 'CronWorkflow';
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: ARGO_API_VERSION,
      kind: this.kind.kind,
      metadata: this.kind.kind === 'Workflow'
        ? { generateName: `${this.workflowName}-`, labels: { [LABELS.partOf]: PART_OF } }
        : { name: this.workflowName, labels: { [LABELS.partOf]: PART_OF } },
      spec: Lazy.any({ produce: () => (isCron ? this.kind._cronSpec(this.workflowSpec()) : this.workflowSpec()) }),
    });
    if (this.kind.kind === 'Workflow') {
      // a generateName object has no name of its own: drop the one cdk8s generates
      this.resource.addJsonPatch(JsonPatch.remove('/metadata/name'));
    }

    this.node.addValidation(this.dag);
  }

  /** The steps, in the order they were added (a copy). */
  public get allSteps(): PipelineStep[] {
    return [...this.steps];
  }

  /** The workflow parameters (a copy). */
  public get parameters(): PipelineParameter[] {
    return [...this.params.values()];
  }

  /**
   * Declares a workflow parameter (`spec.arguments.parameters`); `argo submit -p <name>=...` sets it.
   */
  public addParameter(name: string, defaultValue: string, description?: string): PipelineParameter {
    if (!/^[a-zA-Z0-9][-a-zA-Z0-9_]*$/.test(name)) v.fail('parameter name', name, 'letters, digits, \'-\' and \'_\'');
    if (this.params.has(name)) v.fail('parameter name', name, 'unique (a parameter of that name exists)');
    const p = new PipelineParameter(name, defaultValue, description);
    this.params.set(name, p);
    return p;
  }

  /** The existing parameter of that name (with the same default), or a new one. */
  private parameterFor(name: string, defaultValue: string, description: string): PipelineParameter {
    const existing = this.params.get(name);
    if (existing) {
      if (existing.defaultValue !== defaultValue) v.fail(`parameter '${name}' default`, defaultValue, `the value it already has ('${existing.defaultValue}')`);
      return existing;
    }
    return this.addParameter(name, defaultValue, description);
  }

  /**
   * Adds a training stage (or any GpuTrainingJob) as a step: an Argo `resource` template creating the
   * job and waiting for it. From then on the job is emitted only inside this pipeline's workflow.
   */
  public addStage(job: GpuTrainingJob, options: StageStepOptions = {}): PipelineStep {
    const name = options.name ?? job.node.id.toLowerCase();
    this.checkStepName(name);
    validateRetry('retry', options.retry);
    const envOverrides: { [key: string]: string } = {};
    if (options.parameterize ?? true) {
      if (job instanceof TrainingStage) {
        envOverrides.LEARNING_RATE = this.parameterFor(options.learningRateParameter ?? `${name}-learning-rate`, String(job.learningRate), `${name}: peak learning rate`).ref;
        if (!job.baseModel.stage) {
          envOverrides.BASE_MODEL_PATH = this.parameterFor(options.baseModelParameter ?? `${name}-base-model`, job.baseModel.path, 'the model to start from').ref;
        }
      }
    }
    const labels: { [key: string]: string } = { [LABELS.run]: RUN_ID, [LABELS.pipeline]: this.workflowName, 'korean-llm/attempt': '{{retries}}' };
    if (this.props.argoLogs ?? true) labels['workflows.argoproj.io/workflow'] = RUN_ID;
    job._embed({ generateName: `${RUN_ID}-${name}-`, runId: RUN_ID, labels, envOverrides });
    // create and wait (get/list/watch), owner reference (patch), exit-handler cleanup (list/delete)
    this.allowOnce(['create', 'get', 'list', 'watch', 'patch', 'delete'], { apiGroup: 'kubeflow.org', resourceType: 'pytorchjobs' });
    if (job.storage) this.requireSameStorage(job.storage, name);

    const step: PipelineStep = PipelineStep._create(this, name, (): StepRender => this.renderStage(step, job, options), job);
    this.addStep(step);
    step.addDependency(...(options.dependsOn ?? []));
    // a stage that starts from another stage's model waits for it
    if (job instanceof TrainingStage && job.baseModel.stage) {
      const upstream = this.steps.find((s) => s.job === job.baseModel.stage);
      if (upstream) step.addDependency(upstream);
    }
    return step;
  }

  /** Adds a container step (preprocessing, or a step of your own). */
  public addContainerStep(name: string, props: ContainerStepProps): PipelineStep {
    this.checkStepName(name);
    validateRetry('retry', props.retry);
    if (props.image) v.pinnedImage('image', props.image);
    if (props.command.length === 0) v.fail('command', '[]', 'a non-empty list');
    if (props.gpus !== undefined && props.gpus !== 0) v.positiveInt('gpus', props.gpus, 16);
    v.positiveDuration('activeDeadline', props.activeDeadline);
    for (const n of [...Object.keys(props.env ?? {}), ...Object.keys(props.secretEnv ?? {})]) v.envName('env', n);
    v.uniqueKeys('env', [...Object.keys(props.env ?? {}), ...Object.keys(props.secretEnv ?? {})]);
    for (const [n, p] of Object.entries(props.outputFiles ?? {})) {
      if (!/^[a-zA-Z0-9][-a-zA-Z0-9_]*$/.test(n)) v.fail('outputFiles name', n, 'letters, digits, \'-\' and \'_\'');
      v.absolutePath(`outputFiles['${n}']`, p);
    }
    const step: PipelineStep = PipelineStep._create(this, name, (): StepRender => ({ template: this.containerTemplate(step, props) }));
    this.addStep(step);
    step.addDependency(...(props.dependsOn ?? []));
    return step;
  }

  /**
   * Adds the evaluate step: `python -m korean_llm_trainer evaluate` on the model of `props.model`,
   * exposing the aggregate score (0..1) as output parameter `score`.
   */
  public addEvaluation(name: string, props: EvaluationStepProps): PipelineStep {
    const benchmarks = props.benchmarks ?? KoreanBenchmark.defaults();
    if (benchmarks.length === 0) v.fail('benchmarks', '[]', 'at least one benchmark');
    v.uniqueKeys('benchmarks', benchmarks.map((b) => b.taskName));
    if (props.limit !== undefined && !(props.limit > 0)) v.fail('limit', props.limit, 'a number greater than 0');
    const modelStep = this.stepOf(props.model, 'model');
    const step = this.addContainerStep(name, {
      command: ['python', '-m', 'korean_llm_trainer', 'evaluate'],
      env: {
        STAGE: 'EVALUATE',
        RUN_ID,
        MODEL_NAME: props.model.modelName,
        MODEL_PATH: props.model.modelPath,
        EVAL_TASKS: benchmarks.map((b) => b.taskName).join(','),
        EVAL_OUTPUT_DIR: `${props.model.outputPath}/eval`,
        SCORE_FILE,
        ...(props.limit !== undefined ? { EVAL_LIMIT: String(props.limit) } : {}),
      },
      gpus: props.gpus ?? 1,
      cpu: props.cpu ?? kplus.Cpu.units(8),
      memory: props.memory ?? Size.gibibytes(50),
      activeDeadline: props.activeDeadline ?? Duration.hours(12),
      outputFiles: { score: SCORE_FILE },
      dependsOn: [modelStep, ...(props.dependsOn ?? [])],
      retry: props.retry,
    });
    step._isEvaluation = true;
    return step;
  }

  /**
   * Adds the deploy step: a JSON merge patch rolling `props.server` to the model of `props.model`,
   * run only `when` the gate's score reaches `min-score`.
   */
  public addDeployment(name: string, props: DeploymentStepProps): PipelineStep {
    this.checkStepName(name);
    v.numberIn('minScore', props.minScore, 0, 1);
    if (props.gate && !props.gate._isEvaluation) {
      v.fail('gate', props.gate.name, 'an evaluate step (added with addEvaluation)');
    }
    if (props.gate && props.gate.pipeline !== this) {
      throw new Error(`'gate' of step '${name}' must be a step of the same pipeline (${this.node.path}), got step '${props.gate.name}' of ${props.gate.pipeline.node.path}`);
    }
    const competitors = props.competitors ?? [];
    if (competitors.length && !props.gate) v.fail('competitors', competitors.map((c) => c.name).join(','), 'used together with \'gate\'');
    for (const c of competitors) {
      if (!c._isEvaluation || c === props.gate) v.fail('competitors[]', c.name, 'evaluate steps other than the gate');
    }
    const modelStep = this.stepOf(props.model, 'model');
    // one `min-score` parameter gates every deploy step: a second, different minScore fails instead of being ignored
    const existingMinScore = props.minScore === undefined ? this.params.get('min-score') : undefined;
    const minScore = props.gate ? existingMinScore ?? this.parameterFor('min-score', String(props.minScore ?? 0.5), 'lowest evaluation score (0..1) that deploys') : undefined;
    const server = props.server;
    this.allowOnce(['get', 'patch'], { apiGroup: server.resourceApiGroup, resourceType: server.resourcePlural, resourceName: server.resourceName });
    const step = PipelineStep._create(this, name, () => ({
      template: {
        name,
        ...this.retryAndDeadline(props.retry, Duration.minutes(10)),
        resource: {
          action: 'patch',
          mergeStrategy: 'merge',
          manifest: JSON.stringify({
            apiVersion: server.resourceApiVersion,
            kind: server.resourceKind,
            metadata: { name: server.resourceName },
            ...server.rolloutPatch(props.model.modelPath),
          }, null, 2),
        },
      },
      // govaluate compares numbers: the placeholders must stay unquoted
      task: props.gate ? {
        when: [
          `${props.gate.outputParameter('score')} >= ${minScore!.ref}`,
          ...competitors.map((c) => `${props.gate!.outputParameter('score')} ${this.steps.indexOf(c) > this.steps.indexOf(props.gate!) ? '>=' : '>'} ${c.outputParameter('score')}`),
        ].join(' && '),
      } : undefined,
    }));
    this.addStep(step);
    step.addDependency(modelStep, ...(props.gate ? [props.gate] : []), ...competitors, ...(props.dependsOn ?? []));
    step._isGated = props.gate !== undefined;
    return step;
  }

  /** The DAG as a Mermaid flowchart (the README's diagram is generated with it). */
  public toMermaid(): string {
    const lines = ['flowchart LR'];
    for (const s of this.steps) {
      const label = s.job ? `${s.name}<br/>PyTorchJob ${s.job.nodes}x${s.job.gpusPerNode} GPU` : s.name;
      lines.push(`  ${s.name.replace(/-/g, '_')}["${label}"]`);
    }
    // draw only direct edges: a dependency reachable through another dependency is implied
    const reaches = (from: PipelineStep, to: PipelineStep, seen = new Set<PipelineStep>()): boolean => {
      if (seen.has(from)) return false; // a cycle (reported by validation)
      seen.add(from);
      return from.dependencies.some((d) => d === to || reaches(d, to, seen));
    };
    for (const s of this.steps) {
      for (const d of s.dependencies.filter((x) => !s.dependencies.some((y) => y !== x && reaches(y, x)))) {
        const gated = s._isGated && d._isEvaluation;
        lines.push(`  ${d.name.replace(/-/g, '_')} ${gated ? '-->|score >= min-score|' : '-->'} ${s.name.replace(/-/g, '_')}`);
      }
    }
    return lines.join('\n') + '\n';
  }

  /** The emitted Argo object. */
  public get apiObject(): ApiObject {
    return this.resource;
  }

  private stepOf(stage: TrainingStage, prop: string): PipelineStep {
    const step = this.steps.find((s) => s.job === stage);
    if (!step) v.fail(prop, stage.node.path, 'a stage added to this pipeline with addStage first');
    return step;
  }

  private checkStepName(name: string): void {
    v.dns1123Label('step name', name, 32);
    if (this.steps.some((s) => s.name === name) || name === 'main' || name === 'exit-handler' || name === 'cleanup' || name === 'notify') {
      v.fail('step name', name, 'unique within the pipeline (and not main, exit-handler, cleanup or notify)');
    }
  }

  private requireSameStorage(storage: ITrainingStorage, step: string): void {
    if (storage.output.claimName !== this.storage.output.claimName || storage.output.mountPath !== this.storage.output.mountPath) {
      v.fail(`storage of step '${step}'`, storage.output.claimName, `the pipeline's output claim '${this.storage.output.claimName}' at ${this.storage.output.mountPath}: stages exchange models through it`);
    }
  }

  private retryAndDeadline(retry: RetryOptions | undefined, deadline: Duration): any {
    const r = Object.assign({}, this.props.retry, retry);
    return {
      retryStrategy: {
        limit: r.limit ?? 2,
        retryPolicy: 'Always',
        backoff: {
          duration: `${v.seconds(r.backoff ?? Duration.minutes(2))}s`,
          factor: r.factor ?? 2,
          maxDuration: `${v.seconds(r.maxBackoff ?? Duration.hours(1))}s`,
        },
      },
      activeDeadlineSeconds: v.seconds(deadline),
    };
  }

  private renderStage(step: PipelineStep, job: GpuTrainingJob, options: StageStepOptions): StepRender {
    const manifest = job._manifest();
    const specs = manifest.spec.pytorchReplicaSpecs;
    // Success and failure are read from the operator's per-replica pod counts; comma-joined success
    // requirements are ANDed by Argo, failure ones ORed.
    const success = specs.Master
      ? 'status.replicaStatuses.Master.succeeded > 0'
      : 'status.replicaStatuses.Worker.succeeded > 0'; // Worker-only (elastic): the operator succeeds the job once a Worker succeeds
    const failure = Object.keys(specs).sort().map((t) => `status.replicaStatuses.${t}.failed > 0`).join(',');
    // The operator's longest Service name is `<job>-worker-<n>`: keep it a 63-character DNS label.
    const workers = specs.Worker?.replicas ?? 0;
    const longest = this.kind._maxRunNameLength(this.workflowName.length) + step.name.length + 2 + 5 + '-worker-'.length + String(Math.max(0, workers - 1)).length;
    if (longest > MAX_SERVICE_NAME) {
      v.fail('name', this.workflowName, `short enough that '<run>-${step.name}-xxxxx-worker-N' fits ${MAX_SERVICE_NAME} characters (${longest} now): shorten the pipeline name or the step name`);
    }
    return {
      template: {
        name: step.name,
        // the Argo step outlives the job's own deadline, which fails the job without a failed pod
        ...this.retryAndDeadline(options.retry, Duration.seconds(v.seconds(job.activeDeadline) + 600)),
        resource: {
          action: 'create',
          setOwnerReference: true,
          successCondition: success,
          failureCondition: failure,
          manifest: JSON.stringify(manifest, null, 2),
        },
        outputs: { parameters: [{ name: 'job-name', valueFrom: { jsonPath: '{.metadata.name}' } }] },
      },
    };
  }

  private mounts(writableData: boolean): any[] {
    const claims: ClaimMount[] = [writableData ? this.storage.data.withReadOnly(false) : this.storage.data, this.storage.output];
    return [
      { name: 'tmp', mountPath: SCRATCH_MOUNTS.tmp },
      { name: 'cache', mountPath: SCRATCH_MOUNTS.cache },
      { name: 'dshm', mountPath: SCRATCH_MOUNTS.shm },
      ...claims.map((c) => ({
        name: c.volumeName,
        mountPath: c.mountPath,
        ...(c.readOnly ? { readOnly: true } : {}),
        ...(c.subPath ? { subPath: c.subPath } : {}),
      })),
    ];
  }

  private containerTemplate(step: PipelineStep, props: ContainerStepProps): any {
    const cpu = (props.cpu ?? kplus.Cpu.units(2)).amount;
    const memory = (props.memory ?? Size.gibibytes(4)).asString();
    const gpus = props.gpus ?? 0;
    const resources: any = { cpu, memory };
    if (gpus > 0) resources[this.nodePool.gpuResourceName] = gpus;
    const env = [
      { name: 'HOME', value: SCRATCH_MOUNTS.tmp },
      { name: 'HF_HOME', value: SCRATCH_ENV.hfHome },
      { name: 'XDG_CACHE_HOME', value: SCRATCH_MOUNTS.cache },
      ...Object.entries(props.env ?? {}).map(([name, value]) => ({ name, value })),
      ...Object.entries(props.secretEnv ?? {}).map(([name, s]) => ({ name, valueFrom: s._envSource() })),
    ];
    const outputs = Object.entries(props.outputFiles ?? {});
    return {
      name: step.name,
      ...this.retryAndDeadline(props.retry, props.activeDeadline ?? Duration.hours(6)),
      ...(gpus > 0 ? {
        nodeSelector: this.nodePool.nodeSelector,
        tolerations: this.nodePool._tolerations(),
        ...(this.nodePool._affinity() ? { affinity: this.nodePool._affinity() } : {}),
      } : {}),
      container: {
        image: props.image ?? this.image,
        command: [...props.command],
        ...(props.args ? { args: [...props.args] } : {}),
        env,
        resources: { requests: { ...resources }, limits: { ...resources } },
        securityContext: containerSecurityContext(),
        volumeMounts: this.mounts(props.writableData ?? false),
      },
      ...(outputs.length ? { outputs: { parameters: outputs.map(([name, path]) => ({ name, valueFrom: { path } })) } } : {}),
    };
  }

  private exitHandler(): { templates: any[] } {
    const templates: any[] = [];
    const steps: any[] = [];
    const hasJobs = this.steps.some((s) => s.job);
    if ((this.props.cleanupOnExit ?? true) && hasJobs) {
      steps.push({ name: 'cleanup', template: 'cleanup', when: '{{workflow.status}} != Succeeded' });
      templates.push({
        name: 'cleanup',
        resource: {
          action: 'delete',
          // kubectl delete pytorchjobs -l korean-llm/run=<run>: every job this run created
          flags: ['pytorchjobs.kubeflow.org', '--selector', `${LABELS.run}=${RUN_ID}`, '--ignore-not-found'],
        },
      });
    }
    if (this.props.slackWebhook) {
      steps.push({ name: 'notify', template: 'notify' });
      templates.push({
        name: 'notify',
        retryStrategy: { limit: 3, retryPolicy: 'Always' },
        activeDeadlineSeconds: 300,
        container: {
          image: this.image,
          // the trainer image has Python; no extra image, no shell, the URL never leaves the Secret
          command: ['python', '-c', NOTIFY_SCRIPT],
          env: [
            { name: 'SLACK_WEBHOOK_URL', valueFrom: this.props.slackWebhook._envSource() },
            { name: 'RUN_NAME', value: RUN_ID },
            { name: 'RUN_STATUS', value: '{{workflow.status}}' },
            { name: 'RUN_DURATION', value: '{{workflow.duration}}' },
            { name: 'RUN_FAILURES', value: '{{workflow.failures}}' },
          ],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '100m', memory: '128Mi' } },
          securityContext: containerSecurityContext(),
        },
      });
    }
    if (steps.length === 0) return { templates: [] };
    return { templates: [{ name: 'exit-handler', steps: [steps] }, ...templates] };
  }

  private workflowSpec(): any {
    const rendered = this.steps.map((s) => ({ step: s, r: s._render() }));
    const exit = this.exitHandler();
    const claims = [this.storage.data, this.storage.output];
    const runLabels: { [key: string]: string } = Object.assign({}, this.props.podLabels, {
      [LABELS.run]: RUN_ID,
      [LABELS.pipeline]: this.workflowName,
      [LABELS.partOf]: PART_OF,
    });
    const uid = this.props.runAsUser ?? 1000;
    return {
      entrypoint: 'main',
      serviceAccountName: this.serviceAccountName,
      ...(this.params.size ? {
        arguments: {
          parameters: [...this.params.values()].map((p) => ({
            name: p.name,
            value: p.defaultValue,
            ...(p.description ? { description: p.description } : {}),
          })),
        },
      } : {}),
      ...(exit.templates.length ? { onExit: 'exit-handler' } : {}),
      ...(this.props.parallelism ? { parallelism: this.props.parallelism } : {}),
      podMetadata: { labels: runLabels },
      securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: 'RuntimeDefault' } },
      podGC: { strategy: 'OnPodSuccess' },
      ttlStrategy: {
        secondsAfterSuccess: v.seconds(this.props.ttlAfterSuccess ?? Duration.days(1)),
        secondsAfterFailure: v.seconds(this.props.ttlAfterFailure ?? Duration.days(7)),
      },
      // existing claims only: a volumeClaimTemplates entry would be a new, empty volume per run
      volumes: [
        { name: 'tmp', emptyDir: {} },
        { name: 'cache', emptyDir: {} },
        { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '8Gi' } },
        ...claims.map((c) => ({ name: c.volumeName, persistentVolumeClaim: { claimName: c.claimName } })),
      ],
      templates: [
        {
          name: 'main',
          dag: {
            tasks: rendered.map(({ step, r }) => ({
              name: step.name,
              template: step.name,
              ...(step.dependencies.length ? { depends: step.dependencies.map((d) => `${d.name}.Succeeded`).join(' && ') } : {}),
              ...(r.task?.when ? { when: r.task.when } : {}),
            })),
          },
        },
        ...rendered.map(({ r }) => r.template),
        ...exit.templates,
      ],
    };
  }

  private allowOnce(verbs: string[], resource: { apiGroup: string; resourceType: string; resourceName?: string }): void {
    const key = `${resource.apiGroup}/${resource.resourceType}/${resource.resourceName ?? ''}`;
    if (this.rules.has(key)) return;
    this.rules.set(key, {
      apiGroups: [resource.apiGroup],
      resources: [resource.resourceType],
      verbs: [...verbs],
      ...(resource.resourceName ? { resourceNames: [resource.resourceName] } : {}),
    });
  }

  /** @internal a step or a dependency was added: the DAG is checked again at the next validation */
  public _dagChanged(): void {
    this.dag.changed = true;
  }

  private addStep(step: PipelineStep): void {
    this.steps.push(step);
    this._dagChanged();
  }

  private checkDag(): string[] {
    if (this.steps.length === 0) return [`pipeline ${this.node.path} has no steps: add at least one with addStage, addContainerStep, addEvaluation or addDeployment`];
    const errors: string[] = [];
    // cycles: depth-first search over the dependency edges
    const state = new Map<PipelineStep, number>();
    const visit = (s: PipelineStep, path: string[]): void => {
      if (state.get(s) === 2) return;
      if (state.get(s) === 1) {
        errors.push(`pipeline ${this.node.path} has a dependency cycle: ${[...path.slice(path.indexOf(s.name)), s.name].join(' -> ')}`);
        return;
      }
      state.set(s, 1);
      for (const d of s.dependencies) visit(d, [...path, s.name]);
      state.set(s, 2);
    };
    for (const s of this.steps) visit(s, []);
    for (const s of this.steps) {
      for (const d of s.dependencies) {
        if (!this.steps.includes(d)) errors.push(`step '${s.name}' depends on '${d.name}', which is not a step of pipeline ${this.node.path}`);
      }
    }
    return errors.length > 0 ? errors : NO_ERRORS;
  }
}

function validateRetry(prop: string, r: RetryOptions | undefined): void {
  if (!r) return;
  v.nonNegativeInt(`${prop}.limit`, r.limit);
  v.positiveDuration(`${prop}.backoff`, r.backoff);
  v.positiveDuration(`${prop}.maxBackoff`, r.maxBackoff);
  if (r.factor !== undefined && (!Number.isInteger(r.factor) || r.factor < 1)) v.fail(`${prop}.factor`, r.factor, 'a positive integer');
}

/** Posts the run's result to Slack with the standard library; the URL comes from the environment. */
const NOTIFY_SCRIPT = [
  'import json, os, urllib.request',
  'status = os.environ["RUN_STATUS"]',
  'icon = ":white_check_mark:" if status == "Succeeded" else ":rotating_light:"',
  'text = f"{icon} Korean LLM pipeline run {os.environ[\'RUN_NAME\']}: {status} after {os.environ[\'RUN_DURATION\']}s"',
  'if status != "Succeeded":',
  '    text += "\\nfailures: " + os.environ.get("RUN_FAILURES", "")[:2000]',
  'req = urllib.request.Request(os.environ["SLACK_WEBHOOK_URL"], data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"})',
  'urllib.request.urlopen(req, timeout=30).read()',
].join('\n');
