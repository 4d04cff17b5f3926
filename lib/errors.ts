// One error class for every kernel and syscall failure, shaped like Node's system errors,
// plus the argument errors thrown before any syscall.
import { getSystemErrorMap } from 'node:util';

const systemErrors = getSystemErrorMap();

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
  path?: string;
  /** Extra words after the standard message, e.g. which capability is needed. */
  hint?: string;
}

/** A kernel or syscall failure: `code` ('EEXIST'), negative `errno`, `syscall`, operation, object. */
export class NetlinkError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly operation?: string;
  readonly object?: string;
  readonly kernelMessage?: string;
  readonly badAttributeOffset?: number;
  readonly path?: string;

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
  }
}

/** An operation ended by its timeout or an AbortSignal before the kernel answered. */
export class TimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(what: string, ms: number) {
    super(`ETIMEDOUT: no answer from the kernel within ${ms} ms, ${what}`);
    this.name = 'TimeoutError';
  }
}

/** A handle or connection used after close(). */
export class ClosedError extends Error {
  readonly code = 'ERR_NETLINK_CLOSED';
  constructor(what: string) {
    super(`${what} is closed`);
    this.name = 'ClosedError';
  }
}

/** A bad argument: thrown before any syscall. `code` names the field, e.g. ERR_INVALID_IFNAME. */
export class ArgumentError extends TypeError {
  readonly code: string;
  readonly field: string;
  constructor(code: string, field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'TypeError';
    this.code = code;
    this.field = field;
  }
}

/** A value of the right type outside its range (prefix 33, MTU 0 ...). */
export class ArgumentRangeError extends RangeError {
  readonly code: string;
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
