// An open network namespace, as the operations need it: one fd of the namespace and its
// netlink sockets. Operations depend on this module only; lib/namespace.ts builds the public
// Namespace on top of it (every operation as a method), so nothing imports in a circle.
import { fstatSync, readdirSync } from 'node:fs';
import { Connection } from './connection.js';
import { ArgumentError, ClosedError, NetlinkError } from './errors.js';
import { NETLINK_NETFILTER, NETLINK_ROUTE } from './netlink/message.js';
import { native } from './native.js';
import { NativeTransport, openConnection } from './socket.js';
import { validateNamespaceName } from './validate.js';
import { custom, integer, object } from './schema.js';

/** Where named namespaces live, as for iproute2. RTNETLINK_NETNS_DIR overrides it (tests). */
export const runDir = (): string => process.env.RTNETLINK_NETNS_DIR ?? '/run/netns';

/** Identifies a namespace: equal ids mean the same namespace. */
export interface NamespaceId {
  /** Device and inode of the namespace. */
  dev: number;
  ino: number;
}

interface Resources {
  fd: number;
  closed: boolean;
  /** Sockets being opened inside through fd: it must stay open (and keep its number, which
   *  another open could otherwise reuse) until they are, even when close() comes first. */
  opening: number;
  id: NamespaceId;
  connections: Map<number, Promise<Connection>>;
}

// Every open handle's resources, so a delete can tell whether this process still pins it.
const live = new Set<Resources>();

// Dropped handles must not keep their namespace alive for ever (the fd pins it). As Node does
// for a FileHandle, the fd is closed on garbage collection, with a warning: close() it.
const finalizer = new FinalizationRegistry<Resources>((r) => {
  if (!warnedAboutDrop) {
    warnedAboutDrop = true;
    process.emitWarning(
      `Closing namespace fd ${r.fd} on garbage collection: close() Namespace handles (or use \`await using\`) when done. Further drops are not reported.`,
      { code: 'RTNETLINK_HANDLE_NOT_CLOSED' },
    );
  }
  releaseResources(r);
});
let warnedAboutDrop = false;

// What an open handle is worth to V8's garbage collector. The fd pins a whole network namespace
// in the kernel (its devices, tables and sysctls), which V8 cannot see; counting it makes V8
// collect dropped handles long before a process runs out of fds (without it, 30,000 dropped
// handles hit EMFILE because the small JS objects never made V8 collect).
const EXTERNAL_BYTES_PER_HANDLE = 256 * 1024;

function releaseResources(r: Resources): void {
  if (r.closed) return;
  for (const c of r.connections.values()) c.then((conn) => conn.close(), () => {});
  r.connections.clear();
  live.delete(r);
  r.closed = true;
  native.adjustExternalMemory(-EXTERNAL_BYTES_PER_HANDLE);
  closeFdWhenIdle(r);
}

function closeFdWhenIdle(r: Resources): void {
  if (r.closed && r.opening === 0 && r.fd >= 0) {
    native.close(r.fd);
    r.fd = -1;
  }
}

/** True when this process holds an open handle of the namespace `id`. */
export function isHeld(id: NamespaceId): boolean {
  for (const r of live) if (!r.closed && r.id.dev === id.dev && r.id.ino === id.ino) return true;
  return false;
}

/**
 * An open network namespace: what every operation's `netns` accepts. `Namespace` (what
 * createNamespace and openNamespace return) extends it with every operation as a method.
 * close() releases the fd and sockets; a dropped handle is closed when it is collected.
 *
 * @example
 * ```ts
 * // Accept any open namespace, Namespace included:
 * const linkNames = async (netns: NamespaceHandle) => (await listLinks({ netns })).map((l) => l.name);
 * const pb = await openNamespace('pb');
 * console.log(pb instanceof NamespaceHandle, await linkNames(pb));
 * ```
 */
export class NamespaceHandle {
  /** The name under the run dir, for named namespaces. */
  readonly name: string | undefined;
  /** The file it was opened from, if any. */
  readonly path: string | undefined;
  private readonly res: Resources;

  /** @internal use createNamespace / openNamespace. `routeFd`: a NETLINK_ROUTE socket already
   *  opened inside (namespace creation opens one while it is there anyway). */
  constructor(fd: number, name?: string, path?: string, routeFd?: number) {
    this.name = name;
    this.path = path;
    const st = fstatSync(fd);
    this.res = { fd, closed: false, opening: 0, id: { dev: st.dev, ino: st.ino }, connections: new Map() };
    if (routeFd !== undefined) this.res.connections.set(NETLINK_ROUTE, Promise.resolve(new Connection(new NativeTransport(routeFd))));
    live.add(this.res);
    native.adjustExternalMemory(EXTERNAL_BYTES_PER_HANDLE);
    finalizer.register(this, this.res, this);
  }

  /** The namespace's fd (valid until close()), e.g. to pass to other tools. */
  get fd(): number {
    if (this.res.closed) throw new ClosedError(this.toString());
    return this.res.fd;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.res.closed;
  }

  /** The namespace's identity (device and inode of its nsfs file). */
  get id(): NamespaceId {
    return { ...this.res.id };
  }

  /** @internal the namespace's netlink connection for a protocol, opened once. */
  connection(protocol = NETLINK_ROUTE): Promise<Connection> {
    let c = this.res.connections.get(protocol);
    if (!c) {
      // The callbacks hold the resources, not the handle, so a pending open does not keep a
      // dropped handle from being finalized.
      const res = this.res;
      c = openConnection(this.fd, protocol);
      res.connections.set(protocol, c);
      res.opening++;
      const opened = () => {
        res.opening--;
        closeFdWhenIdle(res);
      };
      c.then(opened, () => {
        if (res.connections.get(protocol) === c) res.connections.delete(protocol);
        opened();
      });
    }
    return c;
  }

