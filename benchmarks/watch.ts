// The watcher under W(N): a watch over every namespace (one socket) while applyTopology builds
// N containers, then tears them down. Reports events per second, overruns (and the drops
// behind them), resync times and the event loop's delay (p99) while it runs, and checks that
// the state the events describe equals a fresh dump, after the apply and after the destroy.
//   npm run build && scripts/sandbox npx tsx benchmarks/watch.ts [N=1000] [--receive-buffer BYTES]
//   npm run build && scripts/sandbox npx tsx benchmarks/watch.ts [N=1000] --baseline     (the apply without a watch)
// Prints one JSON line; exits 1 if the states differ. The event loop's delay is given for the
// apply alone and for the apply plus the time the watch takes to catch up.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { WatchState } from '../lib/index.js';
import { loadLibrary } from './lib/library.js';
import { differences, dumpedState } from '../test/helpers/watch-oracle.js';
import { workload } from './lib/workload.js';

if (process.env.RTNETLINK_SANDBOX !== '1') {
  console.error('benchmarks/watch.ts changes the network: run it as scripts/sandbox npx tsx benchmarks/watch.ts');
  process.exit(2);
}
// The shipped build (dist/), as users run it.
const rt = await loadLibrary();
const args = process.argv.slice(2);
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const bufferAt = args.indexOf('--receive-buffer');
const receiveBuffer = bufferAt >= 0 ? Number(args[bufferAt + 1]) : undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const spec = workload(n);
const names = () => [undefined, ...rt.listNamespaces().map((e) => e.name)];

if (args.includes('--baseline')) {
  // The same apply without a watch, for comparison.
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const t = performance.now();
  await rt.applyTopology(spec);
  const applyMs = performance.now() - t;
  loop.disable();
  await rt.destroyTopology(spec);
  console.log(JSON.stringify({ n, baseline: true, applyMs: Math.round(applyMs), eventLoopDelayMs: { apply: { p50: +(loop.percentile(50) / 1e6).toFixed(1), p99: +(loop.percentile(99) / 1e6).toFixed(1), max: +(loop.max / 1e6).toFixed(1) } } }));
  process.exit(0);
}

const watcher = rt.watch({ allNamespaces: true, listExisting: true, ...(receiveBuffer ? { receiveBuffer } : {}) });
const state = new rt.WatchState();
let lastEvent = performance.now();
let firstChange = 0;
let lastChange = 0;
let changes = 0;
let resyncing = false;
const consumed = (async () => {
  for await (const e of watcher) {
    state.apply(e);
    lastEvent = performance.now();
    if (e.type === 'overrun') resyncing = true;
    else if (e.type === 'synced') resyncing = false;
    else if (firstChange > 0) {
      changes++;
      lastChange = lastEvent;
    }
  }
})();

/** Until the watcher has been quiet for `ms` and is not resyncing. */
async function quiet(ms = 500): Promise<void> {
  while (resyncing || performance.now() - lastEvent < ms) await sleep(50);
}

/** Compares with a fresh dump. The kernel announces an IPv6 address only once duplicate
 *  address detection ends (a dump shows it before, tentative): until DAD has settled the two
 *  may differ by those, so it compares again for up to 20 s and reports the last difference. */
async function check(what: string): Promise<{ equal: boolean; objects: number; attempts: number }> {
  const deadline = performance.now() + 20_000;
  for (let attempt = 1; ; attempt++) {
    await quiet();
    const dumped = await dumpedState(names());
    const diff = differences(state, dumped);
    if (diff.length === 0) return { equal: true, objects: state.size, attempts: attempt };
    if (performance.now() > deadline) {
      console.error(`${what}: the watcher's state differs from a dump:`, JSON.stringify(diff.slice(0, 5), null, 1));
      return { equal: false, objects: state.size, attempts: attempt };
    }
    await sleep(500);
  }
}

await watcher.ready;
await quiet(200);
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
firstChange = performance.now();
const applied = performance.now();
await rt.applyTopology(spec);
const applyMs = performance.now() - applied;
const duringApply = { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
const eventsDuringApply = changes;
// Caught up: every host end and every container address reported (IPv6 DAD ends later).
const expected = (s: WatchState) => s.links(null).filter((l) => /^h\d+$/.test(l.name)).length === n && s.addresses().filter((a) => a.family === 4 && a.link === 'eth0').length === n;
while (!expected(state)) await sleep(5);
const caughtUpMs = performance.now() - applied - applyMs;
await quiet();
loop.disable();
const during = { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
const setupEvents = changes;
const setupSeconds = (lastChange - firstChange) / 1000;
const afterApply = await check('after apply');
const statsAfterApply = { ...watcher.stats };

const destroyed = performance.now();
await rt.destroyTopology(spec);
const destroyMs = performance.now() - destroyed;
const afterDestroy = await check('after destroy');
watcher.close();
await consumed;

const s = watcher.stats;
const result = {
  n,
  receiveBuffer: receiveBuffer ?? 'default (32 MiB)',
  applyMs: Math.round(applyMs),
  destroyMs: Math.round(destroyMs),
  setup: { events: setupEvents, eventsDuringApply, eventsPerSecondDuringApply: Math.round(eventsDuringApply / (applyMs / 1000)), caughtUpMsAfterApply: Math.round(caughtUpMs), eventsPerSecondUntilQuiet: Math.round(setupEvents / setupSeconds), overruns: statsAfterApply.overruns, drops: statsAfterApply.drops, resyncs: statsAfterApply.resyncs, lastResyncMs: Math.round(statsAfterApply.lastResyncMs) },
  eventLoopDelayMs: {
    apply: { p50: +duringApply.p50.toFixed(1), p99: +duringApply.p99.toFixed(1), max: +duringApply.max.toFixed(1) },
    applyAndCatchUp: { p50: +during.p50.toFixed(1), p99: +during.p99.toFixed(1), max: +during.max.toFixed(1) },
  },
  total: { events: s.events, overruns: s.overruns, drops: s.drops, discarded: s.discarded, resyncs: s.resyncs, totalResyncMs: Math.round(s.totalResyncMs), dumpRetries: s.dumpRetries },
  stateEqualsDump: { afterApply, afterDestroy },
};
console.log(JSON.stringify(result));
process.exitCode = afterApply.equal && afterDestroy.equal ? 0 : 1;
