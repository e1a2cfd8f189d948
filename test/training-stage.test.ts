import { mkdtempSync, readdirSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, Chart, Testing } from 'cdk8s';
import {
  BaseModel, CptStage, CptStageProps, PreferenceMethod, RlhfStage, SecretKey, SftStage, TrainingVolumes,
} from '../src';
import { expectValid } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
const BASE = BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit');

const container = (doc: any) => doc.spec.pytorchReplicaSpecs.Master.template.spec.containers[0];
const envOf = (doc: any): { [name: string]: any } =>
  Object.fromEntries(container(doc).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

function synthStage(props: Partial<CptStageProps> = {}): { stage: CptStage; doc: any } {
  const chart = Testing.chart();
  const stage = new CptStage(chart, 'stage', { image: IMAGE, runId: 'ko-run-1', baseModel: BASE, ...props });
  const docs = Testing.synth(chart);
  expectValid(docs);
  return { stage, doc: docs[0] };
}

function newStage(props: Partial<CptStageProps>): CptStage {
  return new CptStage(Testing.chart(), 'stage', { image: IMAGE, runId: 'ko-run-1', baseModel: BASE, ...props } as CptStageProps);
}

describe('BaseModel', () => {
  test('a Hugging Face id is passed as is and names the model', () => {
    const model = BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit');
    expect(model.path).toBe('unsloth/Qwen2.5-7B-bnb-4bit');
    expect(model.defaultModelName).toBe('qwen2-5-7b-bnb-4bit');
    expect(model.stage).toBeUndefined();
    expect(BaseModel.huggingFace('LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct').defaultModelName).toBe('exaone-3-5-7-8b-instruct');
  });

  test('a model name that would start with a digit gets a letter first', () => {
    expect(BaseModel.huggingFace('org/7B-korean').defaultModelName).toBe('m-7b-korean');
  });

  test('a path on a volume', () => {
    const model = BaseModel.fromPath('/output/models/kor-base/', 'kor-base');
    expect(model.path).toBe('/output/models/kor-base/');
    expect(model.defaultModelName).toBe('kor-base');
    expect(BaseModel.fromPath('/models/Llama_3').defaultModelName).toBe('llama-3');
  });

  test('fails when the Hugging Face id is not one', () => {
    expect(() => BaseModel.huggingFace('https://huggingface.co/x')).toThrow("'baseModel' must be a Hugging Face model id such as 'unsloth/Qwen2.5-7B-bnb-4bit', got 'https://huggingface.co/x'");
  });

  test('fails when the path is relative', () => {
    expect(() => BaseModel.fromPath('models/x')).toThrow("'baseModel' must be an absolute path without '..' or white space, got 'models/x'");
  });
});

describe('TrainingStage', () => {
  test('stage chaining: each BASE_MODEL_PATH is the previous stage\'s model/', () => {
    const chart = Testing.chart();
    const runId = 'ko-2026-11-28';
    const cpt = new CptStage(chart, 'cpt', { image: IMAGE, runId, baseModel: BASE });
    const sft = new SftStage(chart, 'sft', { image: IMAGE, runId, baseModel: BaseModel.fromStage(cpt) });
    const rlhf = new RlhfStage(chart, 'rlhf', { image: IMAGE, runId, baseModel: BaseModel.fromStage(sft), method: PreferenceMethod.DPO });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const byStage = Object.fromEntries(docs.map((d) => [d.metadata.labels['korean-llm/stage'], envOf(d)]));
    expect(byStage.cpt.BASE_MODEL_PATH).toBe('unsloth/Qwen2.5-7B-bnb-4bit');
    expect(byStage.sft.BASE_MODEL_PATH).toBe('/output/runs/ko-2026-11-28/qwen2-5-7b-bnb-4bit/cpt/model');
    expect(byStage.rlhf.BASE_MODEL_PATH).toBe('/output/runs/ko-2026-11-28/qwen2-5-7b-bnb-4bit/sft/model');
    expect(byStage.sft.BASE_MODEL_PATH).toBe(`${byStage.cpt.OUTPUT_DIR}/model`);
    expect(byStage.rlhf.BASE_MODEL_PATH).toBe(`${byStage.sft.OUTPUT_DIR}/model`);
    expect(cpt.modelPath).toBe('/output/runs/ko-2026-11-28/qwen2-5-7b-bnb-4bit/cpt/model');
    expect(rlhf.outputPath).toBe('/output/runs/ko-2026-11-28/qwen2-5-7b-bnb-4bit/rlhf');
  });

  test('two runs never share an output path', () => {
    const a = newStage({ runId: 'run-a' });
    const b = newStage({ runId: 'run-b' });
    expect(a.outputPath).not.toBe(b.outputPath);
  });

  test('fails at synth when a standalone stage has no runId', () => {
    const chart = Testing.chart();
    new SftStage(chart, 'sft', { image: IMAGE, baseModel: BASE });
    expect(() => Testing.synth(chart)).toThrow(/'runId' is required for a standalone sft stage \(test\/sft\): it keeps each run's outputs apart/);
  });

  test('nothing is written when a stage is invalid', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'korean-llm-synth-'));
    const app = new App({ outdir });
    const chart = new Chart(app, 'bad');
    new CptStage(chart, 'cpt', { image: IMAGE, baseModel: BASE });
    expect(() => app.synth()).toThrow(/'runId' is required for a standalone cpt stage/);
    expect(readdirSync(outdir)).toEqual([]);
  });

  test('nothing is written when a prop is invalid: the program stops before app.synth()', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'korean-llm-synth-'));
    const program = () => {
      const app = new App({ outdir });
      const chart = new Chart(app, 'bad');
      new SftStage(chart, 'sft', { image: 'registry.example.com/unsloth-korean:latest', runId: 'r1', baseModel: BASE });
      app.synth();
    };
    expect(program).toThrow("'image' must be an image pinned to a tag or digest");
    expect(readdirSync(outdir)).toEqual([]);
  });

  test('a valid app synthesizes into its outdir', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'korean-llm-synth-'));
    const app = new App({ outdir });
    new CptStage(new Chart(app, 'good'), 'cpt', { image: IMAGE, runId: 'r1', baseModel: BASE });
    app.synth();
    expect(readdirSync(outdir)).toEqual(['good.k8s.yaml']);
  });

  test('hyper-parameters reach the trainer as contract variables', () => {
    const { doc } = synthStage({
      learningRate: 3e-5,
      epochs: 1.5,
      maxSeqLength: 8192,
      batchSize: 4,
      gradientAccumulationSteps: 16,
      loraRank: 128,
      loraAlpha: 32,
      loraDropout: 0,
      packing: false,
      loadIn4bit: false,
      saveSteps: 250,
      modelSize: '7B',
    });
    expect(envOf(doc)).toMatchObject({
      LEARNING_RATE: '0.00003',
      NUM_EPOCHS: '1.5',
      MAX_SEQ_LENGTH: '8192',
      PER_DEVICE_BATCH_SIZE: '4',
      GRADIENT_ACCUMULATION_STEPS: '16',
      LORA_R: '128',
      LORA_ALPHA: '32',
      LORA_DROPOUT: '0',
      PACKING: 'false',
      LOAD_IN_4BIT: 'false',
      SAVE_STEPS: '250',
      MODEL_SIZE: '7B',
    });
  });

  test('model name, data path and storage paths', () => {
    const { doc } = synthStage({
      modelName: 'qwen-ko',
      dataPath: '/corpus/ko.jsonl',
      storage: TrainingVolumes.fromClaims({ dataClaimName: 'corpus', outputClaimName: 'ckpt', dataMountPath: '/corpus', outputMountPath: '/ckpt' }),
    });
    expect(envOf(doc)).toMatchObject({ MODEL_NAME: 'qwen-ko', DATA_PATH: '/corpus/ko.jsonl', OUTPUT_DIR: '/ckpt/runs/ko-run-1/qwen-ko/cpt' });
    expect(container(doc).volumeMounts).toEqual(expect.arrayContaining([
      { name: 'claim-corpus', mountPath: '/corpus', readOnly: true },
      { name: 'claim-ckpt', mountPath: '/ckpt' },
    ]));
  });

  test('wandb: false removes the W&B variables', () => {
    const { doc } = synthStage({ wandb: false });
    expect(Object.keys(envOf(doc)).filter((n) => n.startsWith('WANDB_'))).toEqual([]);
  });

  test('MLflow tracking', () => {
    const { doc } = synthStage({ mlflowTrackingUri: 'http://mlflow.mlops:5000' });
    expect(envOf(doc)).toMatchObject({ MLFLOW_TRACKING_URI: 'http://mlflow.mlops:5000', MLFLOW_EXPERIMENT_NAME: 'korean-llm' });
  });

  test('secrets only by secretKeyRef: no literal WANDB_API_KEY or HF_TOKEN', () => {
    const { doc } = synthStage({ wandbApiKey: SecretKey.of('wandb', 'key'), hfToken: SecretKey.of('hf', 'token') });
    const env = container(doc).env;
    expect(env.find((e: any) => e.name === 'WANDB_API_KEY')).toEqual({ name: 'WANDB_API_KEY', valueFrom: { secretKeyRef: { name: 'wandb', key: 'key' } } });
    expect(env.find((e: any) => e.name === 'HF_TOKEN')).toEqual({ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'hf', key: 'token' } } });
    for (const e of env) {
      if (['WANDB_API_KEY', 'HF_TOKEN'].includes(e.name)) expect(e).not.toHaveProperty('value');
    }
  });

  test('user env and secretEnv are added after the contract', () => {
    const { doc } = synthStage({ env: { NCCL_DEBUG: 'INFO' }, secretEnv: { S3_KEY: SecretKey.of('s3', 'key') } });
    expect(envOf(doc).NCCL_DEBUG).toBe('INFO');
    expect(envOf(doc).S3_KEY).toEqual({ secretKeyRef: { name: 's3', key: 'key' } });
  });

  describe('bad input', () => {
    test('fails when the learning rate is negative', () => {
      expect(() => newStage({ learningRate: -1e-5 })).toThrow("'learningRate' must be a number greater than 0 and at most 1, got -0.00001");
    });

    test('fails when the learning rate is 0', () => {
      expect(() => newStage({ learningRate: 0 })).toThrow("'learningRate' must be a number greater than 0 and at most 1, got 0");
    });

    test('fails when epochs is 0', () => {
      expect(() => newStage({ epochs: 0 })).toThrow("'epochs' must be a number greater than 0 and at most 1000, got 0");
    });

    test('fails when maxSeqLength is too short', () => {
      expect(() => newStage({ maxSeqLength: 64 })).toThrow("'maxSeqLength' must be an integer from 128 to 1048576, got 64");
    });

    test('fails when loraDropout is above 1', () => {
      expect(() => newStage({ loraDropout: 1.5 })).toThrow("'loraDropout' must be a number from 0 to 1, got 1.5");
    });

    test('fails when batchSize is fractional', () => {
      expect(() => newStage({ batchSize: 2.5 })).toThrow("'batchSize' must be a positive integer, got 2.5");
    });

    test('fails when the runId is not a DNS label', () => {
      expect(() => newStage({ runId: 'Run_1' })).toThrow("'runId' must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 40 characters), got 'Run_1'");
      // not a label value either (the job object carries it as a label): the error names the prop
      expect(() => newStage({ runId: 'run 1' })).toThrow(/^'runId' must be a DNS-1123 label .*, got 'run 1'$/);
    });

    test('fails when the model name is not a DNS-1035 label', () => {
      expect(() => newStage({ modelName: '7b' })).toThrow(/^'modelName' must be a DNS-1035 label .*, got '7b'$/);
      // not a label value either (the job object carries it as a label): the error names the prop
      expect(() => newStage({ modelName: 'org/model' })).toThrow(/^'modelName' must be a DNS-1035 label .*, got 'org\/model'$/);
    });

    test('fails when the data path is relative', () => {
      expect(() => newStage({ dataPath: 'data/x.jsonl' })).toThrow("'dataPath' must be an absolute path without '..' or white space, got 'data/x.jsonl'");
    });

    test('fails when the MLflow URI is not one', () => {
      expect(() => newStage({ mlflowTrackingUri: 'mlflow:5000' })).toThrow("'mlflowTrackingUri' must be an http(s)://, file: or databricks: URI, got 'mlflow:5000'");
    });

    test('fails when modelSize or wandbProject is blank', () => {
      expect(() => newStage({ modelSize: ' ' })).toThrow("'modelSize' must be a non-empty string, got ' '");
      expect(() => newStage({ wandbProject: '' })).toThrow("'wandbProject' must be a non-empty string, got ''");
    });

    test('fails when env sets a contract variable the stage sets', () => {
      expect(() => newStage({ env: { STAGE: 'SFT' } }))
        .toThrow("'env' must be a name not already set (each variable may be set once; the stage sets the contract variables itself), got 'STAGE'");
    });

    test('fails when secretEnv repeats a secret the stage sets', () => {
      expect(() => newStage({ secretEnv: { WANDB_API_KEY: SecretKey.of('w', 'k') } }))
        .toThrow("'secretEnv' must be a name not already set (each variable may be set once), got 'WANDB_API_KEY'");
    });
  });
});
