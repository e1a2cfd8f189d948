import { Construct } from 'constructs';
import * as v from '../_validate';
import { TrainerCommand } from './trainer-contract';
import { TrainingStage, TrainingStageProps } from './training-stage';

/**
 * Properties of the continued pre-training stage.
 */
export interface CptStageProps extends TrainingStageProps {
  /**
   * The separate, smaller learning rate of `embed_tokens` and `lm_head`, which CPT trains so the
   * model learns Korean text (`EMBEDDING_LEARNING_RATE`).
   * @default - learningRate / 10 (the trainer's rule)
   */
  readonly embeddingLearningRate?: number;
}

/**
 * Continued pre-training (CPT) on raw Korean text (`{"text": ...}` JSONL).
 *
 * Defaults are the seed's: 4 GPUs, 32 CPUs and 200Gi per node, learning rate 1e-5, 2 epochs,
 * batch 2 x 32, 4096 tokens, LoRA r=64/alpha=16/dropout=0.1, W&B project `korean-llm-cpt`, data
 * `/data/korean_corpus.jsonl`; the job may run for up to 7 days.
 */
export class CptStage extends TrainingStage {
  /** The embedding learning rate, if set. */
  public readonly embeddingLearningRate?: number;

  public constructor(scope: Construct, id: string, props: CptStageProps) {
    super(scope, id, TrainerCommand.CPT, {
      gpusPerNode: 4,
      cpu: 32,
      memoryGi: 200,
      learningRate: 1e-5,
      epochs: 2,
      gradientAccumulationSteps: 32,
      dataFile: 'korean_corpus.jsonl',
      activeDeadlineDays: 7,
    }, props);
    v.numberIn('embeddingLearningRate', props.embeddingLearningRate, 0, 1, true);
    this.embeddingLearningRate = props.embeddingLearningRate;
    if (props.embeddingLearningRate !== undefined) {
      this._setEnv('EMBEDDING_LEARNING_RATE', String(props.embeddingLearningRate), true);
    }
  }
}
