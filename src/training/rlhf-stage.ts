import { Construct } from 'constructs';
import * as v from '../_validate';
import { TrainerCommand, TrainerContract } from './trainer-contract';
import { TrainingStage, TrainingStageProps } from './training-stage';

/**
 * The preference-tuning method of the RLHF stage, and the dataset format it reads.
 */
export enum PreferenceMethod {
  /** Direct Preference Optimization: `{"prompt", "chosen", "rejected"}`. The default. */
  DPO = 'dpo',
  /** Odds Ratio Preference Optimization (no reference model): `{"prompt", "chosen", "rejected"}`. */
  ORPO = 'orpo',
  /** Kahneman-Tversky Optimization on unpaired feedback: `{"prompt", "completion", "label"}`. */
  KTO = 'kto',
  /** Group Relative Policy Optimization with built-in reward functions: `{"prompt"}`. */
  GRPO = 'grpo',
}

/**
 * A GRPO reward function built into the trainer (`GRPO_REWARD_FUNCS`).
 */
export enum RewardFunction {
  /** Rewards completions written in Korean (share of Hangul among letters). */
  KOREAN_RATIO = 'korean_ratio',
  /** Rewards completions near a target length. */
  LENGTH = 'length',
  /** Rewards well-formed completions (no broken markup, proper ending). */
  FORMAT = 'format',
  /** Penalises repeated n-grams. */
  NO_REPETITION = 'no_repetition',
}

/**
 * Properties of the RLHF / preference-tuning stage.
 */
export interface RlhfStageProps extends TrainingStageProps {
  /**
   * The method (`RLHF_METHOD`).
   * @default PreferenceMethod.DPO
   */
  readonly method?: PreferenceMethod;
  /**
   * The method's beta (`RLHF_BETA`), greater than 0 and at most 10.
   * @default 0.1
   */
  readonly beta?: number;
  /**
   * GRPO only: the reward functions (`GRPO_REWARD_FUNCS`).
   * @default [RewardFunction.KOREAN_RATIO, RewardFunction.FORMAT]
   */
  readonly rewardFunctions?: RewardFunction[];
  /**
   * GRPO only: completions sampled per prompt (`GRPO_NUM_GENERATIONS`), at least 2.
   * @default 8
   */
  readonly numGenerations?: number;
  /**
   * GRPO only: the most tokens generated per completion (`MAX_COMPLETION_LENGTH`), below `maxSeqLength`.
   * @default 512 (the trainer's)
   */
  readonly maxCompletionLength?: number;
}

/**
 * Preference tuning, the seed's "RLHF" stage: DPO by default, or ORPO, KTO or GRPO.
 *
 * Defaults: the seed's 2 GPUs, 16 CPUs and 100Gi per node; learning rate 5e-6, 1 epoch, batch
 * 2 x 8, W&B project `korean-llm-rlhf`, data `/data/preference.jsonl`; up to 2 days.
 */
export class RlhfStage extends TrainingStage {
  /** The preference method. */
  public readonly method: PreferenceMethod;

  public constructor(scope: Construct, id: string, props: RlhfStageProps) {
    super(scope, id, TrainerCommand.RLHF, {
      gpusPerNode: 2,
      cpu: 16,
      memoryGi: 100,
      learningRate: 5e-6,
      epochs: 1,
      gradientAccumulationSteps: 8,
      dataFile: 'preference.jsonl',
      activeDeadlineDays: 2,
    }, props, {
      rlhfMethod: props.method ?? PreferenceMethod.DPO,
      numGenerations: props.numGenerations,
      maxCompletionLength: props.maxCompletionLength ?? envInt(props.env?.MAX_COMPLETION_LENGTH),
    });
    const method = props.method ?? PreferenceMethod.DPO;
    if (!Object.values(PreferenceMethod).includes(method)) {
      v.fail('method', method, `one of ${Object.values(PreferenceMethod).join(', ')}`);
    }
    v.numberIn('beta', props.beta, 0, 10, true);
    const grpoOnly = props.rewardFunctions !== undefined || props.numGenerations !== undefined || props.maxCompletionLength !== undefined;
    if (grpoOnly && method !== PreferenceMethod.GRPO) {
      const prop = props.rewardFunctions !== undefined ? 'rewardFunctions' : props.numGenerations !== undefined ? 'numGenerations' : 'maxCompletionLength';
      v.fail(prop, method, 'used with PreferenceMethod.GRPO only');
    }
    const maxSeqLength = props.maxSeqLength ?? 4096;
    v.positiveInt('maxCompletionLength', props.maxCompletionLength, maxSeqLength - 1);
    for (const f of props.rewardFunctions ?? []) {
      const known = TrainerContract.grpoRewardFunctions();
      if (!known.includes(f)) v.fail('rewardFunctions[]', f, `one of ${known.join(', ')}`);
    }
    if (props.rewardFunctions && props.rewardFunctions.length === 0) v.fail('rewardFunctions', '[]', 'at least one reward function');
    v.uniqueKeys('rewardFunctions', props.rewardFunctions ?? []);
    if (props.numGenerations !== undefined && (!Number.isInteger(props.numGenerations) || props.numGenerations < 2)) {
      v.fail('numGenerations', props.numGenerations, 'an integer of at least 2');
    }
    this.method = method;
    // `true`: a user env entry of the same name (already added by TrainingStage) is an error, not silently replaced
    this._setEnv('RLHF_METHOD', method, true);
    this._setEnv('RLHF_BETA', String(props.beta ?? 0.1), true);
    if (method === PreferenceMethod.GRPO) {
      this._setEnv('GRPO_REWARD_FUNCS', (props.rewardFunctions ?? [RewardFunction.KOREAN_RATIO, RewardFunction.FORMAT]).join(','), true);
      this._setEnv('GRPO_NUM_GENERATIONS', String(props.numGenerations ?? 8), true);
      if (props.maxCompletionLength !== undefined) this._setEnv('MAX_COMPLETION_LENGTH', String(props.maxCompletionLength), true);
    }
  }
}

/** An integer env value given as a string, if it is one (the contract checks it in the trainer). */
function envInt(value: string | undefined): number | undefined {
  return value !== undefined && /^[0-9]+$/.test(value.trim()) ? parseInt(value, 10) : undefined;
}
