import { ApiObject, Duration, JsonPatch, Size, Testing } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import {
  ClaimMount, CleanPodPolicy, GpuNodePool, GpuTrainingJob, GpuTrainingJobProps, Queueing, RestartPolicy,
  SecretKey, TaintEffect, TrainerCommand, TrainingVolumes,
} from '../src';
import { expectValid, pytorchJobWebhookErrors } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';

function synthJob(props: Partial<GpuTrainingJobProps> = {}): { job: GpuTrainingJob; docs: any[]; doc: any } {
  const chart = Testing.chart();
  const job = new GpuTrainingJob(chart, 'job', { image: IMAGE, trainerCommand: TrainerCommand.SFT, ...props });
  const docs = Testing.synth(chart);
  expectValid(docs);
  return { job, docs, doc: docs[0] };
}

function replica(doc: any, type: 'Master' | 'Worker' = 'Master'): any {
  return doc.spec.pytorchReplicaSpecs[type];
}

function container(doc: any, type: 'Master' | 'Worker' = 'Master'): any {
  return replica(doc, type).template.spec.containers[0];
}

function envOf(doc: any, type: 'Master' | 'Worker' = 'Master'): { [name: string]: any } {
  return Object.fromEntries(container(doc, type).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
}

function newJob(props: Partial<GpuTrainingJobProps>): GpuTrainingJob {
  return new GpuTrainingJob(Testing.chart(), 'job', { image: IMAGE, trainerCommand: TrainerCommand.SFT, ...props } as GpuTrainingJobProps);
}

describe('GpuTrainingJob', () => {
  test('defaults', () => {
    const { docs } = synthJob();
    expect(docs).toHaveLength(1);
    expect(docs).toMatchSnapshot();
  });

  test('is a kubeflow.org/v1 PyTorchJob that passes the admission webhook rules', () => {
    const { doc } = synthJob();
    expect(doc.apiVersion).toBe('kubeflow.org/v1');
    expect(doc.kind).toBe('PyTorchJob');
    expect(pytorchJobWebhookErrors(doc)).toEqual([]);
    expect(container(doc).name).toBe('pytorch');
  });

  test('launches the trainer with torchrun, one process per GPU', () => {
    const { doc } = synthJob({ gpusPerNode: 4 });
    expect(container(doc).command).toEqual(['torchrun', '-m', 'korean_llm_trainer', 'sft']);
    expect(doc.spec.nprocPerNode).toBe('4');
  });

  test('requests and limits the same GPUs, CPU and memory', () => {
    const { doc } = synthJob({ gpusPerNode: 4, cpu: Cpu.units(32), memory: Size.gibibytes(200) });
    const resources = container(doc).resources;
    expect(resources.requests).toEqual({ 'cpu': '32', 'memory': '200Gi', 'nvidia.com/gpu': 4 });
    expect(resources.limits).toEqual(resources.requests);
  });

  test('a custom GPU resource name is requested', () => {
    const { doc } = synthJob({ nodePool: GpuNodePool.anyGpuNode({ gpuResourceName: 'amd.com/gpu' }), gpusPerNode: 2 });
    expect(container(doc).resources.limits['amd.com/gpu']).toBe(2);
    expect(container(doc).resources.limits['nvidia.com/gpu']).toBeUndefined();
  });

  test('a single-node job has a Master only', () => {
    const { doc, job } = synthJob();
    expect(Object.keys(doc.spec.pytorchReplicaSpecs)).toEqual(['Master']);
    expect(replica(doc).replicas).toBe(1);
    expect(job.totalGpus).toBe(1);
  });

  test('a 2-node job has a Master and one Worker with identical GPU shapes', () => {
    const { doc, job } = synthJob({ nodes: 2, gpusPerNode: 8 });
    expect(Object.keys(doc.spec.pytorchReplicaSpecs).sort()).toEqual(['Master', 'Worker']);
    expect(replica(doc, 'Master').replicas).toBe(1);
    expect(replica(doc, 'Worker').replicas).toBe(1);
    expect(replica(doc, 'Worker').template).toEqual(replica(doc, 'Master').template);
    expect(container(doc, 'Worker').resources.limits['nvidia.com/gpu']).toBe(8);
    expect(doc.spec.nprocPerNode).toBe('8');
    expect(job.totalGpus).toBe(16);
    expect(pytorchJobWebhookErrors(doc)).toEqual([]);
  });

  test('a 4-node job has three Workers', () => {
    const { doc } = synthJob({ nodes: 4 });
    expect(replica(doc, 'Worker').replicas).toBe(3);
  });

  test('an elastic job is Worker-only with an elasticPolicy and passes the webhook rules', () => {
    const { doc, job } = synthJob({ elastic: { minNodes: 2, maxNodes: 4 }, gpusPerNode: 2 });
    expect(Object.keys(doc.spec.pytorchReplicaSpecs)).toEqual(['Worker']);
    expect(doc.spec.pytorchReplicaSpecs.Master).toBeUndefined();
    expect(replica(doc, 'Worker').replicas).toBe(4);
    expect(doc.spec.elasticPolicy).toEqual({ minReplicas: 2, maxReplicas: 4, maxRestarts: 3, rdzvBackend: 'c10d' });
    expect(doc.spec.nprocPerNode).toBe('2');
    expect(doc.spec.elasticPolicy.nProcPerNode).toBeUndefined();
    expect(job.nodes).toBe(4);
    expect(pytorchJobWebhookErrors(doc)).toEqual([]);
  });

  test('elastic maxRestarts is passed on', () => {
    const { doc } = synthJob({ elastic: { minNodes: 1, maxNodes: 2, maxRestarts: 7 } });
    expect(doc.spec.elasticPolicy.maxRestarts).toBe(7);
  });

  test('mounts a memory-backed /dev/shm and writable scratch volumes', () => {
    const { doc } = synthJob({ memory: Size.gibibytes(64) });
    const spec = replica(doc).template.spec;
    expect(spec.volumes).toEqual(expect.arrayContaining([
      { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '16Gi' } },
      // size-limited: a runaway write evicts this pod, not every pod of the node
      { name: 'tmp', emptyDir: { sizeLimit: '20Gi' } },
      { name: 'cache', emptyDir: { sizeLimit: '200Gi' } },
    ]));
    expect(container(doc).volumeMounts).toEqual([
      { name: 'dshm', mountPath: '/dev/shm' },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'cache', mountPath: '/cache' },
    ]);
    expect(envOf(doc)).toMatchObject({ HOME: '/tmp', HF_HOME: '/cache/huggingface', XDG_CACHE_HOME: '/cache', TRITON_CACHE_DIR: '/cache/triton' });
  });

  test('the shared memory size can be set', () => {
    const { doc } = synthJob({ memory: Size.gibibytes(100), sharedMemory: Size.gibibytes(32) });
    expect(replica(doc).template.spec.volumes[0].emptyDir.sizeLimit).toBe('32Gi');
  });

  test('mounts the data volume read-only and the output volume read-write', () => {
    const { doc } = synthJob({ storage: TrainingVolumes.fromClaims() });
    const spec = replica(doc).template.spec;
    expect(container(doc).volumeMounts).toEqual(expect.arrayContaining([
      { name: 'claim-llm-training-data-pvc', mountPath: '/data', readOnly: true },
      { name: 'claim-model-output-pvc', mountPath: '/output' },
    ]));
    expect(spec.volumes).toEqual(expect.arrayContaining([
      { name: 'claim-llm-training-data-pvc', persistentVolumeClaim: { claimName: 'llm-training-data-pvc', readOnly: true } },
      { name: 'claim-model-output-pvc', persistentVolumeClaim: { claimName: 'model-output-pvc' } },
    ]));
    // never a fresh volume per run
    expect(JSON.stringify(doc)).not.toContain('volumeClaimTemplates');
  });

  test('two mounts of one claim share a volume', () => {
    const { doc } = synthJob({
      mounts: [
        ClaimMount.of('shared', '/models', { readOnly: true, subPath: 'models' }),
        ClaimMount.of('shared', '/scratch', { subPath: 'scratch' }),
      ],
    });
    const volumes = replica(doc).template.spec.volumes.filter((vol: any) => vol.persistentVolumeClaim);
    expect(volumes).toEqual([{ name: 'claim-shared', persistentVolumeClaim: { claimName: 'shared' } }]);
    expect(container(doc).volumeMounts).toEqual(expect.arrayContaining([
      { name: 'claim-shared', mountPath: '/models', readOnly: true, subPath: 'models' },
      { name: 'claim-shared', mountPath: '/scratch', subPath: 'scratch' },
    ]));
  });

  test('tolerates the GPU taint and selects the seed\'s node pool by default', () => {
    const { doc } = synthJob();
    const spec = replica(doc).template.spec;
    expect(spec.nodeSelector).toEqual({ 'node-type': 'gpu-training' });
    expect(spec.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(spec.affinity).toBeUndefined();
  });

  test('requires the GPU product by node affinity', () => {
    const { doc } = synthJob({ nodes: 2, nodePool: GpuNodePool.seedDefault().withGpuProducts('NVIDIA-H100-80GB-HBM3') });
    for (const type of ['Master', 'Worker'] as const) {
      expect(replica(doc, type).template.spec.affinity).toEqual({
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'nvidia.com/gpu.product', operator: 'In', values: ['NVIDIA-H100-80GB-HBM3'] }] }],
          },
        },
      });
    }
  });

  test('custom taints become tolerations', () => {
    const { doc } = synthJob({
      nodePool: GpuNodePool.fromLabels({ pool: 'h100' }, { taints: [{ key: 'dedicated', value: 'training', effect: TaintEffect.NO_EXECUTE }] }),
    });
    expect(replica(doc).template.spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'training', effect: 'NoExecute' }]);
    expect(replica(doc).template.spec.nodeSelector).toEqual({ pool: 'h100' });
  });

  test('runs as non-root without privilege escalation, capabilities or an unconfined seccomp profile', () => {
    const { doc } = synthJob({ nodes: 2 });
    for (const type of ['Master', 'Worker'] as const) {
      const spec = replica(doc, type).template.spec;
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      expect(spec.containers[0].securityContext).toEqual({
        allowPrivilegeEscalation: false,
        privileged: false,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
      });
    }
  });

  test('runAsUser sets the UID and GID', () => {
    const { doc } = synthJob({ runAsUser: 2000 });
    expect(replica(doc).template.spec.securityContext).toMatchObject({ runAsUser: 2000, runAsGroup: 2000, fsGroup: 2000 });
  });

  test('secrets reach the container by secretKeyRef only', () => {
    const { doc } = synthJob({
      env: { WANDB_PROJECT: 'korean-llm-sft' },
      secretEnv: { WANDB_API_KEY: SecretKey.wandbDefault(), HF_TOKEN: SecretKey.of('hf-secret', 'token').asOptional() },
    });
    const env = container(doc).env;
    expect(env).toEqual(expect.arrayContaining([
      { name: 'WANDB_API_KEY', valueFrom: { secretKeyRef: { name: 'wandb-secret', key: 'api-key' } } },
      { name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'hf-secret', key: 'token', optional: true } } },
    ]));
    for (const e of env.filter((x: any) => ['WANDB_API_KEY', 'HF_TOKEN'].includes(x.name))) {
      expect(e.value).toBeUndefined();
    }
  });

  test('sets the lifecycle defaults (cleanPodPolicy, backoffLimit, TTL, deadline, restart policy)', () => {
    const { doc, job } = synthJob();
    expect(doc.spec.runPolicy).toEqual({ cleanPodPolicy: 'Running', backoffLimit: 3, ttlSecondsAfterFinished: 86400, activeDeadlineSeconds: 259200 });
    expect(replica(doc).restartPolicy).toBe('OnFailure');
    expect(job.activeDeadline.toSeconds()).toBe(259200);
  });

  test('lifecycle props reach the runPolicy', () => {
    const { doc } = synthJob({
      restartPolicy: RestartPolicy.EXIT_CODE,
      backoffLimit: 0,
      cleanPodPolicy: CleanPodPolicy.ALL,
      ttlAfterFinished: Duration.hours(2),
      activeDeadline: Duration.hours(12),
    });
    expect(doc.spec.runPolicy).toEqual({ cleanPodPolicy: 'All', backoffLimit: 0, ttlSecondsAfterFinished: 7200, activeDeadlineSeconds: 43200 });
    expect(replica(doc).restartPolicy).toBe('ExitCode');
  });

  test('exposes the metrics port and tells the trainer about it', () => {
    const { doc } = synthJob({ metricsPort: 9200 });
    expect(container(doc).ports).toEqual([{ name: 'metrics', containerPort: 9200, protocol: 'TCP' }]);
    expect(envOf(doc).METRICS_PORT).toBe('9200');
  });

  test('a custom command replaces the torchrun launch and sets no METRICS_PORT', () => {
    const { doc } = synthJob({ trainerCommand: undefined, command: ['python', '/app/train.py'], args: ['--epochs', '1'] });
    expect(container(doc).command).toEqual(['python', '/app/train.py']);
    expect(container(doc).args).toEqual(['--epochs', '1']);
    expect(envOf(doc).METRICS_PORT).toBeUndefined();
    expect(replica(doc).template.metadata.labels['korean-llm/stage']).toBeUndefined();
  });

  test('labels: the job carries part-of, the pods name the stage', () => {
    const { doc } = synthJob({ labels: { team: 'nlp' }, podLabels: { cost: 'research' }, annotations: { note: 'x' }, podAnnotations: { 'a/b': 'c' } });
    expect(doc.metadata.labels).toMatchObject({ 'team': 'nlp', 'app.kubernetes.io/part-of': 'korean-llm' });
    expect(doc.metadata.annotations).toEqual({ note: 'x' });
    expect(replica(doc).template.metadata.labels).toEqual({
      'cost': 'research',
      'app.kubernetes.io/part-of': 'korean-llm',
      'app.kubernetes.io/component': 'trainer',
      'korean-llm/stage': 'sft',
    });
    expect(replica(doc).template.metadata.annotations).toEqual({ 'a/b': 'c' });
  });

  test('pod-level options: service account, pull secrets, priority class', () => {
    const { doc } = synthJob({ serviceAccountName: 'trainer', imagePullSecrets: ['regcred'], priorityClassName: 'training-high' });
    const spec = replica(doc).template.spec;
    expect(spec.serviceAccountName).toBe('trainer');
    expect(spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(spec.priorityClassName).toBe('training-high');
  });

  test('an explicit name is used', () => {
    const { doc, job } = synthJob({ name: 'korean-sft' });
    expect(doc.metadata.name).toBe('korean-sft');
    expect(job.jobName).toBe('korean-sft');
  });

  test('Kueue: the queue label is on the job object', () => {
    const { doc } = synthJob({ queueing: Queueing.kueue('gpu-queue', { priorityClass: 'high' }) });
    expect(doc.metadata.labels).toMatchObject({ 'kueue.x-k8s.io/queue-name': 'gpu-queue', 'kueue.x-k8s.io/priority-class': 'high' });
    expect(doc.spec.runPolicy.schedulingPolicy).toBeUndefined();
  });

  test('Volcano: the schedulingPolicy gangs every pod of the job', () => {
    const { doc } = synthJob({ nodes: 3, queueing: Queueing.volcano({ queue: 'training', priorityClass: 'high', scheduleTimeout: Duration.minutes(10) }) });
    expect(doc.spec.runPolicy.schedulingPolicy).toEqual({ minAvailable: 3, queue: 'training', priorityClass: 'high', scheduleTimeoutSeconds: 600 });
    expect(doc.metadata.labels['kueue.x-k8s.io/queue-name']).toBeUndefined();
  });

  test('addEnv after construction reaches the output', () => {
    const chart = Testing.chart();
    const job = new GpuTrainingJob(chart, 'job', { image: IMAGE, trainerCommand: TrainerCommand.CPT });
    job.addEnv('NCCL_DEBUG', 'INFO');
    job.addSecretEnv('HF_TOKEN', SecretKey.of('hf', 'token'));
    job.addClaimMount(ClaimMount.of('extra', '/extra'));
    const docs = Testing.synth(chart);
    expectValid(docs);
    expect(envOf(docs[0]).NCCL_DEBUG).toBe('INFO');
    expect(envOf(docs[0]).HF_TOKEN).toEqual({ secretKeyRef: { name: 'hf', key: 'token' } });
    expect(container(docs[0]).volumeMounts).toContainEqual({ name: 'claim-extra', mountPath: '/extra' });
    expect(job.envNames).toEqual(expect.arrayContaining(['NCCL_DEBUG', 'HF_TOKEN', 'METRICS_PORT']));
  });

  test('escape hatch: ApiObject.of(job).addJsonPatch reaches the output', () => {
    const chart = Testing.chart();
    const job = new GpuTrainingJob(chart, 'job', { image: IMAGE, trainerCommand: TrainerCommand.SFT });
    ApiObject.of(job).addJsonPatch(JsonPatch.add('/spec/runPolicy/suspend', true));
    // fields whose JSON name differs from the generated TypeScript name, and quantities, survive too
    ApiObject.of(job).addJsonPatch(JsonPatch.add('/spec/pytorchReplicaSpecs/Master/template/spec/hostIPC', true));
    ApiObject.of(job).addJsonPatch(JsonPatch.replace('/spec/pytorchReplicaSpecs/Master/template/spec/containers/0/resources/limits/cpu', '16'));
    const docs = Testing.synth(chart);
    expectValid(docs);
    expect(docs[0].spec.runPolicy.suspend).toBe(true);
    expect(replica(docs[0]).template.spec.hostIPC).toBe(true);
    expect(container(docs[0]).resources.limits).toEqual({ 'cpu': '16', 'memory': '64Gi', 'nvidia.com/gpu': 1 });
    expect(job.apiObject).toBe(ApiObject.of(job));
  });

  describe('the manifest a pipeline embeds is the JSON cdk8s writes for the job', () => {
    // The embedded manifest is rendered without cdk8s (no resolve, keys sorted by the renderer):
    // its spec must be what `ApiObject.toJson()` makes of the same job, key order included.
    const configurations: [string, Partial<GpuTrainingJobProps>][] = [
      ['defaults', {}],
      ['multi-node with Volcano', { nodes: 3, queueing: Queueing.volcano({ queue: 'training', priorityClass: 'high', scheduleTimeout: Duration.minutes(10) }) }],
      ['Kueue', { queueing: Queueing.kueue('gpu-queue', { priorityClass: 'high' }) }],
      ['elastic', { elastic: { minNodes: 2, maxNodes: 4 } }],
      ['tainted pool with GPU products and AMD GPUs', {
        nodePool: GpuNodePool.fromLabels({ pool: 'mi300', zone: 'a' }, {
          taints: [{ key: 'dedicated', value: 'training', effect: TaintEffect.NO_EXECUTE }, { key: 'gpu' }],
          gpuResourceName: 'amd.com/gpu',
        }).withGpuProducts('AMD-Instinct-MI300X'),
      }],
      ['everything optional', {
        args: ['--verbose'],
        serviceAccountName: 'trainer',
        imagePullSecrets: ['regcred'],
        priorityClassName: 'high',
        podAnnotations: { 'b.example.com/x': '1', 'a.example.com/y': '2' },
        podLabels: { zeta: 'z', alpha: 'a' },
        secretEnv: { HF_TOKEN: SecretKey.of('hf', 'token').asOptional() },
        env: { ZED: '1', ALPHA: '2' },
        mounts: [ClaimMount.of('extra', '/extra', { readOnly: true, subPath: 'sub' })],
        storage: TrainingVolumes.fromClaims(),
      }],
    ];
    for (const [name, props] of configurations) {
      test(name, () => {
        const job = newJob(props);
        ApiObject.of(job).addJsonPatch(JsonPatch.add('/spec/runPolicy/suspend', false));
        job._embed({ generateName: 'run-sft-', runId: 'run', labels: { 'korean-llm/run': 'run' }, envOverrides: {} });
        const manifest = job._manifest();
        const viaCdk8s = job.apiObject.toJson();
        expect(JSON.stringify(manifest.spec)).toBe(JSON.stringify(viaCdk8s.spec));
        expect(manifest.spec.runPolicy.suspend).toBe(false);
        expect(Object.keys(manifest)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
        expect(manifest.metadata.name).toBeUndefined();
        expect(manifest.metadata.generateName).toBe('run-sft-');
      });
    }
  });

  test('an image pinned by digest is accepted', () => {
    const image = `registry.example.com/unsloth-korean@sha256:${'a'.repeat(64)}`;
    const { doc } = synthJob({ image });
    expect(container(doc).image).toBe(image);
  });

  describe('bad input', () => {
    test('fails when gpusPerNode is 0', () => {
      expect(() => newJob({ gpusPerNode: 0 })).toThrow("'gpusPerNode' must be an integer from 1 to 16, got 0");
    });

    test('fails when gpusPerNode is fractional', () => {
      expect(() => newJob({ gpusPerNode: 1.5 })).toThrow("'gpusPerNode' must be an integer from 1 to 16, got 1.5");
    });

    test('fails when gpusPerNode is more than a node has', () => {
      expect(() => newJob({ gpusPerNode: 17 })).toThrow("'gpusPerNode' must be an integer from 1 to 16, got 17");
    });

    test('fails when nodes is below 1', () => {
      expect(() => newJob({ nodes: 0 })).toThrow("'nodes' must be an integer from 1 to 512, got 0");
    });

    test('fails when the name is not a DNS-1035 label', () => {
      expect(() => newJob({ name: 'Korean_SFT' })).toThrow(/^'name' must be a DNS-1035 label \(.*\), got 'Korean_SFT'$/);
      expect(() => newJob({ name: '7b-sft' })).toThrow("got '7b-sft'");
    });

    test('fails when the name is too long for the operator\'s service names', () => {
      expect(() => newJob({ name: 'a'.repeat(53) })).toThrow(/'name' must be a DNS-1035 label .*at most 52 characters\), got 'a{53}'/);
    });

    test('fails when the image is untagged', () => {
      expect(() => newJob({ image: 'registry.example.com/unsloth-korean' })).toThrow(
        "'image' must be an image pinned to a tag or digest (for example 'registry.example.com/unsloth-korean:1.0.0'), not untagged or ':latest', got 'registry.example.com/unsloth-korean'");
    });

    test('fails when the image is :latest', () => {
      expect(() => newJob({ image: 'registry.example.com:5000/unsloth-korean:latest' })).toThrow(/^'image' must be an image pinned to a tag or digest .*, got 'registry.example.com:5000\/unsloth-korean:latest'$/);
    });

    test('fails when the registry port is taken for a tag', () => {
      expect(() => newJob({ image: 'registry.example.com:5000/unsloth-korean' })).toThrow("'image' must be an image pinned to a tag or digest");
    });

    test('fails when the digest is malformed', () => {
      expect(() => newJob({ image: 'unsloth-korean@sha256:abc' })).toThrow("got 'unsloth-korean@sha256:abc'");
    });

    test('fails when the image is empty', () => {
      expect(() => newJob({ image: '' })).toThrow("'image' must be an image pinned to a tag or digest");
    });

    test('fails when an env name is set twice', () => {
      const job = newJob({ env: { NCCL_DEBUG: 'INFO' } });
      expect(() => job.addEnv('NCCL_DEBUG', 'WARN')).toThrow("'env' must be a name not already set (each variable may be set once; the stage sets the contract variables itself), got 'NCCL_DEBUG'");
    });

    test('fails when an env name is both plain and secret', () => {
      expect(() => newJob({ env: { HF_TOKEN: 'hf_abc' }, secretEnv: { HF_TOKEN: SecretKey.of('hf', 'token') } }))
        .toThrow("'secretEnv' must be a name not already set (each variable may be set once), got 'HF_TOKEN'");
    });

    test('fails when env overrides a variable the job sets itself', () => {
      expect(() => newJob({ env: { HOME: '/root' } })).toThrow("'env' must be a name not already set (each variable may be set once; the stage sets the contract variables itself), got 'HOME'");
    });

    test('fails when an env name is not a variable name', () => {
      expect(() => newJob({ env: { 'NCCL-DEBUG': 'INFO' } })).toThrow("'env' must be an environment variable name (letters, digits and '_', not starting with a digit), got 'NCCL-DEBUG'");
    });

    test('fails when memory is below what the shm size needs', () => {
      expect(() => newJob({ memory: Size.gibibytes(16), sharedMemory: Size.gibibytes(10) })).toThrow(
        "'memory' must be at least twice 'sharedMemory' (10Gi): a memory-backed /dev/shm counts against the container's memory limit, got 16Gi");
    });

    test('fails when memory is zero', () => {
      expect(() => newJob({ memory: Size.gibibytes(0) })).toThrow("'memory' must be a size greater than zero, got 0Gi");
    });

    test('fails when cpu is zero', () => {
      expect(() => newJob({ cpu: Cpu.units(0) })).toThrow("'cpu' must be a positive amount (Cpu.units(n) or Cpu.millis(n)), got '0'");
    });

    test('fails when neither trainerCommand nor command is given', () => {
      expect(() => newJob({ trainerCommand: undefined })).toThrow("'trainerCommand' or 'command' is required");
    });

    test('fails when command is empty', () => {
      expect(() => newJob({ trainerCommand: undefined, command: [] })).toThrow("'command' must be a non-empty list, got '[]'");
    });

    test('fails when elastic is combined with nodes', () => {
      expect(() => newJob({ nodes: 2, elastic: { minNodes: 1, maxNodes: 2 } })).toThrow("'nodes' must be unset when 'elastic' is given (elastic.maxNodes sets the size), got 2");
    });

    test('fails when elastic maxNodes is below minNodes', () => {
      expect(() => newJob({ elastic: { minNodes: 4, maxNodes: 2 } })).toThrow("'elastic.maxNodes' must be at least elastic.minNodes (4), got 2");
    });

    test('fails when elastic minNodes is 0', () => {
      expect(() => newJob({ elastic: { minNodes: 0, maxNodes: 2 } })).toThrow("'elastic.minNodes' must be an integer from 1 to 512, got 0");
    });

    test('fails when backoffLimit is negative', () => {
      expect(() => newJob({ backoffLimit: -1 })).toThrow("'backoffLimit' must be a non-negative integer, got -1");
    });

    test('fails when activeDeadline is under a second', () => {
      expect(() => newJob({ activeDeadline: Duration.millis(10) })).toThrow("'activeDeadline' must be a duration of at least one second, got");
    });

    test('fails when metricsPort is privileged', () => {
      expect(() => newJob({ metricsPort: 80 })).toThrow("'metricsPort' must be an integer from 1024 to 65535, got 80");
    });

    test('fails when runAsUser is root', () => {
      expect(() => newJob({ runAsUser: 0 })).toThrow("'runAsUser' must be a non-root UID (a positive integer), got 0");
    });

    test('fails when a label value is invalid', () => {
      expect(() => newJob({ podLabels: { team: 'nlp team' } })).toThrow("'labels['team']' must be a label value");
    });

    test('fails when a path is mounted twice', () => {
      const job = newJob({ storage: TrainingVolumes.fromClaims() });
      expect(() => job.addClaimMount(ClaimMount.of('other', '/data'))).toThrow("'mountPath' must be a path not already mounted (each path may be mounted once), got '/data'");
    });

    test('fails when a claim is mounted over a scratch volume', () => {
      expect(() => newJob({ mounts: [ClaimMount.of('other', '/tmp/x')] })).toThrow("'mountPath' must be a path outside the scratch volumes (/dev/shm, /tmp, /cache), got '/tmp/x'");
    });

    test('fails when the Volcano gang is larger than the job', () => {
      expect(() => newJob({ nodes: 2, queueing: Queueing.volcano({ minAvailable: 3 }) })).toThrow("'queueing.volcano minAvailable' must be at most the job's 2 pod(s), got 3");
    });
  });
});
