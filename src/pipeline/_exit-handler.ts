// The pipeline's exit handler: delete the jobs of a run that did not succeed, then tell Slack.

import { RUN_ID } from './_argo';
import { LABELS } from '../labels';
import { SecretKey } from '../secret-key';
import { containerSecurityContext } from '../training/_pod-defaults';
import { JobBackend } from '../training/_workload';

/** What the exit handler does. */
export interface ExitHandlerOptions {
  /** The job APIs of the run's training steps, whose jobs are deleted when the run does not succeed. */
  readonly cleanup: JobBackend[];
  /** The Slack webhook, when the run's result is posted. */
  readonly slackWebhook?: SecretKey;
  /** The image of the notify step (the trainer's, which has Python). */
  readonly image: string;
}

/** The exit handler's templates (`exit-handler` first), or none. */
export function exitHandlerTemplates(o: ExitHandlerOptions): any[] {
  const templates: any[] = [];
  const steps: any[] = [];
  const kinds = [...new Set(o.cleanup.map((b) => `${b.resourcePlural}.${b.apiGroup}`))];
  if (kinds.length > 0) {
    steps.push({ name: 'cleanup', template: 'cleanup', when: '{{workflow.status}} != Succeeded' });
    templates.push({
      name: 'cleanup',
      resource: {
        action: 'delete',
        // kubectl delete <kinds> -l korean-llm/run=<run>: every job this run created
        flags: [kinds.join(','), '--selector', `${LABELS.run}=${RUN_ID}`, '--ignore-not-found'],
      },
    });
  }
  if (o.slackWebhook) {
    steps.push({ name: 'notify', template: 'notify' });
    templates.push({
      name: 'notify',
      retryStrategy: { limit: 3, retryPolicy: 'Always' },
      activeDeadlineSeconds: 300,
      container: {
        image: o.image,
        // the trainer image has Python; no extra image, no shell, the URL never leaves the Secret
        command: ['python', '-c', NOTIFY_SCRIPT],
        env: [
          { name: 'SLACK_WEBHOOK_URL', valueFrom: o.slackWebhook._envSource() },
          { name: 'RUN_NAME', value: RUN_ID },
          { name: 'RUN_STATUS', value: '{{workflow.status}}' },
          { name: 'RUN_DURATION', value: '{{workflow.duration}}' },
          { name: 'RUN_FAILURES', value: '{{workflow.failures}}' },
        ],
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '100m', memory: '128Mi' } },
        securityContext: containerSecurityContext(),
      },
    });
  }
  if (steps.length === 0) return [];
  return [{ name: 'exit-handler', steps: [steps] }, ...templates];
}

/** Posts the run's result to Slack with the standard library; the URL comes from the environment. */
const NOTIFY_SCRIPT = [
  'import json, os, urllib.request',
  'status = os.environ["RUN_STATUS"]',
  'icon = ":white_check_mark:" if status == "Succeeded" else ":rotating_light:"',
  'text = f"{icon} Korean LLM pipeline run {os.environ[\'RUN_NAME\']}: {status} after {os.environ[\'RUN_DURATION\']}s"',
  'if status != "Succeeded":',
  '    text += "\\nfailures: " + os.environ.get("RUN_FAILURES", "")[:2000]',
  'req = urllib.request.Request(os.environ["SLACK_WEBHOOK_URL"], data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"})',
  'urllib.request.urlopen(req, timeout=30).read()',
].join('\n');
