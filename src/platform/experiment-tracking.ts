import * as v from '../_validate';
import { SecretKey } from '../secret-key';
import { TrainerCommand } from '../training/trainer-contract';

/**
 * Weights & Biases settings shared by every stage.
 */
export interface WandbTracking {
  /**
   * The API key, by reference (`WANDB_API_KEY` via `secretKeyRef`).
   * @default SecretKey.wandbDefault() - the seed's `wandb-secret` / `api-key`
   */
  readonly apiKey?: SecretKey;
  /**
   * Each stage reports to the project `<projectPrefix>-<stage>` (the seed's jobs use
   * `korean-llm-cpt`, `korean-llm-sft`, `korean-llm-rlhf`).
   * @default 'korean-llm'
   */
  readonly projectPrefix?: string;
  /**
   * One project for every stage instead of one per stage (the seed's tracker uses `korean-llm-training`).
   * @default - one project per stage
   */
  readonly project?: string;
}

/**
 * MLflow settings shared by every stage.
 */
export interface MlflowTracking {
  /** The tracking server (`MLFLOW_TRACKING_URI`), e.g. `http://mlflow-server:5000` (the seed's). */
  readonly trackingUri: string;
  /**
   * The experiment (`MLFLOW_EXPERIMENT_NAME`).
   * @default 'korean-llm-training' (the seed's)
   */
  readonly experimentName?: string;
}

/**
 * Options of experiment tracking.
 */
export interface ExperimentTrackingOptions {
  /**
   * Report to Weights & Biases.
   * @default - no W&B reporting
   */
  readonly wandb?: WandbTracking;
  /**
   * Report to MLflow.
   * @default - no MLflow reporting
   */
  readonly mlflow?: MlflowTracking;
}

/**
 * The experiment-tracking props of one stage (spread them into the stage's props).
 */
export interface ExperimentTrackingStageProps {
  /** `WANDB_PROJECT`. */
  readonly wandbProject?: string;
  /** `WANDB_API_KEY`, by reference. */
  readonly wandbApiKey?: SecretKey;
  /** Whether the stage reports to W&B. */
  readonly wandb: boolean;
  /** `MLFLOW_TRACKING_URI`. */
  readonly mlflowTrackingUri?: string;
  /** `MLFLOW_EXPERIMENT_NAME`. */
  readonly mlflowExperimentName?: string;
}

/** Validates an MLflow tracking URI. */
function checkUri(uri: string): void {
  const allowed = 'an http(s):// URL with a host (for example \'http://mlflow-server:5000\'), a file: URI or databricks://<profile>';
  if (typeof uri !== 'string' || /\s/.test(uri)) v.fail('mlflow.trackingUri', uri, allowed);
  if (/^databricks:\/\/[A-Za-z0-9._-]+$/.test(uri)) return;
  if (/^file:(\/\/)?\/[^\s]*$/.test(uri)) return;
  const m = /^https?:\/\/([^/:?#@]+)(:(\d+))?(\/[^\s?#]*)?$/.exec(uri);
  if (!m) v.fail('mlflow.trackingUri', uri, allowed);
  if (m[3] !== undefined && (Number(m[3]) < 1 || Number(m[3]) > 65535)) v.fail('mlflow.trackingUri', uri, allowed);
}

/**
 * Experiment tracking configured once and applied to every stage of a pipeline (the seed's 9.2):
 * W&B with the key from a Secret and a project per stage, and/or MLflow with a tracking URI.
 *
 * ```ts
 * const tracking = ExperimentTracking.of({ wandb: {}, mlflow: { trackingUri: 'http://mlflow-server:5000' } });
 * new SftStage(chart, 'sft', { ...tracking.stageProps(TrainerCommand.SFT), image, baseModel, runId });
 * ```
 */
export class ExperimentTracking {
  /** Report to W&B and/or MLflow. */
  public static of(options: ExperimentTrackingOptions): ExperimentTracking {
    return new ExperimentTracking(options);
  }

  /** No tracking at all: no `WANDB_*` or `MLFLOW_*` variables. */
  public static none(): ExperimentTracking {
    return new ExperimentTracking({});
  }

  /** The seed's: W&B (`wandb-secret` / `api-key`, projects `korean-llm-<stage>`), no MLflow. */
  public static seedDefault(): ExperimentTracking {
    return new ExperimentTracking({ wandb: {} });
  }

  /** Whether W&B reporting is on. */
  public readonly wandbEnabled: boolean;
  /** Whether MLflow reporting is on. */
  public readonly mlflowEnabled: boolean;
  private readonly options: ExperimentTrackingOptions;

  private constructor(options: ExperimentTrackingOptions) {
    const w = options.wandb;
    if (w) {
      if (w.apiKey !== undefined && !(w.apiKey instanceof SecretKey)) v.fail('wandb.apiKey', String(w.apiKey), 'a SecretKey (never a literal key)');
      if (w.projectPrefix !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/.test(w.projectPrefix)) {
        v.fail('wandb.projectPrefix', w.projectPrefix, 'letters, digits, \'.\', \'_\' or \'-\'');
      }
      if (w.project !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(w.project)) {
        v.fail('wandb.project', w.project, 'letters, digits, \'.\', \'_\' or \'-\'');
      }
      if (w.project !== undefined && w.projectPrefix !== undefined) v.fail('wandb.project', w.project, 'unset when \'wandb.projectPrefix\' is given');
    }
    const m = options.mlflow;
    if (m) {
      checkUri(m.trackingUri);
      if (m.experimentName !== undefined && (m.experimentName.trim() === '' || m.experimentName.length > 256)) {
        v.fail('mlflow.experimentName', m.experimentName, 'a non-empty name of at most 256 characters');
      }
    }
    this.options = options;
    this.wandbEnabled = w !== undefined;
    this.mlflowEnabled = m !== undefined;
  }

  /**
   * The stage props this tracking implies for a stage: spread them into `CptStage`, `SftStage` or
   * `RlhfStage` props.
   */
  public stageProps(stage: TrainerCommand): ExperimentTrackingStageProps {
    const w = this.options.wandb;
    const m = this.options.mlflow;
    return {
      wandb: !!w,
      ...(w ? {
        wandbProject: w.project ?? `${w.projectPrefix ?? 'korean-llm'}-${stage}`,
        wandbApiKey: w.apiKey ?? SecretKey.wandbDefault(),
      } : {}),
      ...(m ? { mlflowTrackingUri: m.trackingUri, mlflowExperimentName: m.experimentName ?? 'korean-llm-training' } : {}),
    };
  }
}
