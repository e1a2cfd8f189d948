// npm run bench:walk: where layout (b)'s extra time goes. For every chart it synthesizes, cdk8s
// (`Chart.toJson()` -> `App._synthChart`) walks the whole app: `findAll()`, `node.validate()` on
// every construct, `node.dependencies` twice, `instanceof Chart` filters. This script times that
// walk alone, repeated once per chart as cdk8s does, over three trees of the same N charts:
//
//   floor     the bench's floor: the library's documents as bare ApiObjects, 10 per chart
//   library   the library's own tree (TrainingStorage, KoreanLlmPipeline, monitors, alerts)
//   replica   the library's tree rebuilt: the same ids, the same shape (parents included), one class
//             per library class, the same documents, but created back to back from ready JSON
//
// If the replica walks as fast as the floor, neither the extra parent constructs nor the number of
// construct classes explain the library's walk time; what is left is where the objects lie in
// memory (created one by one among the data the library computes, against back to back).
//
//   WALK_SIZE=500 WALK_RUNS=5 npm run bench:walk

import { ApiObject, App, Chart, JsonPatch } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { median } from './stats';
import { buildFloor, captureDocs } from './workload';

const N = Number(process.env.WALK_SIZE ?? 500);
const RUNS = Number(process.env.WALK_RUNS ?? 5);

/** The per-chart preparation of `App._synthChart`, without the chart's own output: `charts` times. */
function walk(app: App, charts: number): number {
  const start = process.hrtime.bigint();
  for (let c = 0; c < charts; c++) {
    const all = app.node.findAll();
    for (const x of all.filter((y) => y instanceof Chart)) x.node.children.filter((y) => y instanceof Chart);
    for (let k = 0; k < 2; k++) for (const x of all) x.node.dependencies;
    for (const x of all) x.node.validate();
  }
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** The library's tree rebuilt from ready JSON: same ids, shape and class count. */
function replica(library: App): App {
  // resolve every document first (the library's app has been synthesized by then)
  const docs = new Map<IConstruct, any>();
  for (const c of library.node.findAll()) if (c instanceof ApiObject) docs.set(c, c.toJson());
  const classes = new Map<Function, any>();
  const classFor = (c: IConstruct, base: any): any => {
    const ctor = c.constructor;
    if (ctor === base) return base;
    if (!classes.has(ctor)) classes.set(ctor, class extends base {});
    return classes.get(ctor);
  };
  const app = new App();
  const copy = (from: IConstruct, to: Construct): void => {
    for (const child of from.node.children) {
      let made: Construct;
      if (child instanceof Chart) {
        made = new Chart(to, child.node.id);
      } else if (child instanceof ApiObject) {
        const doc = docs.get(child);
        const Cls = classFor(child, ApiObject);
        const obj: ApiObject = new Cls(to, child.node.id, doc);
        if (doc.metadata?.name === undefined) obj.addJsonPatch(JsonPatch.remove('/metadata/name'));
        made = obj;
      } else {
        made = new (classFor(child, Construct))(to, child.node.id);
      }
      copy(child, made);
    }
  };
  copy(library, app);
  return app;
}

function main(): void {
  console.log(`whole-app walk, repeated once per chart: ${N} charts (layout b), ${RUNS} runs each, interleaved`);
  // the library's app, synthesized once (as cdk8s leaves it), and its documents for the floor
  const { docs, app: library } = captureDocs('b', N);
  const trees: Record<string, App> = { floor: buildFloor(docs), library, replica: replica(library) };
  const times: Record<string, number[]> = { floor: [], library: [], replica: [] };
  for (let r = 0; r < RUNS; r++) {
    for (const name of Object.keys(trees)) times[name].push(walk(trees[name], N));
  }
  const floor = median(times.floor);
  for (const name of Object.keys(trees)) {
    const constructs = trees[name].node.findAll().length;
    const t = median(times[name]);
    console.log(`${name.padEnd(8)} ${String(constructs).padStart(6)} constructs  ${(t / 1000).toFixed(2)} s  ${(t * 1e6 / (constructs * N)).toFixed(0).padStart(4)} ns per construct visited  ratio to floor: ${(t / floor).toFixed(2)}x`);
  }
}

main();
