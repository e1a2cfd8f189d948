import { Chart, Cron, Duration, Testing } from 'cdk8s';
import { ConcurrencyPolicy } from 'cdk8s-plus-28';
import {
  BaseModel, KoreanBenchmark, KoreanLlmPipeline, Pipeline, PipelineKind, SftStage,
} from '../src';
import { expectArgoValid } from './util/argo';
import { argoTemplates, expectValid } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
const BASE = 'unsloth/Qwen2.5-7B-bnb-4bit';

/** A Cron from a five-field expression (`0 3 * * 0`). */
function cronOf(expression: string): Cron {
  const [minute, hour, day, month, weekDay] = expression.split(' ');
  return Cron.schedule({ minute, hour, day, month, weekDay });
}

/** Sundays at 03:00. */
const SUNDAY_3AM = Cron.schedule({ minute: '0', hour: '3', weekDay: '0' });

function newChart(): Chart {
  return new Chart(Testing.app(), 'test', { namespace: 'llm-training', disableResourceNameHashes: true });
}

function synthKind(kind: PipelineKind, name?: string, nodes?: number): { pipeline: Pipeline; docs: any[]; doc: any } {
  const chart = newChart();
  const pipeline = new Pipeline(chart, 'pipeline', { image: IMAGE, kind, name });
  pipeline.addStage(new SftStage(pipeline, 'sft', { image: IMAGE, baseModel: BaseModel.huggingFace(BASE), nodes }));
  const docs = Testing.synth(chart);
  expectValid(docs);
  expectArgoValid(docs);
  const doc = docs.find((d) => d.apiVersion === 'argoproj.io/v1alpha1');
  return { pipeline, docs, doc };
}

