import { readFileSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdk8s';
import {
  BaseModel, ContractType, CptStage, PreferenceMethod, RlhfStage, SecretKey, SftStage, TrainerCommand,
  TrainerContract,
} from '../src';

const CONTRACT_FILE = join(__dirname, '..', 'python', 'korean_llm_trainer', 'contract.json');
const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
/** Variables the job sets for the libraries in the image (scratch locations), not for the trainer. */
const LIBRARY_ENV = ['HOME', 'HF_HOME', 'TRITON_CACHE_DIR', 'XDG_CACHE_HOME'];
const TRAINING = [TrainerCommand.CPT, TrainerCommand.SFT, TrainerCommand.RLHF];

/** Every training stage, once with its defaults and once with every optional variable switched on. */
function stageEnvs(): { command: TrainerCommand; env: any[] }[] {
  const chart = Testing.chart();
  const base = BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit');
  const common = { image: IMAGE, runId: 'run-1' };
  const full = {
    ...common, modelSize: '7B', mlflowTrackingUri: 'http://mlflow:5000', hfToken: SecretKey.of('hf', 'token'),
  };
  const cpt = new CptStage(chart, 'cpt', { ...common, baseModel: base });
  new CptStage(chart, 'cpt-full', { ...full, baseModel: base, embeddingLearningRate: 1e-6 });
  const sft = new SftStage(chart, 'sft', { ...common, baseModel: BaseModel.fromStage(cpt) });
  new SftStage(chart, 'sft-full', { ...full, baseModel: base });
  new RlhfStage(chart, 'rlhf', { ...common, baseModel: BaseModel.fromStage(sft) });
  new RlhfStage(chart, 'rlhf-full', { ...full, baseModel: base, method: PreferenceMethod.GRPO, numGenerations: 4 });
  return Testing.synth(chart).map((doc) => {
    const c = doc.spec.pytorchReplicaSpecs.Master.template.spec.containers[0];
    return { command: c.command[c.command.indexOf('korean_llm_trainer') + 1] as TrainerCommand, env: c.env };
  });
}

/** Checks a literal value against its contract entry the way the trainer's parser does. */
function contractErrors(name: string, value: string): string[] {
  const v = TrainerContract.variables().find((x) => x.name === name)!;
  const errors: string[] = [];
  const num = Number(value);
  switch (v.type) {
    case ContractType.INT:
      if (!/^-?[0-9]+$/.test(value)) errors.push(`${name}=${value} is not an int`);
      break;
    case ContractType.FLOAT:
      if (!/^-?([0-9]+\.?[0-9]*|\.[0-9]+)(e[-+]?[0-9]+)?$/i.test(value)) errors.push(`${name}=${value} is not a float`);
      break;
    case ContractType.BOOL:
      if (!['true', 'false'].includes(value)) errors.push(`${name}=${value} is not a bool`);
      break;
    case ContractType.ENUM:
      if (!v.choices!.includes(value)) errors.push(`${name}=${value} is not one of ${v.choices}`);
      break;
    case ContractType.LIST:
      for (const item of value.split(',')) if (!item || (v.choices && !v.choices.includes(item))) errors.push(`${name}: bad item '${item}'`);
      break;
    case ContractType.PATH:
      if (!value.startsWith('/')) errors.push(`${name}=${value} is not an absolute path`);
      break;
    case ContractType.SECRET:
      errors.push(`${name} is a secret but has a literal value`);
      break;
    default:
      if (value === '') errors.push(`${name} is empty`);
  }
  if (v.type === ContractType.INT || v.type === ContractType.FLOAT) {
    if (v.min !== undefined && (v.exclusiveMin ? num <= v.min : num < v.min)) errors.push(`${name}=${value} is below ${v.min}`);
    if (v.max !== undefined && num > v.max) errors.push(`${name}=${value} is above ${v.max}`);
  }
  return errors;
}

describe('trainer contract', () => {
  test('fails when python/korean_llm_trainer/contract.json is stale', () => {
    const committed = readFileSync(CONTRACT_FILE, 'utf8');
    if (committed !== TrainerContract.toJson()) {
      throw new Error('python/korean_llm_trainer/contract.json differs from src/trainer-contract.ts: run `npx projen contract` and commit the result');
    }
  });

  test('the JSON lists every variable, in order', () => {
    const json = JSON.parse(TrainerContract.toJson());
    expect(json.variables.map((x: any) => x.name)).toEqual(TrainerContract.variables().map((x) => x.name));
    expect(json.metricsPort).toBe(9108);
  });

  test('names are unique environment variable names', () => {
    const names = TrainerContract.variables().map((x) => x.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });

  test('entries are consistent: enums have choices, secrets are optional, required ones have no default', () => {
    for (const v of TrainerContract.variables()) {
      if (v.type === ContractType.ENUM) expect(v.choices?.length).toBeGreaterThan(0);
      if (v.type === ContractType.SECRET) expect(v.required).toBe(false);
      if (v.required) expect(v.default).toBeUndefined();
      if (v.default !== undefined) expect({ name: v.name, errors: contractErrors(v.name, v.default) }).toEqual({ name: v.name, errors: [] });
      expect(v.commands.length).toBeGreaterThan(0);
    }
  });

  test('every contract variable a stage sets is declared for its command', () => {
    const contract = new Map(TrainerContract.variables().map((v) => [v.name, v]));
    for (const { command, env } of stageEnvs()) {
      for (const e of env) {
        if (LIBRARY_ENV.includes(e.name)) continue;
        const v = contract.get(e.name);
        expect({ command, name: e.name, declared: v !== undefined }).toEqual({ command, name: e.name, declared: true });
        expect({ command, name: e.name, readBy: v!.commands.includes(command) }).toEqual({ command, name: e.name, readBy: true });
      }
    }
  });

  test('every required variable of cpt, sft and rlhf is set by the stages', () => {
    const envs = stageEnvs();
    for (const command of TRAINING) {
      const required = TrainerContract.variables().filter((v) => v.required && v.commands.includes(command) && v.type !== ContractType.SECRET);
      expect(required.length).toBeGreaterThan(0);
      for (const { env } of envs.filter((x) => x.command === command)) {
        const set = env.map((e: any) => e.name);
        expect({ command, missing: required.map((v) => v.name).filter((n) => !set.includes(n)) }).toEqual({ command, missing: [] });
      }
    }
  });

  test('stage values parse under the contract, secrets come by secretKeyRef and STAGE matches the command', () => {
    for (const { command, env } of stageEnvs()) {
      const errors: string[] = [];
      for (const e of env) {
        if (LIBRARY_ENV.includes(e.name)) continue;
        const v = TrainerContract.variables().find((x) => x.name === e.name)!;
        if (v.type === ContractType.SECRET) {
          expect(e.value).toBeUndefined();
          expect(e.valueFrom.secretKeyRef).toBeDefined();
        } else {
          errors.push(...contractErrors(e.name, e.value));
        }
      }
      expect({ command, errors }).toEqual({ command, errors: [] });
      expect(env.find((e: any) => e.name === 'STAGE').value).toBe(command.toUpperCase());
    }
  });

  test('env names are unique within each container', () => {
    for (const { env } of stageEnvs()) {
      const names = env.map((e: any) => e.name);
      expect(new Set(names).size).toBe(names.length);
    }
  });
});
