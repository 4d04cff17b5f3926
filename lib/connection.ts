// One netlink socket: requests are queued, and everything queued while the kernel is busy
// goes to it in one sendmsg (pipelining), with answers matched back to each request by seq.
// Dumps are collected to NLMSG_DONE; NLM_F_DUMP_INTR is retried or surfaced, never hidden.
import { EventEmitter } from 'node:events';
import { ByteWriter } from './netlink/attributes.js';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
  decodeDone,
  decodeError,
  parseMessages,
  type NetlinkMessage,
} from './netlink/message.js';
import { ClosedError, NetlinkError, TimeoutError } from './errors.js';

/** What a connection needs from the kernel; the addon implements it, tests fake it. */
export interface Transport {
  transact(request: Buffer, firstSeq: number, count: number, expected: number, timeoutMs: number, jobId: number): Promise<Buffer>;
  cancel(jobId: number): void;
  close(): void;
}

export interface RequestOptions {
  /** The netlink operation for error messages, e.g. 'RTM_NEWLINK'. */
  operation: string;
  /** What the request is about ('veth0', '10.0.0.1/24'), for error messages. */
  object?: string;
  /** Milliseconds to wait for the kernel's answer. */
  timeout?: number;
  signal?: AbortSignal;
}

export interface DumpOptions extends RequestOptions {
  /** How often to restart a dump the kernel marks inconsistent (NLM_F_DUMP_INTR). */
  retries?: number;
}

export interface Reply {
  /** Messages the kernel sent before its ACK (for GET requests, or with NLM_F_ECHO). */
  messages: NetlinkMessage[];
  /** Extended-ack text on a successful ACK: a warning, not a failure. */
  warning?: string;
}

/** A dump stayed inconsistent after every retry; `partial` holds the last attempt. */
export class DumpInterruptedError extends Error {
  readonly code = 'ERR_NETLINK_DUMP_INTERRUPTED';
  constructor(readonly operation: string, readonly attempts: number, readonly partial: NetlinkMessage[]) {
    super(`${operation}: dump interrupted by concurrent changes ${attempts} times (NLM_F_DUMP_INTR)`);
    this.name = 'DumpInterruptedError';
  }
}

/** Writes one complete message with the given seq (see netlink/message.ts writeMessage). */
export type Encoder = (w: ByteWriter, seq: number) => void;

interface Pending {
  encoders: Encoder[];
  /** How many of its messages the kernel answers (NLMSG_ERROR or NLMSG_DONE). */
  expected: number;
  dump: boolean;
  /** Set NLM_F_ACK on each message (nf_tables batch markers must not carry it). */
  ack: boolean;
  opts: RequestOptions;
  firstSeq: number;
  seqCount: number;
  messages: NetlinkMessage[];
  answers: number;
  failure?: Error;
  warning?: string;
  interrupted: boolean;
  settled: boolean;
  resolve(r: { messages: NetlinkMessage[]; warning?: string; interrupted: boolean }): void;
  reject(e: Error): void;
  onAbort?: () => void;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_BATCH_MESSAGES = 2048;
const MAX_BATCH_BYTES = 1 << 20;

let nextJobId = 1;

export class Connection extends EventEmitter {
  private queue: Pending[] = [];
  private inFlight: Pending[] | null = null;
  private inFlightJob = 0;
  private seq = 1;
  private closed = false;
  private flushScheduled = false;
  private readonly writer = new ByteWriter(64 * 1024);

