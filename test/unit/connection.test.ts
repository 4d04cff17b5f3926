// The connection layer against an in-memory kernel (DESIGN.md "Tests" item 2): seq matching,
// pipelining, multipart dumps, DUMP_INTR, transport failures, timeouts, malformed replies,
// abort and close. Test names carry the RELIABILITY.md item they cover.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DumpInterruptedError, type Encoder, type RequestOptions } from '../../lib/connection.js';
import { ClosedError, NetlinkError, TimeoutError } from '../../lib/errors.js';
import { AttrReader, AttrWriter, DecodeError, EncodeError, readString } from '../../lib/netlink/attributes.js';
import {
  NLMSG_ERROR,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_ECHO,
  NLM_F_EXCL,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  writeMessage,
  type NetlinkMessage,
} from '../../lib/netlink/message.js';
import {
  InlineFakeKernel,
  ack,
  datagram,
  deferred,
  done,
  forged,
  message,
  multi,
  syscallError,
  type Handler,
} from '../helpers/fake-kernel.js';
import { IFINFOMSG_LEN, IFLA_IFNAME, RTM_NEWLINK, closeConnections, getLinks, link, op, setup, setupInline } from '../helpers/connection-fixtures.js';

// ---- fixtures -------------------------------------------------------------------------------

function nameOf(m: NetlinkMessage): string | undefined {
  for (const a of new AttrReader(m.payload.subarray(IFINFOMSG_LEN))) if (a.type === IFLA_IFNAME) return readString(a.data);
  return undefined;
}

/** An ifinfomsg carrying ifindex `index` (and a name), as in a link dump. */
function linkPayload(index: number, name = `if${index}`): Buffer {
  const w = new AttrWriter();
  w.w.zeros(IFINFOMSG_LEN);
  w.w.buf.writeInt32LE(index, 4);
  w.string(IFLA_IFNAME, name);
  return w.w.take();
}

const indexOf = (m: NetlinkMessage): number => m.payload.readInt32LE(4);

const isDump = (m: NetlinkMessage): boolean => (m.flags & NLM_F_DUMP) === NLM_F_DUMP;

afterEach(closeConnections);

async function rejection(p: Promise<unknown>): Promise<any> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
}

const ticks = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

// ---- acks and kernel errors -----------------------------------------------------------------

describe('acks and kernel errors', () => {
  it('sends one request with NLM_F_REQUEST|NLM_F_ACK and resolves on its ACK', async () => {
    const { kernel, conn } = setup();
    const reply = await conn.request(link('veth0'), op());
    expect(reply).toEqual({ messages: [] });
    expect(kernel.calls).toHaveLength(1);
    const [call] = kernel.calls;
    expect(call).toMatchObject({ count: 1, expected: 1, outcome: 'answered' });
    const sent = call!.messages[0]!;
    expect(sent.seq).toBe(call!.firstSeq);
    expect(sent.flags).toBe(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    expect(nameOf(sent)).toBe('veth0');
  });

  it('returns the messages the kernel sends before the ACK (NLM_F_ECHO)', async () => {
    const { conn } = setup((reqs) => [message(RTM_NEWLINK, 0, reqs[0]!.seq, linkPayload(7, 'veth0')), ack(reqs[0]!.seq)]);
    const reply = await conn.request(link('veth0', RTM_NEWLINK, NLM_F_CREATE | NLM_F_ECHO), op());
    expect(reply.messages).toHaveLength(1);
    expect(indexOf(reply.messages[0]!)).toBe(7);
    expect(nameOf(reply.messages[0]!)).toBe('veth0');
  });

  it('item 9: NLMSG_ERROR with an errno rejects with NetlinkError naming the operation and object', async () => {
    const { conn } = setup((reqs) => [ack(reqs[0]!.seq, -17)]);
    const e = await rejection(conn.request(link('veth0'), op()));
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e).toMatchObject({ code: 'EEXIST', errno: -17, syscall: 'sendmsg', operation: 'RTM_NEWLINK', object: 'veth0' });
    expect(e.message).toBe("EEXIST: file already exists, RTM_NEWLINK 'veth0'");
    expect(e.kernelMessage).toBeUndefined();
  });

  // The request is 16 (nlmsghdr) + 16 (ifinfomsg) + 12 (IFLA_IFNAME "veth0") bytes; the
  // kernel's offset points at IFLA_IFNAME.
  const ifnameOffset = 32;

  it('item 9: extended ack text and bad-attribute offset, NLM_F_CAPPED form', async () => {
    const { conn } = setup((reqs) => {
      const reply = ack(reqs[0]!.seq, -22, { message: 'Invalid interface name', offset: ifnameOffset });
      // Only the request header is echoed: 4 (error) + 16 (header) + TLVs.
      expect(reply.readUInt16LE(6)).toBe(NLM_F_CAPPED | NLM_F_ACK_TLVS);
      return [reply];
    });
    const e = await rejection(conn.request(link('veth0'), op()));
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e).toMatchObject({ code: 'EINVAL', errno: -22, kernelMessage: 'Invalid interface name', badAttributeOffset: ifnameOffset });
    expect(e.message).toBe("EINVAL: invalid argument, RTM_NEWLINK 'veth0': Invalid interface name");
  });

  it('item 9: extended ack after the whole request echoed back (no NLM_F_CAPPED)', async () => {
    let echoedLength = 0;
    const { conn } = setup((reqs) => {
      const reply = ack(reqs[0]!, -22, { message: 'Invalid interface name', offset: ifnameOffset }, { capped: false });
      echoedLength = reply.length;
      return [reply];
    });
    const e = await rejection(conn.request(link('veth0'), op()));
    expect(echoedLength).toBeGreaterThan(16 + 4 + 44); // the 44-byte request really is in there
    expect(e).toMatchObject({ code: 'EINVAL', kernelMessage: 'Invalid interface name', badAttributeOffset: ifnameOffset });
  });

  it('item 9: a warning on a successful ACK resolves with it and emits "warning", not an error', async () => {
    const { conn } = setup((reqs) => [ack(reqs[0]!.seq, 0, { message: 'IFLA_MTU ignored for this kind' })]);
    const events: unknown[] = [];
    conn.on('warning', (w) => events.push(w));
    const reply = await conn.request(link('veth0'), op());
    expect(reply).toEqual({ messages: [], warning: 'IFLA_MTU ignored for this kind' });
    expect(events).toEqual([{ operation: 'RTM_NEWLINK', object: 'veth0', message: 'IFLA_MTU ignored for this kind' }]);
  });

  it('item 10: EPERM says which capability is missing', async () => {
    const { conn } = setup((reqs) => [ack(reqs[0]!.seq, -1)]);
    const e = await rejection(conn.request(link('veth0'), op()));
    expect(e).toMatchObject({ code: 'EPERM', errno: -1, operation: 'RTM_NEWLINK' });
    expect(e.message).toBe("EPERM: operation not permitted, RTM_NEWLINK 'veth0' (needs CAP_NET_ADMIN)");
  });
});

