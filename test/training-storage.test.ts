import { Size, Testing } from 'cdk8s';
import { BaseModel, SftStage, TrainingStorage, VolumeReclaimPolicy, VolumeSource } from '../src';
import { find, nsChart } from './util/platform';
import { expectValid } from './util/schema';

const NFS = 'nfs-server.example.com';

function nfsStorage(chart = nsChart()) {
  const storage = new TrainingStorage(chart, 'storage', {
    source: VolumeSource.nfs(NFS, '/data/llm-training'),
    output: { source: VolumeSource.nfs(NFS, '/data/llm-output') },
  });
  return { chart, storage, docs: Testing.synth(chart) };
}

describe('TrainingStorage', () => {
  test('NFS: the seed\'s claims, each bound exactly to its own PersistentVolume', () => {
    const { docs, storage } = nfsStorage();
    expectValid(docs);
    expect(docs.map((d) => d.kind).sort()).toEqual(['PersistentVolume', 'PersistentVolume', 'PersistentVolumeClaim', 'PersistentVolumeClaim']);
    const claim = find(docs, 'PersistentVolumeClaim', 'llm-training-data-pvc');
    const pv = find(docs, 'PersistentVolume', 'llm-training-llm-training-data');
    expect(claim.metadata.namespace).toBe('llm-training');
    expect(pv.metadata.namespace).toBeUndefined();
    expect(claim.spec.accessModes).toEqual(['ReadWriteMany']);
    expect(claim.spec.volumeName).toBe(pv.metadata.name);
    expect(claim.spec.storageClassName).toBe('nfs-storage');
    expect(pv.spec.storageClassName).toBe('nfs-storage');
    expect(pv.spec.claimRef).toEqual({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'llm-training', name: 'llm-training-data-pvc' });
    expect(pv.spec.nfs).toEqual({ server: NFS, path: '/data/llm-training' });
    expect(pv.spec.capacity.storage).toBe('10Ti');
    expect(pv.spec.persistentVolumeReclaimPolicy).toBe('Retain');
    const out = find(docs, 'PersistentVolume', 'llm-training-model-output');
    expect(out.spec.capacity.storage).toBe('2Ti');
    expect(out.spec.claimRef.name).toBe('model-output-pvc');
    expect(find(docs, 'PersistentVolumeClaim', 'model-output-pvc').spec.volumeName).toBe('llm-training-model-output');
    expect(storage.data.claimName).toBe('llm-training-data-pvc');
    expect(storage.data.mountPath).toBe('/data');
    expect(storage.data.readOnly).toBe(true);
    expect(storage.output.mountPath).toBe('/output');
    expect(storage.output.readOnly).toBe(false);
  });

  test('stages mount the claims: data read-only, output read-write', () => {
    const { chart, storage } = nfsStorage();
    new SftStage(chart, 'sft', { image: 'r.example.com/t:1.0.0', runId: 'r1', storage, baseModel: BaseModel.huggingFace('org/model') });
    const docs = Testing.synth(chart);
    expectValid(docs);
    const pod = find(docs, 'PyTorchJob').spec.pytorchReplicaSpecs.Master.template.spec;
    const claims = pod.volumes.filter((v: any) => v.persistentVolumeClaim).map((v: any) => v.persistentVolumeClaim);
    expect(claims).toEqual([{ claimName: 'llm-training-data-pvc', readOnly: true }, { claimName: 'model-output-pvc' }]);
    const mounts = pod.containers[0].volumeMounts.filter((m: any) => m.mountPath === '/data' || m.mountPath === '/output');
    expect(mounts).toEqual([
      { name: 'claim-llm-training-data-pvc', mountPath: '/data', readOnly: true },
      { name: 'claim-model-output-pvc', mountPath: '/output' },
    ]);
  });

  test('storage class and existing claim', () => {
    const chart = nsChart();
    const storage = new TrainingStorage(chart, 'storage', {
      source: VolumeSource.storageClass('cephfs'),
      data: { size: Size.tebibytes(20), mountPath: '/datasets' },
      output: { source: VolumeSource.existingClaim('shared-models') },
      reclaimPolicy: VolumeReclaimPolicy.DELETE,
    });
    const docs = Testing.synth(chart);
    expectValid(docs);
    expect(docs).toHaveLength(1);
    expect(docs[0].spec).toMatchObject({ storageClassName: 'cephfs', accessModes: ['ReadWriteMany'], resources: { requests: { storage: '20480Gi' } } });
    expect(docs[0].spec.volumeName).toBeUndefined();
    expect(storage.output.claimName).toBe('shared-models');
    expect(storage.data.mountPath).toBe('/datasets');
  });

  test('a chart without namespace binds to the default namespace', () => {
    const chart = Testing.chart();
    new TrainingStorage(chart, 's', { source: VolumeSource.nfs(NFS, '/a'), output: { source: VolumeSource.nfs(NFS, '/b') } });
    const docs = Testing.synth(chart);
    expect(find(docs, 'PersistentVolume', 'default-llm-training-data').spec.claimRef.namespace).toBe('default');
  });

  test('fails when an NFS server has no path', () => {
    expect(() => VolumeSource.nfs(NFS, '')).toThrow("'nfs path' must be an absolute path of the export (for example '/data/llm-training'), got ''");
    expect(() => VolumeSource.nfs(NFS, 'data')).toThrow("'nfs path' must be an absolute path without '..' or white space, got 'data'");
  });

  test('fails when the NFS server is not a host', () => {
    expect(() => VolumeSource.nfs('nfs://server/x', '/a')).toThrow("'nfs server' must be a host name or IP address, got 'nfs://server/x'");
  });

  test('fails when a size is zero', () => {
    expect(() => new TrainingStorage(nsChart(), 's', { source: VolumeSource.storageClass('x'), data: { size: Size.gibibytes(0) } }))
      .toThrow("'size' must be a size greater than zero, got 0Gi");
  });

  test('fails when both volumes use the same NFS export or claim', () => {
    expect(() => new TrainingStorage(nsChart(), 's', { source: VolumeSource.nfs(NFS, '/a') }))
      .toThrow("'output.source' must be an NFS export other than the data volume's (set output.source), got 'nfs nfs-server.example.com:/a'");
    expect(() => new TrainingStorage(nsChart(), 's', { source: VolumeSource.storageClass('x'), output: { claimName: 'llm-training-data-pvc' } }))
      .toThrow("'output.claimName' must be a claim other than the data volume's, got 'llm-training-data-pvc'");
  });

  test('fails when the mount paths clash or a name is invalid', () => {
    expect(() => new TrainingStorage(nsChart(), 's', { source: VolumeSource.storageClass('x'), output: { mountPath: '/data' } }))
      .toThrow("'output.mountPath' must be different from the data mount path, got '/data'");
    expect(() => VolumeSource.storageClass('Fast_NFS')).toThrow("'storageClassName' must be a DNS-1123 subdomain");
  });
});
