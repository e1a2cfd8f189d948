// Strict schema validation of synthesized documents, as a strict API server would do it:
// - custom resources against the upstream CRDs (unknown fields rejected),
// - core kinds against the Kubernetes 1.28 schema and, as a second independent check, the
//   `kubernetes-models` package,
// - PyTorchJob pod templates against the 1.28 PodTemplateSpec too (the v1.9.4 CRD allows newer fields),
// - the PyTorchJob admission webhook's rules.
// The schemas are committed in test/schemas (see its README: upstream tags, and `npx projen schemas`
// to regenerate them), so the checks run wherever the repository is checked out.
import { readFileSync } from 'fs';
import { join } from 'path';
import Ajv, { ValidateFunction } from 'ajv';
import * as yaml from 'js-yaml';

export const SCHEMAS_DIR = join(__dirname, '..', 'schemas');

/** Every custom resource kind validated, as `group/version/Kind`: the library emits them (TrainJob and the runtimes: soon). */
export const CRD_KINDS: readonly string[] = [
  'kubeflow.org/v1/PyTorchJob',
  'trainer.kubeflow.org/v1alpha1/TrainJob',
  'trainer.kubeflow.org/v1alpha1/TrainingRuntime',
  'trainer.kubeflow.org/v1alpha1/ClusterTrainingRuntime',
  'argoproj.io/v1alpha1/Workflow',
  'argoproj.io/v1alpha1/WorkflowTemplate',
  'argoproj.io/v1alpha1/CronWorkflow',
  'monitoring.coreos.com/v1/PodMonitor',
  'monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
  'monitoring.coreos.com/v1alpha1/AlertmanagerConfig',
  'kueue.x-k8s.io/v1beta1/ResourceFlavor',
  'kueue.x-k8s.io/v1beta2/ResourceFlavor',
  'kueue.x-k8s.io/v1beta1/ClusterQueue',
  'kueue.x-k8s.io/v1beta2/ClusterQueue',
  'kueue.x-k8s.io/v1beta1/LocalQueue',
  'kueue.x-k8s.io/v1beta2/LocalQueue',
  'kueue.x-k8s.io/v1beta1/WorkloadPriorityClass',
  'kueue.x-k8s.io/v1beta2/WorkloadPriorityClass',
  'scheduling.volcano.sh/v1beta1/Queue',
  'scheduling.volcano.sh/v1beta1/PodGroup',
  'serving.kserve.io/v1beta1/InferenceService',
];

/** The file in test/schemas with the openAPIV3Schema of a CRD version. */
export function crdSchemaFile(gvk: string): string {
  const [group, version, kind] = gvk.split('/');
  return `${group}_${version}_${kind}.json`;
}

/** The Kubernetes 1.28 definitions, in test/schemas. */
export const K8S_DEFINITIONS_FILE = 'k8s-1.28-definitions.json';

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validators = new Map<string, ValidateFunction>();
let k8sDefinitions: any;

function definitions(): any {
  if (!k8sDefinitions) {
    const raw = JSON.parse(readFileSync(join(SCHEMAS_DIR, K8S_DEFINITIONS_FILE), 'utf8')).definitions;
    k8sDefinitions = strictify(raw, false);
  }
  return k8sDefinitions;
}

/** Rejects unknown fields the way a strict API server does; maps Kubernetes extensions to JSON Schema. */
function strictify(node: any, crd: boolean): any {
  if (Array.isArray(node)) return node.map((n) => strictify(n, crd));
  if (!node || typeof node !== 'object') return node;
  const out: any = {};
  for (const [k, val] of Object.entries(node)) {
    if (k === 'description' || k === 'example') continue;
    // Go's inline case-insensitive flag `(?i)` (PrometheusRule, AlertmanagerConfig) is not JavaScript
    // syntax: drop it, which only makes those few patterns case-sensitive
    if (k === 'pattern' && typeof val === 'string') {
      out[k] = val.replace(/\(\?i\)/g, '');
      continue;
    }
    out[k] = k === 'properties' || k === 'definitions' || k === 'patternProperties'
      ? Object.fromEntries(Object.entries(val as any).map(([pk, pv]) => [pk, strictify(pv, crd)]))
      : strictify(val, crd);
  }
  if (out['x-kubernetes-int-or-string']) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (out.nullable && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (out['x-kubernetes-embedded-resource']) {
    out.properties = { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...out.properties };
  }
  const preserve = out['x-kubernetes-preserve-unknown-fields'] === true;
  if (out.properties && out.additionalProperties === undefined && !preserve) out.additionalProperties = false;
  return out;
}

function crdValidator(gvk: string): ValidateFunction | undefined {
  if (!CRD_KINDS.includes(gvk)) return undefined;
  if (!validators.has(gvk)) {
    const schema = strictify(JSON.parse(readFileSync(join(SCHEMAS_DIR, crdSchemaFile(gvk)), 'utf8')), true);
    // metadata is not in the CRD schema: check it against the real ObjectMeta
    schema.properties.metadata = { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' };
    schema.definitions = definitions();
    validators.set(gvk, ajv.compile(schema));
  }
  return validators.get(gvk);
}

function coreDefinitionName(apiVersion: string, kind: string): string | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  for (const [name, def] of Object.entries<any>(definitions())) {
    for (const g of def['x-kubernetes-group-version-kind'] ?? []) {
      if (g.group === group && g.version === version && g.kind === kind) return name;
    }
  }
  return undefined;
}

function refValidator(definition: string): ValidateFunction {
  if (!validators.has(definition)) {
    validators.set(definition, ajv.compile({ $ref: `#/definitions/${definition}`, definitions: definitions() }));
  }
  return validators.get(definition)!;
}

function errorsOf(fn: ValidateFunction, doc: any, where: string): string[] {
  if (fn(doc)) return [];
  return (fn.errors ?? []).map((e) => `${where}${e.instancePath} ${e.message}${e.params && (e.params as any).additionalProperty ? ` '${(e.params as any).additionalProperty}'` : ''}`);
}

/** Validation by the `kubernetes-models` package (an independent implementation of the 1.28+ schema). */
function kubernetesModelsErrors(doc: any, where: string): string[] {
  const [group, version] = doc.apiVersion.includes('/') ? doc.apiVersion.split('/') : ['', doc.apiVersion];
  let mod: any;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(`kubernetes-models/${group ? group + '/' : ''}${version}`);
  } catch {
    return [];
  }
  const Model = mod[doc.kind];
  if (!Model) return [];
  try {
    new Model(doc).validate();
    return [];
  } catch (e: any) {
    return [`${where} (kubernetes-models): ${e.message}`];
  }
}

