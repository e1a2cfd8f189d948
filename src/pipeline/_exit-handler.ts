// The pipeline's exit handler: clean up the run's training jobs, then tell Slack. Both are side
// jobs: neither may change the run's phase.
//
// Argo 3.7 (`workflow/controller/operator.go`, `operate`): once the main DAG has ended, a run whose
// DAG succeeded is marked Failed (or Error) when its exit-handler node failed or errored. The
// exit-handler node is a steps template; its step group fails only for a child that failed or
// errored and whose step has no matching `continueOn` (`steps.go`, `executeStepGroup`:
// `childNode.FailedOrError() && !step.ContinuesOn(childNode.Phase)`). So each exit-handler step
// carries `continueOn: { failed: true, error: true }`: a webhook that is down, a missing Secret, a
// pod that cannot start or an API error is retried, shows as a failed node with its logs, and
// leaves the run's phase to the DAG.
//
// Cleanup (decided for a real cluster):
// - a run that succeeded: every job of the run is deleted (the models are on the output volume,
//   the metrics in the tracking server; no job is left to hold a quota or a name);
// - any other end (failed, stopped with `argo stop`, errored): only jobs that have not finished are
//   deleted (still queued under Kueue, or running: orphans of a stopped run, or of an attempt whose
//   step deadline passed), as they hold or are about to take GPUs; a finished job is kept, with its
//   failed pod (`cleanPodPolicy: Running` keeps finished pods) so `kubectl logs` works, until its
//   `ttlSecondsAfterFinished` (or the Workflow's deletion, which owns it) removes it.
// A label selector cannot tell finished jobs apart (`kubectl delete` has no status filter and a
// custom resource no status field selector), so the cleanup is a short stdlib Python script in the
// pipeline's image that lists the run's jobs with the workflow's service account (its Role already
// allows list and delete) and reads their conditions.

import { RUN_ID } from './_argo';
import { LABELS } from '../labels';
import { SecretKey } from '../secret-key';
import { containerSecurityContext } from '../training/_pod-defaults';
import { JobBackend } from '../training/_workload';

/** What the exit handler does. */
export interface ExitHandlerOptions {
  /** The job APIs of the run's training steps, whose jobs are cleaned up when the run ends. */
  readonly cleanup: JobBackend[];
  /** The Slack webhook, when the run's result is posted. */
  readonly slackWebhook?: SecretKey;
  /** The image of the exit handler's steps (the trainer's, which has Python). */
  readonly image: string;
}

/** A side job of the exit handler: it may fail or error without changing the run's phase. */
const SIDE_JOB = { continueOn: { failed: true, error: true } };

/** Retries of an exit-handler step (a transient API or network error). */
const SIDE_JOB_RETRY = { limit: 3, retryPolicy: 'Always', backoff: { duration: '10s', factor: 2 } };

/** The resources of an exit-handler step. */
const SIDE_JOB_RESOURCES = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '100m', memory: '128Mi' } };

/** Condition types that mean a job has finished: Succeeded/Failed (PyTorchJob), Complete/Failed (TrainJob). */
export const FINISHED_CONDITION_TYPES = ['Succeeded', 'Complete', 'Failed'];

/** The exit handler's templates (`exit-handler` first), or none. */
export function exitHandlerTemplates(o: ExitHandlerOptions): any[] {
  const templates: any[] = [];
  const steps: any[] = [];
  // `<group>/<version>/<plural>` of each job API, once
  const resources = [...new Set(o.cleanup.map((b) => `${b.apiVersion}/${b.resourcePlural}`))];
  if (resources.length > 0) {
    steps.push({ name: 'cleanup', template: 'cleanup', ...SIDE_JOB });
    templates.push(sideJob('cleanup', o.image, CLEANUP_SCRIPT, [
      { name: 'RUN_STATUS', value: '{{workflow.status}}' },
      { name: 'RUN_NAMESPACE', value: '{{workflow.namespace}}' },
      // every job this run created carries the run label
      { name: 'RUN_SELECTOR', value: `${LABELS.run}=${RUN_ID}` },
      { name: 'JOB_RESOURCES', value: resources.join(' ') },
      { name: 'FINISHED_CONDITION_TYPES', value: FINISHED_CONDITION_TYPES.join(' ') },
    ]));
  }
  if (o.slackWebhook) {
    steps.push({ name: 'notify', template: 'notify', ...SIDE_JOB });
    templates.push(sideJob('notify', o.image, NOTIFY_SCRIPT, [
      // optional: a missing Secret fails the notify step (visibly), not the pod's creation
      { name: 'SLACK_WEBHOOK_URL', valueFrom: o.slackWebhook.asOptional()._envSource() },
      { name: 'RUN_NAME', value: RUN_ID },
      { name: 'RUN_STATUS', value: '{{workflow.status}}' },
      { name: 'RUN_DURATION', value: '{{workflow.duration}}' },
      { name: 'RUN_FAILURES', value: '{{workflow.failures}}' },
    ]));
  }
  if (steps.length === 0) return [];
  return [{ name: 'exit-handler', steps: [steps] }, ...templates];
}

