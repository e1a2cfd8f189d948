import * as v from '../_validate';

/**
 * Options of a claim mount.
 */
export interface ClaimMountOptions {
  /**
   * Mount the claim read-only.
   * @default false
   */
  readonly readOnly?: boolean;
  /**
   * Mount only this sub-path of the volume.
   * @default - the whole volume
   */
  readonly subPath?: string;
}

/**
 * An existing PersistentVolumeClaim mounted at a path.
 *
 * Training data always lives on existing claims (ReadWriteMany): never a `volumeClaimTemplates`
 * entry, which would create a fresh, empty volume for every run (the seed's mistake).
 */
export class ClaimMount {
  /**
   * @param claimName the PersistentVolumeClaim's name
   * @param mountPath where the containers see it
   */
  public static of(claimName: string, mountPath: string, options: ClaimMountOptions = {}): ClaimMount {
    return new ClaimMount(claimName, mountPath, options.readOnly ?? false, options.subPath);
  }

  private constructor(
    /** The PersistentVolumeClaim's name. */
    public readonly claimName: string,
    /** Where the containers see it. */
    public readonly mountPath: string,
    /** Whether it is mounted read-only. */
    public readonly readOnly: boolean,
    /** The mounted sub-path, if any. */
    public readonly subPath?: string,
  ) {
    v.dns1123Subdomain('claimName', claimName);
    v.absolutePath('mountPath', mountPath);
    if (mountPath === '/') v.fail('mountPath', mountPath, 'a path below \'/\'');
    if (subPath !== undefined && (subPath.startsWith('/') || subPath.includes('..'))) {
      v.fail('subPath', subPath, 'a relative path without \'..\'');
    }
  }

  /** The same claim and path, mounted read-only or read-write. */
  public withReadOnly(readOnly: boolean): ClaimMount {
    return new ClaimMount(this.claimName, this.mountPath, readOnly, this.subPath);
  }

  /** The volume name used in pod specs: derived from the claim so two mounts never clash. */
  public get volumeName(): string {
    return `claim-${this.claimName}`.slice(0, 63).replace(/[^a-z0-9-]/g, '-').replace(/-+$/, '');
  }
}

/**
 * The two volumes every stage of a pipeline shares: the training data and the model output.
 *
 * `TrainingVolumes.fromClaims(...)` refers to claims that already exist; the `TrainingStorage`
 * construct creates them (NFS PersistentVolumes and claims, or claims on a storage class) and
 * implements this interface too.
 */
export interface ITrainingStorage {
  /** The training data, mounted read-only into training stages (default path `/data`). */
  readonly data: ClaimMount;
  /** Checkpoints, models and evaluation results (default path `/output`). */
  readonly output: ClaimMount;
}

/**
 * Names of existing claims for the data and output volumes.
 */
export interface TrainingVolumesProps {
  /**
   * The claim holding the training data.
   * @default 'llm-training-data-pvc' (the seed's)
   */
  readonly dataClaimName?: string;
  /**
   * The claim receiving checkpoints and models.
   * @default 'model-output-pvc' (the seed's)
   */
  readonly outputClaimName?: string;
  /**
   * Where the data volume is mounted.
   * @default '/data'
   */
  readonly dataMountPath?: string;
  /**
   * Where the output volume is mounted.
   * @default '/output'
   */
  readonly outputMountPath?: string;
}

/**
 * The data and output volumes as existing claims, referred to by name.
 */
export class TrainingVolumes implements ITrainingStorage {
  /** Existing claims (the seed's names by default). */
  public static fromClaims(props: TrainingVolumesProps = {}): TrainingVolumes {
    return new TrainingVolumes(
      ClaimMount.of(props.dataClaimName ?? 'llm-training-data-pvc', props.dataMountPath ?? '/data', { readOnly: true }),
      ClaimMount.of(props.outputClaimName ?? 'model-output-pvc', props.outputMountPath ?? '/output'),
    );
  }

  private constructor(public readonly data: ClaimMount, public readonly output: ClaimMount) {
    if (data.mountPath === output.mountPath) v.fail('outputMountPath', output.mountPath, 'different from the data mount path');
    checkDistinctVolumes(this);
  }
}

/**
 * @internal Two claims whose pod volume names coincide (`data.v2` and `data-v2` both become
 * `claim-data-v2`) cannot be mounted into one pod.
 */
export function checkDistinctVolumes(storage: ITrainingStorage): void {
  if (storage.data.claimName !== storage.output.claimName && storage.data.volumeName === storage.output.volumeName) {
    v.fail('outputClaimName', storage.output.claimName, `a claim whose pod volume name differs from the data claim's ('${storage.data.volumeName}'): rename one of the claims`);
  }
}
