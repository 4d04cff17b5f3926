// An in-memory kernel behind the Transport interface, in the spirit of mdlayher/netlink's
// nltest.Dial: a test scripts what the kernel answers, and the fake reproduces what the
// addon's transact does with those answers (native/netlink_io.cc TransactJob):
//  - answers land in a socket receive queue, one Buffer per datagram;
//  - transact drains that queue datagram by datagram, padding each to 4 bytes, and stops as
//    soon as `expected` distinct seqs of firstSeq..firstSeq+count-1 got NLMSG_ERROR or
//    NLMSG_DONE; datagrams left in the queue are seen by the next transact (late answers);
//  - a datagram whose length field does not fit ends the wait (the addon stops counting);
//  - datagrams from a sender port other than 0 are dropped;
//  - timeout or cancel(jobId) resolves with whatever arrived; a syscall failure rejects.
// It also checks the connection keeps the addon's preconditions, which a real kernel would
// punish silently (see `violations`).
import { AttrWriter, ByteWriter, align4 } from '../../lib/netlink/attributes.js';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP,
  NLM_F_MULTI,
  parseMessages,
  type NetlinkMessage,
} from '../../lib/netlink/message.js';
import { NetlinkError } from '../../lib/errors.js';
import type { Transport } from '../../lib/connection.js';

/** A datagram as the kernel sends it; `port` is the sender's netlink port (kernel: 0). */
export type Datagram = Buffer | { data: Buffer; port: number };

export type HandlerResult = Datagram[] | 'hang' | Error;

/** What the kernel does with one sendmsg. 'hang' (or []) answers nothing; an Error is the
 *  syscall failure the transact rejects with. May be async to hold the answer back. */
export type Handler = (requests: NetlinkMessage[], call: TransactCall) => HandlerResult | Promise<HandlerResult>;

export interface TransactCall {
  request: Buffer;
  messages: NetlinkMessage[];
  firstSeq: number;
  count: number;
  expected: number;
  timeoutMs: number;
  jobId: number;
  /** How the transact ended, once it has. */
  outcome?: 'answered' | 'timeout' | 'cancelled' | 'malformed' | 'error';
  /** The bytes it resolved with. */
  result?: Buffer;
}

interface Active {
  call: TransactCall;
  answered: Set<number>;
  chunks: Buffer[];
  wake(): void;
  end(outcome: NonNullable<TransactCall['outcome']>): void;
}

export class FakeKernel implements Transport {
  /** Default: every request is acknowledged, every dump is empty. */
  handler: Handler = (reqs) => reqs.map((r) => (r.flags & NLM_F_DUMP) === NLM_F_DUMP ? done(r.seq) : ack(r.seq));
  readonly calls: TransactCall[] = [];
  readonly cancels: number[] = [];
  /** Everything the fake saw, in order, to assert e.g. that close came after the transact. */
  readonly log: string[] = [];
  /** Preconditions of the addon or the kernel the connection broke. Tests assert it stays empty. */
  readonly violations: string[] = [];
  closeCount = 0;
  /** How long a cancelled transact takes to notice (the addon polls its flag every 50 ms). */
  cancelLatencyMs = 0;
  protected readonly rx: Datagram[] = [];
  private active: Active | null = null;

  constructor(handler?: Handler) {
    if (handler) this.handler = handler;
  }

  /** Every message sent so far, across transacts. */
  get sent(): NetlinkMessage[] {
    return this.calls.flatMap((c) => c.messages);
  }

  get inFlight(): boolean {
    return this.active !== null;
  }

  /** The kernel sends datagrams now (late answers, or answers after a delay). */
  push(...datagrams: Datagram[]): void {
    this.rx.push(...datagrams);
    this.active?.wake();
  }

