// Network namespaces: create (named, like `ip netns add`, or anonymous), open, delete, list,
// and the Namespace handle that owns one fd of the namespace and its netlink sockets.
import { fstatSync, lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { Connection } from './connection.js';
import { ArgumentError, ClosedError, NetlinkError } from './errors.js';
import { NETLINK_NETFILTER, NETLINK_ROUTE } from './netlink/message.js';
import { native } from './native.js';
import { NativeTransport, openConnection } from './socket.js';
import { validateNamespaceName } from './validate.js';
import * as links from './route/links.js';
import * as addresses from './route/addresses.js';
import * as routes from './route/routes.js';
import * as sysctl from './sysctl.js';
import * as exec from './exec.js';
import * as sockets from './sockets.js';

type Bound<O> = Omit<O, 'netns'>;

/** Where named namespaces live, as for iproute2. RTNETLINK_NETNS_DIR overrides it (tests). */
export const runDir = (): string => process.env.RTNETLINK_NETNS_DIR ?? '/run/netns';

export interface NamespaceId {
  /** Device and inode of the namespace: equal ids mean the same namespace. */
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

// Dropped handles must not keep their namespace alive for ever (the fd pins it).
const finalizer = new FinalizationRegistry<Resources>((r) => releaseResources(r));

function releaseResources(r: Resources): void {
  for (const c of r.connections.values()) c.then((conn) => conn.close(), () => {});
  r.connections.clear();
  live.delete(r);
  r.closed = true;
  closeFdWhenIdle(r);
}

function closeFdWhenIdle(r: Resources): void {
  if (r.closed && r.opening === 0 && r.fd >= 0) {
    native.close(r.fd);
    r.fd = -1;
  }
}

/** An open network namespace. Operations run inside it; close() releases the fd and sockets. */
export class Namespace {
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
    finalizer.register(this, this.res, this);
  }

  /** The namespace's fd (valid until close()), e.g. to pass to other tools. */
  get fd(): number {
    if (this.res.closed) throw new ClosedError(this.toString());
    return this.res.fd;
  }

  get closed(): boolean {
    return this.res.closed;
  }

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

  // ---- operations inside this namespace (same as the top-level functions with { netns }) ----

  createVethPair(opts: Bound<links.CreateVethOptions>): Promise<links.CreatedVeth> {
    return links.createVethPair({ ...opts, netns: this });
  }
  createBridge(name: string, opts: Bound<links.CreateBridgeOptions> = {}): Promise<links.CreatedLink> {
    return links.createBridge(name, { ...opts, netns: this });
  }
  createMacvlan(name: string, opts: Bound<links.CreateMacvlanOptions>): Promise<links.CreatedLink> {
    return links.createMacvlan(name, { ...opts, netns: this });
  }
  createVxlan(name: string, opts: Bound<links.CreateVxlanOptions>): Promise<links.CreatedLink> {
    return links.createVxlan(name, { ...opts, netns: this });
  }
  setLink(link: links.LinkRef, changes: links.SetLinkOptions): Promise<void> {
    return links.setLink(link, changes, { netns: this });
  }
  setLinkUp(link: links.LinkRef): Promise<void> {
    return links.setLinkUp(link, { netns: this });
  }
  setLinkDown(link: links.LinkRef): Promise<void> {
    return links.setLinkDown(link, { netns: this });
  }
  setMaster(link: links.LinkRef, bridge: links.LinkRef): Promise<void> {
    return links.setMaster(link, bridge, { netns: this });
  }
  setNoMaster(link: links.LinkRef): Promise<void> {
    return links.setNoMaster(link, { netns: this });
  }
  /** Moves a link from this namespace into `to`. */
  moveLink(link: links.LinkRef, to: Namespace | string, opts: { name?: string } = {}): Promise<void> {
    return links.moveLink(link, to, { ...opts, netns: this });
  }
  deleteLink(link: links.LinkRef): Promise<void> {
    return links.deleteLink(link, { netns: this });
  }
  listLinks(): Promise<links.LinkInfo[]> {
    return links.listLinks({ netns: this });
  }
  getLink(link: links.LinkRef): Promise<links.LinkInfo> {
    return links.getLink(link, { netns: this });
  }
  listBridgePorts(bridge: links.LinkRef): Promise<links.BridgePort[]> {
    return links.listBridgePorts(bridge, { netns: this });
  }
  addAddress(link: links.LinkRef, cidr: string, opts: Bound<addresses.AddAddressOptions> = {}): Promise<void> {
    return addresses.addAddress(link, cidr, { ...opts, netns: this });
  }
  deleteAddress(link: links.LinkRef, cidr: string): Promise<void> {
    return addresses.deleteAddress(link, cidr, { netns: this });
  }
  listAddresses(opts: Bound<addresses.ListAddressesOptions> = {}): Promise<addresses.AddressInfo[]> {
    return addresses.listAddresses({ ...opts, netns: this });
  }
  addRoute(spec: Bound<routes.RouteSpec>): Promise<void> {
    return routes.addRoute({ ...spec, netns: this });
  }
  replaceRoute(spec: Bound<routes.RouteSpec>): Promise<void> {
    return routes.replaceRoute({ ...spec, netns: this });
  }
  deleteRoute(spec: Bound<routes.RouteSpec>): Promise<void> {
    return routes.deleteRoute({ ...spec, netns: this });
  }
  listRoutes(opts: Bound<routes.ListRoutesOptions> = {}): Promise<routes.RouteInfo[]> {
    return routes.listRoutes({ ...opts, netns: this });
  }

  setSysctl(key: string | readonly string[], value: sysctl.SysctlValue, opts: Bound<sysctl.SysctlOptions> = {}): Promise<void> {
    return sysctl.setSysctl(key, value, { ...opts, netns: this });
  }
  getSysctl(key: string | readonly string[], opts: Bound<sysctl.SysctlOptions> = {}): Promise<string> {
    return sysctl.getSysctl(key, { ...opts, netns: this });
  }
  enableForwarding(opts: Bound<sysctl.ForwardingOptions> = {}): Promise<void> {
    return sysctl.enableForwarding({ ...opts, netns: this });
  }

  /** Starts a command inside this namespace (network namespace only), like
   *  `ip netns exec NAME CMD`: see exec.spawn. The handle may be closed once it returns. */
  spawn(command: string, args?: readonly string[], options?: exec.SpawnOptions): ReturnType<typeof exec.spawn> {
    return exec.spawn(this, command, args, options);
  }
  /** Runs a command inside this namespace and collects its output: see exec.execFile. */
  execFile(command: string, args: readonly string[] | undefined, options: exec.ExecFileOptions & { encoding: 'buffer' }): Promise<exec.ExecResult<Buffer>>;
  execFile(command: string, args?: readonly string[], options?: exec.ExecFileOptions & { encoding?: BufferEncoding }): Promise<exec.ExecResult<string>>;
  execFile(command: string, args?: readonly string[], options?: exec.ExecFileOptions): Promise<exec.ExecResult<string | Buffer>> {
    return exec.execFile(this, command, args, options as exec.ExecFileOptions & { encoding?: BufferEncoding });
  }
  /** A TCP server listening inside this namespace: see sockets.listen. */
  listen<S extends import('node:net').Server = import('node:net').Server>(
    options: sockets.ListenOptions<S>,
    connectionListener?: (socket: import('node:net').Socket) => void,
  ): Promise<S> {
    return sockets.listen(this, options, connectionListener);
  }
  /** A TCP connection made from inside this namespace: see sockets.connect. */
  connect(options: sockets.ConnectOptions): Promise<import('node:net').Socket> {
    return sockets.connect(this, options);
  }
  /** A UDP socket bound inside this namespace: see sockets.bindUdp. */
  bindUdp(options: sockets.UdpOptions = {}): Promise<import('node:dgram').Socket> {
    return sockets.bindUdp(this, options);
  }

  /** Closes the fd and the sockets; pending requests reject with ERR_NETLINK_CLOSED.
   *  A named namespace lives on in the run dir until deleteNamespace(). */
  close(): void {
    finalizer.unregister(this);
    releaseResources(this.res);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  toString(): string {
    return this.name !== undefined ? `netns '${this.name}'` : this.path !== undefined ? `netns ${this.path}` : 'anonymous netns';
  }

  toJSON(): { name?: string; path?: string } {
    return { ...(this.name !== undefined ? { name: this.name } : {}), ...(this.path !== undefined ? { path: this.path } : {}) };
  }
}

export interface CreateNamespaceOptions {
  /** @internal tests: fail after step 1 (file), 2 (unshare) or 3 (mount), then roll back. */
  failAfterStep?: number;
}

/**
 * Creates a network namespace. With a name it persists as RUN_DIR/NAME (exactly as
 * `ip netns add NAME`) until deleteNamespace(); without one it is anonymous and lives only
 * as long as the returned handle (or a process or link inside it).
 */
export async function createNamespace(name?: string, options: CreateNamespaceOptions = {}): Promise<Namespace> {
  if (name === undefined) {
    const [fd, routeFd] = await native.createAnonymousNetns(true);
    return new Namespace(fd, undefined, undefined, routeFd);
  }
  validateNamespaceName(name);
  const dir = runDir();
  const [fd, routeFd] = await withObject(native.createNamedNetns(dir, name, options.failAfterStep ?? 0, true), name, 'netns add');
  return new Namespace(fd, name, `${dir}/${name}`, routeFd);
}

export type OpenTarget = string | { path: string } | { pid: number };

/** Opens an existing namespace by name (in the run dir), by path, or by process id. */
export async function openNamespace(target: OpenTarget): Promise<Namespace> {
  if (typeof target === 'string') {
    validateNamespaceName(target);
    const path = `${runDir()}/${target}`;
    return new Namespace(await openChecked(path, true, target), target, path);
  }
  if (target && typeof target === 'object' && 'pid' in target) {
    const pid = target.pid;
    if (!Number.isInteger(pid) || pid <= 0 || pid > 2 ** 22) {
      throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'pid', `must be a positive process id, got ${String(pid)}`);
    }
    const path = `/proc/${pid}/ns/net`;
    return new Namespace(await openChecked(path, false, `pid ${pid}`), undefined, path);
  }
  if (target && typeof target === 'object' && typeof target.path === 'string' && target.path.length > 0 && !target.path.includes('\0')) {
    return new Namespace(await openChecked(target.path, false, target.path), undefined, target.path);
  }
  throw new ArgumentError('ERR_INVALID_ARG_TYPE', 'target', 'must be a namespace name, { path } or { pid }');
}

async function openChecked(path: string, noFollow: boolean, object: string): Promise<number> {
  try {
    return await native.openNetns(path, noFollow);
  } catch (e) {
    if (e instanceof NetlinkError && e.syscall === 'NS_GET_NSTYPE') {
      throw new NetlinkError({ errno: -22, syscall: 'open', operation: 'netns open', object, path, hint: 'not a network namespace' });
    }
    if (e instanceof NetlinkError && e.code === 'ELOOP') {
      throw new NetlinkError({ errno: e.errno, syscall: 'open', operation: 'netns open', object, path, hint: 'refusing to follow a symlink' });
    }
    throw relabel(e, object, 'netns open');
  }
}

export interface DeleteNamespaceOptions {
  /** Also look for processes inside it, as `ip netns pids` does (a readlink of
   *  /proc/PID/ns/net per process): off by default, since bulk teardown deletes thousands. */
  findProcesses?: boolean;
}

export interface DeleteNamespaceResult {
  name: string;
  /** True when the namespace lives on (without its name): this process still holds an open
   *  handle of it, or (with findProcesses) a process is inside. Not seen: fds, sockets and
   *  mounts of it that other processes hold, and threads other than a process's first. */
  stillReferenced: boolean;
  /** With findProcesses: the processes inside it. */
  processes?: number[];
}

/** Deletes a named namespace (`ip netns delete`): lazy unmount and unlink of its file. */
export async function deleteNamespace(name: string, options: DeleteNamespaceOptions = {}): Promise<DeleteNamespaceResult> {
  validateNamespaceName(name);
  const path = `${runDir()}/${name}`;
  let id: NamespaceId | undefined;
  try {
    // lstat first: a planted symlink must not make us stat what it points to.
    if (!lstatSync(path).isSymbolicLink()) {
      const st = statSync(path);
      id = { dev: st.dev, ino: st.ino };
    }
  } catch {
    // The delete below reports a missing name.
  }
  await withObject(native.deleteNamedNetns(runDir(), name), name, 'netns delete');
  const held = id !== undefined && [...live].some((r) => !r.closed && r.id.dev === id.dev && r.id.ino === id.ino);
  if (!options.findProcesses) return { name, stillReferenced: held };
  const processes = id === undefined ? [] : processesIn(id);
  return { name, stillReferenced: held || processes.length > 0, processes };
}

/** Processes whose network namespace is `id` (all namespace files share nsfs's device). */
function processesIn(id: NamespaceId): number[] {
  const link = `net:[${id.ino}]`;
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) === link) out.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to look at
    }
  }
  return out.sort((a, b) => a - b);
}

export interface NamespaceEntry {
  name: string;
  path: string;
}

/** The named namespaces in the run dir, sorted by name (what `ip netns list` shows). */
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

async function withObject<T>(p: Promise<T>, object: string, operation: string): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw relabel(e, object, operation);
  }
}

function relabel(e: unknown, object: string, operation: string): unknown {
  if (!(e instanceof NetlinkError)) return e;
  return new NetlinkError({
    errno: e.errno,
    syscall: e.syscall,
    operation,
    object,
    ...(e.path !== undefined ? { path: e.path } : {}),
    ...(e.errno === -1 ? { hint: e.syscall === 'open' || e.syscall === 'mkdir' ? 'needs root' : 'needs CAP_SYS_ADMIN' } : {}),
  });
}
