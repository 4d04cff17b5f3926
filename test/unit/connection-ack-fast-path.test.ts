// The connection's fast path for plain ACKs: while it splits a reply, it counts the plain ACK
// of a one-message request, and every plain ACK of a requestEach(), without making a message of
// it. The results are the same either way (connection.test.ts checks them), so only what the
// split was told shows whether the fast path is taken: splitMessages is wrapped here to record
// which seqs its takeAck callback accepted. (A file of its own for the module mock.)
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NetlinkError } from '../../lib/errors.js';
import { IFINFOMSG_LEN, RTM_NEWLINK, closeConnections, getLinks, link, op, setupInline } from '../helpers/connection-fixtures.js';
import { ack, done, message, multi } from '../helpers/fake-kernel.js';

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

const inline = (name: string) => op(name, { inline: true });

afterEach(() => {
  closeConnections();
  taken.length = 0;
});

describe('plain ACKs are counted while the reply is split', () => {
  it('takes the plain ACK of each one-message request, after an echo too', async () => {
    let seqs: number[] = [];
    const { conn } = setupInline((reqs) => {
      seqs = reqs.map((r) => r.seq);
      return [ack(reqs[0]!.seq), message(RTM_NEWLINK, 0, reqs[1]!.seq, Buffer.alloc(IFINFOMSG_LEN)), ack(reqs[1]!.seq)];
    });
    const [a, b] = [conn.request(link('a'), inline('a')), conn.request(link('b'), inline('b'))];
    expect(await a).toEqual({ messages: [] });
    expect((await b).messages).toHaveLength(1);
    expect(taken).toEqual(seqs);
  });

  it('takes every plain ACK of a requestEach(), not its refusals', async () => {
    let seqs: number[] = [];
    const { conn } = setupInline((reqs) => {
      seqs = reqs.map((r) => r.seq);
      return [ack(seqs[0]!), ack(seqs[1]!, -17), ack(seqs[2]!)];
    });
    const errors = await conn.requestEach(
      ['a', 'b', 'c'].map((name) => ({ encode: link(name), opts: inline(name) })),
      { operation: 'change list' },
    );
    expect(errors.map((e) => (e as NetlinkError | undefined)?.code)).toEqual([undefined, 'EEXIST', undefined]);
    expect(taken).toEqual([seqs[0], seqs[2]]);
  });

  it('never takes a plain ACK sent to a dump: the dump reads it as its end, as it always did', async () => {
    const { conn } = setupInline((reqs) => [multi(RTM_NEWLINK, reqs[0]!.seq, Buffer.alloc(IFINFOMSG_LEN)), ack(reqs[0]!.seq), done(reqs[0]!.seq)]);
    const links = await conn.dump(getLinks, { operation: 'RTM_GETLINK', inline: true });
    expect(taken).toEqual([]);
    expect(links.map((m) => m.type)).toEqual([RTM_NEWLINK]);
  });
});
