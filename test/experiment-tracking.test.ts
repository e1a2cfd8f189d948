import { Testing } from 'cdk8s';
import { BaseModel, CptStage, ExperimentTracking, RlhfStage, SecretKey, SftStage, TrainerCommand } from '../src';
import { inlineSecrets, nsChart } from './util/platform';
import { expectValid } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
const envOf = (doc: any) => Object.fromEntries(
  doc.spec.pytorchReplicaSpecs.Master.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]),
);

describe('ExperimentTracking', () => {
  test('W&B and MLflow once, applied to every stage, a W&B project per stage', () => {
    const tracking = ExperimentTracking.of({
      wandb: { apiKey: SecretKey.of('wandb', 'key') },
      mlflow: { trackingUri: 'http://mlflow-server:5000' },
    });
    const chart = nsChart();
    const cpt = new CptStage(chart, 'cpt', { ...tracking.stageProps(TrainerCommand.CPT), image: IMAGE, runId: 'r1', baseModel: BaseModel.huggingFace('org/m') });
    const sft = new SftStage(chart, 'sft', { ...tracking.stageProps(TrainerCommand.SFT), image: IMAGE, runId: 'r1', baseModel: BaseModel.fromStage(cpt) });
    new RlhfStage(chart, 'rlhf', { ...tracking.stageProps(TrainerCommand.RLHF), image: IMAGE, runId: 'r1', baseModel: BaseModel.fromStage(sft) });
    const docs = Testing.synth(chart);
    expectValid(docs);
    expect(inlineSecrets(docs)).toEqual([]);
    const envs = docs.map(envOf);
    expect(envs.map((e) => e.WANDB_PROJECT)).toEqual(['korean-llm-cpt', 'korean-llm-sft', 'korean-llm-rlhf']);
    for (const env of envs) {
      expect(env.WANDB_API_KEY).toEqual({ secretKeyRef: { name: 'wandb', key: 'key' } });
      expect(env.MLFLOW_TRACKING_URI).toBe('http://mlflow-server:5000');
      expect(env.MLFLOW_EXPERIMENT_NAME).toBe('korean-llm-training');
    }
  });

  test('stageProps: prefix, one shared project, none, seed default', () => {
    expect(ExperimentTracking.of({ wandb: { projectPrefix: 'ko' } }).stageProps(TrainerCommand.SFT)).toEqual({
      wandb: true, wandbProject: 'ko-sft', wandbApiKey: SecretKey.wandbDefault(),
    });
    expect(ExperimentTracking.of({ wandb: { project: 'korean-llm-training' } }).stageProps(TrainerCommand.CPT).wandbProject).toBe('korean-llm-training');
    expect(ExperimentTracking.none().stageProps(TrainerCommand.CPT)).toEqual({ wandb: false });
    expect(ExperimentTracking.seedDefault().wandbEnabled).toBe(true);
    expect(ExperimentTracking.seedDefault().mlflowEnabled).toBe(false);
    expect(ExperimentTracking.of({ mlflow: { trackingUri: 'databricks://prod', experimentName: 'x' } }).stageProps(TrainerCommand.RLHF))
      .toEqual({ wandb: false, mlflowTrackingUri: 'databricks://prod', mlflowExperimentName: 'x' });
  });

  test('none() leaves no tracking variables on a stage', () => {
    const chart = nsChart();
    new SftStage(chart, 'sft', { ...ExperimentTracking.none().stageProps(TrainerCommand.SFT), image: IMAGE, runId: 'r1', baseModel: BaseModel.huggingFace('org/m') });
    const env = envOf(Testing.synth(chart)[0]);
    expect(Object.keys(env).filter((n) => /^(WANDB|MLFLOW)_/.test(n))).toEqual([]);
  });

  test('fails when the MLflow URI is invalid', () => {
    for (const uri of ['mlflow-server:5000', 'http://', 'http://host:99999', 'ftp://host', 'http://a b']) {
      expect(() => ExperimentTracking.of({ mlflow: { trackingUri: uri } })).toThrow('\'mlflow.trackingUri\' must be an http(s):// URL with a host');
    }
    expect(() => ExperimentTracking.of({ mlflow: { trackingUri: 'https://mlflow.example.com/api' } })).not.toThrow();
    expect(() => ExperimentTracking.of({ mlflow: { trackingUri: 'file:///output/mlruns' } })).not.toThrow();
  });

  test('fails when the W&B key is not a Secret reference or the project is invalid', () => {
    expect(() => ExperimentTracking.of({ wandb: { apiKey: 'abc123' as any } })).toThrow("'wandb.apiKey' must be a SecretKey (never a literal key), got 'abc123'");
    expect(() => ExperimentTracking.of({ wandb: { projectPrefix: 'ko llm' } })).toThrow("'wandb.projectPrefix' must be letters, digits");
    expect(() => ExperimentTracking.of({ wandb: { project: 'a', projectPrefix: 'b' } })).toThrow("'wandb.project' must be unset when 'wandb.projectPrefix' is given, got 'a'");
  });
});
