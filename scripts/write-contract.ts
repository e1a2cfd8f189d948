// Writes python/korean_llm_trainer/contract.json from src/trainer-contract.ts (`npx projen contract`).
import { mkdirSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { TrainerContract } from '../src';

const target = join(__dirname, '..', 'python', 'korean_llm_trainer', 'contract.json');
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, TrainerContract.toJson());
console.log(`wrote ${target.slice(join(__dirname, '..').length + 1)}`);
