// The addon's netlink path against the real kernel, fed requests mutated the way the decoder
// fuzzer mutates replies (RELIABILITY.md item 16, the native half): the kernel answers garbage
// with errors, dumps and ext-acks of every size, and the addon's send/receive/answer counting,
// its drop of forged datagrams, cancel and timeouts all run at once on several sockets. Under
// `npm run test:asan` (scripts/asan-build.sh) the addon is the ASan+UBSan build, and any
// memory error ends the run with a report; in `npm test` it is a plain robustness test.
//
// Only read-only requests are sent (RTM_GET*, NFT_MSG_GET*, the type stamped back after every
// mutation, one message per datagram): a mutated RTM_NEWLINK could carry IFLA_NET_NS_PID and
// create a device in the namespace of any process on the machine, outside the sandbox.
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import { type Mutation, decodeByType, mutationArb, mutate } from '../helpers/decoder-fuzz.js';

import { NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, parseMessages } from '../../lib/netlink/message.js';

const lib = await import('../../lib/index.js');
const { native } = await import('../../lib/native.js');

const NETLINK_ROUTE = 0;
const NETLINK_NETFILTER = 12;
const RTNLGRP_LINK = 1;
/** Read-only request types: RTM_GETLINK, GETADDR, GETROUTE, GETNSID; NFT_MSG_GETTABLE, GETCHAIN, GETRULE. */
const ROUTE_GETS = [18, 22, 26, 90];
const NFT_GETS = [0xa01, 0xa04, 0xa07];
const sanitized = process.env.RTNETLINK_SANITIZED === '1';
const ITERATIONS = 250; // per socket; four sockets

interface Base {
  protocol: number;
  type: number;
  bytes: Buffer;
}

/** The GET requests ip and nft sent while the fixtures were captured. */
function requestCorpus(): Base[] {
  const out: Base[] = [];
  const rtDir = new URL('../fixtures/rtnetlink/', import.meta.url);
  for (const f of readdirSync(rtDir).filter((n) => n.endsWith('.json'))) {
    const raw = JSON.parse(readFileSync(new URL(f, rtDir), 'utf8')) as { messages: { dir: string; hex: string }[] };
    for (const m of raw.messages) {
      const bytes = Buffer.from(m.hex, 'hex');
      if (m.dir === 'send' && ROUTE_GETS.includes(bytes.readUInt16LE(4))) out.push({ protocol: NETLINK_ROUTE, type: bytes.readUInt16LE(4), bytes });
    }
  }
  const nftDir = new URL('../fixtures/nftables/', import.meta.url);
  for (const f of readdirSync(nftDir).filter((n) => n.endsWith('.request.bin'))) {
    const bytes = readFileSync(new URL(f, nftDir));
    out.push({ protocol: NETLINK_NETFILTER, type: bytes.readUInt16LE(4), bytes });
  }
  return out;
}

/** One message filling the datagram, of a read-only type, whatever the mutations did. */
function restamp(b: Buffer, type: number, seq: number): Buffer {
  const len = Math.max(NLMSG_HDRLEN, b.length);
  const out = Buffer.alloc((len + 3) & ~3);
  b.copy(out);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt16LE(type, 4);
  out.writeUInt32LE(seq >>> 0, 8);
  out.writeUInt32LE(0, 12);
  return out;
}

interface Step {
  base: number;
  mutations: Mutation[];
  /** Offset of the answer range from the request's seq: 0 counts the answer, others do not. */
  shift: number;
  expected: number;
  count: number;
  timeoutMs: number;
  inline: boolean;
  cancelAfterMs: number;
}

const stepArb = (bases: number): fc.Arbitrary<Step> =>
  fc.record({
    base: fc.nat({ max: bases - 1 }),
    mutations: fc.array(mutationArb, { maxLength: 4 }),
    shift: fc.constantFrom(0, 0, 0, 0, 0, 0, 1, -1, 0x10000),
    expected: fc.constantFrom(1, 1, 1, 0),
    count: fc.constantFrom(1, 1, 2),
    // Short: a request the kernel ignores (no NLM_F_REQUEST) or an answer outside the range
    // holds a worker thread for the whole timeout.
    timeoutMs: fc.constantFrom(1, 3, 10),
    inline: fc.boolean(),
    cancelAfterMs: fc.constantFrom(-1, -1, -1, 0, 1),
  });

let nextJob = 0x7000_0000;

/** Every message of a real kernel answer must decode: the kernel does not send malformed ones. */
function decodeAll(replies: Buffer, where: string): number {
  const msgs = parseMessages(replies);
  for (const m of msgs) {
    try {
      decodeByType(m);
    } catch (e) {
      throw new Error(`${where}: the kernel's own ${m.type} message failed to decode: ${(e as Error).message}\n${replies.toString('hex')}`, { cause: e });
    }
  }
  return msgs.length;
}

