// The byte-level pieces every request and answer goes through: ByteWriter's integer stores
// (written byte by byte, with their own range checks) and splitMessages' plain-ACK shortcut.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter, EncodeError } from '../../lib/netlink/attributes.js';
import { NLMSG_ERROR, splitMessages, writeMessage } from '../../lib/netlink/message.js';
import { ack, datagram, done, message } from '../helpers/fake-kernel.js';

describe('ByteWriter', () => {
  it('stores integers little-endian, as Buffer does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: -0x80000000, max: 0xffffffff }), fc.integer({ min: -0x80000000, max: 0x7fffffff }), (a, b, c, d) => {
        const w = new ByteWriter(2);
        w.u8(a).u16(b).u32(c).i32(d);
        const expected = Buffer.alloc(11);
        expected.writeUInt8(a, 0);
        expected.writeUInt16LE(b, 1);
        expected.writeUInt32LE(c >>> 0, 3);
        expected.writeInt32LE(d, 7);
        expect(w.take()).toEqual(expected);
      }),
    );
  });

  it('take() returns a copy of what was written, short or long, that later writes leave alone', () => {
    fc.assert(
      // Lengths on both sides of take()'s loop/copy threshold (256), and past the writer's
      // first growth (16); fast-check's default size alone would stay under 11 bytes.
      fc.property(fc.oneof(fc.constantFrom(0, 1, 15, 16, 17, 255, 256, 257, 600), fc.integer({ min: 0, max: 600 })).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })), fc.uint8Array({ minLength: 1, maxLength: 40 }), (first, second) => {
        const w = new ByteWriter(16);
        w.bytes(first);
        const taken = w.take();
        expect(taken).toEqual(Buffer.from(first));
        // The writer is reused from the start, as the connection's shared writer is.
        w.length = 0;
        w.bytes(second);
        expect(taken).toEqual(Buffer.from(first));
        expect(w.take()).toEqual(Buffer.from(second));
      }),
    );
  });

  it('refuses what does not fit rather than truncating it', () => {
    const w = new ByteWriter();
    for (const [write, v] of [
      [(x: number) => w.u8(x), 256],
      [(x: number) => w.u8(x), -1],
      [(x: number) => w.u16(x), 0x10000],
      [(x: number) => w.u32(x), 2 ** 32],
      [(x: number) => w.u32(x), -(2 ** 31) - 1],
      [(x: number) => w.u32(x), 1.5],
      [(x: number) => w.u32(x), Number.NaN],
      [(x: number) => w.i32(x), 2 ** 31],
    ] as const) {
      expect(() => write(v)).toThrow(EncodeError);
    }
    expect(w.length).toBe(0);
    expect(() => writeMessage(w, 0x10000, 0, 1, () => {})).toThrow(EncodeError);
  });
});

describe('splitMessages with takeAck', () => {
  it('offers exactly the plain ACKs, and leaves out only the ones taken', () => {
    const plain = ack(7);
    const refusal = ack(8, -17);
    const warning = ack(9, 0, { message: 'careful' });
    const uncapped = ack({ type: 16, flags: 5, seq: 10, pid: 0, payload: Buffer.alloc(16) }, 0, undefined, { capped: false });
    const data = message(16, 0, 11, Buffer.alloc(16));
    // Every fake ACK is addressed to the asking socket's port, as the kernel's are; one with
    // nlmsg_pid 0 is taken all the same (the port is not looked at).
    const addressed = ack(14, 0, undefined, { port: 0 });
    const buf = datagram(plain, refusal, warning, uncapped, data, done(12), ack(13), addressed);
    const offered: number[] = [];
    const { messages, error } = splitMessages(buf, (seq) => (offered.push(seq), seq === 7 || seq === 14));
    expect(error).toBeUndefined();
    expect(offered).toEqual([7, 13, 14]);
    expect(messages.map((m) => m.seq)).toEqual([8, 9, 10, 11, 12, 13]);
  });

  it('does not offer a plain ACK for a seq a kept answer already ended (a repeat)', () => {
    const buf = datagram(ack(5, -17), ack(5), done(6), ack(6), ack(7, 0, { message: 'careful' }), ack(7), ack(8));
    const offered: number[] = [];
    const { messages } = splitMessages(buf, (seq) => (offered.push(seq), true));
    expect(offered).toEqual([8]);
    expect(messages.map((m) => m.seq)).toEqual([5, 5, 6, 6, 7, 7]);
  });

  it('agrees with the plain split on any input: same error, same messages but the ACKs it took', () => {
    const messageArb = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })).map(([seq, port]) => ack(seq, 0, undefined, { port })),
      fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: -200, max: 0 })).map(([seq, e]) => ack(seq, e)),
      fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 100 }), fc.uint8Array({ maxLength: 40 })).map(([type, seq, p]) => message(type, 0, seq, p)),
    );
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 8 }), fc.nat(), fc.uint8Array({ maxLength: 8 }), fc.boolean(), (msgs, cut, junk, takeOdd) => {
        let buf = datagram(...msgs);
        // Damage some inputs: truncated, or with bytes after the last message.
        if (cut % 3 === 1) buf = buf.subarray(0, cut % (buf.length + 1));
        else if (cut % 3 === 2) buf = Buffer.concat([buf, junk]);
        const taken: number[] = [];
        const plain = splitMessages(buf);
        const fast = splitMessages(buf, (seq) => {
          if (takeOdd && seq % 2 === 0) return false;
          taken.push(seq);
          return true;
        });
        expect(fast.error?.message).toEqual(plain.error?.message);
        const left = [...plain.messages];
        for (const seq of taken) {
          const i = left.findIndex((m) => m.type === NLMSG_ERROR && m.seq === seq && m.payload.length === 20 && m.payload.readInt32LE(0) === 0);
          expect(i).toBeGreaterThanOrEqual(0);
          left.splice(i, 1);
        }
        expect(fast.messages).toEqual(left);
      }),
      { numRuns: 2000, seed: 1 },
    );
  });
});
