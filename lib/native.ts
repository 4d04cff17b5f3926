// The only file that loads the addon. It types the addon's surface and hands it the error
// factory, so native failures arrive as NetlinkError without a wrapper per call.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetlinkError, capabilityHint } from './errors.js';

export interface NativeBinding {
  /** Registers the factory the addon uses for every syscall failure. `detail`: what the file at
   *  `path` turned out to be, in words ('' when there is nothing to say). */
  init(makeError: (errno: number, syscall: string, path: string, detail: string) => Error): void;

  /** Opens a netlink socket (inside the namespace `nsFd` unless -1), CLOEXEC, with ext-ack,
   *  cap-ack and strict checking where the kernel has them, a large receive buffer, and the
   *  given multicast groups joined. Resolves to the fd. receiveBuffer (bytes) replaces the large
   *  default receive buffer; tests use a small one to provoke ENOBUFS. */
  openNetlink(nsFd: number, protocol: number, groups: number[], receiveBuffer?: number): Promise<number>;
  /** Sends `request` (one or more messages with seqs firstSeq..firstSeq+count-1) and receives
   *  until `expected` of those seqs are answered by NLMSG_ERROR or NLMSG_DONE, or the timeout
   *  or cancel flag ends the wait (not an error: the caller sees what went unanswered).
   *  Resolves to every datagram from the kernel, each padded to 4 bytes; datagrams from any
   *  other sender are dropped. */
  transact(fd: number, request: Buffer, firstSeq: number, count: number, expected: number, timeoutMs: number, jobId: number): Promise<Buffer>;
  /** The same exchange on the calling thread for requests the kernel answers inside send():
   *  never sleeps. `complete` false: finish with transact() of an empty buffer for the
   *  `expected - answered` answers still due. */
  transactInline(fd: number, request: Buffer, firstSeq: number, count: number, expected: number): { replies: Buffer; complete: boolean; answered: number };
  /** With `scratch`: when everything was answered and fits, the answers are copied into it and
   *  their length returned instead. */
  transactInline(fd: number, request: Buffer, firstSeq: number, count: number, expected: number, scratch: Buffer): number | { replies: Buffer; complete: boolean; answered: number };
  /** Receives whatever the kernel sends next (notifications); null on timeout or cancel. */
  receive(fd: number, timeoutMs: number, jobId: number): Promise<Buffer | null>;
  /** Sets the cancel flag of a pending transact/receive; it ends within ~50 ms. */
  cancel(jobId: number): void;
  /** The socket's netlink port id (getsockname). */
  portId(fd: number): number;
  /** Sends raw bytes to another netlink port (tests use it to forge messages). */
  sendTo(fd: number, data: Buffer, portId: number): void;

  /** `ip netns add`: lock the run dir, make it a shared mount, create NAME O_EXCL, unshare on an
   *  addon thread, bind mount, delete the file on failure. Resolves to an fd of the namespace.
   *  failAfterStep (tests only): 1 file created, 2 unshared, 3 mounted, 0 never. */
  createNamedNetns(runDir: string, name: string, failAfterStep: number): Promise<number>;
  /** The same, also opening a NETLINK_ROUTE socket while inside: resolves to [nsFd, routeFd]. */
  createNamedNetns(runDir: string, name: string, failAfterStep: number, withRoute: true, mark?: Buffer): Promise<[number, number]>;
  /** A namespace held only by the returned fd. */
  createAnonymousNetns(): Promise<number>;
  createAnonymousNetns(withRoute: true): Promise<[number, number]>;
  /** The bulk path's unit (native/provision.cc): creates each namespace (named, or anonymous
   *  when name is ''), optionally with IPv6 off inside, sends every item's `host` requests (veth
   *  creates, the namespace fd written at nsFdOffsets) in one send() from the thread's own
   *  socket, then each `inside` on its namespace's socket with the echoed peer indexes written
   *  at peerIndexPatches [offset, veth ordinal, ...]. Failures come back per item. */
  provisionNetns(runDir: string, items: ProvisionItem[]): Promise<ProvisionResult>;
  /** Opens a namespace file, on a namespace thread, without ever opening anything else for
   *  reading (O_PATH, then fstat/fstatfs: a FIFO or a device cannot block it). Refuses symlinks
   *  in its last component when noFollow (ELOOP), and anything that is not a network namespace
   *  (EINVAL, the error saying what it is). */
  openNetns(path: string, noFollow: boolean): Promise<number>;
  /** `ip netns delete` of RUN_DIR/NAME when it is a network namespace (lazy unmount, unlink) or
   *  a crash leftover (an empty file without a mount, judged under the run dir's LOCK_EX);
   *  anything else is refused (EINVAL) and left as it is. */
  deleteNamedNetns(runDir: string, name: string): Promise<void>;
  /** Recovery of RUN_DIR/NAME when it exists and is no network namespace: under the run dir's
   *  LOCK_EX (creations hold LOCK_SH until they have mounted), an empty file without a mount is
   *  a crash leftover and is removed ('removed'); one of another tool gets 2 s from its creation
   *  to be mounted first. 'network': it became a namespace (a creation was in progress); 'gone':
   *  it is not there any more. Anything else rejects with EEXIST, saying what it is. */
  clearNetnsLeftover(runDir: string, name: string): Promise<'removed' | 'network' | 'gone'>;

