// Single operations from JS against the same in C (benchmarks/micro/micro.c): µs per op,
// awaited one by one and in batches, and against C that hands each batch to an I/O thread as the
// addon must. Each measurement in its own sandbox, interleaved.
//   npx tsx benchmarks/micro/micro.ts [--count 20000] [--reps 3]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { count: { type: 'string', default: '20000' }, reps: { type: 'string', default: '3' }, inner: { type: 'string' } } });

if (values.inner) {
  // Inside a sandbox: one JS measurement on link 2 (the bridge m0 the wrapper made), as in C.
  const [op, batchText] = values.inner.split(':') as [string, string];
  const rt = await import('../../lib/index.js');
  const count = Number(values.count);
  const batch = Number(batchText);
  const one = (k: number) => (op === 'up' ? rt.setLinkUp(2) : k % 2 ? rt.deleteAddress(2, '10.9.0.1/24') : rt.addAddress(2, '10.9.0.1/24'));
  for (let k = 0; k < 2000; k++) await one(k); // warm the JIT and the threads
  const t = performance.now();
  for (let done = 0; done < count; done += batch) {
    if (batch === 1) await one(done);
    else await Promise.all(Array.from({ length: batch }, (_, k) => one(done + k)));
  }
  console.log(JSON.stringify({ usPerOp: ((performance.now() - t) * 1000) / count }));
  process.exit(0);
}

const bin = 'benchmarks/micro/micro';
// Rebuilt when the source is newer: a binary from before --hop would ignore it.
if (!existsSync(bin) || statSync(bin).mtimeMs < statSync('benchmarks/micro/micro.c').mtimeMs) {
  execFileSync('cc', ['-O2', '-pthread', '-o', bin, 'benchmarks/micro/micro.c']);
}
const count = values.count!;
const run = (argv: string[]) => {
  const r = spawnSync('scripts/sandbox', ['sh', '-c', 'ip link add m0 type bridge && exec "$@"', 'x', ...argv], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!).usPerOp as number;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const rows: string[] = [];
for (const op of ['addr', 'up']) {
  for (const batch of [1, 64]) {
    const c: number[] = [];
    const hop: number[] = [];
    const js: number[] = [];
    for (let r = 0; r < Number(values.reps); r++) {
      c.push(run([bin, op, count, String(batch)]));
      hop.push(run([bin, op, count, String(batch), '--hop']));
      js.push(run([process.execPath, '--import', 'tsx', 'benchmarks/micro/micro.ts', '--inner', `${op}:${batch}`, '--count', count]));
    }
    const name = `${op === 'addr' ? 'add/delete address' : 'set link up'}, ${batch === 1 ? 'awaited one by one' : `batch of ${batch}`}`;
    rows.push(`| ${name} | ${median(c).toFixed(1)} | ${median(hop).toFixed(1)} | ${median(js).toFixed(1)} | ${(median(js) / median(c)).toFixed(2)}× | ${(median(js) / median(hop)).toFixed(2)}× |`);
  }
}
console.log('| operation | C µs/op | C through an I/O thread µs/op | rtnetlink µs/op | ratio to C | ratio to C through a thread |\n|---|---:|---:|---:|---:|---:|\n' + rows.join('\n'));
