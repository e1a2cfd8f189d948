import * as v from './_validate';

/**
 * A key of a Kubernetes Secret, passed to containers by `secretKeyRef`, never as a literal value.
 */
export class SecretKey {
  /**
   * @param secretName the Secret's name
   * @param key the key inside the Secret
   */
  public static of(secretName: string, key: string): SecretKey {
    return new SecretKey(secretName, key, false);
  }

  /** The seed's Weights & Biases key: Secret `wandb-secret`, key `api-key`. */
  public static wandbDefault(): SecretKey {
    return SecretKey.of('wandb-secret', 'api-key');
  }

  private constructor(
    /** The Secret's name. */
    public readonly secretName: string,
    /** The key inside the Secret. */
    public readonly key: string,
    /** Whether the pod starts when the Secret or key is missing. */
    public readonly optional: boolean,
  ) {
    v.dns1123Subdomain('secretName', secretName);
    if (!/^[-._a-zA-Z0-9]+$/.test(key)) v.fail('key', key, 'a Secret key (letters, digits, \'-\', \'_\' or \'.\')');
  }

  /** The same key, with the pod starting even when the Secret is absent. */
  public asOptional(): SecretKey {
    return new SecretKey(this.secretName, this.key, true);
  }

  /** @internal */
  public _envSource(): any {
    return { secretKeyRef: { name: this.secretName, key: this.key, ...(this.optional ? { optional: true } : {}) } };
  }
}