// ---- dumps ----------------------------------------------------------------------------------

/** A kernel that answers every dump with `count` links, `perDatagram` per datagram. */
function dumpKernel(count: number, perDatagram: number, flags = 0): Handler {
  return (reqs) => {
    const seq = reqs[0]!.seq;
    const out: Buffer[] = [];
    for (let i = 0; i < count; i += perDatagram) {
      const msgs: Buffer[] = [];
      for (let j = i; j < Math.min(count, i + perDatagram); j++) msgs.push(multi(RTM_NEWLINK, seq, linkPayload(j + 1), flags));
      out.push(datagram(...msgs));
    }
    out.push(done(seq, NLM_F_MULTI | flags));
    return out;
  };
}

describe('dumps', () => {
  it('collects a multipart dump across several datagrams up to NLMSG_DONE', async () => {
    const { kernel, conn } = setup(dumpKernel(12, 4));
    const links = await conn.dump(getLinks, { operation: 'RTM_GETLINK' });
    expect(links.map(indexOf)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const sent = kernel.sent[0]!;
    expect(sent.flags & (NLM_F_REQUEST | NLM_F_DUMP)).toBe(NLM_F_REQUEST | NLM_F_DUMP);
    expect(sent.flags & NLM_F_ACK).toBe(0);
  });

  it('waits for NLMSG_DONE when it comes in a later datagram than the data', async () => {
    const { kernel, conn } = setup((reqs) => {
      const seq = reqs[0]!.seq;
      setTimeout(() => kernel.push(multi(RTM_NEWLINK, seq, linkPayload(2))), 10);
      setTimeout(() => kernel.push(done(seq)), 20);
      return [multi(RTM_NEWLINK, seq, linkPayload(1))];
    });
    const links = await conn.dump(getLinks, { operation: 'RTM_GETLINK', timeout: 2000 });
    expect(links.map(indexOf)).toEqual([1, 2]);
  });

  it('rejects with the error NLMSG_DONE carries', async () => {
    const { conn } = setup((reqs) => [
      multi(RTM_NEWLINK, reqs[0]!.seq, linkPayload(1)),
      done(reqs[0]!.seq, NLM_F_MULTI, -90, { message: 'dump buffer too small' }),
    ]);
    const e = await rejection(conn.dump(getLinks, { operation: 'RTM_GETLINK' }));
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e).toMatchObject({ code: 'EMSGSIZE', errno: -90, syscall: 'recvmsg', kernelMessage: 'dump buffer too small' });
  });

  it('rejects when the kernel refuses the dump with NLMSG_ERROR', async () => {
    const { conn } = setup((reqs) => [ack(reqs[0]!.seq, -22, { message: 'Invalid header for link dump' })]);
    const e = await rejection(conn.dump(getLinks, { operation: 'RTM_GETLINK' }));
    expect(e).toMatchObject({ code: 'EINVAL', kernelMessage: 'Invalid header for link dump' });
  });

  it('item 11: NLM_F_DUMP_INTR restarts the dump until a consistent one', async () => {
    let attempt = 0;
    const { kernel, conn } = setup((reqs) => {
      attempt++;
      // Attempts 1 and 2 see churn: the kernel flags the messages after the change and DONE.
      const seq = reqs[0]!.seq;
      if (attempt < 3) return [datagram(multi(RTM_NEWLINK, seq, linkPayload(1)), multi(RTM_NEWLINK, seq, linkPayload(99), NLM_F_DUMP_INTR)), done(seq, NLM_F_MULTI | NLM_F_DUMP_INTR)];
      return dumpKernel(3, 2)(reqs, kernel.calls.at(-1)!) as Buffer[];
    });
    const links = await conn.dump(getLinks, { operation: 'RTM_GETLINK' });
    expect(links.map(indexOf)).toEqual([1, 2, 3]);
    expect(kernel.calls).toHaveLength(3);
    const seqs = kernel.sent.map((m) => m.seq);
    expect(new Set(seqs).size).toBe(3); // each attempt is a new request, its own seq
    expect(kernel.sent.every(isDump)).toBe(true);
  });

  it('item 11: NLM_F_DUMP_INTR on every attempt → DumpInterruptedError with the partial data', async () => {
    let attempt = 0;
    const { kernel, conn } = setup((reqs) => {
      attempt++;
      const seq = reqs[0]!.seq;
      return [multi(RTM_NEWLINK, seq, linkPayload(attempt * 10), NLM_F_DUMP_INTR), done(seq, NLM_F_MULTI | NLM_F_DUMP_INTR)];
    });
    const e = await rejection(conn.dump(getLinks, { operation: 'RTM_GETLINK', retries: 2 }));
    expect(e).toBeInstanceOf(DumpInterruptedError);
    expect(e).toMatchObject({ code: 'ERR_NETLINK_DUMP_INTERRUPTED', operation: 'RTM_GETLINK', attempts: 3 });
    expect((e as DumpInterruptedError).partial.map(indexOf)).toEqual([30]); // the last attempt's data
    expect(kernel.calls).toHaveLength(3);
  });

  it('item 12: a dump of 10,000 messages is complete and in order', async () => {
    // 40 links per datagram is about what fits in the kernel's 32 KiB dump skb.
    const { conn } = setup(dumpKernel(10_000, 40));
    const links = await conn.dump(getLinks, { operation: 'RTM_GETLINK' });
    expect(links).toHaveLength(10_000);
    expect(links.every((m, i) => indexOf(m) === i + 1 && nameOf(m) === `if${i + 1}`)).toBe(true);
  });

  it('never puts two dumps in one sendmsg (the kernel would answer the second with EBUSY)', async () => {
    const { kernel, conn } = setup((reqs, call) => {
      const dumps = reqs.filter(isDump);
      return [...dumpKernel(call.jobId % 7, 3)(dumps, call) as Buffer[], ...reqs.filter((r) => !isDump(r)).map((r) => ack(r.seq))];
    });
    const [a, b, c] = await Promise.all([
      conn.dump(getLinks, { operation: 'RTM_GETLINK' }),
      conn.dump(getLinks, { operation: 'RTM_GETLINK' }),
      conn.request(link('veth0'), op()),
    ]);
    expect(kernel.calls.map((call) => call.messages.filter(isDump).length)).toEqual([1, 1]);
    expect(a.length).toBe(kernel.calls[0]!.jobId % 7);
    expect(b.length).toBe(kernel.calls[1]!.jobId % 7);
    expect(c).toEqual({ messages: [] });
  });
});

// ---- pipelining -----------------------------------------------------------------------------

