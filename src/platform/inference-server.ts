import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Cpu, k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { cores, quantity } from './_platform';
import {
  InferenceService,
  InferenceServiceSpecPredictorModelResourcesLimits as IsvcLimit,
  InferenceServiceSpecPredictorModelResourcesRequests as IsvcRequest,
} from '../../imports/kserve-serving.kserve.io';
import * as v from '../_validate';
import { IModelServer } from './model-server';
import { SecretKey } from '../secret-key';
import { ITrainingStorage, TrainingVolumes } from './storage';
import { containerSecurityContext } from '../training/_pytorch-job';
import { GpuNodePool } from '../training/gpu-node-pool';
import { LABELS, PART_OF } from '../training/gpu-training-job';

/** The pod-template annotation holding the served model's path; `MODEL_PATH` is read from it. */
export const MODEL_PATH_ANNOTATION = 'korean-llm/model-path';
/** The value of `app.kubernetes.io/component` on the inference pods. */
export const INFERENCE_COMPONENT = 'inference-server';

/*
 * Both servers implement `IModelServer` (src/model-server.ts), which the pipeline's deploy step uses:
 * it patches `resourcePlural.resourceApiGroup/resourceName` with `rolloutPatch(path)` (a JSON merge
 * patch without arrays, so it never replaces a list such as containers or env) and needs `get` and
 * `patch` on that object.
 */

/**
 * A custom per-pod metric for the autoscaler (`type: Pods`), served by a metrics adapter
 * (for example prometheus-adapter exposing vLLM's `vllm:num_requests_waiting`).
 */
export interface PodsMetricTarget {
  /** The metric's name as the custom metrics API serves it. */
  readonly metricName: string;
  /** The average value per pod the autoscaler aims at. */
  readonly averageValue: number;
}

/**
 * Autoscaling of the vLLM Deployment (a HorizontalPodAutoscaler, autoscaling/v2).
 */
export interface InferenceAutoscaling {
  /**
   * The fewest replicas.
   * @default 1 (the seed's)
   */
  readonly minReplicas?: number;
  /**
   * The most replicas.
   * @default 10 (the seed's)
   */
  readonly maxReplicas?: number;
  /**
   * Target average CPU utilisation, percent of the request. CPU says little about a GPU server's
   * load; prefer `podsMetric` where a metrics adapter exists.
   * @default 70 (the seed's)
   */
  readonly cpuUtilization?: number;
  /**
   * Target average memory utilisation, percent of the request.
   * @default 80 (the seed's)
   */
  readonly memoryUtilization?: number;
  /**
   * Leave out the CPU and memory targets (scale on `podsMetric` only).
   * @default false
   */
  readonly disableResourceMetrics?: boolean;
  /**
   * A custom per-pod metric, e.g. `{ metricName: 'vllm:num_requests_waiting', averageValue: 5 }`.
   * @default - none
   */
  readonly podsMetric?: PodsMetricTarget;
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
   * Where the pods run.
   * @default GpuNodePool.seedDefault()
   */
  readonly nodePool?: GpuNodePool;
  /**
   * Hugging Face token by reference (`HF_TOKEN`), for tokenizers of gated base models.
   * @default - none
   */
  readonly hfToken?: SecretKey;
}

/**
 * Properties of the vLLM server.
 */
export interface VllmServerProps extends ModelServerOptions {
  /**
   * The vLLM OpenAI-compatible server image, pinned to a tag or digest (e.g. `vllm/vllm-openai:v0.11.0`).
   */
  readonly image: string;
  /**
   * Context length (`--max-model-len`).
   * @default - the model's
   */
  readonly maxModelLen?: number;
  /**
   * Fraction of GPU memory vLLM may use (`--gpu-memory-utilization`), greater than 0, at most 1.
   * @default - vLLM's (0.9)
   */
  readonly gpuMemoryUtilization?: number;
  /**
   * More `vllm serve` arguments.
   * @default - none
   */
  readonly extraArgs?: string[];
  /**
   * Size of the memory-backed `/dev/shm` (tensor-parallel workers exchange data through it).
   * @default Size.gibibytes(8)
   */
  readonly sharedMemory?: Size;
  /**
   * Replicas without autoscaling.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * A HorizontalPodAutoscaler (autoscaling/v2); `replicas` must then be unset.
   * @default - the seed's: 1..10 replicas, CPU 70 %, memory 80 %
   */
  readonly autoscaling?: InferenceAutoscaling;
  /**
   * Emit no HorizontalPodAutoscaler.
   * @default false
   */
  readonly disableAutoscaling?: boolean;
  /**
   * UID and GID the container runs as (non-root).
   * @default 1000
   */
  readonly runAsUser?: number;
  /**
   * Secrets for pulling the image.
   * @default - none
   */
  readonly imagePullSecrets?: string[];
}

