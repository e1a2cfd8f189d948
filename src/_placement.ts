// Where the constructs the library creates end up in memory, and why it matters.
//
// `cdk8s`'s `App.synthYaml()` and `App.synth()` call `Chart.toJson()` for every chart, and each call
// walks every construct of the whole app (validation and dependencies): with a chart per pipeline,
// 1000 charts are a thousand walks of 13,000 constructs. Each visit reads a construct, its `Node`
// and a few small objects of the node, so the walk's cost is memory traffic: how many memory pages
// those objects lie on.
//
// V8 allocates an object in the young generation and moves it to the old one when it has survived
// two young-generation collections. Such a collection first moves what old objects reference, in
// the order of their slots, then follows the moved objects' fields depth-first. A pipeline's
// constructs are reached through its own fields (steps, jobs, documents), so without help they are
// moved one by one among all the data the pipeline keeps: at 300-500 charts the walked objects
// lay on 42-59 4 KB pages per 100 constructs, against 21-41 for bare ApiObjects of the same
// documents, and layout (b) of the benchmark (1000 charts) took 1.35x-1.47x the floor.
//
// So every construct the library defines lists its scopes (the chart, which every walk visits
// too), itself and its subtree here, each followed by its node, in the order they were created, in
// one array that is old from the start (a backing store this large is allocated outside the young
// generation): the collector then moves them next to each other, in that order, before it follows
// the data they reference. At 300 charts: 20-27 pages per 100 constructs. Measured in
// docs/benchmark.md ("Placing the constructs together").
//
// Nothing is kept for longer than the current job: the list is emptied in a microtask after the
// first entry, which runs once the synchronous `cdk8s synth` program (or test) has finished. It is
// a ring, so an app that needs more listings only loses the effect for its oldest constructs. It
// changes no output; a JavaScript engine that moves objects otherwise only loses the effect.

import { IConstruct } from 'constructs';

/**
 * Slots of the ring: two per listing (a construct and its node), 32,768 listings (512 KB). A
 * construct is listed again by each library construct above it, and every call starts with its
 * scopes: a pipeline of the benchmark (storage, pipeline and the three stages it embeds, monitor,
 * alerts) takes 57 listings, so at 1000 pipelines the ring wraps after about 570 of them, whose
 * constructs have long left the young generation by then.
 */
const SLOTS = 65536;

let ring: unknown[] | undefined;
/** The next slot to write. */
let next = 0;
/** Slots written since the last release (at most SLOTS). */
let written = 0;

/**
 * Lists the scopes of `root` (app and chart first), then `root` and every construct under it, each
 * followed by its node, in the order `findAll()` gives (creation order within each parent). Call it
 * at the end of a construct's constructor.
 */
export function keepTogether(root: IConstruct): void {
  if (ring === undefined) ring = new Array(SLOTS).fill(undefined);
  if (written === 0) void Promise.resolve().then(release);
  // its scopes first (the chart, which every walk visits too), then the subtree
  const scopes = root.node.scopes;
  for (let i = 0; i < scopes.length - 1; i++) put(ring, scopes[i]);
  for (const c of root.node.findAll()) put(ring, c);
}

function put(slots: unknown[], c: IConstruct): void {
  slots[next] = c;
  slots[next + 1] = c.node;
  next = (next + 2) % SLOTS;
  if (written < SLOTS) written += 2;
}

/** Empties the ring: nothing the library created stays reachable from it. */
function release(): void {
  if (ring !== undefined) ring.fill(undefined, 0, written === SLOTS ? SLOTS : next);
  next = 0;
  written = 0;
}

/** @internal what the ring lists now, oldest first (for tests). */
export function _kept(): unknown[] {
  if (ring === undefined) return [];
  return written === SLOTS ? [...ring.slice(next), ...ring.slice(0, next)] : ring.slice(0, next);
}