describe('pipelining', () => {
  it('sends 100 requests issued in the same tick in one transact and matches answers by seq', async () => {
    const { kernel, conn } = setup((reqs) =>
      // Answered in reverse order, each with an echo of its own link; veth37 is refused.
      [...reqs].reverse().flatMap((r) => {
        const name = nameOf(r)!;
        if (name === 'veth37') return [ack(r.seq, -17)];
        return [message(RTM_NEWLINK, 0, r.seq, linkPayload(Number(name.slice(4)), name)), ack(r.seq)];
      }),
    );
    const names = Array.from({ length: 100 }, (_, i) => `veth${i}`);
    const results = await Promise.allSettled(names.map((n) => conn.request(link(n, RTM_NEWLINK, NLM_F_CREATE | NLM_F_ECHO), op(n))));

    expect(kernel.calls).toHaveLength(1);
    const call = kernel.calls[0]!;
    expect(call).toMatchObject({ count: 100, expected: 100 });
    expect(call.messages.map(nameOf)).toEqual(names);
    results.forEach((r, i) => {
      if (i === 37) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'EEXIST', object: 'veth37' });
      } else {
        expect(r.status).toBe('fulfilled');
        const msgs = (r as PromiseFulfilledResult<{ messages: NetlinkMessage[] }>).value.messages;
        expect(msgs.map(nameOf)).toEqual([`veth${i}`]);
      }
    });
  });

  it('sends requests issued while a transact is in flight in the next transact', async () => {
    const gate = deferred<void>();
    const { kernel, conn } = setup(async (reqs) => {
      if (kernel.calls.length === 1) await gate.promise;
      return reqs.map((r) => ack(r.seq));
    });
    const first = conn.request(link('a'), op('a'));
    await ticks();
    expect(kernel.inFlight).toBe(true);
    const later = ['b', 'c', 'd'].map((n) => conn.request(link(n), op(n)));
    await ticks();
    expect(kernel.calls).toHaveLength(1);
    gate.resolve();
    await Promise.all([first, ...later]);
    expect(kernel.calls.map((c) => c.messages.map(nameOf))).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('puts requests with different timeouts in separate transacts, so a short one never cuts a long one short', async () => {
    const { kernel, conn } = setup((reqs) => {
      // The kernel never answers "stuck", and answers "slow" only after 80 ms.
      const slow = reqs.find((r) => nameOf(r) === 'slow');
      if (slow) setTimeout(() => kernel.push(ack(slow.seq)), 80);
      return 'hang';
    });
    const stuck = conn.request(link('stuck'), op('stuck', { timeout: 20 }));
    const slow = conn.request(link('slow'), op('slow', { timeout: 5000 }));
    expect(await rejection(stuck)).toBeInstanceOf(TimeoutError);
    expect(await slow).toEqual({ messages: [] });
    expect(kernel.calls.map((c) => c.messages.map(nameOf))).toEqual([['stuck'], ['slow']]);
    expect(kernel.calls[0]!.timeoutMs).toBeLessThanOrEqual(20);
    expect(kernel.calls[1]!.timeoutMs).toBeGreaterThan(1000);
  });

  it('delivers an answer that reached the socket even when its transact ended by timeout', async () => {
    // "a" is never answered, so the transact waits to its deadline; "b" was answered at once.
    const { kernel, conn } = setup((reqs) => [ack(reqs[1]!.seq, 0, { message: 'answered in time' })]);
    const [a, b] = await Promise.allSettled([conn.request(link('a'), op('a', { timeout: 30 })), conn.request(link('b'), op('b', { timeout: 30 }))]);
    expect(kernel.calls).toHaveLength(1);
    expect(a.status === 'rejected' && a.reason).toBeInstanceOf(TimeoutError);
    expect(b).toEqual({ status: 'fulfilled', value: { messages: [], warning: 'answered in time' } });
  });

  it('a request queued behind a slow transact times out without being sent', async () => {
    const gate = deferred<void>();
    const { kernel, conn } = setup(async (reqs) => {
      await gate.promise;
      return reqs.map((r) => ack(r.seq));
    });
    const first = conn.request(link('a'), op('a', { timeout: 5000 }));
    await ticks();
    const queued = conn.request(link('b'), op('b', { timeout: 20 }));
    expect(await rejection(queued)).toBeInstanceOf(TimeoutError);
    gate.resolve();
    await first;
    await ticks();
    expect(kernel.sent.map(nameOf)).toEqual(['a']);
  });
});

// ---- request groups ---------------------------------------------------------------------------

describe('inline exchanges (on the calling thread)', () => {
  const inline = (object: string) => op(object, { inline: true });

  it('sends the inline requests of one tick in one exchange and settles them without a transact', async () => {
    const { kernel, conn } = setupInline();
    const replies = await Promise.all(['a', 'b', 'c'].map((n) => conn.request(link(n), inline(n))));
    expect(replies).toEqual([{ messages: [] }, { messages: [] }, { messages: [] }]);
    expect(kernel.inlineCalls.map((c) => c.count)).toEqual([3]);
    expect(kernel.inlineCalls[0]!.messages.map(nameOf)).toEqual(['a', 'b', 'c']);
    expect(kernel.calls).toHaveLength(0);
  });

  it('leaves a tick that is not all inline requests to the I/O thread', async () => {
    const { kernel, conn } = setupInline();
    await Promise.all([conn.request(link('a'), inline('a')), conn.request(link('b'), op('b')), conn.request(link('c'), inline('c'))]);
    expect(kernel.inlineCalls).toHaveLength(0);
    expect(kernel.calls.map((c) => c.count)).toEqual([3]);
  });

  it('takes up to 64 requests into one inline exchange; a bigger tick goes to the I/O thread whole', async () => {
    const { kernel, conn } = setupInline();
    const names = (n: number, p: string) => Array.from({ length: n }, (_, i) => `${p}${i}`);
    await Promise.all(names(64, 'a').map((n) => conn.request(link(n), inline(n))));
    expect(kernel.inlineCalls.map((c) => c.count)).toEqual([64]);
    expect(kernel.inlineCalls[0]!.messages.map(nameOf)).toEqual(names(64, 'a'));
    await Promise.all(names(65, 'b').map((n) => conn.request(link(n), inline(n))));
    expect(kernel.inlineCalls).toHaveLength(1);
    expect(kernel.calls.map((c) => c.count)).toEqual([65]);
  });

  it('finishes an exchange the kernel did not answer within send() with a transact for the missing answers only', async () => {
    const { kernel, conn } = setupInline((reqs) => {
      setTimeout(() => kernel.push(ack(reqs[1]!.seq)), 5);
      return [ack(reqs[0]!.seq)];
    });
    const replies = await Promise.all(['a', 'b'].map((n) => conn.request(link(n), inline(n))));
    expect(replies).toEqual([{ messages: [] }, { messages: [] }]);
    expect(kernel.inlineCalls).toHaveLength(1);
    expect(kernel.calls).toHaveLength(1);
    expect(kernel.calls[0]).toMatchObject({ firstSeq: kernel.inlineCalls[0]!.firstSeq, count: 2, expected: 1, outcome: 'answered' });
    expect(kernel.calls[0]!.request.length).toBe(0);
  });

  it('fails only the refused request of an inline batch', async () => {
    const { conn } = setupInline((reqs) => reqs.map((r, i) => (i === 1 ? ack(r.seq, -17) : ack(r.seq))));
    const results = await Promise.allSettled(['a', 'b', 'c'].map((n) => conn.request(link(n), inline(n))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const err = (results[1] as PromiseRejectedResult).reason;
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'EEXIST', object: 'b' });
  });

  it('a send that fails rejects each request of that exchange, and the connection goes on', async () => {
    let fail = true;
    const { kernel, conn } = setupInline((reqs) => (fail ? syscallError(-105, 'sendmsg') : reqs.map((r) => ack(r.seq))));
    const first = await Promise.allSettled(['a', 'b'].map((n) => conn.request(link(n), inline(n))));
    expect(first.map((r) => r.status === 'rejected' && (r.reason as NetlinkError).code)).toEqual(['ENOBUFS', 'ENOBUFS']);
    expect(first.map((r) => r.status === 'rejected' && (r.reason as NetlinkError).object)).toEqual(['a', 'b']);
    fail = false;
    await expect(conn.request(link('c'), inline('c'))).resolves.toEqual({ messages: [] });
    expect(kernel.inlineCalls).toHaveLength(2);
  });

  it('is idle once a request resolved: closing then closes the transport at once', async () => {
    const { kernel, conn } = setupInline();
    await conn.request(link('a'), inline('a'));
    conn.close();
    expect(kernel.closeCount).toBe(1);
  });
});

