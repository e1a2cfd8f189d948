import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as v from '../_validate';
import { LABELS, PART_OF } from '../labels';
import { checkRolloutPath, commonOptions } from './_model-server';
import { quantity } from './_platform';
import { IModelServer, INFERENCE_COMPONENT, MODEL_PATH_ANNOTATION, ModelServerOptions } from './model-server';
import { ITrainingStorage } from './storage';
import { containerSecurityContext, podSecurityContext } from '../training/_pod-defaults';

/** The part of an InferenceService spec (serving.kserve.io/v1beta1) the server emits. */
interface InferenceServiceSpec {
  readonly predictor: {
    readonly minReplicas: number;
    readonly maxReplicas: number;
    readonly nodeSelector?: { [key: string]: string };
    readonly tolerations?: object[];
    readonly affinity?: object;
    readonly securityContext: object;
    readonly model: {
      readonly modelFormat: { readonly name: string };
      readonly storageUri: string;
      readonly args: string[];
      readonly env?: { readonly name: string; readonly valueFrom: object }[];
      readonly resources: { readonly requests: { [resource: string]: number | string }; readonly limits: { [resource: string]: number | string } };
      readonly securityContext: object;
    };
  };
}

/**
 * Properties of the KServe model server.
 */
export interface KServeModelServerProps extends ModelServerOptions {
  /**
   * The fewest replicas.
   * @default 1
   */
  readonly minReplicas?: number;
  /**
   * The most replicas.
   * @default 10
   */
  readonly maxReplicas?: number;
  /**
   * The KServe deployment mode (annotation `serving.kserve.io/deploymentMode`).
   * @default 'RawDeployment' (no Knative needed)
   */
  readonly deploymentMode?: string;
  /**
   * More arguments of the Hugging Face runtime (vLLM engine arguments pass through).
   * @default - none
   */
  readonly extraArgs?: string[];
  /**
   * UID and GID the predictor runs as (non-root; KServe's Hugging Face server image runs as 1000).
   * @default 1000
   */
  readonly runAsUser?: number;
}

/**
 * A KServe `InferenceService` (serving.kserve.io/v1beta1) serving the trained model with KServe's
 * Hugging Face runtime (vLLM backend), instead of the plain Deployment. The model is read straight
 * from the output claim (`storageUri: pvc://<claim>/<path>`).
 *
 * `rolloutPatch(path)` sets a new `storageUri`, which makes KServe roll out a new revision. The
 * predictor runs non-root with every capability dropped and RuntimeDefault seccomp (Pod Security
 * "restricted"), on `GpuNodePool.inferenceDefault()` unless `nodePool` says otherwise.
 *
 * The object is a plain `ApiObject` (`inferenceService`) holding only the fields the server sets;
 * patch it (`addJsonPatch`) for anything else.
 */
export class KServeModelServer extends Construct implements IModelServer {
  /** `serving.kserve.io/v1beta1`. */
  public readonly resourceApiVersion = 'serving.kserve.io/v1beta1';
  /** `serving.kserve.io`. */
  public readonly resourceApiGroup = 'serving.kserve.io';
  /** `InferenceService`. */
  public readonly resourceKind = 'InferenceService';
  /** `inferenceservices`. */
  public readonly resourcePlural = 'inferenceservices';
  /** The InferenceService's name. */
  public readonly resourceName: string;
  /** The InferenceService's namespace, when the chart sets one. */
  public readonly resourceNamespace?: string;
  /** The model name clients use. */
  public readonly servedModelName: string;
  /** The InferenceService. */
  public readonly inferenceService: ApiObject;
  /** The volumes the models are read from (the output claim, mounted read-only); always set. */
  public readonly storage?: ITrainingStorage;
  private readonly volumes: ITrainingStorage;

  public constructor(scope: Construct, id: string, props: KServeModelServerProps) {
    super(scope, id);
    const c = commonOptions(this, props);
    const min = props.minReplicas ?? 1;
    const max = props.maxReplicas ?? 10;
    v.nonNegativeInt('minReplicas', min);
    v.positiveInt('maxReplicas', max, 1000);
    if (min > max) v.fail('minReplicas', min, `at most maxReplicas (${max})`);
    const mode = props.deploymentMode ?? 'RawDeployment';
    if (!['RawDeployment', 'Serverless', 'ModelMesh'].includes(mode)) v.fail('deploymentMode', mode, 'one of RawDeployment, Serverless, ModelMesh');
    for (const a of props.extraArgs ?? []) v.nonEmpty('extraArgs[]', a);
    const runAsUser = props.runAsUser ?? 1000;
    if (!Number.isInteger(runAsUser) || runAsUser < 1) v.fail('runAsUser', runAsUser, 'a non-root UID (a positive integer)');
    this.resourceName = c.name;
    this.servedModelName = c.servedModelName;
    this.storage = c.storage;
    this.volumes = c.storage;
    const gpu = c.nodePool.gpuResourceName;
    const memory = quantity(c.memory);
    const tolerations = c.nodePool._tolerations();
    const affinity = c.nodePool._affinity();
    const requests = { [gpu]: c.gpus, cpu: c.cpu.amount, memory };
    const spec: InferenceServiceSpec = {
      predictor: {
        minReplicas: min,
        maxReplicas: max,
        ...(Object.keys(c.nodePool.nodeSelector).length ? { nodeSelector: c.nodePool.nodeSelector } : {}),
        ...(tolerations.length ? { tolerations: tolerations.map((t) => ({ ...t })) } : {}),
        ...(affinity ? { affinity } : {}),
        // the predictor is a pod spec: Pod Security "restricted" wants these on the pod and the container
        securityContext: podSecurityContext(runAsUser),
        model: {
          modelFormat: { name: 'huggingface' },
          storageUri: this.storageUri(props.modelPath),
          args: [`--model_name=${c.servedModelName}`, ...(c.gpus > 1 ? [`--tensor-parallel-size=${c.gpus}`] : []), ...(props.extraArgs ?? [])],
          ...(props.hfToken ? { env: [{ name: 'HF_TOKEN', valueFrom: props.hfToken._envSource() }] } : {}),
          resources: { requests, limits: { ...requests } },
          securityContext: containerSecurityContext(),
        },
      },
    };
    this.inferenceService = new ApiObject(this, 'Resource', {
      apiVersion: this.resourceApiVersion,
      kind: this.resourceKind,
      metadata: {
        name: c.name,
        labels: { 'app.kubernetes.io/name': c.name, [LABELS.component]: INFERENCE_COMPONENT, [LABELS.partOf]: PART_OF },
        annotations: { 'serving.kserve.io/deploymentMode': mode, [MODEL_PATH_ANNOTATION]: props.modelPath },
      },
      spec,
    });
    this.resourceNamespace = this.inferenceService.metadata.namespace;
  }

  /**
   * The JSON merge patch that serves another model: a new `storageUri` (a new revision) and the
   * model-path annotation.
   * @param modelPath the model directory below the output mount; Argo placeholders may stand for parts of it
   */
  public rolloutPatch(modelPath: string): any {
    return {
      metadata: { annotations: { [MODEL_PATH_ANNOTATION]: modelPath } },
      spec: { predictor: { model: { storageUri: this.storageUri(modelPath) } } },
    };
  }

  /** `pvc://<claim>/<path below the mount>` for a path the pods would see below the output mount. */
  private storageUri(modelPath: string): string {
    checkRolloutPath(modelPath, this.volumes);
    const root = this.volumes.output.mountPath;
    return `pvc://${this.volumes.output.claimName}/${modelPath.slice(root.length + 1)}`;
  }
}
