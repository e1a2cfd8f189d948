// Regenerates the README's generated sections (the DAG and the contract table):
// `npx ts-node --project test/tsconfig.json scripts/readme.ts`. test/readme.test.ts fails when stale.
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { updateReadme } from './readme-sections';

const readme = join(__dirname, '..', 'README.md');
writeFileSync(readme, updateReadme(readFileSync(readme, 'utf8')));
console.log('README.md: generated sections updated');
