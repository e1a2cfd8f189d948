// The synthesized YAML must load with YAML 1.1 parsers too (PyYAML's `yaml.safe_load`, used by many
// deploy scripts and CI checks). cdk8s writes YAML 1.1 and quotes booleans such as `yes`, but a
// plain `=` is YAML 1.1's `value` tag (tag:yaml.org,2002:value), which PyYAML's loaders cannot
// construct: a file with `matchType: =` fails to load.
import { App, Testing, Yaml } from 'cdk8s';
import { EXAMPLES } from '../examples';

/**
 * Plain scalars a YAML 1.1 loader resolves to a type it cannot construct: a value that is exactly
 * `=` (after `key: `, after `- `, or alone on a line), unquoted. Block scalars (`|`) are not plain:
 * their lines are skipped.
 */
function yaml11Hazards(text: string): string[] {
  const out: string[] = [];
  let blockIndent = -1;
  text.split('\n').forEach((line, i) => {
    const indent = line.length - line.trimStart().length;
    if (blockIndent >= 0 && (line.trim() === '' || indent > blockIndent)) return;
    blockIndent = /(:|-)\s+[|>][-+0-9]*\s*$/.test(line) ? indent : -1;
    if (/^\s*(?:-\s+)*(?:[^\s'"#][^:#]*:\s+)?=\s*$/.test(line)) out.push(`line ${i + 1}: ${line.trim()}`);
  });
  return out;
}

describe('YAML 1.1 compatibility', () => {
  test('the check finds a plain = (as PyYAML would fail on it)', () => {
    expect(yaml11Hazards(Yaml.stringify({ matchType: '=' }))).toEqual(['line 1: matchType: =']);
    expect(yaml11Hazards(Yaml.stringify({ list: ['=', 'x'], nested: [{ op: '=' }] }))).toHaveLength(2);
    expect(yaml11Hazards(Yaml.stringify({ matchType: '=~', value: 'a=b', quoted: '= ', script: 'a\n=\nb' }))).toEqual([]);
  });

  for (const [name, build] of Object.entries(EXAMPLES)) {
    test(`${name}: every document loads with a YAML 1.1 parser`, () => {
      const chart = build(Testing.app() as App);
      const text = Yaml.stringify(...Testing.synth(chart));
      expect(yaml11Hazards(text)).toEqual([]);
    });
  }
});