describe('PipelineKind', () => {
  test('workflow: a Workflow with generateName and no name', () => {
    const kind = PipelineKind.workflow();
    expect(kind.kind).toBe('Workflow');
    expect(kind.schedule).toBeUndefined();
    const { doc } = synthKind(kind, 'demo');
    expect(doc.kind).toBe('Workflow');
    expect(doc.metadata.generateName).toBe('demo-');
    expect(doc.metadata.name).toBeUndefined();
    expect(doc.spec.entrypoint).toBe('main');
  });

  test('the default kind is a Workflow', () => {
    const chart = newChart();
    const pipeline = new Pipeline(chart, 'pipeline', { image: IMAGE });
    expect(pipeline.kind.kind).toBe('Workflow');
  });

  test('workflowTemplate: a WorkflowTemplate with metadata.name', () => {
    const { doc, pipeline } = synthKind(PipelineKind.workflowTemplate(), 'korean-llm');
    expect(doc.kind).toBe('WorkflowTemplate');
    expect(doc.metadata.name).toBe('korean-llm');
    expect(doc.metadata.generateName).toBeUndefined();
    expect(pipeline.workflowName).toBe('korean-llm');
    expect(doc.spec.entrypoint).toBe('main');
    expect(doc.spec.serviceAccountName).toBeDefined();
    expect(argoTemplates(doc).map((t) => t.name)).toContain('sft');
  });

  test('workflowTemplate without a name: derived from the construct path', () => {
    const { doc, pipeline } = synthKind(PipelineKind.workflowTemplate());
    expect(doc.metadata.name).toBe(pipeline.workflowName);
    expect(doc.metadata.name).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    expect(doc.metadata.name).toContain('pipeline');
  });

  test('cron: defaults', () => {
    const { docs } = synthKind(PipelineKind.cron(SUNDAY_3AM), 'weekly');
    expect(docs).toMatchSnapshot();
  });

  test('cron: a CronWorkflow with schedules, timezone, Forbid and the workflow spec', () => {
    const kind = PipelineKind.cron(SUNDAY_3AM, { timezone: 'Asia/Seoul' });
    expect(kind.schedule).toBe('0 3 * * 0');
    const { doc } = synthKind(kind, 'weekly');
    expect(doc.kind).toBe('CronWorkflow');
    expect(doc.metadata.name).toBe('weekly');
    const { workflowSpec, ...cron } = doc.spec;
    expect(cron).toEqual({
      schedules: ['0 3 * * 0'],
      timezone: 'Asia/Seoul',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    });
    expect(workflowSpec.entrypoint).toBe('main');
    expect(workflowSpec.onExit).toBe('exit-handler');
    expect(workflowSpec.podGC).toEqual({ strategy: 'OnPodSuccess' });
    expect(workflowSpec.ttlStrategy).toBeDefined();
    expect(workflowSpec.templates.map((t: any) => t.name)).toEqual(['main', 'sft', 'exit-handler', 'cleanup']);
    expect(workflowSpec.volumeClaimTemplates).toBeUndefined();
  });

  test('cron options', () => {
    const { doc } = synthKind(PipelineKind.cron(Cron.weekly(), {
      concurrencyPolicy: ConcurrencyPolicy.REPLACE,
      startingDeadline: Duration.minutes(5),
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 0,
      suspend: true,
    }), 'weekly');
    expect(doc.spec).toMatchObject({
      schedules: ['0 0 * * 0'],
      concurrencyPolicy: 'Replace',
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 0,
      suspend: true,
    });
    expect(doc.spec.timezone).toBeUndefined();
  });

  test('a KoreanLlmPipeline as a CronWorkflow keeps its parameters and gate in the workflowSpec', () => {
    const chart = newChart();
    new KoreanLlmPipeline(chart, 'weekly', {
      image: IMAGE,
      name: 'weekly-retrain',
      kind: PipelineKind.cron(Cron.schedule({ minute: '0', hour: '3', weekDay: 'SUN' }), { timezone: 'Asia/Seoul' }),
      baseModel: BASE,
      preprocess: { enabled: false },
      cpt: { enabled: false },
    });
    const docs = Testing.synth(chart);
    expectValid(docs);
    expectArgoValid(docs);
    const cron = docs.find((d) => d.kind === 'CronWorkflow');
    expect(cron.spec.schedules).toEqual(['0 3 * * SUN']);
    const params = cron.spec.workflowSpec.arguments.parameters.map((p: any) => p.name);
    expect(params).toEqual(['run-label', 'sft-learning-rate', 'base-model', 'rlhf-learning-rate']);
    expect(cron.spec.workflowSpec.templates[0].dag.tasks.map((t: any) => t.name)).toEqual(['sft', 'rlhf', 'evaluate']);
  });

  test('accepts the cron schedules Argo accepts', () => {
    for (const s of ['0 3 * * 0', '*/15 * * * *', '0 0 1,15 * MON-FRI', '30 2 ? * sun', '0 0-23/2 * JAN-JUN *', '0 3 * * 7', '5/10 * * * *']) {
      expect(PipelineKind.cron(cronOf(s)).schedule).toBe(s);
    }
    expect(PipelineKind.cron(Cron.daily()).schedule).toBe('0 0 * * *');
  });

  const badSchedules = [
    'every * * * *', '@weekly * * * *', '61 3 * * 0', '0 24 * * *', '0 3 0 * *', '0 3 * 13 *',
    '0 3 * * 8', 'a b c d e', '0 3 * * MON-', '*/0 * * * *', '5-1 * * * *', '? 3 * * *',
  ];
  for (const bad of badSchedules) {
    test(`fails when the cron schedule is '${bad}'`, () => {
      expect(() => PipelineKind.cron(cronOf(bad))).toThrow(`'schedule' must be a five-field cron expression such as '0 3 * * 0' (each field a value, range, list or step within its range), got '${bad}'`);
    });
  }

  test('fails when the schedule has fewer than five fields', () => {
    expect(() => PipelineKind.cron(Cron.schedule({ minute: '0', hour: '3', weekDay: '' })))
      .toThrow("'schedule' must be a five-field cron expression such as '0 3 * * 0' (each field a value, range, list or step within its range), got '0 3 * * '");
  });

  test('accepts IANA time zones as Go\'s time.LoadLocation finds them, links included', () => {
    for (const tz of ['Asia/Seoul', 'UTC', 'Etc/GMT-9', 'America/Argentina/Buenos_Aires', 'Asia/Calcutta', 'US/Pacific']) {
      const { doc } = synthKind(PipelineKind.cron(SUNDAY_3AM, { timezone: tz }), 'weekly');
      expect(doc.spec.timezone).toBe(tz);
    }
  });

  for (const tz of ['KST +9', 'KST', 'Mars/Olympus', 'Asia/Seoul2', 'asia/seoul', 'Asia/SEOUL', '+09:00', 'Seoul']) {
    test(`fails when the timezone is not an IANA zone: '${tz}'`, () => {
      expect(() => PipelineKind.cron(SUNDAY_3AM, { timezone: tz }))
        .toThrow(`'timezone' must be an IANA time zone name such as 'Asia/Seoul' or 'UTC' (case-sensitive, no offsets or abbreviations), got '${tz}'`);
    });
  }

  test('fails when history limits or the starting deadline are invalid', () => {
    expect(() => PipelineKind.cron(SUNDAY_3AM, { successfulJobsHistoryLimit: -1 })).toThrow(/'successfulJobsHistoryLimit' must be a non-negative integer, got -1/);
    expect(() => PipelineKind.cron(SUNDAY_3AM, { failedJobsHistoryLimit: 1.5 })).toThrow(/'failedJobsHistoryLimit' must be a non-negative integer, got 1.5/);
    expect(() => PipelineKind.cron(SUNDAY_3AM, { startingDeadline: Duration.millis(10) })).toThrow(/'startingDeadline' must be a duration of at least one second/);
  });

  test('a cron run name is longer (name-<unix time>), so a name that fits a Workflow can be too long', () => {
    // 38 + 6 (generateName) + '-sft-xxxxx' + '-worker-0' = 63: fits as a Workflow
    expect(synthKind(PipelineKind.workflow(), 'a'.repeat(38), 2).doc.kind).toBe('Workflow');
    // 38 + 11 (-<10-digit time>) + 19 = 68: too long as a CronWorkflow
    expect(() => synthKind(PipelineKind.cron(SUNDAY_3AM), 'a'.repeat(38), 2))
      .toThrow(/'name' must be short enough that '<run>-sft-xxxxx-worker-N' fits 63 characters \(68 now\)/);
    expect(synthKind(PipelineKind.cron(SUNDAY_3AM), 'a'.repeat(33), 2).doc.kind).toBe('CronWorkflow');
  });
});

