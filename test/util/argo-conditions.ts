// How Argo Workflows (3.7) decides that a `resource` template's object has ended, written from its
// executor (`workflow/executor/resource.go`: `WaitResource` polls the object; `matchConditions`
// checks it) so that tests can replay a controller's status writes against the conditions a
// pipeline emits:
//
// - each condition string is parsed as a Kubernetes label selector (`labels.ParseToRequirements`):
//   comma-separated requirements; a key is a gjson path into the object's JSON and must be a valid
//   label key (at most 63 characters, letters, digits, '-', '_', '.'), so list queries are impossible;
// - the object's "labels" are gjson lookups: a key is present when the path exists (`Has`), its value
//   is the path's string form (`Get`);
// - failure requirements are checked first and ORed: any that matches fails the step;
// - success requirements are ANDed: the step succeeds when all match; otherwise it keeps polling;
// - `>`/`<` match only when the key exists and both sides parse as base-10 int64;
//   `!=`/`notin` match a missing key; `=`/`==`/`in` need it present.

export type StepOutcome = 'succeeded' | 'failed' | 'running';

interface Requirement {
  readonly key: string;
  readonly op: '=' | '!=' | 'in' | 'notin' | 'exists' | '!' | '>' | '<';
  readonly values: string[];
}

const LABEL_KEY = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const INT64 = /^[+-]?[0-9]+$/;

/** Splits on commas outside parentheses (`a in (x,y),b` has two requirements). */
function splitRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

/** Parses a condition as `labels.ParseToRequirements` does; throws where Argo would error. */
export function parseRequirements(selector: string): Requirement[] {
  return splitRequirements(selector).map((text) => {
    let m: RegExpMatchArray | null;
    let req: Requirement;
    if ((m = text.match(/^!\s*(\S+)$/))) {
      req = { key: m[1], op: '!', values: [] };
    } else if ((m = text.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      req = { key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((x) => x.trim()) };
    } else if ((m = text.match(/^(\S+?)\s*(==|!=|=|>|<)\s*(\S*)$/))) {
      req = { key: m[1], op: (m[2] === '==' ? '=' : m[2]) as Requirement['op'], values: [m[3]] };
    } else if ((m = text.match(/^(\S+)$/))) {
      req = { key: m[1], op: 'exists', values: [] };
    } else {
      throw new Error(`cannot parse requirement '${text}'`);
    }
    if (req.key.length > 63 || !LABEL_KEY.test(req.key)) throw new Error(`invalid label key '${req.key}' in '${text}'`);
    for (const value of req.values) {
      if (req.op === '>' || req.op === '<') {
        if (!INT64.test(value)) throw new Error(`'${value}' in '${text}' is not an integer`);
      } else if (value.length > 63 || !LABEL_VALUE.test(value)) {
        throw new Error(`invalid label value '${value}' in '${text}'`);
      }
    }
    return req;
  });
}

/** The value at a gjson-style dotted path (array indices as numbers), or undefined. */
export function gjson(obj: any, path: string): any {
  let cur = obj;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? (/^[0-9]+$/.test(part) ? cur[Number(part)] : undefined) : cur[part];
  }
  return cur;
}

function matches(req: Requirement, obj: any): boolean {
  const raw = gjson(obj, req.key);
  const has = raw !== undefined && raw !== null;
  const value = has ? (typeof raw === 'object' ? JSON.stringify(raw) : String(raw)) : '';
  switch (req.op) {
    case '=': case 'in': return has && req.values.includes(value);
    case '!=': case 'notin': return !has || !req.values.includes(value);
    case 'exists': return has;
    case '!': return !has;
    case '>': case '<': {
      if (!has || !INT64.test(value)) return false;
      const [a, b] = [BigInt(value), BigInt(req.values[0])];
      return req.op === '>' ? a > b : a < b;
    }
  }
}

/** What Argo makes of one poll of the object: failure requirements ORed first, then success ANDed. */
export function argoOutcome(obj: any, successCondition: string, failureCondition: string): StepOutcome {
  if (parseRequirements(failureCondition).some((r) => matches(r, obj))) return 'failed';
  const success = parseRequirements(successCondition);
  return success.length > 0 && success.every((r) => matches(r, obj)) ? 'succeeded' : 'running';
}
