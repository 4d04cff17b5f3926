// One netlink socket: requests are queued, and everything queued while the kernel is busy
// goes to it in one sendmsg (pipelining), with answers matched back to each request by seq.
// Dumps are collected to NLMSG_DONE; NLM_F_DUMP_INTR is retried or surfaced, never hidden.
import { EventEmitter } from 'node:events';
import { ByteWriter, DecodeError, EncodeError, NLA_HDRLEN, align4, loadU16, storeU16, storeU32 } from './netlink/attributes.js';
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
  splitMessages,
  type NetlinkMessage,
} from './netlink/message.js';
import { ClosedError, NetlinkError, TimeoutError, abortReason, capabilityHint } from './errors.js';
import { monotonicMs } from './clock.js';

/** What a connection needs from the kernel; the addon implements it, tests fake it. */
export interface Transport {
  transact(request: Buffer, firstSeq: number, count: number, expected: number, timeoutMs: number, jobId: number): Promise<Buffer>;
  /** Optional: the exchange on the calling thread, without sleeping (see native.ts). */
  transactInline?(request: Buffer, firstSeq: number, count: number, expected: number): { replies: Buffer; complete: boolean; answered: number };
  cancel(jobId: number): void;
  close(): void;
  /** False while the transport cannot exchange yet (its socket is opening): transact() waits
   *  for it, and nothing goes inline. Absent means always ready. */
  readonly ready?: boolean;
}