describe('KoreanBenchmark', () => {
  test('the seed\'s defaults are kobest, kmmlu and haerae', () => {
    expect(KoreanBenchmark.defaults().map((b) => b.taskName)).toEqual(['kobest', 'kmmlu', 'haerae']);
  });

  test('named benchmarks are lm-evaluation-harness task names', () => {
    const K = KoreanBenchmark;
    const named = [K.KOBEST, K.KMMLU, K.HAERAE, K.CLICK, K.KBL, K.KORMEDMCQA];
    expect(named.map((b) => b.taskName))
      .toEqual(['kobest', 'kmmlu', 'haerae', 'click', 'kbl', 'kormedmcqa']);
  });

  test('of(): tasks of the Korean families, checked and not marked custom', () => {
    for (const name of ['kmmlu_hard', 'kobest_boolq', 'kmmlu_direct_law', 'haerae_history', 'kobest']) {
      const b = KoreanBenchmark.of(name);
      expect(b.taskName).toBe(name);
      expect(b.isCustom).toBe(false);
    }
    expect(KoreanBenchmark.KOBEST.isCustom).toBe(false);
  });

  for (const bad of ['kobset', 'kmmlu-hard', 'mmlu', 'kmmluhard', 'ko_best']) {
    test(`fails when a benchmark is an unknown name: '${bad}'`, () => {
      expect(() => KoreanBenchmark.of(bad)).toThrow(`'benchmark' must be a task of a Korean lm-evaluation-harness family (kobest, kmmlu, haerae, click, kbl, kormedmcqa, or one of their tasks such as 'kmmlu_hard'); use KoreanBenchmark.custom(...) for a task of your own, got '${bad}'`);
    });
  }

  test('custom(): any task name, unchecked and marked custom', () => {
    expect(KoreanBenchmark.custom('my_safety_eval').taskName).toBe('my_safety_eval');
    expect(KoreanBenchmark.custom('my_safety_eval').isCustom).toBe(true);
    expect(KoreanBenchmark.custom('kobest_boolq').isCustom).toBe(true);
  });

  for (const bad of ['', 'kmmlu hard', 'kobest,kmmlu', '-kobest']) {
    test(`fails when a custom benchmark is '${bad}'`, () => {
      expect(() => KoreanBenchmark.of(bad)).toThrow(/'benchmark' must be an lm-evaluation-harness task name/);
      expect(() => KoreanBenchmark.custom(bad)).toThrow(`'benchmark' must be an lm-evaluation-harness task name (letters, digits, '_', '.', '-'), got '${bad}'`);
    });
  }
});