const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** The Training Operator's PyTorchJob admission webhook rules (v1.9). */
export function pytorchJobWebhookErrors(doc: any, where = 'PyTorchJob'): string[] {
  const errors: string[] = [];
  const name: string | undefined = doc.metadata?.name;
  if (name !== undefined && (name.length > 63 || !DNS_1035.test(name))) errors.push(`${where}: name '${name}' is not a DNS-1035 label`);
  const gen: string | undefined = doc.metadata?.generateName;
  if (name === undefined && gen === undefined) errors.push(`${where}: neither name nor generateName`);
  const specs = doc.spec?.pytorchReplicaSpecs ?? {};
  for (const [type, spec] of Object.entries<any>(specs)) {
    if (type !== 'Master' && type !== 'Worker') errors.push(`${where}: replica type '${type}' is not Master or Worker`);
    const containers = spec.template?.spec?.containers ?? [];
    const pytorch = containers.find((c: any) => c.name === 'pytorch');
    if (!pytorch) errors.push(`${where}: ${type} has no container named 'pytorch'`);
    for (const c of containers) if (!c.image) errors.push(`${where}: ${type} container '${c.name}' has no image`);
    if (type === 'Master' && (spec.replicas ?? 1) !== 1) errors.push(`${where}: Master replicas must be 1`);
    if (type === 'Worker' && (spec.replicas ?? 1) < 1) errors.push(`${where}: Worker replicas must be at least 1`);
  }
  if (doc.spec?.elasticPolicy && !specs.Worker) errors.push(`${where}: elasticPolicy without a Worker replica`);
  if (doc.spec?.nprocPerNode !== undefined && doc.spec?.elasticPolicy?.nProcPerNode !== undefined) {
    errors.push(`${where}: both nprocPerNode and elasticPolicy.nProcPerNode`);
  }
  return errors;
}

/**
 * Every schema error of one document (empty when valid). Embedded PyTorchJob manifests in Argo
 * resource templates are parsed and validated like top-level ones.
 */
export function validateDocument(doc: any): string[] {
  const where = `${doc.kind}/${doc.metadata?.name ?? doc.metadata?.generateName ?? '?'}`;
  const gvk = `${doc.apiVersion}/${doc.kind}`;
  const errors: string[] = [];
  const crd = crdValidator(gvk);
  if (crd) {
    errors.push(...errorsOf(crd, doc, where));
  } else {
    const def = coreDefinitionName(doc.apiVersion, doc.kind);
    if (!def) return [`${where}: no schema known for ${gvk}`];
    errors.push(...errorsOf(refValidator(def), doc, where));
    errors.push(...kubernetesModelsErrors(doc, where));
  }
  if (doc.kind === 'PyTorchJob') {
    errors.push(...pytorchJobWebhookErrors(doc, where));
    for (const [type, spec] of Object.entries<any>(doc.spec?.pytorchReplicaSpecs ?? {})) {
      errors.push(...errorsOf(refValidator('io.k8s.api.core.v1.PodTemplateSpec'), spec.template, `${where} ${type} template (Kubernetes 1.28)`));
    }
  }
  if (doc.kind === 'TrainingRuntime' || doc.kind === 'ClusterTrainingRuntime') {
    // the JobSet template's pods, against Kubernetes 1.28 too (the v2.3 CRD allows newer fields)
    for (const rj of doc.spec?.template?.spec?.replicatedJobs ?? []) {
      errors.push(...errorsOf(refValidator('io.k8s.api.core.v1.PodTemplateSpec'), rj.template?.spec?.template ?? {}, `${where} ${rj.name} template (Kubernetes 1.28)`));
    }
  }
  for (const m of embeddedManifests(doc)) errors.push(...validateDocument(m).map((e) => `${where} embeds ${e}`));
  return errors;
}

/** Templates of an Argo Workflow, WorkflowTemplate or CronWorkflow. */
export function argoTemplates(doc: any): any[] {
  if (doc.kind === 'CronWorkflow') return doc.spec?.workflowSpec?.templates ?? [];
  if (doc.kind === 'Workflow' || doc.kind === 'WorkflowTemplate') return doc.spec?.templates ?? [];
  return [];
}

/** The complete objects an Argo document creates (resource templates with create or apply), parsed. */
export function embeddedManifests(doc: any): any[] {
  // patch manifests are partial by nature; delete ones name objects: neither is a whole object
  return argoTemplates(doc)
    .filter((t) => t.resource?.manifest && (t.resource.action === 'create' || t.resource.action === 'apply'))
    .map((t) => yaml.load(t.resource.manifest));
}

/** Asserts that every document validates, with a readable failure. */
export function expectValid(docs: any[]): void {
  const errors = docs.flatMap((d) => validateDocument(d));
  expect(errors).toEqual([]);
}
