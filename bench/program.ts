// One whole-process run of the benchmark, as `cdk8s synth` runs an app: build it, write the YAML.
//   node .synth/bench/program.js library <outdir> <n> chart-per-pipeline|one-chart
//   node .synth/bench/program.js plus <outdir> <documents per chart, comma-separated>
// Prints the process's peak RSS (KB) on stdout.

import { App } from 'cdk8s';
import { libraryApp, plusApp } from './workload';

const [kind, outdir, arg, layout] = process.argv.slice(2);
const app = new App({ outdir });
if (kind === 'library') libraryApp(app, Number(arg), layout === 'one-chart' ? 'one-chart' : 'chart-per-pipeline');
else plusApp(app, arg.split(',').map(Number));
app.synth();
process.stdout.write(`${process.resourceUsage().maxRSS}\n`);
