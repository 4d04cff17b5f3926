// Addresses: add (with `brd +` as broadcast: 'auto'), delete, list.
import type { Connection } from '../connection.js';
import { ArgumentError } from '../errors.js';
import { broadcastOf, formatAddress, parseAddress, parsePrefix, type ParsedPrefix } from '../ip.js';
import { decodeAddress, encodeAddress, type AddressMessage } from '../netlink/address.js';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/message.js';
import * as rt from '../netlink/rtnetlink.js';
import { netnsLabel, promised, send, sendIn, withConnection, type NetnsOption, type PreparedRequest } from '../target.js';
import { validateInterfaceName } from '../validate.js';
import { flag, ipFamily, linkRef, netnsShape } from '../fields.js';
import { custom, object, oneOf, optional } from '../schema.js';
import { checkNetnsOption, dumpLinkMessages, linkSelector, resolveIndex, type LinkRef } from './links.js';

const AF_INET = 2;
const AF_INET6 = 10;

/**
 * Options of addAddress().
 *
 * @example
 * ```ts
 * await addAddress('brd1', '192.168.0.60/24', { broadcast: 'auto', label: 'brd1:pb' });
 * await addAddress('veth-pb', 'fd00::56/64', { noDad: true, netns: 'pb' });
 * ```
 */
export interface AddAddressOptions extends NetnsOption {
  /** 'auto' computes the broadcast from the prefix (`brd +`); or give it explicitly. IPv4 only. */
  broadcast?: 'auto' | string;
  /** IFA_LABEL, e.g. 'eth0:1' (IPv4 only). */
  label?: string;
  /** Replace an existing address instead of failing with EEXIST. */
  replace?: boolean;
  /** IPv6: skip duplicate address detection (IFA_F_NODAD), usable at once. */
  noDad?: boolean;
  scope?: 'global' | 'link' | 'host';
}

const broadcastField = custom<'auto' | string>("'auto' or an IPv4 address", (v, path) => (v === 'auto' ? v : (parseAddress(v as string, path, { family: 4 }), v as string)));

const addAddressOptions = object<AddAddressOptions>(
  'addAddress options',
  {
    ...netnsShape,
    broadcast: optional(broadcastField),
    label: optional(custom('an address label', (v) => validateLabel(v))),
    replace: optional(flag),
    noDad: optional(flag),
    scope: optional(oneOf(['global', 'link', 'host'])),
  },
  { hints: { brd: 'broadcast', dev: 'the first argument (the link)', nodad: 'noDad', ns: 'netns' } },
);

/** An address as addAddress/listAddresses describe it. */
export interface AddressInfo {
  /** Link name and index. */
  link: string;
  index: number;
  family: 4 | 6;
  address: string;
  prefixLen: number;
  /** address/prefixLen, as `ip -br addr` prints it. */
  cidr: string;
  broadcast?: string;
  /** The peer address of a point-to-point address, when it differs from the local one. */
  peer?: string;
  scope: string;
  label?: string;
  flags: string[];
  netns?: string;
}

const SCOPES: Record<string, number> = { global: rt.RT_SCOPE_UNIVERSE, site: rt.RT_SCOPE_SITE, link: rt.RT_SCOPE_LINK, host: rt.RT_SCOPE_HOST };
export function scopeName(scope: number): string {
  for (const [name, v] of Object.entries(SCOPES)) if (v === scope) return name;
  return scope === rt.RT_SCOPE_NOWHERE ? 'nowhere' : String(scope);
}

const IFA_FLAG_NAMES: [number, string][] = [
  [0x01, 'secondary'], [0x02, 'nodad'], [0x04, 'optimistic'], [0x08, 'dadfailed'], [0x10, 'homeaddress'],
  [0x20, 'deprecated'], [0x40, 'tentative'], [0x80, 'permanent'], [0x100, 'managetempaddr'],
  [0x200, 'noprefixroute'], [0x400, 'mcautojoin'], [0x800, 'stable-privacy'],
];

function addressMessage(index: number, p: ParsedPrefix, opts: AddAddressOptions): Partial<AddressMessage> {
  const m: Partial<AddressMessage> = {
    family: p.family === 4 ? AF_INET : AF_INET6,
    prefixlen: p.prefixLen,
    flags: 0,
    scope: opts.scope !== undefined ? scopeOf(opts.scope) : rt.RT_SCOPE_UNIVERSE,
    index,
    local: p.bytes,
    address: p.bytes,
  };
  if (opts.noDad) m.extFlags = 0x02;
  if (opts.broadcast !== undefined) {
    if (p.family !== 4) throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'broadcast', 'IPv6 has no broadcast');
    if (opts.broadcast === 'auto') {
      const b = broadcastOf(p.bytes, p.prefixLen);
      if (b) m.broadcast = b;
    } else {
      m.broadcast = parseAddress(opts.broadcast, 'broadcast', { family: 4 }).bytes;
    }
  }
  if (opts.label !== undefined) {
    if (p.family !== 4) throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'label', 'labels are IPv4 only');
    m.label = opts.label;
  }
  return m;
}

function validateLabel(label: unknown): string {
  // A label is an interface name that may carry ':' ("eth0:1"); the kernel checks 15 bytes.
  if (typeof label !== 'string') return validateInterfaceName(label, 'label');
  const [base, ...alias] = label.split(':');
  validateInterfaceName(base, 'label');
  if (Buffer.byteLength(label) > 15 || alias.some((a) => a.length === 0 || /[\s/%]/.test(a))) {
    throw new ArgumentError('ERR_INVALID_IFNAME', 'label', `invalid address label '${label}'`);
  }
  return label;
}

const scopeOf = (scope: string): number => SCOPES[scope]!;

