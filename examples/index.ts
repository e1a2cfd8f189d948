// The registry of examples: `main.ts` synthesizes them all, the tests snapshot each one.
import { App, Chart } from 'cdk8s';
import { customPipeline, multiModelPipeline, scheduledRetraining, seedPipeline } from './pipelines';
import { standaloneStages, twoNodeJob } from './standalone-stages';

export const EXAMPLES: { [name: string]: (app: App) => Chart } = {
  'standalone-stages': standaloneStages,
  'two-node-job': twoNodeJob,
  'korean-llm-pipeline': seedPipeline,
  'multi-model-pipeline': multiModelPipeline,
  'scheduled-retraining': scheduledRetraining,
  'custom-pipeline': customPipeline,
};
