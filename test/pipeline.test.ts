import { existsSync, mkdtempSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ApiObject, App, Chart, Duration, JsonPatch, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { EXAMPLES } from '../examples';
import { vllmDeployment as server } from '../examples/pipelines';
import {
  BaseModel, CptStage, GpuTrainingJob, KoreanBenchmark, Pipeline, PipelineProps, RestartPolicy,
  SecretKey, SftStage, TrainerCommand, TrainingVolumes,
} from '../src';
import { argoSemanticErrors, envOf, evaluateWhen, expectArgoValid, expectMermaidOf, manifestOf, taskOf, templateOf } from './util/argo';
import { argoTemplates, embeddedManifests, expectValid } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
const BASE = 'unsloth/Qwen2.5-7B-bnb-4bit';
const ARGO_KINDS = ['Workflow', 'WorkflowTemplate', 'CronWorkflow'];
/** A PyTorchJob's Failed condition at every index it can have. */
const CONDITION_FAILED = Array.from({ length: 6 }, (_, i) => `status.conditions.${i}.type == Failed`).join(',');

function newChart(): Chart {
  return new Chart(Testing.app(), 'test', { namespace: 'llm-training', disableResourceNameHashes: true });
}

function newPipeline(scope: Construct = newChart(), props: Partial<PipelineProps> = {}, id = 'pipeline'): Pipeline {
  return new Pipeline(scope, id, { image: IMAGE, name: 'demo', ...props });
}

function sftOf(scope: Construct, id = 'sft', props: any = {}): SftStage {
  return new SftStage(scope, id, { image: IMAGE, baseModel: BaseModel.huggingFace(BASE), ...props });
}

/** Synthesizes, checks the schemas and Argo's controller rules, and returns the documents. */
function synth(scope: Construct): any[] {
  const docs = Testing.synth(Chart.of(scope));
  expectValid(docs);
  expectArgoValid(docs);
  return docs;
}

function workflowOf(docs: any[]): any {
  const found = docs.filter((d) => ARGO_KINDS.includes(d.kind));
  expect(found).toHaveLength(1);
  return found[0];
}

/** A pipeline with one SFT stage, its evaluation and a gated deployment. */
function sftPipeline(props: Partial<PipelineProps> = {}): { pipeline: Pipeline; sft: SftStage; docs: any[]; wf: any } {
  const pipeline = newPipeline(newChart(), props);
  const sft = sftOf(pipeline);
  pipeline.addStage(sft);
  const evaluation = pipeline.addEvaluation('evaluate', { model: sft });
  pipeline.addDeployment('deploy', { model: sft, server: server(), gate: evaluation, minScore: 0.6 });
  const docs = synth(pipeline);
  return { pipeline, sft, docs, wf: workflowOf(docs) };
}

/** A minimal valid Workflow for the self-tests of `argoSemanticErrors`. */
function goodWorkflow(): any {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { generateName: 'w-' },
    spec: {
      entrypoint: 'main',
      onExit: 'exit',
      arguments: { parameters: [{ name: 'min-score', value: '0.5' }, { name: 'lr', value: '1e-5' }] },
      volumes: [{ name: 'output', persistentVolumeClaim: { claimName: 'model-output-pvc' } }],
      templates: [
        {
          name: 'main',
          dag: {
            tasks: [
              { name: 'train', template: 'train' },
              { name: 'evaluate', template: 'evaluate', depends: 'train.Succeeded' },
              { name: 'deploy', template: 'deploy', depends: 'evaluate.Succeeded', when: '{{tasks.evaluate.outputs.parameters.score}} >= {{workflow.parameters.min-score}}' },
            ],
          },
        },
        {
          name: 'train',
          retryStrategy: { limit: 1 },
          resource: {
            action: 'create',
            successCondition: 'status.replicaStatuses.Master.succeeded > 0',
            failureCondition: 'status.replicaStatuses.Master.failed > 0',
            manifest: JSON.stringify({ kind: 'PyTorchJob', metadata: { labels: { attempt: '{{retries}}' } }, spec: { lr: '{{workflow.parameters.lr}}' } }),
          },
        },
        {
          name: 'evaluate',
          inputs: { parameters: [{ name: 'tasks' }] },
          container: { image: IMAGE, args: ['{{inputs.parameters.tasks}}'], volumeMounts: [{ name: 'output', mountPath: '/output' }] },
          outputs: { parameters: [{ name: 'score', valueFrom: { path: '/tmp/score' } }] },
        },
        { name: 'deploy', resource: { action: 'patch', manifest: '{}' } },
        { name: 'exit', steps: [[{ name: 'cleanup', template: 'cleanup', when: '{{workflow.status}} != Succeeded' }]] },
        { name: 'cleanup', resource: { action: 'delete', flags: ['pytorchjobs', '--selector', 'a=b'] } },
      ],
    },
  };
}

function mutate(fn: (spec: any) => void, kind = 'Workflow'): any {
  const wf = goodWorkflow();
  fn(wf.spec);
  if (kind === 'CronWorkflow') return { ...wf, kind, metadata: { name: 'c' }, spec: { schedules: ['0 3 * * 0'], workflowSpec: wf.spec } };
  return { ...wf, kind };
}

function tmpl(spec: any, name: string): any {
  return spec.templates.find((t: any) => t.name === name);
}

