// The addon-backed transport while its socket is still opening (lib/socket.ts): a host
// connection exists at once and queues its requests, so a process's first call does its JS work
// while a worker opens the socket. The addon's calls are stubbed; no kernel is needed.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { native } from '../../lib/native.js';
import { NativeTransport } from '../../lib/socket.js';
import { Connection } from '../../lib/connection.js';
import { NetlinkError } from '../../lib/errors.js';
import { ack, deferred } from '../helpers/fake-kernel.js';

/** A stand-in for the addon's transact that must not be reached: it fails the test instead of
 *  sending on whatever fd the test process has. */
const unreachableTransact = () => vi.spyOn(native, 'transact').mockRejectedValue(new Error('native.transact must not be called'));

const request = Buffer.alloc(16);

afterEach(() => vi.restoreAllMocks());

describe('NativeTransport on a socket that is still opening', () => {
  it('is not ready, and a transact waits for the socket, then goes out on it', async () => {
    const open = deferred<number>();
    const transact = vi.spyOn(native, 'transact').mockResolvedValue(Buffer.from('answers'));
    const t = new NativeTransport(open.promise);
    expect(t.ready).toBe(false);
    const reply = t.transact(request, 5, 1, 1, 1000, 9);
    await new Promise((r) => setImmediate(r));
    expect(transact).not.toHaveBeenCalled();
    open.resolve(42);
    await expect(reply).resolves.toEqual(Buffer.from('answers'));
    expect(transact).toHaveBeenCalledWith(42, request, 5, 1, 1, 1000, 9);
    expect(t.ready).toBe(true);
  });

  it('fails every transact with the error that kept the socket from opening', async () => {
    const open = deferred<number>();
    const transact = unreachableTransact();
    const t = new NativeTransport(open.promise);
    const early = t.transact(request, 1, 1, 1, 1000, 1);
    const err = new NetlinkError({ errno: -24, syscall: 'socket' });
    open.reject(err);
    await expect(early).rejects.toBe(err);
    await expect(t.transact(request, 2, 1, 1, 1000, 2)).rejects.toBe(err);
    expect(transact).not.toHaveBeenCalled();
  });

  it('a transact cancelled before the socket opened never starts', async () => {
    const open = deferred<number>();
    const transact = unreachableTransact();
    const t = new NativeTransport(open.promise);
    const reply = t.transact(request, 1, 1, 1, 1000, 77);
    t.cancel(77);
    open.resolve(3);
    await expect(reply).resolves.toHaveLength(0);
    expect(transact).not.toHaveBeenCalled();
  });

  it('closed before it opened: the socket is closed as soon as it opens', async () => {
    const open = deferred<number>();
    const close = vi.spyOn(native, 'close').mockImplementation(() => undefined);
    const t = new NativeTransport(open.promise);
    t.close();
    expect(close).not.toHaveBeenCalled();
    open.resolve(11);
    await new Promise((r) => setImmediate(r));
    expect(close).toHaveBeenCalledWith(11);
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('a connection on it queues and encodes at once, sends nothing inline before the socket is open, then works inline', async () => {
    const open = deferred<number>();
    const transact = vi.spyOn(native, 'transact').mockImplementation(async (_fd, _req, firstSeq) => ack(firstSeq));
    const inline = vi.spyOn(native, 'transactInline').mockImplementation(() => {
      throw new Error('inline before the socket was open');
    });
    const conn = new Connection(new NativeTransport(open.promise));
    const encode = (w: import('../../lib/netlink/attributes.js').ByteWriter, seq: number) => {
      const at = w.reserve(16);
      w.buf.writeUInt32LE(16, at);
      w.buf.writeUInt32LE(16, at + 4);
      w.buf.writeUInt32LE(seq, at + 8);
      w.buf.writeUInt32LE(0, at + 12);
    };
    const first = conn.request(encode, { operation: 'RTM_NEWLINK', inline: true });
    await new Promise((r) => setImmediate(r));
    open.resolve(5);
    await expect(first).resolves.toEqual({ messages: [] });
    expect(transact).toHaveBeenCalledTimes(1);
    expect(transact.mock.calls[0]![0]).toBe(5);
    expect(inline).not.toHaveBeenCalled();
    inline.mockImplementation((_fd, _req, firstSeq, _count, _expected, scratch) => {
      const a = ack(firstSeq);
      a.copy(scratch as Buffer);
      return a.length;
    });
    await expect(conn.request(encode, { operation: 'RTM_NEWLINK', inline: true })).resolves.toEqual({ messages: [] });
    expect(inline).toHaveBeenCalledTimes(1);
    expect(inline.mock.calls[0]![0]).toBe(5);
  });
});
