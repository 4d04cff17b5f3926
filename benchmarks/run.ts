// npm run bench: W(N) for every implementation, repetitions interleaved so machine noise hits
// all alike, each run in its own sandbox and verified before its time counts. Prints the table,
// writes benchmarks/results/latest.json and benchmarks/results/w-setup.svg.
//   tsx benchmarks/run.ts [--n 10,100,1000] [--reps 3] [--only id,id] [--smoke]
// and compares the bulk path with the best hand-written C floor, IPv6 on and off.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { parseArgs } from 'node:util';
import { implementations } from './lib/implementations.js';
import { renderChart } from './lib/chart.js';
import { letKernelSettle } from './lib/settle.js';
import { median } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10,100,1000' },
    reps: { type: 'string', default: '3' },
    only: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    out: { type: 'string', default: 'benchmarks/results' },
  },
});
const smoke = values.smoke!;
const sizes = smoke ? [10] : values.n!.split(',').map(Number);
const reps = smoke ? 1 : Number(values.reps);
const wanted = smoke ? ['rtnetlink-bulk', 'rtnetlink-naive'] : values.only?.split(',');
const impls = implementations.filter((i) => !wanted || wanted.includes(i.id));

interface Run {
  ok: boolean;
  id: string;
  n: number;
  rep: number;
  setupMs?: number;
  teardownMs?: number;
  setup?: Record<string, number>;
  error?: string;
}

const skipped: Record<string, string> = {};
for (const impl of impls) {
  const why = impl.unavailable?.();
  if (why) skipped[impl.id] = why;
}
const runnable = impls.filter((i) => !skipped[i.id]);

const runs: Run[] = [];
let previousN = 0;
for (let rep = 1; rep <= reps; rep++) {
  for (const n of sizes) {
    // Rotate the order each repetition: no implementation always runs first.
    const order = runnable.map((_, k) => runnable[(k + rep) % runnable.length]!);
    for (const impl of order) {
      if (impl.maxN !== undefined && n > impl.maxN) continue;
      // No implementation pays for another's cleanup.
      if (!smoke) letKernelSettle(previousN);
      previousN = n;
      const r = spawnSync('scripts/sandbox', [process.execPath, '--import', 'tsx', 'benchmarks/lib/one-run.ts', impl.id, String(n)], { encoding: 'utf8', maxBuffer: 64 << 20 });
      const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      const run: Run = line ? { ...(JSON.parse(line) as Run), rep } : { ok: false, id: impl.id, n, rep, error: (r.stderr || `exit ${r.status}`).slice(-500) };
      runs.push(run);
      const t = run.ok ? `setup ${(run.setupMs! / n).toFixed(2)} ms/ctr, teardown ${(run.teardownMs! / n).toFixed(2)} ms/ctr` : `FAILED: ${run.error}`;
      console.error(`rep ${rep} N=${n} ${impl.id.padEnd(16)} ${t}`);
    }
  }
}

interface Stat {
  id: string;
  n: number;
  runs: number;
  setupMedianMs: number;
  setupMinMs: number;
  teardownMedianMs: number;
  teardownMinMs: number;
  setupPerContainerMs: number;
  teardownPerContainerMs: number;
  loopP99Ms?: number;
  peakRssMB?: number;
}

const stats: Stat[] = [];
for (const impl of runnable) {
  for (const n of sizes) {
    const ok = runs.filter((r) => r.ok && r.id === impl.id && r.n === n);
    if (ok.length === 0) continue;
    const s: Stat = {
      id: impl.id,
      n,
      runs: ok.length,
      setupMedianMs: median(ok.map((r) => r.setupMs!)),
      setupMinMs: Math.min(...ok.map((r) => r.setupMs!)),
      teardownMedianMs: median(ok.map((r) => r.teardownMs!)),
      teardownMinMs: Math.min(...ok.map((r) => r.teardownMs!)),
      setupPerContainerMs: median(ok.map((r) => r.setupMs!)) / n,
      teardownPerContainerMs: median(ok.map((r) => r.teardownMs!)) / n,
    };
    const p99 = ok.map((r) => r.setup?.loopP99).filter((x): x is number => x !== undefined);
    if (p99.length) s.loopP99Ms = median(p99);
    const rss = ok.map((r) => r.setup?.peakRssMB).filter((x): x is number => x !== undefined);
    if (rss.length) s.peakRssMB = Math.max(...rss);
    stats.push(s);
  }
}