describe('requestGroup', () => {
  const group = ['begin', 'x', 'end'].map((n) => link(n, RTM_NEWLINK, 0));

  it('sends the messages together, leaves their flags alone and resolves after `expected` answers', async () => {
    const { kernel, conn } = setup((reqs) => reqs.map((r) => ack(r.seq)));
    expect(await conn.requestGroup(group, 3, { operation: 'NFT_BATCH' })).toEqual({ messages: [] });
    expect(kernel.calls[0]).toMatchObject({ count: 3, expected: 3 });
    expect(kernel.sent.map((m) => m.flags)).toEqual([NLM_F_REQUEST, NLM_F_REQUEST, NLM_F_REQUEST]);
  });

  it('travels alone: nfnetlink drops whatever follows a batch in the same datagram', async () => {
    const { kernel, conn } = setup((reqs) => reqs.map((r) => ack(r.seq)));
    const other = ['b2', 'x2', 'e2'].map((n) => link(n, RTM_NEWLINK, 0));
    await Promise.all([
      conn.requestGroup(group, 3, { operation: 'NFT_BATCH' }),
      conn.requestGroup(other, 3, { operation: 'NFT_BATCH' }),
      conn.request(link('after'), op('after')),
    ]);
    expect(kernel.calls.map((c) => c.messages.map(nameOf))).toEqual([['begin', 'x', 'end'], ['b2', 'x2', 'e2'], ['after']]);
  });

  it('rejects with the first error among its answers', async () => {
    const { conn } = setup((reqs) => [ack(reqs[0]!.seq), ack(reqs[1]!.seq, -2, { message: 'No such table' }), ack(reqs[2]!.seq)]);
    const e = await rejection(conn.requestGroup(group, 3, { operation: 'NFT_BATCH' }));
    expect(e).toMatchObject({ code: 'ENOENT', kernelMessage: 'No such table' });
  });

  it('reports the kernel error, not a timeout, when the other answers never come', async () => {
    const { conn } = setup((reqs) => [ack(reqs[1]!.seq, -2)]);
    const e = await rejection(conn.requestGroup(group, 3, { operation: 'NFT_BATCH', timeout: 30 }));
    expect(e).toMatchObject({ code: 'ENOENT' });
  });

  it('resolves a group nobody answers (expected 0) without waiting for a timeout', async () => {
    const { kernel, conn } = setup(() => 'hang');
    const started = performance.now();
    expect(await conn.requestGroup(group, 0, { operation: 'NFT_BATCH', timeout: 5000 })).toEqual({ messages: [] });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(kernel.calls[0]).toMatchObject({ count: 3, expected: 0 });
  });

  it('refuses an impossible number of answers before sending anything', async () => {
    const { kernel, conn } = setup();
    expect(await rejection(conn.requestGroup(group, 4, { operation: 'NFT_BATCH' }))).toBeInstanceOf(RangeError);
    expect(await rejection(conn.requestGroup([], 0, { operation: 'NFT_BATCH' }))).toBeInstanceOf(RangeError);
    await ticks();
    expect(kernel.calls).toHaveLength(0);
  });
});