function dagTask(spec: any, name: string): any {
  return tmpl(spec, 'main').dag.tasks.find((t: any) => t.name === name);
}

describe('argoSemanticErrors (self-test)', () => {
  test('accepts a correct Workflow, WorkflowTemplate and CronWorkflow', () => {
    expect(argoSemanticErrors(goodWorkflow())).toEqual([]);
    expect(argoSemanticErrors(mutate(() => undefined, 'WorkflowTemplate'))).toEqual([]);
    expect(argoSemanticErrors(mutate(() => undefined, 'CronWorkflow'))).toEqual([]);
  });

  test('ignores other kinds', () => {
    expect(argoSemanticErrors({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } })).toEqual([]);
  });

  const cases: Array<[string, (spec: any) => void, RegExp]> = [
    ['a missing entrypoint template', (s) => { s.entrypoint = 'nope'; }, /entrypoint 'nope' is not a template/],
    ['no entrypoint', (s) => { delete s.entrypoint; }, /spec.entrypoint is not set/],
    ['a missing onExit template', (s) => { s.onExit = 'gone'; }, /onExit 'gone' is not a template/],
    ['a task with a missing template', (s) => { dagTask(s, 'train').template = 'trian'; }, /task 'train' uses template 'trian', which does not exist/],
    ['a depends on an unknown task', (s) => { dagTask(s, 'evaluate').depends = 'trian.Succeeded'; }, /task 'evaluate' depends on 'trian', which is not a task of this DAG/],
    ['dependencies on an unknown task', (s) => { delete dagTask(s, 'evaluate').depends; dagTask(s, 'evaluate').dependencies = ['x']; }, /depends on 'x', which is not a task/],
    ['both depends and dependencies', (s) => { dagTask(s, 'evaluate').dependencies = ['train']; }, /sets both 'depends' and 'dependencies'/],
    ['a cycle', (s) => { dagTask(s, 'train').depends = 'deploy.Succeeded'; }, /dependency cycle/],
    ['an undeclared input parameter', (s) => { tmpl(s, 'evaluate').inputs.parameters = []; }, /'\{\{inputs.parameters.tasks\}\}' is used, but 'tasks' is not one of its inputs.parameters/],
    ['an undeclared workflow parameter in a manifest', (s) => { s.arguments.parameters = [{ name: 'min-score', value: '0.5' }]; }, /'\{\{workflow.parameters.lr\}\}' is used, but 'lr' is not in spec.arguments.parameters/],
    ['an undeclared workflow parameter in when', (s) => { s.arguments.parameters = [{ name: 'lr', value: '1' }]; }, /'min-score' is not in spec.arguments.parameters/],
    ['a task output of a task not depended on', (s) => { dagTask(s, 'deploy').depends = 'train.Succeeded'; }, /task 'deploy' refers to '\{\{tasks.evaluate.outputs.parameters.score\}\}' without depending on 'evaluate'/],
    ['a task output of an unknown task', (s) => { dagTask(s, 'deploy').when = '{{tasks.eval.outputs.parameters.score}} >= 0.5'; }, /'eval' is not a task of this DAG/],
    ['an undeclared output parameter', (s) => { tmpl(s, 'evaluate').outputs.parameters[0].name = 'accuracy'; }, /template 'evaluate' declares no output parameter 'score'/],
    ['a volumeMount of an undeclared volume', (s) => { s.volumes = []; }, /volumeMount 'output' names no volume/],
    ['a quoted placeholder before >=', (s) => { dagTask(s, 'deploy').when = '\'{{tasks.evaluate.outputs.parameters.score}}\' >= 0.5'; }, /quotes a placeholder next to a numeric comparator/],
    ['a quoted placeholder after >', (s) => { dagTask(s, 'deploy').when = '0.5 > "{{tasks.evaluate.outputs.parameters.score}}"'; }, /quotes a placeholder next to a numeric comparator/],
    ['create without a failureCondition', (s) => { delete tmpl(s, 'train').resource.failureCondition; }, /resource action 'create' needs both successCondition and failureCondition/],
    ['create without a successCondition', (s) => { delete tmpl(s, 'train').resource.successCondition; }, /needs both successCondition and failureCondition/],
    ['volumeClaimTemplates', (s) => { s.volumeClaimTemplates = [{ metadata: { name: 'training-data' } }]; }, /volumeClaimTemplates is set/],
    ['duplicate template names', (s) => { s.templates.push({ name: 'deploy', resource: { action: 'patch', manifest: '{}' } }); }, /template name 'deploy' is not unique/],
    ['{{retries}} without a retryStrategy', (s) => { delete tmpl(s, 'train').retryStrategy; }, /'\{\{retries\}\}' is used without a retryStrategy/],
    ['an exit-handler step with a missing template', (s) => { tmpl(s, 'exit').steps[0][0].template = 'clean'; }, /step 'cleanup' uses template 'clean'/],
  ];
  for (const [what, fn, message] of cases) {
    test(`catches ${what}`, () => {
      const errors = argoSemanticErrors(mutate(fn));
      expect(errors.join('\n')).toMatch(message);
    });
  }

  test('checks the workflowSpec of a CronWorkflow', () => {
    const errors = argoSemanticErrors(mutate((s) => { s.volumeClaimTemplates = []; s.entrypoint = 'x'; }, 'CronWorkflow'));
    expect(errors.join('\n')).toMatch(/volumeClaimTemplates/);
    expect(errors.join('\n')).toMatch(/entrypoint 'x'/);
  });

  test('evaluateWhen substitutes and compares numbers', () => {
    expect(evaluateWhen('{{a}} >= {{b}} && {{a}} > 0.1', { a: '0.5', b: '0.5' })).toBe(true);
    expect(evaluateWhen('{{a}} > {{b}}', { a: '0.5', b: '0.5' })).toBe(false);
    expect(() => evaluateWhen('{{a}} > {{c}}', { a: '1' })).toThrow(/unsubstituted/);
  });
});

