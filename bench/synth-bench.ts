// npm run bench: synthesis speed and scale of KoreanLlmPipeline against the cdk8s floor.
//
//   npm run bench                                every size (1, 10, 100, 1000), both layouts, cold start
//   BENCH_SIZES=1,10,100 BENCH_LAYOUTS=a npm run bench   a subset (BENCH_RUNS=n fixes the repetitions)
//   BENCH_CPU_PROF=1 npm run bench               also write a .cpuprofile per configuration (os tmpdir)
//   BENCH_COLD_START=0 npm run bench             skip the cold start
// (the same as flags --sizes=..., --layouts=..., --runs=..., --cpu-prof, --no-cold-start when the
// script is run with ts-node directly; projen does not pass arguments on to the task)
//
// Each configuration (layout x size) runs in child processes of its own, so that its peak RSS is
// its own. In the child the library run (build the constructs, `app.synthYaml()`) and the floor run
// (the same documents as bare ApiObjects, same chart layout, `app.synthYaml()`) alternate after a
// warm-up, in pairs (one of each, back to back, which goes first alternating), as many pairs as fit
// in about 30 s (4 to 21), in two processes per configuration (four of at least three pairs at 1000
// pipelines, where a pair takes 10-40 s: see `sampling`). Times are medians of the pooled
// runs; the ratio is the median of the pairs' ratios, which a slow phase of a shared machine (it
// lasts seconds) changes less than it changes the times.

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { coldStart } from './cold-start';
import { median } from './stats';
import { buildFloor, captureDocs, CapturedDocs, Layout, LAYOUT_NAMES, runFloor, runLibrary } from './workload';

interface Result {
  readonly layout: Layout;
  readonly n: number;
  readonly docs: number;
  readonly yamlBytes: number;
  readonly library: number[];
  readonly floor: number[];
  /** library / floor of each pair of runs (one of each, back to back). */
  readonly ratios: number[];
  readonly libraryCpu: number[];
  readonly floorCpu: number[];
  readonly maxRssMb: number;
  readonly floorCheck: string;
  /** The median pair ratio of each process (pooled results only). */
  readonly processRatios?: number[];
}

const DEFAULT_SIZES = [1, 10, 100, 1000];

/**
 * Each configuration runs in child processes (the JIT compiles each process's code its own way, and
 * the heap is laid out its own way: a configuration's figures differ more between processes than
 * between runs of one process), each with as many paired runs as fit in about 30 s, at least
 * `minRuns` and at most 21; the pairs of all its processes are pooled. Up to 100 pipelines a pair
 * takes under a second: two processes of 21 pairs. At 1000 a pair takes 10-40 s, so each process
 * gets only its minimum: there the estimate is spread over four processes of three pairs (twelve
 * pairs) rather than two of four, since the processes, not the pairs, are where it varies.
 */
function sampling(n: number): { processes: number; minRuns: number } {
  return n >= 1000 ? { processes: 4, minRuns: 3 } : { processes: 2, minRuns: 4 };
}
const TIME_BUDGET_MS = 30_000;
const MAX_RUNS = 21;

/**
 * Ends the current job, as a `cdk8s synth` program ends after its one synthesis: the library lets go
 * of the constructs it listed for placement (src/_placement.ts) in a microtask, so without this the
 * runs of one process, all in one synchronous job, would keep the previous library app alive
 * through the next runs, the floor's included.
 */
