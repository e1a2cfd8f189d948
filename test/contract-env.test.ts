import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, Chart } from 'cdk8s';
import * as yaml from 'js-yaml';
import { EXAMPLES } from '../examples';
import { GpuTrainingJob, TrainerCommand } from '../src';
import {
  ContainerEnvFile, ENV_DIR_VAR, REPO_ROOT, SAMPLE_WORKFLOW_NAME, contractEnvDir, sanitize, synthExample,
  trainerCommandOf, trainerContainers, writeContractEnv,
} from './util/contract-env';

const PYTORCHJOB_SAMPLE = (env: any[], command = ['torchrun', '-m', 'korean_llm_trainer', 'sft']) => ({
  apiVersion: 'kubeflow.org/v1',
  kind: 'PyTorchJob',
  metadata: { generateName: 'sft-' },
  spec: {
    pytorchReplicaSpecs: {
      Master: { replicas: 1, template: { spec: { containers: [{ name: 'pytorch', image: 'x:1', command, env }] } } },
      Worker: { replicas: 1, template: { spec: { containers: [{ name: 'pytorch', image: 'x:1', command, env }] } } },
    },
  },
});

function workflow(kind: 'Workflow' | 'WorkflowTemplate' | 'CronWorkflow', parameters: any[], templates: any[]): any {
  const spec = { entrypoint: 'main', arguments: { parameters }, templates };
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind,
    metadata: kind === 'Workflow' ? { generateName: 'korean-llm-' } : { name: 'korean-llm' },
    spec: kind === 'CronWorkflow' ? { schedule: '0 3 * * 0', workflowSpec: spec } : spec,
  };
}

