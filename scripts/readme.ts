// Regenerates the generated documentation (the README's DAG, docs/trainer-contract.md's table):
// `npx ts-node --project test/tsconfig.json scripts/readme.ts`. test/readme.test.ts fails when stale.
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { updateContractDoc, updateReadme } from './readme-sections';

const root = join(__dirname, '..');
for (const [file, update] of [['README.md', updateReadme], [join('docs', 'trainer-contract.md'), updateContractDoc]] as const) {
  const path = join(root, file);
  writeFileSync(path, update(readFileSync(path, 'utf8')));
  console.log(`${file}: generated sections updated`);
}
