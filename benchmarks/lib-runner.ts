// This library on W(N), in the protocol every peer follows: `lib-runner.ts MODE N PHASE`
// prints one JSON line with the phase's time measured inside the process.
//   MODE bulk:  applyTopology / destroyTopology (the bulk path)
//   MODE naive: one awaited call per step, as a user would first write it
//   PHASE setup | teardown | cycles (apply+destroy 5 times, RSS and fds after each)
//   --ipv6=false: every namespace without IPv6; --warm: warmUp() before the timed phase
// It measures the shipped build (dist/), or lib/ with RTNETLINK_BENCH_SOURCE=1 (benchmarks/lib/library.ts).
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadLibrary } from './lib/library.js';
import { containerAddress, workload } from './lib/workload.js';

const rt = await loadLibrary();

const [mode = 'bulk', nText = '10', phase = 'setup'] = process.argv.slice(2);
const n = Number(nText);
const ipv6 = !process.argv.includes('--ipv6=false');

async function naiveSetup(): Promise<void> {
  await rt.createBridge('br0');
  await rt.setLinkUp('br0');
  await rt.addAddress('br0', '10.200.0.1/16');
  for (let i = 1; i <= n; i++) {
    const ns = await rt.createNamespace(`c${i}`);
    await rt.createVethPair({ name: `h${i}`, peer: { name: 'eth0', netns: ns } });
    await rt.setMaster(`h${i}`, 'br0');
    await rt.setLinkUp(`h${i}`);
    await ns.setLinkUp('lo');
    await ns.setLinkUp('eth0');
    await ns.addAddress('eth0', containerAddress(i));
    await ns.addRoute({ to: 'default', via: '10.200.0.1' });
    ns.close();
  }
}

async function naiveTeardown(): Promise<void> {
  for (let i = 1; i <= n; i++) await rt.deleteNamespace(`c${i}`);
  await rt.waitForLinksGone(Array.from({ length: n }, (_, k) => `h${k + 1}`));
  await rt.deleteLink('br0');
}

const spec = workload(n, { ipv6 });
const fds = () => readdirSync('/proc/self/fd').length;

async function main(): Promise<void> {
  if (phase === 'cycles') {
    const rounds: { rssMB: number; fds: number }[] = [];
    // Baseline: the process after one full-size cycle (code loaded, JIT warm, V8's heap sized
    // for the job); a leak shows as growth over the 5 cycles that follow.
    await rt.applyTopology(spec);
    await rt.destroyTopology(spec);
    global.gc?.();
    const baseline = { rssMB: process.memoryUsage().rss / 2 ** 20, fds: fds() };
    for (let r = 0; r < 5; r++) {
      await rt.applyTopology(spec);
      await rt.destroyTopology(spec);
      global.gc?.();
      const m = process.memoryUsage();
      rounds.push({ rssMB: m.rss / 2 ** 20, fds: fds(), heapMB: m.heapTotal / 2 ** 20, externalMB: m.external / 2 ** 20 } as never);
    }
    console.log(JSON.stringify({ baseline, rounds }));
    return;
  }
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let peakRss = 0;
  let peakHeap = 0;
  // Sparse and cheap: process.memoryUsage() walks the heap, which would bill our own timing.
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 50);
  // --warm: as a service that called warmUp() while it started (its time is not the setup's).
  if (process.argv.includes('--warm')) await rt.warmUp();
  const started = performance.now();
  if (phase === 'setup') await (mode === 'naive' ? naiveSetup() : rt.applyTopology(spec, process.env.CONC ? { concurrency: Number(process.env.CONC) } : {}));
  else if (phase === 'teardown') await (mode === 'naive' ? naiveTeardown() : rt.destroyTopology(spec, { wait: true }));
  else throw new Error(`unknown phase ${phase}`);
  const ms = performance.now() - started;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  peakHeap = process.memoryUsage().heapUsed;
  loop.disable();
  console.log(
    JSON.stringify({
      ms,
      loopP50: loop.percentile(50) / 1e6,
      loopP99: loop.percentile(99) / 1e6,
      loopMax: loop.max / 1e6,
      peakRssMB: peakRss / 2 ** 20,
      peakHeapMB: peakHeap / 2 ** 20,
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
