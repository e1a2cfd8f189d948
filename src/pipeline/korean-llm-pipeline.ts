import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import * as v from '../_validate';
import { RUN_ID } from './_argo';
import { GatePlan, planGate, wireGate } from './_evaluation-gate';
import { KoreanBenchmark } from './korean-benchmark';
import { KoreanLlmPipelineProps, ModelVariant, StageOptions } from './korean-llm-pipeline-options';
import { Pipeline } from './pipeline';
import { PipelineStep } from './step';
import { CptStage } from '../training/cpt-stage';
import { RlhfStage } from '../training/rlhf-stage';
import { SftStage } from '../training/sft-stage';
import { TrainerCommand } from '../training/trainer-contract';
import { BaseModel, TrainingStage } from '../training/training-stage';

/** The steps of one model's branch. */
export class ModelBranch {
  /** @internal */
  public constructor(
    /** The model's name. */
    public readonly name: string,
    /** The last training stage: what is evaluated and deployed. */
    public readonly finalStage: TrainingStage,
    /** The evaluate step. */
    public readonly evaluation: PipelineStep,
    /** The CPT stage, when enabled. */
    public readonly cpt?: CptStage,
    /** The SFT stage, when enabled. */
    public readonly sft?: SftStage,
    /** The RLHF stage, when enabled. */
    public readonly rlhf?: RlhfStage,
  ) {}
}

/**
 * The seed's pipeline with one call: preprocess -> CPT -> SFT -> RLHF -> evaluate -> deploy, for one
 * model or fanned out over several (one branch per model, sharing the preprocessed corpus).
 *
 * Workflow parameters: `data-path` (raw corpus), `base-model` (single model) or `<model>-base-model`,
 * `<step>-learning-rate` for every training step, `min-score` for the gate (with a `server`), `run-label`.
 *
 * To gate the deployment on a step of your own as well (a safety eval), add it and then
 * `pipeline.addDeploymentGate(pipeline.deployStep!, { step, output, minValue })`.
 */
export class KoreanLlmPipeline extends Pipeline {
  /** One branch per model. */
  public readonly branches: ModelBranch[];
  /** The preprocess step, if enabled. */
  public readonly preprocessStep?: PipelineStep;
  /** The deploy step, if a server is given. */
  public readonly deployStep?: PipelineStep;

