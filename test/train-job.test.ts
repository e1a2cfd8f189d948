import { App, Chart, Duration, Testing } from 'cdk8s';
import { EXAMPLES } from '../examples';
import {
  BaseModel, CleanPodPolicy, GpuTrainingJob, GpuTrainingJobProps, KueueClusterQueue, KueueResourceFlavor, Pipeline, Queueing, RestartPolicy,
  SecretKey, SftStage, TrainerCommand, TrainerVersion, TrainingBackend, TrainingVolumes, VolcanoQueue,
} from '../src';
import { manifestOf } from './util/argo';
import { argoOutcome, StepOutcome } from './util/argo-conditions';
import { embeddedManifests, expectValid } from './util/schema';
import { JobSetStatus, nodeJob, TrainJobController } from './util/trainjob-controller';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
const TRAIN_JOB = TrainingBackend.trainJob();

function synthJob(props: Partial<GpuTrainingJobProps> = {}): { job: GpuTrainingJob; docs: any[]; trainJob: any; runtime: any } {
  const chart = Testing.chart();
  const job = new GpuTrainingJob(chart, 'job', { image: IMAGE, trainerCommand: TrainerCommand.SFT, backend: TRAIN_JOB, ...props });
  const docs = Testing.synth(chart);
  expectValid(docs);
  return { job, docs, trainJob: docs.find((d) => d.kind === 'TrainJob'), runtime: docs.find((d) => d.kind === 'TrainingRuntime') };
}

function newJob(props: Partial<GpuTrainingJobProps>): GpuTrainingJob {
  return new GpuTrainingJob(Testing.chart(), 'job', { image: IMAGE, trainerCommand: TrainerCommand.SFT, backend: TRAIN_JOB, ...props } as GpuTrainingJobProps);
}

const podSpecOf = (runtime: any) => runtime.spec.template.spec.replicatedJobs[0].template.spec.template.spec;

/** A pipeline of one SFT stage on the TrainJob backend; its workflow and the stage's TrainJob manifest. */
function pipelineWith(props: Partial<GpuTrainingJobProps> = {}): { docs: any[]; wf: any; manifest: any; template: any } {
  const chart = Testing.chart();
  const pipeline = new Pipeline(chart, 'p', { name: 'ko', image: IMAGE });
  const sft = new SftStage(chart, 'sft', { image: IMAGE, baseModel: BaseModel.huggingFace('Qwen/Qwen2.5-7B'), backend: TRAIN_JOB, ...props } as any);
  pipeline.addStage(sft);
  const docs = Testing.synth(chart);
  expectValid(docs);
  const wf = docs.find((d) => d.kind === 'Workflow');
  const template = wf.spec.templates.find((t: any) => t.name === 'sft');
  return { docs, wf, manifest: manifestOf(wf, 'sft'), template };
}

