// An independent check of the rules the Argo Workflows controller (3.7) enforces when it validates
// or runs a Workflow, WorkflowTemplate or CronWorkflow, beyond what the CRD schema can express:
// references between templates, tasks, parameters and volumes, DAG shape, and the `when` and
// resource-template pitfalls listed in docs/RESEARCH.md. Written from Argo's documented behaviour,
// not from the library's code, so the two can disagree.

import { argoTemplates } from './schema';
import type { Pipeline, PipelineStep } from '../../src';

const ARGO_KINDS = ['Workflow', 'WorkflowTemplate', 'CronWorkflow'];
/** Suffixes of a task name in a `depends` expression (`cpt.Succeeded`). */
const DEPENDS_RESULTS = ['Succeeded', 'Failed', 'Errored', 'Skipped', 'Omitted', 'Daemoned', 'AnySucceeded', 'AllFailed'];

/** The workflow spec of an Argo document (CronWorkflow: `spec.workflowSpec`), or undefined. */
export function argoWorkflowSpec(doc: any): any | undefined {
  if (!doc || !ARGO_KINDS.includes(doc.kind)) return undefined;
  return doc.kind === 'CronWorkflow' ? doc.spec?.workflowSpec : doc.spec;
}

/** Every `{{prefix.NAME...}}` placeholder in a JSON-able value (strings inside manifests included). */
function placeholders(value: any): string[] {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
  return [...text.matchAll(/\{\{\s*([^{}]+?)\s*\}\}/g)].map((m) => m[1]);
}

/** Task names a `depends` expression refers to. */
export function dependsNames(expression: string): string[] {
  const names = expression
    .replace(/[()!]/g, ' ')
    .split(/&&|\|\|/)
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => {
      const dot = t.lastIndexOf('.');
      return dot > 0 && DEPENDS_RESULTS.includes(t.slice(dot + 1)) ? t.slice(0, dot) : t;
    });
  return [...new Set(names)];
}

/** Errors of one DAG template. */
function dagErrors(tmpl: any, byName: Map<string, any>): string[] {
  const errors: string[] = [];
  const where = `template '${tmpl.name}'`;
  const tasks: any[] = tmpl.dag.tasks ?? [];
  if (tasks.length === 0) errors.push(`${where}: a DAG without tasks`);
  const taskNames = new Set<string>();
  for (const t of tasks) {
    if (taskNames.has(t.name)) errors.push(`${where}: task name '${t.name}' is not unique`);
    taskNames.add(t.name);
  }
  const deps = new Map<string, string[]>();
  for (const t of tasks) {
    if (t.template === undefined && t.templateRef === undefined && t.inline === undefined) {
      errors.push(`${where}: task '${t.name}' names no template`);
    }
    if (t.template !== undefined && !byName.has(t.template)) {
      errors.push(`${where}: task '${t.name}' uses template '${t.template}', which does not exist`);
    }
    if (t.depends !== undefined && t.dependencies !== undefined) {
      errors.push(`${where}: task '${t.name}' sets both 'depends' and 'dependencies'`);
    }
    const names = t.depends !== undefined ? dependsNames(t.depends) : [...(t.dependencies ?? [])];
    for (const n of names) {
      if (!taskNames.has(n)) errors.push(`${where}: task '${t.name}' depends on '${n}', which is not a task of this DAG`);
      if (n === t.name) errors.push(`${where}: task '${t.name}' depends on itself`);
    }
    deps.set(t.name, names.filter((n) => taskNames.has(n)));
  }

  // cycles (depth-first search)
  const state = new Map<string, number>();
  const reported = new Set<string>();
  const visit = (n: string, path: string[]): void => {
    if (state.get(n) === 2) return;
    if (state.get(n) === 1) {
      const cycle = [...path.slice(path.indexOf(n)), n].join(' -> ');
      if (!reported.has(n)) errors.push(`${where}: dependency cycle ${cycle}`);
      reported.add(n);
      return;
    }
    state.set(n, 1);
    for (const d of deps.get(n) ?? []) visit(d, [...path, n]);
    state.set(n, 2);
  };
  for (const t of tasks) visit(t.name, []);

  // transitive ancestors, for `{{tasks.T.outputs...}}` references
  const ancestors = (n: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [...(deps.get(n) ?? [])];
    while (stack.length) {
      const d = stack.pop()!;
      if (seen.has(d)) continue;
      seen.add(d);
      stack.push(...(deps.get(d) ?? []));
    }
    return seen;
  };
  for (const t of tasks) {
    const { name: _n, template: _t, depends: _d, dependencies: _ds, ...rest } = t;
    const up = ancestors(t.name);
    for (const p of placeholders(rest)) {
      const m = /^tasks\.([^.]+)\.(.+)$/.exec(p);
      if (!m) continue;
      const [, ref, field] = m;
      if (!taskNames.has(ref)) {
        errors.push(`${where}: task '${t.name}' refers to '{{${p}}}', but '${ref}' is not a task of this DAG`);
        continue;
      }
      if (!up.has(ref)) {
        errors.push(`${where}: task '${t.name}' refers to '{{${p}}}' without depending on '${ref}' (directly or transitively)`);
      }
      const out = /^outputs\.parameters\.(.+)$/.exec(field);
      if (out) {
        const refTask = tasks.find((x) => x.name === ref);
        const refTmpl = byName.get(refTask?.template);
        const declared = (refTmpl?.outputs?.parameters ?? []).map((x: any) => x.name);
        if (refTmpl && !declared.includes(out[1])) {
          errors.push(`${where}: task '${t.name}' refers to '{{${p}}}', but template '${refTmpl.name}' declares no output parameter '${out[1]}'`);
        }
      }
    }
    if (t.when !== undefined) errors.push(...whenErrors(`${where}: task '${t.name}'`, t.when));
  }
  return errors;
}

