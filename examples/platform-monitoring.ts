// The seed's section 6, fixed: the trainer's metrics scraped by a PodMonitor, dcgm-exporter by a
// ServiceMonitor, alerts on real metric names routed to Slack, and the Grafana dashboard.
import { App, Chart } from 'cdk8s';
import {
  BaseModel, CptStage, PrometheusScrapeConfig, SecretKey, SlackAlerts, TrainingAlerts, TrainingDashboard,
  TrainingMonitors,
} from '../src';
import { IMAGE } from './standalone-stages';

export function platformMonitoring(app: App): Chart {
  const chart = new Chart(app, 'platform-monitoring', { namespace: 'llm-training', disableResourceNameHashes: true });
  // kube-prometheus-stack selects monitors and rules by its release label
  const labels = { release: 'kube-prometheus-stack' };
  new TrainingMonitors(chart, 'monitors', { labels });
  new TrainingAlerts(chart, 'alerts', { labels, gpuUtilizationThreshold: 50 });
  new TrainingDashboard(chart, 'dashboard');
  new CptStage(chart, 'korean-llm-cpt', {
    image: IMAGE,
    runId: 'ko-2026-11-28',
    baseModel: BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit'),
  });
  return chart;
}

export function platformPlainPrometheus(app: App): Chart {
  const chart = new Chart(app, 'platform-plain-prometheus', { namespace: 'llm-training', disableResourceNameHashes: true });
  // clusters without the Prometheus Operator: the seed's prometheus.yml, with annotated trainer pods
  new PrometheusScrapeConfig(chart, 'prometheus');
  new CptStage(chart, 'korean-llm-cpt', {
    image: IMAGE,
    runId: 'ko-2026-11-28',
    baseModel: BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit'),
    podAnnotations: PrometheusScrapeConfig.podAnnotations(),
  });
  return chart;
}

export function platformSlack(app: App): Chart {
  const chart = new Chart(app, 'platform-slack', { namespace: 'llm-training', disableResourceNameHashes: true });
  new TrainingAlerts(chart, 'alerts');
  // the webhook URL stays in the Secret `slack-webhook` (key `url`), in the same namespace
  new SlackAlerts(chart, 'slack', { webhookUrl: SecretKey.of('slack-webhook', 'url'), channel: '#llm-training' });
  return chart;
}
