// A notification socket: joined to some rtnetlink groups, in one namespace or (with
// NETLINK_LISTEN_ALL_NSID) hearing every namespace its own has an id for, read on the JS
// thread through the addon's libuv poll. It hands over parsed messages with the nsid each
// came from, and reports overruns (ENOBUFS) after the addon has emptied the queue.
import { NetlinkError } from '../errors.js';
import type { NamespaceHandle } from '../handle.js';
import { NETLINK_ROUTE, splitMessages, type NetlinkMessage } from '../netlink/message.js';
import { native, type WatchHandle } from '../native.js';

const NETLINK_LISTEN_ALL_NSID = 8;
/** The nsid of messages from the socket's own namespace. */
export const OWN_NAMESPACE = -1;

export interface Notification {
  /** OWN_NAMESPACE, or the id the socket's namespace has for the sender's. */
  nsid: number;
  message: NetlinkMessage;
}

export interface SubscriptionHandlers {
  messages(list: Notification[]): void;
  /** Notifications were lost; `discarded` datagrams still queued were thrown away unread. */
  overrun(discarded: number): void;
  /** The socket failed for good (or delivered something unreadable). */
  error(err: Error): void;
}

export interface SubscriptionOptions {
  groups: number[];
  /** Hear every namespace with an nsid, not only the socket's own. */
  allNamespaces?: boolean;
  /** SO_RCVBUF in bytes instead of the large default. */
  receiveBuffer?: number;
}

export class Subscription {
  private watch: WatchHandle | undefined;

  private constructor(
    private fd: number,
    private readonly handlers: SubscriptionHandlers,
    allNamespaces: boolean,
  ) {
    this.watch = native.watchStart(fd, (errno, data, nsids, discarded) => this.onData(errno, data, nsids, discarded), allNamespaces);
  }

  /** Opens the socket inside `ns` (the process's own namespace when undefined). */
  static async open(ns: NamespaceHandle | undefined, opts: SubscriptionOptions, handlers: SubscriptionHandlers): Promise<Subscription> {
    const open = (nsFd: number) =>
      opts.receiveBuffer === undefined
        ? native.openNetlink(nsFd, NETLINK_ROUTE, opts.groups)
        : native.openNetlink(nsFd, NETLINK_ROUTE, opts.groups, opts.receiveBuffer);
    const fd = ns === undefined ? await open(-1) : await ns.useFd(open);
    try {
      if (opts.allNamespaces) native.setNetlinkOption(fd, NETLINK_LISTEN_ALL_NSID, 1);
      return new Subscription(fd, handlers, opts.allNamespaces === true);
    } catch (e) {
      native.close(fd);
      throw e;
    }
  }

  /** Messages the kernel dropped for this socket since it was opened. */
  drops(): number {
    return this.fd < 0 ? 0 : native.socketDrops(this.fd);
  }

  get closed(): boolean {
    return this.watch === undefined;
  }

  close(): void {
    if (!this.watch) return;
    native.watchStop(this.watch);
    this.watch = undefined;
    native.close(this.fd);
    this.fd = -1;
  }

  private onData(errno: number | null, data: Buffer | null, nsids: Int32Array | null, discarded: number): void {
    if (this.closed) return;
    if (data) {
      const { messages, error } = nsids ? splitByDatagram(data, nsids) : withOwnNsid(splitMessages(data));
      if (messages.length > 0) this.handlers.messages(messages);
      if (error) return this.fail(error);
    }
    if (!errno || this.closed) return;
    const err = new NetlinkError({ errno, syscall: 'recvmsg', operation: 'notifications' });
    // ENOBUFS: notifications were lost but the socket works on. Anything else ended it.
    if (err.code === 'ENOBUFS') this.handlers.overrun(discarded);
    else this.fail(err);
  }

  private fail(err: Error): void {
    this.close();
    this.handlers.error(err);
  }
}

function withOwnNsid(r: ReturnType<typeof splitMessages>): { messages: Notification[]; error?: Error } {
  const messages = r.messages.map((message) => ({ nsid: OWN_NAMESPACE, message }));
  return r.error ? { messages, error: r.error } : { messages };
}

/** Messages tagged with their datagram's nsid (`marks`: end offset, nsid, per datagram). */
function splitByDatagram(data: Buffer, marks: Int32Array): { messages: Notification[]; error?: Error } {
  const messages: Notification[] = [];
  let start = 0;
  for (let i = 0; i < marks.length; i += 2) {
    const end = marks[i]!;
    const nsid = marks[i + 1]!;
    const r = splitMessages(data.subarray(start, end));
    for (const message of r.messages) messages.push({ nsid, message });
    if (r.error) return { messages, error: r.error };
    start = end;
  }
  return { messages };
}