interface CommonModel {
  name: string;
  servedModelName: string;
  storage: ITrainingStorage;
  gpus: number;
  cpu: Cpu;
  memory: Size;
  nodePool: GpuNodePool;
}

function commonOptions(props: ModelServerOptions): CommonModel {
  const servedModelName = props.servedModelName ?? 'korean-llm';
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/.test(servedModelName)) {
    v.fail('servedModelName', servedModelName, 'letters, digits, \'.\', \'_\', \'-\' or \'/\' (at most 128)');
  }
  const name = props.name ?? servedModelName;
  v.dns1035('name', name, 53);
  const storage = props.storage ?? TrainingVolumes.fromClaims();
  checkModelPath(props.modelPath, storage);
  if (props.gpus !== undefined && (!Number.isInteger(props.gpus) || props.gpus < 1 || props.gpus > 16)) {
    v.fail('gpus', props.gpus, 'an integer from 1 to 16 (whole GPUs per replica)');
  }
  const cpu = props.cpu ?? Cpu.units(8);
  cores('cpu', cpu);
  const memory = props.memory ?? Size.gibibytes(64);
  v.positiveSize('memory', memory);
  return { name, servedModelName, storage, gpus: props.gpus ?? 1, cpu, memory, nodePool: props.nodePool ?? GpuNodePool.seedDefault() };
}

/** A rollout path: below the output mount; Argo placeholders (`{{...}}`) may stand for parts of it. */
function checkRolloutPath(modelPath: string, storage: ITrainingStorage): void {
  if (typeof modelPath === 'string' && modelPath.includes('{{')) {
    const root = storage.output.mountPath;
    if (!modelPath.startsWith(root + '/') || modelPath.includes('..')) {
      v.fail('modelPath', modelPath, `a directory below the output mount '${root}/' (placeholders may stand for parts below it)`);
    }
    return;
  }
  checkModelPath(modelPath, storage);
}

function checkModelPath(modelPath: string, storage: ITrainingStorage): void {
  const root = storage.output.mountPath;
  if (typeof modelPath !== 'string' || !modelPath.startsWith(root + '/') || /\s/.test(modelPath) || modelPath.includes('..')) {
    v.fail('modelPath', modelPath, `a directory below the output mount '${root}/' without '..' or white space`);
  }
}

/**
 * A vLLM OpenAI-compatible server for the trained model: a Deployment whose pods request GPUs
 * (requests = limits) and mount the output claim read-only, a Service (port 8000, `http`) and a
 * HorizontalPodAutoscaler (autoscaling/v2, the seed's 1..10 replicas at CPU 70 % / memory 80 %).
 *
 * The model directory is a pod-template annotation (`korean-llm/model-path`) that `MODEL_PATH` reads
 * through the downward API and `vllm serve $(MODEL_PATH)` uses: `rolloutPatch(path)` changes only that
 * annotation, which rolls the Deployment to the new model.
 *
 * The Deployment is built on the generated `k8s` types: cdk8s-plus containers cannot request
 * `nvidia.com/gpu`.
 */
export class VllmServer extends Construct implements IModelServer {
  /** The HTTP port. */
  public static readonly PORT = 8000;

  /** `apps/v1`. */
  public readonly resourceApiVersion = 'apps/v1';
  /** `apps`. */
  public readonly resourceApiGroup = 'apps';
  /** `Deployment`. */
  public readonly resourceKind = 'Deployment';
  /** `deployments`. */
  public readonly resourcePlural = 'deployments';
  /** The Deployment's name. */
  public readonly resourceName: string;
  /** The Deployment's namespace, when the chart sets one. */
  public readonly resourceNamespace?: string;
  /** The model name clients use. */
  public readonly servedModelName: string;
  /** The labels of the server's pods (a copy is returned by `podLabels`). */
  private readonly labels: { [key: string]: string };
  /** The Deployment. */
  public readonly deployment: k8s.KubeDeployment;
  /** The Service. */
  public readonly service: kplus.Service;
  /** The HorizontalPodAutoscaler, unless disabled. */
  public readonly autoscaler?: k8s.KubeHorizontalPodAutoscalerV2;
  private readonly storage: ITrainingStorage;

