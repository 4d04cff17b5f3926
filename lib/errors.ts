// One error class for every kernel and syscall failure, shaped like Node's system errors,
// plus the argument errors thrown before any syscall.
import { getSystemErrorMap } from 'node:util';

const systemErrors = getSystemErrorMap();

/** What a NetlinkError is made from (the library builds them; the fields become the error's). */
export interface NetlinkErrorDetails {
  /** Negative errno, as in Node's system errors. Positive values are normalised. */
  errno: number;
  /** The system call that failed ('sendmsg', 'setns', 'mount', ...). */
  syscall: string;
  /** The netlink operation, e.g. 'RTM_NEWLINK'. */
  operation?: string;
  /** What the call was about: an interface, an address, a namespace. */
  object?: string;
  /** The kernel's extended-ack text. */
  kernelMessage?: string;
  /** Offset of the attribute the kernel rejected, when it says. */
  badAttributeOffset?: number;
  /** The file the call was about (a namespace file for 'mount', 'open'). */
  path?: string;
  /** Extra words after the standard message, e.g. which capability is needed. */
  hint?: string;
}

/**
 * A kernel or syscall failure: `code` ('EEXIST'), negative `errno`, `syscall`, operation, object.
 *
 * @example
 * ```ts
 * try {
 *   await createNamespace('pb');
 * } catch (err) {
 *   if (err instanceof NetlinkError && err.code === 'EEXIST') console.log(`${err.object} exists already`);
 *   else throw err;
 * }
 * ```
 */
export class NetlinkError extends Error {
  /** The errno's name, as in Node's system errors: 'EEXIST', 'ENODEV', 'EPERM' ... */
  readonly code: string;
  /** Negative errno (-17 for EEXIST). */
  readonly errno: number;
  /** The system call that failed ('sendmsg', 'setns', 'mount', ...). */
  readonly syscall: string;
  /** The netlink operation, e.g. 'RTM_NEWLINK'. */
  readonly operation?: string;
  /** What the call was about: an interface, an address, a namespace. */
  readonly object?: string;
  /** The kernel's extended-ack text, when it gave one. */
  readonly kernelMessage?: string;
  /** Offset of the attribute the kernel rejected, when it says. */
  readonly badAttributeOffset?: number;
  /** The file the call was about (a namespace file for 'mount', 'open'). */
  readonly path?: string;
  /** The extra words after the standard message, if any (kept when the error is relabelled). */
  readonly hint?: string;

  constructor(d: NetlinkErrorDetails) {
    const errno = d.errno > 0 ? -d.errno : d.errno;
    const [code, text] = systemErrors.get(errno) ?? [`E${-errno}`, `unknown error ${-errno}`];
    let message = `${code}: ${text}, ${d.operation ?? d.syscall}`;
    if (d.object !== undefined) message += ` '${d.object}'`;
    if (d.path !== undefined && d.path !== d.object) message += ` (${d.path})`;
    if (d.kernelMessage) message += `: ${d.kernelMessage}`;
    if (d.hint) message += ` (${d.hint})`;
    super(message);
    this.name = 'NetlinkError';
    this.code = code;
    this.errno = errno;
    this.syscall = d.syscall;
    if (d.operation !== undefined) this.operation = d.operation;
    if (d.object !== undefined) this.object = d.object;
    if (d.kernelMessage !== undefined) this.kernelMessage = d.kernelMessage;
    if (d.badAttributeOffset !== undefined) this.badAttributeOffset = d.badAttributeOffset;
    if (d.path !== undefined) this.path = d.path;
    if (d.hint !== undefined) this.hint = d.hint;
  }
}

/**
 * An operation ended by its timeout or an AbortSignal before the kernel answered.
 *
 * @example
 * ```ts
 * try {
 *   await waitForLinkState('veth-pb', 'up', { netns: 'pb', timeout: 5000 });
 * } catch (err) {
 *   if ((err as { code?: string }).code === 'ETIMEDOUT') console.log('veth-pb has no carrier yet');
 *   else throw err;
 * }
 * ```
 */
export class TimeoutError extends Error {
  /** Always 'ETIMEDOUT'. */
  readonly code = 'ETIMEDOUT';
  constructor(what: string, ms: number) {
    super(`ETIMEDOUT: no answer from the kernel within ${ms} ms, ${what}`);
    this.name = 'TimeoutError';
  }
}

/**
 * A handle or connection used after close().
 *
 * @example
 * ```ts
 * const pb = await openNamespace('pb');
 * pb.close();
 * await pb.listLinks().catch((err) => console.log(err.code)); // 'ERR_NETLINK_CLOSED'
 * ```
 */
export class ClosedError extends Error {
  /** Always 'ERR_NETLINK_CLOSED'. */
  readonly code = 'ERR_NETLINK_CLOSED';
  constructor(what: string) {
    super(`${what} is closed`);
    this.name = 'ClosedError';
  }
}

/**
 * A bad argument: thrown before any syscall. `code` names the field, e.g. ERR_INVALID_IFNAME.
 *
 * @example
 * ```ts
 * try {
 *   await createBridge('a name that is far too long');
 * } catch (err) {
 *   if (err instanceof ArgumentError) console.log(err.code, err.field); // ERR_INVALID_IFNAME name
 *   else throw err;
 * }
 * ```
 */
export class ArgumentError extends TypeError {
  /** What is wrong, e.g. 'ERR_INVALID_IFNAME', 'ERR_UNKNOWN_OPTION'. */
  readonly code: string;
  /** The argument or option at fault, as a path: 'name', 'peer.name'. */
  readonly field: string;
  constructor(code: string, field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'TypeError';
    this.code = code;
    this.field = field;
  }
}

/**
 * A value of the right type outside its range (prefix 33, MTU 0 ...). Thrown before any syscall.
 *
 * @example
 * ```ts
 * try {
 *   await addAddress('brd1', '192.168.0.60/33');
 * } catch (err) {
 *   if (err instanceof ArgumentRangeError) console.log(err.code, err.field);
 *   else throw err;
 * }
 * ```
 */
export class ArgumentRangeError extends RangeError {
  /** What is wrong, e.g. 'ERR_INVALID_PREFIX', 'ERR_SOCKET_BAD_PORT'. */
  readonly code: string;
  /** The argument or option at fault, as a path: 'address', 'changes.mtu'. */
  readonly field: string;
  constructor(code: string, field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'RangeError';
    this.code = code;
    this.field = field;
  }
}

/** Capabilities the kernel wants, so EPERM can name them. */
export function capabilityHint(syscall: string): string {
  if (syscall === 'unshare' || syscall === 'setns' || syscall === 'mount' || syscall === 'umount2') {
    return 'needs CAP_SYS_ADMIN';
  }
  return 'needs CAP_NET_ADMIN';
}

/** What Node's own APIs (child_process, net) reject with on abort: an AbortError, code
 *  'ABORT_ERR', the signal's reason as its cause. */
export function abortError(signal: AbortSignal): Error {
  const e = new Error('The operation was aborted', { cause: signal.reason });
  e.name = 'AbortError';
  return Object.assign(e, { code: 'ABORT_ERR' });
}

/** What signal.throwIfAborted() throws: the reason itself when it is an Error. */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : abortError(signal);
}
