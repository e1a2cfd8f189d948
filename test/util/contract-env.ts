// Dumps the env of every trainer container the examples synthesize, one JSON file per container,
// for the Python contract test (python/tests/test_contract_env.py) to parse with the trainer's own
// parser. `npm test` sets KOREAN_LLM_ENV_DIR (relative to the repository root); without it the files
// go to a fresh temporary folder, so the jest side still runs.
//
// Where trainer containers are found:
// - top-level PyTorchJobs: the containers of each replica type (Master, Worker);
// - PyTorchJob manifests embedded in Argo resource templates (Workflow, WorkflowTemplate, and a
//   CronWorkflow's spec.workflowSpec);
// - Argo container templates whose command runs korean_llm_trainer.
// Argo placeholders in env values are replaced by the values a run would see; any placeholder that
// cannot be resolved is an error that names it.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { isAbsolute, join, resolve } from 'path';
import { App, Testing } from 'cdk8s';
import * as yaml from 'js-yaml';

/** The repository root (this file is test/util/contract-env.ts). */
export const REPO_ROOT = resolve(__dirname, '..', '..');
/** The env variable naming the output folder. */
export const ENV_DIR_VAR = 'KOREAN_LLM_ENV_DIR';
/** What `{{workflow.name}}` becomes: a realistic generated workflow name. */
export const SAMPLE_WORKFLOW_NAME = 'korean-llm-x7k2p';
/** The package whose sub-command names the trainer command. */
const TRAINER_MODULE = 'korean_llm_trainer';

/** One file's content, as the Python side reads it. */
export interface ContainerEnvFile {
  /** Where the container comes from (example, document, template, replica). */
  readonly origin: string;
  /** The trainer sub-command (`cpt`, `sft`, `rlhf`, `preprocess`, `evaluate`, `export`). */
  readonly command: string;
  /** The literal env values, placeholders resolved. */
  readonly env: { [name: string]: string };
  /** Names of the variables that come from Secrets (`secretKeyRef`). */
  readonly secrets: string[];
}

/** A trainer container found in a synthesized document. */
export interface TrainerContainerEnv {
  /** The file name (without folder), unique per example. */
  readonly fileName: string;
  readonly content: ContainerEnvFile;
}

/** What `writeContractEnv` did. */
export interface ContractEnvResult {
  /** The absolute output folder. */
  readonly dir: string;
  /** Files written per example (every example of the registry has an entry). */
  readonly filesByExample: { [example: string]: string[] };
}