  transact(request: Buffer, firstSeq: number, count: number, expected: number, timeoutMs: number, jobId: number): Promise<Buffer> {
    const call: TransactCall = { request, messages: [], firstSeq, count, expected, timeoutMs, jobId };
    this.calls.push(call);
    this.log.push(`transact ${jobId}`);
    this.check(call);
    if (this.closeCount > 0) this.violations.push(`transact ${jobId} after close`);
    if (this.active) this.violations.push(`transact ${jobId} while transact ${this.active.call.jobId} is in flight`);
    try {
      call.messages = parseMessages(request);
    } catch (e) {
      this.violations.push(`transact ${jobId}: request does not parse: ${(e as Error).message}`);
    }
    this.checkMessages(call);
    return new Promise<Buffer>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const a: Active = {
        call,
        answered: new Set(),
        chunks: [],
        wake: () => this.drain(a),
        end: (outcome) => {
          if (call.outcome) return;
          call.outcome = outcome;
          clearTimeout(timer);
          if (this.active === a) this.active = null;
          call.result = Buffer.concat(a.chunks);
          this.log.push(`end ${jobId} ${outcome}`);
          resolve(call.result);
        },
      };
      this.active = a;
      timer = setTimeout(() => a.end('timeout'), timeoutMs);
      void (async () => {
        let result: HandlerResult;
        try {
          // An empty request sends nothing (it waits for the rest of an inline exchange).
          result = request.length === 0 ? [] : await this.handler(call.messages, call);
        } catch (e) {
          result = e as Error;
        }
        if (call.outcome) {
          // Cancelled or timed out while the handler held its answer: the kernel still sends
          // it, and the next transact finds it in the socket.
          if (Array.isArray(result)) this.rx.push(...result);
          return;
        }
        if (result instanceof Error) {
          call.outcome = 'error';
          clearTimeout(timer);
          if (this.active === a) this.active = null;
          this.log.push(`end ${jobId} error`);
          reject(result);
          return;
        }
        if (result !== 'hang') this.rx.push(...result);
        this.drain(a);
      })();
    });
  }

  cancel(jobId: number): void {
    this.cancels.push(jobId);
    this.log.push(`cancel ${jobId}`);
    const a = this.active;
    if (!a || a.call.jobId !== jobId) return;
    setTimeout(() => a.end('cancelled'), this.cancelLatencyMs);
  }

  close(): void {
    this.closeCount++;
    this.log.push('close');
    if (this.active) this.violations.push(`close while transact ${this.active.call.jobId} is in flight`);
  }

  private drain(a: Active): void {
    if (a.call.outcome) return;
    const ended = this.receive(a.call, a.answered, a.chunks);
    if (ended) a.end(ended);
  }

  /**
   * What the addon's receive loop does with the socket's queue: takes datagrams (the kernel's
   * only) into `chunks`, padded to 4 bytes, until `expected` distinct seqs of the call's range
   * got NLMSG_ERROR or NLMSG_DONE. Returns how that ended the exchange, or undefined while it
   * still waits for more.
   */
  protected receive(call: TransactCall, answered: Set<number>, chunks: Buffer[]): 'answered' | 'malformed' | undefined {
    const { firstSeq, count, expected } = call;
    while (answered.size < expected && this.rx.length > 0) {
      const d = this.rx.shift()!;
      if (!Buffer.isBuffer(d) && d.port !== 0) continue;
      const data = Buffer.isBuffer(d) ? d : d.data;
      const padded = Buffer.alloc(align4(data.length));
      data.copy(padded);
      chunks.push(padded);
      // The addon's CountAnswers: walk the datagram's headers, stop at one that does not fit.
      for (let off = 0; off + NLMSG_HDRLEN <= data.length; ) {
        const len = data.readUInt32LE(off);
        if (len < NLMSG_HDRLEN || off + len > data.length) return 'malformed';
        const type = data.readUInt16LE(off + 4);
        const i = (data.readUInt32LE(off + 8) - firstSeq) >>> 0;
        if ((type === NLMSG_ERROR || type === NLMSG_DONE) && i < count) answered.add(i);
        off += align4(len);
      }
    }
    return answered.size >= expected ? 'answered' : undefined;
  }

  protected check(c: TransactCall): void {
    const u32 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
    if (!u32(c.firstSeq) || c.firstSeq === 0) this.violations.push(`firstSeq ${c.firstSeq}`);
    if (!u32(c.count) || c.count === 0) this.violations.push(`count ${c.count}`);
    if (!u32(c.expected) || c.expected > c.count) this.violations.push(`expected ${c.expected} of ${c.count}`);
    if (!Number.isInteger(c.timeoutMs) || c.timeoutMs < 1 || c.timeoutMs > 2 ** 31 - 1) this.violations.push(`timeoutMs ${c.timeoutMs}`);
    if (!u32(c.jobId) || c.jobId === 0) this.violations.push(`jobId ${c.jobId}`);
  }

  protected checkMessages(c: TransactCall): void {
    // An empty request finishes an inline exchange: its messages went out already.
    if (c.request.length > 0 && c.messages.length !== c.count) this.violations.push(`count ${c.count} but ${c.messages.length} messages sent`);
    c.messages.forEach((m, i) => {
      // The addon only counts answers inside firstSeq..firstSeq+count-1.
      if (m.seq !== c.firstSeq + i) this.violations.push(`message ${i} has seq ${m.seq}, range starts at ${c.firstSeq}`);
    });
    // The kernel refuses a second dump on a socket while one runs (EBUSY).
    if (c.messages.filter((m) => (m.flags & NLM_F_DUMP) === NLM_F_DUMP).length > 1) {
      this.violations.push(`transact ${c.jobId} starts more than one dump`);
    }
  }
}

