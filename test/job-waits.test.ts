// Every end of a pipeline's training job is seen by its step, whatever branch the Training Operator
// takes. For each job shape the library emits, a model of the operator's status writes
// (./util/pytorchjob-controller) replays a job's life, and Argo's semantics (./util/argo-conditions)
// evaluate the emitted step's conditions after every write: the step must keep waiting while the
// job runs and end the way the job ended.

import { Chart, Testing } from 'cdk8s';
import { BaseModel, GpuTrainingJobProps, Pipeline, Queueing, SftStage } from '../src';
import { manifestOf, templateOf } from './util/argo';
import { argoOutcome, parseRequirements, StepOutcome } from './util/argo-conditions';
import { PyTorchJobModel, ReplicaType } from './util/pytorchjob-controller';
import { MAX_JOB_CONDITIONS } from '../src/training/_pytorch-job';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';

/** What a pipeline step is given: the job's manifest and the conditions it waits with. */
interface EmittedStep {
  readonly manifest: any;
  readonly success: string;
  readonly failure: string;
}

function emit(props: Partial<GpuTrainingJobProps>): EmittedStep {
  const chart = new Chart(Testing.app(), 'test', { namespace: 'llm-training' });
  const pipeline = new Pipeline(chart, 'pipeline', { image: IMAGE, name: 'demo' });
  pipeline.addStage(new SftStage(pipeline, 'sft', { image: IMAGE, baseModel: BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit'), ...props }));
  const wf = Testing.synth(chart).find((d) => d.kind === 'Workflow');
  const resource = templateOf(wf, 'sft').resource;
  return { manifest: manifestOf(wf, 'sft'), success: resource.successCondition, failure: resource.failureCondition };
}

const SHAPES: { name: string; props: Partial<GpuTrainingJobProps> }[] = [
  { name: 'single node', props: {} },
  { name: 'multi-node (Master + 2 Workers)', props: { nodes: 3 } },
  { name: 'elastic (Worker-only, 1..3)', props: { elastic: { minNodes: 1, maxNodes: 3 } } },
];
const QUEUES: { name: string; queueing: Queueing }[] = [
  { name: 'no queue', queueing: Queueing.none() },
  { name: 'Kueue', queueing: Queueing.kueue('gpu-queue') },
];
const ORDERS: ReplicaType[][] = [['Master', 'Worker'], ['Worker', 'Master']];

/** A job's life: events applied to the model; `expected` is how the step must end. */
interface Scenario {
  readonly name: string;
  readonly expected: StepOutcome;
  /** Only for jobs with (or without) a Master, or only under Kueue. */
  readonly when?: (shape: { elastic: boolean; kueue: boolean; multiNode: boolean }) => boolean;
  /** A change to the manifest before the job is created (a user's JSON patch). */
  readonly patch?: (manifest: any) => void;
  readonly events: ((job: PyTorchJobModel, deadline: number) => PyTorchJobModel)[];
}

/** The type whose pods decide a job: Master, or Worker for a Worker-only (elastic) job. */
const lead = (job: PyTorchJobModel): ReplicaType => (job.object.spec.pytorchReplicaSpecs.Master ? 'Master' : 'Worker');
/** Kueue admits the job (a job without a queue was never suspended). */
const admit = (job: PyTorchJobModel) => (job.object.spec.runPolicy.suspend ? job.admit() : job);

const SCENARIOS: Scenario[] = [
  {
    name: 'succeeds',
    expected: 'succeeded',
    events: [admit, (j) => j.startPods(), (j) => j.advance(3600), (j) => j.succeed(lead(j))],
  },
  {
    name: 'the Master (or, elastic, a Worker) pod fails',
    expected: 'failed',
    events: [admit, (j) => j.startPods(), (j) => j.crash(lead(j))],
  },
  {
    name: 'a Worker pod fails',
    expected: 'failed',
    when: (s) => s.multiNode || s.elastic,
    events: [admit, (j) => j.startPods(), (j) => j.crash('Worker', 1)],
  },
  {
    name: 'the backoff branch (a backoffLimit patched in)',
    expected: 'failed',
    patch: (m) => { m.spec.runPolicy.backoffLimit = 0; },
    events: [admit, (j) => j.startPods(), (j) => j.crash(lead(j))],
  },
  {
    name: 'the past-active-deadline branch',
    expected: 'failed',
    events: [admit, (j) => j.startPods(), (j, d) => j.advance(d - 60), (j) => j.advance(120)],
  },
  {
    name: 'queued longer than its own deadline, admitted, then succeeds',
    expected: 'succeeded',
    when: (s) => s.kueue,
    events: [(j, d) => j.advance(d + 3600), (j) => j.admit(), (j) => j.startPods(), (j) => j.advance(3600), (j) => j.succeed(lead(j))],
  },
  {
    name: 'suspended, admitted, preempted, admitted again, then fails',
    expected: 'failed',
    when: (s) => s.kueue,
    events: [(j) => j.advance(600), (j) => j.admit(), (j) => j.startPods(), (j) => j.preempt(), (j) => j.advance(600), (j) => j.admit(),
      (j) => j.startPods(), (j) => j.crash(lead(j))],
  },
  {
    name: 'preempted, admitted again, then past its deadline',
    expected: 'failed',
    when: (s) => s.kueue,
    events: [(j) => j.admit(), (j) => j.startPods(), (j) => j.preempt(), (j) => j.admit(), (j) => j.startPods(), (j, d) => j.advance(d + 60)],
  },
];

describe('a pipeline step sees every end of its PyTorchJob', () => {
  for (const shape of SHAPES) {
    for (const queue of QUEUES) {
      const step = emit({ ...shape.props, queueing: queue.queueing });
      const traits = { elastic: shape.props.elastic !== undefined, kueue: queue.name === 'Kueue', multiNode: (shape.props.nodes ?? 1) > 1 };
      describe(`${shape.name}, ${queue.name}`, () => {
        test('the conditions are valid Argo selectors (every key a label key of at most 63 characters)', () => {
          expect(() => parseRequirements(step.success)).not.toThrow();
          expect(() => parseRequirements(step.failure)).not.toThrow();
          // success only from counters the normal path writes: never a condition index
          expect(step.success).not.toMatch(/conditions/);
        });
        for (const scenario of SCENARIOS.filter((s) => !s.when || s.when(traits))) {
          test.each(ORDERS)(`${scenario.name} (replica types visited %s first)`, (first, second) => {
            const manifest = JSON.parse(JSON.stringify(step.manifest));
            scenario.patch?.(manifest);
            const job = new PyTorchJobModel(manifest, { order: [first, second] });
            const deadline = manifest.spec.runPolicy.activeDeadlineSeconds;
            const outcomes: StepOutcome[] = [argoOutcome(job.object, step.success, step.failure)];
            for (const event of scenario.events) outcomes.push(argoOutcome(event(job, deadline).object, step.success, step.failure));
            // the step waits while the job runs, ends on the last event, and stays ended
            expect(outcomes.slice(0, -1)).toEqual(outcomes.slice(0, -1).map(() => 'running'));
            expect(outcomes[outcomes.length - 1]).toBe(scenario.expected);
            expect(argoOutcome(job.reconcile().reconcile().object, step.success, step.failure)).toBe(scenario.expected);
          });
        }
      });
    }
  }
});

describe('why the failure condition has both halves', () => {
  const step = emit({ nodes: 2, queueing: Queueing.kueue('gpu-queue') });
  const countersOnly = 'status.replicaStatuses.Master.failed > 0,status.replicaStatuses.Worker.failed > 0';

  test('the deadline and backoff branches write Failed without counting a pod: counters alone wait forever', () => {
    const pastDeadline = new PyTorchJobModel(step.manifest).admit().startPods().advance(step.manifest.spec.runPolicy.activeDeadlineSeconds + 1);
    const patched = JSON.parse(JSON.stringify(step.manifest));
    patched.spec.runPolicy.backoffLimit = 0;
    const backoff = new PyTorchJobModel(patched).admit().startPods().crash('Master');
    for (const job of [pastDeadline, backoff]) {
      expect(job.conditionTypes).toContain('Failed');
      expect(job.object.status.replicaStatuses.Master.failed).toBeUndefined();
      expect(argoOutcome(job.object, step.success, countersOnly)).toBe('running');
      expect(argoOutcome(job.object, step.success, step.failure)).toBe('failed');
    }
  });

  test('under Kueue no single condition index is Failed: it moves with Suspended and Running', () => {
    const direct = new PyTorchJobModel(emit({ nodes: 2 }).manifest).startPods().crash('Master');
    const queued = new PyTorchJobModel(step.manifest).admit().startPods().crash('Master');
    expect(direct.conditionTypes.indexOf('Failed')).not.toBe(queued.conditionTypes.indexOf('Failed'));
  });

  test('a pipeline job has no backoffLimit: a failed pod takes the normal path, is counted, and keeps its logs', () => {
    expect(step.manifest.spec.runPolicy.backoffLimit).toBeUndefined();
    const job = new PyTorchJobModel(step.manifest).admit().startPods().crash('Worker', 0).reconcile();
    expect(job.object.status.replicaStatuses.Worker.failed).toBe(1);
    // the operator's failed-jobs metric counts it (the alert's first half)
    expect(job.failedJobsMetric).toBe(1);
    // cleanPodPolicy Running: the failed pod stays for `kubectl logs`; the running Master is deleted
    expect(job.pods).toEqual([expect.objectContaining({ type: 'Worker', index: 0, phase: 'Failed' })]);
  });

  test('the deadline branch does not touch the failed-jobs metric and deletes every pod', () => {
    const job = new PyTorchJobModel(step.manifest).admit().startPods().advance(step.manifest.spec.runPolicy.activeDeadlineSeconds + 1);
    expect(job.failedJobsMetric).toBe(0);
    expect(job.pods).toEqual([]);
  });
});

describe('the condition list stays within MAX_JOB_CONDITIONS', () => {
  // a deterministic walk over every event the model knows, for each shape; Failed must always sit
  // at an index the failure condition checks, and each condition type appears at most once
  test.each(SHAPES.flatMap((s) => QUEUES.map((q) => [`${s.name}, ${q.name}`, s.props, q.queueing] as const)))('%s', (_name, props, queueing) => {
    const step = emit({ ...props, queueing });
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let walk = 0; walk < 200; walk++) {
      const manifest = JSON.parse(JSON.stringify(step.manifest));
      if (random(3) === 0) manifest.spec.runPolicy.backoffLimit = random(2);
      const job = new PyTorchJobModel(manifest, { order: random(2) === 0 ? ['Master', 'Worker'] : ['Worker', 'Master'] });
      for (let i = 0; i < 12; i++) {
        const pods = job.pods.filter((p) => p.phase === 'Running');
        const pod = pods[random(Math.max(1, pods.length))];
        const events = [
          () => job.admit(), () => job.preempt(), () => job.startPods(), () => job.advance(random(3) * 86400),
          () => (pod ? job.crash(pod.type, pod.index) : job), () => (pod ? job.succeed(pod.type, pod.index) : job),
        ];
        events[random(events.length)]();
        const types = job.conditionTypes;
        expect(new Set(types).size).toBe(types.length);
        expect(types.length).toBeLessThanOrEqual(MAX_JOB_CONDITIONS);
        if (types.includes('Failed')) expect(argoOutcome(job.object, step.success, step.failure)).toBe('failed');
      }
    }
  });
});
