// Private helpers for synth-time validation. Every error names the prop, the value received and
// what is allowed, in lower case without a trailing period.

import { Duration, Size, SizeRoundingBehavior } from 'cdk8s';

/** A DNS-1035 label: what Kubernetes (and the PyTorchJob webhook) accept as a job name. */
const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 label: names of most objects, label values are looser. */
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 subdomain: dot-separated labels (names of Secrets, PersistentVolumeClaims, StorageClasses). */
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** The name part of a label key (or a qualified name). */
const LABEL_KEY_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** An environment variable name as the trainer contract and POSIX shells expect it. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A Kubernetes label value. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value instanceof Size) return value.asString();
  if (value instanceof Duration) return value.toHumanString();
  return String(value);
}

export function fail(prop: string, value: unknown, allowed: string): never {
  throw new Error(`'${prop}' must be ${allowed}, got ${show(value)}`);
}

export function positiveInt(prop: string, value: number | undefined, max?: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 1 || (max !== undefined && value > max)) {
    fail(prop, value, max === undefined ? 'a positive integer' : `an integer from 1 to ${max}`);
  }
}

export function nonNegativeInt(prop: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 0) fail(prop, value, 'a non-negative integer');
}

/** A finite number in [min, max] (or (min, max] when `exclusiveMin`). */
export function numberIn(prop: string, value: number | undefined, min: number, max: number, exclusiveMin = false): void {
  if (value === undefined) return;
  const low = exclusiveMin ? value <= min : value < min;
  if (!Number.isFinite(value) || low || value > max) {
    fail(prop, value, `a number ${exclusiveMin ? 'greater than' : 'from'} ${min} ${exclusiveMin ? 'and at most' : 'to'} ${max}`);
  }
}

export function dns1035(prop: string, value: string | undefined, maxLength = 63): void {
  if (value === undefined) return;
  if (value.length > maxLength || !DNS_1035.test(value)) {
    fail(prop, value, `a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, ending with a letter or digit, at most ${maxLength} characters)`);
  }
}

export function dns1123Label(prop: string, value: string | undefined, maxLength = 63): void {
  if (value === undefined) return;
  if (value.length > maxLength || !DNS_1123_LABEL.test(value)) {
    fail(prop, value, `a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most ${maxLength} characters)`);
  }
}

/**
 * A DNS-1123 subdomain, what Kubernetes accepts as the name of a Secret, a PersistentVolumeClaim or a
 * StorageClass (`hf.token`, `data.v2`): apimachinery's `IsDNS1123Subdomain`.
 */
export function dns1123Subdomain(prop: string, value: string | undefined): void {
  if (value === undefined) return;
  if (value.length > 253 || !DNS_1123_SUBDOMAIN.test(value)) {
    fail(prop, value, 'a DNS-1123 subdomain (lower-case letters, digits, \'-\' and \'.\', each \'.\'-separated part starting and ending with a letter or digit, at most 253 characters)');
  }
}

/** A namespace name: a DNS-1123 label (apimachinery's `ValidateNamespaceName`). */
export function namespace(prop: string, value: string | undefined): void {
  if (value === undefined) return;
  if (value.length > 63 || !DNS_1123_LABEL.test(value)) {
    fail(prop, value, 'a namespace name: a DNS-1123 label (lower-case letters, digits and \'-\', starting and ending with a letter or digit, at most 63 characters)');
  }
}

/**
 * A label key: an optional DNS-1123 subdomain prefix and '/', then a name of at most 63 letters,
 * digits, '-', '_' or '.', starting and ending with a letter or digit (apimachinery's `IsQualifiedName`).
 */
export function labelKey(prop: string, key: string): void {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefixOk = prefix === undefined || (prefix.length <= 253 && DNS_1123_SUBDOMAIN.test(prefix));
  if (!prefixOk || name.length > 63 || !LABEL_KEY_NAME.test(name)) {
    fail(prop, key, 'a label key (an optional DNS-1123 subdomain prefix and \'/\', then at most 63 letters, digits, \'-\', \'_\' or \'.\', starting and ending with a letter or digit; no spaces)');
  }
}

export function labelValue(prop: string, value: string | undefined): void {
  if (value === undefined) return;
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    fail(prop, value, 'a label value (at most 63 letters, digits, \'-\', \'_\' or \'.\', starting and ending with a letter or digit)');
  }
}

export function envName(prop: string, value: string): void {
  if (!ENV_NAME.test(value)) fail(prop, value, 'an environment variable name (letters, digits and \'_\', not starting with a digit)');
}

export function absolutePath(prop: string, value: string | undefined): void {
  if (value === undefined) return;
  if (!value.startsWith('/') || value.includes('..') || /\s/.test(value)) {
    fail(prop, value, 'an absolute path without \'..\' or white space');
  }
}

export function nonEmpty(prop: string, value: string | undefined): void {
  if (value === undefined) return;
  if (value.trim() === '') fail(prop, value, 'a non-empty string');
}

/**
 * A container image pinned to a tag or a digest: `registry/name:1.2.3` or `name@sha256:...`.
 * Untagged images and `:latest` resolve to whatever was pushed last, so two runs of one pipeline
 * could train with different code.
 */
export function pinnedImage(prop: string, image: string): void {
  const allowed = 'an image pinned to a tag or digest (for example \'registry.example.com/unsloth-korean:1.0.0\'), not untagged or \':latest\'';
  if (!image || /\s/.test(image)) fail(prop, image, allowed);
  if (image.includes('@')) {
    if (!/@sha256:[a-f0-9]{64}$/.test(image)) fail(prop, image, allowed);
    return;
  }
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  if (colon < 0) fail(prop, image, allowed);
  const tag = lastSegment.slice(colon + 1);
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag) || tag === 'latest') fail(prop, image, allowed);
}

export function positiveSize(prop: string, value: Size | undefined): void {
  if (value === undefined) return;
  if (!(mebibytes(value) > 0)) fail(prop, value, 'a size greater than zero');
}

export function positiveDuration(prop: string, value: Duration | undefined): void {
  if (value === undefined) return;
  if (!(value.toSeconds({ integral: false }) >= 1)) fail(prop, value, 'a duration of at least one second');
}

export function mebibytes(size: Size): number {
  return size.toMebibytes({ rounding: SizeRoundingBehavior.NONE });
}

export function seconds(duration: Duration): number {
  return Math.ceil(duration.toSeconds({ integral: false }));
}

/** Throws when a key occurs twice: duplicates are never renamed silently. */
export function uniqueKeys(prop: string, keys: string[]): void {
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) fail(prop, key, 'unique: it appears more than once');
    seen.add(key);
  }
}
