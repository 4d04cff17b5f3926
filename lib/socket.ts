// Netlink connections over the addon's sockets.
import { Connection, type Transport } from './connection.js';
import { NETLINK_ROUTE } from './netlink/message.js';
import { native } from './native.js';

export class NativeTransport implements Transport {
  private open = true;
  constructor(readonly fd: number) {}

  transact(request: Buffer, firstSeq: number, count: number, expected: number, timeoutMs: number, jobId: number): Promise<Buffer> {
    return native.transact(this.fd, request, firstSeq, count, expected, timeoutMs, jobId);
  }

  transactInline(request: Buffer, firstSeq: number, count: number, expected: number) {
    return native.transactInline(this.fd, request, firstSeq, count, expected);
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
