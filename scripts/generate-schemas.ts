// Writes test/schemas/ from the upstream CRDs and the Kubernetes 1.28 definitions kept beside the
// project in ../shared/crds (`npx projen schemas`; manual only, never part of a build or a test).
//
// Each CRD version the library emits becomes test/schemas/<group>_<version>_<kind>.json: the
// version's openAPIV3Schema as upstream wrote it, less its `description` and `example` keywords.
// test/schemas/k8s-1.28-definitions.json holds every Kubernetes 1.28 definition, stripped the same
// way. Nothing else is changed: test/util/schema.ts makes them strict when it loads them. Keys keep
// the upstream order and the JSON is compact, so a rerun on the same inputs writes the same bytes.
import { createHash } from 'crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import * as yaml from 'js-yaml';

const ROOT = join(__dirname, '..');
const CRDS = join(ROOT, '..', 'shared', 'crds');
const OUT = join(ROOT, 'test', 'schemas');

interface Upstream {
  readonly repo: string;
  readonly tag: string;
  readonly commit: string;
  /** the folder of the CRD files in the upstream repository */
  readonly path: string;
}

const TRAINING_OPERATOR: Upstream = { repo: 'kubeflow/trainer (formerly kubeflow/training-operator)', tag: 'v1.9.4', commit: '4445c12aa62e4345b0c2c6ac9b215a70eca46ed7', path: 'manifests/base/crds' };
const TRAINER: Upstream = { repo: 'kubeflow/trainer', tag: 'v2.3.0', commit: '658725bdae5c7e3a0854d93ac6ff492e109a22ab', path: 'manifests/base/crds' };
const ARGO: Upstream = { repo: 'argoproj/argo-workflows', tag: 'v3.7.18', commit: '66e32e5cc367f223e2ecf4fbe852b95eaed83034', path: 'manifests/base/crds/full' };
const PROMETHEUS: Upstream = { repo: 'prometheus-operator/prometheus-operator', tag: 'v0.93.0', commit: 'f8fafd475f3d132e239432ae6172de60a6cb6516', path: 'example/prometheus-operator-crd' };
const KUEUE: Upstream = { repo: 'kubernetes-sigs/kueue', tag: 'v0.19.2', commit: '8eab68778fc1b52affe165fdf5af29d1e9b4f3cb', path: 'config/components/crd/bases' };
const VOLCANO: Upstream = { repo: 'volcano-sh/volcano', tag: 'v1.15.1', commit: '0a56ed331897f5455916a44d3075671376d731d6', path: 'config/crd/volcano/bases' };
const KSERVE: Upstream = { repo: 'kserve/kserve', tag: 'v0.20.0', commit: '1fb781055dd1567164358233e1125142ca6ef1fe', path: 'config/crd/full' };

interface Source {
  /** the file in ../shared/crds */
  readonly file: string;
  readonly upstream: Upstream;
  /** the versions written out */
  readonly versions: string[];
}