describe('pipeline examples follow Argo\'s controller rules', () => {
  for (const [name, build] of Object.entries(EXAMPLES)) {
    test(name, () => {
      const docs = Testing.synth(build(Testing.app() as App));
      for (const d of docs) expect(argoSemanticErrors(d)).toEqual([]);
    });
  }
});

describe('Pipeline', () => {
  test('defaults', () => {
    const { docs } = sftPipeline();
    expect(docs).toMatchSnapshot();
  });

  test('a training step creates the PyTorchJob; success from its replica counts, failure from them or a Failed condition at any index', () => {
    const { wf } = sftPipeline();
    const t = templateOf(wf, 'sft');
    expect(t.resource.action).toBe('create');
    expect(t.resource.setOwnerReference).toBe(true);
    expect(t.resource.successCondition).toBe('status.replicaStatuses.Master.succeeded > 0');
    // see test/job-waits.test.ts for every branch of the operator
    expect(t.resource.failureCondition).toBe(`status.replicaStatuses.Master.failed > 0,${CONDITION_FAILED}`);
  });

  test('a multi-node stage also fails on a failed Worker', () => {
    const pipeline = newPipeline();
    pipeline.addStage(sftOf(pipeline, 'sft', { nodes: 2 }));
    const wf = workflowOf(synth(pipeline));
    expect(templateOf(wf, 'sft').resource.failureCondition).toBe(`status.replicaStatuses.Master.failed > 0,status.replicaStatuses.Worker.failed > 0,${CONDITION_FAILED}`);
    expect(templateOf(wf, 'sft').resource.successCondition).toBe('status.replicaStatuses.Master.succeeded > 0');
  });

  test('an elastic (Worker-only) job succeeds on its Workers', () => {
    const pipeline = newPipeline();
    pipeline.addStage(sftOf(pipeline, 'sft', { elastic: { minNodes: 2, maxNodes: 4 } }));
    const wf = workflowOf(synth(pipeline));
    const r = templateOf(wf, 'sft').resource;
    expect(Object.keys(manifestOf(wf, 'sft').spec.pytorchReplicaSpecs)).toEqual(['Worker']);
    expect(r.successCondition).toMatch(/^status\.replicaStatuses\.Worker\.succeeded > \d+$/);
    expect(r.failureCondition).toBe(`status.replicaStatuses.Worker.failed > 0,${CONDITION_FAILED}`);
    expect(r.successCondition + r.failureCondition).not.toMatch(/Master/);
  });

  test('the embedded job never restarts in place and gets a new name per attempt', () => {
    const { wf } = sftPipeline();
    const job = manifestOf(wf, 'sft');
    expect(job.metadata.name).toBeUndefined();
    expect(job.metadata.generateName).toBe('{{workflow.name}}-sft-');
    // no backoffLimit: a failed pod takes the operator's normal path (counted, kept for its logs)
    expect(job.spec.runPolicy.backoffLimit).toBeUndefined();
    for (const spec of Object.values<any>(job.spec.pytorchReplicaSpecs)) expect(spec.restartPolicy).toBe('Never');
  });

  test('each step outlives its job and retries with backoff', () => {
    const { wf } = sftPipeline();
    const t = templateOf(wf, 'sft');
    expect(t.activeDeadlineSeconds).toBeGreaterThan(manifestOf(wf, 'sft').spec.runPolicy.activeDeadlineSeconds);
    for (const name of ['sft', 'evaluate', 'deploy']) {
      const s = templateOf(wf, name);
      expect(s.activeDeadlineSeconds).toBeGreaterThan(0);
      expect(s.retryStrategy).toEqual({ limit: 2, retryPolicy: 'Always', backoff: { duration: '120s', factor: 2, cap: '3600s' } });
    }
  });

  test('retry options of the pipeline and of a step', () => {
    const pipeline = newPipeline(newChart(), { retry: { limit: 4, backoff: Duration.minutes(1) } });
    const sft = sftOf(pipeline);
    pipeline.addStage(sft, { retry: { limit: 1 } });
    pipeline.addEvaluation('evaluate', { model: sft });
    const wf = workflowOf(synth(pipeline));
    expect(templateOf(wf, 'sft').retryStrategy).toEqual({ limit: 1, retryPolicy: 'Always', backoff: { duration: '60s', factor: 2, cap: '3600s' } });
    expect(templateOf(wf, 'evaluate').retryStrategy.limit).toBe(4);
  });

  for (const policy of [RestartPolicy.ON_FAILURE, RestartPolicy.EXIT_CODE]) {
    test(`fails when a stage with restartPolicy ${policy} is added`, () => {
      const pipeline = newPipeline();
      const sft = sftOf(pipeline, 'sft', { restartPolicy: policy });
      expect(() => pipeline.addStage(sft)).toThrow(new RegExp(`'restartPolicy' must be RestartPolicy.NEVER inside a pipeline: .*pod never reaches phase Failed.*, got '${policy}'`));
    });
  }

  test('a stage with restartPolicy NEVER may be added', () => {
    const pipeline = newPipeline();
    pipeline.addStage(sftOf(pipeline, 'sft', { restartPolicy: RestartPolicy.NEVER }));
    expect(workflowOf(synth(pipeline))).toBeDefined();
  });

  test('a stage appears only inside the Workflow, with its JSON patches and labels', () => {
    const pipeline = newPipeline();
    const sft = sftOf(pipeline);
    ApiObject.of(sft).addJsonPatch(JsonPatch.add('/spec/runPolicy/suspend', false));
    ApiObject.of(sft).metadata.addLabel('team', 'korean-nlp');
    pipeline.addStage(sft);
    const docs = synth(pipeline);
    expect(docs.filter((d) => d.kind === 'PyTorchJob')).toEqual([]);
    const wf = workflowOf(docs);
    const job = manifestOf(wf, 'sft');
    expect(job.spec.runPolicy.suspend).toBe(false);
    expect(job.metadata.labels.team).toBe('korean-nlp');
    expect(embeddedManifests(wf)).toHaveLength(1);
  });

  test('a standalone job in the same chart stays a top-level PyTorchJob', () => {
    const chart = newChart();
    const pipeline = newPipeline(chart);
    pipeline.addStage(sftOf(pipeline));
    new GpuTrainingJob(chart, 'probe', { image: IMAGE, trainerCommand: TrainerCommand.SFT });
    const docs = synth(chart);
    expect(docs.filter((d) => d.kind === 'PyTorchJob')).toHaveLength(1);
  });

  test('learning rate and base model become workflow parameters with the props as defaults', () => {
    const pipeline = newPipeline();
    pipeline.addStage(sftOf(pipeline, 'sft', { learningRate: 1e-4 }));
    const wf = workflowOf(synth(pipeline));
    expect(wf.spec.arguments.parameters).toEqual([
      { name: 'sft-learning-rate', value: '0.0001', description: 'sft: peak learning rate' },
      { name: 'sft-base-model', value: BASE, description: 'the model to start from' },
    ]);
    const env = envOf(manifestOf(wf, 'sft').spec.pytorchReplicaSpecs.Master.template.spec.containers[0]);
    expect(env.LEARNING_RATE).toBe('{{workflow.parameters.sft-learning-rate}}');
    expect(env.BASE_MODEL_PATH).toBe('{{workflow.parameters.sft-base-model}}');
  });

  test('parameterize false keeps the literal values', () => {
    const pipeline = newPipeline();
    pipeline.addStage(sftOf(pipeline, 'sft', { learningRate: 1e-4 }), { parameterize: false });
    const wf = workflowOf(synth(pipeline));
    expect(wf.spec.arguments).toBeUndefined();
    const env = envOf(manifestOf(wf, 'sft').spec.pytorchReplicaSpecs.Master.template.spec.containers[0]);
    expect(env.LEARNING_RATE).toBe('0.0001');
    expect(env.BASE_MODEL_PATH).toBe(BASE);
  });

  test('a stage from another stage depends on it and starts from its model', () => {
    const pipeline = newPipeline();
    const cpt = new CptStage(pipeline, 'cpt', { image: IMAGE, baseModel: BaseModel.huggingFace(BASE) });
    const sft = sftOf(pipeline, 'sft', { baseModel: BaseModel.fromStage(cpt) });
    pipeline.addStage(cpt);
    const step = pipeline.addStage(sft);
    const wf = workflowOf(synth(pipeline));
    expect(step.dependencies.map((d) => d.name)).toEqual(['cpt']);
    expect(taskOf(wf, 'sft').depends).toBe('cpt.Succeeded');
    const cptEnv = envOf(manifestOf(wf, 'cpt').spec.pytorchReplicaSpecs.Master.template.spec.containers[0]);
    const sftEnv = envOf(manifestOf(wf, 'sft').spec.pytorchReplicaSpecs.Master.template.spec.containers[0]);
    expect(cptEnv.OUTPUT_DIR).toContain('{{workflow.name}}');
    expect(sftEnv.BASE_MODEL_PATH).toBe(`${cptEnv.OUTPUT_DIR}/model`);
  });

  test('the evaluate step exposes score from a file and the deploy step is gated on it, unquoted', () => {
    const { wf } = sftPipeline();
    const outputs = templateOf(wf, 'evaluate').outputs.parameters;
    expect(outputs[0]).toEqual({ name: 'score', valueFrom: { path: '/tmp/score' } });
    // the trainer also writes one file per task and per check of the evaluation gate
    expect(outputs.slice(1).map((o: any) => o.name)).toEqual(['score-kobest', 'score-kmmlu', 'score-haerae', 'retention', 'champion-margin', 'summary']);
    expect(envOf(templateOf(wf, 'evaluate').container).SCORE_FILE).toBe('/tmp/score');
    expect(taskOf(wf, 'deploy').when).toBe('{{tasks.evaluate.outputs.parameters.score}} >= {{workflow.parameters.min-score}}');
    expect(wf.spec.arguments.parameters.find((p: any) => p.name === 'min-score').value).toBe('0.6');
    expect(taskOf(wf, 'deploy').depends).toBe('sft.Succeeded && evaluate.Succeeded');
  });

  test('the deploy step patches exactly its server', () => {
    const { wf } = sftPipeline();
    const r = templateOf(wf, 'deploy').resource;
    expect(r.action).toBe('patch');
    expect(JSON.parse(r.manifest)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'llm-inference-server' },
      spec: { template: { metadata: { annotations: { 'korean-llm/model-path': '/output/runs/{{workflow.name}}/qwen2-5-7b-bnb-4bit/sft/model' } } } },
    });
  });

  test('the Role is least privilege, without wildcards, and bound to the workflow\'s ServiceAccount', () => {
    const { docs, wf } = sftPipeline();
    const role = docs.find((d) => d.kind === 'Role');
    expect(role.rules).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['create', 'patch'] },
      { apiGroups: ['kubeflow.org'], resources: ['pytorchjobs'], verbs: ['create', 'get', 'list', 'watch', 'patch', 'delete'] },
      { apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['llm-inference-server'], verbs: ['get', 'patch'] },
    ]);
    expect(JSON.stringify(role)).not.toContain('*');
    const binding = docs.find((d) => d.kind === 'RoleBinding');
    const sa = docs.find((d) => d.kind === 'ServiceAccount');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ apiGroup: '', kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'llm-training' }]);
    expect(wf.spec.serviceAccountName).toBe(sa.metadata.name);
  });

  test('a pipeline without training or deploy steps only writes workflowtaskresults', () => {
    const pipeline = newPipeline();
    pipeline.addContainerStep('hello', { command: ['python', '-c', 'print(1)'] });
    const docs = synth(pipeline);
    expect(docs.find((d) => d.kind === 'Role').rules).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['create', 'patch'] },
    ]);
    // nothing to clean up and nobody to notify: no exit handler
    expect(workflowOf(docs).spec.onExit).toBeUndefined();
  });

  test('two pipelines in one namespace have distinct names for every object', () => {
    const chart = newChart();
    for (const id of ['first', 'second']) {
      const p = new Pipeline(chart, id, { image: IMAGE });
      p.addStage(sftOf(p));
    }
    const docs = synth(chart);
    expect(docs).toHaveLength(8);
    const names = docs.map((d) => `${d.kind}/${d.metadata.name ?? d.metadata.generateName}`);
    expect(new Set(names).size).toBe(names.length);
    const prefixes = docs.filter((d) => d.kind === 'Workflow').map((d) => d.metadata.generateName);
    expect(prefixes[0]).not.toBe(prefixes[1]);
    // each workflow runs as its own ServiceAccount
    const sas = docs.filter((d) => d.kind === 'Workflow').map((d) => d.spec.serviceAccountName);
    expect(new Set(sas).size).toBe(2);
  });

  test('the exit handler cleans up the run\'s jobs whatever the run\'s end, without changing its phase', () => {
    const { wf } = sftPipeline();
    expect(wf.spec.onExit).toBe('exit-handler');
    // see test/exit-handler.test.ts for what the script deletes and keeps
    expect(templateOf(wf, 'exit-handler').steps).toEqual([[{ name: 'cleanup', template: 'cleanup', continueOn: { failed: true, error: true } }]]);
    const env = envOf(templateOf(wf, 'cleanup').container);
    expect(env).toMatchObject({ RUN_SELECTOR: 'korean-llm/run={{workflow.name}}', JOB_RESOURCES: 'kubeflow.org/v1/pytorchjobs', RUN_STATUS: '{{workflow.status}}' });
  });

  test('cleanupOnExit false drops the cleanup', () => {
    const { wf } = sftPipeline({ cleanupOnExit: false });
    expect(wf.spec.onExit).toBeUndefined();
    expect(argoTemplates(wf).map((t) => t.name)).not.toContain('cleanup');
  });

  test('slackWebhook posts the result with the URL from a Secret', () => {
    const { wf } = sftPipeline({ slackWebhook: SecretKey.of('slack-webhook', 'url') });
    const steps = templateOf(wf, 'exit-handler').steps[0].map((s: any) => s.name);
    expect(steps).toEqual(['cleanup', 'notify']);
    const notify = templateOf(wf, 'notify');
    const env = envOf(notify.container);
    // optional: a missing Secret fails the notify step, not the pod's creation (and never the run)
    expect(env.SLACK_WEBHOOK_URL).toEqual({ secretKeyRef: { name: 'slack-webhook', key: 'url', optional: true } });
    expect(env.RUN_STATUS).toBe('{{workflow.status}}');
    expect(JSON.stringify(wf)).not.toMatch(/hooks\.slack\.com|https?:\/\/[^"]*slack/);
    expect(notify.activeDeadlineSeconds).toBeGreaterThan(0);
  });

  test('podGC and ttlStrategy are set', () => {
    const { wf } = sftPipeline({ ttlAfterSuccess: Duration.hours(2) });
    expect(wf.spec.podGC).toEqual({ strategy: 'OnPodSuccess' });
    expect(wf.spec.ttlStrategy).toEqual({ secondsAfterSuccess: 7200, secondsAfterFailure: 604800 });
  });

  test('mounts existing claims only', () => {
    const storage = TrainingVolumes.fromClaims({ dataClaimName: 'corpus', outputClaimName: 'models' });
    const pipeline = newPipeline(newChart(), { storage });
    pipeline.addStage(sftOf(pipeline, 'sft', { storage }));
    const wf = workflowOf(synth(pipeline));
    expect(wf.spec.volumeClaimTemplates).toBeUndefined();
    const claims = wf.spec.volumes.filter((vol: any) => vol.persistentVolumeClaim).map((vol: any) => vol.persistentVolumeClaim.claimName);
    expect(claims).toEqual(['corpus', 'models']);
    const jobVolumes = manifestOf(wf, 'sft').spec.pytorchReplicaSpecs.Master.template.spec.volumes;
    expect(jobVolumes.filter((vol: any) => vol.persistentVolumeClaim).map((vol: any) => vol.persistentVolumeClaim.claimName)).toEqual(['corpus', 'models']);
  });

  test('run labels on the workflow\'s pods and the jobs\' pods; the Argo label unless argoLogs is false', () => {
    const { wf } = sftPipeline();
    expect(wf.spec.podMetadata.labels['korean-llm/run']).toBe('{{workflow.name}}');
    const job = manifestOf(wf, 'sft');
    const podLabels = job.spec.pytorchReplicaSpecs.Master.template.metadata.labels;
    expect(podLabels['korean-llm/run']).toBe('{{workflow.name}}');
    expect(podLabels['workflows.argoproj.io/workflow']).toBe('{{workflow.name}}');
    expect(job.metadata.labels['korean-llm/run']).toBe('{{workflow.name}}');

    const quiet = sftPipeline({ argoLogs: false }).wf;
    const quietLabels = manifestOf(quiet, 'sft').spec.pytorchReplicaSpecs.Master.template.metadata.labels;
    expect(quietLabels['korean-llm/run']).toBe('{{workflow.name}}');
    expect(quietLabels['workflows.argoproj.io/workflow']).toBeUndefined();
  });

  test('toMermaid lists every step and edge', () => {
    const { pipeline } = sftPipeline();
    const mermaid = pipeline.toMermaid();
    expect(mermaid).toMatch(/^flowchart LR\n/);
    expectMermaidOf(pipeline);
    expect(mermaid).toContain('sft<br/>PyTorchJob 1x2 GPU');
    expect(mermaid).toContain('evaluate -->|score >= min-score| deploy');
  });

  test('a custom container step', () => {
    const pipeline = newPipeline();
    const sft = sftOf(pipeline);
    const train = pipeline.addStage(sft);
    const step = pipeline.addContainerStep('export', {
      command: ['python', '-m', 'korean_llm_trainer', 'export'],
      env: { MODEL_PATH: sft.modelPath },
      secretEnv: { HF_TOKEN: SecretKey.of('hf', 'token') },
      outputFiles: { location: '/tmp/location' },
      dependsOn: [train],
    });
    const wf = workflowOf(synth(pipeline));
    const t = templateOf(wf, 'export');
    expect(step.outputParameter('location')).toBe('{{tasks.export.outputs.parameters.location}}');
    expect(t.container.image).toBe(IMAGE);
    expect(envOf(t.container).HF_TOKEN).toEqual({ secretKeyRef: { name: 'hf', key: 'token' } });
    expect(t.nodeSelector).toBeUndefined();
    expect(taskOf(wf, 'export').depends).toBe('sft.Succeeded');
  });
});

