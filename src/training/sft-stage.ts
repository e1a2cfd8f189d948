import { Construct } from 'constructs';
import { TrainerCommand } from './trainer-contract';
import { TrainingStage, TrainingStageProps } from './training-stage';

/**
 * Properties of the supervised fine-tuning stage.
 */
export interface SftStageProps extends TrainingStageProps {}

/**
 * Supervised fine-tuning (SFT) on Korean chat data (`{"messages": [...]}` JSONL, rendered with the
 * model's chat template).
 *
 * Defaults: the seed's 2 GPUs, 16 CPUs and 100Gi per node; learning rate 2e-4 (LoRA), 3 epochs,
 * batch 2 x 8, 4096 tokens, W&B project `korean-llm-sft`, data `/data/sft.jsonl`; up to 2 days.
 */
export class SftStage extends TrainingStage {
  public constructor(scope: Construct, id: string, props: SftStageProps) {
    super(scope, id, TrainerCommand.SFT, {
      gpusPerNode: 2,
      cpu: 16,
      memoryGi: 100,
      learningRate: 2e-4,
      epochs: 3,
      gradientAccumulationSteps: 8,
      dataFile: 'sft.jsonl',
      activeDeadlineDays: 2,
    }, props);
  }
}
