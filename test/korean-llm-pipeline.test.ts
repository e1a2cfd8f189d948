import { ApiObject, Chart, JsonPatch, Testing } from 'cdk8s';
import { vllmDeployment as server } from '../examples/pipelines';
import {
  KoreanBenchmark, KoreanLlmPipeline, KoreanLlmPipelineProps, PipelineKind, PreferenceMethod, SecretKey,
} from '../src';
import { envOf, expectArgoValid, expectMermaidOf, manifestOf, taskOf, tasksOf, templateOf } from './util/argo';
import { argoTemplates, expectValid } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
const BASE = 'unsloth/Qwen2.5-7B-bnb-4bit';
const STEPS = ['preprocess', 'cpt', 'sft', 'rlhf', 'evaluate', 'deploy'];
const TRAINING = ['cpt', 'sft', 'rlhf'];
/** A PyTorchJob's Failed condition at every index it can have (see test/job-waits.test.ts). */
const CONDITION_FAILED = Array.from({ length: 6 }, (_, i) => `status.conditions.${i}.type == Failed`).join(',');

function newChart(): Chart {
  return new Chart(Testing.app(), 'test', { namespace: 'llm-training', disableResourceNameHashes: true });
}

function build(props: Partial<KoreanLlmPipelineProps> = {}, chart = newChart()): { pipeline: KoreanLlmPipeline; docs: any[]; wf: any } {
  const pipeline = new KoreanLlmPipeline(chart, 'pipeline', { image: IMAGE, baseModel: BASE, server: server(), ...props } as KoreanLlmPipelineProps);
  const docs = Testing.synth(chart);
  expectValid(docs);
  expectArgoValid(docs);
  const wf = docs.find((d) => ['Workflow', 'WorkflowTemplate', 'CronWorkflow'].includes(d.kind));
  return { pipeline, docs, wf };
}

function newPipeline(props: Partial<KoreanLlmPipelineProps>): KoreanLlmPipeline {
  return new KoreanLlmPipeline(newChart(), 'pipeline', { image: IMAGE, ...props } as KoreanLlmPipelineProps);
}

function specOf(wf: any): any {
  return wf.kind === 'CronWorkflow' ? wf.spec.workflowSpec : wf.spec;
}

function jobEnv(wf: any, step: string, type = 'Master'): { [name: string]: any } {
  return envOf(manifestOf(wf, step).spec.pytorchReplicaSpecs[type].template.spec.containers[0]);
}

function parameters(wf: any): { [name: string]: string } {
  return Object.fromEntries(specOf(wf).arguments.parameters.map((p: any) => [p.name, p.value]));
}

/** Every step a task waits for, directly or transitively. */
function ancestors(wf: any, name: string): Set<string> {
  const deps = (n: string): string[] => (taskOf(wf, n).depends ?? '').split('&&').map((s: string) => s.trim().replace(/\.Succeeded$/, '')).filter(Boolean);
  const seen = new Set<string>();
  const stack = deps(name);
  while (stack.length) {
    const d = stack.pop()!;
    if (!seen.has(d)) {
      seen.add(d);
      stack.push(...deps(d));
    }
  }
  return seen;
}

