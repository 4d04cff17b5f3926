// Single operations from JS against the same in C (benchmarks/micro/micro.c): µs per op,
// awaited one by one and in batches, and against C that hands each batch to an I/O thread as the
// addon must. Batches from JS are measured as 64 calls awaited together and as one ChangeList.
// "The addon alone" sends the library's request bytes through the addon in a plain loop, with no
// library code per op: the least a JS API over this addon can cost.
// Each measurement in its own sandbox, interleaved. The JS side is the shipped build
// (dist/, `npm run build` first) under plain Node, as users run it; --source runs lib/ through tsx.
//   npx tsx benchmarks/micro/micro.ts [--count 20000] [--reps 3] [--source]
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { assertFreshDist } from '../lib/library.js';
import { runSandboxed } from '../lib/sandboxed.js';
import { median } from '../lib/stats.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '20000' }, reps: { type: 'string', default: '3' }, source: { type: 'boolean', default: false } } });

const child = fileURLToPath(new URL('./micro-child.mjs', import.meta.url));
const distEntry = new URL('../../dist/index.js', import.meta.url);
if (!values.source) assertFreshDist();
const jsArgv = (op: string, batch: number, mode: Mode) => [
  process.execPath,
  ...(values.source ? ['--import', 'tsx'] : []),
  child, op, String(batch), values.count!, mode,
];
process.env.RTNETLINK_MICRO_ENTRY = values.source ? new URL('../../lib/index.ts', import.meta.url).href : distEntry.href;

const bin = 'benchmarks/micro/micro';
// Rebuilt when the source is newer: a binary from before --hop would ignore it.
if (!existsSync(bin) || statSync(bin).mtimeMs < statSync('benchmarks/micro/micro.c').mtimeMs) {
  execFileSync('cc', ['-O2', '-pthread', '-o', bin, 'benchmarks/micro/micro.c']);
}
const count = values.count!;
const run = (argv: string[]) => runSandboxed(['sh', '-c', 'ip link add m0 type bridge && exec "$@"', 'x', ...argv]).usPerOp!;
const rows: string[] = [];
// A batch from JS is either 64 calls awaited together, or one ChangeList of 64 changes; 'bare'
// is the addon alone with the library's request bytes (micro-child.mjs).
type Mode = 'calls' | 'list' | 'bare';
const batches: { batch: number; modes: { mode: Mode; name: string }[] }[] = [
  { batch: 1, modes: [{ mode: 'calls', name: 'awaited one by one' }] },
  {
    batch: 64,
    modes: [
      { mode: 'calls', name: 'batch of 64 calls (Promise.all)' },
      { mode: 'list', name: 'batch of 64 in one changeList()' },
    ],
  },
];
for (const op of ['addr', 'up']) {
  for (const { batch, modes } of batches) {
    const c: number[] = [];
    const hop: number[] = [];
    const bare: number[] = [];
    const js = new Map<Mode, number[]>(modes.map((m) => [m.mode, []]));
    for (let r = 0; r < Number(values.reps); r++) {
      c.push(run([bin, op, count, String(batch)]));
      hop.push(run([bin, op, count, String(batch), '--hop']));
      bare.push(run(jsArgv(op, batch, 'bare')));
      for (const m of modes) js.get(m.mode)!.push(run(jsArgv(op, batch, m.mode)));
    }
    for (const { mode, name: variant } of modes) {
      const name = `${op === 'addr' ? 'add/delete address' : 'set link up'}, ${variant}`;
      const [cm, hm, bm, jm] = [median(c), median(hop), median(bare), median(js.get(mode)!)];
      rows.push(`| ${name} | ${cm.toFixed(1)} | ${hm.toFixed(1)} | ${bm.toFixed(1)} (${(bm / cm).toFixed(2)}×) | ${jm.toFixed(1)} | ${(jm / cm).toFixed(2)}× | ${(jm / hm).toFixed(2)}× |`);
    }
  }
}
console.log(
  '| operation | C µs/op | C through an I/O thread µs/op | the addon alone µs/op (to C) | rtnetlink µs/op | ratio to C | ratio to C through a thread |\n|---|---:|---:|---:|---:|---:|---:|\n' +
    rows.join('\n'),
);
