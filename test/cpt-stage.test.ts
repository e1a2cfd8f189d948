import { Testing } from 'cdk8s';
import { BaseModel, CptStage, CptStageProps } from '../src';
import { expectValid, pytorchJobWebhookErrors } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
const BASE = BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit');

function synthCpt(props: Partial<CptStageProps> = {}): { stage: CptStage; doc: any } {
  const chart = Testing.chart();
  const stage = new CptStage(chart, 'cpt', { image: IMAGE, runId: 'ko-run-1', baseModel: BASE, ...props });
  const docs = Testing.synth(chart);
  expectValid(docs);
  expect(docs).toHaveLength(1);
  return { stage, doc: docs[0] };
}

const master = (doc: any) => doc.spec.pytorchReplicaSpecs.Master;
const container = (doc: any) => master(doc).template.spec.containers[0];
const envOf = (doc: any): { [name: string]: any } =>
  Object.fromEntries(container(doc).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe('CptStage', () => {
  test('defaults', () => {
    const { doc } = synthCpt();
    expect(doc).toMatchSnapshot();
  });

  test('requests 4 GPUs on one node with nprocPerNode 4 and a /dev/shm mount', () => {
    const { doc, stage } = synthCpt();
    expect(Object.keys(doc.spec.pytorchReplicaSpecs)).toEqual(['Master']);
    expect(master(doc).replicas).toBe(1);
    expect(doc.spec.nprocPerNode).toBe('4');
    expect(container(doc).resources.requests).toEqual({ 'cpu': '32', 'memory': '200Gi', 'nvidia.com/gpu': 4 });
    expect(container(doc).resources.limits).toEqual(container(doc).resources.requests);
    expect(container(doc).volumeMounts).toContainEqual({ name: 'dshm', mountPath: '/dev/shm' });
    expect(master(doc).template.spec.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '50Gi' } });
    expect(container(doc).command).toEqual(['torchrun', '-m', 'korean_llm_trainer', 'cpt']);
    expect(stage.totalGpus).toBe(4);
    expect(pytorchJobWebhookErrors(doc)).toEqual([]);
  });

  test('sets the trainer contract with the seed\'s CPT defaults', () => {
    const { doc } = synthCpt();
    expect(envOf(doc)).toMatchObject({
      STAGE: 'CPT',
      RUN_ID: 'ko-run-1',
      MODEL_NAME: 'qwen2-5-7b-bnb-4bit',
      BASE_MODEL_PATH: 'unsloth/Qwen2.5-7B-bnb-4bit',
      DATA_PATH: '/data/korean_corpus.jsonl',
      OUTPUT_DIR: '/output/runs/ko-run-1/qwen2-5-7b-bnb-4bit/cpt',
      LEARNING_RATE: '0.00001',
      NUM_EPOCHS: '2',
      MAX_SEQ_LENGTH: '4096',
      PER_DEVICE_BATCH_SIZE: '2',
      GRADIENT_ACCUMULATION_STEPS: '32',
      LORA_R: '64',
      LORA_ALPHA: '16',
      LORA_DROPOUT: '0.1',
      PACKING: 'true',
      LOAD_IN_4BIT: 'true',
      SAVE_STEPS: '500',
      METRICS_PORT: '9108',
      WANDB_PROJECT: 'korean-llm-cpt',
      WANDB_API_KEY: { secretKeyRef: { name: 'wandb-secret', key: 'api-key', optional: true } },
    });
    expect(envOf(doc).EMBEDDING_LEARNING_RATE).toBeUndefined();
  });

  test('runs up to 7 days and keeps the data read-only', () => {
    const { doc } = synthCpt();
    expect(doc.spec.runPolicy.activeDeadlineSeconds).toBe(7 * 24 * 3600);
    expect(container(doc).volumeMounts).toContainEqual({ name: 'claim-llm-training-data-pvc', mountPath: '/data', readOnly: true });
    expect(container(doc).volumeMounts).toContainEqual({ name: 'claim-model-output-pvc', mountPath: '/output' });
  });

  test('embeddingLearningRate becomes EMBEDDING_LEARNING_RATE', () => {
    const { doc, stage } = synthCpt({ embeddingLearningRate: 1e-6, learningRate: 2e-5 });
    expect(envOf(doc).EMBEDDING_LEARNING_RATE).toBe('0.000001');
    expect(envOf(doc).LEARNING_RATE).toBe('0.00002');
    expect(stage.embeddingLearningRate).toBe(1e-6);
    expect(stage.learningRate).toBe(2e-5);
  });

  test('the job and its pods carry the run, stage and model labels', () => {
    const { doc } = synthCpt();
    const labels = { 'korean-llm/run': 'ko-run-1', 'korean-llm/stage': 'cpt', 'korean-llm/model': 'qwen2-5-7b-bnb-4bit' };
    expect(doc.metadata.labels).toMatchObject(labels);
    expect(master(doc).template.metadata.labels).toMatchObject(labels);
  });

  test('fails when embeddingLearningRate is 0', () => {
    expect(() => synthCpt({ embeddingLearningRate: 0 })).toThrow("'embeddingLearningRate' must be a number greater than 0 and at most 1, got 0");
  });

  test('fails when env sets EMBEDDING_LEARNING_RATE as well as the prop', () => {
    expect(() => synthCpt({ embeddingLearningRate: 1e-6, env: { EMBEDDING_LEARNING_RATE: '1e-7' } }))
      .toThrow("'env' must be a name not already set (each variable may be set once; the stage sets the contract variables itself), got 'EMBEDDING_LEARNING_RATE'");
  });

  test('fails when gpusPerNode is 0', () => {
    expect(() => synthCpt({ gpusPerNode: 0 })).toThrow("'gpusPerNode' must be an integer from 1 to 16, got 0");
  });
});