  /** @internal runs fn with the namespace's fd, which stays open until fn settles even if the
   *  handle is closed meanwhile (the kernel must never get a closed or reused fd). */
  async useFd<T>(fn: (fd: number) => Promise<T>): Promise<T> {
    const res = this.res;
    const fd = this.fd;
    res.opening++;
    try {
      return await fn(fd);
    } finally {
      res.opening--;
      closeFdWhenIdle(res);
    }
  }

  /** @internal */
  netfilter(): Promise<Connection> {
    return this.connection(NETLINK_NETFILTER);
  }

  /**
   * Closes the fd and the sockets; pending requests reject with ERR_NETLINK_CLOSED.
   * A named namespace lives on in the run dir until deleteNamespace().
   *
   * @example
   * ```ts
   * const pb = await openNamespace('pb');
   * try {
   *   await pb.setLinkUp('lo');
   * } finally {
   *   pb.close();
   * }
   * ```
   */
  close(): void {
    finalizer.unregister(this);
    releaseResources(this.res);
  }

  /** `await using ns = await createNamespace()` closes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /**
   * How messages name it: `netns 'pb'`, `netns /proc/42/ns/net` or `anonymous netns`.
   *
   * @example
   * ```ts
   * console.log(`${await openNamespace('pb')}`); // netns 'pb'
   * ```
   */
  toString(): string {
    return this.name !== undefined ? `netns '${this.name}'` : this.path !== undefined ? `netns ${this.path}` : 'anonymous netns';
  }

  /**
   * Its name and path, for JSON.stringify (the fd is not data).
   *
   * @example
   * ```ts
   * JSON.stringify(await openNamespace('pb')); // {"name":"pb","path":"/run/netns/pb"}
   * ```
   */
  toJSON(): { name?: string; path?: string } {
    return { ...(this.name !== undefined ? { name: this.name } : {}), ...(this.path !== undefined ? { path: this.path } : {}) };
  }
}

/** What openNamespace() opens: a name in the run dir, a namespace file, or a process's namespace. */
export type OpenTarget = string | { path: string } | { pid: number };

const byPath = object<{ path: string }>('an open target', {
  path: custom<string>('a path', (v, path) => {
    if (typeof v !== 'string' || v.length === 0 || v.includes('\0')) throw new ArgumentError('ERR_INVALID_ARG_VALUE', path, 'must be a non-empty path without NUL');
    return v;
  }),
}, { hints: { name: 'a plain string (the name)', file: 'path' } });
const byPid = object<{ pid: number }>('an open target', { pid: integer(1, 2 ** 22) });

/** A handle constructor: NamespaceHandle itself, or the public Namespace. */
export type HandleClass<H extends NamespaceHandle> = new (fd: number, name?: string, path?: string, routeFd?: number) => H;

/** Opens an existing namespace by name (in the run dir), by path, or by process id. */
export async function openHandle<H extends NamespaceHandle>(target: OpenTarget, make: HandleClass<H>): Promise<H> {
  if (typeof target === 'string') {
    validateNamespaceName(target);
    const path = `${runDir()}/${target}`;
    return new make(await openChecked(path, true, target), target, path);
  }
  if (target !== null && typeof target === 'object' && Object.hasOwn(target, 'pid')) {
    const { pid } = byPid.check(target, '');
    const path = `/proc/${pid}/ns/net`;
    return new make(await openChecked(path, false, `pid ${pid}`), undefined, path);
  }
  if (target !== null && typeof target === 'object') {
    const { path } = byPath.check(target, '');
    return new make(await openChecked(path, false, path), undefined, path);
  }
  throw new ArgumentError('ERR_INVALID_ARG_TYPE', 'target', 'must be a namespace name, { path } or { pid }');
}

function openChecked(path: string, noFollow: boolean, object: string): Promise<number> {
  // The addon says what a file that is no network namespace is ('is a FIFO, not a network
  // namespace', 'refusing to follow a symlink'); relabel keeps those words.
  return withObject(native.openNetns(path, noFollow), object, 'netns open');
}

/** A name in the run dir and its path. */
export interface NamespaceEntry {
  /** The namespace's name, e.g. 'pb'. */
  name: string;
  /** Its file: the run dir and the name. */
  path: string;
}

/**
 * The named namespaces in the run dir, sorted by name (what `ip netns list` shows).
 *
 * @example
 * ```ts
 * for (const { name, path } of listNamespaces()) console.log(name, path); // pb /run/netns/pb ...
 * ```
 */
export function listNamespaces(): NamespaceEntry[] {
  const dir = runDir();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.sort().map((name) => ({ name, path: `${dir}/${name}` }));
}

/** Awaits a namespace syscall, naming the namespace and the operation in its error. */
export async function withObject<T>(p: Promise<T>, object: string, operation: string): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw relabel(e, object, operation);
  }
}

function relabel(e: unknown, object: string, operation: string): unknown {
  if (!(e instanceof NetlinkError)) return e;
  const hint = e.errno === -1 ? (e.syscall === 'open' || e.syscall === 'mkdir' ? 'needs root' : 'needs CAP_SYS_ADMIN') : e.hint;
  return new NetlinkError({
    errno: e.errno,
    syscall: e.syscall,
    operation,
    object,
    ...(e.path !== undefined ? { path: e.path } : {}),
    ...(hint !== undefined ? { hint } : {}),
  });
}
