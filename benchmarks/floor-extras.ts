// What the library's bulk path asks of the kernel beyond the C floor, measured on the floor
// itself: NLM_F_ECHO on every veth create (how the library learns the peer's index) and the
// ownership mark (lo's link group set from inside each new namespace). W(N) setup, interleaved:
// the 2-thread pipelined floor plain, with --echo, with --mark, with both, and the library's
// bulk path; each run in its own sandbox, the kernel settled before each. Prints the medians.
//   npx tsx benchmarks/floor-extras.ts [--n 200] [--reps 8]
import { execFileSync, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { letKernelSettle } from './lib/settle.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '200' }, reps: { type: 'string', default: '8' } } });
const n = Number(values.n);
const reps = Number(values.reps);
execFileSync('make', ['-s', '-C', 'benchmarks/peers/c']);

const floor = (extra: string[]) => ['benchmarks/peers/c/floor', '--pipelined', '--threads=2', ...extra, String(n), 'setup'];
const variants: [string, string[]][] = [
  ['C floor', floor([])],
  ['C floor + echo', floor(['--echo'])],
  ['C floor + mark', floor(['--mark'])],
  ['C floor + echo + mark', floor(['--echo', '--mark'])],
  ['rtnetlink bulk', [process.execPath, '--import', 'tsx', 'benchmarks/lib-runner.ts', 'bulk', String(n), 'setup']],
];
const times = new Map<string, number[]>(variants.map(([name]) => [name, []]));
for (let rep = 1; rep <= reps; rep++) {
  for (const [name, argv] of variants) {
    letKernelSettle(n);
    const r = spawnSync('scripts/sandbox', argv, { encoding: 'utf8' });
    const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
    if (r.status !== 0 || !line) throw new Error(`${name}: ${r.stderr.slice(-1000)}`);
    const ms = (JSON.parse(line) as { ms: number }).ms;
    times.get(name)!.push(ms);
    console.error(`rep ${rep} ${name}: ${ms.toFixed(1)} ms`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const base = median(times.get('C floor')!);
console.log(`W(${n}) setup, median of ${reps} interleaved runs\n\n| variant | ms | to the plain floor |\n|---|---:|---:|`);
for (const [name, xs] of times) console.log(`| ${name} | ${median(xs).toFixed(1)} | ${(median(xs) / base).toFixed(2)}× |`);