export interface RequestOptions {
  /** The netlink operation for error messages, e.g. 'RTM_NEWLINK'. */
  operation: string;
  /** What the request is about ('veth0', '10.0.0.1/24'), for error messages. */
  object?: string;
  /** A request the kernel answers in microseconds inside send() (an address, a route, a link
   *  flag, a GET): it runs on the calling thread, alone or with up to INLINE_MAX_MESSAGES such
   *  requests of the same tick, since two thread hand-offs cost more than the requests. Never
   *  for link creation/deletion, moves or dumps. */
  inline?: boolean;
  /** Milliseconds to wait for the kernel's answer, counted from the call. An answer that
   *  reached the socket is still delivered when its transact ends a little later. */
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

/**
 * A dump stayed inconsistent after every retry; `partial` holds the last attempt. Listings
 * retry a dump the kernel marks interrupted (NLM_F_DUMP_INTR): this is what is left when
 * other processes change the same objects without pause.
 *
 * @example
 * ```ts
 * try {
 *   await listRoutes({ netns: 'pb' });
 * } catch (err) {
 *   if (err instanceof DumpInterruptedError) console.log(`${err.operation}: ${err.attempts} attempts`);
 *   else throw err;
 * }
 * ```
 */
export class DumpInterruptedError extends Error {
  /** Always 'ERR_NETLINK_DUMP_INTERRUPTED'. */
  readonly code = 'ERR_NETLINK_DUMP_INTERRUPTED';
  /**
   * @param operation The dump, e.g. 'RTM_GETROUTE'.
   * @param attempts How many times it was tried.
   * @param partial The messages of the last attempt (possibly inconsistent).
   */
  constructor(readonly operation: string, readonly attempts: number, readonly partial: NetlinkMessage[]) {
    super(`${operation}: dump interrupted by concurrent changes ${attempts} times (NLM_F_DUMP_INTR)`);
    this.name = 'DumpInterruptedError';
  }
}

/** Writes one complete message with the given seq (see netlink/message.ts writeMessage). */
export type Encoder = (w: ByteWriter, seq: number) => void;

interface Pending {
  /** The request's messages, encoded when it was queued (seqs and flags are set at send). */
  bytes: Buffer;
  /** How many of its messages the kernel answers (NLMSG_ERROR or NLMSG_DONE). */
  expected: number;
  dump: boolean;
  /** Set NLM_F_ACK on each message (nf_tables batch markers must not carry it). */
  ack: boolean;
  opts: RequestOptions;
  timeoutMs: number;
  /** monotonicMs() by which the answer must be in (Infinity: no limit). */
  deadline: number;
  firstSeq: number;
  seqCount: number;
  /** Byte length of each message as sent, to check the kernel's bad-attribute offsets. */
  lengths: number[];
  /** Set for requests queued by requestEach(): each message is a request of its own, its
   *  refusal recorded in `errors` (undefined: acknowledged) instead of failing the whole. */
  each?: readonly RequestOptions[];
  errors?: (Error | undefined)[];
  /** Which of an each-request's messages were answered (a repeated answer counts once). */
  answered?: Uint8Array;
  messages: NetlinkMessage[];
  answers: number;
  failure?: Error;
  warning?: string;
  interrupted: boolean;
  settled: boolean;
  /** Sent, and its deadline passed: the transact it is in may be stopped for it. */
  expired: boolean;
  /** Set in its one dispatch: its plain ACK was counted while the reply was split. */
  ackTaken: boolean;
  /** Set in its one dispatch: its last answer was absorbed (what follows is ignored). */
  allAbsorbed: boolean;
  resolve(r: Settled): void;
  reject(e: Error): void;
  onAbort?: () => void;
  timer?: ReturnType<typeof setTimeout>;
}

/** What a request resolves with: a dump also says whether the kernel marked it interrupted,
 *  and requests queued by requestEach() each one's outcome. */
type Settled = Reply & { interrupted?: boolean; errors?: (Error | undefined)[] };

/** A request built and validated, ready to queue: callers that need several requests in a
 *  fixed order (the bulk path, requestEach()) queue them synchronously, so they share one
 *  sendmsg in order. */
export interface PreparedRequest {
  encode: Encoder;
  opts: RequestOptions;
}

interface Warning {
  operation: string;
  object: string | undefined;
  message: string;
}

/** Microtask hops between the first queued request and the send (see scheduleFlush). */
const FLUSH_HOPS = 8;
/** RTNETLINK_INLINE=0 sends every request from the addon's threads. */
const INLINE = process.env.RTNETLINK_INLINE !== '0';
/** The most inline requests exchanged on the calling thread at once: the kernel answers each
 *  in a few µs, so 64 keep the event loop's pause well under a millisecond. */
const INLINE_MAX_MESSAGES = 64;
const INLINE_MAX_BYTES = 16 * 1024;
const EMPTY = Buffer.alloc(0);
const RESOLVED = Promise.resolve();
/** Every connection encodes into this one writer: flush() fills and copies it out in one
 *  synchronous run, and a 64 KiB buffer per connection (one per namespace in a bulk apply)
 *  is external memory that makes V8 collect more often. */
const sharedWriter = new ByteWriter(64 * 1024);

export const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_BATCH_MESSAGES = 2048;
const MAX_BATCH_BYTES = 1 << 20;
const MAX_SEQ = 0xffffffff;
/** setTimeout and the addon's int timeout both stop at 2^31-1 ms (~24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

let nextJobId = 0;
function newJobId(): number {
  // 1..2^32-1: the addon reads it as uint32, and 0 would look like "no job".
  nextJobId = (nextJobId % MAX_SEQ) + 1;
  return nextJobId;
}

export class Connection extends EventEmitter {
  private queue: Pending[] = [];
  private inFlight: Pending[] | null = null;
  private inFlightJob = 0;
  /** The next seq to use, 1..2^32 (2^32 means "wrap to 1 at the next transact"). */
  private seq = 1;
  private closed = false;
  private transportClosed = false;
  private flushScheduled = false;