/** Keeps a name component to `[A-Za-z0-9._-]`. */
export function sanitize(part: string): string {
  return part.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** The trainer sub-command a container runs, or undefined when it does not run the trainer. */
export function trainerCommandOf(container: any): string | undefined {
  const words = [...(container?.command ?? []), ...(container?.args ?? [])]
    .flatMap((part: unknown) => String(part).split(/\s+/))
    .filter((w: string) => w !== '');
  const at = words.indexOf(TRAINER_MODULE);
  if (at < 0) return undefined;
  const command = words[at + 1];
  if (command === undefined || !/^[a-z][a-z0-9_-]*$/.test(command)) {
    throw new Error(`a container runs ${TRAINER_MODULE} without a sub-command: ${JSON.stringify([...(container.command ?? []), ...(container.args ?? [])])}`);
  }
  return command;
}

/** How placeholders of one Argo template resolve. */
interface PlaceholderScope {
  /** The workflow's spec.arguments.parameters: name -> value (undefined when declared without one). */
  readonly workflowParameters: Map<string, string | undefined>;
  /** The template's inputs.parameters: name -> default/value, or what a DAG task or step passes. */
  readonly inputParameters: Map<string, string | undefined>;
  readonly where: string;
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Replaces the Argo placeholders a run resolves; throws naming any that remains. */
export function substitutePlaceholders(value: string, scope: PlaceholderScope, name: string): string {
  let out = value;
  // a workflow parameter's value may itself hold a placeholder ({{workflow.name}}): resolve a few levels
  for (let pass = 0; pass < 5 && out.includes('{{'); pass++) {
    out = out.replace(PLACEHOLDER, (whole, expr: string) => {
      if (expr === 'workflow.name') return SAMPLE_WORKFLOW_NAME;
      if (expr === 'retries') return '0';
      const wf = /^workflow\.parameters\.(.+)$/.exec(expr);
      if (wf) {
        if (!scope.workflowParameters.has(wf[1])) {
          throw new Error(`${scope.where}: env ${name} uses {{workflow.parameters.${wf[1]}}}, which the workflow does not declare in spec.arguments.parameters`);
        }
        const v = scope.workflowParameters.get(wf[1]);
        if (v === undefined) {
          throw new Error(`${scope.where}: env ${name} uses {{workflow.parameters.${wf[1]}}}, which is declared without a value or default`);
        }
        return v;
      }
      const input = /^inputs\.parameters\.(.+)$/.exec(expr);
      if (input && scope.inputParameters.get(input[1]) !== undefined) return scope.inputParameters.get(input[1])!;
      return whole;
    });
  }
  const left = out.match(PLACEHOLDER);
  if (left) throw new Error(`${scope.where}: env ${name} = '${value}' keeps the unresolved placeholder(s) ${left.join(', ')}`);
  return out;
}

/** The env of one container as the Python side wants it: literals and secret names; fieldRef etc. skipped. */
function envFile(container: any, origin: string, command: string, scope?: PlaceholderScope): ContainerEnvFile {
  const env: { [name: string]: string } = {};
  const secrets: string[] = [];
  for (const e of container.env ?? []) {
    if (e.valueFrom) {
      if (e.valueFrom.secretKeyRef) secrets.push(e.name);
      continue; // fieldRef, configMapKeyRef, resourceFieldRef: nothing the trainer parses from the manifest
    }
    const raw = e.value === undefined ? '' : String(e.value);
    if (scope) {
      env[e.name] = substitutePlaceholders(raw, scope, e.name);
    } else if (raw.includes('{{')) {
      throw new Error(`${origin}: env ${e.name} = '${raw}' holds a placeholder outside an Argo template`);
    } else {
      env[e.name] = raw;
    }
  }
  return { origin, command, env, secrets };
}

/** Trainer containers of a PyTorchJob, one entry per replica type. */
function pyTorchJobContainers(job: any, origin: string, label: string, scope?: PlaceholderScope): { label: string; content: ContainerEnvFile }[] {
  const out: { label: string; content: ContainerEnvFile }[] = [];
  for (const [type, spec] of Object.entries<any>(job?.spec?.pytorchReplicaSpecs ?? {})) {
    for (const c of spec?.template?.spec?.containers ?? []) {
      const command = trainerCommandOf(c);
      if (!command) continue;
      const suffix = (spec.template.spec.containers.length > 1) ? `${type}.${c.name}` : type;
      out.push({ label: label ? `${label}-${suffix}` : suffix, content: envFile(c, `${origin} ${suffix} container '${c.name}'`, command, scope) });
    }
  }
  return out;
}

/** The trainer of a TrainJob (`spec.trainer`: image, command, env of the runtime's container `node`). */
function trainJobContainers(job: any, origin: string, label: string, scope?: PlaceholderScope): { label: string; content: ContainerEnvFile }[] {
  const trainer = job?.spec?.trainer;
  const command = trainer ? trainerCommandOf(trainer) : undefined;
  if (!command) return [];
  const suffix = 'trainer';
  return [{ label: label ? `${label}-${suffix}` : suffix, content: envFile(trainer, `${origin} trainer`, command, scope) }];
}

/** spec.arguments.parameters of an Argo document: name -> value or default. */
function workflowParameters(spec: any): Map<string, string | undefined> {
  const params = new Map<string, string | undefined>();
  for (const p of spec?.arguments?.parameters ?? []) {
    const v = p.value ?? p.default;
    params.set(p.name, v === undefined ? undefined : String(v));
  }
  return params;
}

/**
 * The template's inputs.parameters: the default or value when it has one, else what the first DAG
 * task or step that calls the template passes (which may itself be a workflow placeholder).
 */
function inputParameters(template: any, templates: any[]): Map<string, string | undefined> {
  const params = new Map<string, string | undefined>();
  const passed = new Map<string, string>();
  for (const t of templates) {
    const calls = [...(t.dag?.tasks ?? []), ...((t.steps ?? []).flat())];
    for (const call of calls) {
      if (call.template !== template.name) continue;
      for (const a of call.arguments?.parameters ?? []) {
        if (a.value !== undefined && !passed.has(a.name)) passed.set(a.name, String(a.value));
      }
    }
  }
  for (const p of template.inputs?.parameters ?? []) {
    const v = p.value ?? p.default ?? passed.get(p.name);
    params.set(p.name, v === undefined ? undefined : String(v));
  }
  return params;
}

/** Every trainer container of one example's synthesized documents. */
export function trainerContainers(example: string, docs: any[]): TrainerContainerEnv[] {
  const found: TrainerContainerEnv[] = [];
  const add = (docPart: string, label: string, content: ContainerEnvFile) => {
    found.push({ fileName: `${sanitize(example)}--${sanitize(docPart)}--${sanitize(label)}.json`, content });
  };
  for (const doc of docs) {
    const docName = doc?.metadata?.name ?? doc?.metadata?.generateName ?? 'unnamed';
    const docPart = `${doc?.kind}-${docName}`;
    const origin = `${example}: ${doc?.kind}/${docName}`;
    if (doc?.kind === 'PyTorchJob') {
      for (const c of pyTorchJobContainers(doc, origin, '')) add(docPart, c.label, c.content);
      continue;
    }
    if (doc?.kind === 'TrainJob') {
      for (const c of trainJobContainers(doc, origin, '')) add(docPart, c.label, c.content);
      continue;
    }
    const spec = doc?.kind === 'CronWorkflow' ? doc?.spec?.workflowSpec
      : (doc?.kind === 'Workflow' || doc?.kind === 'WorkflowTemplate') ? doc?.spec : undefined;
    if (!spec) continue;
    const templates: any[] = spec.templates ?? [];
    const wfParams = workflowParameters(spec);
    for (const t of templates) {
      const where = `${origin} template '${t.name}'`;
      const scope: PlaceholderScope = { workflowParameters: wfParams, inputParameters: inputParameters(t, templates), where };
      if (t.resource?.manifest && t.resource.action !== 'delete') {
        const manifest: any = yaml.load(t.resource.manifest);
        if (manifest?.kind === 'PyTorchJob') {
          for (const c of pyTorchJobContainers(manifest, `${where} (PyTorchJob manifest)`, t.name, scope)) add(docPart, c.label, c.content);
        }
        if (manifest?.kind === 'TrainJob') {
          for (const c of trainJobContainers(manifest, `${where} (TrainJob manifest)`, t.name, scope)) add(docPart, c.label, c.content);
        }
      }
      if (t.container) {
        const command = trainerCommandOf(t.container);
        if (command) add(docPart, t.name, envFile(t.container, `${where} container`, command, scope));
      }
    }
  }
  const names = found.map((f) => f.fileName);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`two trainer containers of example '${example}' map to the file name ${dup}`);
  return found;
}

/** The output folder: KOREAN_LLM_ENV_DIR (relative to the repository root), else a fresh temporary one. */
export function contractEnvDir(): string {
  const raw = process.env[ENV_DIR_VAR];
  if (raw === undefined || raw.trim() === '') return mkdtempSync(join(tmpdir(), 'korean-llm-contract-env-'));
  return isAbsolute(raw) ? raw : resolve(REPO_ROOT, raw);
}

/**
 * Synthesizes every example of the registry and writes each trainer container's env as JSON into
 * the output folder, after clearing the `*.json` files an earlier run left there.
 */
export function writeContractEnv(examples: { [name: string]: (app: App) => unknown }, dir = contractEnvDir()): ContractEnvResult {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.json')) rmSync(join(dir, f));
  const filesByExample: { [example: string]: string[] } = {};
  for (const [name, build] of Object.entries(examples)) {
    filesByExample[name] = [];
    for (const { fileName, content } of trainerContainers(name, synthExample(build))) {
      const path = join(dir, fileName);
      if (existsSync(path)) throw new Error(`${fileName} was written twice: example names must map to distinct files`);
      writeFileSync(path, JSON.stringify(content, null, 2) + '\n');
      filesByExample[name].push(fileName);
    }
  }
  return { dir, filesByExample };
}

/** The synthesized documents of one example (every chart it adds). */
export function synthExample(build: (app: App) => unknown): any[] {
  const app = Testing.app();
  build(app);
  return app.charts.flatMap((chart) => Testing.synth(chart));
}
