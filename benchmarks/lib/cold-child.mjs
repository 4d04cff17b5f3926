// One sample of benchmarks/cold.ts, in a fresh process: plain Node loading the shipped build
// (dist/), as a user's process does, or the TypeScript source when run with --import tsx. The
// specs come from the parent (RTNETLINK_COLD_SPECS: three W(1) on their own bridges), so this
// file needs no TypeScript. Prints one JSON line.
import { PerformanceObserver } from 'node:perf_hooks';

const t0 = performance.now();
const rt = await import(process.env.RTNETLINK_COLD_ENTRY ?? '../../dist/index.js');
const t1 = performance.now();
// With RTNETLINK_COLD_WARM=1 the process first calls warmUp(), as a service would while it
// starts: its own time is reported apart.
let warmUpMs = 0;
if (process.env.RTNETLINK_COLD_WARM === '1') {
  const s = performance.now();
  await rt.warmUp();
  warmUpMs = performance.now() - s;
}
const specs = JSON.parse(process.env.RTNETLINK_COLD_SPECS ?? '[]');
const time = async (f) => {
  const s = performance.now();
  await f();
  return performance.now() - s;
};
// Collections during the first call: V8 collects what loading the modules left behind at the
// first chance it gets, and that is part of what the first call costs.
const collections = [];
const gcObserver = new PerformanceObserver((list) => collections.push(...list.getEntries()));
gcObserver.observe({ entryTypes: ['gc'] });
const firstStart = performance.now();
const firstList = await time(() => rt.listLinks());
await new Promise((r) => setImmediate(r));
gcObserver.disconnect();
const gcInFirstList = collections.filter((e) => e.startTime >= firstStart && e.startTime < firstStart + firstList).reduce((sum, e) => sum + e.duration, 0);
let warmList = Infinity;
for (let k = 0; k < 5; k++) warmList = Math.min(warmList, await time(() => rt.listLinks()));
// One container on its own bridge, then others: the later ones are the warm cost.
const firstApply = await time(() => rt.applyTopology(specs[0]));
const warmApply = Math.min(await time(() => rt.applyTopology(specs[1])), await time(() => rt.applyTopology(specs[2])));
for (const spec of specs) await rt.destroyTopology(spec);
console.log(JSON.stringify({ importMs: t1 - t0, warmUpMs, firstList, warmList, gcInFirstList, firstApply, warmApply }));