describe('TrainingBackend.trainJob', () => {
  test('a standalone job is a TrainJob referring to its own TrainingRuntime', () => {
    const { docs, trainJob, runtime } = synthJob({ gpusPerNode: 8, nodes: 2, secretEnv: { HF_TOKEN: SecretKey.of('hf', 'token') } });
    expect(docs.map((d) => d.kind)).toEqual(['TrainJob', 'TrainingRuntime']);
    expect(trainJob.apiVersion).toBe('trainer.kubeflow.org/v1alpha1');
    expect(trainJob.spec.runtimeRef).toEqual({ apiGroup: 'trainer.kubeflow.org', kind: 'TrainingRuntime', name: runtime.metadata.name });
    const trainer = trainJob.spec.trainer;
    expect(trainer.image).toBe(IMAGE);
    expect(trainer.command).toEqual(['torchrun', '-m', 'korean_llm_trainer', 'sft']);
    expect(trainer.numNodes).toBe(2);
    expect(trainer.numProcPerNode).toBe(8);
    expect(trainer.resourcesPerNode.limits['nvidia.com/gpu']).toBe(8);
    expect(trainer.resourcesPerNode.requests).toEqual(trainer.resourcesPerNode.limits);
    expect(trainer.env.find((e: any) => e.name === 'HF_TOKEN')).toEqual({ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'hf', key: 'token' } } });
    expect(trainJob.spec.activeDeadlineSeconds).toBe(3 * 24 * 3600);
    // v2.3 has no numProcPerNode in the Torch policy: it is the TrainJob's
    expect(runtime.spec.mlPolicy).toEqual({ numNodes: 2, torch: {} });
    expect(docs).toMatchSnapshot();
  });

  test('the runtime carries the pod shape: one replicated job node, no in-place restarts, JobSet failure policy and TTL', () => {
    const { runtime } = synthJob({ backoffLimit: 2, ttlAfterFinished: Duration.hours(6), storage: TrainingVolumes.fromClaims() });
    const jobSet = runtime.spec.template.spec;
    expect(jobSet.replicatedJobs).toHaveLength(1);
    const node = jobSet.replicatedJobs[0];
    expect(node.name).toBe('node');
    expect(node.replicas).toBe(1);
    expect(node.template.metadata.labels).toEqual({ 'trainer.kubeflow.org/trainjob-ancestor-step': 'trainer' });
    expect(node.template.spec.backoffLimit).toBe(0);
    expect(jobSet.failurePolicy).toEqual({ maxRestarts: 2 });
    expect(jobSet.ttlSecondsAfterFinished).toBe(6 * 3600);
    const pod = podSpecOf(runtime);
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.containers.map((c: any) => c.name)).toEqual(['node']);
    expect(pod.containers[0].ports).toEqual([{ containerPort: 9108, name: 'metrics', protocol: 'TCP' }]);
    expect(pod.containers[0].securityContext.allowPrivilegeEscalation).toBe(false);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.volumes.find((vol: any) => vol.name === 'dshm').emptyDir.medium).toBe('Memory');
    expect(pod.containers[0].volumeMounts.map((m: any) => m.mountPath)).toEqual(['/dev/shm', '/tmp', '/cache', '/data', '/output']);
    expect(pod.nodeSelector).toEqual({ 'node-type': 'gpu-training' });
  });

  test('a job of a pipeline is embedded in the workflow; its runtime stays a top-level object without per-run values', () => {
    const { docs, manifest, template } = pipelineWith();
    const runtimes = docs.filter((d) => d.kind === 'TrainingRuntime');
    expect(runtimes).toHaveLength(1);
    expect(docs.filter((d) => d.kind === 'TrainJob')).toHaveLength(0);
    expect(manifest.kind).toBe('TrainJob');
    expect(manifest.metadata.generateName).toBe('{{workflow.name}}-sft-');
    expect(manifest.metadata.labels['korean-llm/run']).toBe('{{workflow.name}}');
    expect(manifest.spec.runtimeRef.name).toBe(runtimes[0].metadata.name);
    expect(JSON.stringify(runtimes[0])).not.toContain('{{');
    expect(template.resource.action).toBe('create');
  });

  test('two stages never share a runtime name', () => {
    const chart = Testing.chart();
    const pipeline = new Pipeline(chart, 'p', { name: 'ko', image: IMAGE });
    const a = new SftStage(chart, 'a', { image: IMAGE, baseModel: BaseModel.huggingFace('Qwen/Qwen2.5-7B'), backend: TRAIN_JOB, name: 'same' });
    const b = new SftStage(chart, 'b', { image: IMAGE, baseModel: BaseModel.huggingFace('Qwen/Qwen2.5-7B'), backend: TRAIN_JOB, name: 'same' });
    pipeline.addStage(a);
    pipeline.addStage(b);
    const names = Testing.synth(chart).filter((d) => d.kind === 'TrainingRuntime').map((d) => d.metadata.name);
    expect(names).toHaveLength(2);
    expect(new Set(names).size).toBe(2);
  });

  test('the pipeline role manages trainjobs and reads trainingruntimes; cleanup deletes trainjobs', () => {
    const { docs, wf } = pipelineWith();
    const rules = docs.find((d) => d.kind === 'Role').rules;
    expect(rules).toContainEqual({ apiGroups: ['trainer.kubeflow.org'], resources: ['trainjobs'], verbs: ['create', 'get', 'list', 'watch', 'patch', 'delete'] });
    expect(rules).toContainEqual({ apiGroups: ['trainer.kubeflow.org'], resources: ['trainingruntimes'], verbs: ['get', 'list', 'watch'] });
    expect(JSON.stringify(rules)).not.toContain('pytorchjobs');
    // the exit handler deletes the run's TrainJobs (their JobSets and pods go with them)
    expect(JSON.stringify(wf.spec.templates.find((t: any) => t.name === 'cleanup'))).toContain('trainjobs');
  });

  test('Kueue: the queue label is on the TrainJob; quota checks count GPUs per node x nodes', () => {
    const { trainJob } = synthJob({ queueing: Queueing.kueue('gpu-training', { priorityClass: 'high' }) });
    expect(trainJob.metadata.labels['kueue.x-k8s.io/queue-name']).toBe('gpu-training');
    expect(trainJob.metadata.labels['kueue.x-k8s.io/priority-class']).toBe('high');
    const chart = Testing.chart();
    const cq = new KueueClusterQueue(chart, 'cq', { flavor: new KueueResourceFlavor(chart, 'f'), gpus: 12 });
    const job = new GpuTrainingJob(chart, 'job', { image: IMAGE, trainerCommand: TrainerCommand.SFT, backend: TRAIN_JOB, gpusPerNode: 8, nodes: 2 });
    expect(job.totalGpus).toBe(16);
    expect(() => cq.checkAdmits(job)).toThrow(/at least the 16 GPUs of job .* \(2 node\(s\) x 8\)/);
  });

  test('Volcano: a volcano pod-group policy, the queue annotation, the volcano scheduler and the priority class', () => {
    const chart = Testing.chart();
    const queue = new VolcanoQueue(chart, 'q', { name: 'training', gpus: 16 });
    new GpuTrainingJob(chart, 'job', {
      image: IMAGE, trainerCommand: TrainerCommand.SFT, backend: TRAIN_JOB, nodes: 2, gpusPerNode: 8, queueing: queue.queueing({ priorityClass: 'high' }),
    });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const runtime = docs.find((d) => d.kind === 'TrainingRuntime');
    expect(runtime.spec.podGroupPolicy).toEqual({ volcano: {} });
    expect(runtime.spec.template.metadata.annotations).toEqual({ 'scheduling.volcano.sh/queue-name': 'training' });
    expect(podSpecOf(runtime).schedulerName).toBe('volcano');
    expect(podSpecOf(runtime).priorityClassName).toBe('high');
    const chart2 = Testing.chart();
    const small = new VolcanoQueue(chart2, 'q', { name: 'small', gpus: 8 });
    new GpuTrainingJob(chart2, 'job', { image: IMAGE, trainerCommand: TrainerCommand.SFT, backend: TRAIN_JOB, nodes: 2, gpusPerNode: 8, queueing: small.queueing() });
    expect(() => Testing.synth(chart2)).toThrow(/at least the 16 GPUs/);
  });

  test('fails when a prop has no TrainJob equivalent', () => {
    expect(() => newJob({ elastic: { minNodes: 1, maxNodes: 2 } })).toThrow(/'elastic' must be unset with the TrainJob backend \(Trainer v2.3 has no elastic Torch policy\)/);
    expect(() => newJob({ restartPolicy: RestartPolicy.ON_FAILURE })).toThrow(/'restartPolicy' must be RestartPolicy.NEVER with the TrainJob backend.*, got 'OnFailure'/);
    expect(() => newJob({ cleanPodPolicy: CleanPodPolicy.ALL })).toThrow(/'cleanPodPolicy' must be unset with the TrainJob backend.*got 'All'/);
    expect(() => newJob({ nodes: 4, queueing: Queueing.volcano({ minAvailable: 2 }) })).toThrow(/'queueing.volcano minAvailable' must be unset with the TrainJob backend.*got 2/);
    expect(() => newJob({ queueing: Queueing.volcano({ scheduleTimeout: Duration.minutes(5) }) })).toThrow(/'queueing.volcano scheduleTimeout' must be unset/);
    expect(() => newJob({ priorityClassName: 'a', queueing: Queueing.volcano({ priorityClass: 'b' }) })).toThrow(/'queueing.volcano priorityClass' must be the pods' 'priorityClassName' \(a\)/);
    expect(() => newJob({ name: 'x'.repeat(53) })).toThrow(/'name'/);
  });

  test('the version is a visible choice', () => {
    expect(TrainerVersion.V2_3.version).toBe('2.3');
    expect(TrainingBackend.trainJob({ version: TrainerVersion.V2_3 }).kind).toBe('TrainJob');
    expect(TrainingBackend.pytorchJob().kind).toBe('PyTorchJob');
  });

  test('the context chooses the backend of jobs without a backend prop', () => {
    const app = Testing.app();
    app.node.setContext(TrainingBackend.CONTEXT_KEY, 'trainjob');
    const chart = Testing.chart();
    const onApp = new GpuTrainingJob(new Chart(app, 'c'), 'job', { image: IMAGE, trainerCommand: TrainerCommand.SFT });
    expect(onApp.backend.kind).toBe('TrainJob');
    expect(new GpuTrainingJob(chart, 'job', { image: IMAGE, trainerCommand: TrainerCommand.SFT }).backend.kind).toBe('PyTorchJob');
    const bad = Testing.app();
    bad.node.setContext(TrainingBackend.CONTEXT_KEY, 'mpijob');
    expect(() => new GpuTrainingJob(new Chart(bad, 'c'), 'job', { image: IMAGE, trainerCommand: TrainerCommand.SFT }))
      .toThrow("context 'cdk8s-korean-llm:trainingBackend' must be 'pytorchjob' or 'trainjob', got \"mpijob\"");
  });

  test('fails when the name the JobSet derives for the last node does not fit', () => {
    const chart = Testing.chart();
    const pipeline = new Pipeline(chart, 'p', { name: 'korean-llm-training-pipeline-x', image: IMAGE });
    pipeline.addStage(new SftStage(chart, 'sft', { image: IMAGE, baseModel: BaseModel.huggingFace('Qwen/Qwen2.5-7B'), backend: TRAIN_JOB, nodes: 16 }), { name: 'supervised-fine-tuning' });
    expect(() => Testing.synth(chart)).toThrow(/'<run>-supervised-fine-tuning-xxxxx-node-0-N' fits 63 characters/);
  });
});

