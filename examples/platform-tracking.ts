// The seed's section 9.2: W&B and MLflow configured once, applied to every stage.
import { App, Chart } from 'cdk8s';
import { BaseModel, CptStage, ExperimentTracking, RlhfStage, SecretKey, SftStage, TrainerCommand } from '../src';
import { IMAGE } from './standalone-stages';

export function platformTracking(app: App): Chart {
  const chart = new Chart(app, 'platform-tracking', { namespace: 'llm-training', disableResourceNameHashes: true });
  const tracking = ExperimentTracking.of({
    wandb: { apiKey: SecretKey.of('wandb-secret', 'api-key') }, // projects korean-llm-cpt, -sft, -rlhf
    mlflow: { trackingUri: 'http://mlflow-server.mlflow.svc:5000', experimentName: 'korean-llm-training' },
  });
  const runId = 'ko-2026-11-28';
  const cpt = new CptStage(chart, 'korean-llm-cpt', {
    ...tracking.stageProps(TrainerCommand.CPT), image: IMAGE, runId, baseModel: BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit'),
  });
  const sft = new SftStage(chart, 'korean-llm-sft', {
    ...tracking.stageProps(TrainerCommand.SFT), image: IMAGE, runId, baseModel: BaseModel.fromStage(cpt),
  });
  new RlhfStage(chart, 'korean-llm-rlhf', {
    ...tracking.stageProps(TrainerCommand.RLHF), image: IMAGE, runId, baseModel: BaseModel.fromStage(sft),
  });
  return chart;
}
