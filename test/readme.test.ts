import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { defaultPipelineMermaid, updateContractDoc, updateReadme } from '../scripts/readme-sections';
import { TrainerContract } from '../src';

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
const contractDoc = readFileSync(join(__dirname, '..', 'docs', 'trainer-contract.md'), 'utf8');

describe('README', () => {
  test('its generated sections (the DAG, the contract table) are up to date: run scripts/readme.ts when this fails', () => {
    expect(updateReadme(readme)).toEqual(readme);
    expect(updateContractDoc(contractDoc)).toEqual(contractDoc);
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

  test('documents every contract variable (docs/trainer-contract.md, linked from the README)', () => {
    for (const v of TrainerContract.variables()) expect(contractDoc).toContain(`| \`${v.name}\` |`);
    expect(readme).toContain('(docs/trainer-contract.md)');
  });

  test('every docs/ page it links to exists', () => {
    for (const [, page] of readme.matchAll(/\]\((docs\/[a-z0-9-]+\.md)\)/g)) {
      expect(existsSync(join(__dirname, '..', page))).toBe(true);
    }
  });
});