  constructor(private readonly transport: Transport, readonly defaultTimeout = DEFAULT_TIMEOUT_MS) {
    super();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one request (NLM_F_REQUEST|NLM_F_ACK are set here) and resolves on its ACK. */
  request(encode: Encoder, opts: RequestOptions): Promise<Reply> {
    return this.enqueue([encode], 1, false, opts);
  }

  /** Several messages that travel together and are answered `expected` times (nf_tables batches). */
  async requestGroup(encoders: Encoder[], expected: number, opts: RequestOptions): Promise<Reply> {
    if (encoders.length === 0) throw new RangeError(`${opts.operation}: a request group needs at least one message`);
    if (!Number.isInteger(expected) || expected < 0 || expected > encoders.length) {
      throw new RangeError(`${opts.operation}: expected answers must be an integer from 0 to ${encoders.length}, got ${expected}`);
    }
    return this.enqueue(encoders, expected, false, opts, false);
  }

  /**
   * Many independent requests that resolve once, with each one's outcome in order: undefined
   * for an ACK, the error for a refusal (one refusal fails only its own request). They are
   * encoded now, in one buffer per INLINE_MAX_MESSAGES, and reach the kernel in order; a
   * failure of the exchange itself (closed, timed out, aborted) rejects the whole.
   */
  async requestEach(requests: readonly PreparedRequest[], opts: Omit<RequestOptions, 'inline'>): Promise<(Error | undefined)[]> {
    const parts: Promise<Settled>[] = [];
    for (let at = 0; at < requests.length; at += INLINE_MAX_MESSAGES) {
      const count = Math.min(INLINE_MAX_MESSAGES, requests.length - at);
      const encoders = new Array<Encoder>(count);
      const each = new Array<RequestOptions>(count);
      let inline = true;
      for (let k = 0; k < count; k++) {
        const r = requests[at + k]!;
        encoders[k] = r.encode;
        each[k] = r.opts;
        inline &&= r.opts.inline === true;
      }
      parts.push(this.enqueue(encoders, count, false, { ...opts, inline }, true, each));
    }
    const settled = await Promise.all(parts);
    return settled.length === 1 ? settled[0]!.errors! : settled.flatMap((s) => s.errors!);
  }

  /** A dump request (NLM_F_DUMP set here): every message up to NLMSG_DONE. */
  async dump(encode: Encoder, opts: DumpOptions): Promise<NetlinkMessage[]> {
    const retries = opts.retries ?? 5;
    if (!Number.isInteger(retries) || retries < 0) {
      throw new RangeError(`${opts.operation}: retries must be a non-negative integer, got ${retries}`);
    }
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
    const queued = this.queue;
    this.queue = [];
    // Made only when someone is waiting: an Error captures a stack, and a bulk apply closes a
    // connection per namespace with nothing left on it.
    let err: ClosedError | undefined;
    const closedError = () => (err ??= new ClosedError('netlink connection'));
    for (const p of queued) this.settle(p, closedError());
    if (this.inFlight) {
      for (const p of this.inFlight) if (!p.settled) this.settle(p, closedError());
      this.transport.cancel(this.inFlightJob);
    } else {
      this.closeTransport();
    }
  }

  private closeTransport(): void {
    if (this.transportClosed) return;
    this.transportClosed = true;
    this.transport.close();
  }

  private enqueue(
    encoders: Encoder[],
    expected: number,
    dump: boolean,
    opts: RequestOptions,
    ack = true,
    each?: readonly RequestOptions[],
  ): Promise<Settled> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new ClosedError('netlink connection'));
      if (opts.signal?.aborted) return reject(abortReason(opts.signal));
      const timeoutMs = opts.timeout ?? this.defaultTimeout;
      if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
        return reject(new RangeError(`${describe(opts)}: timeout must be a non-negative number of ms, got ${String(timeoutMs)}`));
      }
      // Encoded now, while the connection may still wait for the kernel: a batch that waited
      // behind a transact goes out as soon as it ends instead of being encoded then.
      let bytes: Buffer;
      const lengths: number[] = [];
      try {
        bytes = encodeRequest(encoders, lengths, opts, each);
      } catch (e) {
        return reject(toError(e));
      }
      const p: Pending = {
        bytes,
        expected,
        dump,
        ack,
        opts,
        timeoutMs,
        deadline: monotonicMs() + timeoutMs,
        firstSeq: 0,
        seqCount: encoders.length,
        lengths,
        messages: [],
        answers: 0,
        interrupted: false,
        settled: false,
        expired: false,
        ackTaken: false,
        allAbsorbed: false,
        // Every field is present from the start, so every request has one shape and the
        // property reads in flush and dispatch stay monomorphic.
        each,
        errors: each ? new Array<Error | undefined>(each.length).fill(undefined) : undefined,
        answered: each ? new Uint8Array(each.length) : undefined,
        failure: undefined,
        warning: undefined,
        onAbort: undefined,
        timer: undefined,
        resolve,
        reject,
      };
      if (opts.signal) {
        const signal = opts.signal;
        p.onAbort = () => this.drop(p, abortReason(signal));
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.queue.push(p);
      // Time spent queued behind another transact counts too. A request that goes out with
      // the next flush needs no timer: the addon's exchange ends at its deadline.
      if (this.inFlight) this.armTimer(p);
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.inFlight) return;
    this.flushScheduled = true;
    // A few microtask hops: requests issued in the same tick share one sendmsg even when each
    // went through some awaits before reaching the queue, without waiting for the event loop.
    // (A resolved promise's then() rather than queueMicrotask(): Node wraps the latter for
    // async hooks, and eight of them were a visible part of an awaited request.)
    // One closure for all the hops: this runs for every awaited request.
    let hops = FLUSH_HOPS;
    const hop = (): void => {
      if (hops-- > 0) {
        RESOLVED.then(hop);
        return;
      }
      this.flushScheduled = false;
      this.flush();
    };
    RESOLVED.then(hop);
  }

  private flush(): void {
    // An inline exchange the kernel answered within send() is settled here and now, and the
    // loop goes on with what is queued behind it; anything else ends the loop until it returns.
    while (!this.inFlight && !this.closed && this.queue.length > 0) {
      const next = this.takeBatch();
      if (!next) continue;
      const { batch, firstSeq, seqCount, expected, bytes } = next;
      const request = batch.length === 1 ? batch[0]!.bytes : Buffer.allocUnsafe(bytes);
      let at = 0;
      for (const p of batch) {
        if (batch.length > 1) p.bytes.copy(request, at);
        setSeqsAndFlags(request, at, p);
        at += p.bytes.length;
      }
      let partial: { replies: Buffer; answered: number } | undefined;
      if (this.goesInline(batch, seqCount, bytes)) {
        let r: ReturnType<NonNullable<Transport['transactInline']>>;
        try {
          r = this.transport.transactInline!(request, firstSeq, seqCount, expected);
        } catch (e) {
          for (const p of batch) this.settle(p, transportError(toError(e), p.opts));
          continue;
        }
        if (r.complete) {
          try {
            this.dispatch(batch, r.replies, firstSeq, seqCount);
          } catch (e) {
            // A 'warning' listener threw (after every request was settled): what is queued
            // behind still goes out.
            this.scheduleFlush();
            throw e;
          }
          continue;
        }
        partial = r;
      }
      this.exchangeOnThread(batch, request, firstSeq, seqCount, expected, next.waitUntil, partial);
    }
    if (this.closed && !this.inFlight) this.closeTransport();
  }

  /** The next transact's requests, numbered; what does not fit waits behind it. */
  private takeBatch(): { batch: Pending[]; firstSeq: number; seqCount: number; expected: number; bytes: number; waitUntil: number } | undefined {
    const batch: Pending[] = [];
    let firstSeq = this.seq;
    let expected = 0;
    let seqCount = 0;
    let bytes = 0;
    let waitUntil = 0;
    let hasDump = false;
    let taken = 0;
    for (; taken < this.queue.length; taken++) {
      const p = this.queue[taken]!;
      // The addon matches answers by firstSeq..firstSeq+count-1, so one transact's seqs must
      // not wrap (and never use seq 0, the seq of kernel notifications).
      const wraps = this.seq + p.seqCount - 1 > MAX_SEQ;
      if (batch.length > 0) {
        if (seqCount + p.seqCount > MAX_BATCH_MESSAGES || bytes > MAX_BATCH_BYTES) break;
        if (wraps) break;
        // The kernel runs one dump per socket at a time: a second dump in the same sendmsg
        // would be refused with EBUSY.
        if (p.dump && hasDump) break;
        // nfnetlink reads nothing after a batch's end in the same datagram: a request group (an
        // nf_tables batch) travels alone.
        if (!p.ack || !batch[0]!.ack) break;
        // One transact waits as long as its longest deadline, and answers only reach JS when
        // it ends: a request must not hold up, or be held up by, one with another timeout.
        if (p.timeoutMs !== batch[0]!.timeoutMs) break;
      } else if (wraps) {
        this.seq = firstSeq = 1;
      }
      if (p.settled) continue;
      p.firstSeq = this.seq;
      this.seq += p.seqCount;
      batch.push(p);
      seqCount += p.seqCount;
      bytes += p.bytes.length;
      expected += p.expected;
      hasDump ||= p.dump;
      waitUntil = Math.max(waitUntil, p.deadline);
    }
    // Usually everything queued goes: emptying the array is cheaper than splicing it.
    if (taken === this.queue.length) this.queue.length = 0;
    else this.queue.splice(0, taken);
    return batch.length === 0 ? undefined : { batch, firstSeq, seqCount, expected, bytes, waitUntil };
  }

  /** Small requests the kernel answers within send(), all of them (see RequestOptions.inline). */
  private goesInline(batch: Pending[], seqCount: number, bytes: number): boolean {
    if (!INLINE || !this.transport.transactInline || this.transport.ready === false) return false;
    if (batch.length > 1 && (seqCount > INLINE_MAX_MESSAGES || bytes > INLINE_MAX_BYTES)) return false;
    for (const p of batch) if (!p.opts.inline) return false;
    return true;
  }

  /** The exchange, or the rest of an inline one the kernel had not finished answering, on the
   *  addon's I/O thread; the connection sends nothing else until it ends. */
  private exchangeOnThread(
    batch: Pending[],
    request: Buffer,
    firstSeq: number,
    seqCount: number,
    expected: number,
    waitUntil: number,
    partial: { replies: Buffer; answered: number } | undefined,
  ): void {
    this.inFlight = batch;
    // What did not fit in this transact waits behind it.
    for (const p of this.queue) this.armTimer(p);
    const jobId = (this.inFlightJob = newJobId());
    // Same timeout for all, so the deadlines differ only by how long each waited in the queue.
    const timeoutMs = Math.max(1, Math.min(Math.ceil(waitUntil - monotonicMs()), MAX_TIMER_MS));
    let reply: Promise<Buffer>;
    try {
      reply = partial
        ? this.transport.transact(EMPTY, firstSeq, seqCount, expected - partial.answered, timeoutMs, jobId).then((rest) => Buffer.concat([partial.replies, rest]))
        : this.transport.transact(request, firstSeq, seqCount, expected, timeoutMs, jobId);
    } catch (e) {
      reply = Promise.reject(toError(e));
    }
    // Idle again before anyone hears of the outcome: a caller that closes the connection once
    // its request resolved finds nothing in flight.
    const ended = (settleBatch: () => void): void => {
      this.inFlight = null;
      try {
        settleBatch();
      } finally {
        if (this.closed) this.closeTransport();
        else this.flush();
      }
    };
    reply.then(
      (replies) => ended(() => this.dispatch(batch, replies, firstSeq, seqCount)),
      (err: unknown) =>
        ended(() => {
          for (const p of batch) this.settle(p, transportError(toError(err), p.opts));
        }),
    );
  }

  private dispatch(batch: Pending[], replies: Buffer, firstSeq: number, seqCount: number): void {
    // Most exchanges carry one request: no seq table for them.
    const only = batch.length === 1 ? batch[0] : undefined;
    const bySeq = only ? undefined : new Array<Pending>(seqCount);
    if (bySeq) for (const p of batch) bySeq.fill(p, p.firstSeq - firstSeq, p.firstSeq - firstSeq + p.seqCount);
    // Outside the range: a late answer to an earlier request (timed out, aborted), ignored.
    const pendingOf = (seq: number): Pending | undefined => {
      const k = seq - firstSeq;
      return k < 0 || k >= seqCount ? undefined : (only ?? bySeq![k]);
    };
    // Plain ACKs are counted as they are split, without a message object each: they carry
    // nothing else. For requestEach()'s messages their order does not matter. A one-message
    // request's ACK is the last thing the kernel sends for it, after any echo: the echo is still
    // absorbed below, and a second answer after it is ignored, as it would have been.
    // (p.ackTaken and p.allAbsorbed are flags of this one dispatch: a request is dispatched once.)
    const takeAck = (seq: number): boolean => {
      const p = pendingOf(seq);
      if (!p || p.settled) return false;
      if (p.each) {
        countEachAnswer(p, seq);
        return true;
      }
      if (p.dump || p.seqCount !== 1 || p.expected !== 1) return false;
      p.ackTaken = true;
      p.answers++;
      return true;
    };
    const { messages, error } = splitMessages(replies, takeAck);
    let warnings: Warning[] | undefined;
    for (const m of messages) {
      const p = pendingOf(m.seq);
      // After a request's last answer was absorbed, what comes for it is ignored.
      if (!p || p.settled || p.allAbsorbed) continue;
      if (p.ackTaken && (m.type === NLMSG_ERROR || m.type === NLMSG_DONE)) continue;
      try {
        this.absorb(p, m, (warnings ??= []));
      } catch (e) {
        p.failure ??= toError(e);
        p.answers = p.expected;
      }
      if (p.answers >= p.expected && !p.ackTaken) p.allAbsorbed = true;
    }
    // Settled in the order they were sent, which is the order the kernel answered them.
    for (const p of batch) {
      if (p.settled) continue;
      if (p.each && !p.failure && p.answers < p.expected) this.failUnanswered(p, error);
      if (p.failure) this.settle(p, p.failure);
      // Answered in full (its ACK taken while splitting) before anything broke the framing.
      else if (p.answers >= p.expected) this.finish(p);
      else if (error) this.settle(p, new DecodeError(`${describe(p.opts)}: ${error.message}`, { cause: error }));
      else this.settle(p, new TimeoutError(describe(p.opts), p.timeoutMs));
    }
    // After every request is settled, so a throwing listener cannot strand one.
    if (warnings) for (const w of warnings) this.emit('warning', w);
  }

  /** The messages of an each-request the exchange ended without an answer to: each gets the
   *  error a request of its own would have got, and the request is complete. */
  private failUnanswered(p: Pending, error: Error | undefined): void {
    for (let k = 0; k < p.each!.length; k++) {
      if (p.answered![k]) continue;
      const o = p.each![k]!;
      p.errors![k] = error ? new DecodeError(`${describe(o)}: ${error.message}`, { cause: error }) : new TimeoutError(describe(o), p.timeoutMs);
    }
    p.answers = p.expected;
  }

  private absorb(p: Pending, m: NetlinkMessage, warnings: Warning[]): void {
    if (m.type === NLMSG_NOOP || m.type === NLMSG_OVERRUN) return;
    if (m.flags & NLM_F_DUMP_INTR) p.interrupted = true;
    if (m.type === NLMSG_ERROR && p.each) return this.absorbEach(p, m, warnings);
    if (m.type === NLMSG_ERROR) {
      const o = ackOutcome(m, p.opts, p.lengths[m.seq - p.firstSeq]!);
      p.answers++;
      if (o.error) {
        p.failure ??= o.error;
      } else if (o.warning) {
        p.warning = o.warning;
        warnings.push({ operation: p.opts.operation, object: p.opts.object, message: o.warning });
      }
      return;
    }
    if (m.type === NLMSG_DONE) {
      const d = decodeFor(p.opts, () => decodeDone(m));
      p.answers++;
      if (d.error !== 0) {
        p.failure ??= new NetlinkError({
          errno: d.error,
          syscall: 'recvmsg',
          operation: p.opts.operation,
          ...(p.opts.object !== undefined ? { object: p.opts.object } : {}),
          ...(d.message !== undefined ? { kernelMessage: d.message } : {}),
          ...(d.error === -1 ? { hint: capabilityHint('recvmsg') } : {}),
        });
      }
      return;
    }
    p.messages.push(m);
  }

  /** An answer to one message of an each-request: its own outcome, whatever the others'. */
  private absorbEach(p: Pending, m: NetlinkMessage, warnings: Warning[]): void {
    if (!countEachAnswer(p, m.seq)) return;
    const k = m.seq - p.firstSeq;
    const opts = p.each![k]!;
    const o = ackOutcome(m, opts, p.lengths[k]!);
    if (o.error) p.errors![k] = o.error;
    else if (o.warning) warnings.push({ operation: opts.operation, object: opts.object, message: o.warning });
  }

  /** Resolves a request answered in full, neither settled nor failed (see dispatch). */
  private finish(p: Pending): void {
    p.settled = true;
    this.detach(p);
    const r: Settled = p.warning === undefined ? { messages: p.messages } : { messages: p.messages, warning: p.warning };
    if (p.dump) r.interrupted = p.interrupted;
    if (p.errors) r.errors = p.errors;
    p.resolve(r);
  }

  private settle(p: Pending, err: Error): void {
    if (p.settled) return;
    p.settled = true;
    this.detach(p);
    p.reject(err);
  }

  private armTimer(p: Pending): void {
    if (p.timer !== undefined || p.timeoutMs > MAX_TIMER_MS) return;
    p.timer = setTimeout(() => this.expire(p), Math.max(0, p.deadline - monotonicMs()));
  }

  private detach(p: Pending): void {
    if (p.onAbort) p.opts.signal?.removeEventListener('abort', p.onAbort);
    if (p.timer !== undefined) clearTimeout(p.timer);
  }

  /** Ends one request now (abort) without disturbing the others. */
  private drop(p: Pending, reason: Error): void {
    if (p.settled) return;
    const queued = this.queue.indexOf(p);
    if (queued >= 0) this.queue.splice(queued, 1);
    this.settle(p, reason);
    if (queued < 0) this.stopIfNobodyWaits();
  }

  private expire(p: Pending): void {
    if (p.settled) return;
    const queued = this.queue.indexOf(p);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      return this.settle(p, new TimeoutError(describe(p.opts), p.timeoutMs));
    }
    // Sent: its answer may already sit in the transact's buffer, and reporting a timeout for
    // a request the kernel carried out invites a wrong retry. Let dispatch decide.
    p.expired = true;
    this.stopIfNobodyWaits();
  }

  /** Stops waiting for the kernel only when nobody in the batch still wants its answer. */
  private stopIfNobodyWaits(): void {
    if (this.inFlight && this.inFlight.every((q) => q.settled || q.expired)) this.transport.cancel(this.inFlightJob);
  }
}


