import { Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import { SecretKey } from '../secret-key';
import { ITrainingStorage } from './storage';
import { GpuNodePool } from '../training/gpu-node-pool';

/** The pod-template annotation holding the served model's path; `MODEL_PATH` is read from it. */
export const MODEL_PATH_ANNOTATION = 'korean-llm/model-path';
/** The value of `app.kubernetes.io/component` on the inference pods. */
export const INFERENCE_COMPONENT = 'inference-server';

/**
 * An inference server the pipeline's deploy step can roll to a newly trained model.
 *
 * `VllmServer` (a vLLM Deployment) and `KServeModelServer` (a KServe InferenceService) implement it; implement it
 * yourself to roll any other server. The deploy step patches the object named here (JSON merge
 * patch) and the pipeline's Role allows `get` and `patch` on exactly that object.
 */
export interface IModelServer {
  /** API group of the object to patch (`apps`, `serving.kserve.io`). */
  readonly resourceApiGroup: string;
  /** apiVersion of the object to patch (`apps/v1`). */
  readonly resourceApiVersion: string;
  /** Kind of the object to patch (`Deployment`). */
  readonly resourceKind: string;
  /** Plural resource name, for RBAC (`deployments`). */
  readonly resourcePlural: string;
  /** Name of the object to patch. */
  readonly resourceName: string;
  /**
   * The volumes the server reads models from. A pipeline's deploy step requires its output claim and
   * mount path to be the pipeline's (the model path it rolls to is a path on that claim).
   * @default - not checked
   */
  readonly storage?: ITrainingStorage;
  /**
   * The JSON merge patch that points the server at a model directory and makes it roll.
   * @param modelPath the model directory on the output volume
   */
  rolloutPatch(modelPath: string): any;
}

/**
 * What every model server takes: the model, the GPUs and where they run.
 */
export interface ModelServerOptions {
  /**
   * The model directory the server starts with, below the output volume's mount path
   * (e.g. `/output/runs/ko-2026-11-28/qwen2-5-7b/rlhf/model`). The pipeline's deploy step moves it.
   */
  readonly modelPath: string;
  /**
   * The model name clients use (`--served-model-name`); also the object's name unless `name` is set.
   * @default 'korean-llm'
   */
  readonly servedModelName?: string;
  /**
   * The object's name (a DNS-1035 label).
   * @default - the served model name
   */
  readonly name?: string;
  /**
   * The volume holding the models (its output claim is mounted read-only).
   * @default TrainingVolumes.fromClaims() - `model-output-pvc` at `/output`
   */
  readonly storage?: ITrainingStorage;
  /**
   * GPUs per replica (`nvidia.com/gpu`, requests = limits); also vLLM's tensor-parallel size.
   * @default 1
   */
  readonly gpus?: number;
  /**
   * CPU per replica (requests = limits).
   * @default Cpu.units(8)
   */
  readonly cpu?: Cpu;
  /**
   * Memory per replica (requests = limits).
   * @default Size.gibibytes(64)
   */
  readonly memory?: Size;
  /**
   * Where the pods run. Not the training pool by default: serving replicas (an autoscaler may add
   * up to 10) would take GPUs that a Kueue ClusterQueue hands out to training jobs, and Kueue would
   * admit jobs that then cannot schedule. Pass the training pool only when its queue's quota leaves
   * those GPUs out.
   * @default GpuNodePool.inferenceDefault() - nodes labelled `node-type: gpu-inference`, tolerating `nvidia.com/gpu:NoSchedule`
   */
  readonly nodePool?: GpuNodePool;
  /**
   * Hugging Face token by reference (`HF_TOKEN`), for tokenizers of gated base models.
   * @default - none
   */
  readonly hfToken?: SecretKey;
}