describe('contract env dump', () => {
  test('writes every example\'s trainer container env for the Python contract test', () => {
    const result = writeContractEnv(EXAMPLES);
    expect(existsSync(result.dir)).toBe(true);
    expect(Object.keys(result.filesByExample).sort()).toEqual(Object.keys(EXAMPLES).sort());
    for (const [name, build] of Object.entries(EXAMPLES)) {
      const hasTrainer = JSON.stringify(synthExample(build)).includes('korean_llm_trainer');
      if (hasTrainer) expect({ name, files: result.filesByExample[name].length > 0 }).toEqual({ name, files: true });
    }
    const written = readdirSync(result.dir).filter((f) => f.endsWith('.json')).sort();
    expect(written).toEqual(Object.values(result.filesByExample).flat().sort());
    for (const file of written) {
      expect(file).toMatch(/^[A-Za-z0-9._-]+$/);
      const content: ContainerEnvFile = JSON.parse(readFileSync(join(result.dir, file), 'utf8'));
      expect(Object.keys(content).sort()).toEqual(['command', 'env', 'origin', 'secrets']);
      expect({ file, stage: content.env.STAGE }).toEqual({ file, stage: content.command.toUpperCase() });
      for (const [name, value] of Object.entries(content.env)) {
        expect(typeof value).toBe('string');
        expect({ file, name, placeholder: value.includes('{{') }).toEqual({ file, name, placeholder: false });
      }
      for (const secret of content.secrets) expect(content.env).not.toHaveProperty(secret);
    }
  });

  test('the standalone stages: one file per stage, secrets by name only', () => {
    const found = trainerContainers('standalone-stages', synthExample(EXAMPLES['standalone-stages']));
    expect(found.map((f) => f.content.command).sort()).toEqual(['cpt', 'rlhf', 'sft']);
    for (const f of found) {
      expect(f.fileName).toMatch(/^standalone-stages--PyTorchJob-[a-z0-9-]*korean-llm-(cpt|sft|rlhf)--Master\.json$/);
      expect(f.content.secrets).toEqual(['WANDB_API_KEY']);
      expect(f.content.env.WANDB_API_KEY).toBeUndefined();
    }
  });

  test('a two-node job gets one file per replica type', () => {
    const found = trainerContainers('two-node-job', synthExample(EXAMPLES['two-node-job']));
    expect(found.map((f) => f.fileName.replace(/^two-node-job--PyTorchJob-[a-z0-9-]+--/, '')).sort()).toEqual(['Master.json', 'Worker.json']);
    expect(found[0].content.env).toEqual(found[1].content.env);
  });

  test('clears old *.json files and keeps other files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'korean-llm-contract-env-test-'));
    writeFileSync(join(dir, 'stale--old.json'), '{}');
    writeFileSync(join(dir, 'README.txt'), 'keep');
    const example = (app: App) => {
      const chart = new Chart(app, 'c', { disableResourceNameHashes: true });
      new GpuTrainingJob(chart, 'job', { image: 'registry.example.com/unsloth-korean:1.0.0', trainerCommand: TrainerCommand.CPT, nodes: 2, env: { STAGE: 'CPT' } });
      return chart;
    };
    const result = writeContractEnv({ 'my example': example }, dir);
    expect(result.filesByExample).toEqual({ 'my example': ['my_example--PyTorchJob-c-job--Master.json', 'my_example--PyTorchJob-c-job--Worker.json'] });
    expect(readdirSync(dir).sort()).toEqual(['README.txt', 'my_example--PyTorchJob-c-job--Master.json', 'my_example--PyTorchJob-c-job--Worker.json']);
    const content = JSON.parse(readFileSync(join(dir, 'my_example--PyTorchJob-c-job--Worker.json'), 'utf8'));
    expect(content).toMatchObject({ origin: expect.stringContaining('my example: PyTorchJob/c-job Worker'), command: 'cpt', secrets: [] });
    expect(content.env).toMatchObject({ STAGE: 'CPT', METRICS_PORT: '9108' });
  });

  test('the folder is KOREAN_LLM_ENV_DIR relative to the repository root, else a fresh temporary folder', () => {
    const saved = process.env[ENV_DIR_VAR];
    try {
      process.env[ENV_DIR_VAR] = '.contract-env';
      expect(contractEnvDir()).toBe(join(REPO_ROOT, '.contract-env'));
      delete process.env[ENV_DIR_VAR];
      const a = contractEnvDir();
      expect(a.startsWith(tmpdir())).toBe(true);
      expect(contractEnvDir()).not.toBe(a);
    } finally {
      if (saved === undefined) delete process.env[ENV_DIR_VAR]; else process.env[ENV_DIR_VAR] = saved;
    }
  });

  test('finds the trainer command in the command or the arguments', () => {
    expect(trainerCommandOf({ command: ['torchrun', '-m', 'korean_llm_trainer', 'cpt'] })).toBe('cpt');
    expect(trainerCommandOf({ command: ['python', '-m'], args: ['korean_llm_trainer', 'evaluate'] })).toBe('evaluate');
    expect(trainerCommandOf({ command: ['sh', '-c'], args: ['python -m korean_llm_trainer export && echo done'] })).toBe('export');
    expect(trainerCommandOf({ command: ['python', 'train.py'] })).toBeUndefined();
    expect(() => trainerCommandOf({ command: ['python', '-m', 'korean_llm_trainer'] })).toThrow('without a sub-command');
  });

  test('sanitizes file name parts', () => {
    expect(sanitize('korean-llm-{{workflow.name}}/x')).toBe('korean-llm-_workflow.name_x');
  });

  test('embedded PyTorchJobs: placeholders resolve to the workflow\'s parameters and a sample run', () => {
    const env = [
      { name: 'STAGE', value: 'SFT' },
      { name: 'RUN_ID', value: '{{workflow.name}}' },
      { name: 'LEARNING_RATE', value: '{{workflow.parameters.sft-learning-rate}}' },
      { name: 'BASE_MODEL_PATH', value: '{{inputs.parameters.base-model}}' },
      { name: 'DATA_PATH', value: '{{inputs.parameters.data}}' },
      { name: 'ATTEMPT', value: '{{retries}}' },
      { name: 'WANDB_API_KEY', valueFrom: { secretKeyRef: { name: 'wandb-secret', key: 'api-key' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ];
    for (const kind of ['Workflow', 'WorkflowTemplate', 'CronWorkflow'] as const) {
      const doc = workflow(kind, [{ name: 'sft-learning-rate', value: '2e-4' }, { name: 'run-root', value: '/output/runs/{{workflow.name}}' }], [
        { name: 'main', dag: { tasks: [{ name: 'sft', template: 'sft', arguments: { parameters: [{ name: 'data', value: '{{workflow.parameters.run-root}}/sft.jsonl' }] } }] } },
        {
          name: 'sft',
          inputs: { parameters: [{ name: 'base-model', default: 'unsloth/Qwen2.5-7B-bnb-4bit' }, { name: 'data' }] },
          resource: { action: 'create', manifest: yaml.dump(PYTORCHJOB_SAMPLE(env)) },
        },
      ]);
      const found = trainerContainers('pipeline', [doc]);
      const name = kind === 'Workflow' ? 'korean-llm-' : 'korean-llm';
      expect(found.map((f) => f.fileName)).toEqual([`pipeline--${kind}-${name}--sft-Master.json`, `pipeline--${kind}-${name}--sft-Worker.json`]);
      expect(found[0].content).toEqual({
        origin: expect.stringContaining("template 'sft'"),
        command: 'sft',
        env: {
          STAGE: 'SFT',
          RUN_ID: SAMPLE_WORKFLOW_NAME,
          LEARNING_RATE: '2e-4',
          BASE_MODEL_PATH: 'unsloth/Qwen2.5-7B-bnb-4bit',
          DATA_PATH: `/output/runs/${SAMPLE_WORKFLOW_NAME}/sft.jsonl`,
          ATTEMPT: '0',
        },
        secrets: ['WANDB_API_KEY'],
      });
    }
  });

  test('Argo container templates that run the trainer', () => {
    const doc = workflow('Workflow', [{ name: 'tasks', value: 'kobest,kmmlu' }], [
      { name: 'main', steps: [[{ name: 'evaluate', template: 'evaluate' }]] },
      {
        name: 'evaluate',
        container: {
          image: 'x:1',
          command: ['python', '-m', 'korean_llm_trainer', 'evaluate'],
          env: [{ name: 'STAGE', value: 'EVALUATE' }, { name: 'EVAL_TASKS', value: '{{workflow.parameters.tasks}}' }],
        },
      },
      { name: 'notify', container: { image: 'curl:8', command: ['curl', 'http://x'], env: [{ name: 'A', value: '{{workflow.status}}' }] } },
    ]);
    const found = trainerContainers('eval', [doc]);
    expect(found).toHaveLength(1);
    expect(found[0].fileName).toBe('eval--Workflow-korean-llm---evaluate.json');
    expect(found[0].content.env).toEqual({ STAGE: 'EVALUATE', EVAL_TASKS: 'kobest,kmmlu' });
  });

  test('fails when a workflow parameter is not declared', () => {
    const doc = workflow('Workflow', [], [{
      name: 'sft',
      resource: { action: 'create', manifest: yaml.dump(PYTORCHJOB_SAMPLE([{ name: 'LEARNING_RATE', value: '{{workflow.parameters.lr}}' }])) },
    }]);
    expect(() => trainerContainers('bad', [doc])).toThrow('env LEARNING_RATE uses {{workflow.parameters.lr}}, which the workflow does not declare in spec.arguments.parameters');
  });

  test('fails when a placeholder cannot be resolved, naming it', () => {
    const doc = workflow('Workflow', [], [{
      name: 'sft',
      resource: { action: 'create', manifest: yaml.dump(PYTORCHJOB_SAMPLE([{ name: 'BASE_MODEL_PATH', value: '{{tasks.cpt.outputs.parameters.model}}' }])) },
    }]);
    expect(() => trainerContainers('bad', [doc])).toThrow('keeps the unresolved placeholder(s) {{tasks.cpt.outputs.parameters.model}}');
  });

  test('skips containers that do not run the trainer and delete templates', () => {
    const doc = workflow('Workflow', [], [
      { name: 'cleanup', resource: { action: 'delete', manifest: yaml.dump(PYTORCHJOB_SAMPLE([{ name: 'X', value: '{{bad}}' }])) } },
      { name: 'custom', resource: { action: 'create', manifest: yaml.dump(PYTORCHJOB_SAMPLE([], ['python', 'train.py'])) } },
    ]);
    expect(trainerContainers('x', [doc])).toEqual([]);
  });
});