  constructor(private readonly transport: Transport, readonly defaultTimeout = DEFAULT_TIMEOUT_MS) {
    super();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one request (NLM_F_REQUEST|NLM_F_ACK are set here) and resolves on its ACK. */
  async request(encode: Encoder, opts: RequestOptions): Promise<Reply> {
    const r = await this.enqueue([encode], 1, false, opts);
    return r.warning === undefined ? { messages: r.messages } : { messages: r.messages, warning: r.warning };
  }

  /** Several messages that travel together and are answered `expected` times (nf_tables batches). */
  async requestGroup(encoders: Encoder[], expected: number, opts: RequestOptions): Promise<Reply> {
    const r = await this.enqueue(encoders, expected, false, opts, false);
    return r.warning === undefined ? { messages: r.messages } : { messages: r.messages, warning: r.warning };
  }

  /** A dump request (NLM_F_DUMP set here): every message up to NLMSG_DONE. */
  async dump(encode: Encoder, opts: DumpOptions): Promise<NetlinkMessage[]> {
    const retries = opts.retries ?? 5;
    let last: NetlinkMessage[] = [];
    for (let attempt = 1; attempt <= retries + 1; attempt++) {
      const r = await this.enqueue([encode], 1, true, opts);
      if (!r.interrupted) return r.messages;
      last = r.messages;
    }
    throw new DumpInterruptedError(opts.operation, retries + 1, last);
  }

  /** Rejects queued and in-flight requests with ClosedError and closes the socket once the
   *  kernel has finished with it (never while a worker thread still uses the fd). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = new ClosedError('netlink connection');
    for (const p of this.queue) this.settle(p, err);
    this.queue = [];
    if (this.inFlight) {
      for (const p of this.inFlight) this.settle(p, err);
      this.transport.cancel(this.inFlightJob);
    } else {
      this.transport.close();
    }
  }

  private enqueue(
    encoders: Encoder[],
    expected: number,
    dump: boolean,
    opts: RequestOptions,
    ack = true,
  ): Promise<{ messages: NetlinkMessage[]; warning?: string; interrupted: boolean }> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new ClosedError('netlink connection'));
      if (opts.signal?.aborted) return reject(abortReason(opts.signal));
      const p: Pending = {
        encoders,
        expected,
        dump,
        ack,
        opts,
        firstSeq: 0,
        seqCount: encoders.length,
        messages: [],
        answers: 0,
        interrupted: false,
        settled: false,
        resolve,
        reject,
      };
      if (opts.signal) {
        const signal = opts.signal;
        p.onAbort = () => this.abort(p, abortReason(signal));
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.queue.push(p);
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.inFlight) return;
    this.flushScheduled = true;
    // A microtask lets every request issued in the same tick share one sendmsg.
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.inFlight || this.closed || this.queue.length === 0) return;
    const w = this.writer;
    w.length = 0;
    const batch: Pending[] = [];
    const firstSeq = this.seq;
    let expected = 0;
    let timeout = Infinity;
    let seqCount = 0;
    let hasDump = false;
    while (this.queue.length > 0) {
      const p = this.queue[0]!;
      if (batch.length > 0 && (seqCount + p.seqCount > MAX_BATCH_MESSAGES || w.length > MAX_BATCH_BYTES)) break;
      // A socket runs one dump at a time: a second dump in the same sendmsg gets EBUSY.
      if (p.dump && hasDump) break;
      hasDump ||= p.dump;
      this.queue.shift();
      const start = w.length;
      try {
        p.firstSeq = this.seq;
        for (const encode of p.encoders) {
          const at = w.length;
          encode(w, this.nextSeq());
          this.patchFlags(w, at, p);
        }
      } catch (e) {
        // An encoder refused its input: nothing of this request is sent.
        w.length = start;
        this.seq = p.firstSeq;
        this.settle(p, e as Error);
        continue;
      }
      batch.push(p);
      seqCount += p.seqCount;
      expected += p.expected;
      timeout = Math.min(timeout, p.opts.timeout ?? this.defaultTimeout);
    }
    if (batch.length === 0) return;
    this.inFlight = batch;
    const jobId = (this.inFlightJob = nextJobId++ >>> 0 || nextJobId++);
    const request = w.take();
    this.transport
      .transact(request, firstSeq, seqCount, expected, Math.max(1, Math.min(timeout, 2 ** 31 - 1)), jobId)
      .then(
        (replies) => this.dispatch(batch, replies, firstSeq, seqCount),
        (err: Error) => {
          for (const p of batch) this.settle(p, err);
        },
      )
      .finally(() => {
        this.inFlight = null;
        if (this.closed) this.transport.close();
        else this.flush();
      });
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) >>> 0 || 1;
    return s;
  }

  private patchFlags(w: ByteWriter, at: number, p: Pending): void {
    if (w.length - at < NLMSG_HDRLEN) throw new Error('encoder wrote no netlink header');
    let flags = w.buf.readUInt16LE(at + 6) | NLM_F_REQUEST;
    if (p.dump) flags |= NLM_F_DUMP;
    else if (p.ack) flags |= NLM_F_ACK;
    w.buf.writeUInt16LE(flags, at + 6);
  }

  private dispatch(batch: Pending[], replies: Buffer, firstSeq: number, seqCount: number): void {
    let messages: NetlinkMessage[];
    try {
      messages = parseMessages(replies);
    } catch (e) {
      for (const p of batch) this.settle(p, e as Error);
      return;
    }
    const owner = (seq: number): Pending | undefined => {
      const i = (seq - firstSeq) >>> 0;
      if (i >= seqCount) return undefined; // a late answer to an earlier request: ignored
      for (const p of batch) if (((seq - p.firstSeq) >>> 0) < p.seqCount) return p;
      return undefined;
    };
    for (const m of messages) {
      const p = owner(m.seq);
      if (!p || p.settled) continue;
      try {
        this.absorb(p, m);
      } catch (e) {
        p.failure ??= e as Error;
        p.answers = p.expected;
      }
      if (p.answers >= p.expected) this.finish(p);
    }
    // Whatever is left was not answered in time (timeout or abort).
    for (const p of batch) {
      if (!p.settled) this.settle(p, new TimeoutError(describe(p.opts), p.opts.timeout ?? this.defaultTimeout));
    }
  }

  private absorb(p: Pending, m: NetlinkMessage): void {
    if (m.type === NLMSG_NOOP || m.type === NLMSG_OVERRUN) return;
    if (m.flags & NLM_F_DUMP_INTR) p.interrupted = true;
    if (m.type === NLMSG_ERROR) {
      const e = decodeError(m);
      p.answers++;
      if (e.error !== 0) {
        p.failure ??= new NetlinkError({
          errno: e.error,
          syscall: 'sendmsg',
          operation: p.opts.operation,
          ...(p.opts.object !== undefined ? { object: p.opts.object } : {}),
          ...(e.message !== undefined ? { kernelMessage: e.message } : {}),
          ...(e.badAttributeOffset !== undefined ? { badAttributeOffset: e.badAttributeOffset } : {}),
          ...(e.error === -1 ? { hint: 'needs CAP_NET_ADMIN' } : {}),
        });
      } else if (e.message) {
        p.warning = e.message;
        this.emit('warning', { operation: p.opts.operation, object: p.opts.object, message: e.message });
      }
      return;
    }
    if (m.type === NLMSG_DONE) {
      const d = decodeDone(m);
      p.answers++;
      if (d.error !== 0) {
        p.failure ??= new NetlinkError({
          errno: d.error,
          syscall: 'recvmsg',
          operation: p.opts.operation,
          ...(p.opts.object !== undefined ? { object: p.opts.object } : {}),
          ...(d.message !== undefined ? { kernelMessage: d.message } : {}),
        });
      }
      return;
    }
    p.messages.push(m);
  }

  private finish(p: Pending): void {
    if (p.failure) return this.settle(p, p.failure);
    if (p.settled) return;
    p.settled = true;
    this.detach(p);
    p.resolve({
      messages: p.messages,
      interrupted: p.interrupted,
      ...(p.warning !== undefined ? { warning: p.warning } : {}),
    });
  }

  private settle(p: Pending, err: Error): void {
    if (p.settled) return;
    p.settled = true;
    this.detach(p);
    p.reject(err);
  }

  private detach(p: Pending): void {
    if (p.onAbort) p.opts.signal?.removeEventListener('abort', p.onAbort);
  }

  private abort(p: Pending, reason: Error): void {
    const queued = this.queue.indexOf(p);
    if (queued >= 0) this.queue.splice(queued, 1);
    this.settle(p, reason);
    // Stop waiting for the kernel only when nobody else in the batch still wants its answer.
    if (this.inFlight && this.inFlight.every((q) => q.settled)) this.transport.cancel(this.inFlightJob);
  }
}

function describe(opts: RequestOptions): string {
  return opts.object === undefined ? opts.operation : `${opts.operation} '${opts.object}'`;
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  const e = new Error('The operation was aborted', { cause: r });
  e.name = 'AbortError';
  (e as Error & { code: string }).code = 'ABORT_ERR';
  return e;
}
