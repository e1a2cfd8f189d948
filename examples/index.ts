// The registry of examples: `main.ts` synthesizes them all, the tests snapshot each one.
import { App, Chart } from 'cdk8s';
import { koreanLlmPlatform } from './korean-llm-platform';
import { customPipeline, multiModelPipeline, scheduledRetraining, seedPipeline } from './pipelines';
import { platformKServe, platformVllm } from './platform-inference';
import { platformMonitoring, platformPlainPrometheus, platformSlack } from './platform-monitoring';
import { platformKueue, platformVolcano } from './platform-queues';
import { platformScheduler } from './platform-scheduler';
import { platformStorage, platformStorageClass } from './platform-storage';
import { platformTracking } from './platform-tracking';
import { standaloneStages, twoNodeJob } from './standalone-stages';
import { trainJobPipeline } from './trainjob-pipeline';

export const EXAMPLES: { [name: string]: (app: App) => Chart } = {
  'korean-llm-platform': koreanLlmPlatform,
  'standalone-stages': standaloneStages,
  'two-node-job': twoNodeJob,
  'korean-llm-pipeline': seedPipeline,
  'korean-llm-pipeline-trainjob': trainJobPipeline,
  'multi-model-pipeline': multiModelPipeline,
  'scheduled-retraining': scheduledRetraining,
  'custom-pipeline': customPipeline,
  'platform-storage': platformStorage,
  'platform-storage-class': platformStorageClass,
  'platform-kueue': platformKueue,
  'platform-volcano': platformVolcano,
  'platform-monitoring': platformMonitoring,
  'platform-plain-prometheus': platformPlainPrometheus,
  'platform-slack': platformSlack,
  'platform-vllm': platformVllm,
  'platform-kserve': platformKServe,
  'platform-scheduler': platformScheduler,
  'platform-tracking': platformTracking,
};
