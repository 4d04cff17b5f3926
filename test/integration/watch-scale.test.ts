// The watch under W(N) (benchmarks/lib/workload.ts, built by applyTopology): one socket over
// every namespace while N containers come and go. Either nothing is dropped, or every overrun
// is followed by a resync; in both cases the state the events describe equals a fresh dump.
// Both paths: the default receive buffer at N=1000, and a tiny one that forces overruns. And a
// watch started when the N namespaces exist lists them all.
// (Speed and the event loop's delay are measured by benchmarks/watch.ts, not asserted here.)
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inSandbox, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import { Consumer } from '../helpers/watch-consumer.js';
import { workload } from '../../benchmarks/lib/workload.js';

const lib = await import('../../lib/index.js');
const namespaces = () => [undefined, ...lib.listNamespaces().map((e) => e.name)];

/** After each 'overrun', a 'synced' (and no 'synced' is missing at the end). */
function everyOverrunResynced(c: Consumer): void {
  let pending = false;
  for (const e of c.events) {
    if (e.type === 'overrun') pending = true;
    if (e.type === 'synced') pending = false;
  }
  expect(pending).toBe(false);
}

async function run(n: number, receiveBuffer?: number): Promise<Consumer> {
  const c = new Consumer(lib.watch({ allNamespaces: true, listExisting: true, ...(receiveBuffer ? { receiveBuffer } : {}) }));
  await c.event((e) => e.type === 'synced');
  const spec = workload(n);
  await lib.applyTopology(spec);
  expect(await c.differencesFromDump(namespaces(), 30_000)).toEqual([]);
  expect(c.state.namespaces()).toHaveLength(n + 1);
  expect(c.state.links().filter((l) => /^h\d+$/.test(l.name))).toHaveLength(n);
  everyOverrunResynced(c);
  // A watch started now finds all N namespaces in the run dir and lists them.
  const late = new Consumer(lib.watch({ allNamespaces: true, listExisting: true }));
  await late.event((e) => e.type === 'synced', 60_000);
  expect(late.watcher.stats.namespaces).toBe(n + 1);
  expect(await late.differencesFromDump(namespaces(), 30_000)).toEqual([]);
  late.watcher.close();
  await late.done;
  await lib.destroyTopology(spec);
  expect(await c.differencesFromDump(namespaces(), 30_000)).toEqual([]);
  expect(c.state.namespaces()).toEqual([undefined]);
  everyOverrunResynced(c);
  c.watcher.close();
  await c.done;
  return c;
}

describe.skipIf(!inSandbox)(`watch under W(N)${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeEach(() => resetSandbox());
  afterEach(() => resetSandbox());

  it('W(1000), default buffer: the state after the apply and after the destroy equals a fresh dump', async () => {
    const c = await run(1000);
    const { overruns, resyncs } = c.watcher.stats;
    // Either no overrun at all, or each one resynced (checked above); the counters agree.
    expect(c.count('overrun')).toBe(overruns);
    if (overruns > 0) expect(resyncs).toBeGreaterThan(0);
    console.log(`W(1000) watched: ${JSON.stringify(c.watcher.stats)}`);
  }, 300_000);

  it('W(200), 4 KiB buffer: overruns are forced, each one is resynced, and the state still equals a fresh dump', async () => {
    const c = await run(200, 4096);
    expect(c.watcher.stats.overruns).toBeGreaterThan(0);
    expect(c.watcher.stats.drops).toBeGreaterThan(0);
    expect(c.watcher.stats.resyncs).toBeGreaterThan(0);
    console.log(`W(200), 4 KiB buffer: ${JSON.stringify(c.watcher.stats)}`);
  }, 300_000);
});