describe('custom pipeline example (two candidates, the better one deployed)', () => {
  const wf = workflowOf(Testing.synth(EXAMPLES['custom-pipeline'](Testing.app() as App)));
  const low = taskOf(wf, 'deploy-low-lr').when;
  const high = taskOf(wf, 'deploy-high-lr').when;
  const run = (lowScore: string, highScore: string, min = '0.5') => {
    const values = {
      'tasks.eval-low-lr.outputs.parameters.score': lowScore,
      'tasks.eval-high-lr.outputs.parameters.score': highScore,
      'workflow.parameters.min-score': min,
    };
    return [evaluateWhen(low, values), evaluateWhen(high, values)];
  };

  test('the deploy steps are mutually exclusive on a tie', () => {
    expect(run('0.7', '0.7')).toEqual([true, false]);
  });

  test('the better candidate deploys', () => {
    expect(run('0.6', '0.7')).toEqual([false, true]);
    expect(run('0.8', '0.7')).toEqual([true, false]);
  });

  test('neither deploys below min-score', () => {
    expect(run('0.4', '0.3')).toEqual([false, false]);
  });
});

describe('Pipeline bad input', () => {
  test('fails when the pipeline has no steps', () => {
    const pipeline = newPipeline();
    expect(() => Testing.synth(Chart.of(pipeline))).toThrow(/pipeline test\/pipeline has no steps: add at least one with addStage/);
  });

  test('fails when steps form a dependency cycle', () => {
    const pipeline = newPipeline();
    const a = pipeline.addContainerStep('a', { command: ['true'] });
    const b = pipeline.addContainerStep('b', { command: ['true'], dependsOn: [a] });
    const c = pipeline.addContainerStep('c', { command: ['true'], dependsOn: [b] });
    a.addDependency(c);
    expect(() => Testing.synth(Chart.of(pipeline))).toThrow(/has a dependency cycle: a -> c -> b -> a/);
  });

  test('the DAG is checked again after a change made once it was validated', () => {
    // cdk8s validates the app once per chart; the check is kept until a step or dependency is added
    const pipeline = newPipeline();
    expect(pipeline.node.validate()).toEqual([expect.stringMatching(/has no steps/)]);
    const a = pipeline.addContainerStep('a', { command: ['true'] });
    const b = pipeline.addContainerStep('b', { command: ['true'], dependsOn: [a] });
    expect(pipeline.node.validate()).toEqual([]);
    expect(pipeline.node.validate()).toEqual([]);
    a.addDependency(b);
    expect(pipeline.node.validate()).toEqual([expect.stringMatching(/has a dependency cycle: a -> b -> a/)]);
    // adding a dependency that is already there changes nothing
    a.addDependency(b);
    expect(pipeline.node.validate()).toEqual([expect.stringMatching(/has a dependency cycle/)]);
  });

  test('a pipeline synthesized once still fails synthesis after a later cycle', () => {
    // the first synthesis validates (and keeps) a valid DAG; the cycle added afterwards must be seen
    const chart = newChart();
    const pipeline = newPipeline(chart);
    const a = pipeline.addContainerStep('a', { command: ['true'] });
    for (let i = 0; i < 3; i++) expect(pipeline.node.validate()).toEqual([]);
    const b = pipeline.addContainerStep('b', { command: ['true'], dependsOn: [a] });
    const tasks = workflowOf(synth(chart)).spec.templates.find((t: any) => t.dag).dag.tasks.map((t: any) => t.name);
    expect(tasks).toEqual(expect.arrayContaining(['a', 'b']));
    a.addDependency(b);
    expect(() => Testing.synth(chart)).toThrow(/has a dependency cycle: a -> b -> a/);
  });

  test('fails when a step depends on itself', () => {
    const pipeline = newPipeline();
    const a = pipeline.addContainerStep('a', { command: ['true'] });
    expect(() => a.addDependency(a)).toThrow(/'dependsOn' must be other steps \(a step cannot depend on itself\), got 'a'/);
  });

  test('fails when a step depends on a step of another pipeline', () => {
    const chart = newChart();
    const one = newPipeline(chart, {}, 'one');
    const two = newPipeline(chart, { name: 'other' }, 'two');
    const foreign = two.addContainerStep('prepare', { command: ['true'] });
    expect(() => one.addContainerStep('train', { command: ['true'], dependsOn: [foreign] }))
      .toThrow(/'dependsOn' of step 'train' must be steps of the same pipeline \(test\/one\), got step 'prepare' of test\/two/);
  });

  test('fails when two steps have the same name', () => {
    const pipeline = newPipeline();
    pipeline.addContainerStep('prepare', { command: ['true'] });
    expect(() => pipeline.addContainerStep('prepare', { command: ['true'] })).toThrow(/'step name' must be unique within the pipeline .*, got 'prepare'/);
    const sft = sftOf(pipeline, 'prepare');
    expect(() => pipeline.addStage(sft)).toThrow(/'step name' must be unique within the pipeline/);
  });

  test('fails when a step takes a reserved name', () => {
    const pipeline = newPipeline();
    expect(() => pipeline.addContainerStep('main', { command: ['true'] })).toThrow(/not main, exit-handler, cleanup or notify\), got 'main'/);
  });

  test('fails when the deploy gate does not declare the compared output', () => {
    const pipeline = newPipeline();
    const sft = sftOf(pipeline);
    const train = pipeline.addStage(sft);
    expect(() => pipeline.addDeployment('deploy', { model: sft, server: server(), gate: train }))
      .toThrow("'gate' must be a step declaring output parameter 'score' (an evaluate step, or a container step with outputFiles; 'sft' declares 'job-name'), got 'sft'");
  });

  test('fails when minScore is outside 0..1', () => {
    const pipeline = newPipeline();
    const sft = sftOf(pipeline);
    pipeline.addStage(sft);
    const evaluation = pipeline.addEvaluation('evaluate', { model: sft });
    expect(() => pipeline.addDeployment('deploy', { model: sft, server: server(), gate: evaluation, minScore: 55 }))
      .toThrow(/'minScore' must be a number from 0 to 1, got 55/);
  });

  test('fails when two deploy steps ask for different min scores', () => {
    const pipeline = newPipeline();
    const a = sftOf(pipeline, 'sft-a');
    const b = sftOf(pipeline, 'sft-b');
    pipeline.addStage(a);
    pipeline.addStage(b, { baseModelParameter: 'sft-a-base-model' });
    const evalA = pipeline.addEvaluation('eval-a', { model: a });
    const evalB = pipeline.addEvaluation('eval-b', { model: b });
    pipeline.addDeployment('deploy-a', { model: a, server: server(), gate: evalA, minScore: 0.7 });
    expect(() => pipeline.addDeployment('deploy-b', { model: b, server: server(), gate: evalB, minScore: 0.5 }))
      .toThrow(/'parameter 'min-score' default' must be the value it already has \('0.7'\), got '0.5'/);
    // without its own minScore a second deploy step shares the first one's
    pipeline.addDeployment('deploy-b', { model: b, server: server(), gate: evalB });
    const wf = workflowOf(synth(pipeline));
    expect(wf.spec.arguments.parameters.filter((p: any) => p.name === 'min-score')).toEqual([expect.objectContaining({ value: '0.7' })]);
    expect(taskOf(wf, 'deploy-b').when).toBe('{{tasks.eval-b.outputs.parameters.score}} >= {{workflow.parameters.min-score}}');
  });

  test('fails when the evaluated model is not a stage of the pipeline', () => {
    const pipeline = newPipeline();
    const sft = sftOf(pipeline);
    expect(() => pipeline.addEvaluation('evaluate', { model: sft })).toThrow(/'model' must be a stage added to this pipeline with addStage first, got 'test\/pipeline\/sft'/);
  });

  test('fails when the name is too long for the operator\'s worker Service names', () => {
    const pipeline = newPipeline(newChart(), { name: 'a-very-long-korean-llm-pipeline-name-abc' });
    const sft = sftOf(pipeline, 'sft', { nodes: 2 });
    pipeline.addStage(sft);
    expect(() => Testing.synth(Chart.of(pipeline)))
      .toThrow(/'name' must be short enough that '<run>-sft-xxxxx-worker-N' fits 63 characters \(65 now\)/);
  });

  test('a name of the longest length that fits synthesizes', () => {
    const pipeline = newPipeline(newChart(), { name: 'a'.repeat(38) });
    pipeline.addStage(sftOf(pipeline, 'sft', { nodes: 2 }));
    const job = manifestOf(workflowOf(synth(pipeline)), 'sft');
    // <name>-xxxxx-sft-xxxxx-worker-0
    expect(`${'a'.repeat(38)}-xxxxx-sft-xxxxx-worker-0`.length).toBe(63);
    expect(job.metadata.generateName).toBe('{{workflow.name}}-sft-');
  });

  test('fails when the name is not a DNS-1035 label', () => {
    expect(() => newPipeline(newChart(), { name: 'Korean_LLM' })).toThrow(/'name' must be a DNS-1035 label .*, got 'Korean_LLM'/);
  });

  test('fails when a job is added to two pipelines', () => {
    const chart = newChart();
    const one = newPipeline(chart, {}, 'one');
    const two = newPipeline(chart, { name: 'other' }, 'two');
    const sft = sftOf(chart);
    one.addStage(sft);
    expect(() => two.addStage(sft)).toThrow(/'test\/sft' is already part of a pipeline: a training job can run in one pipeline only/);
  });

  test('fails when the image is untagged or latest', () => {
    expect(() => newPipeline(newChart(), { image: 'registry.example.com/unsloth-korean' })).toThrow(/'image' must be an image pinned to a tag or digest .*, got 'registry.example.com\/unsloth-korean'/);
    expect(() => newPipeline(newChart(), { image: 'unsloth-korean:latest' })).toThrow(/'image' must be an image pinned .*, got 'unsloth-korean:latest'/);
    const pipeline = newPipeline();
    expect(() => pipeline.addContainerStep('x', { image: 'python', command: ['true'] })).toThrow(/'image' must be an image pinned .*, got 'python'/);
  });

  test('fails when a stage writes to another output claim', () => {
    const pipeline = newPipeline();
    const sft = sftOf(pipeline, 'sft', { storage: TrainingVolumes.fromClaims({ outputClaimName: 'elsewhere' }) });
    expect(() => pipeline.addStage(sft)).toThrow(/'storage of step 'sft'' must be the pipeline's output claim 'model-output-pvc' at \/output: .*, got 'elsewhere'/);
  });

  test('fails when retry options are invalid', () => {
    expect(() => newPipeline(newChart(), { retry: { limit: -1 } })).toThrow(/'retry.limit' must be a non-negative integer, got -1/);
    expect(() => newPipeline(newChart(), { retry: { factor: 0 } })).toThrow(/'retry.factor' must be a positive integer, got 0/);
  });

  test('fails when an evaluation has no benchmarks', () => {
    const pipeline = newPipeline();
    const sft = sftOf(pipeline);
    pipeline.addStage(sft);
    expect(() => pipeline.addEvaluation('evaluate', { model: sft, benchmarks: [] })).toThrow(/'benchmarks' must be at least one benchmark, got '\[\]'/);
    expect(() => pipeline.addEvaluation('evaluate', { model: sft, benchmarks: [KoreanBenchmark.KOBEST, KoreanBenchmark.KOBEST] })).toThrow(/'benchmarks' must be unique: it appears more than once, got 'kobest'/);
  });

  test('nothing is written when synthesis fails', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'pipeline-test-'));
    try {
      const app = new App({ outdir });
      const chart = new Chart(app, 'broken', { namespace: 'llm-training' });
      newPipeline(chart); // no steps
      new GpuTrainingJob(chart, 'job', { image: IMAGE, trainerCommand: TrainerCommand.SFT });
      expect(() => app.synth()).toThrow(/has no steps/);
      expect(readdirSync(outdir)).toEqual([]);
    } finally {
      if (existsSync(outdir)) rmSync(outdir, { recursive: true, force: true });
    }
  });
});
