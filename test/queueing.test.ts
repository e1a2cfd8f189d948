import { Duration } from 'cdk8s';
import { Labels, Queueing, QueueingKind } from '../src';

describe('Queueing', () => {
  test('none adds nothing', () => {
    const q = Queueing.none();
    expect(q.kind).toBe(QueueingKind.NONE);
    expect(q._render(2)).toEqual({ labels: {} });
  });

  test('kueue labels the job with its queue and priority class', () => {
    expect(Queueing.kueue('gpu-queue')._render(4)).toEqual({ labels: { [Labels.KUEUE_QUEUE]: 'gpu-queue' } });
    const q = Queueing.kueue('gpu-queue', { priorityClass: 'research' });
    expect(q.kind).toBe(QueueingKind.KUEUE);
    expect(q.queueName).toBe('gpu-queue');
    expect(q._render(4)).toEqual({ labels: { 'kueue.x-k8s.io/queue-name': 'gpu-queue', [Labels.KUEUE_PRIORITY]: 'research' } });
  });

  test('volcano gangs every pod by default', () => {
    expect(Queueing.volcano()._render(3)).toEqual({ labels: {}, gang: { minMember: 3 } });
  });

  test('volcano options', () => {
    const q = Queueing.volcano({ queue: 'training', priorityClass: 'high', scheduleTimeout: Duration.minutes(30), minAvailable: 2 });
    expect(q.kind).toBe(QueueingKind.VOLCANO);
    expect(q.queueName).toBe('training');
    expect(q._render(4).gang).toEqual({ minMember: 2, queue: 'training', priorityClass: 'high', scheduleTimeoutSeconds: 1800 });
  });

  test('fails when the Kueue queue name is not a DNS label', () => {
    expect(() => Queueing.kueue('GPU_Queue')).toThrow("'queueing.kueue queueName' must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got 'GPU_Queue'");
  });

  test('fails when Volcano minAvailable is 0', () => {
    expect(() => Queueing.volcano({ minAvailable: 0 })).toThrow("'queueing.volcano minAvailable' must be a positive integer, got 0");
  });

  test('fails when Volcano minAvailable exceeds the job\'s pods', () => {
    expect(() => Queueing.volcano({ minAvailable: 5 })._render(4)).toThrow("'queueing.volcano minAvailable' must be at most the job's 4 pod(s), got 5");
  });

  test('fails when the schedule timeout is under a second', () => {
    expect(() => Queueing.volcano({ scheduleTimeout: Duration.millis(1) })).toThrow("'queueing.volcano scheduleTimeout' must be a duration of at least one second");
  });
});
