// Cold start: the time a fresh `node` process takes to require the package, against cdk8s and
// cdk8s-plus-28 alone. The package is required as compiled JavaScript (ts-node would measure the
// TypeScript compiler, not the package): projen's `lib/` when it has been built since the last
// change to src/, otherwise the sources transpiled here into node_modules/.cache (git-ignored).

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { median } from './stats';

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'cdk8s-korean-llm-bench');

/** The compiled entry point of the package, building it when `lib/` is absent. */
export function packageEntry(): { entry: string; how: string } {
  const lib = path.join(ROOT, 'lib', 'src', 'index.js');
  if (fs.existsSync(lib) && !newerThan(path.join(ROOT, 'src'), fs.statSync(lib).mtimeMs)) {
    return { entry: lib, how: 'lib/src/index.js (projen compile)' };
  }
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
    experimentalDecorators: true,
    alwaysStrict: true,
  };
  // src/index.ts and every relative import it reaches (src/ and the imports it uses)
  const queue = [path.join(ROOT, 'src', 'index.ts')];
  const seen = new Set<string>();
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = fs.readFileSync(file, 'utf8');
    const out = path.join(CACHE, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
    const stale = !fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(file).mtimeMs;
    if (stale) {
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, ts.transpileModule(source, { compilerOptions: options, fileName: file }).outputText);
    }
    for (const m of source.matchAll(/(?:from|import|require\()\s*'(\.{1,2}\/[^']+)'/g)) {
      queue.push(path.resolve(path.dirname(file), m[1]) + '.ts');
    }
  }
  return { entry: path.join(CACHE, 'src', 'index.js'), how: 'src/ transpiled into node_modules/.cache (lib/ absent or older than src/)' };
}

/** Whether a file under `dir` changed after `mtimeMs` (then lib/ is stale). */
function newerThan(dir: string, mtimeMs: number): boolean {
  return fs.readdirSync(dir, { withFileTypes: true }).some((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? newerThan(p, mtimeMs) : fs.statSync(p).mtimeMs > mtimeMs;
  });
}

function once(code: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`cold start of ${code} failed: ${r.stderr}`);
  return ms;
}

export interface ColdStart {
  readonly label: string;
  readonly medianMs: number;
}

/** Median wall time of `node -e "require(x)"` per target, interleaved, `runs` times each. */
export function coldStart(runs = 5): { results: ColdStart[]; how: string } {
  const { entry, how } = packageEntry();
  const targets: [string, string][] = [
    ['node (nothing required)', ''],
    ['require(\'cdk8s\')', 'require("cdk8s")'],
    ['require(\'cdk8s-plus-28\')', 'require("cdk8s-plus-28")'],
    ['require(\'cdk8s-korean-llm\')', `require(${JSON.stringify(entry)})`],
  ];
  for (const [, code] of targets) once(code); // warm the file system cache
  const times = targets.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) targets.forEach(([, code], i) => times[i].push(once(code)));
  return { results: targets.map(([label], i) => ({ label, medianMs: median(times[i]) })), how };
}
