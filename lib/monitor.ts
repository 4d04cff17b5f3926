// Link notifications as an EventEmitter (monitorLinks), and waitForLinksGone(): thin wrappers
// over watch() (lib/watch.ts), kept for the simpler shape. A monitor now also recovers from
// overruns: after 'overrun' it reports what changed meanwhile as ordinary 'link' events.
import { EventEmitter, on } from 'node:events';
import { NetlinkError } from './errors.js';
import type { LinkInfo } from './route/links.js';
import type { NetnsOption } from './target.js';
import { netnsShape } from './fields.js';
import { integer, object, optional } from './schema.js';
import { Watcher, type WatchEvent } from './watch.js';

export { waitForLinksGone, type WaitOptions } from './watch.js';

/** A link notification: a LinkMonitor's 'link' event, and what iterating it yields. */
export interface LinkEvent {
  /** 'new' for a link that appeared or changed, 'del' for one that went away. */
  type: 'new' | 'del';
  /** The link as it is now (as it was last, for 'del'). */
  link: LinkInfo;
}

/** The events a LinkMonitor emits, with their listeners' arguments. */
export interface LinkMonitorEvents {
  /** A link appeared, changed or went away. */
  link: [LinkEvent];
  /** The kernel dropped notifications (socket buffer overrun). What changed meanwhile follows
   *  as 'link' events, once the monitor has re-read the links. */
  overrun: [NetlinkError];
  /** The monitor failed (its socket or namespace went away); it is closed. */
  error: [Error];
  /** close() was called, or the monitor failed. */
  close: [];
}

/**
 * Link added/changed/removed notifications from one namespace. Close it when done: an open
 * monitor keeps the process alive, like fs.watch.
 *
 * @example
 * ```ts
 * using monitor = await monitorLinks();
 * for await (const { type, link } of monitor) console.log(type, link.name);
 * ```
 */
export class LinkMonitor extends EventEmitter<LinkMonitorEvents> {
  private readonly watcher: Watcher;

  /** @internal use monitorLinks(). */
  constructor(options: MonitorLinksOptions) {
    super();
    this.watcher = new Watcher({ ...options, links: true }, {
      event: (e) => this.onEvent(e),
      error: (err) => this.emit('error', err),
    });
  }

  /** @internal resolves once subscribed. */
  get ready(): Promise<void> {
    return this.watcher.ready;
  }

  private onEvent(e: WatchEvent): void {
    if (e.type === 'overrun') {
      this.emit('overrun', new NetlinkError({ errno: -105, syscall: 'recvmsg', operation: 'link monitor' }));
    } else if (e.type !== 'synced' && e.kind === 'link') {
      this.emit('link', { type: e.type === 'removed' ? 'del' : 'new', link: e.object });
    }
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

  /**
   * Unsubscribes and emits 'close'; an iteration in progress ends. Closing again does nothing.
   *
   * @example
   * ```ts
   * const monitor = await monitorLinks({ netns: 'pb' });
   * monitor.on('link', (e) => console.log(e.type, e.link.name));
   * setTimeout(() => monitor.close(), 60_000);
   * ```
   */
  close(): void {
    if (this.closedOnce) return;
    this.closedOnce = true;
    this.watcher.close();
    this.emit('close');
  }
  private closedOnce = false;

  /** `using monitor = await monitorLinks()` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Options of monitorLinks(). */
export interface MonitorLinksOptions extends NetnsOption {
  /** The socket's receive buffer in bytes (default 32 MiB). */
  receiveBuffer?: number;
}

const monitorOptions = object<MonitorLinksOptions>('monitorLinks options', { ...netnsShape, receiveBuffer: optional(integer(1024, 2 ** 31 - 1)) }, { hints: { ns: 'netns' } });

/**
 * Subscribes to link notifications in a namespace (default: the caller's). Resolves once
 * subscribed: every change after that is reported. watch() is the fuller form (addresses,
 * routes, every namespace, the current state first).
 *
 * @example
 * ```ts
 * const monitor = await monitorLinks({ netns: 'pb' });
 * monitor.on('link', (e) => console.log(e.type, e.link.name));
 * ```
 */
export async function monitorLinks(opts: MonitorLinksOptions = {}): Promise<LinkMonitor> {
  monitorOptions.check(opts, '');
  const monitor = new LinkMonitor(opts);
  try {
    await monitor.ready;
  } catch (e) {
    monitor.close();
    throw e;
  }
  return monitor;
}
