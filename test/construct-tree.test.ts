// A pipeline's training jobs stay in the construct tree: whole-tree checks, lookups, App resolvers
// and duplicate ids treat them like any construct, and their manifests are rendered by cdk8s.
import { ApiObject, App, Chart, JsonPatch, ResolutionContext, Testing } from 'cdk8s';
import {
  BaseModel, CptStage, GpuTrainingJob, KueueGpuQueue, Pipeline, SftStage, VolcanoQueue,
} from '../src';
import { embeddedManifests, expectValid } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';
const MIRROR = 'mirror.internal/unsloth-korean:1.0.0';

function chartOf(app = Testing.app()): Chart {
  return new Chart(app, 'test', { namespace: 'llm-training', disableResourceNameHashes: true });
}

function cptIn(chart: Chart, props: any = {}): CptStage {
  return new CptStage(chart, 'cpt', { image: IMAGE, baseModel: BaseModel.huggingFace('org/model'), ...props });
}

function pipelineOf(chart: Chart, ...stages: GpuTrainingJob[]): Pipeline {
  const pipeline = new Pipeline(chart, 'pipeline', { image: IMAGE, name: 'demo' });
  for (const s of stages) pipeline.addStage(s);
  return pipeline;
}

/** Replaces one image by another wherever cdk8s resolves a value (an image mirror). */
class MirrorResolver {
  public resolve(context: ResolutionContext): void {
    if (context.value === IMAGE) context.replaceValue(MIRROR);
  }
}

describe('a pipeline keeps its jobs in the construct tree', () => {
  test('node.findAll() finds the pipeline\'s jobs; only the Workflow carries their manifests', () => {
    const chart = chartOf();
    const cpt = cptIn(chart);
    pipelineOf(chart, cpt);
    expect(chart.node.findAll()).toContain(cpt);
    const docs = Testing.synth(chart);
    expect(docs.filter((d) => d.kind === 'PyTorchJob')).toEqual([]);
    const manifests = embeddedManifests(docs.find((d) => d.kind === 'Workflow'));
    expect(manifests.map((m) => m.kind)).toEqual(['PyTorchJob']);
    expectValid(docs);
  });

  test('fails when a second stage gets the id of a pipeline\'s stage', () => {
    const chart = chartOf();
    pipelineOf(chart, new SftStage(chart, 'sft', { image: IMAGE, baseModel: BaseModel.huggingFace('org/model') }));
    expect(() => new SftStage(chart, 'sft', { image: IMAGE, baseModel: BaseModel.huggingFace('org/model') }))
      .toThrow(/There is already a Construct with name 'sft'/);
  });

  test('fails when a pipeline\'s stage needs more GPUs than its Kueue queue', () => {
    const chart = chartOf();
    const queue = new KueueGpuQueue(chart, 'queue', { gpus: 16 });
    pipelineOf(chart, cptIn(chart, { nodes: 4, gpusPerNode: 8, queueing: queue.queueing() }));
    expect(() => Testing.synth(chart)).toThrow(/'gpus' of ClusterQueue '[^']+' must be at least the 32 GPUs of job 'test\/cpt' queued in LocalQueue 'gpu-training', got 16/);
  });

  test('fails when a pipeline\'s stage needs more GPUs than its Volcano queue', () => {
    const chart = chartOf();
    const queue = new VolcanoQueue(chart, 'queue', { gpus: 16 });
    pipelineOf(chart, cptIn(chart, { nodes: 4, gpusPerNode: 8, queueing: queue.queueing() }));
    expect(() => Testing.synth(chart)).toThrow(/'gpus' of Volcano queue 'gpu-training' must be at least the 32 GPUs of job 'test\/cpt', got 16/);
  });

  test('App resolvers apply to embedded manifests as to standalone jobs', () => {
    const app = new App({ resolvers: [new MirrorResolver()] });
    const chart = chartOf(app);
    pipelineOf(chart, cptIn(chart));
    new GpuTrainingJob(chart, 'standalone', { image: IMAGE, command: ['python', 'train.py'] });
    const docs = app.synthYaml();
    expect(docs).not.toContain(IMAGE);
    const parsed = Testing.synth(chart);
    const standalone = parsed.find((d) => d.kind === 'PyTorchJob');
    expect(standalone.spec.pytorchReplicaSpecs.Master.template.spec.containers[0].image).toBe(MIRROR);
    const embedded = embeddedManifests(parsed.find((d) => d.kind === 'Workflow'))[0];
    expect(embedded.spec.pytorchReplicaSpecs.Master.template.spec.containers[0].image).toBe(MIRROR);
  });

  test('JSON patches on ApiObject.of(stage) reach the embedded manifest', () => {
    const chart = chartOf();
    const cpt = cptIn(chart);
    pipelineOf(chart, cpt);
    ApiObject.of(cpt).addJsonPatch(JsonPatch.add('/spec/pytorchReplicaSpecs/Master/template/spec/hostIPC', true));
    const embedded = embeddedManifests(Testing.synth(chart).find((d) => d.kind === 'Workflow'))[0];
    expect(embedded.spec.pytorchReplicaSpecs.Master.template.spec.hostIPC).toBe(true);
    expect(embedded.metadata.name).toBeUndefined();
    expect(embedded.metadata.generateName).toBe('{{workflow.name}}-cpt-');
  });
});
