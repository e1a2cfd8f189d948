import { ApiObject, Chart, JsonPatch, Size } from 'cdk8s';
import { Construct } from 'constructs';
import { quantity } from './_platform';
import * as v from '../_validate';
import { ClaimMount, ITrainingStorage } from './storage';

/**
 * Options of an NFS export.
 */
export interface NfsExportOptions {
  /**
   * Mount the export read-only at the PersistentVolume level.
   * @default false
   */
  readonly readOnly?: boolean;
  /**
   * NFS mount options of the PersistentVolume (`mountOptions`), e.g. `['nfsvers=4.1', 'hard']`.
   * @default - the kubelet's defaults
   */
  readonly mountOptions?: string[];
  /**
   * The storage class name written on both the PersistentVolume and its claim. It only has to be
   * equal on both (the claim names the volume too); no StorageClass object of that name is needed.
   * @default 'nfs-storage' (the seed's)
   */
  readonly storageClassName?: string;
}

/**
 * Where a training volume comes from.
 */
export class VolumeSource {
  /**
   * An NFS export: the construct emits a PersistentVolume (cluster-scoped) and a claim bound to
   * exactly that volume (`spec.volumeName` on the claim, `spec.claimRef` on the volume, the same
   * `storageClassName` on both), so no other claim can take it and the claim takes no other volume.
   * @param server the NFS server's host name or IP address
   * @param path the exported directory (absolute)
   */
  public static nfs(server: string, path: string, options: NfsExportOptions = {}): VolumeSource {
    v.nonEmpty('nfs server', server);
    if (!server || /\s|\//.test(server)) v.fail('nfs server', server, 'a host name or IP address');
    if (path === undefined || path === '') v.fail('nfs path', path, 'an absolute path of the export (for example \'/data/llm-training\')');
    v.absolutePath('nfs path', path);
    for (const o of options.mountOptions ?? []) v.nonEmpty('nfs mountOptions[]', o);
    const storageClassName = options.storageClassName ?? 'nfs-storage';
    v.dns1123Subdomain('nfs storageClassName', storageClassName);
    return new VolumeSource('nfs', storageClassName, { server, path, readOnly: options.readOnly ?? false, mountOptions: options.mountOptions ?? [] });
  }

  /**
   * A claim on a storage class that provisions ReadWriteMany volumes (for example an NFS
   * subdir provisioner, CephFS, Amazon EFS, Filestore).
   * @param storageClassName the StorageClass's name
   */
  public static storageClass(storageClassName: string): VolumeSource {
    v.dns1123Subdomain('storageClassName', storageClassName);
    return new VolumeSource('storageClass', storageClassName);
  }

  /**
   * A claim that already exists in the namespace: nothing is emitted, the volume is only mounted.
   * @param claimName the PersistentVolumeClaim's name
   */
  public static existingClaim(claimName: string): VolumeSource {
    v.dns1123Subdomain('existingClaim', claimName);
    return new VolumeSource('existingClaim', undefined, undefined, claimName);
  }

  private constructor(
    /** `nfs`, `storageClass` or `existingClaim`. */
    public readonly kind: string,
    /** The storage class written on the claim, if any. */
    public readonly storageClassName?: string,
    private readonly nfsExport?: { server: string; path: string; readOnly: boolean; mountOptions: string[] },
    /** The existing claim's name, for `existingClaim`. */
    public readonly claimName?: string,
  ) {}

  /** @internal */
  public _nfs(): { server: string; path: string; readOnly: boolean; mountOptions: string[] } | undefined {
    return this.nfsExport;
  }
}

/**
 * What a reclaimed NFS PersistentVolume does when its claim is deleted.
 */
export enum VolumeReclaimPolicy {
  /** Keep the data (the right choice for training data and models). */
  RETAIN = 'Retain',
  /** Delete the volume (and, for dynamically provisioned volumes, the data). */
  DELETE = 'Delete',
}

/**
 * Properties of one training volume.
 */
export interface TrainingVolumeProps {
  /** Where the volume comes from. */
  readonly source: VolumeSource;
  /**
   * The claim's name (ignored for `VolumeSource.existingClaim`, which names it).
   */
  readonly claimName: string;
  /**
   * The capacity requested (and, for NFS, declared on the PersistentVolume).
   * @default - required unless the source is an existing claim
   */
  readonly size?: Size;
  /**
   * The PersistentVolume's name (NFS only; PersistentVolumes are cluster-scoped, so it must be unique
   * in the cluster).
   * @default - '<namespace>-<claimName without -pvc>', e.g. 'llm-training-llm-training-data'
   */
  readonly volumeName?: string;
  /**
   * What happens to an NFS PersistentVolume's data when the claim is deleted.
   * @default VolumeReclaimPolicy.RETAIN
   */
  readonly reclaimPolicy?: VolumeReclaimPolicy;
}

const READ_WRITE_MANY = 'ReadWriteMany';
const FILE_SYSTEM = 'Filesystem';

/**
 * The objects of one volume: the claim and, for NFS, the PersistentVolume it binds to.
 */
export interface IVolumeObjects {
  /** The claim's name. */
  readonly claimName: string;
  /** The claim (a `v1` PersistentVolumeClaim API object), unless the source is an existing claim. */
  readonly claim?: ApiObject;
  /** The PersistentVolume (a `v1` PersistentVolume API object, cluster-scoped), for an NFS source. */
  readonly volume?: ApiObject;
}

/**
 * Creates a volume's claim (id `claimId`) and, for NFS, its PersistentVolume (id `volumeId`) as plain
 * API objects directly in `scope`: each emitted document is exactly one construct.
 */
function createVolumeObjects(scope: Construct, claimId: string, volumeId: string, props: TrainingVolumeProps): IVolumeObjects {
  const src = props.source;
  if (src.kind === 'existingClaim') return { claimName: src.claimName! };
  v.dns1123Subdomain('claimName', props.claimName);
  if (props.size === undefined) v.fail('size', 'undefined', 'a size greater than zero (for example Size.tebibytes(10))');
  v.positiveSize('size', props.size);
  const size = props.size;
  const nfs = src._nfs();
  let volumeName: string | undefined;
  let namespace: string | undefined;
  if (nfs) {
    namespace = Chart.of(scope).namespace ?? 'default';
    volumeName = props.volumeName ?? `${namespace}-${props.claimName.replace(/-pvc$/, '')}`.slice(0, 253).replace(/-+$/, '');
    v.dns1123Subdomain('volumeName', volumeName);
  }
  // the claim requests whole gibibytes (as cdk8s-plus does); for NFS it names its volume exactly
  const claim = new ApiObject(scope, claimId, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: props.claimName },
    spec: {
      accessModes: [READ_WRITE_MANY],
      resources: { requests: { storage: `${size.toGibibytes()}Gi` } },
      storageClassName: src.storageClassName,
      volumeMode: FILE_SYSTEM,
      ...(volumeName !== undefined ? { volumeName } : {}),
    },
  });
  if (!nfs) return { claimName: props.claimName, claim };
  // exact, two-sided binding: the claim names the volume and the volume reserves the claim
  const pv = new ApiObject(scope, volumeId, {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: volumeName },
    spec: {
      accessModes: [READ_WRITE_MANY],
      capacity: { storage: quantity(size) },
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name: props.claimName },
      ...(nfs.mountOptions.length ? { mountOptions: [...nfs.mountOptions] } : {}),
      nfs: { server: nfs.server, path: nfs.path, ...(nfs.readOnly ? { readOnly: true } : {}) },
      persistentVolumeReclaimPolicy: props.reclaimPolicy ?? VolumeReclaimPolicy.RETAIN,
      storageClassName: src.storageClassName,
      volumeMode: FILE_SYSTEM,
    },
  });
  // PersistentVolumes are cluster-scoped: no namespace in their metadata
  if (pv.metadata.namespace !== undefined) pv.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  return { claimName: props.claimName, claim, volume: pv };
}

