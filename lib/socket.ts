// Netlink connections over the addon's sockets.
import { Connection, type Transport } from './connection.js';
import { NETLINK_ROUTE } from './netlink/message.js';
import { native } from './native.js';

/** Where inline exchanges leave their answers (one JS thread, used and copied out at once). */
const scratch = Buffer.allocUnsafe(64 * 1024);

export class NativeTransport implements Transport {
  private open = true;
  constructor(readonly fd: number) {}

  transact(request: Buffer, firstSeq: number, count: number, expected: number, timeoutMs: number, jobId: number): Promise<Buffer> {
    return native.transact(this.fd, request, firstSeq, count, expected, timeoutMs, jobId);
  }

  transactInline(request: Buffer, firstSeq: number, count: number, expected: number) {
    const r = native.transactInline(this.fd, request, firstSeq, count, expected, scratch);
    // A copy the size of the answer, from Node's buffer pool: cheaper than the addon's buffer.
    if (typeof r !== 'number') return r;
    const replies = Buffer.allocUnsafe(r);
    scratch.copy(replies, 0, 0, r);
    return { replies, complete: true, answered: expected };
  }

  cancel(jobId: number): void {
    native.cancel(jobId);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    native.close(this.fd);
  }
}

/** A connection whose socket lives in the namespace `nsFd` (-1: the process's own). */
export async function openConnection(nsFd: number, protocol = NETLINK_ROUTE, groups: number[] = []): Promise<Connection> {
  const fd = await native.openNetlink(nsFd, protocol, groups);
  return new Connection(new NativeTransport(fd));
}
