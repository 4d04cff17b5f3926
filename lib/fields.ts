// Field schemas the operations share: the kernel's own rules for names, indexes, MTUs and
// addresses (lib/validate.ts, lib/ip.ts) as schemas, for lib/schema.ts's object schemas.
import { NamespaceHandle } from './handle.js';
import { parseAddress, parseMac, parsePrefix, type IpFamily } from './ip.js';
import { boolean, custom, integer, oneOf, optional, type Schema } from './schema.js';
import type { NetnsRef } from './target.js';
import {
  MAX_IFINDEX,
  MAX_MTU,
  MAX_U32,
  MIN_MTU,
  describeValue,
  validateAbortSignal,
  validateIfIndex,
  validateInterfaceName,
  validateNamespaceName,
} from './validate.js';
import { ArgumentError } from './errors.js';

export const ifname: Schema<string> = custom('an interface name', (v, path) => validateInterfaceName(v, path));

/** A link by name or by index. */
export const linkRef: Schema<string | number> = custom('an interface name or index', (v, path) => {
  if (typeof v === 'number') return validateIfIndex(v, path);
  if (typeof v === 'string') return validateInterfaceName(v, path);
  throw new ArgumentError('ERR_INVALID_ARG_TYPE', path, `must be an interface name or index, received ${describeValue(v)}`);
});

export const ifindex: Schema<number> = integer(1, MAX_IFINDEX, 'ERR_INVALID_IFINDEX');
export const mtu: Schema<number> = integer(MIN_MTU, MAX_MTU, 'ERR_INVALID_MTU');
export const linkGroup: Schema<number> = integer(0, MAX_U32, 'ERR_INVALID_LINK_GROUP');
export const u32: Schema<number> = integer(0, MAX_U32);
export const port: Schema<number> = integer(1, 65535);
export const flag = boolean();
export const ipFamily: Schema<IpFamily> = oneOf([4, 6]);

/** A MAC address 'aa:bb:cc:dd:ee:ff'. */
export const mac: Schema<string> = custom('a MAC address', (v, path) => {
  if (typeof v !== 'string') throw new ArgumentError('ERR_INVALID_ARG_TYPE', path, `must be a MAC address string, received ${describeValue(v)}`);
  parseMac(v, path);
  return v;
});

/** An IPv4 or IPv6 address without a prefix. */
export const ipAddress: Schema<string> = custom('an IP address', (v, path) => {
  parseAddress(v as string, path);
  return v as string;
});

/** An address with a prefix length: '10.0.0.2/24' (a bare address is a host prefix). */
export const ipPrefix: Schema<string> = custom('an address with a prefix length', (v, path) => {
  parsePrefix(v as string, path);
  return v as string;
});

export const namespaceName: Schema<string> = custom('a namespace name', (v, path) => validateNamespaceName(v, path));

/** A Namespace handle, or the name of a namespace in the run dir. */
export const netnsRef: Schema<NetnsRef> = custom('a Namespace handle or a namespace name', (v, path) => {
  if (v instanceof NamespaceHandle) return v;
  if (typeof v === 'string') return validateNamespaceName(v, path);
  throw new ArgumentError('ERR_INVALID_ARG_TYPE', path, `must be a Namespace handle or a namespace name, received ${describeValue(v)}`);
});

export const abortSignal: Schema<AbortSignal> = custom('an AbortSignal', (v, path) => validateAbortSignal(v, path)!);
/** A timeout in ms, as setTimeout can wait it. */
export const timeoutMs: Schema<number> = integer(0, 2 ** 31 - 1);

/** The `netns` option every namespaced operation takes. */
export const netnsShape = { netns: optional(netnsRef) };
