import { JsonPatch, Size, Testing } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import {
  GpuNodePool, IModelServer, KServeModelServer, MODEL_PATH_ANNOTATION, SecretKey, TrainingStorage, VllmServer, VllmServerProps,
  VolumeSource,
} from '../src';
import { find, inlineSecrets, matches, nsChart } from './util/platform';
import { expectValid } from './util/schema';

const IMAGE = 'vllm/vllm-openai:v0.11.0';
const MODEL = '/output/runs/ko-1/qwen/rlhf/model';

function vllm(props: Partial<VllmServerProps> = {}) {
  const chart = nsChart();
  const server = new VllmServer(chart, 'server', { image: IMAGE, modelPath: MODEL, ...props });
  const docs = Testing.synth(chart);
  expectValid(docs);
  return { server, docs };
}

/**
 * What Pod Security Admission's "restricted" profile rejects in a pod spec (Kubernetes 1.28 checks:
 * runAsNonRoot, allowPrivilegeEscalation false, capabilities drop ALL, seccomp RuntimeDefault or
 * Localhost, no privileged, no host namespaces).
 */
function restrictedViolations(pod: any, containers: any[]): string[] {
  const out: string[] = [];
  const podSc = pod.securityContext ?? {};
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) out.push('host namespaces');
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const name = c.name ?? 'model';
    if (sc.allowPrivilegeEscalation !== false) out.push(`${name}: allowPrivilegeEscalation`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${name}: capabilities.drop ALL`);
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) out.push(`${name}: runAsNonRoot`);
    if (sc.privileged) out.push(`${name}: privileged`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) out.push(`${name}: seccompProfile`);
  }
  return out;
}

describe('VllmServer', () => {
  test('a GPU Deployment serving the model read-only, with probes, /dev/shm and a non-root security context', () => {
    const { docs, server } = vllm({ hfToken: SecretKey.of('hf', 'token'), maxModelLen: 8192, gpuMemoryUtilization: 0.85 });
    const dep = find(docs, 'Deployment');
    expect(dep.metadata.name).toBe('korean-llm');
    expect(dep.spec.replicas).toBeUndefined(); // the autoscaler owns it
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    expect(c.image).toBe(IMAGE);
    expect(c.command).toEqual(['vllm', 'serve']);
    expect(c.args).toEqual(['$(MODEL_PATH)', '--served-model-name', 'korean-llm', '--host', '0.0.0.0', '--port', '8000', '--tensor-parallel-size', '1',
      '--max-model-len', '8192', '--gpu-memory-utilization', '0.85']);
    expect(c.env[0]).toEqual({ name: 'MODEL_PATH', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${MODEL_PATH_ANNOTATION}']` } } });
    expect(dep.spec.template.metadata.annotations[MODEL_PATH_ANNOTATION]).toBe(MODEL);
    expect(c.env.find((e: any) => e.name === 'HF_TOKEN')).toEqual({ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'hf', key: 'token' } } });
    expect(inlineSecrets(docs)).toEqual([]);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8000, protocol: 'TCP' }]);
    expect(c.resources.requests).toEqual({ 'nvidia.com/gpu': 1, 'cpu': '8', 'memory': '64Gi' });
    expect(c.resources.limits).toEqual(c.resources.requests);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(c.startupProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '8Gi' } });
    expect(pod.volumes).toContainEqual({ name: 'claim-model-output-pvc', persistentVolumeClaim: { claimName: 'model-output-pvc', readOnly: true } });
    expect(c.volumeMounts).toContainEqual({ name: 'claim-model-output-pvc', mountPath: '/output', readOnly: true });
    expect(c.volumeMounts).toContainEqual({ name: 'dshm', mountPath: '/dev/shm' });
    // inference has its own GPU nodes by default: never the training pool a Kueue queue hands out
    expect(pod.nodeSelector).toEqual({ 'node-type': 'gpu-inference' });
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(restrictedViolations(pod, pod.containers)).toEqual([]);
    expect(pod.volumes.filter((vol: any) => ['tmp', 'cache'].includes(vol.name)))
      .toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '20Gi' } }, { name: 'cache', emptyDir: { sizeLimit: '200Gi' } }]);
    expect(server.url).toBe('http://korean-llm.llm-training.svc:8000/v1');
  });

  test('the Service selects the Deployment\'s pods and the HPA targets the Deployment (the seed\'s defaults)', () => {
    const { docs, server } = vllm();
    const dep = find(docs, 'Deployment');
    const svc = find(docs, 'Service');
    const hpa = find(docs, 'HorizontalPodAutoscaler');
    expect(matches(svc.spec.selector, dep.spec.template.metadata.labels)).toBe(true);
    expect(matches(dep.spec.selector.matchLabels, dep.spec.template.metadata.labels)).toBe(true);
    expect(svc.spec.selector).toEqual(server.podLabels);
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 8000, targetPort: 8000, protocol: 'TCP' }]);
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: dep.metadata.name });
    expect(hpa.spec.minReplicas).toBe(1);
    expect(hpa.spec.maxReplicas).toBe(10);
    expect(hpa.spec.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } },
    ]);
    // the trainer's PodMonitor does not select the inference pods
    expect(dep.spec.template.metadata.labels['app.kubernetes.io/component']).toBe('inference-server');
  });

  test('a custom Pods metric, a GPU pool, more GPUs and no autoscaler', () => {
    const { docs } = vllm({ gpus: 4, nodePool: GpuNodePool.fromLabels({ 'node-type': 'gpu-inference' }).withGpuProducts('NVIDIA-L40S'), autoscaling: { minReplicas: 2, maxReplicas: 4, resourceMetrics: false, podsMetric: { metricName: 'vllm:num_requests_waiting', averageValue: 5 } } });
    const hpa = find(docs, 'HorizontalPodAutoscaler');
    expect(hpa.spec.metrics).toEqual([{ type: 'Pods', pods: { metric: { name: 'vllm:num_requests_waiting' }, target: { type: 'AverageValue', averageValue: '5' } } }]);
    const pod = find(docs, 'Deployment').spec.template.spec;
    expect(pod.containers[0].resources.limits['nvidia.com/gpu']).toBe(4);
    expect(pod.containers[0].args).toContain('4');
    expect(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0])
      .toEqual({ key: 'nvidia.com/gpu.product', operator: 'In', values: ['NVIDIA-L40S'] });
    const fixed = vllm({ autoscale: false, replicas: 2 }).docs;
    expect(fixed.filter((d) => d.kind === 'HorizontalPodAutoscaler')).toHaveLength(0);
    expect(find(fixed, 'Deployment').spec.replicas).toBe(2);
  });

  test('IModelServer: what the deploy step needs, and a merge patch without arrays that rolls the pods', () => {
    const { server } = vllm({ name: 'llm-inference-server' });
    const s: IModelServer = server;
    expect([s.resourceApiVersion, s.resourceApiGroup, s.resourceKind, s.resourcePlural, s.resourceName])
      .toEqual(['apps/v1', 'apps', 'Deployment', 'deployments', 'llm-inference-server']);
    const path = '/output/runs/{{workflow.name}}/qwen/rlhf/model';
    expect(s.rolloutPatch(path)).toEqual({ spec: { template: { metadata: { annotations: { [MODEL_PATH_ANNOTATION]: path } } } } });
    expect(() => s.rolloutPatch('/elsewhere/model')).toThrow("'modelPath' must be a directory below the output mount '/output/'");
  });

  test('the model comes from the output claim of a TrainingStorage', () => {
    const chart = nsChart();
    const storage = new TrainingStorage(chart, 'st', { source: VolumeSource.storageClass('cephfs'), output: { claimName: 'models', mountPath: '/models' } });
    new VllmServer(chart, 's', { image: IMAGE, modelPath: '/models/x', storage });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const pod = find(docs, 'Deployment').spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'claim-models', persistentVolumeClaim: { claimName: 'models', readOnly: true } });
    expect(find(docs, 'PersistentVolumeClaim', 'models')).toBeDefined();
  });

  test('fails when the GPU count is negative or fractional', () => {
    expect(() => vllm({ gpus: -1 })).toThrow("'gpus' must be an integer from 1 to 16 (whole GPUs per replica), got -1");
    expect(() => vllm({ gpus: 0.5 })).toThrow("'gpus' must be an integer from 1 to 16 (whole GPUs per replica), got 0.5");
  });

  test('fails when the HPA has min > max or a bad target', () => {
    expect(() => vllm({ autoscaling: { minReplicas: 5, maxReplicas: 2 } })).toThrow("'autoscaling.minReplicas' must be at most autoscaling.maxReplicas (2), got 5");
    expect(() => vllm({ autoscaling: { cpuUtilization: 0 } })).toThrow("'autoscaling.cpuUtilization' must be a number from 1 to 100, got 0");
    expect(() => vllm({ autoscaling: { resourceMetrics: false } })).toThrow("'autoscaling.resourceMetrics' must be true unless a podsMetric is given");
    expect(() => vllm({ replicas: 3 })).toThrow("'replicas' must be unset while autoscaling is on");
  });

  test('fails when the vLLM image is not tagged or the model path is outside the output volume', () => {
    expect(() => vllm({ image: 'vllm/vllm-openai' })).toThrow("'image' must be an image pinned to a tag or digest");
    expect(() => vllm({ image: 'vllm/vllm-openai:latest' })).toThrow("'image' must be an image pinned to a tag or digest");
    expect(() => vllm({ modelPath: '/data/model' })).toThrow("'modelPath' must be a directory below the output mount '/output/' without '..' or white space, got '/data/model'");
    expect(() => vllm({ memory: Size.gibibytes(8), sharedMemory: Size.gibibytes(8) })).toThrow("'memory' must be at least twice 'sharedMemory' (8Gi)");
    expect(() => vllm({ cpu: Cpu.units(0) })).toThrow("'cpu' must be a positive amount");
  });
});

