// Where an operation runs: the caller's own namespace, a Namespace handle, or a named
// namespace opened for the call. Every public operation takes `{ netns }` and goes through here.
import type { Connection, PreparedRequest } from './connection.js';
import { ArgumentError } from './errors.js';
import { NETLINK_ROUTE } from './netlink/message.js';
import { NamespaceHandle, openHandle } from './handle.js';
import { startConnection } from './socket.js';

/** A namespace: an open handle, or the name of one in the run dir. */
export type NetnsRef = NamespaceHandle | string;

/** The `{ netns }` every operation takes: where it works (default: the caller's namespace). */
export interface NetnsOption {
  /** Run inside this namespace instead of the process's own. */
  netns?: NetnsRef | undefined;
}

/** The connection in the process's own namespace per protocol. It exists at once, while its
 *  socket opens on a worker, so a process's first call encodes its request meanwhile. */
const hostConnections = new Map<number, Connection>();

function hostConnection(protocol: number): Connection {
  let c = hostConnections.get(protocol);
  if (!c) {
    const { conn, opened } = startConnection(-1, protocol);
    hostConnections.set(protocol, conn);
    // A socket that could not be opened fails the requests queued on it with its error, and
    // the next call tries again.
    opened.catch(() => {
      if (hostConnections.get(protocol) === conn) hostConnections.delete(protocol);
    });
    c = conn;
  }
  return c;
}

/** Runs fn with a connection inside `netns`. A name is opened for this call only, so the
 *  library never pins a namespace that someone else deletes. */
export function withConnection<T>(
  netns: NetnsRef | undefined,
  fn: (conn: Connection) => Promise<T>,
  protocol = NETLINK_ROUTE,
): Promise<T> {
  // The caller's own namespace without an async function around fn: an awaited small request
  // costs mostly promises, and every async layer adds its own.
  if (netns === undefined) return promised(() => fn(hostConnection(protocol)));
  return withNamespaceConnection(netns, fn, protocol);
}

async function withNamespaceConnection<T>(netns: NetnsRef, fn: (conn: Connection) => Promise<T>, protocol: number): Promise<T> {
  if (netns instanceof NamespaceHandle) return fn(await netns.connection(protocol));
  if (typeof netns === 'string') {
    const ns = await openHandle(netns, NamespaceHandle);
    try {
      return await fn(await ns.connection(protocol));
    } finally {
      ns.close();
    }
  }
  throw new ArgumentError('ERR_INVALID_ARG_TYPE', 'netns', 'must be a Namespace handle or a namespace name');
}

/** Runs fn with an fd of `netns` (for IFLA_NET_NS_FD), opening a name for this call only. */
export async function withNamespaceFd<T>(netns: NetnsRef, fn: (fd: number) => Promise<T>): Promise<T> {
  if (netns instanceof NamespaceHandle) return netns.useFd(fn);
  if (typeof netns === 'string') {
    const ns = await openHandle(netns, NamespaceHandle);
    try {
      return await fn(ns.fd);
    } finally {
      ns.close();
    }
  }
  throw new ArgumentError('ERR_INVALID_ARG_TYPE', 'netns', 'must be a Namespace handle or a namespace name');
}

/** Refuses a `netns` in options that cannot take one, because the namespace is given already
 *  (a Namespace method's options, a change list's changes): `why` says by what. */
export function refuseNetns(options: unknown, field: string, why: string): void {
  if (options !== null && typeof options === 'object' && Object.hasOwn(options, 'netns')) throw new ArgumentError('ERR_UNKNOWN_OPTION', field, why);
}

/** For JSON-friendly results: the namespace's name, or undefined for the caller's own. */
export function netnsLabel(netns: NetnsRef | undefined): string | undefined {
  if (netns === undefined) return undefined;
  return typeof netns === 'string' ? netns : netns.name;
}

export type { PreparedRequest };

export const send = (conn: Connection, r: PreparedRequest) => conn.request(r.encode, r.opts);

const ignoreReply = (): void => {};

/** Sends one request in `netns` and resolves once the kernel acknowledged it. */
export function sendIn(netns: NetnsRef | undefined, r: PreparedRequest): Promise<void> {
  return withConnection(netns, (conn) => send(conn, r)).then(ignoreReply);
}

/** `start()`'s promise, or its exception as a rejection: for operations that are not async
 *  functions (see withConnection) but must, like every operation, reject rather than throw. */
export function promised<T>(start: () => Promise<T>): Promise<T> {
  try {
    return start();
  } catch (e) {
    return Promise.reject(e);
  }
}