  public constructor(scope: Construct, id: string, props: KoreanLlmPipelineProps) {
    const runLabel = 'run-label';
    super(scope, id, { ...props, podLabels: { 'korean-llm/run-label': `{{workflow.parameters.${runLabel}}}`, ...props.podLabels } });
    this.addParameter(runLabel, 'manual', 'a label for this run (a label value), set on every pod');
    if (props.models && props.baseModel) v.fail('baseModel', props.baseModel, 'unset when \'models\' is given (each model has its own base model)');
    const models: ModelVariant[] = props.models ?? (props.baseModel ? [{ name: '', baseModel: props.baseModel, modelSize: props.modelSize }] : []);
    if (models.length === 0) throw new Error('\'baseModel\' or \'models\' is required: the Hugging Face id of the model to train, e.g. \'unsloth/Qwen2.5-7B-bnb-4bit\'');
    const multi = props.models !== undefined;
    if (multi) {
      for (const m of models) v.dns1035('models[].name', m.name, 16);
      v.uniqueKeys('models[].name', models.map((m) => m.name));
    }
    if (props.server && models.length > 1) {
      v.fail('server', props.server.resourceName, 'used with a single model (with several, add your own deploy step for the chosen one: see the custom pipeline example)');
    }
    v.numberIn('evaluation.minScore', props.evaluation?.minScore, 0, 1);
    if (props.evaluation?.minScore !== undefined && !props.server) {
      v.fail('evaluation.minScore', props.evaluation.minScore, 'unset without \'server\' (no deploy step to gate; set a server, or gate your own deploy step with addDeployment)');
    }

    const pre = props.preprocess ?? {};
    v.absolutePath('preprocess.inputPath', pre.inputPath);
    v.numberIn('preprocess.minHangulRatio', pre.minHangulRatio, 0, 1);
    v.numberIn('preprocess.dedupThreshold', pre.dedupThreshold, 0, 1, true);
    const output = this.storage.output.mountPath;
    let corpus: string | undefined;
    if (pre.enabled ?? true) {
      const dataPath = this.addParameter('data-path', pre.inputPath ?? `${this.storage.data.mountPath}/raw`, 'the raw Korean corpus (JSONL) that preprocessing cleans');
      const outDir = `${output}/runs/${RUN_ID}/preprocess`;
      corpus = `${outDir}/corpus.jsonl`;
      this.preprocessStep = this.addContainerStep('preprocess', {
        command: ['python', '-m', 'korean_llm_trainer', 'preprocess'],
        env: {
          STAGE: 'PREPROCESS',
          RUN_ID,
          DATA_PATH: dataPath.ref,
          OUTPUT_DIR: outDir,
          MIN_HANGUL_RATIO: String(pre.minHangulRatio ?? 0.3),
          DEDUP_THRESHOLD: String(pre.dedupThreshold ?? 0.8),
        },
        cpu: pre.cpu ?? kplus.Cpu.units(8),
        memory: pre.memory ?? Size.gibibytes(32),
        activeDeadline: Duration.hours(12),
      });
    }

    const common = (stage: TrainerCommand, m: ModelVariant) => ({
      ...props.tracking?.stageProps(stage),
      image: props.image,
      storage: this.storage,
      nodePool: props.nodePool,
      queueing: props.queueing,
      backend: props.backend,
      modelName: multi ? m.name : undefined,
      modelSize: m.modelSize,
      hfToken: props.hfToken,
      runAsUser: props.runAsUser,
    });

    let gatePlan: GatePlan | undefined;
    this.branches = models.map((m) => {
      const prefix = multi ? `${m.name}-` : '';
      const scopeOf = multi ? new Construct(this, m.name) : this;
      let base = BaseModel.huggingFace(m.baseModel);
      let previous: PipelineStep | undefined = this.preprocessStep;
      const baseParam = multi ? `${m.name}-base-model` : 'base-model';
      const stageStep = (stage: TrainingStage, name: string, first: boolean) => {
        const step = this.addStage(stage, { name, baseModelParameter: first ? baseParam : undefined, dependsOn: previous ? [previous] : [] });
        previous = step;
        base = BaseModel.fromStage(stage);
        return stage;
      };
      const opt = <T extends StageOptions>(pipelineLevel: T | undefined, modelLevel: T | undefined): T =>
        ({ ...pipelineLevel, ...modelLevel }) as T;
      const cptOpts = opt(props.cpt, m.cpt);
      const sftOpts = opt(props.sft, m.sft);
      const rlhfOpts = opt(props.rlhf, m.rlhf);
      let first = true;
      const cpt = (cptOpts.enabled ?? true)
        ? stageStep(new CptStage(scopeOf, 'cpt', { ...common(TrainerCommand.CPT, m), ...stageProps(cptOpts), baseModel: base, dataPath: cptOpts.dataPath ?? corpus, embeddingLearningRate: cptOpts.embeddingLearningRate }), `${prefix}cpt`, first) as CptStage
        : undefined;
      if (cpt) first = false;
      const sft = (sftOpts.enabled ?? true)
        ? stageStep(new SftStage(scopeOf, 'sft', { ...common(TrainerCommand.SFT, m), ...stageProps(sftOpts), baseModel: base }), `${prefix}sft`, first) as SftStage
        : undefined;
      if (sft) first = false;
      const rlhf = (rlhfOpts.enabled ?? true)
        ? stageStep(new RlhfStage(scopeOf, 'rlhf', { ...common(TrainerCommand.RLHF, m), ...stageProps(rlhfOpts), baseModel: base, method: rlhfOpts.method, beta: rlhfOpts.beta, rewardFunctions: rlhfOpts.rewardFunctions }), `${prefix}rlhf`, first) as RlhfStage
        : undefined;
      const finalStage = rlhf ?? sft ?? cpt;
      if (!finalStage) v.fail(multi ? `models['${m.name}'] stages` : 'cpt/sft/rlhf', 'all disabled', 'at least one enabled training stage');
      const e = props.evaluation ?? {};
      // thresholds, retention, champion and judge: their parameters and the evaluate step's env
      gatePlan = planGate(this, {
        benchmarks: e.benchmarks ?? KoreanBenchmark.defaults(),
        minScore: e.minScore,
        retention: e.retention,
        champion: e.champion,
        judge: e.judge,
        baseModel: `{{workflow.parameters.${baseParam}}}`,
        outputPath: output,
        deploy: props.server !== undefined,
      });
      for (const n of [...Object.keys(gatePlan.env), ...Object.keys(gatePlan.secretEnv)]) {
        if (n in (e.env ?? {}) || n in (e.secretEnv ?? {})) v.fail('evaluation.env', n, 'a variable the evaluation gate does not set itself');
      }
      const evaluation = this.addEvaluation(`${prefix}evaluate`, {
        model: finalStage,
        benchmarks: e.benchmarks,
        gpus: e.gpus,
        cpu: e.cpu,
        memory: e.memory,
        limit: e.limit,
        activeDeadline: e.activeDeadline,
        image: e.image,
        command: e.command,
        args: e.args,
        env: { ...e.env, ...gatePlan.env },
        secretEnv: { ...e.secretEnv, ...gatePlan.secretEnv },
        nodePool: e.nodePool,
        queueing: e.queueing,
      });
      return new ModelBranch(m.name, finalStage, evaluation, cpt, sft, rlhf);
    });

    if (props.server) {
      const branch = this.branches[0];
      this.deployStep = this.addDeployment('deploy', {
        model: branch.finalStage,
        server: props.server,
        gate: branch.evaluation,
        minScore: props.evaluation?.minScore,
      });
      wireGate(this, gatePlan!, branch.evaluation, this.deployStep);
    }
  }
}

function stageProps(o: StageOptions): any {
  const { enabled: _e, dataPath, ...rest } = o as any;
  if (dataPath) rest.dataPath = dataPath;
  return rest;
}
