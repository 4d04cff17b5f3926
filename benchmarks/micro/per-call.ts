// Where an awaited single operation's time goes, µs per call (set link up, on the JS thread's
// inline path): the public call; the same request, already built, through the connection (its
// queue, the microtask hops that let one tick's calls share a sendmsg, the promise, decoding
// the answer); and the bare exchange with the kernel through the addon. Interleaved rounds in
// one process; medians.
//   npm run build && scripts/sandbox npx tsx benchmarks/micro/per-call.ts [--count 20000] [--rounds 5]
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { median } from '../lib/stats.js';
import type { Connection } from '../../lib/connection.js';
import { libraryModule, loadLibrary } from '../lib/library.js';

// The shipped build (dist/), as users run it, or lib/ with RTNETLINK_BENCH_SOURCE=1.
const rt = await loadLibrary();
const { linkUpRequest } = await libraryModule<typeof import('../../lib/route/links.js')>('route/links');
const { send, withConnection } = await libraryModule<typeof import('../../lib/target.js')>('target');
const { native } = await libraryModule<typeof import('../../lib/native.js')>('native');

const { values } = parseArgs({ options: { count: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' } } });
const count = Number(values.count);

execFileSync('ip', ['link', 'add', 'pc0', 'type', 'bridge']);
const index = (await rt.getLink('pc0')).index;
let conn: Connection | undefined;
await withConnection(undefined, async (c) => {
  conn = c;
});
const fd = await native.openNetlink(-1, 0, []);
// The library's own bytes for the same request, encoded once (seq set per exchange).
const { encodeForAddon } = await libraryModule<typeof import('../../lib/connection.js')>('connection');
const request = encodeForAddon([linkUpRequest(index)]).bytes;
const answers = Buffer.alloc(64 * 1024);
let seq = 0;

const variants: Record<string, () => Promise<unknown>> = {
  'setLinkUp(index), the public call': () => rt.setLinkUp(index),
  'the same request, built, through the connection': () => send(conn!, linkUpRequest(index)),
  'the bare exchange (addon, kernel)': async () => {
    request.writeUInt32LE(++seq, 8);
    const got = native.transactInline(fd, request, seq, 1, 1, answers);
    if (typeof got !== 'number' || answers.readInt32LE(16) !== 0) throw new Error('the kernel refused the request');
  },
};

for (const run of Object.values(variants)) for (let i = 0; i < 3000; i++) await run();
// Wall time, and the process's CPU time (user + system), which a busy machine inflates less.
const wall = new Map<string, number[]>();
const cpu = new Map<string, number[]>();
const add = (m: Map<string, number[]>, name: string, x: number) => m.set(name, [...(m.get(name) ?? []), x]);
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, run] of Object.entries(variants)) {
    const c = process.cpuUsage();
    const t = performance.now();
    for (let i = 0; i < count; i++) await run();
    add(wall, name, ((performance.now() - t) * 1000) / count);
    const used = process.cpuUsage(c);
    add(cpu, name, (used.user + used.system) / count);
  }
}
const shown = (xs: number[]) => median(xs).toFixed(2);
console.log(`| awaited set link up, µs per call (median of ${values.rounds} rounds of ${count}) | wall | CPU |\n|---|---:|---:|`);
for (const [name, xs] of wall) console.log(`| ${name} | ${shown(xs)} | ${shown(cpu.get(name)!)} |`);
native.close(fd);
process.exit(0);