/** @internal RTM_NEWADDR for a link index (validates everything). */
export function addressRequest(index: number, cidr: string, opts: AddAddressOptions = {}, label: LinkRef = index): PreparedRequest {
  addAddressOptions.check(opts, '');
  const m = addressMessage(index, parsePrefix(cidr, 'address'), opts);
  const flags = NLM_F_CREATE | (opts.replace ? NLM_F_REPLACE : NLM_F_EXCL);
  return { encode: (w, seq) => encodeAddress(w, rt.RTM_NEWADDR, flags, seq, m), opts: { operation: 'RTM_NEWADDR', object: `${cidr} dev ${label}`, inline: true } };
}

/**
 * Adds an address to a link (`ip address add CIDR [brd +] dev LINK`).
 *
 * @example
 * ```ts
 * await addAddress('brd1', '192.168.0.60/24', { broadcast: 'auto' });
 * await addAddress('veth-pb', '192.168.0.56/24', { netns: 'pb' });
 * ```
 */
export function addAddress(link: LinkRef, cidr: string, opts: AddAddressOptions = {}): Promise<void> {
  return promised(() => {
    linkSelector(link);
    // Built (so validated) before any syscall; by index it is the request itself.
    const byIndex = addressRequest(typeof link === 'number' ? link : 1, cidr, opts, link);
    if (typeof link === 'number') return sendIn(opts.netns, byIndex);
    return withConnection(opts.netns, async (conn) => {
      await send(conn, addressRequest(await resolveIndex(conn, link), cidr, opts, link));
    });
  });
}

/**
 * Removes an address from a link.
 *
 * @example
 * ```ts
 * await deleteAddress('veth-pb', '192.168.0.56/24', { netns: 'pb' });
 * ```
 */
export function deleteAddress(link: LinkRef, cidr: string, opts: NetnsOption = {}): Promise<void> {
  return promised(() => {
    linkSelector(link);
    checkNetnsOption(opts);
    const byIndex = deleteAddressRequest(typeof link === 'number' ? link : 1, cidr, link);
    // By index the request is queued at once, as addAddress's is: calls made in one tick reach
    // the kernel in the order they were made.
    if (typeof link === 'number') return sendIn(opts.netns, byIndex);
    return withConnection(opts.netns, async (conn) => {
      await send(conn, deleteAddressRequest(await resolveIndex(conn, link), cidr, link));
    });
  });
}

/** @internal RTM_DELADDR for a link index (validates the address). */
export function deleteAddressRequest(index: number, cidr: string, label: LinkRef = index): PreparedRequest {
  const m = addressMessage(index, parsePrefix(cidr, 'address'), {});
  return { encode: (w, seq) => encodeAddress(w, rt.RTM_DELADDR, 0, seq, m), opts: { operation: 'RTM_DELADDR', object: `${cidr} dev ${label}`, inline: true } };
}

/** Options of listAddresses(). */
export interface ListAddressesOptions extends NetnsOption {
  family?: 4 | 6;
  /** Only this link's addresses. */
  link?: LinkRef;
}

const listAddressesOptions = object<ListAddressesOptions>(
  'listAddresses options',
  { ...netnsShape, family: optional(ipFamily), link: optional(linkRef) },
  { hints: { dev: 'link', ns: 'netns' } },
);

export async function dumpAddressMessages(conn: Connection, family = 0): Promise<AddressMessage[]> {
  const msgs = await conn.dump(
    (w, seq) => encodeAddress(w, rt.RTM_GETADDR, 0, seq, { family, prefixlen: 0, flags: 0, scope: 0, index: 0 }),
    { operation: 'RTM_GETADDR' },
  );
  return msgs.filter((m) => m.type === rt.RTM_NEWADDR).map(decodeAddress);
}

/**
 * Addresses, with their link names (`ip address show`). Links and addresses are dumped in one batch.
 *
 * @example
 * ```ts
 * for (const a of await listAddresses({ netns: 'pb', link: 'veth-pb', family: 4 })) console.log(a.cidr);
 * ```
 */
export async function listAddresses(opts: ListAddressesOptions = {}): Promise<AddressInfo[]> {
  listAddressesOptions.check(opts, '');
  const family = opts.family === undefined ? 0 : opts.family === 4 ? AF_INET : AF_INET6;
  return withConnection(opts.netns, async (conn) => {
    const [links, addrs] = await Promise.all([dumpLinkMessages(conn), dumpAddressMessages(conn, family)]);
    const names = new Map(links.map((l) => [l.index, l.name ?? '']));
    const wanted = opts.link === undefined ? undefined : typeof opts.link === 'number' ? opts.link : links.find((l) => l.name === opts.link)?.index ?? -1;
    return addrs
      .filter((a) => wanted === undefined || a.index === wanted)
      .map((a) => describeAddress(a, names.get(a.index) ?? `if${a.index}`, netnsLabel(opts.netns)));
  });
}

export function describeAddress(a: AddressMessage, link: string, netns?: string): AddressInfo {
  const local = a.local ?? a.address;
  const address = local ? formatAddress(local) : '';
  const flags = a.extFlags ?? a.flags;
  const info: AddressInfo = {
    link,
    index: a.index,
    family: a.family === AF_INET6 ? 6 : 4,
    address,
    prefixLen: a.prefixlen,
    cidr: `${address}/${a.prefixlen}`,
    scope: scopeName(a.scope),
    flags: IFA_FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n),
  };
  if (a.broadcast) info.broadcast = formatAddress(a.broadcast);
  if (a.local && a.address && !a.local.equals(a.address)) info.peer = formatAddress(a.address);
  if (a.label !== undefined) info.label = a.label;
  if (netns !== undefined) info.netns = netns;
  return info;
}