describe('requestEach', () => {
  const each = (names: string[], extra: Partial<RequestOptions> = {}) => names.map((n) => ({ encode: link(n), opts: op(n, { inline: true, ...extra }) }));

  it('resolves once with each outcome in order: one refusal fails only its own request', async () => {
    const { kernel, conn } = setupInline((reqs) => reqs.map((r, i) => (i === 1 ? ack(r.seq, -17, { message: 'exists' }) : ack(r.seq))));
    const errors = await conn.requestEach(each(['a', 'b', 'c']), { operation: 'change list' });
    expect(errors.map((e) => e?.constructor.name)).toEqual([undefined, 'NetlinkError', undefined]);
    expect(errors[1]).toMatchObject({ code: 'EEXIST', operation: 'RTM_NEWLINK', object: 'b', kernelMessage: 'exists' });
    expect(kernel.inlineCalls.map((c) => c.messages.map(nameOf))).toEqual([['a', 'b', 'c']]);
    expect(kernel.inlineCalls[0]!.messages.map((m) => m.flags & (NLM_F_REQUEST | NLM_F_ACK))).toEqual([NLM_F_REQUEST | NLM_F_ACK, NLM_F_REQUEST | NLM_F_ACK, NLM_F_REQUEST | NLM_F_ACK]);
  });

  it('more than 64 go to the I/O thread, in order, in one transact', async () => {
    const { kernel, conn } = setupInline();
    const names = Array.from({ length: 150 }, (_, i) => `l${i}`);
    const errors = await conn.requestEach(each(names), { operation: 'change list' });
    expect(errors).toHaveLength(150);
    expect(errors.every((e) => e === undefined)).toBe(true);
    expect(kernel.inlineCalls).toHaveLength(0);
    expect(kernel.calls.map((c) => c.count)).toEqual([150]);
    expect(kernel.calls[0]!.messages.map(nameOf)).toEqual(names);
  });

  it('shares the exchange with requests of the same tick, and keeps the order of the calls', async () => {
    const { kernel, conn } = setupInline();
    const [before, errors, after] = await Promise.all([
      conn.request(link('x'), op('x', { inline: true })),
      conn.requestEach(each(['a', 'b']), { operation: 'change list' }),
      conn.request(link('y'), op('y', { inline: true })),
    ]);
    expect(before).toEqual({ messages: [] });
    expect(after).toEqual({ messages: [] });
    expect(errors).toEqual([undefined, undefined]);
    expect(kernel.inlineCalls.map((c) => c.messages.map(nameOf))).toEqual([['x', 'a', 'b', 'y']]);
  });

  it('gives each unanswered request its own timeout, and keeps the answers that came', async () => {
    const { conn } = setup((reqs) => [ack(reqs[0]!.seq, -1), ack(reqs[2]!.seq)]);
    const errors = await conn.requestEach(each(['a', 'b', 'c'], { inline: false }), { operation: 'change list', timeout: 30 });
    expect(errors[0]).toMatchObject({ code: 'EPERM', object: 'a' });
    expect(errors[1]).toBeInstanceOf(TimeoutError);
    expect(errors[1]!.message).toContain("'b'");
    expect(errors[2]).toBeUndefined();
  });

  it('counts a repeated answer once', async () => {
    const { conn } = setup((reqs) => [ack(reqs[0]!.seq), ack(reqs[0]!.seq, -17), ack(reqs[1]!.seq)]);
    expect(await conn.requestEach(each(['a', 'b'], { inline: false }), { operation: 'change list', timeout: 1000 })).toEqual([undefined, undefined]);
  });

  it('a refusal pointing outside its request is a DecodeError of that request only', async () => {
    const { conn } = setup((reqs) => [ack(reqs[0]!.seq, -22, { offset: 4000 }), ack(reqs[1]!.seq)]);
    const errors = await conn.requestEach(each(['a', 'b'], { inline: false }), { operation: 'change list' });
    expect(errors[0]).toBeInstanceOf(DecodeError);
    expect(errors[1]).toBeUndefined();
  });

  it('rejects as a whole when the exchange itself fails', async () => {
    const { conn } = setupInline(() => syscallError(-105, 'sendmsg'));
    await expect(conn.requestEach(each(['a', 'b']), { operation: 'change list' })).rejects.toMatchObject({ code: 'ENOBUFS' });
    const closed = setupInline().conn;
    closed.close();
    await expect(closed.requestEach(each(['a']), { operation: 'change list' })).rejects.toBeInstanceOf(ClosedError);
  });

  it('names the request whose encoder fails, and sends nothing', async () => {
    const { kernel, conn } = setupInline();
    const bad: Encoder = (w) => void w.u32(1);
    const e = await rejection(conn.requestEach([...each(['a']), { encode: bad, opts: op('broken') }], { operation: 'change list' }));
    expect(e).toBeInstanceOf(EncodeError);
    expect(e.message).toContain("'broken'");
    await ticks();
    expect(kernel.inlineCalls).toHaveLength(0);
    expect(kernel.calls).toHaveLength(0);
  });
});

// ---- transport failures ---------------------------------------------------------------------

describe('transport failures', () => {
  it('item 13: ENOBUFS rejects the requests of that transact; the connection recovers and ignores their late answers', async () => {
    let late: Buffer[] = [];
    const { kernel, conn } = setup((reqs) => {
      if (kernel.calls.length === 1) {
        // The kernel did process them; their answers surface after the overrun.
        late = [ack(reqs[0]!.seq, -17), message(RTM_NEWLINK, 0, reqs[1]!.seq, linkPayload(5)), ack(reqs[1]!.seq)];
        return syscallError(-105);
      }
      return reqs.map((r) => ack(r.seq));
    });
    const names = ['a', 'b', 'c'];
    const results = await Promise.allSettled(names.map((n) => conn.request(link(n), op(n))));
    results.forEach((r, i) => {
      expect(r.status).toBe('rejected');
      const e = (r as PromiseRejectedResult).reason;
      expect(e).toBeInstanceOf(NetlinkError);
      expect(e).toMatchObject({ code: 'ENOBUFS', errno: -105, syscall: 'recvmsg', operation: 'RTM_NEWLINK', object: names[i] });
      expect(e.message).toBe(`ENOBUFS: no buffer space available, RTM_NEWLINK '${names[i]}'`);
    });

    kernel.push(...late);
    const reply = await conn.request(link('d'), op('d'));
    expect(reply).toEqual({ messages: [] });
    expect(kernel.calls).toHaveLength(2);
    expect(kernel.calls[1]!.result!.length).toBeGreaterThan(ack(1).length); // the late answers were in its buffer
  });

  it('a transport that throws instead of rejecting fails that transact only', async () => {
    const { kernel, conn } = setup();
    const original = kernel.transact.bind(kernel);
    let calls = 0;
    kernel.transact = (...args) => {
      if (++calls === 1) throw new TypeError('bad argument');
      return original(...args);
    };
    expect(await rejection(conn.request(link('a'), op('a')))).toBeInstanceOf(TypeError);
    expect(await conn.request(link('b'), op('b'))).toEqual({ messages: [] });
  });

  it('item 15: a datagram from another port claiming to answer the request is not trusted', async () => {
    const { conn } = setup((reqs) => [forged(ack(reqs[0]!.seq, -17)), ack(reqs[0]!.seq)]);
    expect(await conn.request(link('veth0'), op())).toEqual({ messages: [] });
  });
});

// ---- timeouts -------------------------------------------------------------------------------