/** govaluate pitfalls of a `when` expression (evaluated after plain-text substitution). */
export function whenErrors(where: string, when: string): string[] {
  const errors: string[] = [];
  // '{{...}}' >= x or x >= '{{...}}': a quoted placeholder is a string, and govaluate refuses to
  // compare strings with an ordering comparator
  const quoted = /(['"])\{\{[^{}]+\}\}\1\s*(>=|<=|>|<)|(>=|<=|>|<)\s*(['"])\{\{[^{}]+\}\}\4/;
  if (quoted.test(when)) errors.push(`${where}: 'when' quotes a placeholder next to a numeric comparator: ${when}`);
  return errors;
}

/**
 * Every controller-level error of an Argo Workflow, WorkflowTemplate or CronWorkflow (empty when
 * fine; empty for any other kind).
 */
export function argoSemanticErrors(doc: any): string[] {
  const spec = argoWorkflowSpec(doc);
  if (!doc || !ARGO_KINDS.includes(doc.kind)) return [];
  if (!spec) return [`${doc.kind}: no workflow spec`];
  const errors: string[] = [];
  const templates: any[] = spec.templates ?? [];
  const byName = new Map<string, any>();
  for (const t of templates) {
    if (byName.has(t.name)) errors.push(`template name '${t.name}' is not unique`);
    byName.set(t.name, t);
  }

  if (spec.entrypoint === undefined) {
    if (doc.kind !== 'WorkflowTemplate' && spec.workflowTemplateRef === undefined) errors.push('spec.entrypoint is not set');
  } else if (!byName.has(spec.entrypoint)) {
    errors.push(`entrypoint '${spec.entrypoint}' is not a template`);
  }
  if (spec.onExit !== undefined && !byName.has(spec.onExit)) errors.push(`onExit '${spec.onExit}' is not a template`);
  if (spec.volumeClaimTemplates !== undefined) {
    errors.push('spec.volumeClaimTemplates is set: a new, empty volume per run (mount existing claims instead)');
  }

  // workflow parameters: declared in spec.arguments.parameters, wherever they are used
  const declaredParams = new Set<string>((spec.arguments?.parameters ?? []).map((p: any) => p.name));
  for (const p of placeholders(spec)) {
    const m = /^workflow\.parameters\.(.+)$/.exec(p);
    if (m && !declaredParams.has(m[1])) errors.push(`'{{${p}}}' is used, but '${m[1]}' is not in spec.arguments.parameters`);
  }

  const workflowVolumes = new Set<string>((spec.volumes ?? []).map((vol: any) => vol.name));
  for (const t of templates) {
    const where = `template '${t.name}'`;
    // inputs.parameters
    const inputs = new Set<string>((t.inputs?.parameters ?? []).map((p: any) => p.name));
    for (const p of placeholders(t)) {
      const m = /^inputs\.parameters\.(.+)$/.exec(p);
      if (m && !inputs.has(m[1])) errors.push(`${where}: '{{${p}}}' is used, but '${m[1]}' is not one of its inputs.parameters`);
      if (p === 'retries' && !t.retryStrategy) errors.push(`${where}: '{{retries}}' is used without a retryStrategy`);
    }
    // volume mounts
    const own = new Set<string>((t.volumes ?? []).map((vol: any) => vol.name));
    const containers = [t.container, t.script, ...(t.initContainers ?? []), ...(t.sidecars ?? [])].filter(Boolean);
    for (const c of containers) {
      for (const vm of c.volumeMounts ?? []) {
        if (!workflowVolumes.has(vm.name) && !own.has(vm.name)) {
          errors.push(`${where}: volumeMount '${vm.name}' names no volume of spec.volumes or the template`);
        }
      }
    }
    // resource templates
    if (t.resource) {
      const r = t.resource;
      if ((r.action === 'create' || r.action === 'apply') && !(r.successCondition && r.failureCondition)) {
        errors.push(`${where}: resource action '${r.action}' needs both successCondition and failureCondition (without a successCondition the step succeeds at once)`);
      }
      if (!['get', 'create', 'apply', 'delete', 'replace', 'patch'].includes(r.action)) {
        errors.push(`${where}: resource action '${r.action}' is not get, create, apply, delete, replace or patch`);
      }
      if (r.action !== 'delete' && r.action !== 'get' && !r.manifest && !r.manifestFrom) {
        errors.push(`${where}: resource action '${r.action}' needs a manifest`);
      }
    }
    // DAGs
    if (t.dag) errors.push(...dagErrors(t, byName));
    // steps (exit handlers)
    for (const group of t.steps ?? []) {
      for (const s of group) {
        if (s.template !== undefined && !byName.has(s.template)) errors.push(`${where}: step '${s.name}' uses template '${s.template}', which does not exist`);
        if (s.when !== undefined) errors.push(...whenErrors(`${where}: step '${s.name}'`, s.when));
      }
    }
  }
  return errors;
}

/** Asserts that no document breaks a controller rule, with a readable failure. */
export function expectArgoValid(docs: any[]): void {
  const errors = docs.flatMap((d) => argoSemanticErrors(d).map((e) => `${d.kind}/${d.metadata?.name ?? d.metadata?.generateName}: ${e}`));
  expect(errors).toEqual([]);
}

/**
 * Evaluates a `when` expression of the shape the library emits (comparisons joined with `&&`)
 * after substituting placeholders, as Argo does before handing it to govaluate.
 */
export function evaluateWhen(when: string, values: { [placeholder: string]: string }): boolean {
  let text = when;
  for (const [k, val] of Object.entries(values)) text = text.split(`{{${k}}}`).join(val);
  if (/\{\{/.test(text)) throw new Error(`unsubstituted placeholder in: ${text}`);
  return text.split('&&').every((clause) => {
    const m = /^\s*(\S+)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$/.exec(clause);
    if (!m) throw new Error(`cannot evaluate clause: ${clause}`);
    const [, l, op, r] = m;
    const a = Number(l);
    const b = Number(r);
    if (Number.isNaN(a) || Number.isNaN(b)) throw new Error(`non-numeric comparison: ${clause}`);
    switch (op) {
      case '>=': return a >= b;
      case '<=': return a <= b;
      case '>': return a > b;
      case '<': return a < b;
      case '==': return a === b;
      default: return a !== b;
    }
  });
}

/**
 * Checks a pipeline's `toMermaid()` diagram against its steps: every step is a node; every drawn
 * edge is a dependency; every dependency is drawn or implied (reachable through drawn edges).
 * Returns the diagram.
 */
export function expectMermaidOf(pipeline: Pipeline): string {
  const text = pipeline.toMermaid();
  const steps = pipeline.allSteps;
  const id = (s: PipelineStep) => s.name.replace(/-/g, '_');
  const lines = text.split('\n');
  expect(lines[0]).toBe('flowchart LR');
  for (const s of steps) expect(lines.filter((l) => l.startsWith(`  ${id(s)}["${s.name}`))).toHaveLength(1);
  const edges = lines
    .map((l) => /^ {2}(\S+) -->(?:\|[^|]*\|)? (\S+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2]]);
  const byId = new Map(steps.map((s) => [id(s), s]));
  for (const [from, to] of edges) expect(byId.get(to)?.dependencies.map(id) ?? []).toContain(from);
  const reachable = (from: string, to: string): boolean => edges.some(([a, b]) => b === to && (a === from || reachable(from, a)));
  const missing = steps.flatMap((s) => s.dependencies.filter((d) => !reachable(id(d), id(s))).map((d) => `${d.name} -> ${s.name}`));
  expect(missing).toEqual([]);
  return text;
}

/** A template of an Argo document by name (throws when absent). */
export function templateOf(wf: any, name: string): any {
  const t = argoTemplates(wf).find((x) => x.name === name);
  if (!t) throw new Error(`no template ${name}`);
  return t;
}

/** The tasks of the `main` DAG. */
export function tasksOf(wf: any): any[] {
  return templateOf(wf, 'main').dag.tasks;
}

/** One task of the `main` DAG. */
export function taskOf(wf: any, name: string): any {
  return tasksOf(wf).find((t: any) => t.name === name);
}

/** The parsed manifest of a resource template. */
export function manifestOf(wf: any, step: string): any {
  return JSON.parse(templateOf(wf, step).resource.manifest);
}

/** A container's env as a name -> value (or valueFrom) map. */
export function envOf(container: any): { [name: string]: any } {
  return Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
}
