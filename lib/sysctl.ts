// Per-namespace sysctls (/proc/sys/net/... as seen from inside a namespace), written by the
// addon on its own thread: no `sysctl` process, no namespace switch on the JS thread.
import { ArgumentError } from './errors.js';
import { native } from './native.js';
import { withNamespaceFd, type NetnsOption } from './target.js';
import { validateSysctlKey } from './validate.js';

export interface SysctlOptions extends NetnsOption {
  /** Allow keys outside net.* (they are not per-namespace: they change the whole machine). */
  allowNonNet?: boolean;
}

export type SysctlValue = string | number | boolean;

function sysctlPath(key: string | readonly string[], opts: SysctlOptions): string {
  const segments = validateSysctlKey(key, opts.allowNonNet ? { allowNonNet: true } : {});
  return `/proc/sys/${segments.join('/')}`;
}

function serialise(value: SysctlValue): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'value', `must be an integer, got ${value}`);
    return String(value);
  }
  if (typeof value === 'string' && !/[\0\n]/.test(value)) return value;
  throw new ArgumentError('ERR_INVALID_ARG_TYPE', 'value', 'must be a number, boolean or a one-line string');
}

function inNamespace<T>(opts: NetnsOption, fn: (nsFd: number) => Promise<T>): Promise<T> {
  return opts.netns === undefined ? fn(-1) : withNamespaceFd(opts.netns, fn);
}

/** `sysctl -w key=value` inside a namespace, e.g. setSysctl('net.ipv4.ip_forward', 1, { netns }). */
export async function setSysctl(key: string | readonly string[], value: SysctlValue, opts: SysctlOptions = {}): Promise<void> {
  const path = sysctlPath(key, opts);
  const data = serialise(value);
  await inNamespace(opts, (fd) => native.writeFileIn(fd, path, data));
}

/** The value of a sysctl inside a namespace, trimmed ('1', '0', 'fe80::1 ...'). */
export async function getSysctl(key: string | readonly string[], opts: SysctlOptions = {}): Promise<string> {
  const path = sysctlPath(key, opts);
  return (await inNamespace(opts, (fd) => native.readFileIn(fd, path))).trim();
}

export interface ForwardingOptions extends NetnsOption {
  /** 4 (net.ipv4.ip_forward), 6 (net.ipv6.conf.all.forwarding) or 'both'. Default 4. */
  family?: 4 | 6 | 'both';
  /** false turns forwarding off. */
  enabled?: boolean;
}

/** Turns on IP forwarding in a namespace (the tutorial's `sysctl -w net.ipv4.ip_forward=1`). */
export async function enableForwarding(opts: ForwardingOptions = {}): Promise<void> {
  const family = opts.family ?? 4;
  if (family !== 4 && family !== 6 && family !== 'both') throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'family', "must be 4, 6 or 'both'");
  const value = opts.enabled === false ? 0 : 1;
  const netns = opts.netns === undefined ? {} : { netns: opts.netns };
  if (family !== 6) await setSysctl('net.ipv4.ip_forward', value, netns);
  if (family !== 4) await setSysctl('net.ipv6.conf.all.forwarding', value, netns);
}