describe('timeouts', () => {
  it('item 14: an unanswered request rejects with TimeoutError', async () => {
    const { kernel, conn } = setup(() => 'hang');
    const started = performance.now();
    const e = await rejection(conn.request(link('veth0'), op('veth0', { timeout: 30 })));
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.code).toBe('ETIMEDOUT');
    expect(e.message).toBe("ETIMEDOUT: no answer from the kernel within 30 ms, RTM_NEWLINK 'veth0'");
    expect(performance.now() - started).toBeLessThan(1000);
    await ticks();
    expect(kernel.inFlight).toBe(false); // nobody waits, so the transact was stopped
  });

  it('uses the connection default timeout', async () => {
    const { conn } = setup(() => 'hang', 25);
    const e = await rejection(conn.request(link('veth0'), { operation: 'RTM_NEWLINK' }));
    expect(e.message).toBe('ETIMEDOUT: no answer from the kernel within 25 ms, RTM_NEWLINK');
  });

  it('item 14: a late reply to a timed-out request is ignored, never attributed to the next request', async () => {
    let timedOut: NetlinkMessage | undefined;
    const { kernel, conn } = setup((reqs) => {
      if (kernel.calls.length === 1) {
        timedOut = reqs[0];
        return 'hang';
      }
      // The late answers to the first request come first, then the answer to this one.
      const old = timedOut!.seq;
      return [message(RTM_NEWLINK, 0, old, linkPayload(1, 'a')), ack(old, -17), ack(reqs[0]!.seq)];
    });
    expect(await rejection(conn.request(link('a'), op('a', { timeout: 20 })))).toBeInstanceOf(TimeoutError);
    const reply = await conn.request(link('b'), op('b'));
    expect(reply).toEqual({ messages: [] });
    expect(kernel.calls[1]!.messages[0]!.seq).not.toBe(timedOut!.seq);
  });

  it('item 14: a late error for a timed-out request does not fail the next one, even in its own datagram queue', async () => {
    const { kernel, conn } = setup(() => 'hang');
    expect(await rejection(conn.request(link('a'), op('a', { timeout: 20 })))).toBeInstanceOf(TimeoutError);
    const oldSeq = kernel.sent[0]!.seq;
    // Now the kernel gets to it: the socket holds an EEXIST for the old seq.
    kernel.push(ack(oldSeq, -17));
    kernel.handler = (reqs) => {
      setTimeout(() => kernel.push(ack(reqs[0]!.seq)), 10);
      return 'hang';
    };
    expect(await conn.request(link('b'), op('b', { timeout: 2000 }))).toEqual({ messages: [] });
  });

  it('rejects an invalid timeout before sending anything', async () => {
    const { kernel, conn } = setup();
    expect(await rejection(conn.request(link('a'), op('a', { timeout: Number.NaN })))).toBeInstanceOf(RangeError);
    expect(await rejection(conn.request(link('a'), op('a', { timeout: -1 })))).toBeInstanceOf(RangeError);
    expect(await rejection(conn.dump(getLinks, { operation: 'RTM_GETLINK', retries: -1 }))).toBeInstanceOf(RangeError);
    await ticks();
    expect(kernel.calls).toHaveLength(0);
  });
});

// ---- malformed replies ----------------------------------------------------------------------

/** A reply built for request `seq`, malformed in one way, and whether it breaks the framing
 *  of the datagram stream (then no answer after it can be trusted). */
const malformed: Array<[string, (seq: number) => Buffer, 'framing' | 'message']> = [
  [
    'message length < 16',
    (seq) => {
      const b = message(NLMSG_ERROR, 0, seq, Buffer.alloc(20));
      b.writeUInt32LE(8, 0);
      return b;
    },
    'framing',
  ],
  [
    'message length past the end',
    (seq) => {
      const b = message(NLMSG_ERROR, 0, seq, Buffer.alloc(20));
      b.writeUInt32LE(400, 0);
      return b;
    },
    'framing',
  ],
  ['short NLMSG_ERROR (payload < 20 bytes)', (seq) => message(NLMSG_ERROR, 0, seq, Buffer.from([0xef, 0xff, 0xff, 0xff, 0, 0, 0, 0])), 'message'],
  [
    'ext-ack TLVs start past the end (echoed request longer than the message)',
    (seq) => {
      const b = ack(seq, -22, { message: 'x' }, { capped: false });
      b.writeUInt16LE(NLM_F_ACK_TLVS, 6);
      b.writeUInt32LE(4000, 16 + 4); // the echoed request's nlmsg_len
      return b;
    },
    'message',
  ],
  [
    'ext-ack TLV length past the end',
    (seq) => {
      const b = ack(seq, -22, { message: 'Invalid interface name' });
      b.writeUInt16LE(200, 16 + 4 + 16); // the first TLV's nla_len
      return b;
    },
    'message',
  ],
  ['ext-ack bad-attribute offset outside the request', (seq) => ack(seq, -22, { message: 'bad', offset: 4000 }), 'message'],
  ['garbage bytes', () => Buffer.from('6e6f74206e65746c696e6b206174206166756c6c207374', 'hex'), 'framing'],
];

describe('plain ACKs of one-message requests, counted while the reply is split', () => {
  it('an echo before the ACK is in the result; requests sharing a reply each get their own', async () => {
    const { conn } = setupInline((reqs) => [
      message(RTM_NEWLINK, 0, reqs[0]!.seq, linkPayload(7, 'echoed')),
      ack(reqs[0]!.seq),
      ack(reqs[1]!.seq),
      ack(reqs[2]!.seq, -17),
    ]);
    const [first, second, third] = [
      conn.request(link('a'), op('a', { inline: true })),
      conn.request(link('b'), op('b', { inline: true })),
      conn.request(link('c'), op('c', { inline: true })),
    ];
    const r = await first;
    expect(r.messages.map((m) => [m.type, indexOf(m), nameOf(m)])).toEqual([[RTM_NEWLINK, 7, 'echoed']]);
    expect(await second).toEqual({ messages: [] });
    expect(await rejection(third)).toMatchObject({ code: 'EEXIST', object: 'c' });
  });

  it('a repeated answer, or one for a request that is not waiting, changes nothing', async () => {
    const { conn } = setupInline((reqs) => [ack(reqs[0]!.seq), ack(reqs[0]!.seq), ack(reqs[0]!.seq, -17), ack(reqs[0]!.seq + 50)]);
    expect(await conn.request(link('a'), op('a', { inline: true }))).toEqual({ messages: [] });
    expect(await conn.request(link('b'), op('b', { inline: true }))).toEqual({ messages: [] });
    // A second request's ACK is its own: one repeated for the first does not answer it.
    const { conn: other } = setupInline((reqs) => [ack(reqs[0]!.seq), ack(reqs[0]!.seq)]);
    const [a, b] = [other.request(link('a'), op('a', { inline: true, timeout: 50 })), other.request(link('b'), op('b', { inline: true, timeout: 50 }))];
    expect(await a).toEqual({ messages: [] });
    expect(await rejection(b)).toBeInstanceOf(TimeoutError);
  });

  it('the first of two answers decides, also when a refusal comes before a plain ACK', async () => {
    // One-message requests: the refusal, or the warning, came first; the plain ACK after it is a repeat.
    const { conn } = setupInline((reqs) => [ack(reqs[0]!.seq, -17), ack(reqs[0]!.seq), ack(reqs[1]!.seq, 0, { message: 'careful' }), ack(reqs[1]!.seq)]);
    const [refused, warned] = [conn.request(link('a'), op('a', { inline: true })), conn.request(link('b'), op('b', { inline: true }))];
    expect(await rejection(refused)).toMatchObject({ code: 'EEXIST', object: 'a' });
    expect(await warned).toEqual({ messages: [], warning: 'careful' });
    // requestEach(): each message's first answer is its outcome.
    const { conn: each } = setupInline((reqs) => [ack(reqs[0]!.seq, -17), ack(reqs[0]!.seq), ack(reqs[1]!.seq), ack(reqs[1]!.seq, -17)]);
    const errors = await each.requestEach(['a', 'b'].map((name) => ({ encode: link(name), opts: op(name, { inline: true }) })), { operation: 'change list' });
    expect(errors.map((e) => (e as NetlinkError | undefined)?.code)).toEqual(['EEXIST', undefined]);
  });

  it('requests answered in one exchange settle in the order they were sent', async () => {
    const { conn } = setupInline((reqs) => [ack(reqs[0]!.seq), message(RTM_NEWLINK, 0, reqs[1]!.seq, linkPayload(3)), ack(reqs[1]!.seq), ack(reqs[2]!.seq)]);
    const order: string[] = [];
    await Promise.all(['a', 'b', 'c'].map((name) => conn.request(link(name), op(name, { inline: true })).then(() => order.push(name))));
    expect(order).toEqual(['a', 'b', 'c']);
  });
});