/** A Python script run in the pipeline's image: no extra image, no shell. */
function sideJob(name: string, image: string, script: string, env: any[]): any {
  return {
    name,
    retryStrategy: SIDE_JOB_RETRY,
    activeDeadlineSeconds: 300,
    container: {
      image,
      command: ['python', '-c', script],
      env,
      resources: SIDE_JOB_RESOURCES,
      securityContext: containerSecurityContext(),
    },
  };
}

/**
 * Cleans up the run's jobs through the API server with the pod's service account: every job after
 * a run that succeeded, only unfinished ones otherwise. Exits 1 when any call failed (Argo retries;
 * `continueOn` keeps the run's phase). `KUBE_API` and `SA_DIR` exist for tests.
 */
export const CLEANUP_SCRIPT = [
  'import json, os, ssl, sys, urllib.error, urllib.parse, urllib.request',
  'sa = os.environ.get("SA_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")',
  'host = os.environ.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc")',
  'host = "[" + host + "]" if ":" in host else host',
  'api = os.environ.get("KUBE_API") or "https://" + host + ":" + os.environ.get("KUBERNETES_SERVICE_PORT", "443")',
  'ctx = ssl.create_default_context(cafile=sa + "/ca.crt") if api.startswith("https:") else None',
  'token = open(sa + "/token").read().strip()',
  'def call(method, path, body=None):',
  '    req = urllib.request.Request(api + path, method=method, data=None if body is None else json.dumps(body).encode(),',
  '        headers={"Authorization": "Bearer " + token, "Accept": "application/json", "Content-Type": "application/json"})',
  '    with urllib.request.urlopen(req, timeout=30, context=ctx) as r:',
  '        return json.load(r)',
  'succeeded = os.environ["RUN_STATUS"] == "Succeeded"',
  'finished_types = os.environ["FINISHED_CONDITION_TYPES"].split()',
  'selector = urllib.parse.quote(os.environ["RUN_SELECTOR"])',
  'errors = 0',
  'for resource in os.environ["JOB_RESOURCES"].split():',
  '    group_version, plural = resource.rsplit("/", 1)',
  '    base = "/apis/" + group_version + "/namespaces/" + os.environ["RUN_NAMESPACE"] + "/" + plural',
  '    try:',
  '        items = call("GET", base + "?labelSelector=" + selector)["items"]',
  '    except Exception as e:',
  '        print("cannot list " + plural + ": " + str(e)); errors += 1; continue',
  '    for job in items:',
  '        name = job["metadata"]["name"]',
  '        ended = [c["type"] for c in (job.get("status") or {}).get("conditions") or [] if c.get("type") in finished_types and c.get("status") == "True"]',
  '        if ended and not succeeded:',
  '            print("keeping " + plural + "/" + name + " (" + ended[0] + ") for its logs until its TTL"); continue',
  '        try:',
  '            call("DELETE", base + "/" + name, {"propagationPolicy": "Background"})',
  '            print("deleted " + plural + "/" + name + (" (" + ended[0] + ")" if ended else " (not finished)"))',
  '        except urllib.error.HTTPError as e:',
  '            if e.code != 404:',
  '                print("cannot delete " + plural + "/" + name + ": " + str(e)); errors += 1',
  '        except Exception as e:',
  '            print("cannot delete " + plural + "/" + name + ": " + str(e)); errors += 1',
  'sys.exit(1 if errors else 0)',
].join('\n');

/**
 * Posts the run's result to Slack with the standard library; the URL comes from the environment and
 * is never printed. Exits 1 when it could not post (Argo retries; `continueOn` keeps the run's phase).
 */
export const NOTIFY_SCRIPT = [
  'import json, os, sys, urllib.request',
  'url = os.environ.get("SLACK_WEBHOOK_URL", "").strip()',
  'if not url:',
  '    print("no Slack webhook URL (the Secret or its key is missing): nothing posted"); sys.exit(1)',
  'status = os.environ["RUN_STATUS"]',
  'icon = ":white_check_mark:" if status == "Succeeded" else ":rotating_light:"',
  'text = f"{icon} Korean LLM pipeline run {os.environ[\'RUN_NAME\']}: {status} after {os.environ[\'RUN_DURATION\']}s"',
  'if status != "Succeeded":',
  '    text += "\\nfailures: " + os.environ.get("RUN_FAILURES", "")[:2000]',
  'try:',
  '    req = urllib.request.Request(url, data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"})',
  '    urllib.request.urlopen(req, timeout=30).read()',
  'except Exception as e:',
  '    print("could not post to Slack: " + type(e).__name__ + ": " + str(getattr(e, "code", "") or getattr(e, "reason", ""))); sys.exit(1)',
  'print("posted the run result to Slack")',
].join('\n');