// The bulk path each implementation is compared with: the one made the same way (IPv6 on or off).
const baselineOf = (impl: { ipv6Off?: boolean }) => (impl.ipv6Off ? 'rtnetlink-bulk-ipv6off' : 'rtnetlink-bulk');
const runOf = (id: string, n: number, rep: number) => runs.find((r) => r.ok && r.id === id && r.n === n && r.rep === rep);

// Ratios of the bulk path to every peer, per repetition (same machine state), then the median.
const ratios: Record<string, Record<string, { setup: number; teardown: number }>> = {};
for (const n of sizes) {
  for (const impl of runnable) {
    if (impl.id === baselineOf(impl)) continue;
    const pairs = [];
    for (let rep = 1; rep <= reps; rep++) {
      const a = runOf(baselineOf(impl), n, rep);
      const b = runOf(impl.id, n, rep);
      if (a && b) pairs.push({ setup: b.setupMs! / a.setupMs!, teardown: b.teardownMs! / a.teardownMs! });
    }
    if (pairs.length) {
      (ratios[`N=${n}`] ??= {})[impl.id] = { setup: median(pairs.map((p) => p.setup)), teardown: median(pairs.map((p) => p.teardown)) };
    }
  }
}

// Against the floor: per repetition, the bulk path's setup over the best C variant's (sequential,
// pipelined, 1 or 2 threads) made the same way, in the same repetition; then the median.
interface FloorRatio {
  n: number;
  ipv6: boolean;
  libraryMs: number;
  floorMs: number;
  floorIds: string[];
  ratio: number;
  perRep: number[];
}
const floorRatios: FloorRatio[] = [];
for (const ipv6Off of [false, true]) {
  const lib = ipv6Off ? 'rtnetlink-bulk-ipv6off' : 'rtnetlink-bulk';
  const floors = runnable.filter((i) => i.floor && !!i.ipv6Off === ipv6Off);
  for (const n of sizes) {
    const reps_ = [];
    for (let rep = 1; rep <= reps; rep++) {
      const a = runOf(lib, n, rep);
      const best = floors.map((f) => runOf(f.id, n, rep)).filter((r): r is Run => !!r).sort((x, y) => x.setupMs! - y.setupMs!)[0];
      if (a && best) reps_.push({ lib: a.setupMs!, floor: best.setupMs!, id: best.id });
    }
    if (reps_.length === 0) continue;
    const perRep = reps_.map((r) => r.lib / r.floor);
    floorRatios.push({
      n,
      ipv6: !ipv6Off,
      libraryMs: median(reps_.map((r) => r.lib)),
      floorMs: median(reps_.map((r) => r.floor)),
      floorIds: [...new Set(reps_.map((r) => r.id))],
      ratio: median(perRep),
      perRep,
    });
  }
}

