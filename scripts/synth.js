// The app of `npx cdk8s synth` (cdk8s.yaml): transpiles examples/main.ts and every source it reaches
// (examples/, src/, imports/) into .synth/ as CommonJS, only the files that changed since the last
// run, then runs it. The benchmark (bench/synth-bench.ts) builds its programs the same way. Type checking is the compiler's and the tests' job (`npx projen compile`,
// `npm test`); here each file is transpiled on its own, which takes a fraction of a second.
'use strict';
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, '.synth');
const OPTIONS = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  experimentalDecorators: true,
  alwaysStrict: true,
  inlineSourceMap: true,
};

/** The TypeScript file a relative module specifier names (`../src` is `../src/index.ts`). */
function resolveTs(from, specifier) {
  const base = path.resolve(path.dirname(from), specifier);
  for (const file of [`${base}.ts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(file)) return file;
  }
  throw new Error(`${path.relative(ROOT, from)}: cannot find the TypeScript file of '${specifier}'`);
}

/**
 * Transpiles a TypeScript entry point of the repository and every source it reaches into .synth/
 * (the files changed since the last run only); returns the path of the entry point's JavaScript.
 */
function transpile(entry) {
  const queue = [path.resolve(ROOT, entry)];
  const seen = new Set();
  while (queue.length) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    const source = fs.readFileSync(file, 'utf8');
    const out = outputOf(file);
    if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(file).mtimeMs) {
      const { outputText } = ts.transpileModule(source, { compilerOptions: OPTIONS, fileName: file });
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, outputText);
    }
    for (const m of source.matchAll(/(?:\bfrom|^import|\brequire\()\s*'(\.{1,2}\/[^']*|\.{1,2})'/gm)) {
      queue.push(resolveTs(file, m[1]));
    }
  }
  return outputOf(path.resolve(ROOT, entry));
}

function outputOf(file) {
  return path.join(OUT, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
}

module.exports = { transpile };

if (require.main === module) {
  const main = transpile('examples/main.ts');
  process.setSourceMapsEnabled(true);
  require(main);
}
