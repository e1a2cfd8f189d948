// The seed's section 7.1: the trained model served by vLLM with the seed's autoscaler, or by KServe.
import { App, Chart, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import { GpuNodePool, KServeModelServer, SecretKey, VllmServer } from '../src';

const MODEL = '/output/runs/ko-2026-11-28/qwen2-5-7b-bnb-4bit/rlhf/model';

export function platformVllm(app: App): Chart {
  const chart = new Chart(app, 'platform-vllm', { namespace: 'llm-training', disableResourceNameHashes: true });
  new VllmServer(chart, 'llm-inference-server', {
    name: 'llm-inference-server',
    image: 'vllm/vllm-openai:v0.11.0',
    modelPath: MODEL,
    servedModelName: 'korean-llm',
    gpus: 1,
    cpu: Cpu.units(8),
    memory: Size.gibibytes(64),
    maxModelLen: 8192,
    nodePool: GpuNodePool.inferenceDefault(), // the default: nodes labelled node-type: gpu-inference
    hfToken: SecretKey.of('hf-token', 'token').asOptional(),
    autoscaling: { minReplicas: 1, maxReplicas: 10, podsMetric: { metricName: 'vllm:num_requests_waiting', averageValue: 5 } },
  });
  return chart;
}

export function platformKServe(app: App): Chart {
  const chart = new Chart(app, 'platform-kserve', { namespace: 'llm-training', disableResourceNameHashes: true });
  new KServeModelServer(chart, 'korean-llm', { modelPath: MODEL, gpus: 2, maxReplicas: 4 });
  return chart;
}
