// The event loop while applyTopology builds thousands of namespaces: W(N) spread over bridges
// of 1000 ports (a bridge takes at most 1023), each repetition in a fresh sandbox. Reports the
// apply time and the loop's delay (p50, p99, max) measured by perf_hooks, as JSON lines and a
// summary. The target: p99 < 20 ms and max < 100 ms at N=3000.
//   npm run build && npx tsx benchmarks/event-loop.ts [--n 3000] [--reps 3]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { runSandboxed } from './lib/sandboxed.js';
import { letKernelSettle } from './lib/settle.js';
import { median } from './lib/stats.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '3000' }, reps: { type: 'string', default: '3' }, child: { type: 'boolean' } } });
const n = Number(values.n);

/** W(n) over ceil(n/1000) bridges, bridge k on 10.(200+k).0.0/16. */
function spreadWorkload(count: number) {
  const perBridge = 1000;
  const bridges = Array.from({ length: Math.ceil(count / perBridge) }, (_, k) => ({ name: `br${k}`, addresses: [`10.${200 + k}.0.1/16`] }));
  return {
    bridges,
    namespaces: Array.from({ length: count }, (_, i) => {
      const k = Math.floor(i / perBridge);
      const j = i % perBridge;
      return {
        name: `c${i + 1}`,
        interfaces: [{ name: 'eth0', hostName: `h${i + 1}`, master: `br${k}`, addresses: [`10.${200 + k}.${Math.floor(j / 250)}.${(j % 250) + 2}/16`] }],
        routes: [{ to: 'default', via: `10.${200 + k}.0.1` }],
      };
    }),
  };
}

async function child(): Promise<void> {
  // The shipped build (dist/), as users run it (benchmarks/lib/library.ts).
  const lib = await (await import('./lib/library.js')).loadLibrary();
  const spec = spreadWorkload(n);
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const started = performance.now();
  await lib.applyTopology(spec);
  const applyMs = performance.now() - started;
  loop.disable();
  const out = { n, applyMs, loopP50: loop.percentile(50) / 1e6, loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6 };
  await lib.destroyTopology(spec);
  console.log(JSON.stringify(out));
}

if (values.child) {
  await child();
} else {
  const runs: Record<string, number>[] = [];
  for (let r = 0; r < Number(values.reps); r++) {
    letKernelSettle(n);
    const run = runSandboxed([process.execPath, '--import', 'tsx', 'benchmarks/event-loop.ts', '--child', '--n', String(n)]);
    runs.push(run);
    console.log(JSON.stringify(run));
  }
  const med = (k: string) => median(runs.map((x) => x[k] as number));
  console.log(`W(${n}) apply ${med('applyMs').toFixed(0)} ms; event loop p50 ${med('loopP50').toFixed(1)} ms, p99 ${med('loopP99').toFixed(1)} ms, max ${med('loopMax').toFixed(1)} ms (medians of ${runs.length})`);
}
