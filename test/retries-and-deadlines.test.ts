// Retries cover a stage's whole life, and a step's deadline allows for the time its job waits in a
// queue. Argo's retry rules are modelled from `workflow/controller/operator.go` `processNodeRetries`
// (3.7); the queue rule from the operator's resumed branch (`ReconcileJobs` resets `startTime`).

import { Chart, Duration, Testing } from 'cdk8s';
import { BaseModel, CptStage, Pipeline, PipelineProps, Queueing, StageStepOptions } from '../src';
import { manifestOf, templateOf } from './util/argo';
import { PyTorchJobModel } from './util/pytorchjob-controller';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
const DAY = 86400;

function cptStep(pipelineProps: Partial<PipelineProps> = {}, cptProps: any = {}, stepOptions: StageStepOptions = {}): { template: any; job: any } {
  const chart = new Chart(Testing.app(), 'test', { namespace: 'llm-training' });
  const pipeline = new Pipeline(chart, 'pipeline', { image: IMAGE, name: 'demo', ...pipelineProps });
  pipeline.addStage(new CptStage(pipeline, 'cpt', { image: IMAGE, baseModel: BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit'), ...cptProps }), stepOptions);
  const wf = Testing.synth(chart).find((d) => d.kind === 'Workflow');
  return { template: templateOf(wf, 'cpt'), job: manifestOf(wf, 'cpt') };
}

const seconds = (d: string) => Number(d.replace(/s$/, ''));

/**
 * Whether Argo starts another attempt after attempts that started and ended at the given times (in
 * seconds since the first started), and when: `processNodeRetries` with `retryPolicy: Always`.
 */
function nextAttempt(retryStrategy: any, attempts: { start: number; end: number }[]): number | 'no retry' {
  const backoff = retryStrategy.backoff;
  const maxDurationDeadline = backoff.maxDuration !== undefined ? attempts[0].start + seconds(backoff.maxDuration) : undefined;
  const last = attempts[attempts.length - 1];
  if (maxDurationDeadline !== undefined && last.end > maxDurationDeadline) return 'no retry'; // "Max duration limit exceeded"
  let wait = seconds(backoff.duration) * Math.pow(backoff.factor, attempts.length - 1);
  if (backoff.cap !== undefined) wait = Math.min(wait, seconds(backoff.cap));
  const at = last.end + wait;
  if (maxDurationDeadline !== undefined && at > maxDurationDeadline) return 'no retry'; // "Backoff would exceed max duration limit"
  if (attempts.length > retryStrategy.limit) return 'no retry'; // "No more retries left"
  return at;
}

describe('retries cover a stage\'s whole life', () => {
  const { template } = cptStep();

  test('no maxDuration is emitted; waits double and are capped', () => {
    expect(template.retryStrategy).toEqual({ limit: 2, retryPolicy: 'Always', backoff: { duration: '120s', factor: 2, cap: '3600s' } });
  });

  test('a CPT that fails after 2 days is retried, and again after another 2 days; then retries end at the limit', () => {
    expect(nextAttempt(template.retryStrategy, [{ start: 0, end: 2 * DAY }])).toBe(2 * DAY + 120);
    expect(nextAttempt(template.retryStrategy, [{ start: 0, end: 2 * DAY }, { start: 2 * DAY + 120, end: 4 * DAY }])).toBe(4 * DAY + 240);
    expect(nextAttempt(template.retryStrategy, [{ start: 0, end: 1 }, { start: 121, end: 122 }, { start: 362, end: 363 }])).toBe('no retry');
  });

  test('the former maxDuration of one hour would have retried only failures in the first hour', () => {
    const former = { ...template.retryStrategy, backoff: { duration: '120s', factor: 2, maxDuration: '3600s' } };
    expect(nextAttempt(former, [{ start: 0, end: 600 }])).toBe(720);
    expect(nextAttempt(former, [{ start: 0, end: 2 * DAY }])).toBe('no retry');
  });

  test('maxBackoff caps each wait', () => {
    const { template: t } = cptStep({ retry: { limit: 10, backoff: Duration.minutes(10), factor: 4, maxBackoff: Duration.minutes(30) } });
    expect(t.retryStrategy.backoff).toEqual({ duration: '600s', factor: 4, cap: '1800s' });
    const attempts = [{ start: 0, end: 10 }, { start: 610, end: 620 }, { start: 3020, end: 3030 }];
    expect(nextAttempt(t.retryStrategy, attempts)).toBe(3030 + 1800);
  });
});

describe('a step\'s deadline allows for queue time', () => {
  test('without a queue: the job\'s own deadline (pending time counts against it) plus 10 minutes', () => {
    const { template, job } = cptStep();
    expect(template.activeDeadlineSeconds).toBe(job.spec.runPolicy.activeDeadlineSeconds + 600);
  });

  test('under Kueue or Volcano: plus maxQueueTime, a day by default', () => {
    for (const queueing of [Queueing.kueue('gpu-queue'), Queueing.volcano()]) {
      const { template, job } = cptStep({}, { queueing });
      expect(template.activeDeadlineSeconds).toBe(job.spec.runPolicy.activeDeadlineSeconds + DAY + 600);
    }
  });

  test('maxQueueTime of the pipeline, overridden per step', () => {
    const kueue = { queueing: Queueing.kueue('gpu-queue') };
    expect(cptStep({ maxQueueTime: Duration.days(3) }, kueue).template.activeDeadlineSeconds).toBe(7 * DAY + 3 * DAY + 600);
    const perStep = cptStep({ maxQueueTime: Duration.days(3) }, kueue, { maxQueueTime: Duration.hours(2) });
    expect(perStep.template.activeDeadlineSeconds).toBe(7 * DAY + 7200 + 600);
  });

  test('a job queued up to maxQueueTime, then running to just before its own deadline, is never cut off by its step', () => {
    const { template, job } = cptStep({}, { queueing: Queueing.kueue('gpu-queue') });
    const deadline = job.spec.runPolicy.activeDeadlineSeconds;
    const model = new PyTorchJobModel(job).advance(DAY).admit().startPods().advance(deadline - 60);
    // the job is still within its own deadline (its clock started at admission) ...
    expect(model.conditionTypes).not.toContain('Failed');
    // ... and so is the step, whose clock started at creation
    expect(model.now).toBeLessThan(template.activeDeadlineSeconds);
    // the former step deadline (the job's plus 10 minutes) would have failed the step a day earlier
    expect(model.now).toBeGreaterThan(deadline + 600);
  });

  test('fails when maxQueueTime is shorter than a second', () => {
    expect(() => cptStep({ maxQueueTime: Duration.millis(10) })).toThrow("'maxQueueTime' must be a duration of at least one second");
    expect(() => cptStep({}, {}, { maxQueueTime: Duration.millis(10) })).toThrow("'maxQueueTime' must be a duration of at least one second");
  });
});
