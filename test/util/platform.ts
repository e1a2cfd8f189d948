// Helpers of the platform construct tests: a namespaced chart, object lookup, selector matching.
import { App, Chart, Testing } from 'cdk8s';

export function nsChart(namespace = 'llm-training'): Chart {
  return new Chart(Testing.app() as App, 'test', { namespace });
}

export function find(docs: any[], kind: string, name?: string): any {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata?.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` '${name}'` : ''}, found ${found.length}`);
  return found[0];
}

export function matches(selector: { [key: string]: string }, labels: { [key: string]: string } | undefined): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Every env entry of every container in the documents (PyTorchJob and pod templates). */
export function allEnv(docs: any[]): any[] {
  const out: any[] = [];
  const visit = (node: any) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node.env)) out.push(...node.env);
    Object.values(node).forEach(visit);
  };
  visit(docs);
  return out;
}

/** Names of env vars that carry a secret yet have a literal value. */
export function inlineSecrets(docs: any[]): string[] {
  return allEnv(docs).filter((e) => /KEY|TOKEN|WEBHOOK|SECRET|PASSWORD/i.test(e.name) && e.value !== undefined).map((e) => e.name);
}
