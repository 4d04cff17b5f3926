// Netlink connections over the addon's sockets.
import { Connection, type Transport } from './connection.js';
import { NETLINK_ROUTE } from './netlink/message.js';
import { native } from './native.js';

/** Where inline exchanges leave their answers (one JS thread, used and copied out at once). */
const scratch = Buffer.allocUnsafe(64 * 1024);
const EMPTY = Buffer.alloc(0);

export class NativeTransport implements Transport {
  private open = true;
  /** -1 while the socket is still being opened on a worker. */
  private fd: number;
  private opening: Promise<number> | undefined;
  private openError: Error | undefined;
  /** Transacts cancelled before the socket was open: they never start. */
  private readonly cancelledEarly = new Set<number>();

  /** With a promise, requests can be queued and encoded while the socket opens: a process's
   *  first request does its JS work meanwhile instead of after. */
  constructor(fd: number | Promise<number>) {
    if (typeof fd === 'number') {
      this.fd = fd;
      return;
    }
    this.fd = -1;
    this.opening = fd.then(
      (opened) => {
        this.opening = undefined;
        if (this.open) this.fd = opened;
        else native.close(opened);
        return opened;
      },
      (e: unknown) => {
        this.opening = undefined;
        this.openError = e instanceof Error ? e : new Error(String(e));
        throw this.openError;
      },
    );
    // Its failure reaches whoever exchanges on it.
    this.opening.catch(() => {});
  }

  /** False until the socket is open: nothing is exchanged on the calling thread before. */
  get ready(): boolean {
    return this.fd >= 0;
  }

  transact(request: Buffer, firstSeq: number, count: number, expected: number, timeoutMs: number, jobId: number): Promise<Buffer> {
    if (this.fd >= 0) return native.transact(this.fd, request, firstSeq, count, expected, timeoutMs, jobId);
    if (this.openError) return Promise.reject(this.openError);
    return this.opening!.then((fd) =>
      this.cancelledEarly.delete(jobId) ? EMPTY : native.transact(fd, request, firstSeq, count, expected, timeoutMs, jobId),
    );
  }

  transactInline(request: Buffer, firstSeq: number, count: number, expected: number) {
    const r = native.transactInline(this.fd, request, firstSeq, count, expected, scratch);
    if (typeof r !== 'number') return r;
    const replies = Buffer.allocUnsafe(r);
    scratch.copy(replies, 0, 0, r);
    return { replies, complete: true, answered: expected };
  }

  cancel(jobId: number): void {
    if (this.opening) this.cancelledEarly.add(jobId);
    else native.cancel(jobId);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    // Still opening: closed when it opens (see the constructor).
    if (this.fd >= 0) native.close(this.fd);
  }
}

/** A connection whose socket is being opened on a worker in the namespace `nsFd` (-1: the
 *  process's own): usable at once (requests wait for the socket), and `opened` settles with
 *  the open (a failed open fails the requests queued on it with its error). */
export function startConnection(nsFd: number, protocol = NETLINK_ROUTE, groups: number[] = []): { conn: Connection; opened: Promise<number> } {
  const opened = native.openNetlink(nsFd, protocol, groups);
  return { conn: new Connection(new NativeTransport(opened)), opened };
}

/** A connection whose socket lives in the namespace `nsFd` (-1: the process's own), once open. */
export async function openConnection(nsFd: number, protocol = NETLINK_ROUTE, groups: number[] = []): Promise<Connection> {
  const { conn, opened } = startConnection(nsFd, protocol, groups);
  await opened;
  return conn;
}
