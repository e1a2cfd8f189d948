// The exit handler's side jobs (cleanup, notify) never change a run's phase, and the cleanup keeps
// what an SRE needs (a failed job and its pod, for `kubectl logs`) while freeing GPUs (jobs still
// queued or running). The phase rules are Argo 3.7's; the scripts run for real against a fake API
// server and a fake webhook.

import { spawn } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { Chart, Testing } from 'cdk8s';
import { BaseModel, Pipeline, SecretKey, SftStage } from '../src';
import { envOf, templateOf } from './util/argo';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';

function emittedWorkflow(): any {
  const chart = new Chart(Testing.app(), 'test', { namespace: 'llm-training' });
  const pipeline = new Pipeline(chart, 'pipeline', { image: IMAGE, name: 'demo', slackWebhook: SecretKey.of('slack-webhook', 'url') });
  pipeline.addStage(new SftStage(pipeline, 'sft', { image: IMAGE, baseModel: BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit') }));
  return Testing.synth(chart).find((d) => d.kind === 'Workflow');
}

type NodePhase = 'Succeeded' | 'Failed' | 'Error' | 'Skipped';

/**
 * The run's phase once its exit handler has ended (Argo 3.7): a step group fails when a child
 * failed or errored without a matching `continueOn` (`steps.go`, `executeStepGroup`:
 * `childNode.FailedOrError() && !step.ContinuesOn(childNode.Phase)`); a run whose DAG succeeded
 * takes the exit-handler node's phase when that failed or errored (`operator.go`, `operate`).
 */
function runPhase(dag: NodePhase, exitHandler: any, children: { [step: string]: NodePhase }): NodePhase {
  let exitNode: NodePhase = 'Succeeded';
  for (const group of exitHandler.steps) {
    for (const step of group) {
      const phase = children[step.name] ?? 'Succeeded';
      const continues = (phase === 'Failed' && step.continueOn?.failed) || (phase === 'Error' && step.continueOn?.error);
      if ((phase === 'Failed' || phase === 'Error') && !continues) exitNode = 'Failed';
    }
  }
  if (dag === 'Succeeded' || dag === 'Skipped') return exitNode === 'Succeeded' ? 'Succeeded' : exitNode;
  return dag;
}

describe('a side job never changes the run\'s phase', () => {
  const wf = emittedWorkflow();
  const exitHandler = templateOf(wf, 'exit-handler');

  test.each<[NodePhase, NodePhase]>([['Failed', 'Failed'], ['Error', 'Error'], ['Failed', 'Error'], ['Error', 'Succeeded']])(
    'notify %s, cleanup %s: a run that trained and deployed stays Succeeded; a failed run stays Failed', (notify, cleanup) => {
      expect(runPhase('Succeeded', exitHandler, { notify, cleanup })).toBe('Succeeded');
      expect(runPhase('Failed', exitHandler, { notify, cleanup })).toBe('Failed');
    });

  test('without continueOn a failed notification would have failed the good run', () => {
    const bare = { steps: exitHandler.steps.map((g: any[]) => g.map(({ continueOn: _c, ...s }) => s)) };
    expect(runPhase('Succeeded', bare, { notify: 'Failed' })).toBe('Failed');
  });

  test('each side job is retried and bounded in time', () => {
    for (const name of ['cleanup', 'notify']) {
      const t = templateOf(wf, name);
      expect(t.retryStrategy).toEqual({ limit: 3, retryPolicy: 'Always', backoff: { duration: '10s', factor: 2 } });
      expect(t.activeDeadlineSeconds).toBe(300);
    }
  });
});

/** Runs an exit-handler script with python3; resolves with its exit code and output. */
function runScript(script: string, env: { [name: string]: string }): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', script], { env: { PATH: process.env.PATH ?? '', ...env } });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

function listen(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => handler(req, body, res));
    });
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}

/** The env the emitted template gives a script, with Argo's placeholders substituted. */
function envFor(template: any, values: { [placeholder: string]: string }): { [name: string]: string } {
  const env: { [name: string]: string } = {};
  for (const [name, value] of Object.entries(envOf(template.container))) {
    if (typeof value === 'string') env[name] = value.replace(/\{\{[^}]+\}\}/g, (p) => values[p] ?? p);
  }
  return env;
}