describe('KServeModelServer', () => {
  test('an InferenceService reading the model from the output claim, with GPU resources', () => {
    const chart = nsChart();
    const server = new KServeModelServer(chart, 'isvc', { modelPath: MODEL, gpus: 2, maxReplicas: 3 });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const isvc = find(docs, 'InferenceService');
    expect(isvc.apiVersion).toBe('serving.kserve.io/v1beta1');
    expect(isvc.metadata.annotations['serving.kserve.io/deploymentMode']).toBe('RawDeployment');
    const p = isvc.spec.predictor;
    expect(p).toMatchObject({ minReplicas: 1, maxReplicas: 3, nodeSelector: { 'node-type': 'gpu-inference' } });
    // the predictor is a pod spec: Pod Security "restricted" holds for it and its model container
    expect(restrictedViolations(p, [p.model])).toEqual([]);
    expect(restrictedViolations({ ...p, securityContext: undefined }, [{ ...p.model, securityContext: undefined }]))
      .toEqual(['model: allowPrivilegeEscalation', 'model: capabilities.drop ALL', 'model: runAsNonRoot', 'model: seccompProfile']);
    expect(p.securityContext).toEqual({
      fsGroup: 1000, fsGroupChangePolicy: 'OnRootMismatch', runAsGroup: 1000, runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(p.model.modelFormat).toEqual({ name: 'huggingface' });
    expect(p.model.storageUri).toBe('pvc://model-output-pvc/runs/ko-1/qwen/rlhf/model');
    expect(p.model.args).toEqual(['--model_name=korean-llm', '--tensor-parallel-size=2']);
    expect(p.model.resources.limits).toEqual({ 'nvidia.com/gpu': 2, 'cpu': '8', 'memory': '64Gi' });
    const s: IModelServer = server;
    expect([s.resourceApiVersion, s.resourceApiGroup, s.resourceKind, s.resourcePlural, s.resourceName])
      .toEqual(['serving.kserve.io/v1beta1', 'serving.kserve.io', 'InferenceService', 'inferenceservices', 'korean-llm']);
    expect(s.rolloutPatch('/output/runs/r2/qwen/rlhf/model')).toEqual({
      metadata: { annotations: { [MODEL_PATH_ANNOTATION]: '/output/runs/r2/qwen/rlhf/model' } },
      spec: { predictor: { model: { storageUri: 'pvc://model-output-pvc/runs/r2/qwen/rlhf/model' } } },
    });
  });

  test('HF_TOKEN keeps optional', () => {
    const chart = nsChart();
    new KServeModelServer(chart, 'isvc', { modelPath: MODEL, hfToken: SecretKey.of('hf', 'token').asOptional() });
    new KServeModelServer(chart, 'required', { modelPath: MODEL, name: 'required', hfToken: SecretKey.of('hf', 'token') });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const env = (name: string) => docs.find((d: any) => d.metadata.name === name).spec.predictor.model.env;
    expect(env('korean-llm')).toEqual([{ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'hf', key: 'token', optional: true } } }]);
    expect(env('required')).toEqual([{ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'hf', key: 'token' } } }]);
    expect(inlineSecrets(docs)).toEqual([]);
  });

  test('the InferenceService is a plain ApiObject open to patches', () => {
    const chart = nsChart();
    const server = new KServeModelServer(chart, 'isvc', { modelPath: MODEL });
    server.inferenceService.addJsonPatch(JsonPatch.add('/spec/predictor/timeout', 300));
    const isvc = find(Testing.synth(chart), 'InferenceService');
    expect(isvc.spec.predictor.timeout).toBe(300);
  });

  test('runAsUser sets the predictor\'s user', () => {
    const chart = nsChart();
    new KServeModelServer(chart, 'isvc', { modelPath: MODEL, runAsUser: 2000 });
    const p = find(Testing.synth(chart), 'InferenceService').spec.predictor;
    expect(p.securityContext.runAsUser).toBe(2000);
    expect(() => new KServeModelServer(nsChart(), 'i', { modelPath: MODEL, runAsUser: 0 })).toThrow("'runAsUser' must be a non-root UID (a positive integer), got 0");
  });

  test('fails when min > max or the mode is unknown', () => {
    expect(() => new KServeModelServer(nsChart(), 'i', { modelPath: MODEL, minReplicas: 3, maxReplicas: 1 })).toThrow("'minReplicas' must be at most maxReplicas (1), got 3");
    expect(() => new KServeModelServer(nsChart(), 'i', { modelPath: MODEL, deploymentMode: 'Knative' })).toThrow("'deploymentMode' must be one of RawDeployment, Serverless, ModelMesh, got 'Knative'");
  });
});
