// The rules of a pipeline's Role: least privilege, grown by the steps, no wildcards.

/** One rule of the Role. */
interface Rule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly verbs: string[];
  readonly resourceNames?: string[];
}

/** Role rules, listed in the order they were first needed. */
export class RoleRules {
  private readonly rules = new Map<string, Rule>();

  /** Adds a rule once (the first verbs given for a resource win). */
  public allow(verbs: string[], apiGroup: string, resource: string, resourceName?: string): void {
    const key = `${apiGroup}/${resource}/${resourceName ?? ''}`;
    if (this.rules.has(key)) return;
    const resourceNames = resourceName ? [resourceName] : undefined;
    this.rules.set(key, { apiGroups: [apiGroup], resources: [resource], verbs: [...verbs], resourceNames });
  }

  /** The rules as the Role lists them. */
  public toJson(): Rule[] {
    return [...this.rules.values()];
  }
}
