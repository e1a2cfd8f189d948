// npm run bench: the library as users feel it, beside cdk8s-plus-28 in the same run.
//
// 1. `require()`: a fresh `node` process requiring the package, against one requiring cdk8s-plus-28
//    (and bare node), interleaved, median of BENCH_REQUIRE_RUNS (default 9).
// 2. Synthesis as `cdk8s synth` runs it: one whole process that builds the app and writes its YAML,
//    for 1, 2, 5, 10 and 20 pipelines (a chart per training namespace), each beside a cdk8s-plus-28
//    program writing the same number of documents in the same charts. Library and cdk8s-plus runs
//    alternate, BENCH_RUNS pairs (default 5); times are medians, the ratio is the median of the pairs'.
// 3. Scale: 100 pipelines in one chart, the same way (3 pairs).
//
// The programs are the TypeScript sources transpiled into .synth/ by scripts/synth.js, which is also
// what `npx cdk8s synth` runs; `require()` loads lib/ when it is up to date (see packageEntry).
// Nothing is timed inside a process: each figure is a process's wall time.

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// scripts/synth.js is plain JavaScript (cdk8s.yaml's app runs it with node)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { transpile } = require('../scripts/synth') as { transpile(entry: string): string };

const ROOT = path.resolve(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const REQUIRE_RUNS = Number(process.env.BENCH_REQUIRE_RUNS ?? 9);
const SIZES = (process.env.BENCH_SIZES ?? '1,2,5,10,20').split(',').map(Number);
const SCALE = Number(process.env.BENCH_SCALE ?? 100);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Runs a node process; returns its wall time (ms) and what it printed. */
function run(args: string[]): { ms: number; stdout: string } {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed:\n${r.stderr}`);
  return { ms, stdout: r.stdout };
}

/** The documents of each chart a synthesis wrote (by file name). */
function documentsPerChart(outdir: string): number[] {
  return fs.readdirSync(outdir).filter((f) => f.endsWith('.k8s.yaml')).sort().map((f) => {
    const text = fs.readFileSync(path.join(outdir, f), 'utf8');
    return text.split(/^---$/m).filter((d) => d.trim()).length;
  });
}

const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);

/**
 * What `require('cdk8s-korean-llm')` loads: projen's lib/ (jsii's output, as published) when it was
 * compiled after the last change to src/ and imports/, otherwise the sources transpiled into .synth/.
 */
function packageEntry(): string {
  const lib = path.join(ROOT, 'lib', 'src', 'index.js');
  const newest = (dir: string): number => Math.max(...fs.readdirSync(dir, { withFileTypes: true }).map((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs;
  }));
  if (fs.existsSync(lib) && fs.statSync(lib).mtimeMs > Math.max(newest(path.join(ROOT, 'src')), newest(path.join(ROOT, 'imports')))) {
    console.log('the package: lib/ (npx projen compile)');
    return lib;
  }
  console.log('the package: src/ transpiled into .synth/ (lib/ is absent or older than src/; run npx projen compile to measure what is published)');
  return transpile('src/index.ts');
}

function requireBench(entry: string): void {
  const targets: [string, string][] = [
    ['node', '0'],
    ['cdk8s-plus-28', 'require("cdk8s-plus-28")'],
    ['cdk8s-korean-llm', `require(${JSON.stringify(entry)})`],
  ];
  for (const [, code] of targets) run(['-e', code]); // file system cache
  const times = targets.map(() => [] as number[]);
  for (let i = 0; i < REQUIRE_RUNS; i++) targets.forEach(([, code], t) => times[t].push(run(['-e', code]).ms));
  const [node, plus, lib] = times.map(median);
  console.log(`require(), a fresh process each, median of ${REQUIRE_RUNS}:`);
  console.log(`  node alone ${ms(node)}; cdk8s-plus-28 ${ms(plus)} (+${ms(plus - node)}); cdk8s-korean-llm ${ms(lib)} (+${ms(lib - node)})`);
  console.log(`  ratio ${(lib / plus).toFixed(2)}x whole process, ${((lib - node) / (plus - node)).toFixed(2)}x above bare node\n`);
}

interface Row { label: string; docs: number; lib: number; plus: number; ratio: number; libRss: number; plusRss: number }

function synthBench(program: string, label: string, n: number, layout: string, pairs: number): Row {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'korean-llm-bench-'));
  const libOut = path.join(tmp, 'library');
  const plusOut = path.join(tmp, 'plus');
  const libArgs = [program, 'library', libOut, String(n), layout];
  run(libArgs); // warm-up, and the document counts
  const docs = documentsPerChart(libOut);
  const plusArgs = [program, 'plus', plusOut, docs.join(',')];
  run(plusArgs);
  const plusDocs = documentsPerChart(plusOut);
  const same = (a: number[], b: number[]) => [...a].sort().join() === [...b].sort().join();
  if (!same(plusDocs, docs)) throw new Error(`document counts differ: library ${docs}, cdk8s-plus-28 ${plusDocs}`);
  const lib: number[] = [];
  const plus: number[] = [];
  const ratios: number[] = [];
  const libRss: number[] = [];
  const plusRss: number[] = [];
  for (let i = 0; i < pairs; i++) {
    // which goes first alternates
    const a = i % 2 === 0 ? run(libArgs) : undefined;
    const p = run(plusArgs);
    const l = a ?? run(libArgs);
    lib.push(l.ms); plus.push(p.ms); ratios.push(l.ms / p.ms);
    libRss.push(Number(l.stdout) / 1024); plusRss.push(Number(p.stdout) / 1024);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  return {
    label,
    docs: docs.reduce((x, y) => x + y, 0),
    lib: median(lib),
    plus: median(plus),
    ratio: median(ratios),
    libRss: median(libRss),
    plusRss: median(plusRss),
  };
}

function printRows(rows: Row[]): void {
  console.log('| app | documents | cdk8s-korean-llm | cdk8s-plus-28 | ratio | peak RSS (library / plus) |');
  console.log('|---|--:|--:|--:|--:|--:|');
  for (const r of rows) {
    console.log(`| ${r.label} | ${r.docs} | ${ms(r.lib)} | ${ms(r.plus)} | ${r.ratio.toFixed(2)}x | ${r.libRss.toFixed(0)} / ${r.plusRss.toFixed(0)} MB |`);
  }
  console.log();
}

function main(): void {
  console.log(`node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  const program = transpile('bench/program.ts');
  requireBench(packageEntry());

  console.log(`cdk8s synth as a whole process (build the app, write the YAML), median of ${RUNS} pairs:`);
  printRows(SIZES.map((n) => synthBench(program, `${n} pipeline${n === 1 ? '' : 's'}, a chart each`, n, 'chart-per-pipeline', RUNS)));

  if (SCALE > 0) {
    console.log('Scale check, median of 3 pairs:');
    printRows([synthBench(program, `${SCALE} pipelines in one chart`, SCALE, 'one-chart', 3)]);
  }
}

main();