describe('waiting on a TrainJob (Trainer v2.3 controller model)', () => {
  function run(props: Partial<GpuTrainingJobProps> = {}, suspend = false): { ctl: TrainJobController; outcome: () => StepOutcome } {
    const { manifest, template } = pipelineWith(props);
    const ctl = new TrainJobController(manifest, { suspend });
    ctl.reconcile();
    const outcome = () => argoOutcome(ctl.object, template.resource.successCondition, template.resource.failureCondition);
    return { ctl, outcome };
  }
  const running = (nodes = 1): JobSetStatus => ({ conditions: [], replicatedJobsStatus: [nodeJob({ active: 1, ready: nodes > 0 ? 1 : 0 })] });
  const completed: JobSetStatus = { conditions: [{ type: 'Completed', reason: 'AllJobsCompleted' }], replicatedJobsStatus: [nodeJob({ succeeded: 1 })] };
  const failed: JobSetStatus = { conditions: [{ type: 'Failed', reason: 'FailedJobs' }], replicatedJobsStatus: [nodeJob({ failed: 1 })] };

  test('success', () => {
    const { ctl, outcome } = run();
    expect(outcome()).toBe('running');
    ctl.jobSetStatus(running());
    expect(outcome()).toBe('running');
    ctl.jobSetStatus(completed);
    expect(ctl.object.status.conditions.map((c: any) => c.type)).toEqual(['Complete']);
    expect(outcome()).toBe('succeeded');
  });

  test('success of a multi-node job (one Job of N indexed pods)', () => {
    const { ctl, outcome } = run({ nodes: 4 });
    ctl.jobSetStatus(running(4));
    expect(outcome()).toBe('running');
    ctl.jobSetStatus(completed);
    expect(outcome()).toBe('succeeded');
  });

  test('a pod failure fails the JobSet (no restarts in a pipeline) and the step', () => {
    const { ctl, outcome } = run();
    ctl.jobSetStatus(running());
    ctl.jobSetStatus(failed);
    expect(ctl.object.status.conditions.map((c: any) => c.type)).toEqual(['Failed']);
    expect(outcome()).toBe('failed');
    // the controller removes and re-sets Failed on every reconcile: still failed
    ctl.reconcile();
    expect(outcome()).toBe('failed');
  });

  test('with JobSet restarts (backoffLimit > 0) a failed Job is not the end', () => {
    const { ctl, outcome } = run({ backoffLimit: 2 });
    ctl.jobSetStatus({ conditions: [], replicatedJobsStatus: [nodeJob({ failed: 1, active: 1 })] });
    expect(outcome()).toBe('running');
    ctl.jobSetStatus(completed);
    expect(outcome()).toBe('succeeded');
  });

  test('the deadline fails the TrainJob with DeadlineExceeded and deletes the JobSet', () => {
    const { ctl, outcome } = run();
    ctl.jobSetStatus(running());
    ctl.passDeadline();
    expect(ctl.object.status.conditions).toEqual([expect.objectContaining({ type: 'Failed', reason: 'DeadlineExceeded' })]);
    expect(ctl.jobSet).toBeUndefined();
    expect(outcome()).toBe('failed');
  });

  test('Kueue: suspended, admitted, then success', () => {
    const { ctl, outcome } = run({ queueing: Queueing.kueue('gpu-training') }, true);
    expect(ctl.object.status.conditions.map((c: any) => `${c.type}=${c.status}`)).toEqual(['Suspended=True']);
    expect(outcome()).toBe('running');
    ctl.setSuspend(false);
    ctl.jobSetStatus(running());
    expect(outcome()).toBe('running');
    ctl.jobSetStatus(completed);
    expect(ctl.object.status.conditions.map((c: any) => `${c.type}=${c.status}`)).toEqual(['Suspended=False', 'Complete=True']);
    expect(outcome()).toBe('succeeded');
  });

  test('Kueue: admitted, then a failure and a deadline put Failed at index 1', () => {
    for (const end of ['pod', 'deadline']) {
      const { ctl, outcome } = run({ queueing: Queueing.kueue('gpu-training') }, true);
      ctl.setSuspend(false);
      ctl.jobSetStatus(running());
      if (end === 'pod') ctl.jobSetStatus(failed);
      else ctl.passDeadline();
      expect(ctl.object.status.conditions.map((c: any) => c.type)).toEqual(['Suspended', 'Failed']);
      expect(outcome()).toBe('failed');
    }
  });

  test('Kueue: preempted (suspended again) and readmitted keeps the step running until success', () => {
    const { ctl, outcome } = run({ queueing: Queueing.kueue('gpu-training') }, true);
    ctl.setSuspend(false);
    ctl.jobSetStatus(running());
    ctl.setSuspend(true);
    ctl.jobSetStatus({ conditions: [], replicatedJobsStatus: [nodeJob({ suspended: 1 })] });
    expect(outcome()).toBe('running');
    ctl.setSuspend(false);
    ctl.jobSetStatus(completed);
    expect(ctl.object.status.conditions.map((c: any) => c.type)).toEqual(['Suspended', 'Complete']);
    expect(outcome()).toBe('succeeded');
  });

  test('success does not depend on the order of jobsStatus: another replicated job\'s count never ends the step', () => {
    const { ctl, outcome } = run();
    const other = { ...nodeJob({ succeeded: 1 }), name: 'dataset-initializer' };
    for (const order of [[other, nodeJob({ active: 1 })], [nodeJob({ active: 1 }), other]]) {
      ctl.jobSetStatus({ conditions: [], replicatedJobsStatus: order });
      expect(outcome()).toBe('running');
    }
  });

  test('every sequence of controller events: failed iff Failed is set, succeeded iff Complete is set', () => {
    type Event = 'admit' | 'preempt' | 'run' | 'fail' | 'complete' | 'deadline';
    const events: Event[] = ['admit', 'preempt', 'run', 'fail', 'complete', 'deadline'];
    const { manifest, template } = pipelineWith({ queueing: Queueing.kueue('gpu-training') });
    let checked = 0;
    const walk = (seq: Event[], suspend: boolean) => {
      const ctl = new TrainJobController(manifest, { suspend });
      ctl.reconcile();
      for (const e of seq) {
        // a finished TrainJob gets no new JobSet and is not preempted; a finished JobSet stays finished
        const finished = (ctl.object.status.conditions ?? []).some((c: any) => c.type === 'Failed' || c.type === 'Complete');
        const jobSetRuns = !finished && !ctl.object.spec.suspend;
        if (e === 'admit') ctl.setSuspend(false);
        if (e === 'preempt' && !finished) ctl.setSuspend(true);
        if (e === 'run' && jobSetRuns) ctl.jobSetStatus(running());
        if (e === 'fail' && jobSetRuns && ctl.jobSet) ctl.jobSetStatus(failed);
        if (e === 'complete' && jobSetRuns && ctl.jobSet) ctl.jobSetStatus(completed);
        if (e === 'deadline') ctl.passDeadline();
      }
      const types: string[] = (ctl.object.status.conditions ?? []).map((c: any) => c.type);
      expect(types.length).toBeLessThanOrEqual(8);
      expect(new Set(types).size).toBe(types.length);
      const expected = types.includes('Failed') ? 'failed' : types.includes('Complete') ? 'succeeded' : 'running';
      expect(argoOutcome(ctl.object, template.resource.successCondition, template.resource.failureCondition)).toBe(expected);
      checked++;
    };
    const sequences = (n: number): Event[][] => (n === 0 ? [[]] : sequences(n - 1).flatMap((s) => events.map((e) => [...s, e])));
    for (const seq of sequences(5)) for (const suspend of [false, true]) walk(seq, suspend);
    expect(checked).toBe(2 * 6 ** 5);
  });
});

describe('every example on the TrainJob backend', () => {
  for (const [name, build] of Object.entries(EXAMPLES)) {
    test(`${name} synthesizes valid manifests with no PyTorchJob`, () => {
      const app = Testing.app();
      app.node.setContext(TrainingBackend.CONTEXT_KEY, 'trainjob');
      build(app as App);
      const docs = app.charts.flatMap((c) => Testing.synth(c));
      expectValid(docs);
      const kinds = [...docs, ...docs.flatMap((d) => embeddedManifests(d))].map((d) => d.kind);
      expect(kinds).not.toContain('PyTorchJob');
    });
  }
});