describe('KoreanLlmPipeline', () => {
  test('defaults', () => {
    const { docs } = build();
    expect(docs).toMatchSnapshot();
  });

  test('has the seed\'s six steps in order, chained by depends', () => {
    const { pipeline, wf } = build();
    expect(tasksOf(wf).map((t: any) => t.name)).toEqual(STEPS);
    expect(pipeline.allSteps.map((s) => s.name)).toEqual(STEPS);
    expect(taskOf(wf, 'preprocess').depends).toBeUndefined();
    for (let i = 1; i < STEPS.length; i++) {
      const before = new Set(STEPS.slice(0, i));
      expect([...ancestors(wf, STEPS[i])].sort()).toEqual([...before].sort());
      expect(taskOf(wf, STEPS[i]).depends).toContain(`${STEPS[i - 1]}.Succeeded`);
    }
  });

  test('training steps create PyTorchJobs; success from replica counts, failure from them or a Failed condition', () => {
    const { wf } = build();
    for (const step of TRAINING) {
      const r = templateOf(wf, step).resource;
      expect(r.action).toBe('create');
      expect(r.setOwnerReference).toBe(true);
      expect(r.successCondition).toBe('status.replicaStatuses.Master.succeeded > 0');
      expect(r.failureCondition).toBe(`status.replicaStatuses.Master.failed > 0,${CONDITION_FAILED}`);
      // never a condition index in a success condition (requirements are ANDed there)
      expect(r.successCondition).not.toContain('status.conditions');
      expect(manifestOf(wf, step).kind).toBe('PyTorchJob');
    }
  });

  test('a multi-node stage fails on a failed Worker too', () => {
    const { wf } = build({ cpt: { nodes: 2, gpusPerNode: 8 } });
    const r = templateOf(wf, 'cpt').resource;
    expect(r.successCondition).toBe('status.replicaStatuses.Master.succeeded > 0');
    expect(r.failureCondition.split(',')).toEqual(['status.replicaStatuses.Master.failed > 0', 'status.replicaStatuses.Worker.failed > 0', ...CONDITION_FAILED.split(',')]);
    expect(manifestOf(wf, 'cpt').spec.pytorchReplicaSpecs.Worker.replicas).toBe(1);
  });

  test('embedded jobs never restart in place and get a new name per attempt', () => {
    const { wf } = build();
    for (const step of TRAINING) {
      const job = manifestOf(wf, step);
      expect(job.metadata.name).toBeUndefined();
      expect(job.metadata.generateName).toBe(`{{workflow.name}}-${step}-`);
      expect(job.spec.runPolicy.backoffLimit).toBeUndefined();
      for (const spec of Object.values<any>(job.spec.pytorchReplicaSpecs)) expect(spec.restartPolicy).toBe('Never');
    }
  });

  test('each step outlives its job and retries with backoff', () => {
    const { wf } = build();
    for (const step of STEPS) {
      const t = templateOf(wf, step);
      expect(t.activeDeadlineSeconds).toBeGreaterThan(0);
      expect(t.retryStrategy.limit).toBeGreaterThan(0);
      // no maxDuration: Argo counts it from the first attempt's start, which would end a long stage's retries
      expect(t.retryStrategy.backoff).toEqual({ duration: '120s', factor: 2, cap: '3600s' });
    }
    for (const step of TRAINING) {
      expect(templateOf(wf, step).activeDeadlineSeconds).toBeGreaterThan(manifestOf(wf, step).spec.runPolicy.activeDeadlineSeconds);
    }
  });

  test('output paths are per run and chain from stage to stage', () => {
    const { wf, pipeline } = build();
    const pre = envOf(templateOf(wf, 'preprocess').container);
    const cpt = jobEnv(wf, 'cpt');
    const sft = jobEnv(wf, 'sft');
    const rlhf = jobEnv(wf, 'rlhf');
    const evaluate = envOf(templateOf(wf, 'evaluate').container);
    for (const dir of [pre.OUTPUT_DIR, cpt.OUTPUT_DIR, sft.OUTPUT_DIR, rlhf.OUTPUT_DIR, evaluate.EVAL_OUTPUT_DIR]) {
      expect(dir).toMatch(/^\/output\/runs\/\{\{workflow\.name\}\}\//);
    }
    expect(cpt.DATA_PATH).toBe(`${pre.OUTPUT_DIR}/corpus.jsonl`);
    expect(sft.BASE_MODEL_PATH).toBe(`${cpt.OUTPUT_DIR}/model`);
    expect(rlhf.BASE_MODEL_PATH).toBe(`${sft.OUTPUT_DIR}/model`);
    expect(evaluate.MODEL_PATH).toBe(`${rlhf.OUTPUT_DIR}/model`);
    expect(new Set([cpt.OUTPUT_DIR, sft.OUTPUT_DIR, rlhf.OUTPUT_DIR]).size).toBe(3);
    expect(pipeline.branches[0].finalStage.modelPath).toBe(evaluate.MODEL_PATH);
    // the deploy step points the server at the evaluated model
    expect(templateOf(wf, 'deploy').resource.manifest).toContain(evaluate.MODEL_PATH);
  });

  test('the stages appear only inside the Workflow; JSON patches and labels reach the manifests', () => {
    const chart = newChart();
    const pipeline = new KoreanLlmPipeline(chart, 'pipeline', { image: IMAGE, baseModel: BASE });
    const cpt = pipeline.branches[0].cpt!;
    ApiObject.of(cpt).addJsonPatch(JsonPatch.add('/spec/runPolicy/suspend', false));
    cpt.apiObject.metadata.addLabel('team', 'korean-nlp');
    const docs = Testing.synth(chart);
    expectValid(docs);
    expect(docs.map((d) => d.kind).sort()).toEqual(['Role', 'RoleBinding', 'ServiceAccount', 'Workflow']);
    const wf = docs.find((d) => d.kind === 'Workflow');
    expect(manifestOf(wf, 'cpt').spec.runPolicy.suspend).toBe(false);
    expect(manifestOf(wf, 'cpt').metadata.labels.team).toBe('korean-nlp');
    expect(manifestOf(wf, 'sft').spec.runPolicy.suspend).toBeUndefined();
  });

  test('typed props become the defaults of workflow parameters the manifests use', () => {
    const { wf } = build({
      baseModel: 'unsloth/Qwen2.5-14B-bnb-4bit',
      preprocess: { inputPath: '/data/raw-2026' },
      cpt: { learningRate: 2e-5 },
      sft: { learningRate: 1e-4 },
      rlhf: { learningRate: 1e-6 },
      evaluation: { minScore: 0.55 },
    });
    expect(parameters(wf)).toEqual({
      'run-label': 'manual',
      'data-path': '/data/raw-2026',
      'cpt-learning-rate': '0.00002',
      'base-model': 'unsloth/Qwen2.5-14B-bnb-4bit',
      'sft-learning-rate': '0.0001',
      'rlhf-learning-rate': '0.000001',
      'min-score': '0.55',
    });
    expect(jobEnv(wf, 'cpt').BASE_MODEL_PATH).toBe('{{workflow.parameters.base-model}}');
    for (const step of TRAINING) expect(jobEnv(wf, step).LEARNING_RATE).toBe(`{{workflow.parameters.${step}-learning-rate}}`);
    expect(envOf(templateOf(wf, 'preprocess').container).DATA_PATH).toBe('{{workflow.parameters.data-path}}');
    expect(specOf(wf).podMetadata.labels['korean-llm/run-label']).toBe('{{workflow.parameters.run-label}}');
  });

  test('the evaluate step exposes score and gates the deploy step with an unquoted comparison', () => {
    const { wf } = build({ evaluation: { benchmarks: [KoreanBenchmark.KOBEST, KoreanBenchmark.CLICK], minScore: 0.55, gpus: 2, limit: 100 } });
    const evaluate = templateOf(wf, 'evaluate');
    expect(evaluate.outputs.parameters[0]).toEqual({ name: 'score', valueFrom: { path: '/tmp/score' } });
    expect(evaluate.outputs.parameters.map((o: any) => o.name)).toEqual(['score', 'score-kobest', 'score-click', 'retention', 'champion-margin', 'summary']);
    const env = envOf(evaluate.container);
    expect(env.EVAL_TASKS).toBe('kobest,click');
    expect(env.EVAL_LIMIT).toBe('100');
    expect(evaluate.container.resources.limits['nvidia.com/gpu']).toBe(2);
    expect(taskOf(wf, 'deploy').when).toBe('{{tasks.evaluate.outputs.parameters.score}} >= {{workflow.parameters.min-score}}');
  });

  test('mounts the existing claims only', () => {
    const { wf } = build();
    expect(wf.spec.volumeClaimTemplates).toBeUndefined();
    expect(wf.spec.volumes.filter((vol: any) => vol.persistentVolumeClaim)).toEqual([
      { name: 'claim-llm-training-data-pvc', persistentVolumeClaim: { claimName: 'llm-training-data-pvc' } },
      { name: 'claim-model-output-pvc', persistentVolumeClaim: { claimName: 'model-output-pvc' } },
    ]);
  });

  test('pods carry the run label; job pods the Argo label unless argoLogs is false', () => {
    const { wf } = build();
    expect(wf.spec.podMetadata.labels['korean-llm/run']).toBe('{{workflow.name}}');
    for (const step of TRAINING) {
      const labels = manifestOf(wf, step).spec.pytorchReplicaSpecs.Master.template.metadata.labels;
      expect(labels['korean-llm/run']).toBe('{{workflow.name}}');
      expect(labels['korean-llm/stage']).toBe(step);
      expect(labels['workflows.argoproj.io/workflow']).toBe('{{workflow.name}}');
    }
    const quiet = build({ argoLogs: false }).wf;
    for (const step of TRAINING) {
      const job = manifestOf(quiet, step);
      expect(job.spec.pytorchReplicaSpecs.Master.template.metadata.labels['korean-llm/run']).toBe('{{workflow.name}}');
      expect(JSON.stringify(job)).not.toContain('workflows.argoproj.io/workflow');
    }
  });

  test('the Role allows exactly what the steps need, with no wildcard', () => {
    const { docs, wf } = build();
    const role = docs.find((d) => d.kind === 'Role');
    expect(role.rules).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['create', 'patch'] },
      { apiGroups: ['kubeflow.org'], resources: ['pytorchjobs'], verbs: ['create', 'get', 'list', 'watch', 'patch', 'delete'] },
      { apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['llm-inference-server'], verbs: ['get', 'patch'] },
    ]);
    expect(JSON.stringify(role)).not.toContain('*');
    const binding = docs.find((d) => d.kind === 'RoleBinding');
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects.map((s: any) => s.name)).toEqual([wf.spec.serviceAccountName]);
    expect(docs.find((d) => d.kind === 'ServiceAccount').metadata.name).toBe(wf.spec.serviceAccountName);
  });

  test('two pipelines in one namespace have distinct names for every object', () => {
    const chart = newChart();
    new KoreanLlmPipeline(chart, 'first', { image: IMAGE, baseModel: BASE, server: server('a') });
    new KoreanLlmPipeline(chart, 'second', { image: IMAGE, baseModel: BASE, server: server('b') });
    const docs = Testing.synth(chart);
    expectValid(docs);
    expectArgoValid(docs);
    const names = docs.map((d) => `${d.kind}/${d.metadata.name ?? d.metadata.generateName}`);
    expect(docs).toHaveLength(8);
    expect(new Set(names).size).toBe(8);
    const workflows = docs.filter((d) => d.kind === 'Workflow');
    expect(workflows[0].spec.serviceAccountName).not.toBe(workflows[1].spec.serviceAccountName);
    // each pipeline's pods are told apart by the pipeline label, and its jobs by the run label
    expect(workflows[0].spec.podMetadata.labels['korean-llm/pipeline']).not.toBe(workflows[1].spec.podMetadata.labels['korean-llm/pipeline']);
  });

  test('the exit handler cleans up the run\'s jobs and notifies Slack from a Secret, neither able to fail the run', () => {
    const { wf } = build({ slackWebhook: SecretKey.of('slack-webhook', 'url') });
    expect(wf.spec.onExit).toBe('exit-handler');
    const [cleanup, notify] = templateOf(wf, 'exit-handler').steps[0];
    expect(cleanup).toEqual({ name: 'cleanup', template: 'cleanup', continueOn: { failed: true, error: true } });
    expect(notify).toEqual({ name: 'notify', template: 'notify', continueOn: { failed: true, error: true } });
    expect(envOf(templateOf(wf, 'cleanup').container).JOB_RESOURCES).toBe('kubeflow.org/v1/pytorchjobs');
    expect(envOf(templateOf(wf, 'notify').container).SLACK_WEBHOOK_URL).toEqual({ secretKeyRef: { name: 'slack-webhook', key: 'url', optional: true } });
    expect(JSON.stringify(wf)).not.toMatch(/https:\/\/hooks/);
  });

  test('without slackWebhook there is no notify step', () => {
    const { wf } = build();
    expect(templateOf(wf, 'exit-handler').steps[0].map((s: any) => s.name)).toEqual(['cleanup']);
    expect(argoTemplates(wf).map((t) => t.name)).not.toContain('notify');
  });

  test('podGC and ttlStrategy are set', () => {
    const { wf } = build();
    expect(wf.spec.podGC).toEqual({ strategy: 'OnPodSuccess' });
    expect(wf.spec.ttlStrategy).toEqual({ secondsAfterSuccess: 86400, secondsAfterFailure: 604800 });
  });

  test('disabled stages are skipped; the next stage starts from the base model', () => {
    const { wf, pipeline } = build({ preprocess: { enabled: false }, cpt: { enabled: false } });
    expect(tasksOf(wf).map((t: any) => t.name)).toEqual(['sft', 'rlhf', 'evaluate', 'deploy']);
    expect(jobEnv(wf, 'sft').BASE_MODEL_PATH).toBe('{{workflow.parameters.base-model}}');
    expect(parameters(wf)['base-model']).toBe(BASE);
    expect(parameters(wf)['data-path']).toBeUndefined();
    expect(pipeline.preprocessStep).toBeUndefined();
  });

  test('RLHF method options reach the stage', () => {
    const { wf } = build({ rlhf: { method: PreferenceMethod.ORPO, beta: 0.2 } });
    const env = jobEnv(wf, 'rlhf');
    expect(JSON.stringify(env)).toMatch(/orpo/i);
    expect(Object.values(env)).toContain('0.2');
  });

  test('toMermaid shows every step and edge', () => {
    const { pipeline } = build();
    const mermaid = expectMermaidOf(pipeline);
    for (const s of STEPS) expect(mermaid).toContain(`  ${s}["${s}`);
    expect(mermaid).toContain('preprocess --> cpt');
    expect(mermaid).toContain('cpt --> sft');
    expect(mermaid).toContain('sft --> rlhf');
    expect(mermaid).toContain('rlhf --> evaluate');
    expect(mermaid).toContain('evaluate -->|score >= min-score| deploy');
    expect(mermaid).toContain('cpt<br/>PyTorchJob 1x4 GPU');
  });
});

