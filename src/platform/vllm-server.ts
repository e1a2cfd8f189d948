import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import * as v from '../_validate';
import { LABELS, PART_OF } from '../labels';
import { checkRolloutPath, commonOptions } from './_model-server';
import { quantity } from './_platform';
import { IModelServer, INFERENCE_COMPONENT, MODEL_PATH_ANNOTATION, ModelServerOptions } from './model-server';
import { ITrainingStorage } from './storage';
import { containerSecurityContext, podSecurityContext, SCRATCH_ENV, scratchMounts, scratchVolumes } from '../training/_pod-defaults';

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
   * Scale on CPU and memory too; false scales on `podsMetric` only.
   * @default true
   */
  readonly resourceMetrics?: boolean;
  /**
   * A custom per-pod metric, e.g. `{ metricName: 'vllm:num_requests_waiting', averageValue: 5 }`.
   * @default - none
   */
  readonly podsMetric?: PodsMetricTarget;
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
   * Emit a HorizontalPodAutoscaler; false runs a fixed number of `replicas`.
   * @default true
   */
  readonly autoscale?: boolean;
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

/**
 * A vLLM OpenAI-compatible server for the trained model: a Deployment whose pods request GPUs
 * (requests = limits) and mount the output claim read-only, a Service (port 8000, `http`) and a
 * HorizontalPodAutoscaler (autoscaling/v2, the seed's 1..10 replicas at CPU 70 % / memory 80 %).
 *
 * The model directory is a pod-template annotation (`korean-llm/model-path`) that `MODEL_PATH` reads
 * through the downward API and `vllm serve $(MODEL_PATH)` uses: `rolloutPatch(path)` changes only that
 * annotation, which rolls the Deployment to the new model.
 *
 * The pods run on `GpuNodePool.inferenceDefault()` (`node-type: gpu-inference`) unless `nodePool`
 * says otherwise: replicas on the training pool would take GPUs a Kueue ClusterQueue hands out.
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
  /** The volumes the models are read from (the output claim, mounted read-only); always set. */
  public readonly storage?: ITrainingStorage;
  private readonly volumes: ITrainingStorage;

  public constructor(scope: Construct, id: string, props: VllmServerProps) {
    super(scope, id);
    v.pinnedImage('image', props.image);
    const c = commonOptions(this, props);
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
    for (const s of props.imagePullSecrets ?? []) v.dns1123Subdomain('imagePullSecrets[]', s);
    v.positiveInt('replicas', props.replicas, 1000);
    const autoscale = props.autoscale ?? true;
    if (props.replicas !== undefined && autoscale) {
      v.fail('replicas', props.replicas, 'unset while autoscaling is on (the autoscaler owns the replica count; set autoscale: false)');
    }
    if (props.autoscaling && !autoscale) v.fail('autoscaling', 'set', 'unset when autoscale is false');

    this.resourceName = c.name;
    this.servedModelName = c.servedModelName;
    this.storage = c.storage;
    this.volumes = c.storage;
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
      spec: {
        ...(autoscale ? {} : { replicas: props.replicas ?? 1 }),
        selector: { matchLabels: { ...this.labels } },
        // a new replica needs free GPUs: keep the old one serving until the new one is ready
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
        template: {
          metadata: { labels: { ...this.labels }, annotations: { [MODEL_PATH_ANNOTATION]: props.modelPath } },
          spec: {
            ...(props.imagePullSecrets?.length ? { imagePullSecrets: props.imagePullSecrets.map((name) => ({ name })) } : {}),
            securityContext: podSecurityContext(runAsUser),
            containers: [{
              name: 'vllm',
              image: props.image,
              command: ['vllm', 'serve'],
              args,
              env: [
                { name: 'MODEL_PATH', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${MODEL_PATH_ANNOTATION}']` } } },
                ...SCRATCH_ENV,
                { name: 'HF_HUB_OFFLINE', value: '1' },
                ...(props.hfToken ? [{ name: 'HF_TOKEN', valueFrom: props.hfToken._envSource() }] : []),
              ],
              ports: [{ name: 'http', containerPort: VllmServer.PORT, protocol: 'TCP' }],
              resources,
              // loading a model takes minutes: the startup probe holds off the others for up to 20 minutes
              startupProbe: { httpGet: health, periodSeconds: 10, failureThreshold: 120 },
              readinessProbe: { httpGet: health, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { httpGet: health, periodSeconds: 15, failureThreshold: 4, timeoutSeconds: 5 },
              securityContext: containerSecurityContext(),
              volumeMounts: [...scratchMounts(), { name: output.volumeName, mountPath: output.mountPath, readOnly: true }],
            }],
            volumes: [
              // the generated k8s types want a Quantity for the /dev/shm size limit
              ...scratchVolumes(quantity(shm)).map((vol) => (vol.emptyDir?.sizeLimit
                ? { ...vol, emptyDir: { ...vol.emptyDir, sizeLimit: k8s.Quantity.fromString(vol.emptyDir.sizeLimit) } }
                : vol)),
              { name: output.volumeName, persistentVolumeClaim: { claimName: output.claimName, readOnly: true } },
            ],
            ...(Object.keys(c.nodePool.nodeSelector).length ? { nodeSelector: c.nodePool.nodeSelector } : {}),
            ...(tolerations.length ? { tolerations: tolerations.map((t) => ({ ...t })) } : {}),
            ...(affinity ? { affinity } : {}),
          },
        },
      },
    });
    this.resourceNamespace = this.deployment.metadata.namespace;

    this.service = new kplus.Service(this, 'Service', {
      metadata: { name: c.name, labels: { ...this.labels } },
      type: kplus.ServiceType.CLUSTER_IP,
      ports: [{ name: 'http', port: VllmServer.PORT, targetPort: VllmServer.PORT, protocol: kplus.Protocol.TCP }],
    });
    for (const [key, value] of Object.entries(this.labels)) this.service.selectLabel(key, value);

    if (autoscale) this.autoscaler = this.addAutoscaler(props.autoscaling ?? {});
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
    checkRolloutPath(modelPath, this.volumes);
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
    const resourceMetrics = a.resourceMetrics ?? true;
    if (!resourceMetrics && !a.podsMetric) v.fail('autoscaling.resourceMetrics', false, 'true unless a podsMetric is given (the autoscaler needs a metric)');
    const metrics: k8s.MetricSpecV2[] = [];
    if (resourceMetrics) {
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