  /** Watches a notification socket on the JS thread's loop; the callback gets each drain of
   *  queued datagrams (from the kernel only), or an errno (ENOBUFS: notifications were lost;
   *  what was still queued is discarded at once and counted in `discarded`, so a re-read of
   *  state started from the callback misses nothing that happens after it). With `withNsid`
   *  (a NETLINK_LISTEN_ALL_NSID socket), `nsids` holds per datagram its end offset in `data`
   *  and its nsid (-1: the socket's own namespace). */
  watchStart(
    fd: number,
    callback: (errno: number | null, data: Buffer | null, nsids: Int32Array | null, discarded: number) => void,
    withNsid?: boolean,
  ): WatchHandle;
  watchStop(handle: WatchHandle): void;
  /** Messages the kernel dropped for this socket since it was opened (SO_MEMINFO). */
  socketDrops(fd: number): number;
  /** setsockopt(fd, SOL_NETLINK, option, value). */
  setNetlinkOption(fd: number, option: number, value: number): void;

  /** A socket created inside a namespace; bound to (address, port) when address is given. */
  socketIn(nsFd: number, family: number, type: number, protocol: number, address: Buffer | null, port: number): Promise<number>;
  /** Writes a /proc/sys file as seen from inside the namespace. */
  writeFileIn(nsFd: number, path: string, data: string): Promise<void>;
  readFileIn(nsFd: number, path: string): Promise<string>;
  close(fd: number): void;
  /** Tells V8 that `bytes` more (or fewer) bytes are held outside its heap. */
  adjustExternalMemory(bytes: number): void;

  /** The credentials of a unix socket's peer (SO_PEERCRED): the CNI daemon's access check. */
  peerCredentials(fd: number): { pid: number; uid: number; gid: number };
  /** flock(2) without blocking: true when taken, false when someone else holds it. */
  tryLock(fd: number, exclusive: boolean): boolean;

  /** Absolute path of the exec helper: `rtnl-exec NSFD FILE ARGS...` */
  execHelper: string;
  /** Absolute path of the CNI shim (`rtnetlink-cni`), built beside the exec helper. */
  cniShim: string;
  /** Number of addon-owned worker threads. */
  threads(): number;
}

export type WatchHandle = { readonly __watch: unique symbol };

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// RTNETLINK_ADDON=/path/rtnetlink.node loads that build instead (the sanitizer build of
// scripts/asan-build.sh); its helpers are looked for beside it.
const override = process.env.RTNETLINK_ADDON ? resolve(process.env.RTNETLINK_ADDON) : undefined;
/** The addon file this process loads: build/Release/rtnetlink.node from a source build, else the
 *  prebuild matching this platform, arch and libc (prebuilds/linux-x64/rtnetlink.glibc.node). */
