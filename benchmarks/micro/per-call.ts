// Where a set link up's time goes, µs per change, on the JS thread's inline path, awaited one
// by one and as one change list of 64:
// - the public call (setLinkUp, or changeList().setLinkUp() 64 times and send());
// - the connection alone: the same requests, built, through a Connection whose transport
//   answers every message with an ACK at once, with no syscall (its queue, the microtask hops
//   that let one tick's calls share a send, the promise, reading the answers);
// - the bare exchange with the kernel through the addon, the library's own request bytes
//   (seqs rewritten), with no library code around it.
// The JS budget of a goal of 1.5× C is 0.5× C above the bare exchange, when the exchange costs
// what C's does: the connection alone shows how much of that the API's own JS uses up.
// Interleaved rounds in one process; medians.
//   npm run build && scripts/sandbox npx tsx benchmarks/micro/per-call.ts [--count 20000] [--rounds 5]
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { median } from '../lib/stats.js';
import type { Transport } from '../../lib/connection.js';
import { libraryModule, loadLibrary } from '../lib/library.js';

// The shipped build (dist/), as users run it, or lib/ with RTNETLINK_BENCH_SOURCE=1.
const rt = await loadLibrary();
const { linkUpRequest } = await libraryModule<typeof import('../../lib/route/links.js')>('route/links');
const { send } = await libraryModule<typeof import('../../lib/target.js')>('target');
const { native } = await libraryModule<typeof import('../../lib/native.js')>('native');
const { Connection, encodeForAddon } = await libraryModule<typeof import('../../lib/connection.js')>('connection');

const { values } = parseArgs({ options: { count: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' } } });
const count = Number(values.count);
const BATCH = 64;

execFileSync('ip', ['link', 'add', 'pc0', 'type', 'bridge']);
const index = (await rt.getLink('pc0')).index;
const fd = await native.openNetlink(-1, 0, []);

const ACK_LEN = 36;
/** Answers each message with a plain ACK (NLMSG_ERROR, error 0) for its seq, at once. */
const instant: Transport = {
  ready: true,
  transact: () => Promise.reject(new Error('every request here is inline')),
  transactInline(_request, firstSeq, messages, expected) {
    const replies = Buffer.alloc(ACK_LEN * messages);
    for (let k = 0; k < messages; k++) {
      const at = ACK_LEN * k;
      replies.writeUInt32LE(ACK_LEN, at);
      replies.writeUInt16LE(2, at + 4); // NLMSG_ERROR
      replies.writeUInt16LE(0x100, at + 6); // NLM_F_CAPPED
      replies.writeUInt32LE(firstSeq + k, at + 8);
      replies.writeUInt32LE(16, at + 20); // after error 0: the echoed header's length
    }
    return { replies, complete: true, answered: expected };
  },
  cancel() {},
  close() {},
};
const stub = new Connection(instant);

/** The library's bytes for `n` link-ups, and the bare exchange of them (one sendmsg). */
function bareExchange(n: number): () => void {
  const { bytes, starts } = encodeForAddon(Array.from({ length: n }, () => linkUpRequest(index)));
  const answers = Buffer.alloc(64 * 1024);
  let seq = 0;
  return () => {
    const first = seq + 1;
    for (let k = 0; k < n; k++) bytes.writeUInt32LE(++seq, starts[k]! + 8);
    const got = native.transactInline(fd, bytes, first, n, n, answers);
    if (typeof got !== 'number') throw new Error('the kernel did not answer within send()');
    // Every answer an ACK, as the library's calls check theirs.
    for (let off = 0, len; off < got; off += len) {
      len = answers.readUInt32LE(off);
      if (len < 20 || answers.readInt32LE(off + 16) !== 0) throw new Error(`not an ACK at ${off}: length ${len}, error ${answers.readInt32LE(off + 16)}`);
    }
  };
}
const bareOne = bareExchange(1);
const bareBatch = bareExchange(BATCH);

/** Each variant runs one operation (or one batch) and says how many changes that was. */
const variants: Record<string, { changes: number; run: () => Promise<unknown> }> = {
  'awaited: setLinkUp(index), the public call': { changes: 1, run: () => rt.setLinkUp(index) },
  'awaited: the connection alone (built request, instant transport)': { changes: 1, run: () => send(stub, linkUpRequest(index)) },
  'awaited: the bare exchange (addon, kernel)': { changes: 1, run: async () => bareOne() },
  [`change list of ${BATCH}: the public changeList()`]: {
    changes: BATCH,
    run: async () => {
      const list = rt.changeList();
      for (let k = 0; k < BATCH; k++) list.setLinkUp(index);
      if ((await list.send()).failed) throw new Error('a change failed');
    },
  },
  [`change list of ${BATCH}: the connection alone (requestEach, instant transport)`]: {
    changes: BATCH,
    run: () => stub.requestEach(Array.from({ length: BATCH }, () => linkUpRequest(index)), { operation: 'change list' }),
  },
  [`change list of ${BATCH}: the bare exchange (one sendmsg)`]: { changes: BATCH, run: async () => bareBatch() },
};

// Warm-up: every variant's loop optimized before it is timed.
for (const { changes, run } of Object.values(variants)) for (let i = 0; i < count / changes; i++) await run();
// Wall time, and the process's CPU time (user + system), which a busy machine inflates less.
const wall = new Map<string, number[]>();
const cpu = new Map<string, number[]>();
const add = (m: Map<string, number[]>, name: string, x: number) => m.set(name, [...(m.get(name) ?? []), x]);
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, { changes, run }] of Object.entries(variants)) {
    const loops = Math.ceil(count / changes);
    const c = process.cpuUsage();
    const t = performance.now();
    for (let i = 0; i < loops; i++) await run();
    add(wall, name, ((performance.now() - t) * 1000) / (loops * changes));
    const used = process.cpuUsage(c);
    add(cpu, name, (used.user + used.system) / (loops * changes));
  }
}
const shown = (xs: number[]) => median(xs).toFixed(2);
console.log(`| set link up, µs per change (median of ${values.rounds} rounds of ${count} changes) | wall | CPU |\n|---|---:|---:|`);
for (const [name, xs] of wall) console.log(`| ${name} | ${shown(xs)} | ${shown(cpu.get(name)!)} |`);
stub.close();
native.close(fd);
process.exit(0);
