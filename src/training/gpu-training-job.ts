import { ApiObject, Duration, Lazy, Names, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { isScratchPath, SCRATCH_ENV, SCRATCH_MOUNTS } from './_pod-defaults';
import { EnvVar, TrainingWorkload } from './_workload';
import { TrainingBackend } from './backend';
import { CleanPodPolicy, GpuTrainingJobProps, RestartPolicy } from './gpu-job-options';
import { GpuNodePool } from './gpu-node-pool';
import { Queueing } from './queueing';
import { TrainerCommand, TrainerContract } from './trainer-contract';
import * as v from '../_validate';
import { LABELS, PART_OF } from '../labels';
import { ClaimMount, ITrainingStorage } from '../platform/storage';
import { SecretKey } from '../secret-key';

/** @internal How a pipeline places a job it embeds. */
export interface _EmbedContext {
  /** The manifest's `metadata.generateName` (a new name per attempt). */
  readonly generateName: string;
  /** The run id (`{{workflow.name}}`). */
  readonly runId: string;
  /** Extra labels for the job and its pods. */
  readonly labels: { [key: string]: string };
  /** Env values replaced by workflow parameters. */
  readonly envOverrides: { [name: string]: string };
}

/**
 * An environment variable's value: fixed at construction, computed at synthesis (a value that
 * depends on the run id, known only once the job is standalone or in a pipeline), or read from a
 * Secret.
 */
type EnvValue = string | (() => string) | SecretKey;

/**
 * A distributed GPU training job that uses every GPU it requests: a Kubeflow `PyTorchJob` by
 * default (see `backend`).
 *
 * Used alone in a Chart it emits a top-level job. Added to a pipeline it is emitted only inside the
 * pipeline's Workflow, as the manifest of an Argo `resource` template; the construct stays where it
 * was created, so `node.findAll()`, quota checks and duplicate-id errors see it, and the manifest is
 * rendered by cdk8s like any object (App resolvers and `ApiObject.of(job).addJsonPatch(...)` apply).
 *
 * The containers are plain pod-spec JSON, not `kplus.Container`, which cannot request
 * `nvidia.com/gpu` and injects CPU/memory defaults.
 */
export class GpuTrainingJob extends Construct {
  /** The job's name when emitted standalone (inside a pipeline each attempt gets its own). */
  public readonly jobName: string;
  /** GPUs per node. */
  public readonly gpusPerNode: number;
  /** Nodes (pods); for an elastic job, the most nodes. */
  public readonly nodes: number;
  /** The trainer command, when the job runs one. */
  public readonly trainerCommand?: TrainerCommand;
  /** The trainer image. */
  public readonly image: string;
  /** The node pool the pods run on. */
  public readonly nodePool: GpuNodePool;
  /** The data and output volumes, if any. */
  public readonly storage?: ITrainingStorage;
  /** The port of the trainer's metrics endpoint. */
  public readonly metricsPort: number;
  /** The longest the job may run (`activeDeadlineSeconds`). */
  public readonly activeDeadline: Duration;
  /** How the job waits for GPUs. */
  public readonly queueing: Queueing;
  /** The job API the job is emitted as. */
  public readonly backend: TrainingBackend;

  private readonly resource: ApiObject;
  private readonly props: GpuTrainingJobProps;
  private readonly env = new Map<string, EnvValue>();
  private readonly mounts: ClaimMount[] = [];
  private readonly cpu: Cpu;
  private readonly memory: Size;
  private readonly sharedMemory: Size;
  private embedding?: _EmbedContext;

  public constructor(scope: Construct, id: string, props: GpuTrainingJobProps) {
    super(scope, id);
    v.pinnedImage('image', props.image);
    v.dns1035('name', props.name, 52);
    v.positiveInt('gpusPerNode', props.gpusPerNode, 16);
    v.positiveInt('nodes', props.nodes, 512);
    if (props.elastic) {
      if (props.nodes !== undefined) v.fail('nodes', props.nodes, 'unset when \'elastic\' is given (elastic.maxNodes sets the size)');
      v.positiveInt('elastic.minNodes', props.elastic.minNodes, 512);
      v.positiveInt('elastic.maxNodes', props.elastic.maxNodes, 512);
      v.nonNegativeInt('elastic.maxRestarts', props.elastic.maxRestarts);
      if (props.elastic.maxNodes < props.elastic.minNodes) {
        v.fail('elastic.maxNodes', props.elastic.maxNodes, `at least elastic.minNodes (${props.elastic.minNodes})`);
      }
    }
    if (!props.command && !props.trainerCommand) {
      throw new Error('\'trainerCommand\' or \'command\' is required: set trainerCommand (e.g. TrainerCommand.SFT) to launch the trainer with torchrun, or command for your own entry point');
    }
    if (props.command && props.command.length === 0) v.fail('command', '[]', 'a non-empty list');
    v.nonNegativeInt('backoffLimit', props.backoffLimit);
    v.positiveDuration('ttlAfterFinished', props.ttlAfterFinished);
    v.positiveDuration('activeDeadline', props.activeDeadline);
    if (props.metricsPort !== undefined && (!Number.isInteger(props.metricsPort) || props.metricsPort < 1024 || props.metricsPort > 65535)) {
      v.fail('metricsPort', props.metricsPort, 'an integer from 1024 to 65535');
    }
    if (props.runAsUser !== undefined && (!Number.isInteger(props.runAsUser) || props.runAsUser < 1)) {
      v.fail('runAsUser', props.runAsUser, 'a non-root UID (a positive integer)');
    }
    v.dns1123Label('serviceAccountName', props.serviceAccountName, 253);
    for (const s of props.imagePullSecrets ?? []) v.dns1123Label('imagePullSecrets[]', s, 253);
    for (const [k, value] of Object.entries({ ...props.labels, ...props.podLabels })) v.labelValue(`labels['${k}']`, value);

    this.props = props;
    this.image = props.image;
    this.trainerCommand = props.trainerCommand;
    this.gpusPerNode = props.gpusPerNode ?? 1;
    this.nodes = props.elastic ? props.elastic.maxNodes : props.nodes ?? 1;
    this.nodePool = props.nodePool ?? GpuNodePool.seedDefault();
    this.queueing = props.queueing ?? Queueing.none();
    this.backend = props.backend ?? TrainingBackend._fromContext(this);
    this.storage = props.storage;
    this.metricsPort = props.metricsPort ?? TrainerContract.DEFAULT_METRICS_PORT;
    this.activeDeadline = props.activeDeadline ?? Duration.days(3);
    this.cpu = props.cpu ?? Cpu.units(8);
    this.memory = props.memory ?? Size.gibibytes(64);
    v.positiveSize('memory', this.memory);
    if (!/^([0-9]+(\.[0-9]+)?|[0-9]+m)$/.test(this.cpu.amount) || parseFloat(this.cpu.amount) <= 0) {
      v.fail('cpu', this.cpu.amount, 'a positive amount (Cpu.units(n) or Cpu.millis(n))');
    }
    const quarter = Math.max(64, Math.floor(v.mebibytes(this.memory) / 4));
    this.sharedMemory = props.sharedMemory ?? (quarter % 1024 === 0 ? Size.gibibytes(quarter / 1024) : Size.mebibytes(quarter));
    v.positiveSize('sharedMemory', this.sharedMemory);
    if (v.mebibytes(this.memory) < 2 * v.mebibytes(this.sharedMemory)) {
      v.fail('memory', this.memory, `at least twice 'sharedMemory' (${this.sharedMemory.asString()}): a memory-backed /dev/shm counts against the container's memory limit`);
    }

    // scratch locations the trainer and its libraries write to (the image's root filesystem is not for that)
    for (const e of SCRATCH_ENV) this._setEnv(e.name, e.value);
    if (props.trainerCommand) this._setEnv('METRICS_PORT', String(this.metricsPort));
    for (const [name, value] of Object.entries(props.env ?? {})) this.addEnv(name, value);
    for (const [name, secret] of Object.entries(props.secretEnv ?? {})) this.addSecretEnv(name, secret);

    if (props.storage) {
      this.addClaimMount(props.storage.data);
      this.addClaimMount(props.storage.output);
    }
    for (const m of props.mounts ?? []) this.addClaimMount(m);

    const backend = this.backend._impl;
    backend.checkProps?.(props);
    const create = (name?: string) => new ApiObject(this, 'Resource', {
      apiVersion: backend.apiVersion,
      kind: backend.kind,
      metadata: {
        // (no `name` key at all when unset: the chart generates one)
        ...(name ? { name } : {}),
        // Kueue reads its queue label on the job object, not on the pods
        labels: { ...props.labels, [LABELS.partOf]: PART_OF, ...this.queueing._render(this.gangSize).labels },
        annotations: { ...props.annotations },
      },
      spec: Lazy.any({ produce: () => backend.renderSpec(this.workload(), this) }),
    });
    let resource = create(props.name);
    if (!props.name && resource.name.length > backend.maxJobNameLength) {
      // the chart's generated name is too long for the objects the controller derives from it:
      // use a shorter form of it (the path hash keeps it unique)
      this.node.tryRemoveChild('Resource');
      resource = create(Names.toDnsLabel(resource, { maxLen: backend.maxJobNameLength }));
    }
    this.resource = resource;
    this.jobName = resource.name;
    v.dns1035('name', this.jobName, backend.maxJobNameLength);
    backend.attach?.(this, () => this.workload());
  }

  /** Pods that must start together: all of them, or an elastic job's minimum. */
  private get gangSize(): number {
    return this.props.elastic ? this.props.elastic.minNodes : this.nodes;
  }

  /** The total GPUs of the job (per node x nodes). */
  public get totalGpus(): number {
    return this.gpusPerNode * this.nodes;
  }

  /** Whether the job has been added to a pipeline (and is emitted only inside it). */
  public get embedded(): boolean {
    return this.embedding !== undefined;
  }

  /**
   * Adds a plain environment variable; a name may be set once.
   */
  public addEnv(name: string, value: string): void {
    v.envName('env', name);
    this._setEnv(name, value, true);
  }

  /**
   * Adds an environment variable read from a Secret (`secretKeyRef`); a name may be set once.
   */
  public addSecretEnv(name: string, secret: SecretKey): void {
    v.envName('secretEnv', name);
    if (this.env.has(name)) v.fail('secretEnv', name, 'a name not already set (each variable may be set once)');
    this.env.set(name, secret);
  }

  /** Mounts an existing claim; each path may be mounted once. */
  public addClaimMount(mount: ClaimMount): void {
    if (isScratchPath(mount.mountPath)) {
      v.fail('mountPath', mount.mountPath, `a path outside the scratch volumes (${Object.values(SCRATCH_MOUNTS).join(', ')})`);
    }
    if (this.mounts.some((m) => m.mountPath === mount.mountPath)) {
      v.fail('mountPath', mount.mountPath, 'a path not already mounted (each path may be mounted once)');
    }
    this.mounts.push(mount);
  }

  /** The names of the environment variables set so far (a copy). */
  public get envNames(): string[] {
    return [...this.env.keys()];
  }

  /**
   * Sets an environment variable: a fixed value, or a function that computes it at synthesis (for
   * a value that depends on the run id, known once the job is standalone or in a pipeline).
   * @internal
   */
  protected _setEnv(name: string, value: string | (() => string), rejectDuplicate = false): void {
    if (rejectDuplicate && this.env.has(name)) {
      v.fail('env', name, 'a name not already set (each variable may be set once; the stage sets the contract variables itself)');
    }
    this.env.set(name, value);
  }

  /**
   * The run id: the pipeline's (`{{workflow.name}}`) when embedded, otherwise undefined here.
   * @internal
   */
  protected _embeddedRunId(): string | undefined {
    return this.embedding?.runId;
  }

  /**
   * Places the job inside a pipeline: from then on its object is emitted only as the manifest the
   * pipeline embeds (`_manifest()`), never as a top-level document.
   * @internal
   */
  public _embed(context: _EmbedContext): void {
    if (this.embedding) {
      throw new Error(`'${this.node.path}' is already part of a pipeline: a training job can run in one pipeline only`);
    }
    const policy = this.props.restartPolicy;
    if (policy !== undefined && policy !== RestartPolicy.NEVER) {
      // See the pipeline docs and `waitConditions` in the backend: the step fails on a failed pod the
      // operator counts, or on its `Failed` condition.
      v.fail('restartPolicy', policy, 'RestartPolicy.NEVER inside a pipeline: with OnFailure/Always a failed container restarts in place and the pod never reaches phase Failed, so the job fails only past its backoffLimit, on a branch of the operator that deletes every pod and its logs; with ExitCode the failed pod is counted before the operator recreates it, failing the step while the job goes on. The pipeline retries with a new job that resumes from the last checkpoint instead');
    }
    this.embedding = context;
    // A chart emits every ApiObject of its subtree, so the job's object leaves the tree (this
    // construct stays). It keeps its scope: cdk8s still resolves it with the App's resolvers and
    // applies its JSON patches when the pipeline renders it, and `ApiObject.of(job)` still finds it.
    this.node.tryRemoveChild(this.resource.node.id);
    this.node.defaultChild = this.resource;
  }

  /**
   * The job's manifest as the pipeline embeds it, rendered by cdk8s (`ApiObject.toJson()`), with a
   * fresh name per attempt (`generateName`) and the run's labels.
   * @internal
   */
  public _manifest(): any {
    const json = this.resource.toJson();
    const { name: _name, ...metadata } = json.metadata ?? {};
    json.metadata = {
      ...metadata,
      generateName: this.embedding?.generateName,
      labels: { ...metadata.labels, ...this._ownLabels(), ...this.embedding?.labels },
    };
    return json;
  }

  /** The object this construct emits when standalone. */
  public get apiObject(): ApiObject {
    return this.resource;
  }

  private workload(): TrainingWorkload {
    const p = this.props;
    const embedded = this.embedding;
    const queue = this.queueing._render(this.gangSize);
    const env: EnvVar[] = [...this.env].map(([name, value]) => (value instanceof SecretKey
      ? { name, valueFrom: value._envSource() }
      : { name, value: embedded?.envOverrides[name] ?? (typeof value === 'function' ? value() : value) }));
    const podLabels = { ...p.podLabels, [LABELS.partOf]: PART_OF, ...this._ownLabels(), ...queue.labels, ...embedded?.labels };
    return {
      image: p.image,
      command: p.command ?? ['torchrun', '-m', 'korean_llm_trainer', p.trainerCommand!],
      args: p.args,
      gpusPerNode: this.gpusPerNode,
      gpuResourceName: this.nodePool.gpuResourceName,
      nodes: this.nodes,
      elastic: p.elastic ? { minNodes: p.elastic.minNodes, maxNodes: p.elastic.maxNodes, maxRestarts: p.elastic.maxRestarts ?? 3 } : undefined,
      cpu: this.cpu.amount,
      memory: this.memory.asString(),
      sharedMemory: this.sharedMemory.asString(),
      env,
      claims: [...this.mounts],
      metricsPort: this.metricsPort,
      nodeSelector: this.nodePool.nodeSelector,
      tolerations: this.nodePool._tolerations(),
      affinity: this.nodePool._affinity(),
      restartPolicy: embedded ? RestartPolicy.NEVER : p.restartPolicy ?? RestartPolicy.ON_FAILURE,
      // Inside a pipeline no backoffLimit by default: with `restartPolicy: Never` the operator never
      // restarts a pod, so the limit would only matter through `ReconcileJobs`' backoff branch
      // (`common/job.go`: its work queue's `NumRequeues` is always 0, so a limit of 0 trips on the
      // first failed pod), which deletes every pod, the failed one and its logs included, and
      // writes `Failed` without counting the pod or the failed-jobs metric. Unset, the failure takes
      // the normal path (`UpdateJobStatus`): counted, logged, kept. The pipeline retries instead.
      backoffLimit: embedded ? p.backoffLimit : p.backoffLimit ?? 3,
      cleanPodPolicy: p.cleanPodPolicy ?? CleanPodPolicy.RUNNING,
      ttlSecondsAfterFinished: v.seconds(p.ttlAfterFinished ?? Duration.days(1)),
      activeDeadlineSeconds: v.seconds(this.activeDeadline),
      gang: queue.gang,
      podLabels,
      podAnnotations: { ...p.podAnnotations },
      serviceAccountName: p.serviceAccountName,
      imagePullSecrets: [...(p.imagePullSecrets ?? [])],
      runAsUser: p.runAsUser ?? 1000,
      priorityClassName: p.priorityClassName,
    };
  }

  /**
   * Labels naming what the pods run, used by the PodMonitor and the alerts.
   * @internal
   */
  protected _ownLabels(): { [key: string]: string } {
    return this.trainerCommand ? { [LABELS.stage]: this.trainerCommand, [LABELS.component]: 'trainer' } : { [LABELS.component]: 'trainer' };
  }
}
