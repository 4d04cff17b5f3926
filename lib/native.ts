// The only file that loads the addon. It types the addon's surface and hands it the error
// factory, so native failures arrive as NetlinkError without a wrapper per call.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetlinkError, capabilityHint } from './errors.js';

export interface NativeBinding {
  /** Registers the factory the addon uses for every syscall failure. */
  init(makeError: (errno: number, syscall: string, path: string) => Error): void;

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
  createNamedNetns(runDir: string, name: string, failAfterStep: number, withRoute: true): Promise<[number, number]>;
  /** A namespace held only by the returned fd. */
  createAnonymousNetns(): Promise<number>;
  createAnonymousNetns(withRoute: true): Promise<[number, number]>;
  /** The bulk path's unit (native/provision.cc): creates each namespace (named, or anonymous
   *  when name is ''), optionally with IPv6 off inside, sends every item's `host` requests (veth
   *  creates, the namespace fd written at nsFdOffsets) in one send() from the thread's own
   *  socket, then each `inside` on its namespace's socket with the echoed peer indexes written
   *  at peerIndexPatches [offset, veth ordinal, ...]. Failures come back per item. */
  provisionNetns(runDir: string, items: ProvisionItem[]): Promise<ProvisionResult>;
  /** Opens a namespace file, refusing symlinks in its last component when noFollow, and
   *  anything that is not a network namespace (EINVAL). */
  openNetns(path: string, noFollow: boolean): Promise<number>;
  /** Lazy-unmounts and unlinks RUN_DIR/NAME. */
  deleteNamedNetns(runDir: string, name: string): Promise<void>;

  /** Watches a notification socket on the JS thread's loop; the callback gets each drain of
   *  queued datagrams (from the kernel only), or an errno (ENOBUFS: notifications were lost). */
  watchStart(fd: number, callback: (errno: number | null, data: Buffer | null) => void): WatchHandle;
  watchStop(handle: WatchHandle): void;

  /** A socket created inside a namespace; bound to (address, port) when address is given. */
  socketIn(nsFd: number, family: number, type: number, protocol: number, address: Buffer | null, port: number): Promise<number>;
  /** Writes a /proc/sys file as seen from inside the namespace. */
  writeFileIn(nsFd: number, path: string, data: string): Promise<void>;
  readFileIn(nsFd: number, path: string): Promise<string>;
  close(fd: number): void;

  /** Absolute path of the exec helper: `rtnl-exec NSFD FILE ARGS...` */
  execHelper: string;
  /** Number of addon-owned worker threads. */
  threads(): number;
}

export type WatchHandle = { readonly __watch: unique symbol };

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// RTNETLINK_ADDON=/path/rtnetlink.node loads that build instead (the sanitizer build of
// scripts/asan-build.sh); its rtnl-exec is looked for beside it first.
const override = process.env.RTNETLINK_ADDON ? resolve(process.env.RTNETLINK_ADDON) : undefined;
const loaded = (override ? require(override) : require('node-gyp-build')(root)) as Omit<NativeBinding, 'execHelper'>;

loaded.init((errno, syscall, path) =>
  new NetlinkError({
    errno,
    syscall,
    ...(path ? { path, object: path } : {}),
    ...(errno === 1 ? { hint: capabilityHint(syscall) } : {}),
  }),
);

// The exec helper sits next to the addon: build/Release from a source build, or the prebuild's
// own folder (npm run prebuild copies it there).
const helperCandidates = [
  ...(override ? [join(dirname(override), 'rtnl-exec')] : []),
  join(root, 'build', 'Release', 'rtnl-exec'),
  join(root, 'prebuilds', `linux-${process.arch}`, 'rtnl-exec'),
];

export const native: NativeBinding = Object.assign(loaded, {
  execHelper: helperCandidates.find((p) => existsSync(p)) ?? helperCandidates[0]!,
});

export interface ProvisionItem {
  name: string;
  ipv6Off: boolean;
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
