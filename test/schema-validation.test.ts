// Self-tests of test/util/schema.ts: the validator must reject what a strict API server or the
// Training Operator's webhook would reject, or the `expectValid` calls elsewhere prove nothing.
import { existsSync, readdirSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdk8s';
import * as yaml from 'js-yaml';
import { GpuTrainingJob, TrainerCommand } from '../src';
import { CRD_KINDS, crdSchemaFile, embeddedManifests, expectValid, K8S_DEFINITIONS_FILE, pytorchJobWebhookErrors, SCHEMAS_DIR, validateDocument } from './util/schema';

const IMAGE = 'registry.example.com/unsloth-korean:1.0.0';

/** A valid two-node PyTorchJob as the library emits it (a fresh copy per call). */
function validJob(): any {
  const chart = Testing.chart();
  new GpuTrainingJob(chart, 'job', { image: IMAGE, trainerCommand: TrainerCommand.SFT, nodes: 2, name: 'korean-sft' });
  return Testing.synth(chart)[0];
}

function masterSpec(doc: any): any {
  return doc.spec.pytorchReplicaSpecs.Master.template.spec;
}

function workflowWith(manifest: any): any {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { generateName: 'korean-llm-' },
    spec: {
      entrypoint: 'train',
      templates: [{ name: 'train', resource: { action: 'create', manifest: yaml.dump(manifest) } }],
    },
  };
}

describe('pytorchJobWebhookErrors', () => {
  test('accepts the library\'s job', () => {
    expect(pytorchJobWebhookErrors(validJob())).toEqual([]);
  });

  test('rejects Master replicas 2', () => {
    const doc = validJob();
    doc.spec.pytorchReplicaSpecs.Master.replicas = 2;
    expect(pytorchJobWebhookErrors(doc)).toEqual(['PyTorchJob: Master replicas must be 1']);
  });

  test('rejects a replica without a container named pytorch', () => {
    const doc = validJob();
    masterSpec(doc).containers[0].name = 'trainer';
    expect(pytorchJobWebhookErrors(doc)).toEqual(["PyTorchJob: Master has no container named 'pytorch'"]);
  });

  test('rejects Worker replicas 0', () => {
    const doc = validJob();
    doc.spec.pytorchReplicaSpecs.Worker.replicas = 0;
    expect(pytorchJobWebhookErrors(doc)).toEqual(['PyTorchJob: Worker replicas must be at least 1']);
  });

  test('rejects an unknown replica type', () => {
    const doc = validJob();
    doc.spec.pytorchReplicaSpecs.Chief = doc.spec.pytorchReplicaSpecs.Worker;
    expect(pytorchJobWebhookErrors(doc)).toEqual(["PyTorchJob: replica type 'Chief' is not Master or Worker"]);
  });

  test('rejects an empty image', () => {
    const doc = validJob();
    masterSpec(doc).containers[0].image = '';
    expect(pytorchJobWebhookErrors(doc)).toEqual(["PyTorchJob: Master container 'pytorch' has no image"]);
  });

  test('rejects a name that is not a DNS-1035 label, and a job with no name at all', () => {
    const doc = validJob();
    doc.metadata.name = '1-korean-sft';
    expect(pytorchJobWebhookErrors(doc)).toEqual(["PyTorchJob: name '1-korean-sft' is not a DNS-1035 label"]);
    delete doc.metadata.name;
    expect(pytorchJobWebhookErrors(doc)).toEqual(['PyTorchJob: neither name nor generateName']);
  });

  test('rejects an elasticPolicy without Worker, and nprocPerNode twice', () => {
    const doc = validJob();
    delete doc.spec.pytorchReplicaSpecs.Worker;
    doc.spec.elasticPolicy = { minReplicas: 1, maxReplicas: 2, nProcPerNode: 2 };
    expect(pytorchJobWebhookErrors(doc)).toEqual([
      'PyTorchJob: elasticPolicy without a Worker replica',
      'PyTorchJob: both nprocPerNode and elasticPolicy.nProcPerNode',
    ]);
  });
});