/** A syscall failure of the whole transact, restated for one request of it. */
function transportError(err: Error, opts: RequestOptions): Error {
  if (!(err instanceof NetlinkError) || err.operation !== undefined) return err;
  return new NetlinkError({
    errno: err.errno,
    syscall: err.syscall,
    operation: opts.operation,
    ...(opts.object !== undefined ? { object: opts.object } : {}),
    ...(err.errno === -1 ? { hint: capabilityHint(err.syscall) } : {}),
  });
}

/** Runs a decoder of the control messages, naming the request in its DecodeError. */
function decodeFor<T>(opts: RequestOptions, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    throw new DecodeError(`${describe(opts)}: malformed reply: ${e.message}`, { cause: e });
  }
}

/** What one request's NLMSG_ERROR says: nothing for a plain ACK, the extended-ack text of an
 *  ACK that carries one, or the error its caller gets (a refusal, or a DecodeError naming the
 *  request when the answer is malformed). With the request's `length`, the kernel's
 *  bad-attribute offset is checked against it. */
function ackOutcome(m: NetlinkMessage, opts: RequestOptions, length?: number): { error?: Error; warning?: string } {
  try {
    const e = decodeFor(opts, () => decodeError(m));
    if (e.error !== 0) return { error: checkedRefusal(e, opts, length) };
    return e.message ? { warning: e.message } : {};
  } catch (err) {
    return { error: toError(err) };
  }
}

