import { ApiObject, Chart, Duration, JsonPatch, Lazy, Names, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ARGO_API_VERSION, containerTemplate, retryAndDeadline, RUN_ID, SCORE_FILE, stageDeadline, stageTemplate, workflowSpec } from './_argo';
import { checkDerivedNames, checkMinimum, checkStepName, requireSameStorage, validateRetry } from './_checks';
import { dagErrors, mermaid } from './_dag';
import { gateOutputFiles } from './_evaluation-gate';
import { exitHandlerTemplates } from './_exit-handler';
import { attachEstimate, checkBudget, planRows, wirePlan } from './_plan';
import { RoleRules } from './_rbac';
import { KoreanBenchmark } from './korean-benchmark';
import { PipelineKind } from './pipeline-kind';
import { ContainerStepProps, DeploymentGate, DeploymentStepProps, EvaluationStepProps, PipelineProps, StageStepOptions } from './pipeline-options';
import { PlanRow } from './plan';
import { _StepRole, PipelineParameter, PipelineStep } from './step';
import * as v from '../_validate';
import { Labels, LABELS, PART_OF } from '../labels';
import { cores } from '../platform/_platform';
import { checkDistinctVolumes, ITrainingStorage, TrainingVolumes } from '../platform/storage';
import { GpuNodePool } from '../training/gpu-node-pool';
import { GpuTrainingJob } from '../training/gpu-training-job';
import { QueueingKind } from '../training/queueing';
import { TrainingStage } from '../training/training-stage';