/**
 * One ReadWriteMany volume: a claim (and, for NFS, the PersistentVolume it binds to), or a
 * reference to an existing claim. Its primary object (child `Resource`) is the claim; the
 * PersistentVolume is child `Volume`.
 */
export class TrainingVolume extends Construct implements IVolumeObjects {
  /** The claim's name. */
  public readonly claimName: string;
  /**
   * The claim (a `v1` PersistentVolumeClaim API object, child `Resource`), unless the source is an
   * existing claim. Patch or label it like any `ApiObject`.
   */
  public readonly claim?: ApiObject;
  /**
   * The PersistentVolume (a `v1` PersistentVolume API object, child `Volume`, cluster-scoped), for
   * an NFS source.
   */
  public readonly volume?: ApiObject;

  public constructor(scope: Construct, id: string, props: TrainingVolumeProps) {
    super(scope, id);
    const objects = createVolumeObjects(this, 'Resource', 'Volume', props);
    this.claimName = objects.claimName;
    this.claim = objects.claim;
    this.volume = objects.volume;
  }
}

/**
 * Options of the training-data volume.
 */
export interface DataVolumeOptions {
  /**
   * Where it comes from.
   * @default - the `source` of the storage
   */
  readonly source?: VolumeSource;
  /**
   * The claim's name.
   * @default 'llm-training-data-pvc' (the seed's)
   */
  readonly claimName?: string;
  /**
   * The capacity.
   * @default Size.tebibytes(10) (the seed's)
   */
  readonly size?: Size;
  /**
   * Where training stages mount it (read-only).
   * @default '/data'
   */
  readonly mountPath?: string;
  /**
   * The PersistentVolume's name (NFS only).
   * @default - '<namespace>-llm-training-data'
   */
  readonly volumeName?: string;
}