describe('KoreanLlmPipeline fanned out over models', () => {
  const models = [
    { name: 'qwen-7b', baseModel: 'unsloth/Qwen2.5-7B-bnb-4bit', modelSize: '7B', cpt: { gpusPerNode: 4 } },
    { name: 'qwen-72b', baseModel: 'unsloth/Qwen2.5-72B-bnb-4bit', modelSize: '72B', cpt: { gpusPerNode: 8 }, sft: { gpusPerNode: 8 }, rlhf: { gpusPerNode: 8 } },
  ];

  test('defaults', () => {
    const { docs } = build({ baseModel: undefined, server: undefined, models });
    expect(docs).toMatchSnapshot();
  });

  test('one parallel branch per model, with the requested GPUs', () => {
    const { wf, pipeline } = build({ baseModel: undefined, server: undefined, models });
    expect(pipeline.branches.map((b) => b.name)).toEqual(['qwen-7b', 'qwen-72b']);
    const names = tasksOf(wf).map((t: any) => t.name);
    expect(names).toEqual([
      'preprocess',
      'qwen-7b-cpt', 'qwen-7b-sft', 'qwen-7b-rlhf', 'qwen-7b-evaluate',
      'qwen-72b-cpt', 'qwen-72b-sft', 'qwen-72b-rlhf', 'qwen-72b-evaluate',
    ]);
    // no dependency between the branches
    for (const [mine, other] of [['qwen-7b', 'qwen-72b'], ['qwen-72b', 'qwen-7b']]) {
      for (const step of ['cpt', 'sft', 'rlhf', 'evaluate']) {
        const up = [...ancestors(wf, `${mine}-${step}`)];
        expect(up.filter((u) => u.startsWith(`${other}-`))).toEqual([]);
      }
    }
    expect(taskOf(wf, 'qwen-7b-cpt').depends).toBe('preprocess.Succeeded');
    expect(taskOf(wf, 'qwen-72b-cpt').depends).toBe('preprocess.Succeeded');
    const gpus = (step: string) => {
      const job = manifestOf(wf, step);
      return [job.spec.pytorchReplicaSpecs.Master.template.spec.containers[0].resources.limits['nvidia.com/gpu'], job.spec.nprocPerNode];
    };
    expect(gpus('qwen-7b-cpt')).toEqual([4, '4']);
    expect(gpus('qwen-72b-cpt')).toEqual([8, '8']);
    expect(gpus('qwen-72b-sft')).toEqual([8, '8']);
    expect(gpus('qwen-72b-rlhf')).toEqual([8, '8']);
    expect(gpus('qwen-7b-sft')).toEqual([2, '2']);
  });

  test('each model has its own base-model parameter, paths and labels', () => {
    const { wf } = build({ baseModel: undefined, server: undefined, models });
    const params = parameters(wf);
    expect(params['qwen-7b-base-model']).toBe('unsloth/Qwen2.5-7B-bnb-4bit');
    expect(params['qwen-72b-base-model']).toBe('unsloth/Qwen2.5-72B-bnb-4bit');
    expect(params['base-model']).toBeUndefined();
    expect(jobEnv(wf, 'qwen-72b-cpt').BASE_MODEL_PATH).toBe('{{workflow.parameters.qwen-72b-base-model}}');
    expect(jobEnv(wf, 'qwen-72b-cpt').MODEL_SIZE).toBe('72B');
    expect(jobEnv(wf, 'qwen-72b-cpt').OUTPUT_DIR).toBe('/output/runs/{{workflow.name}}/qwen-72b/cpt');
    expect(jobEnv(wf, 'qwen-72b-sft').BASE_MODEL_PATH).toBe('/output/runs/{{workflow.name}}/qwen-72b/cpt/model');
    expect(manifestOf(wf, 'qwen-72b-cpt').metadata.generateName).toBe('{{workflow.name}}-qwen-72b-cpt-');
    expect(manifestOf(wf, 'qwen-7b-rlhf').spec.pytorchReplicaSpecs.Master.template.metadata.labels['korean-llm/model']).toBe('qwen-7b');
  });

  test('as a WorkflowTemplate it has a name and the same spec', () => {
    const { wf } = build({ baseModel: undefined, server: undefined, models, kind: PipelineKind.workflowTemplate(), name: 'multi-model' });
    expect(wf.kind).toBe('WorkflowTemplate');
    expect(wf.metadata.name).toBe('multi-model');
    expect(wf.metadata.generateName).toBeUndefined();
    expect(wf.spec.entrypoint).toBe('main');
  });
});