/**
 * A DAG of steps, emitted as one Argo Workflow (or WorkflowTemplate, or CronWorkflow) plus the
 * ServiceAccount, Role and RoleBinding it needs.
 *
 * Training steps are Argo `resource` templates that create the stage's job and wait on it with the
 * conditions its backend gives (for a PyTorchJob: success when
 * `status.replicaStatuses.Master.succeeded > 0`; failure when any replica type counts a failed pod
 * or a `Failed` condition sits at any index the job's conditions can have, so every branch of the
 * operator is seen). Inside a pipeline every replica runs with `restartPolicy: Never` and no
 * `backoffLimit`: a failed pod is then final for that job, counted and kept for its logs, and the
 * step's `retryStrategy` starts a new job (`generateName`, so no name clash with the failed attempt)
 * that resumes from the newest checkpoint in the run's output directory. Retries cover the stage's
 * whole life (no `maxDuration`); a step's deadline is its job's plus, for a queued job,
 * `maxQueueTime`. `OnFailure` would restart containers in place without the pod ever reaching
 * `Failed`; `ExitCode` counts the failed pod before recreating it, failing the step while the job
 * goes on. The exit handler's cleanup and notification never change the run's phase.
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
  /** The training node pool (GPU container steps that go through a queue run there too). */
  public readonly nodePool: GpuNodePool;
  /** Where GPU container steps (the evaluation) run unless they go through a queue. */
  public readonly gpuStepNodePool: GpuNodePool;

  private readonly props: PipelineProps;
  private readonly steps: PipelineStep[] = [];
  private readonly params = new Map<string, PipelineParameter>();
  private readonly resource: ApiObject;
  private readonly rules = new RoleRules();
  /** The gates of each deploy step, in the order they were added. */
  private readonly gates = new Map<PipelineStep, string[]>();

  public constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    v.pinnedImage('image', props.image);
    v.dns1035('name', props.name, 40);
    v.positiveInt('parallelism', props.parallelism);
    checkBudget(props.budget);
    validateRetry('retry', props.retry);
    v.positiveDuration('maxQueueTime', props.maxQueueTime);
    v.positiveDuration('ttlAfterSuccess', props.ttlAfterSuccess);
    v.positiveDuration('ttlAfterFailure', props.ttlAfterFailure);
    if (props.runAsUser !== undefined && (!Number.isInteger(props.runAsUser) || props.runAsUser < 1)) {
      v.fail('runAsUser', props.runAsUser, 'a non-root UID (a positive integer)');
    }
    for (const [key, value] of Object.entries(props.podLabels ?? {})) {
      v.labelKey('podLabels key', key);
      // a value with a placeholder is checked by the API server once Argo substituted it
      if (!value.includes('{{')) v.labelValue(`podLabels['${key}']`, value);
    }
    v.namespace('namespace (of the chart)', Chart.of(this).namespace);
    if (props.storage) checkDistinctVolumes(props.storage);
    this.props = props;
    this.image = props.image;
    this.kind = props.kind ?? PipelineKind.workflow();
    this.storage = props.storage ?? TrainingVolumes.fromClaims();
    this.nodePool = props.nodePool ?? GpuNodePool.seedDefault();
    this.gpuStepNodePool = props.gpuStepNodePool ?? GpuNodePool.inferenceDefault();
    this.workflowName = props.name ?? Names.toDnsLabel(this, { maxLen: 30, includeHash: false }).replace(/^[^a-z]+/, '') ?? 'pipeline';

    // Least privilege, grown by the steps (no wildcards): the executor reports outputs through
    // WorkflowTaskResults (Argo >= 3.4); training steps manage their jobs; a deploy step patches
    // exactly its server.
    const sa = new kplus.k8s.KubeServiceAccount(this, 'ServiceAccount', { automountServiceAccountToken: true });
    this.serviceAccountName = sa.name;
    const role = new kplus.k8s.KubeRole(this, 'Role', { rules: Lazy.any({ produce: () => this.rules.toJson() }) as any });
    const namespace = Chart.of(this).namespace;
    new kplus.k8s.KubeRoleBinding(this, 'RoleBinding', {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
      subjects: [{ apiGroup: '', kind: 'ServiceAccount', name: sa.name, namespace }],
    });
    this.rules.allow(['create', 'patch'], 'argoproj.io', 'workflowtaskresults');

    const isCron = this.kind.kind === 'CronWorkflow';
    const labels = { [LABELS.partOf]: PART_OF };
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: ARGO_API_VERSION,
      kind: this.kind.kind,
      metadata: this.kind.kind === 'Workflow' ? { generateName: `${this.workflowName}-`, labels } : { name: this.workflowName, labels },
      spec: Lazy.any({ produce: () => (isCron ? this.kind._cronSpec(this.renderSpec()) : this.renderSpec()) }),
    });
    if (this.kind.kind === 'Workflow') {
      // a generateName object has no name of its own: drop the one cdk8s generates
      this.resource.addJsonPatch(JsonPatch.remove('/metadata/name'));
    }

    this.node.addValidation({ validate: () => dagErrors(this.node.path, this.steps) });
    // the estimate totals on the workflow, and the budget guard
    wirePlan(this, this.resource, props.budget);
  }

  /** The steps, in the order they were added (a copy). */
  public get allSteps(): PipelineStep[] {
    return [...this.steps];
  }

  /** The workflow parameters (a copy). */
  public get parameters(): PipelineParameter[] {
    return [...this.params.values()];
  }

  /** The emitted Argo object. */
  public get apiObject(): ApiObject {
    return this.resource;
  }

  /**
   * Declares a workflow parameter (`spec.arguments.parameters`); `argo submit -p <name>=...` sets it.
   */
  public addParameter(name: string, defaultValue: string, description?: string): PipelineParameter {
    if (!/^[a-zA-Z0-9][-a-zA-Z0-9_]*$/.test(name)) v.fail('parameter name', name, 'letters, digits, \'-\' and \'_\'');
    if (this.params.has(name)) v.fail('parameter name', name, 'unique (a parameter of that name exists)');
    const p = PipelineParameter._create(name, defaultValue, description);
    this.params.set(name, p);
    return p;
  }

  /**
   * Adds a training stage (or any GpuTrainingJob) as a step: an Argo `resource` template creating the
   * job and waiting for it. From then on the job is emitted only inside this pipeline's workflow.
   */
  public addStage(job: GpuTrainingJob, options: StageStepOptions = {}): PipelineStep {
    const name = options.name ?? job.node.id.toLowerCase();
    checkStepName(name, this.steps);
    validateRetry('retry', options.retry);
    v.positiveDuration('maxQueueTime', options.maxQueueTime);
    if (job.storage) requireSameStorage(this.storage, job.storage, `storage of step '${name}'`);
    if (options.estimate) attachEstimate(job, options.estimate);
    const envOverrides: { [key: string]: string } = {};
    if ((options.parameterize ?? true) && job instanceof TrainingStage) {
      envOverrides.LEARNING_RATE = this.parameterFor(options.learningRateParameter ?? `${name}-learning-rate`, String(job.learningRate), `${name}: peak learning rate`).ref;
      if (!job.baseModel.stage) {
        envOverrides.BASE_MODEL_PATH = this.parameterFor(options.baseModelParameter ?? `${name}-base-model`, job.baseModel.path, 'the model to start from').ref;
      }
    }
    const labels: { [key: string]: string } = { [Labels.RUN]: RUN_ID, [Labels.PIPELINE]: this.workflowName, [Labels.ATTEMPT]: '{{retries}}' };
    if (this.props.argoLogs ?? true) labels['workflows.argoproj.io/workflow'] = RUN_ID;
    job._embed({ generateName: `${RUN_ID}-${name}-`, runId: RUN_ID, labels, envOverrides });
    // create and wait (get/list/watch), owner reference (patch), exit-handler cleanup (list/delete)
    const backend = job.backend._impl;
    this.rules.allow(['create', 'get', 'list', 'watch', 'patch', 'delete'], backend.apiGroup, backend.resourcePlural);
    for (const r of backend.extraReadResources) this.rules.allow(['get', 'list', 'watch'], backend.apiGroup, r);

    // the job's own deadline, plus its queue time (a queued job's clock starts at admission), plus slack
    const deadline = stageDeadline(job, options.maxQueueTime ?? this.props.maxQueueTime);
    const step: PipelineStep = PipelineStep._create(this, name, _StepRole.TRAINING, () => {
      const manifest = job._manifest();
      checkDerivedNames(this.workflowName, this.kind._maxRunNameLength(this.workflowName.length), step, manifest);
      // the Argo step outlives the job's own deadline: a backstop should the operator never fail the job
      return stageTemplate(name, job, manifest, retryAndDeadline(this.props.retry, options.retry, deadline));
    }, { job });
    step._declareOutput('job-name');
    this.steps.push(step);
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
    return this.containerStep(name, props, _StepRole.CONTAINER);
  }

  /**
   * Adds the evaluate step: `python -m korean_llm_trainer evaluate` (or your own `image` and
   * `command`) on the model of `props.model`, exposing the score written to `SCORE_FILE` as output
   * parameter `score`. It runs on the pipeline's `gpuStepNodePool`, outside the training pool,
   * unless it goes through a Kueue queue (`queueing`).
   */
  public addEvaluation(name: string, props: EvaluationStepProps): PipelineStep {
    const benchmarks = props.benchmarks ?? KoreanBenchmark.defaults();
    if (benchmarks.length === 0) v.fail('benchmarks', '[]', 'at least one benchmark');
    v.uniqueKeys('benchmarks', benchmarks.map((b) => b.taskName));
    if (props.limit !== undefined && !(props.limit > 0)) v.fail('limit', props.limit, 'a number greater than 0');
    const modelStep = this.stepOf(props.model, 'model');
    const own = props.env ?? {};
    const contract = ['STAGE', 'RUN_ID', 'MODEL_NAME', 'MODEL_PATH', 'EVAL_TASKS', 'EVAL_OUTPUT_DIR', 'SCORE_FILE', 'EVAL_LIMIT'];
    for (const n of Object.keys(own)) {
      if (contract.includes(n)) v.fail('env', n, `a variable the evaluate step does not set itself (not ${contract.join(', ')})`);
    }
    return this.containerStep(name, {
      image: props.image,
      command: props.command ?? ['python', '-m', 'korean_llm_trainer', 'evaluate'],
      args: props.args,
      secretEnv: props.secretEnv,
      nodePool: props.nodePool,
      queueing: props.queueing,
      env: {
        ...own,
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
      // the trainer's command also writes one file per task score and per check (the gate's outputs)
      outputFiles: { score: SCORE_FILE, ...(props.command ? {} : gateOutputFiles(benchmarks, own)) },
      dependsOn: [modelStep, ...(props.dependsOn ?? [])],
      retry: props.retry,
    }, _StepRole.EVALUATION);
  }

  /**
   * Adds the deploy step: a JSON merge patch rolling `props.server` to the model of `props.model`,
   * run only `when` the gate's numeric output (an evaluate step's `score` by default) reaches its
   * minimum (workflow parameter `min-score`), and every additional gate holds.
   */
  public addDeployment(name: string, props: DeploymentStepProps): PipelineStep {
    checkStepName(name, this.steps);
    validateRetry('retry', props.retry);
    const gate = props.gate;
    const output = props.gateOutput ?? 'score';
    if (gate) this.checkGateStep('gate', name, gate, output);
    if (!gate && props.gateOutput !== undefined) v.fail('gateOutput', props.gateOutput, 'used together with \'gate\'');
    if (!gate && props.minScore !== undefined) v.fail('minScore', props.minScore, 'used together with \'gate\' (without a gate nothing compares it)');
    checkMinimum('minScore', props.minScore, gate, output);
    const competitors = props.competitors ?? [];
    if (competitors.length > 0 && !gate) v.fail('competitors', competitors.map((c) => c.name).join(','), 'used together with \'gate\'');
    for (const c of competitors) {
      if (c === gate) v.fail('competitors[]', c.name, 'steps other than the gate');
      this.checkGateStep('competitors[]', name, c, output);
    }
    const modelStep = this.stepOf(props.model, 'model');
    const server = props.server;
    if (server.storage) requireSameStorage(this.storage, server.storage, `storage of server '${server.resourceName}'`);
    // one `min-score` parameter gates every deploy step: a second, different minScore fails instead of being ignored
    const paramName = output === 'score' ? 'min-score' : `min-${output}`;
    const existingMinimum = props.minScore === undefined ? this.params.get(paramName) : undefined;
    const minimum = gate ? existingMinimum ?? this.parameterFor(paramName, String(props.minScore ?? 0.5), output === 'score'
      ? 'lowest evaluation score (0..1) that deploys' : `lowest '${output}' of step '${gate.name}' that deploys`) : undefined;
    this.rules.allow(['get', 'patch'], server.resourceApiGroup, server.resourcePlural, server.resourceName);
    const step = PipelineStep._create(this, name, _StepRole.DEPLOYMENT, () => ({
      template: {
        name,
        ...retryAndDeadline(this.props.retry, props.retry, Duration.minutes(10)),
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
      when: (this.gates.get(step) ?? []).length > 0 ? this.gates.get(step)!.join(' && ') : undefined,
    }), { gate });
    this.steps.push(step);
    const conditions: string[] = [];
    if (gate) {
      conditions.push(`${gate.outputParameter(output)} >= ${minimum!.ref}`);
      for (const c of competitors) {
        conditions.push(`${gate.outputParameter(output)} ${this.steps.indexOf(c) > this.steps.indexOf(gate) ? '>=' : '>'} ${c.outputParameter(output)}`);
      }
    }
    this.gates.set(step, conditions);
    step.addDependency(modelStep, ...(gate ? [gate] : []), ...competitors, ...(props.dependsOn ?? []));
    for (const g of props.additionalGates ?? []) this.addDeploymentGate(step, g);
    return step;
  }

  /**
   * Adds a condition to a deploy step: it runs only when `gate.step`'s numeric output parameter
   * `gate.output` reaches the workflow parameter `gate.parameterName` (default `min-<output>`, whose
   * default is `gate.minValue`). A dependency on the step is added. With `KoreanLlmPipeline`, pass
   * its `deployStep` to gate the deployment on a step of your own as well.
   */
  public addDeploymentGate(deployStep: PipelineStep, gate: DeploymentGate): void {
    if (deployStep.pipeline !== this || deployStep._role !== _StepRole.DEPLOYMENT) {
      v.fail('deployStep', deployStep.name, `a deploy step of this pipeline (${this.node.path}), added with addDeployment`);
    }
    this.checkGateStep('gate.step', deployStep.name, gate.step, gate.output);
    checkMinimum('gate.minValue', gate.minValue, gate.step, gate.output);
    if (gate.minValue === undefined) v.fail('gate.minValue', 'undefined', 'a number');
    const paramName = gate.parameterName ?? `min-${gate.output}`;
    const param = this.parameterFor(paramName, String(gate.minValue), `lowest '${gate.output}' of step '${gate.step.name}' that deploys`);
    const condition = `${gate.step.outputParameter(gate.output)} >= ${param.ref}`;
    const conditions = this.gates.get(deployStep)!;
    if (conditions.includes(condition)) v.fail('gate', `${gate.step.name}.${gate.output}`, `a condition the deploy step '${deployStep.name}' does not have yet`);
    conditions.push(condition);
    deployStep.addDependency(gate.step);
  }

  /** The DAG as a Mermaid flowchart (the README's diagram is generated with it). */
  public toMermaid(): string {
    return mermaid(this.steps);
  }

  /**
   * The plan of the training steps, in the order they were added: GPUs, estimated wall hours,
   * GPU-hours and cost of each (from the stages' `plan`), and when each would start and finish.
   * `PlanTable.toMarkdown(pipeline.plan())` renders it for a pull-request comment.
   */
  public plan(): PlanRow[] {
    return planRows(this.steps);
  }

  private containerStep(name: string, props: ContainerStepProps, role: _StepRole): PipelineStep {
    checkStepName(name, this.steps);
    validateRetry('retry', props.retry);
    if (props.image) v.pinnedImage('image', props.image);
    if (props.command.length === 0) v.fail('command', '[]', 'a non-empty list');
    if (props.gpus !== undefined && props.gpus !== 0) v.positiveInt('gpus', props.gpus, 16);
    if (props.cpu) cores('cpu', props.cpu);
    v.positiveSize('memory', props.memory);
    v.positiveDuration('activeDeadline', props.activeDeadline);
    const queueing = props.queueing;
    if (queueing && queueing.kind === QueueingKind.VOLCANO) {
      v.fail('queueing', 'Queueing.volcano(...)', 'Queueing.kueue(...) or Queueing.none() for a container step (Volcano gang-schedules jobs, not single pods)');
    }
    const queued = queueing?.kind === QueueingKind.KUEUE;
    // a GPU pod outside the queue stays off the training pool; a queued one may use it
    const nodePool = props.nodePool ?? (queued ? this.nodePool : this.gpuStepNodePool);
    const queueLabels = queueing ? queueing._render(1).labels : {};
    const envNames = [...Object.keys(props.env ?? {}), ...Object.keys(props.secretEnv ?? {})];
    for (const n of envNames) v.envName('env', n);
    v.uniqueKeys('env', envNames);
    for (const [n, p] of Object.entries(props.outputFiles ?? {})) {
      if (!/^[a-zA-Z0-9][-a-zA-Z0-9_]*$/.test(n)) v.fail('outputFiles name', n, 'letters, digits, \'-\' and \'_\'');
      v.absolutePath(`outputFiles['${n}']`, p);
    }
    const step = PipelineStep._create(this, name, role, () => {
      const template = containerTemplate(name, props, { image: this.image, storage: this.storage, nodePool },
        retryAndDeadline(this.props.retry, props.retry, props.activeDeadline ?? Duration.hours(6)));
      // Kueue's Pod integration admits a pod by its queue label (template metadata reaches the pod)
      return { template: Object.keys(queueLabels).length > 0 ? { ...template, metadata: { labels: { ...queueLabels } } } : template };
    });
    for (const n of Object.keys(props.outputFiles ?? {})) step._declareOutput(n);
    this.steps.push(step);
    step.addDependency(...(props.dependsOn ?? []));
    return step;
  }

  private renderSpec(): any {
    const jobs = this.steps.flatMap((s) => (s.job ? [s.job.backend._impl] : []));
    const uid = this.props.runAsUser ?? 1000;
    return workflowSpec({
      serviceAccountName: this.serviceAccountName,
      steps: this.steps,
      parameters: [...this.params.values()],
      exitTemplates: exitHandlerTemplates({
        cleanup: (this.props.cleanupOnExit ?? true) ? jobs : [],
        slackWebhook: this.props.slackWebhook,
        image: this.image,
      }),
      runLabels: { ...this.props.podLabels, [Labels.RUN]: RUN_ID, [Labels.PIPELINE]: this.workflowName, [Labels.PART_OF]: PART_OF },
      runAsUser: uid,
      parallelism: this.props.parallelism,
      ttlAfterSuccess: this.props.ttlAfterSuccess ?? Duration.days(1),
      ttlAfterFailure: this.props.ttlAfterFailure ?? Duration.days(7),
      storage: this.storage,
    });
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

  /** A gate must be a step of this pipeline declaring the compared output. */
  private checkGateStep(prop: string, deployName: string, step: PipelineStep, output: string): void {
    if (step.pipeline !== this) {
      throw new Error(`'${prop}' of step '${deployName}' must be a step of the same pipeline (${this.node.path}), got step '${step.name}' of ${step.pipeline.node.path}`);
    }
    if (!step.outputParameters.includes(output)) {
      const declared = step.outputParameters.length > 0 ? step.outputParameters.map((o) => `'${o}'`).join(', ') : 'none';
      v.fail(prop, step.name, `a step declaring output parameter '${output}' (an evaluate step, or a container step with outputFiles; '${step.name}' declares ${declared})`);
    }
  }

  private stepOf(stage: TrainingStage, prop: string): PipelineStep {
    const step = this.steps.find((s) => s.job === stage);
    if (!step) v.fail(prop, stage.node.path, 'a stage added to this pipeline with addStage first');
    return step;
  }

}
