// Per-namespace sysctls (/proc/sys/net/... as seen from inside a namespace), written by the
// addon on its own thread: no `sysctl` process, no namespace switch on the JS thread.
import { ArgumentError } from './errors.js';
import { native } from './native.js';
import { withNamespaceFd, type NetnsOption } from './target.js';
import { validateSysctlKey } from './validate.js';
import { flag, netnsShape } from './fields.js';
import { custom, object, oneOf, optional } from './schema.js';

/** Options of setSysctl() and getSysctl(). */
export interface SysctlOptions extends NetnsOption {
  /** Allow keys outside net.* (they are not per-namespace: they change the whole machine). */
  allowNonNet?: boolean;
}

/** A sysctl value: a number, a boolean (1 or 0) or a one-line string. */
export type SysctlValue = string | number | boolean;

const sysctlOptions = object<SysctlOptions>('sysctl options', { ...netnsShape, allowNonNet: optional(flag) });

/** A sysctl value, checked as it will be written. */
export const sysctlValue = custom<SysctlValue>('a number, a boolean or a one-line string', (v, path) => (serialise(v as SysctlValue, path), v as SysctlValue));

function sysctlPath(key: string | readonly string[], opts: SysctlOptions): string {
  sysctlOptions.check(opts, '');
  const segments = validateSysctlKey(key, opts.allowNonNet ? { allowNonNet: true } : {});
  return `/proc/sys/${segments.join('/')}`;
}

function serialise(value: SysctlValue, field = 'value'): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new ArgumentError('ERR_INVALID_ARG_VALUE', field, `must be an integer, got ${value}`);
    return String(value);
  }
  if (typeof value === 'string' && !/[\0\n]/.test(value)) return value;
  throw new ArgumentError('ERR_INVALID_ARG_TYPE', field, 'must be a number, boolean or a one-line string');
}

function inNamespace<T>(opts: NetnsOption, fn: (nsFd: number) => Promise<T>): Promise<T> {
  return opts.netns === undefined ? fn(-1) : withNamespaceFd(opts.netns, fn);
}

/**
 * `sysctl -w key=value` inside a namespace, e.g. setSysctl('net.ipv4.ip_forward', 1, { netns }).
 *
 * @example
 * ```ts
 * await setSysctl('net.ipv4.ip_forward', 1, { netns: 'pb' });
 * // a key whose interface name has a dot: give the segments
 * await setSysctl(['net', 'ipv6', 'conf', 'veth.1', 'disable_ipv6'], true, { netns: 'pb' });
 * ```
 */
export async function setSysctl(key: string | readonly string[], value: SysctlValue, opts: SysctlOptions = {}): Promise<void> {
  const path = sysctlPath(key, opts);
  const data = serialise(value);
  await inNamespace(opts, (fd) => native.writeFileIn(fd, path, data));
}

/**
 * The value of a sysctl inside a namespace, trimmed ('1', '0', 'fe80::1 ...').
 *
 * @example
 * ```ts
 * const forwarding = await getSysctl('net.ipv4.ip_forward', { netns: 'pb' }); // '0' or '1'
 * ```
 */
export async function getSysctl(key: string | readonly string[], opts: SysctlOptions = {}): Promise<string> {
  const path = sysctlPath(key, opts);
  return (await inNamespace(opts, (fd) => native.readFileIn(fd, path))).trim();
}

/** Options of enableForwarding(). */
export interface ForwardingOptions extends NetnsOption {
  /** 4 (net.ipv4.ip_forward), 6 (net.ipv6.conf.all.forwarding) or 'both'. Default 4. */
  family?: 4 | 6 | 'both';
  /** false turns forwarding off. */
  enabled?: boolean;
}

const forwardingOptions = object<ForwardingOptions>('enableForwarding options', { ...netnsShape, family: optional(oneOf([4, 6, 'both'])), enabled: optional(flag) });

/**
 * Turns on IP forwarding in a namespace (the tutorial's `sysctl -w net.ipv4.ip_forward=1`).
 *
 * @example
 * ```ts
 * await enableForwarding();                                // sysctl -w net.ipv4.ip_forward=1
 * await enableForwarding({ family: 'both', netns: 'pb' }); // and net.ipv6.conf.all.forwarding
 * ```
 */
export async function enableForwarding(opts: ForwardingOptions = {}): Promise<void> {
  forwardingOptions.check(opts, '');
  const family = opts.family ?? 4;
  const value = opts.enabled === false ? 0 : 1;
  const netns = opts.netns === undefined ? {} : { netns: opts.netns };
  if (family !== 6) await setSysctl('net.ipv4.ip_forward', value, netns);
  if (family !== 4) await setSysctl('net.ipv6.conf.all.forwarding', value, netns);
}