/**
 * Options of the model-output volume.
 */
export interface OutputVolumeOptions {
  /**
   * Where it comes from.
   * @default - the `source` of the storage
   */
  readonly source?: VolumeSource;
  /**
   * The claim's name.
   * @default 'model-output-pvc' (the seed's)
   */
  readonly claimName?: string;
  /**
   * The capacity.
   * @default Size.tebibytes(2)
   */
  readonly size?: Size;
  /**
   * Where stages and the inference server mount it.
   * @default '/output'
   */
  readonly mountPath?: string;
  /**
   * The PersistentVolume's name (NFS only).
   * @default - '<namespace>-model-output'
   */
  readonly volumeName?: string;
}

/**
 * Properties of the training storage.
 */
export interface TrainingStorageProps {
  /**
   * Where both volumes come from, unless `data.source` / `output.source` say otherwise. With
   * `VolumeSource.nfs(server, path)` the data volume exports `path` and the output volume needs
   * its own `output.source`.
   */
  readonly source: VolumeSource;
  /**
   * The training data (the seed's 10Ti `llm-training-data-pvc` at `/data`).
   * @default - the seed's
   */
  readonly data?: DataVolumeOptions;
  /**
   * Checkpoints, models and evaluation results (`model-output-pvc` at `/output`, which the seed
   * uses everywhere and never defines).
   * @default - 2Ti `model-output-pvc`
   */
  readonly output?: OutputVolumeOptions;
  /**
   * What happens to the NFS PersistentVolumes when their claims are deleted.
   * @default VolumeReclaimPolicy.RETAIN
   */
  readonly reclaimPolicy?: VolumeReclaimPolicy;
}

/**
 * The two ReadWriteMany volumes every stage shares: the training data (mounted read-only into
 * training) and the model output. Pass it as the `storage` prop of stages, pipelines and the
 * inference server.
 *
 * The seed puts the training data in a workflow `volumeClaimTemplates` entry (a new, empty 10Ti
 * volume per run) and references `model-output-pvc` without defining it; this construct defines
 * both once, as claims that outlive every run.
 */
export class TrainingStorage extends Construct implements ITrainingStorage {
  /** The training data mount (read-only). */
  public readonly data: ClaimMount;
  /** The model output mount (read-write). */
  public readonly output: ClaimMount;
  /** The data volume's objects (children `DataClaim` and `DataVolume`). */
  public readonly dataVolume: IVolumeObjects;
  /** The output volume's objects (children `OutputClaim` and `OutputVolume`). */
  public readonly outputVolume: IVolumeObjects;

  public constructor(scope: Construct, id: string, props: TrainingStorageProps) {
    super(scope, id);
    const d = props.data ?? {};
    const o = props.output ?? {};
    const dataSource = d.source ?? props.source;
    const outputSource = o.source ?? props.source;
    const dn = dataSource._nfs();
    const on = outputSource._nfs();
    if (dn && on && dn.server === on.server && dn.path === on.path) {
      v.fail('output.source', `nfs ${on.server}:${on.path}`, 'an NFS export other than the data volume\'s (set output.source)');
    }
    // the claims and volumes are created directly here, one construct per document
    this.dataVolume = createVolumeObjects(this, 'DataClaim', 'DataVolume', {
      source: dataSource,
      claimName: d.claimName ?? 'llm-training-data-pvc',
      size: d.size ?? Size.tebibytes(10),
      volumeName: d.volumeName,
      reclaimPolicy: props.reclaimPolicy,
    });
    this.outputVolume = createVolumeObjects(this, 'OutputClaim', 'OutputVolume', {
      source: outputSource,
      claimName: o.claimName ?? 'model-output-pvc',
      size: o.size ?? Size.tebibytes(2),
      volumeName: o.volumeName,
      reclaimPolicy: props.reclaimPolicy,
    });
    if (this.dataVolume.claimName === this.outputVolume.claimName) {
      v.fail('output.claimName', this.outputVolume.claimName, 'a claim other than the data volume\'s');
    }
    this.data = ClaimMount.of(this.dataVolume.claimName, d.mountPath ?? '/data', { readOnly: true });
    this.output = ClaimMount.of(this.outputVolume.claimName, o.mountPath ?? '/output');
    if (this.data.mountPath === this.output.mountPath) v.fail('output.mountPath', this.output.mountPath, 'different from the data mount path');
  }
}
