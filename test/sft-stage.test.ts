import { Testing } from 'cdk8s';
import { BaseModel, CptStage, SftStage, SftStageProps } from '../src';
import { expectValid, pytorchJobWebhookErrors } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
const BASE = BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit');

function synthSft(props: Partial<SftStageProps> = {}): { stage: SftStage; doc: any } {
  const chart = Testing.chart();
  const stage = new SftStage(chart, 'sft', { image: IMAGE, runId: 'ko-run-1', baseModel: BASE, ...props });
  const docs = Testing.synth(chart);
  expectValid(docs);
  expect(docs).toHaveLength(1);
  return { stage, doc: docs[0] };
}

const master = (doc: any) => doc.spec.pytorchReplicaSpecs.Master;
const container = (doc: any, type = 'Master') => doc.spec.pytorchReplicaSpecs[type].template.spec.containers[0];
const envOf = (doc: any): { [name: string]: any } =>
  Object.fromEntries(container(doc).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe('SftStage', () => {
  test('defaults', () => {
    const { doc } = synthSft();
    expect(doc).toMatchSnapshot();
  });

  test('requests the seed\'s 2 GPUs, 16 CPUs and 100Gi on one node', () => {
    const { doc } = synthSft();
    expect(doc.spec.nprocPerNode).toBe('2');
    expect(container(doc).resources.requests).toEqual({ 'cpu': '16', 'memory': '100Gi', 'nvidia.com/gpu': 2 });
    expect(container(doc).resources.limits).toEqual(container(doc).resources.requests);
    expect(master(doc).template.spec.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '25Gi' } });
    expect(doc.spec.runPolicy.activeDeadlineSeconds).toBe(2 * 24 * 3600);
    expect(container(doc).command).toEqual(['torchrun', '-m', 'korean_llm_trainer', 'sft']);
  });

  test('sets the trainer contract with the SFT defaults', () => {
    const { doc } = synthSft();
    expect(envOf(doc)).toMatchObject({
      STAGE: 'SFT',
      DATA_PATH: '/data/sft.jsonl',
      OUTPUT_DIR: '/output/runs/ko-run-1/qwen2-5-7b-bnb-4bit/sft',
      LEARNING_RATE: '0.0002',
      NUM_EPOCHS: '3',
      GRADIENT_ACCUMULATION_STEPS: '8',
      PACKING: 'true',
      WANDB_PROJECT: 'korean-llm-sft',
    });
  });

  test('starts from the CPT stage\'s merged model', () => {
    const chart = Testing.chart();
    const cpt = new CptStage(chart, 'cpt', { image: IMAGE, runId: 'ko-run-1', baseModel: BASE });
    const sft = new SftStage(chart, 'sft', { image: IMAGE, runId: 'ko-run-1', baseModel: BaseModel.fromStage(cpt) });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const sftDoc = docs.find((d) => d.metadata.labels['korean-llm/stage'] === 'sft');
    expect(envOf(sftDoc).BASE_MODEL_PATH).toBe('/output/runs/ko-run-1/qwen2-5-7b-bnb-4bit/cpt/model');
    expect(sft.modelName).toBe(cpt.modelName);
    expect(sft.baseModel.stage).toBe(cpt);
  });

  test('two nodes: a Master and a Worker with identical GPU shapes', () => {
    const { doc } = synthSft({ nodes: 2, gpusPerNode: 8 });
    expect(doc.spec.pytorchReplicaSpecs.Master.replicas).toBe(1);
    expect(doc.spec.pytorchReplicaSpecs.Worker.replicas).toBe(1);
    expect(doc.spec.pytorchReplicaSpecs.Worker.template).toEqual(doc.spec.pytorchReplicaSpecs.Master.template);
    expect(container(doc, 'Worker').resources.limits['nvidia.com/gpu']).toBe(8);
    expect(pytorchJobWebhookErrors(doc)).toEqual([]);
  });

  test('packing can be turned off', () => {
    const { doc } = synthSft({ packing: false });
    expect(envOf(doc).PACKING).toBe('false');
  });

  test('fails when the learning rate is negative', () => {
    expect(() => synthSft({ learningRate: -2e-4 })).toThrow("'learningRate' must be a number greater than 0 and at most 1, got -0.0002");
  });

  test('fails when a node count is below 1', () => {
    expect(() => synthSft({ nodes: 0 })).toThrow("'nodes' must be an integer from 1 to 512, got 0");
  });
});