  public constructor(scope: Construct, id: string, props: VllmServerProps) {
    super(scope, id);
    v.pinnedImage('image', props.image);
    const c = commonOptions(props);
    v.positiveInt('maxModelLen', props.maxModelLen, 10_000_000);
    v.numberIn('gpuMemoryUtilization', props.gpuMemoryUtilization, 0, 1, true);
    for (const a of props.extraArgs ?? []) v.nonEmpty('extraArgs[]', a);
    const shm = props.sharedMemory ?? Size.gibibytes(8);
    v.positiveSize('sharedMemory', shm);
    if (v.mebibytes(c.memory) < 2 * v.mebibytes(shm)) {
      v.fail('memory', c.memory, `at least twice 'sharedMemory' (${shm.asString()}): a memory-backed /dev/shm counts against the memory limit`);
    }
    const runAsUser = props.runAsUser ?? 1000;
    if (!Number.isInteger(runAsUser) || runAsUser < 1) v.fail('runAsUser', runAsUser, 'a non-root UID (a positive integer)');
    for (const s of props.imagePullSecrets ?? []) v.dns1123Label('imagePullSecrets[]', s, 253);
    v.positiveInt('replicas', props.replicas, 1000);
    if (props.replicas !== undefined && !props.disableAutoscaling) {
      v.fail('replicas', props.replicas, 'unset while autoscaling is on (the autoscaler owns the replica count; set disableAutoscaling: true)');
    }
    if (props.autoscaling && props.disableAutoscaling) v.fail('autoscaling', 'set', 'unset when disableAutoscaling is true');

    this.resourceName = c.name;
    this.servedModelName = c.servedModelName;
    this.storage = c.storage;
    this.labels = {
      'app.kubernetes.io/name': c.name,
      [LABELS.component]: INFERENCE_COMPONENT,
      [LABELS.partOf]: PART_OF,
    };
    const output = c.storage.output.withReadOnly(true);
    const gpuResource = c.nodePool.gpuResourceName;
    const Q = k8s.Quantity;
    const resources = {
      requests: { [gpuResource]: Q.fromNumber(c.gpus), cpu: Q.fromString(c.cpu.amount), memory: Q.fromString(quantity(c.memory)) },
      limits: { [gpuResource]: Q.fromNumber(c.gpus), cpu: Q.fromString(c.cpu.amount), memory: Q.fromString(quantity(c.memory)) },
    };
    const args = [
      '$(MODEL_PATH)',
      '--served-model-name', c.servedModelName,
      '--host', '0.0.0.0',
      '--port', String(VllmServer.PORT),
      '--tensor-parallel-size', String(c.gpus),
      ...(props.maxModelLen ? ['--max-model-len', String(props.maxModelLen)] : []),
      ...(props.gpuMemoryUtilization ? ['--gpu-memory-utilization', String(props.gpuMemoryUtilization)] : []),
      ...(props.extraArgs ?? []),
    ];
    const http = k8s.IntOrString.fromString('http');
    const health = { path: '/health', port: http };
    const affinity = c.nodePool._affinity();
    const tolerations = c.nodePool._tolerations();

    this.deployment = new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: c.name, labels: { ...this.labels } },
      spec: Object.assign(props.disableAutoscaling ? { replicas: props.replicas ?? 1 } : {}, {
        selector: { matchLabels: { ...this.labels } },
        // a new replica needs free GPUs: keep the old one serving until the new one is ready
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
        template: {
          metadata: { labels: { ...this.labels }, annotations: { [MODEL_PATH_ANNOTATION]: props.modelPath } },
          spec: Object.assign(props.imagePullSecrets?.length ? { imagePullSecrets: props.imagePullSecrets.map((name) => ({ name })) } : {}, {
            securityContext: {
              runAsNonRoot: true,
              runAsUser,
              runAsGroup: runAsUser,
              fsGroup: runAsUser,
              fsGroupChangePolicy: 'OnRootMismatch',
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [{
              name: 'vllm',
              image: props.image,
              command: ['vllm', 'serve'],
              args,
              env: [
                { name: 'MODEL_PATH', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${MODEL_PATH_ANNOTATION}']` } } },
                { name: 'HOME', value: '/tmp' },
                { name: 'XDG_CACHE_HOME', value: '/cache' },
                { name: 'HF_HOME', value: '/cache/huggingface' },
                { name: 'HF_HUB_OFFLINE', value: '1' },
                ...(props.hfToken ? [{ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: props.hfToken.secretName, key: props.hfToken.key, ...(props.hfToken.optional ? { optional: true } : {}) } } }] : []),
              ],
              ports: [{ name: 'http', containerPort: VllmServer.PORT, protocol: 'TCP' }],
              resources,
              // loading a model takes minutes: the startup probe holds off the others for up to 20 minutes
              startupProbe: { httpGet: health, periodSeconds: 10, failureThreshold: 120 },
              readinessProbe: { httpGet: health, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { httpGet: health, periodSeconds: 15, failureThreshold: 4, timeoutSeconds: 5 },
              securityContext: containerSecurityContext(),
              volumeMounts: [
                { name: 'dshm', mountPath: '/dev/shm' },
                { name: 'tmp', mountPath: '/tmp' },
                { name: 'cache', mountPath: '/cache' },
                { name: output.volumeName, mountPath: output.mountPath, readOnly: true },
              ],
            }],
            volumes: [
              { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString(quantity(shm)) } },
              { name: 'tmp', emptyDir: {} },
              { name: 'cache', emptyDir: {} },
              { name: output.volumeName, persistentVolumeClaim: { claimName: output.claimName, readOnly: true } },
            ],
            ...(Object.keys(c.nodePool.nodeSelector).length ? { nodeSelector: c.nodePool.nodeSelector } : {}),
            ...(tolerations.length ? { tolerations: tolerations.map((t) => ({ ...t })) } : {}),
            ...(affinity ? { affinity } : {}),
          }),
        },
      }),
    });
    this.resourceNamespace = this.deployment.metadata.namespace;

    this.service = new kplus.Service(this, 'Service', {
      metadata: { name: c.name, labels: { ...this.labels } },
      type: kplus.ServiceType.CLUSTER_IP,
      ports: [{ name: 'http', port: VllmServer.PORT, targetPort: VllmServer.PORT, protocol: kplus.Protocol.TCP }],
    });
    for (const [key, value] of Object.entries(this.labels)) this.service.selectLabel(key, value);

    if (!props.disableAutoscaling) this.autoscaler = this.addAutoscaler(props.autoscaling ?? {});
  }

  /** The labels of the server's pods (a copy), which the Service selects. */
  public get podLabels(): { [key: string]: string } {
    return { ...this.labels };
  }

  /** The in-cluster OpenAI-compatible base URL. */
  public get url(): string {
    const ns = this.resourceNamespace ? `.${this.resourceNamespace}.svc` : '';
    return `http://${this.service.name}${ns}:${VllmServer.PORT}/v1`;
  }

  /**
   * The JSON merge patch that serves another model: it sets only the pod-template annotation that
   * `MODEL_PATH` reads, which rolls the Deployment.
   * @param modelPath the model directory below the output mount; Argo placeholders may stand for parts of it
   */
  public rolloutPatch(modelPath: string): any {
    checkRolloutPath(modelPath, this.storage);
    return { spec: { template: { metadata: { annotations: { [MODEL_PATH_ANNOTATION]: modelPath } } } } };
  }

  private addAutoscaler(a: InferenceAutoscaling): k8s.KubeHorizontalPodAutoscalerV2 {
    const min = a.minReplicas ?? 1;
    const max = a.maxReplicas ?? 10;
    v.positiveInt('autoscaling.minReplicas', min, 1000);
    v.positiveInt('autoscaling.maxReplicas', max, 1000);
    if (min > max) v.fail('autoscaling.minReplicas', min, `at most autoscaling.maxReplicas (${max})`);
    v.numberIn('autoscaling.cpuUtilization', a.cpuUtilization, 1, 100);
    v.numberIn('autoscaling.memoryUtilization', a.memoryUtilization, 1, 100);
    if (a.cpuUtilization !== undefined && !Number.isInteger(a.cpuUtilization)) v.fail('autoscaling.cpuUtilization', a.cpuUtilization, 'an integer from 1 to 100');
    if (a.memoryUtilization !== undefined && !Number.isInteger(a.memoryUtilization)) v.fail('autoscaling.memoryUtilization', a.memoryUtilization, 'an integer from 1 to 100');
    if (a.podsMetric) {
      if (!/^[A-Za-z_:][A-Za-z0-9_:]*$/.test(a.podsMetric.metricName)) v.fail('autoscaling.podsMetric.metricName', a.podsMetric.metricName, 'a metric name (letters, digits, \'_\' or \':\')');
      if (!Number.isFinite(a.podsMetric.averageValue) || a.podsMetric.averageValue <= 0) v.fail('autoscaling.podsMetric.averageValue', a.podsMetric.averageValue, 'a number greater than 0');
    }
    if (a.disableResourceMetrics && !a.podsMetric) v.fail('autoscaling.disableResourceMetrics', true, 'false unless a podsMetric is given (the autoscaler needs a metric)');
    const metrics: k8s.MetricSpecV2[] = [];
    if (!a.disableResourceMetrics) {
      metrics.push({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: a.cpuUtilization ?? 70 } } });
      metrics.push({ type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: a.memoryUtilization ?? 80 } } });
    }
    if (a.podsMetric) {
      metrics.push({
        type: 'Pods',
        pods: { metric: { name: a.podsMetric.metricName }, target: { type: 'AverageValue', averageValue: k8s.Quantity.fromString(String(a.podsMetric.averageValue)) } },
      });
    }
    return new k8s.KubeHorizontalPodAutoscalerV2(this, 'Autoscaler', {
      metadata: { name: this.resourceName, labels: { ...this.labels } },
      spec: {
        scaleTargetRef: { apiVersion: this.resourceApiVersion, kind: this.resourceKind, name: this.deployment.name },
        minReplicas: min,
        maxReplicas: max,
        metrics,
      },
    });
  }
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
}

