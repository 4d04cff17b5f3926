// Link notifications (RTNLGRP_LINK): a typed event emitter and async iterator, and
// waitForLinksGone(), which resolves when the kernel has really removed links.
import { EventEmitter, on } from 'node:events';
import { NetlinkError, TimeoutError } from './errors.js';
import { decodeLink } from './netlink/link.js';
import { NETLINK_ROUTE, parseMessages } from './netlink/message.js';
import * as rt from './netlink/rtnetlink.js';
import { native, type WatchHandle } from './native.js';
import { describeLink, dumpLinkMessages, type LinkInfo, type LinkRef } from './route/links.js';
import { netnsLabel, withConnection, withNamespaceFd, type NetnsOption } from './target.js';

export interface LinkEvent {
  type: 'new' | 'del';
  link: LinkInfo;
}

interface LinkMonitorEvents {
  link: [LinkEvent];
  /** The kernel dropped notifications (socket buffer overrun): re-read state with listLinks(). */
  overrun: [NetlinkError];
  error: [Error];
  close: [];
}

/** Link added/changed/removed notifications from one namespace. Close it when done: an open
 *  monitor keeps the process alive, like fs.watch. */
export class LinkMonitor extends EventEmitter<LinkMonitorEvents> {
  private watch: WatchHandle | undefined;

  /** @internal use monitorLinks(). */
  constructor(private fd: number, private readonly netns: string | undefined) {
    super();
    this.watch = native.watchStart(fd, (errno, data) => this.onData(errno, data));
  }

  private onData(errno: number | null, data: Buffer | null): void {
    if (data) {
      try {
        for (const m of parseMessages(data)) {
          if (m.type !== rt.RTM_NEWLINK && m.type !== rt.RTM_DELLINK) continue;
          this.emit('link', { type: m.type === rt.RTM_NEWLINK ? 'new' : 'del', link: describeLink(decodeLink(m), undefined, this.netns) });
        }
      } catch (e) {
        this.emit('error', e as Error);
      }
    }
    if (!errno) return;
    const err = new NetlinkError({ errno, syscall: 'recvmsg', operation: 'link monitor' });
    // ENOBUFS: notifications were lost but the socket works on. Anything else ended it.
    if (err.code === 'ENOBUFS') this.emit('overrun', err);
    else this.emit('error', err);
  }

  /** Events as an async iterator (ends when the monitor is closed). */
  async *[Symbol.asyncIterator](): AsyncIterator<LinkEvent> {
    const ac = new AbortController();
    this.once('close', () => ac.abort());
    try {
      for await (const [event] of on(this, 'link', { signal: ac.signal })) yield event as LinkEvent;
    } catch (e) {
      if ((e as Error).name !== 'AbortError') throw e;
    }
  }

  close(): void {
    if (!this.watch) return;
    native.watchStop(this.watch);
    this.watch = undefined;
    native.close(this.fd);
    this.fd = -1;
    this.emit('close');
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Subscribes to link notifications in a namespace (default: the caller's). */
export async function monitorLinks(opts: NetnsOption = {}): Promise<LinkMonitor> {
  const open = (nsFd: number) => native.openNetlink(nsFd, NETLINK_ROUTE, [rt.RTNLGRP_LINK]);
  const fd = opts.netns === undefined ? await open(-1) : await withNamespaceFd(opts.netns, open);
  return new LinkMonitor(fd, netnsLabel(opts.netns));
}

export interface WaitOptions extends NetnsOption {
  /** Milliseconds (default 30 s). */
  timeout?: number;
  signal?: AbortSignal;
}

/** Resolves once none of `links` exists any more: the kernel's cleanup of a deleted namespace
 *  (which takes its veths with it) finishes after the delete call returned. */
export async function waitForLinksGone(links: LinkRef[], opts: WaitOptions = {}): Promise<void> {
  const monitor = await monitorLinks(opts);
  try {
    const gone = new Set<number>();
    let waiting: Set<number> | undefined;
    let wake: (() => void) | undefined;
    const settleIfDone = () => {
      if (waiting && [...waiting].every((i) => gone.has(i))) wake?.();
    };
    // Subscribe first, then look: a removal between the two cannot be missed.
    monitor.on('link', (e) => {
      if (e.type === 'del') {
        gone.add(e.link.index);
        settleIfDone();
      }
    });
    monitor.on('overrun', () => {
      // Lost notifications: look again.
      withConnection(opts.netns, dumpLinkMessages).then((now) => {
        const still = new Set(now.map((l) => l.index));
        for (const i of waiting ?? []) if (!still.has(i)) gone.add(i);
        settleIfDone();
      }, () => {});
    });
    const present = await withConnection(opts.netns, dumpLinkMessages);
    waiting = new Set(present.filter((l) => links.includes(l.index) || (l.name !== undefined && links.includes(l.name))).map((l) => l.index));
    if ([...waiting].every((i) => gone.has(i))) return;
    await new Promise<void>((resolve, reject) => {
      const timeout = opts.timeout ?? 30_000;
      const timer = setTimeout(() => reject(new TimeoutError(`waiting for links to go`, timeout)), timeout);
      const onAbort = () => reject(opts.signal!.reason);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      wake = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        resolve();
      };
    });
  } finally {
    monitor.close();
  }
}
