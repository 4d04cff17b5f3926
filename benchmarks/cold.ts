// The first call's cold cost: what a fresh Node process pays on its first requests (loading the
// addon, compiling the JS on first use, opening the first sockets, starting the I/O thread)
// against the same requests once warm. Each sample is a new process.
//   scripts/sandbox npx tsx benchmarks/cold.ts [--samples 9]
import { spawnSync } from 'node:child_process';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '9' }, child: { type: 'boolean', default: false } } });

async function child(): Promise<void> {
  const t0 = performance.now();
  const rt = await import('../lib/index.js');
  const { workload } = await import('./lib/workload.js');
  const t1 = performance.now();
  const time = async (f: () => Promise<unknown>) => {
    const s = performance.now();
    await f();
    return performance.now() - s;
  };
  // Collections during the first call: V8 collects what loading the modules left behind at the
  // first chance it gets, and that is part of what the first call costs.
  const collections: PerformanceEntry[] = [];
  const gcObserver = new PerformanceObserver((list) => collections.push(...list.getEntries()));
  gcObserver.observe({ entryTypes: ['gc'] });
  const firstStart = performance.now();
  const firstList = await time(() => rt.listLinks());
  await new Promise((r) => setImmediate(r));
  gcObserver.disconnect();
  const gcInFirstList = collections.filter((e) => e.startTime >= firstStart && e.startTime < firstStart + firstList).reduce((sum, e) => sum + e.duration, 0);
  let warmList = Infinity;
  for (let k = 0; k < 5; k++) warmList = Math.min(warmList, await time(() => rt.listLinks()));
  // One container of W(N) on its own bridge, then another: the second is the warm cost.
  const one = (k: number) => {
    const spec = workload(1);
    spec.bridges![0]!.name = `cold${k}`;
    spec.namespaces![0]!.name = `cold-c${k}`;
    spec.namespaces![0]!.interfaces![0]!.hostName = `cold-h${k}`;
    spec.namespaces![0]!.interfaces![0]!.master = `cold${k}`;
    return spec;
  };
  const firstApply = await time(() => rt.applyTopology(one(1)));
  const warmApply = Math.min(await time(() => rt.applyTopology(one(2))), await time(() => rt.applyTopology(one(3))));
  for (const k of [1, 2, 3]) await rt.destroyTopology(one(k));
  console.log(JSON.stringify({ importMs: t1 - t0, firstList, warmList, gcInFirstList, firstApply, warmApply }));
}

function parent(): void {
  const samples: Record<string, number>[] = [];
  for (let i = 0; i < Number(values.samples); i++) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'benchmarks/cold.ts', '--child'], { encoding: 'utf8' });
    const line = r.stdout.trim().split('\n').at(-1) ?? '';
    if (r.status !== 0 || !line.startsWith('{')) throw new Error(`sample ${i} failed: ${r.stderr.slice(-1000)}`);
    samples.push(JSON.parse(line));
  }
  const median = (k: string) => {
    const s = samples.map((x) => x[k]!).sort((a, b) => a - b);
    return s[s.length >> 1]!;
  };
  const row = (what: string, first: string, warm: string) =>
    console.log(`| ${what} | ${median(first).toFixed(2)} | ${median(warm).toFixed(2)} | ${(median(first) - median(warm)).toFixed(2)} |`);
  console.log(`Cold cost, median of ${samples.length} fresh processes (ms); import of the library: ${median('importMs').toFixed(1)} ms\n`);
  console.log('| first request | first | warm | cold cost |\n|---|---:|---:|---:|');
  row('listLinks()', 'firstList', 'warmList');
  row('applyTopology(W(1))', 'firstApply', 'warmApply');
  console.log(`\nOf the first listLinks(), garbage collection: ${median('gcInFirstList').toFixed(2)} ms (median)`);
}

if (values.child) await child();
else parent();
