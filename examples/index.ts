// The registry of examples: `main.ts` synthesizes them all, the tests snapshot each one.
import { App, Chart } from 'cdk8s';
import { standaloneStages, twoNodeJob } from './standalone-stages';

export const EXAMPLES: { [name: string]: (app: App) => Chart } = {
  'standalone-stages': standaloneStages,
  'two-node-job': twoNodeJob,
};
