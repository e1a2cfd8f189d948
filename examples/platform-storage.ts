// The seed's section 1.3, fixed: the 10Ti training data on NFS and the 2Ti model output (which the
// seed references but never defines), each an NFS PersistentVolume with a claim bound to exactly it.
import { App, Chart, Size } from 'cdk8s';
import { BaseModel, SftStage, TrainingStorage, VolumeSource } from '../src';
import { IMAGE } from './standalone-stages';

export function platformStorage(app: App): Chart {
  const chart = new Chart(app, 'platform-storage', { namespace: 'llm-training', disableResourceNameHashes: true });
  const storage = new TrainingStorage(chart, 'storage', {
    source: VolumeSource.nfs('nfs-server.example.com', '/data/llm-training'),
    output: { source: VolumeSource.nfs('nfs-server.example.com', '/data/llm-output', { mountOptions: ['nfsvers=4.1', 'hard'] }) },
  });
  // stages mount the data read-only at /data and the output at /output
  new SftStage(chart, 'korean-llm-sft', {
    image: IMAGE,
    runId: 'ko-2026-11-28',
    storage,
    baseModel: BaseModel.huggingFace('unsloth/Qwen2.5-7B-bnb-4bit'),
  });
  return chart;
}

export function platformStorageClass(app: App): Chart {
  const chart = new Chart(app, 'platform-storage-class', { namespace: 'llm-training', disableResourceNameHashes: true });
  // claims on a ReadWriteMany storage class (CephFS, EFS, Filestore, an NFS provisioner, ...)
  new TrainingStorage(chart, 'storage', {
    source: VolumeSource.storageClass('cephfs'),
    data: { size: Size.tebibytes(20) },
    output: { source: VolumeSource.existingClaim('shared-model-output') },
  });
  return chart;
}
