// What the library's bulk path asks of the kernel beyond the C floor, measured on the floor
// itself: NLM_F_ECHO on every veth create (how the library learns the peer's index) and the
// ownership mark (lo's link group set from inside each new namespace). W(N) setup, interleaved:
// the 2-thread pipelined floor plain, with --echo, with --mark, with both, and the library's
// bulk path; each run in its own sandbox, the kernel settled before each. Prints the medians.
//   npx tsx benchmarks/floor-extras.ts [--n 200] [--reps 8]
import { parseArgs } from 'node:util';
import { floorSetup, librarySetup, runSandboxed } from './lib/sandboxed.js';
import { median } from './lib/stats.js';
import { letKernelSettle } from './lib/settle.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '200' }, reps: { type: 'string', default: '8' } } });
const n = Number(values.n);
const reps = Number(values.reps);

const floor = (extra: string[]) => floorSetup(n, ['--pipelined', '--threads=2', ...extra]);
const variants: [string, string[]][] = [
  ['C floor', floor([])],
  ['C floor + echo', floor(['--echo'])],
  ['C floor + mark', floor(['--mark'])],
  ['C floor + echo + mark', floor(['--echo', '--mark'])],
  ['rtnetlink bulk', librarySetup(n)],
];
const times = new Map<string, number[]>(variants.map(([name]) => [name, []]));
for (let rep = 1; rep <= reps; rep++) {
  for (const [name, argv] of variants) {
    letKernelSettle(n);
    const ms = runSandboxed(argv).ms!;
    times.get(name)!.push(ms);
    console.error(`rep ${rep} ${name}: ${ms.toFixed(1)} ms`);
  }
}
const base = median(times.get('C floor')!);
console.log(`W(${n}) setup, median of ${reps} interleaved runs\n\n| variant | ms | to the plain floor |\n|---|---:|---:|`);
for (const [name, xs] of times) console.log(`| ${name} | ${median(xs).toFixed(1)} | ${(median(xs) / base).toFixed(2)}× |`);
