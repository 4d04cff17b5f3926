// CNI errors: what a plugin prints on stdout when a call fails ({cniVersion, code, msg,
// details}) with the codes of the CNI spec, and ours from 100 up.
import { ArgumentError, ArgumentRangeError, NetlinkError } from '../errors.js';

/**
 * The error codes of the CNI spec (1.1.0, "Error"), and the plugin's own from 100.
 *
 * @example
 * ```ts
 * const reply = await handleCniRequest(request);
 * if (reply.status !== 0 && JSON.parse(reply.stdout.toString()).code === CniCode.TryAgainLater) {
 *   // transient: call again later
 * }
 * ```
 */
export const CniCode = {
  /** Incompatible CNI version. */
  IncompatibleVersion: 1,
  /** Unsupported field in the network configuration. */
  UnsupportedField: 2,
  /** Container unknown or does not exist. */
  UnknownContainer: 3,
  /** Invalid necessary environment variables (CNI_COMMAND, CNI_IFNAME, ...). */
  InvalidEnvironment: 4,
  /** I/O failure (reading stdin, state files). */
  IoFailure: 5,
  /** Failed to decode content (malformed JSON). */
  DecodingFailure: 6,
  /** Invalid network config. */
  InvalidNetworkConfig: 7,
  /** Try again later: a transient condition (the daemon is not reachable, it is stopping). */
  TryAgainLater: 11,
  /** STATUS: the plugin cannot serve ADD now. */
  PluginNotAvailable: 50,
  /** STATUS: the plugin can serve ADD, with limited connectivity. */
  LimitedConnectivity: 51,
  /** The kernel refused a change (the details carry its errno and message). */
  KernelError: 100,
  /** The address range is exhausted: no free address for this container. */
  RangeExhausted: 101,
  /** The IPAM plugin that the config delegates to failed or could not be run. */
  IpamPluginFailed: 102,
  /** CHECK found the container's interfaces, addresses or routes different from the result. */
  CheckFailed: 103,
  /** An object the daemon must change exists but was not created by it (ownership). */
  NotOwned: 104,
  /** Anything else: a bug. */
  Internal: 999,
} as const;

/**
 * A failed CNI call, printed on stdout as `{cniVersion, code, msg, details}`.
 *
 * @example
 * ```ts
 * const err = new CniError(CniCode.InvalidNetworkConfig, 'invalid network config', 'bridge: must be a string');
 * if (err.code === CniCode.InvalidNetworkConfig) process.stdout.write(JSON.stringify(err.toJSON('1.1.0')));
 * ```
 */
export class CniError extends Error {
  /**
   * @param code a CniCode
   * @param msg short text, as the spec's `msg`
   * @param details longer text, as the spec's `details`
   * @example
   * ```ts
   * throw new CniError(CniCode.InvalidEnvironment, 'invalid CNI_IFNAME', 'interface name is too long');
   * ```
   */
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly details = '',
  ) {
    super(details ? `${msg}: ${details}` : msg);
    this.name = 'CniError';
  }

  /**
   * The JSON object the spec prints on stdout for this error.
   *
   * @example
   * ```ts
   * new CniError(CniCode.TryAgainLater, 'daemon is stopping').toJSON('1.1.0');
   * // { cniVersion: '1.1.0', code: 11, msg: 'daemon is stopping' }
   * ```
   */
  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    return { cniVersion, code: this.code, msg: this.msg, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Any error as a CniError: argument errors are invalid config, kernel errors code 100. */
export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (e instanceof ArgumentError || e instanceof ArgumentRangeError) {
    return new CniError(CniCode.InvalidNetworkConfig, 'invalid network config', e.message);
  }
  if (e instanceof NetlinkError) return new CniError(CniCode.KernelError, 'the kernel refused a change', e.message);
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.syscall === 'string') {
    return new CniError(CniCode.IoFailure, 'I/O failure', err.message);
  }
  return new CniError(CniCode.Internal, 'internal error', err?.stack ?? String(e));
}
