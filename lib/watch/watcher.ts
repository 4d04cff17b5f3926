// The watch itself: one notification socket, the state of each namespace it follows, the
// (re)syncs, and the events handed to the consumer.
//
// How it keeps its promise (a consumer that applies every event holds the kernel's state):
// - Subscribe first, then dump, and buffer what arrives meanwhile: the dump is applied, then
//   the buffered notifications on top of it, then the result is compared with what the
//   consumer was told and only the differences are reported. Every change after the
//   subscription is in the buffer, in order, so the last word on each object is the latest.
// - ENOBUFS: the addon has already thrown away what was still queued (it predates the loss),
//   so a dump started now misses nothing that happens after it; then as above.
// - A dump the kernel marks inconsistent (NLM_F_DUMP_INTR) is retried, with a growing pause,
//   for as long as the watch lives: interruptions delay a resync, they never end it.
// - The kernel flushes some objects without a notification (IPv4 routes through a link that
//   goes down or away): SpaceState applies those rules itself (kinds.ts).
//
// allNamespaces: one socket with NETLINK_LISTEN_ALL_NSID in the caller's namespace hears
// every namespace it has an id for. The watch gives an id (RTM_NEWNSID) to each namespace of
// the run dir, at the start and as new ones appear (inotify), and forgets a namespace when the
// kernel withdraws its id (RTM_DELNSID: the namespace is gone).
import { watch as watchDirectory, type FSWatcher } from 'node:fs';
import type { Connection } from '../connection.js';
import { DumpInterruptedError } from '../connection.js';
import { NetlinkError, abortReason } from '../errors.js';
import { NamespaceHandle, listNamespaces, openHandle, runDir } from '../handle.js';
import type { NetlinkMessage } from '../netlink/message.js';
import * as rt from '../netlink/rtnetlink.js';
import { netnsLabel, withConnection } from '../target.js';
import { GROUPS, KINDS, SpaceState, dumpKind, type Emit, type WatchKind } from './kinds.js';
import { ensureNsid, getNsid, notifiedNsid, NSID_NOT_ASSIGNED } from './nsid.js';
import { requestedKinds, watchOptions, type ObjectEvent, type OverrunEvent, type WatchEvent, type WatchOptions, type WatchStats } from './options.js';
import { OWN_NAMESPACE, Subscription, type Notification } from './subscription.js';
import { monotonicMs } from '../clock.js';

interface Space {
  /** OWN_NAMESPACE for the socket's own namespace, else the id it has for this one. */
  nsid: number;
  /** The run dir name to open for dumps (allNamespaces). */
  name?: string;
  /** What the consumer was told. */
  state: SpaceState;
  syncing: boolean;
  /** Notifications that arrived while its dump ran. */
  buffered: NetlinkMessage[];
  /** Bumped by each (re)sync: results of an older one are dropped. */
  gen: number;
  /** Report its next listing (false only for the initial listing without listExisting). */
  report: boolean;
  /** The namespace opened when it was found, kept for its first dump (then closed): a watch
   *  must not hold namespaces open, or their links would outlive their deletion. */
  opened?: NamespaceHandle;
}

/** @internal a synchronous consumer (monitorLinks, waitFor) instead of the iterator. */
export interface WatchSink {
  event(e: WatchEvent): void;
  /** After each batch of events (one read of the socket, one resync's differences). */
  batchEnd?(): void;
  error(err: Error): void;
}

/** The namespace a dump was meant for is not there any more (or its name now means another). */
class SpaceGone extends Error {}

/** At most `limit` tasks at once (dumps: each holds a socket and a thread hop). */
class Limit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Pauses before an interrupted dump is tried again (then the last one over and over). */
const DUMP_RETRY_MS = [5, 10, 20, 50, 100, 200, 500];
/** A namespace file appears before its namespace is mounted on it: look again after these. */
const MOUNT_RETRY_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];
/** Namespaces found and held open until their first dump, at most. */
const MAX_KEPT_OPEN = 32;
/** Events handed out in one go before the iterator lets the event loop run. */
const YIELD_AFTER_MS = 4;

