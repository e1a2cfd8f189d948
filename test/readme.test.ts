import { readFileSync } from 'fs';
import { join } from 'path';
import { defaultPipelineMermaid, updateReadme } from '../scripts/readme-sections';
import { TrainerContract } from '../src';

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

describe('README', () => {
  test('its generated sections (DAG, contract table) are up to date: run scripts/readme.ts when this fails', () => {
    expect(updateReadme(readme)).toEqual(readme);
  });

  test('the DAG comes from the default pipeline and has the seed order', () => {
    const mermaid = defaultPipelineMermaid();
    for (const edge of ['preprocess --> cpt', 'cpt --> sft', 'sft --> rlhf', 'rlhf --> evaluate', 'evaluate -->|score >= min-score| deploy']) {
      expect(mermaid).toContain(edge);
    }
    expect(readme).toContain(mermaid);
  });

  test('has the two quick-start commands', () => {
    expect(readme).toContain('npm ci && npx cdk8s synth');
    expect(readme).toContain('\nnpm test\n');
  });

  test('documents every contract variable', () => {
    for (const v of TrainerContract.variables()) expect(readme).toContain(`\`${v.name}\``);
  });
});