/**
 * A KServe `InferenceService` (serving.kserve.io/v1beta1) serving the trained model with KServe's
 * Hugging Face runtime (vLLM backend), instead of the plain Deployment. The model is read straight
 * from the output claim (`storageUri: pvc://<claim>/<path>`).
 *
 * `rolloutPatch(path)` sets a new `storageUri`, which makes KServe roll out a new revision.
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
  private readonly storage: ITrainingStorage;

  public constructor(scope: Construct, id: string, props: KServeModelServerProps) {
    super(scope, id);
    const c = commonOptions(props);
    const min = props.minReplicas ?? 1;
    const max = props.maxReplicas ?? 10;
    v.nonNegativeInt('minReplicas', min);
    v.positiveInt('maxReplicas', max, 1000);
    if (min > max) v.fail('minReplicas', min, `at most maxReplicas (${max})`);
    const mode = props.deploymentMode ?? 'RawDeployment';
    if (!['RawDeployment', 'Serverless', 'ModelMesh'].includes(mode)) v.fail('deploymentMode', mode, 'one of RawDeployment, Serverless, ModelMesh');
    for (const a of props.extraArgs ?? []) v.nonEmpty('extraArgs[]', a);
    this.resourceName = c.name;
    this.servedModelName = c.servedModelName;
    this.storage = c.storage;
    const gpu = c.nodePool.gpuResourceName;
    const memory = quantity(c.memory);
    const tolerations = c.nodePool._tolerations();
    const affinity = c.nodePool._affinity();
    const isvc = new InferenceService(this, 'Resource', {
      metadata: {
        name: c.name,
        labels: { 'app.kubernetes.io/name': c.name, [LABELS.component]: INFERENCE_COMPONENT, [LABELS.partOf]: PART_OF },
        annotations: { 'serving.kserve.io/deploymentMode': mode, [MODEL_PATH_ANNOTATION]: props.modelPath },
      },
      spec: {
        predictor: {
          minReplicas: min,
          maxReplicas: max,
          ...(Object.keys(c.nodePool.nodeSelector).length ? { nodeSelector: c.nodePool.nodeSelector } : {}),
          ...(tolerations.length ? { tolerations: tolerations.map((t) => ({ ...t })) } : {}),
          ...(affinity ? { affinity } : {}),
          model: {
            modelFormat: { name: 'huggingface' },
            storageUri: this.storageUri(props.modelPath),
            args: [`--model_name=${c.servedModelName}`, ...(c.gpus > 1 ? [`--tensor-parallel-size=${c.gpus}`] : []), ...(props.extraArgs ?? [])],
            ...(props.hfToken ? { env: [{ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: props.hfToken.secretName, key: props.hfToken.key } } }] } : {}),
            resources: {
              requests: { [gpu]: IsvcRequest.fromNumber(c.gpus), cpu: IsvcRequest.fromString(c.cpu.amount), memory: IsvcRequest.fromString(memory) },
              limits: { [gpu]: IsvcLimit.fromNumber(c.gpus), cpu: IsvcLimit.fromString(c.cpu.amount), memory: IsvcLimit.fromString(memory) },
            },
          },
        },
      },
    });
    this.resourceNamespace = isvc.metadata.namespace;
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
    checkRolloutPath(modelPath, this.storage);
    const root = this.storage.output.mountPath;
    return `pvc://${this.storage.output.claimName}/${modelPath.slice(root.length + 1)}`;
  }
}
