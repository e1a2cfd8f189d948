// Where GPU container steps run (never unqueued on the training pool), deploy gates on any step's
// numeric output, and the synth-time checks of issue 17 (items 5, 7 and 9).
import { Chart, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { vllmDeployment as server } from '../examples/pipelines';
import {
  BaseModel, GpuNodePool, KoreanBenchmark, KoreanLlmPipeline, KServeModelServer, Pipeline, PipelineProps, PipelineStep, Queueing, SftStage,
  TrainingVolumes, VllmServer,
} from '../src';
import { evaluateWhen, expectArgoValid, taskOf, templateOf } from './util/argo';
import { expectValid } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
const BASE = 'unsloth/Qwen2.5-7B-bnb-4bit';
const TRAINING = { 'node-type': 'gpu-training' };
const INFERENCE = { 'node-type': 'gpu-inference' };

function newChart(namespace = 'llm-training'): Chart {
  return new Chart(Testing.app(), 'test', { namespace, disableResourceNameHashes: true });
}

function newPipeline(props: Partial<PipelineProps> = {}, scope: Construct = newChart()): Pipeline {
  return new Pipeline(scope, 'pipeline', { image: IMAGE, name: 'demo', ...props });
}

function withSft(props: Partial<PipelineProps> = {}): { pipeline: Pipeline; sft: SftStage } {
  const pipeline = newPipeline(props);
  const sft = new SftStage(pipeline, 'sft', { image: IMAGE, baseModel: BaseModel.huggingFace(BASE) });
  pipeline.addStage(sft);
  return { pipeline, sft };
}

function workflowOf(pipeline: Pipeline): any {
  const docs = Testing.synth(Chart.of(pipeline));
  expectValid(docs);
  expectArgoValid(docs);
  return docs.find((d) => d.kind === 'Workflow');
}

describe('placement of GPU container steps', () => {
  test('the evaluate step runs on the inference pool by default, never on the training pool outside the queue', () => {
    const { pipeline, sft } = withSft();
    pipeline.addEvaluation('evaluate', { model: sft });
    pipeline.addContainerStep('judge', { command: ['judge'], gpus: 1 });
    const wf = workflowOf(pipeline);
    for (const name of ['evaluate', 'judge']) {
      const t = templateOf(wf, name);
      expect(t.nodeSelector).toEqual(INFERENCE);
      expect(t.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
      expect(t.metadata).toBeUndefined();
    }
    // the training job itself stays on the training pool
    const manifest = JSON.parse(templateOf(wf, 'sft').resource.manifest);
    expect(JSON.stringify(manifest)).toContain('"node-type":"gpu-training"');
    expect(pipeline.gpuStepNodePool.nodeSelector).toEqual(INFERENCE);
  });

  test('gpuStepNodePool and a step\'s nodePool choose another pool', () => {
    const { pipeline, sft } = withSft({ gpuStepNodePool: GpuNodePool.fromLabels({ pool: 'eval' }) });
    pipeline.addEvaluation('evaluate', { model: sft });
    pipeline.addContainerStep('judge', { command: ['judge'], gpus: 1, nodePool: GpuNodePool.fromLabels({ pool: 'judge' }) });
    const wf = workflowOf(pipeline);
    expect(templateOf(wf, 'evaluate').nodeSelector).toEqual({ pool: 'eval' });
    expect(templateOf(wf, 'judge').nodeSelector).toEqual({ pool: 'judge' });
  });

  test('through a Kueue queue, the evaluation runs on the training pool with the queue label on its pod', () => {
    const { pipeline, sft } = withSft();
    pipeline.addEvaluation('evaluate', { model: sft, queueing: Queueing.kueue('gpu-queue', { priorityClass: 'eval' }) });
    const t = templateOf(workflowOf(pipeline), 'evaluate');
    expect(t.nodeSelector).toEqual(TRAINING);
    expect(t.metadata).toEqual({ labels: { 'kueue.x-k8s.io/queue-name': 'gpu-queue', 'kueue.x-k8s.io/priority-class': 'eval' } });
  });

  test('KoreanLlmPipeline: the evaluation is off the training pool, its queueing and pool can be set', () => {
    const chart = newChart();
    new KoreanLlmPipeline(chart, 'p', { image: IMAGE, name: 'ko', baseModel: BASE, preprocess: { enabled: false } });
    new KoreanLlmPipeline(chart, 'q', {
      image: IMAGE,
      name: 'kq',
      baseModel: BASE,
      preprocess: { enabled: false },
      queueing: Queueing.kueue('gpu-queue'),
      evaluation: { queueing: Queueing.kueue('gpu-queue') },
    });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const [p, q] = docs.filter((d) => d.kind === 'Workflow');
    expect(templateOf(p, 'evaluate').nodeSelector).toEqual(INFERENCE);
    expect(templateOf(q, 'evaluate').nodeSelector).toEqual(TRAINING);
    expect(templateOf(q, 'evaluate').metadata.labels['kueue.x-k8s.io/queue-name']).toBe('gpu-queue');
  });

  test('fails when a container step is gang-scheduled by Volcano', () => {
    const { pipeline, sft } = withSft();
    expect(() => pipeline.addEvaluation('evaluate', { model: sft, queueing: Queueing.volcano() }))
      .toThrow("'queueing' must be Queueing.kueue(...) or Queueing.none() for a container step (Volcano gang-schedules jobs, not single pods), got 'Queueing.volcano(...)'");
  });
});

describe('deploy gates on any step\'s numeric output', () => {
  test('a container step of your own gates the deployment on its output', () => {
    const { pipeline, sft } = withSft();
    const safety = pipeline.addContainerStep('safety', { command: ['safety-eval'], gpus: 1, outputFiles: { safety: '/tmp/safety' }, dependsOn: [] });
    const deploy = pipeline.addDeployment('deploy', { model: sft, server: server(), gate: safety, gateOutput: 'safety', minScore: 0.9 });
    expect(deploy.dependencies).toContain(safety);
    const wf = workflowOf(pipeline);
    const when = taskOf(wf, 'deploy').when;
    expect(when).toBe('{{tasks.safety.outputs.parameters.safety}} >= {{workflow.parameters.min-safety}}');
    expect(wf.spec.arguments.parameters).toContainEqual(expect.objectContaining({ name: 'min-safety', value: '0.9' }));
    const values = (v: string) => ({ 'tasks.safety.outputs.parameters.safety': v, 'workflow.parameters.min-safety': '0.9' });
    expect(evaluateWhen(when, values('0.95'))).toBe(true);
    expect(evaluateWhen(when, values('0.5'))).toBe(false);
  });

  test('additional gates are ANDed with the score, and addDeploymentGate adds more later', () => {
    const { pipeline, sft } = withSft();
    const evaluation = pipeline.addEvaluation('evaluate', { model: sft });
    const safety = pipeline.addContainerStep('safety', { command: ['safety-eval'], outputFiles: { safety: '/tmp/safety' } });
    const domain = pipeline.addContainerStep('domain', { command: ['domain-eval'], outputFiles: { acc: '/tmp/acc' } });
    const deploy = pipeline.addDeployment('deploy', {
      model: sft,
      server: server(),
      gate: evaluation,
      minScore: 0.55,
      additionalGates: [{ step: safety, output: 'safety', minValue: 0.9 }],
    });
    pipeline.addDeploymentGate(deploy, { step: domain, output: 'acc', minValue: 70, parameterName: 'min-domain-acc' });
    const wf = workflowOf(pipeline);
    const when = taskOf(wf, 'deploy').when;
    expect(when).toBe([
      '{{tasks.evaluate.outputs.parameters.score}} >= {{workflow.parameters.min-score}}',
      '{{tasks.safety.outputs.parameters.safety}} >= {{workflow.parameters.min-safety}}',
      '{{tasks.domain.outputs.parameters.acc}} >= {{workflow.parameters.min-domain-acc}}',
    ].join(' && '));
    expect(deploy.dependencies.map((d) => d.name)).toEqual(['sft', 'evaluate', 'safety', 'domain']);
    const values = (score: string, s: string, acc: string) => ({
      'tasks.evaluate.outputs.parameters.score': score,
      'workflow.parameters.min-score': '0.55',
      'tasks.safety.outputs.parameters.safety': s,
      'workflow.parameters.min-safety': '0.9',
      'tasks.domain.outputs.parameters.acc': acc,
      'workflow.parameters.min-domain-acc': '70',
    });
    expect(evaluateWhen(when, values('0.6', '0.95', '71'))).toBe(true);
    expect(evaluateWhen(when, values('0.6', '0.8', '71'))).toBe(false); // unsafe: not deployed
    expect(evaluateWhen(when, values('0.6', '0.95', '60'))).toBe(false);
  });

  test('KoreanLlmPipeline: a team\'s own evaluation is the gate, and a step of its own is one more', () => {
    const chart = newChart();
    const pipeline = new KoreanLlmPipeline(chart, 'p', {
      image: IMAGE,
      name: 'ko',
      baseModel: BASE,
      preprocess: { enabled: false },
      server: server(),
      evaluation: {
        image: 'registry.example.com/safety-eval:2.1.0', command: ['safety-eval', '--strict'], env: { JUDGE: 'local' }, minScore: 0.8,
      },
    });
    const extra = pipeline.addContainerStep('toxicity', {
      command: ['toxicity'], outputFiles: { clean: '/tmp/clean' }, dependsOn: [pipeline.branches[0].evaluation],
    });
    pipeline.addDeploymentGate(pipeline.deployStep!, { step: extra, output: 'clean', minValue: 0.99 });
    const docs = Testing.synth(chart);
    expectValid(docs);
    expectArgoValid(docs);
    const wf = docs.find((d) => d.kind === 'Workflow');
    const t = templateOf(wf, 'evaluate');
    expect(t.container.image).toBe('registry.example.com/safety-eval:2.1.0');
    expect(t.container.command).toEqual(['safety-eval', '--strict']);
    const env = Object.fromEntries(t.container.env.map((e: any) => [e.name, e.value]));
    expect(env).toMatchObject({ JUDGE: 'local', SCORE_FILE: '/tmp/score', STAGE: 'EVALUATE' });
    expect(env.MODEL_PATH).toMatch(/\/rlhf\/model$/);
    expect(t.outputs.parameters).toEqual([{ name: 'score', valueFrom: { path: '/tmp/score' } }]);
    expect(taskOf(wf, 'deploy').when).toBe('{{tasks.evaluate.outputs.parameters.score}} >= {{workflow.parameters.min-score}}'
      + ' && {{tasks.toxicity.outputs.parameters.clean}} >= {{workflow.parameters.min-clean}}');
    expect(taskOf(wf, 'deploy').depends).toContain('toxicity.Succeeded');
  });

  test('fails when a gate is misused', () => {
    const { pipeline, sft } = withSft();
    const evaluation = pipeline.addEvaluation('evaluate', { model: sft });
    const plain = pipeline.addContainerStep('plain', { command: ['x'] });
    expect(() => pipeline.addDeployment('d1', { model: sft, server: server(), gate: plain, gateOutput: 'safety' }))
      .toThrow("'gate' must be a step declaring output parameter 'safety' (an evaluate step, or a container step with outputFiles; 'plain' declares none), got 'plain'");
    expect(() => pipeline.addDeployment('d2', { model: sft, server: server(), minScore: 0.6 }))
      .toThrow("'minScore' must be used together with 'gate' (without a gate nothing compares it), got 0.6");
    expect(() => pipeline.addDeployment('d3', { model: sft, server: server(), gate: evaluation, minScore: 1.5 }))
      .toThrow("'minScore' must be a number from 0 to 1, got 1.5");
    const deploy = pipeline.addDeployment('d4', { model: sft, server: server(), gate: evaluation });
    expect(() => pipeline.addDeploymentGate(evaluation, { step: evaluation, output: 'score', minValue: 0.5 }))
      .toThrow(/'deployStep' must be a deploy step of this pipeline \(.*\), added with addDeployment, got 'evaluate'/);
    expect(() => pipeline.addDeploymentGate(deploy, { step: plain, output: 'safety', minValue: 0.5 }))
      .toThrow("'gate.step' must be a step declaring output parameter 'safety'");
    expect(() => pipeline.addDeploymentGate(deploy, { step: evaluation, output: 'score', minValue: NaN }))
      .toThrow("'gate.minValue' must be a number from 0 to 1, got NaN");
  });
});

describe('synth-time checks', () => {
  test('outputParameter of an undeclared output fails; declared ones give the placeholder', () => {
    const { pipeline, sft } = withSft();
    const evaluation = pipeline.addEvaluation('evaluate', { model: sft });
    const train: PipelineStep = pipeline.allSteps[0];
    expect(evaluation.outputParameter('score')).toBe('{{tasks.evaluate.outputs.parameters.score}}');
    expect(train.outputParameter('job-name')).toBe('{{tasks.sft.outputs.parameters.job-name}}');
    expect(() => evaluation.outputParameter('nope')).toThrow("'outputParameter of step 'evaluate'' must be an output parameter the step declares ('score', 'score-kobest', 'score-kmmlu', 'score-haerae', 'retention', 'champion-margin', 'summary'), got 'nope'");
    const plain = pipeline.addContainerStep('plain', { command: ['x'] });
    expect(() => plain.outputParameter('nope')).toThrow("must be an output parameter the step declares (none), got 'nope'");
  });

  test('fails when a container step asks for no memory or no CPU', () => {
    const pipeline = newPipeline();
    expect(() => pipeline.addContainerStep('a', { command: ['x'], memory: Size.gibibytes(0) })).toThrow("'memory' must be a size greater than zero, got 0Gi");
    expect(() => pipeline.addContainerStep('b', { command: ['x'], cpu: kplus.Cpu.millis(0) })).toThrow("'cpu' must be a positive amount (Cpu.units(n) or Cpu.millis(n)), got '0m'");
  });

  test('fails when the chart\'s namespace is not a DNS-1123 label', () => {
    expect(() => newPipeline({}, newChart('LLM_Training')))
      .toThrow("'namespace (of the chart)' must be a namespace name: a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got 'LLM_Training'");
    expect(() => new VllmServer(newChart('llm.training'), 's', { image: 'vllm/vllm-openai:v0.11.0', modelPath: '/output/m' }))
      .toThrow("'namespace (of the chart)' must be a namespace name");
    expect(() => new KServeModelServer(newChart('LLM'), 's', { modelPath: '/output/m' })).toThrow("'namespace (of the chart)' must be a namespace name");
  });

  test('fails when a pod label key has spaces', () => {
    expect(() => newPipeline({ podLabels: { 'team name': 'nlp' } }))
      .toThrow("'podLabels key' must be a label key (an optional DNS-1123 subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit; no spaces), got 'team name'");
    expect(() => newPipeline({ podLabels: { team: 'nlp team' } })).toThrow("'podLabels['team']' must be a label value");
    expect(newPipeline({ podLabels: { 'example.com/team': '{{workflow.parameters.team}}' } })).toBeDefined();
  });

  test('subdomain claim names (data.v2) work in a pipeline', () => {
    const storage = TrainingVolumes.fromClaims({ dataClaimName: 'data.v2', outputClaimName: 'model.output' });
    const pipeline = newPipeline({ storage });
    pipeline.addStage(new SftStage(pipeline, 'sft', { image: IMAGE, baseModel: BaseModel.huggingFace(BASE), storage }));
    const wf = workflowOf(pipeline);
    expect(wf.spec.volumes).toContainEqual({ name: 'claim-data-v2', persistentVolumeClaim: { claimName: 'data.v2' } });
  });

  test('fails when the served model lives on another claim than the pipeline\'s output', () => {
    const chart = newChart();
    const other = TrainingVolumes.fromClaims({ outputClaimName: 'serving-models' });
    const vllm = new VllmServer(chart, 'vllm', { image: 'vllm/vllm-openai:v0.11.0', modelPath: '/output/m', storage: other });
    const pipeline = new Pipeline(chart, 'pipeline', { image: IMAGE, name: 'demo' });
    const sft = new SftStage(pipeline, 'sft', { image: IMAGE, baseModel: BaseModel.huggingFace(BASE) });
    pipeline.addStage(sft);
    expect(() => pipeline.addDeployment('deploy', { model: sft, server: vllm }))
      .toThrow("'storage of server 'korean-llm'' must be the pipeline's output claim 'model-output-pvc' at /output: stages exchange models through it, got 'serving-models'");
    const same = new KServeModelServer(chart, 'kserve', { modelPath: '/output/m', name: 'same' });
    expect(pipeline.addDeployment('deploy', { model: sft, server: same }).name).toBe('deploy');
  });

  test('KoreanLlmPipeline: fails when evaluation.minScore is set without a server to gate', () => {
    expect(() => new KoreanLlmPipeline(newChart(), 'p', { image: IMAGE, baseModel: BASE, evaluation: { minScore: 0.6 } }))
      .toThrow("'evaluation.minScore' must be unset without 'server' (no deploy step to gate; set a server, or gate your own deploy step with addDeployment), got 0.6");
  });

  test('fails when the evaluation sets a variable the step owns', () => {
    const { pipeline, sft } = withSft();
    expect(() => pipeline.addEvaluation('evaluate', { model: sft, env: { SCORE_FILE: '/tmp/x' } }))
      .toThrow(/'env' must be a variable the evaluate step does not set itself \(not STAGE, .*\), got 'SCORE_FILE'/);
  });

  test('benchmarks: of() checks the family, custom() is marked', () => {
    const { pipeline, sft } = withSft();
    const step = pipeline.addEvaluation('evaluate', { model: sft, benchmarks: [KoreanBenchmark.of('kmmlu_hard'), KoreanBenchmark.custom('my_eval')] });
    expect(step.name).toBe('evaluate');
    expect(() => KoreanBenchmark.of('kobset')).toThrow(/'benchmark' must be a task of a Korean lm-evaluation-harness family/);
  });
});