describe('KoreanLlmPipeline bad input', () => {
  test('fails when both baseModel and models are given', () => {
    expect(() => newPipeline({ baseModel: BASE, models: [{ name: 'a', baseModel: BASE }] }))
      .toThrow(/'baseModel' must be unset when 'models' is given \(each model has its own base model\), got 'unsloth\/Qwen2.5-7B-bnb-4bit'/);
  });

  test('fails when neither baseModel nor models is given', () => {
    expect(() => newPipeline({})).toThrow(/'baseModel' or 'models' is required/);
    expect(() => newPipeline({ models: [] })).toThrow(/'baseModel' or 'models' is required/);
  });

  test('fails when two models have the same name', () => {
    expect(() => newPipeline({ models: [{ name: 'qwen', baseModel: BASE }, { name: 'qwen', baseModel: 'unsloth/Qwen2.5-72B-bnb-4bit' }] }))
      .toThrow(/'models\[\].name' must be unique: it appears more than once, got 'qwen'/);
  });

  test('fails when a model name is not a DNS label', () => {
    expect(() => newPipeline({ models: [{ name: 'Qwen_7B', baseModel: BASE }] })).toThrow(/'models\[\].name' must be a DNS-1035 label .*, got 'Qwen_7B'/);
  });

  test('fails when a server is given with several models', () => {
    expect(() => newPipeline({ models: [{ name: 'a', baseModel: BASE }, { name: 'b', baseModel: BASE }], server: server() }))
      .toThrow(/'server' must be used with a single model .*, got 'llm-inference-server'/);
  });

  test('fails when the min score is outside 0..1', () => {
    expect(() => newPipeline({ baseModel: BASE, server: server(), evaluation: { minScore: 55 } }))
      .toThrow(/'evaluation.minScore' must be a number from 0 to 1, got 55/);
    expect(() => newPipeline({ baseModel: BASE, evaluation: { minScore: -0.1 } }))
      .toThrow(/'evaluation.minScore' must be a number from 0 to 1, got -0.1/);
  });

  test('fails when every training stage is disabled', () => {
    expect(() => newPipeline({ baseModel: BASE, cpt: { enabled: false }, sft: { enabled: false }, rlhf: { enabled: false } }))
      .toThrow(/'cpt\/sft\/rlhf' must be at least one enabled training stage, got 'all disabled'/);
  });

  test('fails when the base model is not a Hugging Face id', () => {
    expect(() => newPipeline({ baseModel: 'not a model' })).toThrow(/'baseModel' must be a Hugging Face model id .*, got 'not a model'/);
  });

  test('fails when preprocessing options are out of range', () => {
    expect(() => newPipeline({ baseModel: BASE, preprocess: { minHangulRatio: 2 } })).toThrow(/'preprocess.minHangulRatio' must be a number from 0 to 1, got 2/);
    expect(() => newPipeline({ baseModel: BASE, preprocess: { inputPath: 'data/raw' } })).toThrow(/'preprocess.inputPath' must be an absolute path .*, got 'data\/raw'/);
  });

  test('fails when the image is untagged', () => {
    expect(() => newPipeline({ baseModel: BASE, image: 'unsloth-korean' })).toThrow(/'image' must be an image pinned to a tag or digest .*, got 'unsloth-korean'/);
  });

  test('fails when the name is too long for a 2-node stage\'s worker Services', () => {
    const chart = newChart();
    new KoreanLlmPipeline(chart, 'pipeline', { image: IMAGE, baseModel: BASE, name: 'korean-llm-training-pipeline-production', cpt: { nodes: 2 } });
    expect(() => Testing.synth(chart)).toThrow(/'name' must be short enough that '<run>-cpt-xxxxx-worker-N' fits 63 characters \(64 now\)/);
  });
});