function endOfJob(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Wall time and CPU time (all threads of the process: the GC's helpers too) of one run, ms.
 * No forced GC between runs: a full `gc()` before each run added some 20-40 ms to the next run
 * (cold caches and a shrunken heap), which swamped the sizes 1 and 10; garbage left by one run is
 * collected in the runs that follow, which the medians absorb.
 */
function timed(f: () => unknown): [number, number] {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  f();
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return [wall, (used.user + used.system) / 1000];
}

/** Documents without null values (the floor's ApiObjects drop nulls, as every cdk8s object does). */
function normalized(docs: any[]): string {
  return JSON.stringify(docs, (_k, value) => (value === null ? undefined : value));
}

// ---------------------------------------------------------------------------------------------
// child: one configuration

async function child(layout: Layout, n: number, fixedRuns: number | undefined): Promise<Result> {
  const { minRuns } = sampling(n);
  // the first library synthesis is the library's warm-up too
  const { docs, yaml } = captureDocs(layout, n);
  const floorApp = buildFloor(docs);
  const floorYaml = floorApp.synthYaml();
  let floorCheck: string;
  if (floorYaml === yaml) {
    floorCheck = 'byte-identical YAML';
  } else {
    const floorDocs = floorApp.charts.map((c) => c.toJson());
    floorCheck = normalized(floorDocs) === normalized(docs)
      ? 'identical documents except null values, which a bare ApiObject drops'
      : 'DIFFERENT documents';
  }
  const captured: CapturedDocs = docs;
  await endOfJob();
  // warm-up: enough iterations for the small sizes to reach optimized code
  const warmups = n >= 1000 ? 0 : Math.max(1, Math.ceil(20 / n));
  for (let i = 0; i < warmups; i++) {
    runLibrary(layout, n);
    await endOfJob();
    runFloor(captured);
    await endOfJob();
  }
  const library: [number, number][] = [];
  const floor: [number, number][] = [];
  const started = Date.now();
  for (let i = 0; ; i++) {
    const done = fixedRuns !== undefined
      ? i >= fixedRuns
      : i >= MAX_RUNS || (i >= minRuns && Date.now() - started > TIME_BUDGET_MS);
    if (done) break;
    // alternate which goes first, so that drift on a shared machine hits both alike
    if (i % 2 === 0) {
      library.push(timed(() => runLibrary(layout, n)));
      await endOfJob();
      floor.push(timed(() => runFloor(captured)));
    } else {
      floor.push(timed(() => runFloor(captured)));
      await endOfJob();
      library.push(timed(() => runLibrary(layout, n)));
    }
    await endOfJob();
  }
  return {
    layout,
    n,
    docs: docs.reduce((s, c) => s + c.length, 0),
    yamlBytes: Buffer.byteLength(yaml),
    library: library.map((t) => t[0]),
    floor: floor.map((t) => t[0]),
    ratios: library.map((t, i) => t[0] / floor[i][0]),
    libraryCpu: library.map((t) => t[1]),
    floorCpu: floor.map((t) => t[1]),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    floorCheck,
  };
}

// ---------------------------------------------------------------------------------------------
// parent

function runChild(layout: Layout, n: number, runs: number | undefined, cpuProf: string | undefined, index: number): Result {
  const execArgv = ['--max-old-space-size=8192', '-r', 'ts-node/register/transpile-only'];
  if (cpuProf) execArgv.push('--cpu-prof', `--cpu-prof-dir=${cpuProf}`, `--cpu-prof-name=synth-${layout}-${n}-${index}.cpuprofile`);
  const r = spawnSync(process.execPath, [...execArgv, __filename, '--child', layout, String(n), String(runs ?? 0)], {
    env: { ...process.env, TS_NODE_PROJECT: path.join(__dirname, '..', 'test', 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`configuration ${layout}/${n} failed (exit ${r.status}, signal ${r.signal})`);
  const last = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(last);
}

/** The runs of several processes of one configuration, as one result. */
function pooled(rs: Result[]): Result {
  const all = (k: 'library' | 'floor' | 'ratios' | 'libraryCpu' | 'floorCpu') => rs.flatMap((r) => r[k]);
  return {
    ...rs[0],
    library: all('library'),
    floor: all('floor'),
    ratios: all('ratios'),
    libraryCpu: all('libraryCpu'),
    floorCpu: all('floorCpu'),
    maxRssMb: Math.max(...rs.map((r) => r.maxRssMb)),
    floorCheck: [...new Set(rs.map((r) => r.floorCheck))].join('; '),
    processRatios: rs.map((r) => median(r.ratios)),
  };
}

const s = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

function report(r: Result, previous: Result | undefined): void {
  const lib = median(r.library);
  const flo = median(r.floor);
  const procs = r.processRatios?.length ?? 1;
  console.log(`layout (${r.layout}) ${LAYOUT_NAMES[r.layout]}, ${r.n} pipeline${r.n > 1 ? 's' : ''}: ${r.docs} documents, ${(r.yamlBytes / 1e6).toFixed(2)} MB of YAML`);
  console.log(`  library: ${s(lib).padStart(9)} (median of ${r.library.length} in ${procs} processes; ${s(lib / r.n)} per pipeline)  ${Math.round(r.docs / (lib / 1000))} documents/s`);
  console.log(`  floor:   ${s(flo).padStart(9)} (median of ${r.floor.length} in ${procs} processes; ${s(flo / r.n)} per pipeline)  ${Math.round(r.docs / (flo / 1000))} documents/s`);
  console.log(`  CPU time: library ${s(median(r.libraryCpu))}, floor ${s(median(r.floorCpu))} (medians; process CPU time, which other load on the machine does not inflate)`);
  console.log(`  ratio library/floor: ${median(r.ratios).toFixed(2)}x (median of the ${r.ratios.length} paired runs' wall-time ratios; ratio of the medians ${(lib / flo).toFixed(2)}x, of the CPU-time medians ${(median(r.libraryCpu) / median(r.floorCpu)).toFixed(2)}x)`);
  if (r.processRatios) console.log(`  ratio per process: ${r.processRatios.map((x) => `${x.toFixed(2)}x`).join(', ')} (each process's median)`);
  if (previous && previous.n * 10 === r.n) {
    const growth = (cur: number[], prev: number[]) => ((median(cur) / r.n) / (median(prev) / previous.n)).toFixed(2);
    console.log(`  growth (time per pipeline at ${r.n} / at ${previous.n}): library ${growth(r.library, previous.library)}x, floor ${growth(r.floor, previous.floor)}x (CPU time: library ${growth(r.libraryCpu, previous.libraryCpu)}x, floor ${growth(r.floorCpu, previous.floorCpu)}x)`);
  }
  console.log(`  peak RSS: ${r.maxRssMb.toFixed(0)} MB (this configuration's process, library and floor runs)`);
  console.log(`  floor output: ${r.floorCheck}`);
}

function summary(results: Result[]): void {
  console.log('\nsummary (medians; library/floor is the median of the paired runs\' ratios)');
  console.log('| layout | pipelines | documents | runs | library | floor | library/floor | library growth | floor growth | library docs/s | CPU library/floor | CPU library growth | peak RSS |');
  console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of results) {
    const prev = results.find((p) => p.layout === r.layout && p.n * 10 === r.n);
    const lib = median(r.library);
    const flo = median(r.floor);
    const g = (cur: number[], p: number[]) => `${((median(cur) / r.n) / (median(p) / prev!.n)).toFixed(2)}x`;
    console.log(`| (${r.layout}) ${LAYOUT_NAMES[r.layout]} | ${r.n} | ${r.docs} | ${r.ratios.length} | ${s(lib)} | ${s(flo)} | ${median(r.ratios).toFixed(2)}x | ${prev ? g(r.library, prev.library) : '-'} | ${prev ? g(r.floor, prev.floor) : '-'} | ${Math.round(r.docs / (lib / 1000))} | ${(median(r.libraryCpu) / median(r.floorCpu)).toFixed(2)}x | ${prev ? g(r.libraryCpu, prev.libraryCpu) : '-'} | ${r.maxRssMb.toFixed(0)} MB |`);
  }
}

function main(argv: string[]): void {
  if (argv[0] === '--child') {
    const [layout, n, runs] = [argv[1] as Layout, Number(argv[2]), Number(argv[3])];
    child(layout, n, runs > 0 ? runs : undefined).then((r) => console.log(JSON.stringify(r)), (e) => {
      console.error(e);
      process.exitCode = 1;
    });
    return;
  }
  const opt = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? process.env[`BENCH_${name.toUpperCase()}`];
  const sizes = (opt('sizes') ?? DEFAULT_SIZES.join(',')).split(',').map(Number);
  const layouts = (opt('layouts') ?? 'a,b').split(',') as Layout[];
  const fixedRuns = opt('runs') ? Number(opt('runs')) : undefined;
  const cpuProf = argv.includes('--cpu-prof') || process.env.BENCH_CPU_PROF === '1' ? fs.mkdtempSync(path.join(os.tmpdir(), 'synth-bench-prof-')) : undefined;

  console.log(`synthesis benchmark: node ${process.version}, ${os.cpus().length} CPU(s) (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('each pipeline: TrainingStorage (2 NFS PersistentVolumes + 2 claims) + the seed\'s KoreanLlmPipeline on it (Workflow, ServiceAccount, Role, RoleBinding);');
  console.log('each chart (training namespace): TrainerPodMonitor + TrainingAlerts; once: DcgmExporterMonitor + TrainingOperatorMonitor (in (b) in a chart of their own)\n');
  const results: Result[] = [];
  for (const layout of layouts) {
    for (const n of sizes) {
      const r = pooled(Array.from({ length: sampling(n).processes }, (_, i) => runChild(layout, n, fixedRuns, cpuProf, i)));
      report(r, results.find((p) => p.layout === layout && p.n * 10 === n));
      results.push(r);
    }
    console.log('');
  }
  summary(results);

  if (!argv.includes('--no-cold-start') && process.env.BENCH_COLD_START !== '0') {
    const { results: cold, how } = coldStart(5);
    console.log(`\ncold start (a fresh \`node -e "require(...)"\`, median of 5; the package from ${how})`);
    const base = cold[0].medianMs;
    for (const c of cold) {
      console.log(`  ${c.label.padEnd(32)} ${s(c.medianMs).padStart(9)}${c === cold[0] ? '' : `  (+${s(c.medianMs - base)} over bare node)`}`);
    }
  }
  if (cpuProf) console.log(`\nCPU profiles: ${cpuProf}`);
}

main(process.argv.slice(2));