// Memory and fds: apply + destroy of the largest N, 5 times in a row, against the baseline.
let cycles: { n: number; baseline: { rssMB: number; fds: number }; rounds: { rssMB: number; fds: number }[] } | undefined;
if (!smoke && runnable.some((i) => i.id === 'rtnetlink-bulk')) {
  const n = Math.max(...sizes);
  const r = spawnSync('scripts/sandbox', [process.execPath, '--expose-gc', '--import', 'tsx', 'benchmarks/lib-runner.ts', 'bulk', String(n), 'cycles'], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (line) cycles = { n, ...JSON.parse(line) };
  else console.error(`cycles run failed: ${r.stderr.slice(-500)}`);
}

const machine = { date: new Date().toISOString(), kernel: release(), cpus: cpus().length, cpu: cpus()[0]?.model ?? '', node: process.version };
mkdirSync(values.out!, { recursive: true });
const file = smoke ? 'smoke.json' : 'latest.json';
writeFileSync(`${values.out}/${file}`, JSON.stringify({ machine, sizes, reps, skipped, stats, ratios, floorRatios, cycles, runs }, null, 2) + '\n');
if (!smoke) writeFileSync(`${values.out}/w-setup.svg`, renderChart(stats, implementations, sizes, machine.date));

const label = (id: string) => implementations.find((i) => i.id === id)?.label ?? id;
console.log(`\nW(N) on ${machine.cpus} cpus, kernel ${machine.kernel}, ${machine.date}; median of ${reps} (ms per container)\n`);
console.log(`| implementation | ${sizes.map((n) => `setup N=${n}`).join(' | ')} | ${sizes.map((n) => `teardown N=${n}`).join(' | ')} | bulk is faster (setup, N=${sizes.at(-1)}) |`);
console.log(`|---|${sizes.map(() => '---:').join('|')}|${sizes.map(() => '---:').join('|')}|---:|`);
for (const impl of runnable) {
  const cell = (n: number, k: 'setupPerContainerMs' | 'teardownPerContainerMs') => {
    const s = stats.find((x) => x.id === impl.id && x.n === n);
    return s ? s[k].toFixed(2) : '—';
  };
  const r = ratios[`N=${sizes.at(-1)}`]?.[impl.id];
  console.log(`| ${label(impl.id)} | ${sizes.map((n) => cell(n, 'setupPerContainerMs')).join(' | ')} | ${sizes.map((n) => cell(n, 'teardownPerContainerMs')).join(' | ')} | ${r ? `${r.setup.toFixed(2)}×` : impl.id === baselineOf(impl) ? '1×' : '—'} |`);
}
if (floorRatios.length) {
  console.log(`\nSetup against the best C floor in the same repetition (median of the per-repetition ratios; target ≤ 1.15×):\n`);
  console.log('| W(N) | IPv6 | rtnetlink bulk (ms) | best C floor (ms) | best floor variant | ratio | per repetition |');
  console.log('|---|---|---:|---:|---|---:|---|');
  for (const f of floorRatios) {
    console.log(`| N=${f.n} | ${f.ipv6 ? 'on' : 'off'} | ${f.libraryMs.toFixed(1)} | ${f.floorMs.toFixed(1)} | ${f.floorIds.map(label).join(', ')} | ${f.ratio.toFixed(2)}× | ${f.perRep.map((x) => x.toFixed(2)).join(', ')} |`);
  }
}
for (const [id, why] of Object.entries(skipped)) console.log(`| ${label(id)} | skipped: ${why} |`);
const bulk = stats.filter((s) => s.id === 'rtnetlink-bulk');
for (const s of bulk) if (s.loopP99Ms !== undefined) console.log(`rtnetlink bulk N=${s.n}: event-loop delay p99 ${s.loopP99Ms.toFixed(1)} ms, peak RSS ${s.peakRssMB?.toFixed(0)} MB`);
if (cycles) {
  const last = cycles.rounds.at(-1)!;
  console.log(
    `apply+destroy N=${cycles.n} x${cycles.rounds.length}: RSS ${cycles.baseline.rssMB.toFixed(0)} -> ${cycles.rounds.map((r) => r.rssMB.toFixed(0)).join(', ')} MB; fds ${cycles.baseline.fds} -> ${cycles.rounds.map((r) => r.fds).join(', ')} (last: ${((last.rssMB / cycles.baseline.rssMB - 1) * 100).toFixed(0)}% RSS)`,
  );
}
console.log(`\nwrote ${values.out}/${file}${smoke ? '' : ` and ${values.out}/w-setup.svg`}`);
if (runs.some((r) => !r.ok)) process.exitCode = 1;