/** Runs the steps on one socket; returns how many kernel messages came back. */
async function fuzzSocket(fd: number, bases: Base[], steps: Step[]): Promise<{ messages: number; errors: number }> {
  let messages = 0;
  let errors = 0;
  let seq = 1 + (fd << 20);
  for (const s of steps) {
    const base = bases[s.base]!;
    seq = (seq + 1) >>> 0 || 1;
    const request = restamp(mutate(base.bytes, s.mutations, bases.map((b) => b.bytes)), base.type, seq);
    const firstSeq = (seq + s.shift) >>> 0;
    try {
      let replies: Buffer;
      if (s.inline) {
        const r = native.transactInline(fd, request, firstSeq, s.count, s.expected);
        replies = r.replies;
        expect(r.answered).toBeLessThanOrEqual(Math.max(s.count, s.expected));
        if (!r.complete) replies = Buffer.concat([replies, await native.transact(fd, Buffer.alloc(0), firstSeq, s.count, s.expected - r.answered, s.timeoutMs, ++nextJob)]);
      } else {
        const job = ++nextJob;
        const pending = native.transact(fd, request, firstSeq, s.count, s.expected, s.timeoutMs, job);
        if (s.cancelAfterMs >= 0) setTimeout(() => native.cancel(job), s.cancelAfterMs);
        replies = await pending;
      }
      messages += decodeAll(replies, `${base.type.toString(16)} request ${request.toString('hex')}`);
    } catch (e) {
      // A send the kernel refuses outright (EINVAL, EMSGSIZE ...) is a NetlinkError; nothing else.
      if (!(e instanceof lib.NetlinkError)) throw e;
      errors++;
    }
  }
  return { messages, errors };
}

/**
 * A clean dump on the socket still works: leftovers from the fuzz are skipped by seq. A fuzzed
 * dump whose transact ended early (timeout, cancel, expected 0) is still running in the kernel,
 * which refuses a second dump with EBUSY until the first is read to its end, which the reads
 * of that very transact do; so the second try gets the dump.
 */
async function stillWorks(fd: number, protocol: number): Promise<void> {
  const type = protocol === NETLINK_ROUTE ? 18 : 0xa01;
  const body = protocol === NETLINK_ROUTE ? Buffer.alloc(16) : Buffer.from([0, 0, 0, 0]);
  const outcomes: (string | number)[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const seq = 0x6000_0000 + fd * 8 + attempt;
    const request = restamp(Buffer.concat([Buffer.alloc(NLMSG_HDRLEN), body]), type, seq);
    request.writeUInt16LE(0x301, 6); // NLM_F_REQUEST | NLM_F_DUMP
    const replies = await native.transact(fd, request, seq, 1, 1, 5_000, ++nextJob);
    const end = parseMessages(replies).find((m) => m.seq === seq && (m.type === NLMSG_DONE || m.type === NLMSG_ERROR));
    const outcome = end === undefined ? 'no answer' : end.type === NLMSG_DONE ? NLMSG_DONE : `error ${end.payload.readInt32LE(0)}`;
    outcomes.push(outcome);
    if (outcome !== 'error -16') break;
  }
  expect(outcomes.at(-1), `dump on protocol ${protocol}: ${outcomes.join(', ')}`).toBe(NLMSG_DONE);
}