/**
 * A running watch: an async iterable of WatchEvents (iterate it once), with counters. Close it
 * when done (or break out of the loop, or abort its signal): an open watch keeps the process
 * alive, like fs.watch.
 *
 * @example
 * ```ts
 * await using watcher = watch({ netns: 'pb', links: true });
 * await watcher.ready;                 // subscribed: every change from here on is reported
 * await pb.setLinkUp('eth0');
 * for await (const e of watcher) if (e.type === 'changed' && e.kind === 'link' && e.object.up) break;
 * console.log(watcher.stats.events);
 * ```
 */
export class Watcher implements AsyncIterable<WatchEvent>, AsyncDisposable {
  /** Counters, updated as it runs. */
  readonly stats: WatchStats = { events: 0, overruns: 0, drops: 0, discarded: 0, resyncs: 0, lastResyncMs: 0, totalResyncMs: 0, dumpRetries: 0, namespaces: 0 };
  /** Resolves at the first 'synced' (subscribed, state known); rejects if the watch cannot start. */
  readonly ready: Promise<void>;

  private readonly tracked: Set<WatchKind>;
  private readonly reported: Set<WatchKind>;
  private readonly all: boolean;
  private target: NamespaceHandle | undefined;
  private ownsTarget = false;
  private sub: Subscription | undefined;
  private directory: FSWatcher | undefined;
  private readonly spaces = new Map<number, Space>();
  /** Run dir names followed (allNamespaces), and those being looked at. */
  private readonly names = new Map<string, number>();
  private readonly adopting = new Set<string>();
  private selfNsid = NSID_NOT_ASSIGNED;
  private readonly dumps = new Limit(32);
  private readonly opens = new Limit(16);
  /** Namespaces held open for their first dump (see Space.opened). */
  private kept = 0;
  /** Spaces the current initial sync or resync still waits for. */
  private pendingSync: Set<Space> | undefined;
  private syncStarted = 0;
  private syncIsResync = false;
  private readonly queue: WatchEvent[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private closed = false;
  private iterating = false;
  private lastYield = 0;
  private settleReady!: (err?: Error) => void;
  private readonly onAbort: (() => void) | undefined;

  /** @internal use watch(). */
  constructor(private readonly options: WatchOptions, private readonly sink?: WatchSink) {
    const requested = requestedKinds(options);
    this.reported = requested;
    // Addresses, routes and neighbours name their links, and the kernel's silent flushes
    // follow link changes: links are followed whenever those are, reported only if asked.
    this.tracked = new Set(requested);
    if (requested.has('address') || requested.has('route') || requested.has('neighbour')) this.tracked.add('link');
    this.all = options.allNamespaces === true;
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => (err ? reject(err) : resolve());
    });
    this.ready.catch(() => {});
    const signal = options.signal;
    if (signal) {
      this.onAbort = () => this.fail(abortReason(signal));
      if (signal.aborted) queueMicrotask(this.onAbort);
      else signal.addEventListener('abort', this.onAbort, { once: true });
    }
    void this.start();
  }

  /**
   * Stops watching; the iterator ends (events not yet taken are dropped).
   *
   * @example
   * ```ts
   * const watcher = watch({ netns: 'pb' });
   * setTimeout(() => watcher.close(), 10_000);
   * for await (const e of watcher) console.log(e);
   * ```
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    this.settleReady(new NetlinkError({ errno: -9, syscall: 'recvmsg', operation: 'watch', hint: 'closed before it was ready' }));
    this.wake?.();
  }

  /** `await using watcher = watch()` closes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** The events; iterate once. Breaking out of the loop closes the watcher. */
  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    if (this.iterating || this.sink) throw new Error('a Watcher can be iterated only once');
    this.iterating = true;
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }

  private async next(): Promise<IteratorResult<WatchEvent>> {
    for (;;) {
      if (this.closed && !this.failure) return { done: true, value: undefined };
      if (this.head < this.queue.length) {
        // A long run of queued events would otherwise be consumed in one microtask chain.
        if (monotonicMs() - this.lastYield > YIELD_AFTER_MS) {
          await new Promise<void>((r) => setImmediate(r));
          this.lastYield = monotonicMs();
          continue;
        }
        const value = this.queue[this.head++]!;
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        return { done: false, value };
      }
      if (this.failure) {
        const f = this.failure;
        this.closed = true;
        this.failure = undefined;
        throw f;
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
      this.lastYield = monotonicMs();
    }
  }

  // ---- start ---------------------------------------------------------------------------

  private async start(): Promise<void> {
    try {
      const netns = this.options.netns;
      if (typeof netns === 'string') {
        this.target = await openHandle(netns, NamespaceHandle);
        this.ownsTarget = true;
      } else {
        this.target = netns;
      }
      if (this.closed) return this.release();
      const groups = [...this.tracked].flatMap((k) => GROUPS[k]);
      if (this.all) groups.push(rt.RTNLGRP_NSID);
      this.sub = await Subscription.open(
        this.target,
        { groups, allNamespaces: this.all, ...(this.options.receiveBuffer !== undefined ? { receiveBuffer: this.options.receiveBuffer } : {}) },
        { messages: (list) => this.onMessages(list), overrun: (n) => this.onOverrun(n), error: (e) => this.fail(e) },
      );
      if (this.closed) return this.release();
      this.addSpace({ nsid: OWN_NAMESPACE, report: this.options.listExisting === true });
      if (this.all) {
        // If the caller's namespace has an id for itself, its own notifications carry it.
        this.selfNsid = await withConnection(undefined, (c) => getNsid(c, { pid: process.pid }));
        this.watchRunDir();
        await Promise.all(listNamespaces().map(({ name }) => this.adopt(name, this.options.listExisting === true)));
      }
      if (this.closed) return;
      this.startSync(false);
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private addSpace(s: { nsid: number; name?: string; report: boolean }): Space {
    const space: Space = { ...s, state: new SpaceState(s.name ?? (s.nsid === OWN_NAMESPACE && !this.all ? netnsLabel(this.options.netns) : undefined)), syncing: true, buffered: [], gen: 0 };
    this.spaces.set(s.nsid, space);
    this.stats.namespaces = this.spaces.size;
    return space;
  }

  private watchRunDir(): void {
    try {
      this.directory = watchDirectory(runDir(), (_event, file) => {
        if (typeof file === 'string' && !this.names.has(file)) void this.discovered(file);
      });
      this.directory.on('error', () => this.directory?.close());
    } catch {
      // No run dir yet: only the namespaces found at the start (and the caller's) are followed.
    }
  }

  /** A new name in the run dir: follow its namespace, reporting what is in it. */
  private async discovered(name: string): Promise<void> {
    try {
      const space = await this.adopt(name, true);
      if (space && !this.closed) void this.syncSpace(space);
    } catch (e) {
      this.fail(e as Error);
    }
  }

  /**
   * Gives the namespace named `name` an id (if it has none) and starts following it: from
   * here on its notifications reach the socket, and are buffered until its first dump.
   * Undefined when there is nothing to follow (gone, not a namespace, already followed).
   */
  private async adopt(name: string, report: boolean): Promise<Space | undefined> {
    if (this.names.has(name) || this.adopting.has(name)) return undefined;
    this.adopting.add(name);
    // A burst of new names (or a run dir of thousands at the start) must not open them all at once.
    return this.opens.run(() => this.adoptNow(name, report)).finally(() => this.adopting.delete(name));
  }

  private async adoptNow(name: string, report: boolean): Promise<Space | undefined> {
    for (let attempt = 0; ; attempt++) {
      let handle: NamespaceHandle;
      try {
        handle = await openHandle(name, NamespaceHandle);
      } catch (e) {
        // EINVAL: the file is there but the namespace is not mounted on it yet.
        if (e instanceof NetlinkError && e.code === 'EINVAL' && attempt < MOUNT_RETRY_MS.length && !this.closed) {
          await sleep(MOUNT_RETRY_MS[attempt]!);
          continue;
        }
        return undefined;
      }
      let nsid: number;
      try {
        nsid = await withConnection(undefined, (c) => ensureNsid(c, { fd: handle.fd }));
      } catch (e) {
        handle.close();
        throw e;
      }
      if (this.closed || nsid === NSID_NOT_ASSIGNED || nsid === this.selfNsid || this.spaces.has(nsid)) {
        handle.close();
        // Another name of a namespace followed already: remember the name, nothing more.
        if (!this.closed && this.spaces.has(nsid)) this.names.set(name, nsid);
        return undefined;
      }
      this.names.set(name, nsid);
      const space = this.addSpace({ nsid, name, report });
      // Kept for the first dump, but only a few at a time: a burst of new namespaces must
      // not cost an fd each while they wait for their turn.
      if (this.kept < MAX_KEPT_OPEN) {
        space.opened = handle;
        this.kept++;
      } else {
        handle.close();
      }
      return space;
    }
  }

  // ---- notifications -------------------------------------------------------------------

  private onMessages(list: Notification[]): void {
    const out: WatchEvent[] = [];
    try {
      for (const { nsid, message: m } of list) {
        if (m.type === rt.RTM_NEWNSID || m.type === rt.RTM_DELNSID) {
          // Ids our own namespace gives (or withdraws); other namespaces' id changes are theirs.
          if (nsid === OWN_NAMESPACE && m.type === rt.RTM_DELNSID) {
            const gone = notifiedNsid(m);
            const space = gone === undefined || gone === OWN_NAMESPACE ? undefined : this.spaces.get(gone);
            if (space) this.dropSpace(space, out);
          }
          continue;
        }
        const space = this.spaces.get(nsid === this.selfNsid ? OWN_NAMESPACE : nsid);
        if (!space) continue;
        if (space.syncing) space.buffered.push(m);
        else space.state.apply(m, this.collect(space, out));
      }
    } catch (e) {
      this.deliver(out);
      return this.fail(e as Error);
    }
    this.deliver(out);
  }

  private onOverrun(discarded: number): void {
    this.stats.overruns++;
    this.stats.discarded += discarded;
    const drops = this.sub?.drops() ?? this.stats.drops;
    const event: OverrunEvent = { type: 'overrun', drops: Math.max(0, drops - this.stats.drops) };
    this.stats.drops = drops;
    this.deliver([event]);
    this.startSync(true);
  }

  /** An Emit that adds the space's events (of the kinds asked for) to `out`. */
  private collect(space: Space, out: WatchEvent[]): Emit {
    const netns = space.state.label;
    return (type, kind, key, object) => {
      if (!this.reported.has(kind)) return;
      out.push((netns === undefined ? { type, kind, key, object } : { type, kind, key, object, netns }) as ObjectEvent);
    };
  }

  private deliver(events: WatchEvent[]): void {
    if (events.length === 0 || this.closed) return;
    for (const e of events) {
      if (e.type === 'added' || e.type === 'changed' || e.type === 'removed') this.stats.events++;
      if (e.type === 'synced') this.settleReady();
    }
    if (this.sink) {
      for (const e of events) this.sink.event(e);
      this.sink.batchEnd?.();
      return;
    }
    for (const e of events) this.queue.push(e);
    this.wake?.();
  }

  // ---- sync ----------------------------------------------------------------------------

  /** Dumps every namespace followed, then reports 'synced'. A resync (after an overrun)
   *  started while another runs replaces it. */
  private startSync(isResync: boolean): void {
    this.pendingSync = new Set(this.spaces.values());
    this.syncStarted = monotonicMs();
    this.syncIsResync = isResync;
    for (const s of this.spaces.values()) void this.syncSpace(s);
  }

  private async syncSpace(space: Space): Promise<void> {
    const gen = ++space.gen;
    space.syncing = true;
    space.buffered = [];
    const stale = () => this.closed || space.gen !== gen || this.spaces.get(space.nsid) !== space;
    let fresh: SpaceState;
    try {
      fresh = await this.dumps.run(() => (stale() ? Promise.reject(new SpaceGone()) : this.dumpSpace(space, stale)));
      if (stale()) return;
      // Everything that happened since the dump was asked for, on top of it.
      for (const m of space.buffered) fresh.apply(m);
    } catch (e) {
      if (stale()) return;
      if (space.nsid !== OWN_NAMESPACE && (e instanceof SpaceGone || isGone(e))) {
        const out: WatchEvent[] = [];
        this.dropSpace(space, out);
        return this.deliver(out);
      }
      return this.fail(e as Error);
    }
    space.buffered = [];
    space.syncing = false;
    const told = space.state;
    space.state = fresh;
    const out: WatchEvent[] = [];
    if (space.report) SpaceState.diff(told, fresh, this.collect(space, out));
    space.report = true;
    this.synced(space, out);
    this.deliver(out);
  }

  /** A space is done with the current sync (or gone): the last one ends it with 'synced'. */
  private synced(space: Space, out: WatchEvent[]): void {
    if (!this.pendingSync?.delete(space) || this.pendingSync.size > 0) return;
    this.pendingSync = undefined;
    if (this.syncIsResync) {
      const ms = monotonicMs() - this.syncStarted;
      this.stats.resyncs++;
      this.stats.lastResyncMs = ms;
      this.stats.totalResyncMs += ms;
    }
    out.push({ type: 'synced' });
  }

  private async dumpSpace(space: Space, stale: () => boolean): Promise<SpaceState> {
    const run = async (conn: Connection): Promise<SpaceState> => {
      const dumps: Partial<Record<WatchKind, NetlinkMessage[]>> = {};
      for (const kind of KINDS) if (this.tracked.has(kind)) dumps[kind] = await this.stableDump(conn, kind, stale);
      return SpaceState.fromDumps(space.state.label, dumps);
    };
    if (space.nsid === OWN_NAMESPACE) return withConnection(this.target, run);
    const found = this.takeOpened(space);
    const handle = found ?? (await openHandle(space.name!, NamespaceHandle));
    try {
      // The name may have been given to another namespace since: only the one with our id.
      if (!found && (await withConnection(undefined, (c) => getNsid(c, { fd: handle.fd }))) !== space.nsid) throw new SpaceGone();
      return await run(await handle.connection());
    } finally {
      handle.close();
    }
  }

  /** One kind's dump, retried (with growing pauses) for as long as the kernel interrupts it. */
  private async stableDump(conn: Connection, kind: WatchKind, stale: () => boolean): Promise<NetlinkMessage[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await dumpKind(conn, kind);
      } catch (e) {
        if (!(e instanceof DumpInterruptedError) || stale()) throw e;
        this.stats.dumpRetries++;
        await sleep(DUMP_RETRY_MS[Math.min(attempt, DUMP_RETRY_MS.length - 1)]!);
        if (stale()) throw new SpaceGone();
      }
    }
  }

  /** Stops following a namespace that went away: everything in it is reported removed. */
  private dropSpace(space: Space, out: WatchEvent[]): void {
    this.spaces.delete(space.nsid);
    this.stats.namespaces = this.spaces.size;
    this.takeOpened(space)?.close();
    if (space.name !== undefined && this.names.get(space.name) === space.nsid) this.names.delete(space.name);
    space.gen++;
    SpaceState.diff(space.state, new SpaceState(space.state.label), this.collect(space, out));
    this.synced(space, out);
  }

  // ---- end -----------------------------------------------------------------------------

  private fail(err: Error): void {
    if (this.closed || this.failure) return;
    this.failure = err;
    this.release();
    this.settleReady(err);
    if (this.sink) {
      this.closed = true;
      this.sink.error(err);
      return;
    }
    this.wake?.();
  }

  private release(): void {
    if (this.onAbort) this.options.signal?.removeEventListener('abort', this.onAbort);
    this.sub?.close();
    this.directory?.close();
    this.directory = undefined;
    if (this.ownsTarget) this.target?.close();
    this.ownsTarget = false;
    for (const s of this.spaces.values()) {
      s.gen++;
      this.takeOpened(s)?.close();
    }
  }

  private takeOpened(space: Space): NamespaceHandle | undefined {
    const h = space.opened;
    if (h) {
      space.opened = undefined;
      this.kept--;
    }
    return h;
  }
}

function isGone(e: unknown): boolean {
  return e instanceof NetlinkError && (e.code === 'ENOENT' || e.code === 'EINVAL');
}


/**
 * Watches links, addresses and routes (and, on request, neighbours and rules) in a namespace,
 * or in every namespace through one socket. Iterate the result: `{ type: 'added' | 'changed'
 * | 'removed', kind, key, object, netns }` for each change, `{ type: 'synced' }` once the
 * current state is known (after the existing objects with `listExisting`), and after an
 * overrun `{ type: 'overrun', drops }`, the differences, and `{ type: 'synced' }` again.
 * Applying every event (see WatchState) yields the kernel's state.
 *
 * @example
 * ```ts
 * const watcher = watch({ allNamespaces: true, listExisting: true });
 * for await (const e of watcher) {
 *   if (e.type === 'added' && e.kind === 'link') console.log(e.netns ?? 'host', e.object.name);
 * }
 * ```
 */
export function watch(options: WatchOptions = {}): Watcher {
  watchOptions.check(options, '');
  return new Watcher(options);
}