/**
 * The same kernel with the addon's inline exchange (native/netlink_io.cc TransactInline): it
 * sends on the caller's thread and takes only what the kernel queued within send(), never
 * waiting. A handler that answers synchronously answers within send(); an async one (or 'hang')
 * answers later, and the connection must finish the exchange with transact().
 */
export class InlineFakeKernel extends FakeKernel {
  readonly inlineCalls: TransactCall[] = [];

  transactInline(request: Buffer, firstSeq: number, count: number, expected: number): { replies: Buffer; complete: boolean; answered: number } {
    const call: TransactCall = { request, messages: [], firstSeq, count, expected, timeoutMs: 1, jobId: 1 };
    this.inlineCalls.push(call);
    this.log.push(`inline ${firstSeq}+${count}`);
    this.check(call);
    if (this.inFlight) this.violations.push(`inline exchange at seq ${firstSeq} while a transact is in flight`);
    if (this.closeCount > 0) this.violations.push(`inline exchange at seq ${firstSeq} after close`);
    try {
      call.messages = parseMessages(request);
    } catch (e) {
      this.violations.push(`inline exchange at seq ${firstSeq}: request does not parse: ${(e as Error).message}`);
    }
    this.checkMessages(call);
    const result = this.handler(call.messages, call);
    if (result instanceof Error) throw result;
    if (result instanceof Promise) {
      void result.then((r) => Array.isArray(r) && this.push(...r));
    } else if (result !== 'hang') {
      this.rx.push(...result);
    }
    // What is in the socket now, up to `expected` answers (the addon's ReceiveUntil, no poll).
    const chunks: Buffer[] = [];
    const answered = new Set<number>();
    const ended = this.receive(call, answered, chunks);
    // A malformed datagram ends the exchange as complete, as in the addon: JS reports it.
    call.outcome = ended ?? 'timeout';
    call.result = Buffer.concat(chunks);
    return { replies: call.result, complete: ended !== undefined, answered: answered.size };
  }
}

// ---- reply builders -------------------------------------------------------------------------

/** The port the fake kernel addresses its answers to. The real kernel sends each answer to the
 *  asking socket's port, never 0: a reader that expected 0 once passed every fake-kernel test. */
export const FAKE_PORT = 4242;

/** One netlink message as the kernel writes it, addressed to `pid` (the asking socket's port). */
export function message(type: number, flags: number, seq: number, payload: Uint8Array = Buffer.alloc(0), pid = FAKE_PORT): Buffer {
  const len = NLMSG_HDRLEN + payload.length;
  const b = Buffer.alloc(align4(len));
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  b.writeUInt32LE(pid, 12);
  b.set(payload, NLMSG_HDRLEN);
  return b;
}