describe.skipIf(!inSandbox)(`the addon's netlink path under fuzzed requests${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeAll(async () => {
    resetSandbox();
    // Something for the dumps to show: a bridge with an address, a veth on it, routes, a table.
    await lib.createBridge('fz-br', { up: true });
    await lib.addAddress('fz-br', '10.77.0.1/24');
    const ns = await lib.createNamespace('fz-ns');
    await lib.createVethPair({ name: 'fz-h', master: 'fz-br', up: true, peer: { name: 'eth0', netns: ns } });
    await lib.addRoute({ to: '10.78.0.0/16', via: '10.77.0.2' });
    await lib.addMasquerade({ source: '10.77.0.0/24' });
    ns.close();
  });
  afterAll(() => resetSandbox());

  it(`runs the ${sanitized ? 'sanitized addon (RTNETLINK_SANITIZED=1, scripts/asan-build.sh)' : 'regular addon (the sanitized one only under npm run test:asan)'}`, () => {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    const addon = [...new Set(maps.split('\n').map((l) => l.split(/\s+/)[5] ?? '').filter((p) => p.endsWith('.node')))];
    expect(addon.length).toBeGreaterThan(0);
    if (sanitized) {
      expect(maps).toMatch(/libasan\.so/);
      for (const file of addon) expect(readFileSync(file).includes('__asan_init')).toBe(true);
    } else {
      // The build under test is the one npm install made, not a leftover sanitizer build.
      for (const file of addon) expect(readFileSync(file).includes('__asan_init')).toBe(false);
    }
  });

  it('mutated GET requests on four sockets at once, with forged datagrams, cancels, timeouts and notifications', async () => {
    const corpus = requestCorpus();
    const route = corpus.filter((b) => b.protocol === NETLINK_ROUTE);
    const nft = corpus.filter((b) => b.protocol === NETLINK_NETFILTER);
    expect(route.length).toBeGreaterThan(10);
    expect(nft.length).toBeGreaterThan(2);

    const fds = await Promise.all([
      native.openNetlink(-1, NETLINK_ROUTE, []),
      native.openNetlink(-1, NETLINK_ROUTE, []),
      native.openNetlink(-1, NETLINK_ROUTE, []),
      native.openNetlink(-1, NETLINK_NETFILTER, []),
    ]);
    // Netlink ports are per protocol: one forger for each.
    const forgers = [await native.openNetlink(-1, NETLINK_ROUTE, []), await native.openNetlink(-1, NETLINK_NETFILTER, [])];
    const watcher = await native.openNetlink(-1, NETLINK_ROUTE, [RTNLGRP_LINK]);
    const monitor = await lib.monitorLinks();
    let events = 0;
    monitor.on('link', () => events++);
    let fuzzing = true;
    const background: Promise<unknown>[] = [];
    try {
      // Another process's port sending garbage (and copies of real answers) to every socket:
      // the addon must drop all of it (sender port != 0), and keep counting the real answers.
      const garbage = fc.sample(fc.uint8Array({ minLength: 16, maxLength: 200 }), { seed: 9, numRuns: 50 }).map((u) => Buffer.from(u));
      const forging = (async () => {
        for (let i = 0; fuzzing; i++) {
          const g = Buffer.from(garbage[i % garbage.length]!);
          g.writeUInt32LE(g.length, 0);
          g.writeUInt16LE(i % 2 ? NLMSG_ERROR : NLMSG_DONE, 4);
          fds.forEach((fd, k) => native.sendTo(forgers[k === 3 ? 1 : 0]!, g, native.portId(fd)));
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      // Notifications through both the libuv watcher and the worker-thread receive path.
      const churn = (async () => {
        for (let i = 0; fuzzing && i < 40; i++) {
          await lib.createBridge(`fz-c${i}`);
          await lib.deleteLink(`fz-c${i}`);
        }
      })();
      const receiving = (async () => {
        let got = 0;
        while (fuzzing) {
          const r = await native.receive(watcher, 20, ++nextJob);
          if (r) got += parseMessages(r).length;
        }
        return got;
      })();

      background.push(forging, churn, receiving);
      const results = await Promise.all(
        fds.map((fd, k) => {
          const bases = k === 3 ? nft : route;
          const steps = fc.sample(stepArb(bases.length), { seed: 100 + k, numRuns: ITERATIONS });
          return fuzzSocket(fd, bases, steps);
        }),
      );
      fuzzing = false;
      await Promise.all([forging, churn]);
      const received = await receiving;

      const messages = results.reduce((a, r) => a + r.messages, 0);
      // The kernel answered most requests: the fuzz reached the kernel and came back.
      expect(messages).toBeGreaterThan(ITERATIONS);
      expect(received + events).toBeGreaterThan(0);
      for (const [k, fd] of fds.entries()) await stillWorks(fd, k === 3 ? NETLINK_NETFILTER : NETLINK_ROUTE);
    } finally {
      // The loops use the sockets: stop them before closing (a failure above gets here early).
      fuzzing = false;
      await Promise.allSettled(background);
      monitor.close();
      for (const fd of [...fds, ...forgers, watcher]) native.close(fd);
    }
  }, 60_000);

  it('an answer with nothing in it is a usable empty Buffer (it was a detached ArrayBuffer)', async () => {
    const fd = await native.openNetlink(-1, NETLINK_ROUTE, []);
    try {
      // Without NLM_F_REQUEST the kernel ignores the message: nothing comes back.
      const ignored = restamp(Buffer.alloc(32), 18, 5);
      ignored.writeUInt16LE(0, 6);
      const inline = native.transactInline(fd, ignored, 5, 1, 1);
      expect(inline).toMatchObject({ complete: false, answered: 0 });
      const rest = await native.transact(fd, Buffer.alloc(0), 5, 1, 1, 5, ++nextJob);
      // What Connection.exchangeInline does with the two halves.
      expect(Buffer.concat([inline.replies, rest])).toEqual(Buffer.alloc(0));
    } finally {
      native.close(fd);
    }
  });

  it('the library on top still works afterwards', async () => {
    const links = await lib.listLinks();
    expect(links.map((l) => l.name)).toEqual(expect.arrayContaining(['lo', 'fz-br', 'fz-h']));
    expect((await lib.listMasquerades()).length).toBe(1);
  });
});