const condition = (type: string) => ({ type, status: 'True', reason: `PyTorchJob${type}` });
/** The run's jobs as the API server lists them. */
const JOBS = [
  { metadata: { name: 'run-1-cpt-aaaaa' }, status: { conditions: [condition('Created'), condition('Running'), condition('Succeeded')] } },
  { metadata: { name: 'run-1-sft-bbbbb' }, status: { conditions: [condition('Created'), condition('Failed')] } },
  // an attempt whose step deadline passed while it still ran
  { metadata: { name: 'run-1-sft-ccccc' }, status: { conditions: [condition('Created'), condition('Running')] } },
  // still queued under Kueue: no status written yet but Suspended
  { metadata: { name: 'run-1-rlhf-ddddd' }, status: { conditions: [condition('Created'), condition('Suspended')] } },
  { metadata: { name: 'run-1-rlhf-eeeee' } },
];

describe('the cleanup script', () => {
  const wf = emittedWorkflow();
  const sa = mkdtempSync(join(tmpdir(), 'sa-'));
  writeFileSync(join(sa, 'token'), 'test-token\n');

  async function cleanup(status: string, failList = false): Promise<{ code: number; out: string; deleted: string[]; requests: string[] }> {
    const deleted: string[] = [];
    const requests: string[] = [];
    const { server, url } = await listen((req, body, res) => {
      requests.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      const base = '/apis/kubeflow.org/v1/namespaces/llm-training/pytorchjobs';
      if (req.method === 'GET' && req.url === `${base}?labelSelector=korean-llm/run%3Drun-1` && !failList) {
        res.end(JSON.stringify({ items: JOBS }));
      } else if (req.method === 'DELETE' && req.url?.startsWith(`${base}/`)) {
        expect(JSON.parse(body)).toEqual({ propagationPolicy: 'Background' });
        deleted.push(req.url.slice(base.length + 1));
        res.end('{}');
      } else {
        res.statusCode = 500;
        res.end('{}');
      }
    });
    try {
      const env = envFor(templateOf(wf, 'cleanup'), { '{{workflow.status}}': status, '{{workflow.namespace}}': 'llm-training', '{{workflow.name}}': 'run-1' });
      const { code, out } = await runScript(templateOf(wf, 'cleanup').container.command[2], { ...env, KUBE_API: url, SA_DIR: sa });
      return { code, out, deleted, requests };
    } finally {
      server.close();
    }
  }

  test('after a failed or stopped run it deletes only unfinished jobs (running, queued) and keeps finished ones for their logs', async () => {
    const r = await cleanup('Failed');
    expect(r.code).toBe(0);
    expect(r.deleted.sort()).toEqual(['run-1-rlhf-ddddd', 'run-1-rlhf-eeeee', 'run-1-sft-ccccc']);
    expect(r.out).toContain('keeping pytorchjobs/run-1-sft-bbbbb (Failed)');
    expect(r.requests.every((line) => line.endsWith('Bearer test-token'))).toBe(true);
  });

  test('after a run that succeeded it deletes every job of the run', async () => {
    const r = await cleanup('Succeeded');
    expect(r.code).toBe(0);
    expect(r.deleted.sort()).toEqual(JOBS.map((j) => j.metadata.name).sort());
  });

  test('an API error exits 1 (Argo retries; continueOn keeps the run\'s phase)', async () => {
    const r = await cleanup('Failed', true);
    expect(r.code).toBe(1);
    expect(r.out).toContain('cannot list pytorchjobs');
  });
});

describe('the notify script', () => {
  const notify = templateOf(emittedWorkflow(), 'notify');
  const script = notify.container.command[2];
  const env = envFor(notify, { '{{workflow.name}}': 'run-1', '{{workflow.status}}': 'Succeeded', '{{workflow.duration}}': '3600', '{{workflow.failures}}': '' });

  test('posts the run\'s result', async () => {
    const posted: any[] = [];
    const { server, url } = await listen((_req, body, res) => { posted.push(JSON.parse(body)); res.end('ok'); });
    try {
      const r = await runScript(script, { ...env, SLACK_WEBHOOK_URL: `${url}/services/T000/B000/XXXX` });
      expect(r.code).toBe(0);
      expect(posted).toEqual([{ text: ':white_check_mark: Korean LLM pipeline run run-1: Succeeded after 3600s' }]);
    } finally {
      server.close();
    }
  });

  test('a webhook that is down or a missing Secret fails the notify step, never printing the URL', async () => {
    const { server, url } = await listen(() => undefined);
    server.close(); // nothing listens there any more: connection refused
    const down = await runScript(script, { ...env, SLACK_WEBHOOK_URL: `${url}/services/T000/B000/SECRET` });
    expect(down.code).toBe(1);
    expect(down.out).toContain('could not post to Slack');
    expect(down.out).not.toContain('SECRET');
    const missing = await runScript(script, env);
    expect(missing.code).toBe(1);
    expect(missing.out).toContain('no Slack webhook URL');
  });
});
