// The connection's fast path for plain ACKs: while it splits a reply, it counts the plain ACK
// of a one-message request, and every plain ACK of a requestEach(), without making a message of
// it. The results are the same either way (connection.test.ts checks them), so only what the
// split was told shows whether the fast path is taken: splitMessages is wrapped here to record
// which seqs its takeAck callback accepted.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Connection, type Encoder, type RequestOptions } from '../../lib/connection.js';
import { AttrWriter } from '../../lib/netlink/attributes.js';
import { NLM_F_CREATE, NLM_F_EXCL, writeMessage } from '../../lib/netlink/message.js';
import { InlineFakeKernel, ack, done, message, multi, type Handler } from '../helpers/fake-kernel.js';

/** Seqs whose plain ACK the connection took while splitting, in the order offered. */
const taken: number[] = [];
vi.mock('../../lib/netlink/message.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../lib/netlink/message.js')>();
  return {
    ...original,
    splitMessages: (buf: Buffer, takeAck?: (seq: number) => boolean) =>
      original.splitMessages(
        buf,
        takeAck &&
          ((seq: number) => {
            const yes = takeAck(seq);
            if (yes) taken.push(seq);
            return yes;
          }),
      ),
  };
});

const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const IFINFOMSG_LEN = 16;

const link =
  (name: string): Encoder =>
  (w, seq) =>
    writeMessage(w, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, seq, (b) => {
      b.zeros(IFINFOMSG_LEN);
      new AttrWriter(b).string(3, name);
    });
const getLinks: Encoder = (w, seq) => writeMessage(w, RTM_GETLINK, 0, seq, (b) => b.zeros(IFINFOMSG_LEN));
const op = (object: string): RequestOptions => ({ operation: 'RTM_NEWLINK', object, inline: true });

const connections: Connection[] = [];
function setup(handler: Handler): Connection {
  const conn = new Connection(new InlineFakeKernel(handler));
  connections.push(conn);
  return conn;
}
afterEach(() => {
  for (const c of connections.splice(0)) c.close();
  taken.length = 0;
});

describe('plain ACKs are counted while the reply is split', () => {
  it('takes the plain ACK of each one-message request, after an echo too', async () => {
    let seqs: number[] = [];
    const conn = setup((reqs) => {
      seqs = reqs.map((r) => r.seq);
      return [ack(reqs[0]!.seq), message(RTM_NEWLINK, 0, reqs[1]!.seq, Buffer.alloc(IFINFOMSG_LEN)), ack(reqs[1]!.seq)];
    });
    const [a, b] = [conn.request(link('a'), op('a')), conn.request(link('b'), op('b'))];
    expect(await a).toEqual({ messages: [] });
    expect((await b).messages).toHaveLength(1);
    expect(taken).toEqual(seqs);
  });

  it('takes every plain ACK of a requestEach(), not its refusals', async () => {
    let seqs: number[] = [];
    const conn = setup((reqs) => {
      seqs = reqs.map((r) => r.seq);
      return [ack(seqs[0]!), ack(seqs[1]!, -17), ack(seqs[2]!)];
    });
    const errors = await conn.requestEach(
      ['a', 'b', 'c'].map((name) => ({ encode: link(name), opts: op(name) })),
      { operation: 'change list' },
    );
    expect(errors.map((e) => e?.code)).toEqual([undefined, 'EEXIST', undefined]);
    expect(taken).toEqual([seqs[0], seqs[2]]);
  });

  it('leaves a refusal, and a dump\'s answers, to the ordinary path', async () => {
    const conn = setup((reqs) => (reqs[0]!.type === RTM_GETLINK ? [multi(RTM_NEWLINK, reqs[0]!.seq, Buffer.alloc(IFINFOMSG_LEN)), done(reqs[0]!.seq)] : [ack(reqs[0]!.seq, -17)]));
    await expect(conn.request(link('a'), op('a'))).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await conn.dump(getLinks, { operation: 'RTM_GETLINK', inline: true })).toHaveLength(1);
    expect(taken).toEqual([]);
  });
});