describe('item 16: malformed replies', () => {
  // On the I/O thread, and inline on the calling thread (where plain ACKs are counted while
  // the reply is split).
  const modes = [
    ['', (h: Handler) => setup(h), false],
    [' (inline)', (h: Handler) => setupInline(h), true],
  ] as const;
  it.each(modes.flatMap(([mode, make, inline]) => malformed.map(([name, build, breaks]) => [`${name}${mode}`, build, breaks, make, inline] as const)))('%s → DecodeError for the affected request only', async (_name, build, breaks, make, inline) => {
    const { kernel, conn } = make((reqs) => [ack(reqs[0]!.seq), build(reqs[1]!.seq), ack(reqs[2]!.seq)]);
    const [good, bad] = [conn.request(link('good'), op('good', { timeout: 2000, inline })), conn.request(link('bad'), op('bad', { timeout: 2000, inline }))];
    const third = conn.request(link('third'), op('third', { timeout: 2000, inline }));
    expect(await good).toEqual({ messages: [] });
    const e = await rejection(bad);
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.code).toBe('ERR_NETLINK_DECODE');
    expect(e.message).toContain("RTM_NEWLINK 'bad'");
    // The third answer is intact, but after broken framing the stream cannot be split further.
    if (breaks === 'framing') expect(await rejection(third)).toBeInstanceOf(DecodeError);
    else expect(await third).toEqual({ messages: [] });
    expect(inline ? (kernel as InlineFakeKernel).inlineCalls : kernel.calls).toHaveLength(1);
    // The connection stays usable.
    kernel.handler = (reqs) => reqs.map((r) => ack(r.seq));
    expect(await conn.request(link('after'), op('after', { inline }))).toEqual({ messages: [] });
  });

  it('an out-of-range bad-attribute offset keeps the kernel error as the cause', async () => {
    const { conn } = setup((reqs) => [ack(reqs[0]!.seq, -22, { message: 'bad', offset: 4000 })]);
    const e = await rejection(conn.request(link('veth0'), op()));
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.cause).toMatchObject({ code: 'EINVAL', kernelMessage: 'bad' });
  });

  it('a dump whose datagram breaks framing rejects with DecodeError, not partial data', async () => {
    const { conn } = setup((reqs) => {
      const bad = multi(RTM_NEWLINK, reqs[0]!.seq, linkPayload(2));
      bad.writeUInt32LE(bad.length + 100, 0);
      return [multi(RTM_NEWLINK, reqs[0]!.seq, linkPayload(1)), bad, done(reqs[0]!.seq)];
    });
    const e = await rejection(conn.dump(getLinks, { operation: 'RTM_GETLINK', timeout: 2000 }));
    expect(e).toBeInstanceOf(DecodeError);
  });

  it('mutated answers never crash: each request resolves or rejects with a typed error', async () => {
    const { kernel, conn } = setup();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('ack', 'error', 'extack', 'dump'),
        fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        async (kind, mutations) => {
          kernel.handler = (reqs) => {
            const seq = reqs[0]!.seq;
            let reply: Buffer;
            if (kind === 'ack') reply = ack(seq);
            else if (kind === 'error') reply = ack(seq, -17);
            else if (kind === 'extack') reply = ack(seq, -22, { message: 'Invalid interface name', offset: 32 }, { capped: false });
            else reply = datagram(multi(RTM_NEWLINK, seq, linkPayload(1)), done(seq, NLM_F_MULTI, 0, { message: 'm' }));
            reply = Buffer.from(reply);
            for (const [at, v] of mutations) if (at < reply.length) reply[at] = v;
            return [reply];
          };
          const p = kind === 'dump' ? conn.dump(getLinks, { operation: 'RTM_GETLINK', timeout: 15, retries: 0 }) : conn.request(link('veth0'), op('veth0', { timeout: 15 }));
          await p.then(
            () => undefined,
            (e: unknown) => {
              const ok = e instanceof DecodeError || e instanceof NetlinkError || e instanceof TimeoutError || e instanceof DumpInterruptedError;
              if (!ok) throw e;
            },
          );
        },
      ),
      { numRuns: 150 },
    );
  }, 20_000);
});

// ---- AbortSignal ----------------------------------------------------------------------------

describe('AbortSignal', () => {
  it('an already aborted signal rejects without sending', async () => {
    const { kernel, conn } = setup();
    const e = await rejection(conn.request(link('veth0'), op('veth0', { signal: AbortSignal.abort() })));
    expect(e.name).toBe('AbortError');
    await ticks();
    expect(kernel.calls).toHaveLength(0);
  });

  it('aborting in the same tick as the call rejects with the reason and sends nothing', async () => {
    const { kernel, conn } = setup();
    const ac = new AbortController();
    const p = conn.request(link('veth0'), op('veth0', { signal: ac.signal }));
    const other = conn.request(link('veth1'), op('veth1'));
    const reason = new Error('changed my mind');
    ac.abort(reason);
    expect(await rejection(p)).toBe(reason);
    await other;
    expect(kernel.sent.map(nameOf)).toEqual(['veth1']);
  });

  it('aborting while in flight rejects promptly and cancels the transact when nothing else waits', async () => {
    const { kernel, conn } = setup(() => 'hang');
    const ac = new AbortController();
    const p = conn.request(link('veth0'), op('veth0', { signal: ac.signal, timeout: 10_000 }));
    await ticks();
    expect(kernel.inFlight).toBe(true);
    const started = performance.now();
    ac.abort();
    const e = await rejection(p);
    expect(e.name).toBe('AbortError');
    expect(performance.now() - started).toBeLessThan(100);
    expect(kernel.cancels).toEqual([kernel.calls[0]!.jobId]);
  });

  it('aborting one request of a transact does not cancel it while another still waits', async () => {
    const { kernel, conn } = setup(() => 'hang');
    const ac = new AbortController();
    const aborted = conn.request(link('a'), op('a', { signal: ac.signal, timeout: 10_000 }));
    const waiting = conn.request(link('b'), op('b', { timeout: 10_000 }));
    await ticks();
    ac.abort();
    expect((await rejection(aborted)).name).toBe('AbortError');
    expect(kernel.cancels).toEqual([]);
    // Answers to both arrive; the aborted one's is dropped.
    kernel.push(ack(kernel.sent[0]!.seq, -17), ack(kernel.sent[1]!.seq));
    expect(await waiting).toEqual({ messages: [] });
  });

  it('aborting between dump attempts stops the retries', async () => {
    const ac = new AbortController();
    const { kernel, conn } = setup((reqs) => {
      ac.abort();
      return [done(reqs[0]!.seq, NLM_F_MULTI | NLM_F_DUMP_INTR)];
    });
    const e = await rejection(conn.dump(getLinks, { operation: 'RTM_GETLINK', signal: ac.signal }));
    expect(e.name).toBe('AbortError');
    await ticks();
    expect(kernel.calls).toHaveLength(1);
  });
});