const SOURCES: Source[] = [
  { file: 'kubeflow-training-operator/kubeflow.org_pytorchjobs.yaml', upstream: TRAINING_OPERATOR, versions: ['v1'] },
  { file: 'kubeflow-trainer/trainer.kubeflow.org_trainjobs.yaml', upstream: TRAINER, versions: ['v1alpha1'] },
  { file: 'kubeflow-trainer/trainer.kubeflow.org_trainingruntimes.yaml', upstream: TRAINER, versions: ['v1alpha1'] },
  { file: 'kubeflow-trainer/trainer.kubeflow.org_clustertrainingruntimes.yaml', upstream: TRAINER, versions: ['v1alpha1'] },
  { file: 'argo-workflows/argoproj.io_workflows.yaml', upstream: ARGO, versions: ['v1alpha1'] },
  { file: 'argo-workflows/argoproj.io_workflowtemplates.yaml', upstream: ARGO, versions: ['v1alpha1'] },
  { file: 'argo-workflows/argoproj.io_cronworkflows.yaml', upstream: ARGO, versions: ['v1alpha1'] },
  { file: 'prometheus-operator/monitoring.coreos.com_podmonitors.yaml', upstream: PROMETHEUS, versions: ['v1'] },
  { file: 'prometheus-operator/monitoring.coreos.com_servicemonitors.yaml', upstream: PROMETHEUS, versions: ['v1'] },
  { file: 'prometheus-operator/monitoring.coreos.com_prometheusrules.yaml', upstream: PROMETHEUS, versions: ['v1'] },
  { file: 'prometheus-operator/monitoring.coreos.com_alertmanagerconfigs.yaml', upstream: PROMETHEUS, versions: ['v1alpha1'] },
  { file: 'kueue/kueue.x-k8s.io_resourceflavors.yaml', upstream: KUEUE, versions: ['v1beta1', 'v1beta2'] },
  { file: 'kueue/kueue.x-k8s.io_clusterqueues.yaml', upstream: KUEUE, versions: ['v1beta1', 'v1beta2'] },
  { file: 'kueue/kueue.x-k8s.io_localqueues.yaml', upstream: KUEUE, versions: ['v1beta1', 'v1beta2'] },
  { file: 'kueue/kueue.x-k8s.io_workloadpriorityclasses.yaml', upstream: KUEUE, versions: ['v1beta1', 'v1beta2'] },
  { file: 'volcano/scheduling.volcano.sh_queues.yaml', upstream: VOLCANO, versions: ['v1beta1'] },
  { file: 'volcano/scheduling.volcano.sh_podgroups.yaml', upstream: VOLCANO, versions: ['v1beta1'] },
  { file: 'kserve/serving.kserve.io_inferenceservices.yaml', upstream: KSERVE, versions: ['v1beta1'] },
];

const K8S_FILE = 'kubernetes/v1.28.0/_definitions.json';
const K8S_OUT = 'k8s-1.28-definitions.json';

/**
 * Drops the `description` and `example` keywords everywhere, but not properties or definitions of
 * those names (the keys of `properties`, `patternProperties` and `definitions` are names, not keywords).
 */
function strip(node: any): any {
  if (Array.isArray(node)) return node.map(strip);
  if (!node || typeof node !== 'object') return node;
  // a YAML timestamp would not survive JSON unchanged
  if (!(Object.getPrototypeOf(node) === Object.prototype)) throw new Error(`not plain data: ${String(node)}`);
  const out: any = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'description' || k === 'example') continue;
    out[k] = k === 'properties' || k === 'definitions' || k === 'patternProperties'
      ? Object.fromEntries(Object.entries(v as any).map(([name, s]) => [name, strip(s)]))
      : strip(v);
  }
  return out;
}

/** The checksums listed in ../shared/crds/SHA256SUMS: each input must be the upstream blob. */
function checksums(): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of readFileSync(join(CRDS, 'SHA256SUMS'), 'utf8').split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line.trim());
    if (m) sums.set(m[2], m[1]);
  }
  return sums;
}

function read(file: string, sums: Map<string, string>): { text: string; sha256: string } {
  const text = readFileSync(join(CRDS, file), 'utf8');
  const sha256 = createHash('sha256').update(readFileSync(join(CRDS, file))).digest('hex');
  if (sums.get(file) !== sha256) throw new Error(`${file}: its SHA-256 is not the one in SHA256SUMS`);
  return { text, sha256 };
}