/** Marks the answer to message `seq` of an each-request; false when it was answered already
 *  (a repeated answer counts once). */
function countEachAnswer(p: Pending, seq: number): boolean {
  const k = seq - p.firstSeq;
  if (p.answered![k]) return false;
  p.answered![k] = 1;
  p.answers++;
  return true;
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function describe(opts: RequestOptions): string {
  return opts.object === undefined ? opts.operation : `${opts.operation} '${opts.object}'`;
}


/** Runs a request's encoders into one buffer (see encodeInto); `each` names them one by one
 *  in errors. */
function encodeRequest(encoders: Encoder[], lengths: number[], opts: RequestOptions, each?: readonly RequestOptions[]): Buffer {
  const w = sharedWriter;
  w.length = 0;
  for (let placeholder = 0; placeholder < encoders.length; placeholder++) lengths.push(encodeInto(w, encoders[placeholder]!, placeholder, each ? each[placeholder]! : opts));
  return w.take();
}

/** Appends one encoder's message to `w` and returns its length, checking it wrote exactly one
 *  message: a wrong length would make the kernel read into the next request of a batch. The
 *  encoder is given a placeholder seq (the real one is set at send) and must write it. */
function encodeInto(w: ByteWriter, encode: Encoder, placeholder: number, opts: RequestOptions): number {
  const at = w.length;
  encode(w, placeholder);
  const written = w.length - at;
  if (written < NLMSG_HDRLEN) throw new EncodeError(`${describe(opts)}: encoder wrote no netlink header`);
  const len = w.buf.readUInt32LE(at);
  if (len < NLMSG_HDRLEN || align4(len) !== written) {
    throw new EncodeError(`${describe(opts)}: encoder wrote ${written} bytes but nlmsg_len says ${len}`);
  }
  if (w.buf.readUInt32LE(at + 8) !== placeholder) {
    throw new EncodeError(`${describe(opts)}: encoder wrote seq ${w.buf.readUInt32LE(at + 8)}, expected ${placeholder}`);
  }
  return len;
}

/** Numbers a queued request's messages from p.firstSeq and sets the flags this layer owns. */
function setSeqsAndFlags(request: Buffer, at: number, p: Pick<Pending, 'firstSeq' | 'lengths' | 'dump' | 'ack'>): void {
  let seq = p.firstSeq;
  const ours = NLM_F_REQUEST | (p.dump ? NLM_F_DUMP : p.ack ? NLM_F_ACK : 0);
  const lengths = p.lengths;
  for (let i = 0; i < lengths.length; i++) {
    storeU32(request, at + 8, seq++);
    storeU16(request, at + 6, loadU16(request, at + 6) | ours);
    at += align4(lengths[i]!);
  }
}

/** refusal(), or a DecodeError when the kernel's bad-attribute offset lies outside the
 *  `length`-byte message it answers (a malformed or foreign answer; unchecked without one). */
function checkedRefusal(e: ReturnType<typeof decodeError>, opts: RequestOptions, length: number | undefined): Error {
  const err = refusal(e, opts);
  const off = e.badAttributeOffset;
  if (length !== undefined && off !== undefined && (off < NLMSG_HDRLEN || off + NLA_HDRLEN > length)) {
    return new DecodeError(`${describe(opts)}: NLMSG_ERROR points at a bad attribute at offset ${off}, outside the ${length}-byte request`, { cause: err });
  }
  return err;
}

/** The kernel's refusal of one request, as the error its caller gets. */
function refusal(e: ReturnType<typeof decodeError>, opts: RequestOptions): NetlinkError {
  return new NetlinkError({
    errno: e.error,
    syscall: 'sendmsg',
    operation: opts.operation,
    ...(opts.object !== undefined ? { object: opts.object } : {}),
    ...(e.message !== undefined ? { kernelMessage: e.message } : {}),
    ...(e.badAttributeOffset !== undefined ? { badAttributeOffset: e.badAttributeOffset } : {}),
    ...(e.error === -1 ? { hint: capabilityHint('sendmsg') } : {}),
  });
}

/** Requests encoded for the addon to send on a socket of its own (it numbers them): one
 *  buffer, and where each message starts. */
export function encodeForAddon(requests: readonly PreparedRequest[]): { bytes: Buffer; starts: number[] } {
  const w = sharedWriter;
  w.length = 0;
  const starts: number[] = [];
  const lengths = requests.map((r) => {
    starts.push(w.length);
    return encodeInto(w, r.encode, 0, r.opts);
  });
  const bytes = w.take();
  setSeqsAndFlags(bytes, 0, { firstSeq: 0, lengths, dump: false, ack: true });
  return { bytes, starts };
}

/**
 * The outcome of each request of an exchange the addon made itself (seqs firstSeq..), from
 * its answers as splitMessages() gives them (split once, shared by many readers): undefined
 * for an ACK, the error for a refusal or for no answer at all, and the other messages
 * (echoes) it got. Same errors as a Connection would give.
 */
export function readAnswers(
  { messages, error }: ReturnType<typeof splitMessages>,
  firstSeq: number,
  ops: RequestOptions[],
): { error?: Error; messages: NetlinkMessage[] }[] {
  const out = ops.map(() => ({ answered: false, messages: [] as NetlinkMessage[] }) as { answered: boolean; error?: Error; messages: NetlinkMessage[] });
  for (const m of messages) {
    const k = m.seq - firstSeq;
    const slot = out[k];
    if (k < 0 || !slot) continue;
    if (m.type !== NLMSG_ERROR) {
      slot.messages.push(m);
      continue;
    }
    slot.answered = true;
    const o = ackOutcome(m, ops[k]!);
    if (o.error) slot.error = o.error;
  }
  return out.map((slot, k) => {
    if (!slot.answered && !slot.error) {
      slot.error = error ? new DecodeError(`${describe(ops[k]!)}: ${error.message}`, { cause: error }) : new NetlinkError({ errno: -71, syscall: 'recvmsg', operation: ops[k]!.operation, ...(ops[k]!.object !== undefined ? { object: ops[k]!.object } : {}), hint: 'no answer from the kernel' });
    }
    return slot.error ? { error: slot.error, messages: slot.messages } : { messages: slot.messages };
  });
}
