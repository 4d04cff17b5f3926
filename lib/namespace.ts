// Network namespaces: create (named, like `ip netns add`, or anonymous), open, delete, list,
// and the public Namespace handle, which offers every operation as a method. The methods are
// derived from the operations themselves (one table below), and index.ts checks at compile
// time that no exported operation taking a `netns` is missing from it.
import { lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import type * as net from 'node:net';
import { NamespaceHandle, isHeld, openHandle, runDir, withObject, type NamespaceId, type OpenTarget } from './handle.js';
import { native } from './native.js';
import { refuseNetns } from './target.js';
import { validateNamespaceName } from './validate.js';
import { flag } from './fields.js';
import { integer, object, optional } from './schema.js';
import * as links from './route/links.js';
import * as addresses from './route/addresses.js';
import * as routes from './route/routes.js';
import * as neighbours from './route/neighbours.js';
import * as fdb from './route/fdb.js';
import * as rules from './route/rules.js';
import * as bridge from './route/bridge.js';
import * as nsid from './route/nsid.js';
import * as altnames from './route/altnames.js';
import * as masquerade from './nftables/masquerade.js';
import * as portforward from './nftables/portforward.js';
import * as monitor from './monitor.js';
import * as watching from './watch.js';
import * as sysctl from './sysctl.js';
import * as exec from './exec.js';
import * as sockets from './sockets.js';
import * as changes from './change-list.js';

export { listNamespaces, runDir, type NamespaceEntry, type NamespaceId, type OpenTarget } from './handle.js';

type WithoutNetns<T> = T extends object ? Omit<T, 'netns'> : T;

/** `fn` with its argument `I` (an options object) given `netns: this` by the handle. */
export type BoundAt<F, I extends number> = F extends (...args: infer A) => infer R
  ? (...args: { [K in keyof A]: K extends `${I}` ? WithoutNetns<A[K]> : A[K] }) => R
  : never;

/** `fn` whose first argument is the namespace, given by the handle. */
export type BoundFirst<F> = F extends (netns: never, ...rest: infer A) => infer R ? (...args: A) => R : never;

function atOption<F extends (...args: never[]) => unknown, const I extends number>(fn: F, index: I): BoundAt<F, I> {
  return function (this: NamespaceHandle, ...args: unknown[]) {
    const given = args[index];
    refuseNetns(given, 'netns', 'is not an option of a Namespace method: the handle is the namespace');
    // Anything but an object is left as it is, for the operation's own check to refuse.
    args[index] = given === undefined ? { netns: this } : given !== null && typeof given === 'object' ? { ...given, netns: this } : given;
    return (fn as unknown as (...a: unknown[]) => unknown)(...args);
  } as BoundAt<F, I>;
}

function atFirst<F extends (netns: never, ...rest: never[]) => unknown>(fn: F): BoundFirst<F> {
  return function (this: NamespaceHandle, ...args: unknown[]) {
    return (fn as unknown as (...a: unknown[]) => unknown)(this, ...args);
  } as BoundFirst<F>;
}

/** Every operation that works inside a namespace, as a Namespace method. */
const methods = {
  createVethPair: atOption(links.createVethPair, 0),
  createBridge: atOption(links.createBridge, 1),
  createMacvlan: atOption(links.createMacvlan, 1),
  createVxlan: atOption(links.createVxlan, 1),
  setLink: atOption(links.setLink, 2),
  setLinkUp: atOption(links.setLinkUp, 1),
  setLinkDown: atOption(links.setLinkDown, 1),
  setMaster: atOption(links.setMaster, 2),
  setNoMaster: atOption(links.setNoMaster, 1),
  moveLink: atOption(links.moveLink, 2),
  deleteLink: atOption(links.deleteLink, 1),
  deleteLinkGroup: atOption(links.deleteLinkGroup, 1),
  listLinks: atOption(links.listLinks, 0),
  getLink: atOption(links.getLink, 1),
  listBridgePorts: atOption(links.listBridgePorts, 1),
  addAddress: atOption(addresses.addAddress, 2),
  deleteAddress: atOption(addresses.deleteAddress, 2),
  listAddresses: atOption(addresses.listAddresses, 0),
  changeList: atOption(changes.changeList, 0),
  addRoute: atOption(routes.addRoute, 0),
  replaceRoute: atOption(routes.replaceRoute, 0),
  deleteRoute: atOption(routes.deleteRoute, 0),
  listRoutes: atOption(routes.listRoutes, 0),
  getRoute: atOption(routes.getRoute, 1),
  getLinkStats: atOption(links.getLinkStats, 1),
  addNeighbour: atOption(neighbours.addNeighbour, 0),
  replaceNeighbour: atOption(neighbours.replaceNeighbour, 0),
  deleteNeighbour: atOption(neighbours.deleteNeighbour, 0),
  listNeighbours: atOption(neighbours.listNeighbours, 0),
  appendFdb: atOption(fdb.appendFdb, 0),
  addFdb: atOption(fdb.addFdb, 0),
  replaceFdb: atOption(fdb.replaceFdb, 0),
  deleteFdb: atOption(fdb.deleteFdb, 0),
  listFdb: atOption(fdb.listFdb, 0),
  addRule: atOption(rules.addRule, 0),
  deleteRule: atOption(rules.deleteRule, 0),
  listRules: atOption(rules.listRules, 0),
  setBridgePort: atOption(bridge.setBridgePort, 1),
  addBridgeVlan: atOption(bridge.addBridgeVlan, 1),
  deleteBridgeVlan: atOption(bridge.deleteBridgeVlan, 1),
  listBridgeVlans: atOption(bridge.listBridgeVlans, 0),
  setBridge: atOption(bridge.setBridge, 1),
  setNsid: atOption(nsid.setNsid, 2),
  getNsid: atOption(nsid.getNsid, 1),
  listNsids: atOption(nsid.listNsids, 0),
  addAltName: atOption(altnames.addAltName, 2),
  deleteAltName: atOption(altnames.deleteAltName, 2),
  addMasquerade: atOption(masquerade.addMasquerade, 0),
  listMasquerades: atOption(masquerade.listMasquerades, 0),
  removeMasquerade: atOption(masquerade.removeMasquerade, 0),
  removeAllMasquerades: atOption(masquerade.removeAllMasquerades, 0),
  addPortForward: atOption(portforward.addPortForward, 0),
  listPortForwards: atOption(portforward.listPortForwards, 0),
  removePortForward: atOption(portforward.removePortForward, 0),
  removeAllPortForwards: atOption(portforward.removeAllPortForwards, 0),
  monitorLinks: atOption(monitor.monitorLinks, 0),
  waitForLinksGone: atOption(monitor.waitForLinksGone, 1),
  watch: atOption(watching.watch, 0),
  waitFor: atOption(watching.waitFor, 1),
  waitForAddress: atOption(watching.waitForAddress, 2),
  waitForLinkState: atOption(watching.waitForLinkState, 2),
  setSysctl: atOption(sysctl.setSysctl, 2),
  getSysctl: atOption(sysctl.getSysctl, 1),
  enableForwarding: atOption(sysctl.enableForwarding, 0),
  spawn: atFirst(exec.spawn),
  connect: atFirst(sockets.connect),
  bindUdp: atFirst(sockets.bindUdp),
};

type Methods = typeof methods;

/** The operations a Namespace offers as methods (derived from the operations). */
export type NamespaceMethods = { [K in keyof Methods]: Methods[K] };

/** Operations whose overloads or generics a derived method would lose: written out by hand. */
interface HandWritten {
  /**
   * Runs a command inside this namespace and collects its output: see execFile().
   *
   * @example
   * ```ts
   * const { stdout } = await pb.execFile('ip', ['-br', 'addr']);
   * ```
   */
  execFile(command: string, args: readonly string[] | undefined, options: exec.ExecFileOptions & { encoding: 'buffer' }): Promise<exec.ExecResult<Buffer>>;
  execFile(command: string, args?: readonly string[], options?: exec.ExecFileOptions & { encoding?: BufferEncoding }): Promise<exec.ExecResult<string>>;
  /**
   * A TCP server listening inside this namespace: see listen().
   *
   * @example
   * ```ts
   * const server = await pb.listen({ port: 80 }, (socket) => socket.end('hello from pb\n'));
   * ```
   */
  listen<S extends net.Server = net.Server>(options: sockets.ListenOptions<S>, connectionListener?: (socket: net.Socket) => void): Promise<S>;
}

/** Names of every Namespace method: index.ts checks the exported operations against it. */
export type NamespaceMethodName = keyof NamespaceMethods | keyof HandWritten;

// Declaration merging: the class gets the derived methods' types; they are installed on its
// prototype below.
export interface Namespace extends NamespaceMethods, HandWritten {}

/**
 * An open network namespace, with every operation as a method: `ns.addAddress('eth0',
 * '10.0.0.2/24')` is `addAddress('eth0', '10.0.0.2/24', { netns: ns })`. close() releases the
 * fd and its sockets (pending requests reject with ERR_NETLINK_CLOSED); a named namespace
 * lives on in the run dir until deleteNamespace().
 *
 * @example
 * ```ts
 * await using ns = await createNamespace('pb');
 * await ns.setLinkUp('lo');
 * console.log(await ns.listLinks());
 * ```
 */
export class Namespace extends NamespaceHandle {}

for (const [name, fn] of Object.entries(methods)) {
  Object.defineProperty(Namespace.prototype, name, { value: fn, writable: true, configurable: true });
}
Object.defineProperty(Namespace.prototype, 'execFile', {
  value: function (this: Namespace, command: string, args?: readonly string[], options?: exec.ExecFileOptions) {
    return exec.execFile(this, command, args, options as exec.ExecFileOptions & { encoding?: BufferEncoding });
  },
  writable: true,
  configurable: true,
});
Object.defineProperty(Namespace.prototype, 'listen', {
  value: function (this: Namespace, options: sockets.ListenOptions, connectionListener?: (socket: net.Socket) => void) {
    return sockets.listen(this, options, connectionListener);
  },
  writable: true,
  configurable: true,
});

/** Options of createNamespace(). */
export interface CreateNamespaceOptions {
  /** @internal tests: fail after step 1 (file), 2 (unshare) or 3 (mount), then roll back. */
  failAfterStep?: number;
}

const createOptions = object<CreateNamespaceOptions>('createNamespace options', { failAfterStep: optional(integer(0, 3)) });
const deleteOptions = object<DeleteNamespaceOptions>('deleteNamespace options', { findProcesses: optional(flag) }, { hints: { pids: 'findProcesses' } });

/**
 * Creates a network namespace. With a name it persists as RUN_DIR/NAME (exactly as
 * `ip netns add NAME`) until deleteNamespace(); without one it is anonymous and lives only
 * as long as the returned handle (or a process or link inside it).
 *
 * @example
 * ```ts
 * const pb = await createNamespace('pb');   // ip netns add pb
 * const scratch = await createNamespace();  // anonymous: gone when closed
 * ```
 */
export async function createNamespace(name?: string, options: CreateNamespaceOptions = {}): Promise<Namespace> {
  createOptions.check(options, '');
  if (name === undefined) {
    const [fd, routeFd] = await native.createAnonymousNetns(true);
    return new Namespace(fd, undefined, undefined, routeFd);
  }
  validateNamespaceName(name);
  const dir = runDir();
  const [fd, routeFd] = await withObject(native.createNamedNetns(dir, name, options.failAfterStep ?? 0, true), name, 'netns add');
  return new Namespace(fd, name, `${dir}/${name}`, routeFd);
}

/** @internal a named namespace marked from inside before its mount (see topology/marks.ts). */
export async function createMarkedNamespace(name: string, mark: Buffer): Promise<Namespace> {
  validateNamespaceName(name);
  const dir = runDir();
  const [fd, routeFd] = await withObject(native.createNamedNetns(dir, name, 0, true, mark), name, 'netns add');
  return new Namespace(fd, name, `${dir}/${name}`, routeFd);
}

/**
 * Opens an existing namespace by name (in the run dir), by path, or by process id. Names
 * never act as paths and symlinks in the run dir are refused (ELOOP); anything that is not a
 * network namespace is refused (EINVAL, "not a network namespace").
 *
 * @example
 * ```ts
 * const pb = await openNamespace('pb');
 * const init = await openNamespace({ pid: 1 });
 * ```
 */
export function openNamespace(target: OpenTarget): Promise<Namespace> {
  return openHandle(target, Namespace);
}

/** Options of deleteNamespace(). */
export interface DeleteNamespaceOptions {
  /** Also look for processes inside it, as `ip netns pids` does (a readlink of
   *  /proc/PID/ns/net per process): off by default, since bulk teardown deletes thousands. */
  findProcesses?: boolean;
}

/** What deleteNamespace() did. */
export interface DeleteNamespaceResult {
  name: string;
  /** True when the namespace lives on (without its name): this process still holds an open
   *  handle of it, or (with findProcesses) a process is inside. Not seen: fds, sockets and
   *  mounts of it that other processes hold, and threads other than a process's first. */
  stillReferenced: boolean;
  /** With findProcesses: the processes inside it. */
  processes?: number[];
}

/**
 * Deletes a named namespace (`ip netns delete`): lazy unmount and unlink of its file.
 * Rejects with ENOENT when there is none.
 *
 * @example
 * ```ts
 * const { stillReferenced } = await deleteNamespace('pb');
 * ```
 */
export async function deleteNamespace(name: string, options: DeleteNamespaceOptions = {}): Promise<DeleteNamespaceResult> {
  validateNamespaceName(name);
  deleteOptions.check(options, '');
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
  const held = id !== undefined && isHeld(id);
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