function main(): void {
  if (!existsSync(CRDS)) throw new Error('../shared/crds (beside the project) is absent: it holds the upstream files to generate from');
  const sums = checksums();
  mkdirSync(OUT, { recursive: true });
  const written: { name: string; source: string; upstream: string; sha256: string }[] = [];

  for (const src of SOURCES) {
    const { text, sha256 } = read(src.file, sums);
    const crd: any = yaml.load(text);
    if (crd.kind !== 'CustomResourceDefinition') throw new Error(`${src.file} is not a CRD`);
    const { group, names } = crd.spec;
    for (const version of src.versions) {
      const ver = crd.spec.versions.find((v: any) => v.name === version);
      if (!ver) throw new Error(`${src.file} has no version ${version}`);
      const name = `${group}_${version}_${names.kind}.json`;
      writeFileSync(join(OUT, name), JSON.stringify(strip(ver.schema.openAPIV3Schema)) + '\n');
      const base = src.file.split('/').pop();
      written.push({
        name,
        source: src.file,
        upstream: `${src.upstream.repo} \`${src.upstream.tag}\` (\`${src.upstream.commit.slice(0, 12)}\`), \`${src.upstream.path}/${base}\``,
        sha256,
      });
    }
  }

  const k8s = read(K8S_FILE, sums);
  const definitions = JSON.parse(k8s.text).definitions;
  writeFileSync(join(OUT, K8S_OUT), JSON.stringify({ definitions: strip(definitions) }) + '\n');
  written.push({
    name: K8S_OUT,
    source: K8S_FILE,
    upstream: 'cdk8s-team/cdk8s (`749720900394`), `kubernetes-schemas/v1.28.0/_definitions.json`, generated from kubernetes/kubernetes `v1.28.0` `api/openapi-spec/swagger.json`',
    sha256: k8s.sha256,
  });

  // schemas of kinds no longer listed would linger: remove them
  const names = new Set(written.map((w) => w.name));
  for (const f of readdirSync(OUT)) if (f.endsWith('.json') && !names.has(f)) unlinkSync(join(OUT, f));

  writeFileSync(join(OUT, 'README.md'), readme(written));
  let total = 0;
  for (const w of written) {
    const size = readFileSync(join(OUT, w.name)).length;
    total += size;
    console.log(`${String(size).padStart(9)}  test/schemas/${w.name}`);
  }
  console.log(`${String(total).padStart(9)}  in ${written.length} files`);
}

function readme(rows: { name: string; source: string; upstream: string; sha256: string }[]): string {
  return [
    '# Schemas for the tests',
    '',
    'The schemas `test/util/schema.ts` validates every synthesized document against, kept in the',
    'repository so that the tests need nothing outside it. Generated by `scripts/generate-schemas.ts`',
    '(`npx projen schemas`) from unmodified upstream files, all Apache-2.0; do not edit them by hand.',
    '',
    '* `<group>_<version>_<kind>.json`: that version\'s `openAPIV3Schema` from the upstream CRD.',
    '* `k8s-1.28-definitions.json`: every Kubernetes v1.28.0 API definition (`{"definitions": ...}`).',
    '',
    'The only change from upstream: the `description` and `example` keywords are removed. The test',
    'helper makes the schemas strict when it loads them (unknown fields rejected, `metadata` checked',
    'against the 1.28 `ObjectMeta`, Kubernetes extensions such as `x-kubernetes-int-or-string` mapped to',
    'JSON Schema).',
    '',
    '## Regenerating',
    '',
    'The generator reads the upstream files from `../shared/crds` beside the project (one file per',
    'upstream blob, with a `SHA256SUMS` the generator checks), then rewrites this folder, this README',
    'included. The output is deterministic: the same inputs give the same bytes.',
    '',
    '```sh',
    'npx projen schemas',
    '```',
    '',
    'To validate a new kind, add its CRD to `SOURCES` in the generator, run it, and add the kind to',
    '`CRD_KINDS` in `test/util/schema.ts`.',
    '',
    '## Files',
    '',
    '| Schema | Upstream (repository, tag, commit, path) | Input file | SHA-256 of the input |',
    '|---|---|---|---|',
    ...rows.map((r) => `| \`${r.name}\` | ${r.upstream} | \`${r.source}\` | \`${r.sha256}\` |`),
    '',
  ].join('\n');
}

main();