// ---- close ----------------------------------------------------------------------------------

describe('close', () => {
  it('item 23: rejects queued and in-flight requests, and closes the transport once, after the transact returned', async () => {
    const { kernel, conn } = setup(() => 'hang');
    kernel.cancelLatencyMs = 30; // the addon notices a cancel within 50 ms
    const inFlight = conn.request(link('a'), op('a', { timeout: 10_000 }));
    await ticks();
    const queued = conn.request(link('b'), op('b', { timeout: 10_000 }));
    conn.close();
    const [e1, e2] = await Promise.all([rejection(inFlight), rejection(queued)]);
    for (const e of [e1, e2]) {
      expect(e).toBeInstanceOf(ClosedError);
      expect(e.code).toBe('ERR_NETLINK_CLOSED');
    }
    expect(conn.isClosed).toBe(true);
    expect(kernel.closeCount).toBe(0); // a worker thread still uses the socket
    await vi.waitFor(() => expect(kernel.closeCount).toBe(1), { timeout: 2000, interval: 5 });
    const job = kernel.calls[0]!.jobId;
    expect(kernel.log).toEqual([`transact ${job}`, `cancel ${job}`, `end ${job} cancelled`, 'close']);
    expect(kernel.calls).toHaveLength(1); // the queued one never went out
    conn.close();
    expect(kernel.closeCount).toBe(1);
  });

  it('closes an idle transport at once, exactly once, and refuses requests after', async () => {
    const { kernel, conn } = setup();
    await conn.request(link('a'), op('a'));
    conn.close();
    conn.close();
    expect(kernel.closeCount).toBe(1);
    expect(await rejection(conn.request(link('b'), op('b')))).toBeInstanceOf(ClosedError);
    expect(await rejection(conn.dump(getLinks, { operation: 'RTM_GETLINK' }))).toBeInstanceOf(ClosedError);
    await ticks();
    expect(kernel.calls).toHaveLength(1);
  });

  it('requests issued in the tick of close are never sent', async () => {
    const { kernel, conn } = setup();
    const p = conn.request(link('a'), op('a'));
    conn.close();
    expect(await rejection(p)).toBeInstanceOf(ClosedError);
    await ticks();
    expect(kernel.calls).toHaveLength(0);
    expect(kernel.closeCount).toBe(1);
  });
});

// ---- encoders -------------------------------------------------------------------------------

describe('encoders', () => {
  it('item 8: an attribute over 65531 bytes fails only its own request, and nothing of it is sent', async () => {
    const { kernel, conn } = setup();
    const huge: Encoder = (w, seq) => {
      writeMessage(w, RTM_NEWLINK, 0, seq, (b) => {
        b.zeros(IFINFOMSG_LEN);
        new AttrWriter(b).string(IFLA_IFNAME, 'huge').bytes(99, Buffer.alloc(65532, 0x41));
      });
    };
    const results = await Promise.allSettled([conn.request(link('a'), op('a')), conn.request(huge, op('huge')), conn.request(link('c'), op('c'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const e = (results[1] as PromiseRejectedResult).reason;
    expect(e).toBeInstanceOf(EncodeError);
    expect(e.code).toBe('ERR_NETLINK_ENCODE');
    expect(kernel.calls).toHaveLength(1);
    const call = kernel.calls[0]!;
    expect(call.messages.map(nameOf)).toEqual(['a', 'c']);
    expect(call.request.length).toBeLessThan(200);
    expect(call.request.includes('huge')).toBe(false);
  });

  it('refuses an encoder whose nlmsg_len or seq is wrong, since the kernel would misread the batch', async () => {
    const { kernel, conn } = setup();
    const badLength: Encoder = (w, seq) => {
      const at = w.length;
      link('x')(w, seq);
      w.buf.writeUInt32LE(w.length - at + 8, at);
    };
    const badSeq: Encoder = (w, seq) => link('y')(w, seq + 5);
    const results = await Promise.allSettled([conn.request(badLength, op('x')), conn.request(badSeq, op('y')), conn.request(link('z'), op('z'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    for (const r of results.slice(0, 2)) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(EncodeError);
    expect(kernel.sent.map(nameOf)).toEqual(['z']);
  });
});

// ---- seq numbers ----------------------------------------------------------------------------

describe('seq numbers', () => {
  it('wraps around near 2^32 without splitting a transact across the wrap or using seq 0', async () => {
    const { kernel, conn } = setup((reqs) => [...reqs].reverse().map((r) => (nameOf(r) === 'c' ? ack(r.seq, -17) : ack(r.seq))));
    // Reaching the wrap by sending 2^32 requests is not practical; start just below it.
    (conn as unknown as { seq: number }).seq = 0xfffffffe;
    const names = ['a', 'b', 'c', 'd'];
    const results = await Promise.allSettled(names.map((n) => conn.request(link(n), op(n))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'EEXIST', object: 'c' });
    expect(kernel.calls.map((c) => c.messages.map((m) => [nameOf(m), m.seq]))).toEqual([
      [
        ['a', 0xfffffffe],
        ['b', 0xffffffff],
      ],
      [
        ['c', 1],
        ['d', 2],
      ],
    ]);
    expect(kernel.calls.map((c) => c.firstSeq)).toEqual([0xfffffffe, 1]);
  });

  it('starts a group that would cross the wrap at seq 1', async () => {
    const { kernel, conn } = setup((reqs) => reqs.map((r) => ack(r.seq)));
    (conn as unknown as { seq: number }).seq = 0xffffffff;
    await conn.requestGroup([link('a', RTM_NEWLINK, 0), link('b', RTM_NEWLINK, 0)], 2, { operation: 'NFT_BATCH' });
    expect(kernel.sent.map((m) => m.seq)).toEqual([1, 2]);
  });

  it('gives every request its own seq and never reuses one for an answered or timed-out request', async () => {
    const { kernel, conn } = setup((reqs) => reqs.filter((r) => nameOf(r) !== 'slow').map((r) => ack(r.seq)));
    await Promise.allSettled([conn.request(link('a'), op('a')), conn.request(link('slow'), op('slow', { timeout: 20 }))]);
    await conn.request(link('b'), op('b'));
    const seqs = kernel.sent.map((m) => m.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
  });
});
