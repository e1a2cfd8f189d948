// Whole-DAG checks and the Mermaid diagram of a pipeline.

import { estimateLabel } from './_plan';
import { _StepRole, PipelineStep } from './step';

/** The errors of a pipeline's DAG: no steps, a cycle, a dependency on a step of another pipeline. */
export function dagErrors(path: string, steps: PipelineStep[]): string[] {
  if (steps.length === 0) return [`pipeline ${path} has no steps: add at least one with addStage, addContainerStep, addEvaluation or addDeployment`];
  const errors: string[] = [];
  // cycles: depth-first search over the dependency edges
  const state = new Map<PipelineStep, 'visiting' | 'done'>();
  const visit = (s: PipelineStep, trail: string[]): void => {
    if (state.get(s) === 'done') return;
    if (state.get(s) === 'visiting') {
      errors.push(`pipeline ${path} has a dependency cycle: ${[...trail.slice(trail.indexOf(s.name)), s.name].join(' -> ')}`);
      return;
    }
    state.set(s, 'visiting');
    for (const d of s.dependencies) visit(d, [...trail, s.name]);
    state.set(s, 'done');
  };
  for (const s of steps) visit(s, []);
  for (const s of steps) {
    for (const d of s.dependencies) {
      if (!steps.includes(d)) errors.push(`step '${s.name}' depends on '${d.name}', which is not a step of pipeline ${path}`);
    }
  }
  return errors;
}

/** The DAG as a Mermaid flowchart; only direct edges are drawn (an edge implied by others is left out). */
export function mermaid(steps: PipelineStep[]): string {
  const id = (s: PipelineStep) => s.name.replace(/-/g, '_');
  const lines = ['flowchart LR'];
  for (const s of steps) {
    const label = s.job ? `${s.name}<br/>${s.job.backend.kind} ${s.job.nodes}x${s.job.gpusPerNode} GPU${estimateLabel(s.job)}` : s.name;
    lines.push(`  ${id(s)}["${label}"]`);
  }
  const reaches = (from: PipelineStep, to: PipelineStep, seen = new Set<PipelineStep>()): boolean => {
    if (seen.has(from)) return false; // a cycle (reported by validation)
    seen.add(from);
    return from.dependencies.some((d) => d === to || reaches(d, to, seen));
  };
  for (const s of steps) {
    for (const d of s.dependencies.filter((x) => !s.dependencies.some((y) => y !== x && reaches(y, x)))) {
      const gated = s._gate !== undefined && d._role === _StepRole.EVALUATION;
      lines.push(`  ${id(d)} ${gated ? '-->|score >= min-score|' : '-->'} ${id(s)}`);
    }
  }
  return lines.join('\n') + '\n';
}