describe('validateDocument', () => {
  test('accepts the library\'s job', () => {
    expect(validateDocument(validJob())).toEqual([]);
    expectValid([validJob()]);
  });

  test('rejects an unknown field in a PyTorchJob spec', () => {
    const doc = validJob();
    doc.spec.gangScheduling = true;
    expect(validateDocument(doc)).toContainEqual("PyTorchJob/korean-sft/spec must NOT have additional properties 'gangScheduling'");
  });

  test('rejects an unknown field in a container', () => {
    const doc = validJob();
    masterSpec(doc).containers[0].gpus = 4;
    expect(validateDocument(doc).join('\n')).toContain("additional properties 'gpus'");
  });

  test('rejects an unknown field in the metadata', () => {
    const doc = validJob();
    doc.metadata.label = { a: 'b' };
    expect(validateDocument(doc).join('\n')).toContain("/metadata must NOT have additional properties 'label'");
  });

  test('rejects a wrong type', () => {
    const doc = validJob();
    doc.spec.pytorchReplicaSpecs.Worker.replicas = 'one';
    expect(validateDocument(doc)).toContainEqual('PyTorchJob/korean-sft/spec/pytorchReplicaSpecs/Worker/replicas must be integer');
  });

  test('rejects pod-level resources, a field newer than Kubernetes 1.28', () => {
    const doc = validJob();
    masterSpec(doc).resources = { limits: { cpu: '8' } };
    const errors = validateDocument(doc);
    expect(errors).toContainEqual("PyTorchJob/korean-sft Master template (Kubernetes 1.28)/spec must NOT have additional properties 'resources'");
  });

  test('rejects hostnameOverride, which the CRD allows but Kubernetes 1.28 does not know', () => {
    const doc = validJob();
    masterSpec(doc).hostnameOverride = 'trainer-0';
    const errors = validateDocument(doc);
    expect(errors).toEqual(["PyTorchJob/korean-sft Master template (Kubernetes 1.28)/spec must NOT have additional properties 'hostnameOverride'"]);
  });

  test('includes the webhook rules', () => {
    const doc = validJob();
    doc.spec.pytorchReplicaSpecs.Master.replicas = 2;
    expect(validateDocument(doc)).toContainEqual('PyTorchJob/korean-sft: Master replicas must be 1');
    expect(() => expectValid([doc])).toThrow();
  });

  test('validates PyTorchJobs embedded in Argo resource templates', () => {
    const good = validJob();
    expect(embeddedManifests(workflowWith(good))).toEqual([good]);
    expect(validateDocument(workflowWith(good))).toEqual([]);

    const bad = validJob();
    masterSpec(bad).containers[0].name = 'trainer';
    masterSpec(bad).hostnameOverride = 'x';
    const errors = validateDocument(workflowWith(bad));
    expect(errors).toContainEqual("Workflow/korean-llm- embeds PyTorchJob/korean-sft: Master has no container named 'pytorch'");
    expect(errors).toContainEqual("Workflow/korean-llm- embeds PyTorchJob/korean-sft Master template (Kubernetes 1.28)/spec must NOT have additional properties 'hostnameOverride'");
  });

  test('rejects an unknown field in an Argo Workflow', () => {
    const wf = workflowWith(validJob());
    wf.spec.templates[0].resource.waitFor = 'done';
    expect(validateDocument(wf).join('\n')).toContain("additional properties 'waitFor'");
  });

  test('validates core kinds against Kubernetes 1.28 and kubernetes-models', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' } };
    expect(validateDocument(cm)).toEqual([]);
    const bad = { ...cm, data: { a: 1 }, extra: true };
    const errors = validateDocument(bad).join('\n');
    expect(errors).toContain("ConfigMap/x must NOT have additional properties 'extra'");
    expect(errors).toContain('ConfigMap/x/data/a must be string');
  });

  test('validates Kubeflow Trainer v2 TrainJobs and training runtimes', () => {
    const trainJob = {
      apiVersion: 'trainer.kubeflow.org/v1alpha1',
      kind: 'TrainJob',
      metadata: { name: 'korean-sft' },
      spec: { runtimeRef: { name: 'torch-distributed' }, trainer: { image: IMAGE, numNodes: 2 } },
    };
    expect(validateDocument(trainJob)).toEqual([]);
    expect(validateDocument({ ...trainJob, spec: { ...trainJob.spec, replicas: 2 } })).toContainEqual("TrainJob/korean-sft/spec must NOT have additional properties 'replicas'");
    expect(validateDocument({ ...trainJob, spec: {} })).toContainEqual("TrainJob/korean-sft/spec must have required property 'runtimeRef'");

    for (const kind of ['TrainingRuntime', 'ClusterTrainingRuntime']) {
      const runtime = {
        apiVersion: 'trainer.kubeflow.org/v1alpha1',
        kind,
        metadata: { name: 'torch-distributed' },
        spec: { mlPolicy: { numNodes: 1, torch: {} }, template: { spec: { replicatedJobs: [] } } },
      };
      expect(validateDocument(runtime)).toEqual([]);
      (runtime.spec as any).gang = true;
      expect(validateDocument(runtime)).toContainEqual(`${kind}/torch-distributed/spec must NOT have additional properties 'gang'`);
    }
  });

  test('rejects a kind it has no schema for', () => {
    expect(validateDocument({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toEqual(['Widget/w: no schema known for example.com/v1/Widget']);
  });
});

describe('the committed schemas', () => {
  test('exist for every kind validated, and none is left over', () => {
    const expected = [...CRD_KINDS.map(crdSchemaFile), K8S_DEFINITIONS_FILE].sort();
    for (const file of expected) expect(existsSync(join(SCHEMAS_DIR, file))).toBe(true);
    expect(readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.json')).sort()).toEqual(expected);
  });
});