const addonPath = override ?? findAddon();
const loaded = require(addonPath) as Omit<NativeBinding, 'execHelper' | 'cniShim'>;

loaded.init((errno, syscall, path, detail) =>
  new NetlinkError({
    errno,
    syscall,
    ...(path ? { path, object: path } : {}),
    ...(detail ? { hint: detail } : errno === 1 ? { hint: capabilityHint(syscall) } : {}),
  }),
);

/**
 * Absolute path of one of the package's helper executables (rtnl-exec, rtnetlink-cni). Each sits
 * beside the addon and carries the addon's tags: build/Release/rtnl-exec beside
 * build/Release/rtnetlink.node, prebuilds/linux-x64/rtnl-exec.glibc beside
 * prebuilds/linux-x64/rtnetlink.glibc.node (one folder holds an arch's prebuilds for every
 * libc, so the tag keeps a musl helper apart from a glibc one). scripts/prebuilds.sh puts them
 * there.
 */
export function helperPath(name: string): string {
  const file = basename(addonPath);
  const tags = file.slice(file.indexOf('.'), -'.node'.length);
  return join(dirname(addonPath), name + tags);
}

function findAddon(): string {
  const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  try {
    return nodeGypBuild.resolve(root);
  } catch (e) {
    if (!String((e as Error).message).startsWith('No native build was found')) throw e;
    throw new Error(noAddonMessage(), { cause: e });
  }
}

/** Names this machine, what the package does ship, and how to build the addon here. */
function noAddonMessage(): string {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const libc = report?.header?.glibcVersionRuntime ? 'glibc' : 'musl';
  const here = `${process.platform}-${process.arch} (${libc})`;
  const shipped = listPrebuilds();
  return [
    `rtnetlink: no native addon for ${here}, Node ${process.version}: ` +
      (shipped.length ? `the package ships prebuilds for ${shipped.join(', ')} only` : 'the package has no prebuilds') +
      ', and none was built from source.',
    'Build it from source: install a C++ compiler, make and Python 3 (Debian/Ubuntu: apt-get install g++ make python3),',
    'then run `npm rebuild rtnetlink` in your project.',
  ].join('\n');
}

/** 'linux-x64 (glibc)' for each prebuilt addon in the package. */
function listPrebuilds(): string[] {
  let files: string[];
  try {
    files = readdirSync(join(root, 'prebuilds'), { recursive: true, encoding: 'utf8' });
  } catch {
    return [];
  }
  return files
    .filter((f) => f.endsWith('.node'))
    .sort()
    .map((f) => {
      const libc = basename(f).split('.').find((t) => t === 'glibc' || t === 'musl');
      return libc ? `${dirname(f)} (${libc})` : dirname(f);
    });
}

export const native: NativeBinding = Object.assign(loaded, { execHelper: helperPath('rtnl-exec'), cniShim: helperPath('rtnetlink-cni') });

export interface ProvisionItem {
  name: string;
  ipv6Off: boolean;
  /** Requests sent from inside the new namespace before its mount; a refusal fails the creation. */
  mark?: Buffer;
  host: Buffer;
  nsFdOffsets: number[];
  inside: Buffer;
  peerIndexPatches: number[];
}

export interface ProvisionResult {
  /** The answers to every item's host requests (each picks its own seqs). */
  hostReplies: Buffer;
  items: ProvisionedItem[];
}

export interface ProvisionedItem {
  /** -1 when the namespace could not be created (createErrno says why; nothing else was tried). */
  nsFd: number;
  routeFd: number;
  createErrno: number;
  createSyscall: string;
  createPath: string;
  /** What the file at createPath turned out to be, or why the run dir could not be locked. */
  createDetail: string;
  /** 0 when its host requests were not sent. */
  hostFirstSeq: number;
  /** False when the host requests failed (or there was nothing inside). */
  insideSent: boolean;
  insideFirstSeq: number;
  insideReplies: Buffer;
  /** A syscall failure after the namespace existed (0: none). */
  errno: number;
  syscall: string;
}