export interface ExtAck {
  message?: string;
  /** Offset of the bad attribute from the start of the request's header. */
  offset?: number;
}

function extAckTlvs(ext: ExtAck): Buffer {
  const a = new AttrWriter(new ByteWriter());
  if (ext.message !== undefined) a.string(NLMSGERR_ATTR_MSG, ext.message);
  if (ext.offset !== undefined) a.u32(NLMSGERR_ATTR_OFFS, ext.offset);
  return a.w.take();
}

/** The header of a request as the kernel echoes it when only the seq is known. */
function fakeRequestHeader(seq: number): NetlinkMessage {
  return { type: 16, flags: 0x05, seq, pid: 0, payload: Buffer.alloc(0) };
}

function headerOf(m: NetlinkMessage): Buffer {
  const b = Buffer.alloc(NLMSG_HDRLEN);
  b.writeUInt32LE(NLMSG_HDRLEN + m.payload.length, 0);
  b.writeUInt16LE(m.type, 4);
  b.writeUInt16LE(m.flags, 6);
  b.writeUInt32LE(m.seq >>> 0, 8);
  b.writeUInt32LE(m.pid, 12);
  return b;
}

/**
 * NLMSG_ERROR: an ACK (error 0) or a refusal (negative errno). By default in the NLM_F_CAPPED
 * form (only the request's header echoed, as with NETLINK_CAP_ACK); `capped: false` echoes the
 * whole request, which needs the request message itself. `port`: its nlmsg_pid (default FAKE_PORT).
 */
export function ack(req: number | NetlinkMessage, error = 0, extAck?: ExtAck, opts: { capped?: boolean; port?: number } = {}): Buffer {
  const r = typeof req === 'number' ? fakeRequestHeader(req) : req;
  const capped = opts.capped ?? true;
  const echoed = capped ? headerOf(r) : Buffer.concat([headerOf(r), r.payload, Buffer.alloc(align4(r.payload.length) - r.payload.length)]);
  const errno = Buffer.alloc(4);
  errno.writeInt32LE(error, 0);
  const tlvs = extAck ? extAckTlvs(extAck) : Buffer.alloc(0);
  const flags = (capped ? NLM_F_CAPPED : 0) | (extAck ? NLM_F_ACK_TLVS : 0);
  // The kernel addresses its answer to the asking socket's port (nlmsg_pid).
  return message(NLMSG_ERROR, flags, r.seq, Buffer.concat([errno, echoed, tlvs]), opts.port);
}

/** NLMSG_DONE ending a dump, optionally with an error (and ext-ack text) or NLM_F_DUMP_INTR. */
export function done(seq: number, flags = NLM_F_MULTI, error = 0, extAck?: ExtAck): Buffer {
  const errno = Buffer.alloc(4);
  errno.writeInt32LE(error, 0);
  const tlvs = extAck ? extAckTlvs(extAck) : Buffer.alloc(0);
  return message(NLMSG_DONE, flags | (extAck ? NLM_F_ACK_TLVS : 0), seq, Buffer.concat([errno, tlvs]));
}

/** One message of a multipart (dump) answer. */
export function multi(type: number, seq: number, payload: Uint8Array, flags = 0): Buffer {
  return message(type, NLM_F_MULTI | flags, seq, payload);
}

/** Several messages in one datagram, as the kernel packs a dump into one skb. */
export function datagram(...messages: Buffer[]): Buffer {
  return Buffer.concat(messages);
}

/** The sender port of forged datagrams: another process's socket (not FAKE_PORT, which is
 *  the port answers are addressed to). */
export const FOREIGN_SENDER_PORT = 31337;

/** A datagram from some other process's port (the addon drops it). */
export function forged(data: Buffer, port = FOREIGN_SENDER_PORT): Datagram {
  return { data, port };
}

/** The errno-bearing error the addon rejects a transact with (native.ts makeError). */
export function syscallError(errno: number, syscall = 'recvmsg'): NetlinkError {
  return new NetlinkError({ errno, syscall });
}

/** A promise the test resolves by hand, to hold a kernel answer back. */
export function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
