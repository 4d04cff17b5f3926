// Neighbours: the ARP (IPv4) and NDP (IPv6) tables, `ip neigh` add/replace/delete/list,
// proxy entries included (`ip neigh add proxy`).
import type { Connection } from '../connection.js';
import { ArgumentError } from '../errors.js';
import { formatAddress, formatMac, parseAddress, parseMac, type IpFamily } from '../ip.js';
import { decodeNeighbour, encodeNeighbour, type NeighbourMessage } from '../netlink/neighbour.js';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/message.js';
import * as rt from '../netlink/rtnetlink.js';
import { netnsLabel, withConnection, type NetnsOption } from '../target.js';
import { flag, ipAddress, ipFamily, linkRef, mac, netnsShape } from '../fields.js';
import { object, oneOf, optional, fieldPath } from '../schema.js';
import { dumpLinkMessages, resolveIndex, type LinkRef } from './links.js';

/** Neighbour states as `ip neigh ... nud STATE` names them. */
export const NEIGHBOUR_STATES = ['permanent', 'noarp', 'reachable', 'stale', 'delay', 'probe', 'failed', 'incomplete', 'none'] as const;
/** One of NEIGHBOUR_STATES: 'permanent', 'reachable', 'stale' ... (NUD_* in the kernel). */
export type NeighbourState = (typeof NEIGHBOUR_STATES)[number];

const NUD: Record<NeighbourState, number> = {
  permanent: rt.NUD_PERMANENT,
  noarp: rt.NUD_NOARP,
  reachable: rt.NUD_REACHABLE,
  stale: rt.NUD_STALE,
  delay: rt.NUD_DELAY,
  probe: rt.NUD_PROBE,
  failed: rt.NUD_FAILED,
  incomplete: rt.NUD_INCOMPLETE,
  none: rt.NUD_NONE,
};

/** A neighbour entry as addNeighbour/replaceNeighbour take it (`ip neigh add ADDRESS lladdr MAC dev DEV nud STATE`). */
export interface NeighbourSpec extends NetnsOption {
  /** The neighbour's IPv4 or IPv6 address. */
  address: string;
  /** The device it is reached on. */
  dev: LinkRef;
  /** Its MAC address; required unless `proxy`. */
  lladdr?: string;
  /** Default 'permanent', as ip's. */
  state?: NeighbourState;
  /** A proxy ARP/NDP entry (`ip neigh add proxy ADDRESS dev DEV`): answer for this address on dev. */
  proxy?: boolean;
  /** IPv6: the neighbour is a router (NTF_ROUTER). */
  router?: boolean;
}

const neighbourHints = { ip: 'address', dst: 'address', to: 'address', mac: 'lladdr', link: 'dev', device: 'dev', nud: 'state', ns: 'netns' };

export const neighbourSpec = object<NeighbourSpec>(
  'a neighbour',
  { ...netnsShape, address: ipAddress, dev: linkRef, lladdr: optional(mac), state: optional(oneOf(NEIGHBOUR_STATES)), proxy: optional(flag), router: optional(flag) },
  {
    hints: neighbourHints,
    refine: (n, path) => {
      const at = (k: string) => fieldPath(path, k);
      if (!n.proxy && n.lladdr === undefined && (n.state === undefined || n.state === 'permanent' || n.state === 'noarp' || n.state === 'reachable' || n.state === 'stale')) {
        throw new ArgumentError('ERR_MISSING_OPTION', at('lladdr'), `a ${n.state ?? 'permanent'} neighbour needs its MAC address (lladdr)`);
      }
      if (n.proxy && n.lladdr !== undefined) throw new ArgumentError('ERR_INVALID_ARG_VALUE', at('lladdr'), 'a proxy entry has no MAC address');
    },
  },
);

/** Which entry deleteNeighbour removes. */
export interface NeighbourRef extends NetnsOption {
  address: string;
  dev: LinkRef;
  proxy?: boolean;
}

const neighbourRef = object<NeighbourRef>('a neighbour to delete', { ...netnsShape, address: ipAddress, dev: linkRef, proxy: optional(flag) }, { hints: neighbourHints });

/** A neighbour entry as listNeighbours describes it (the fields of `ip -json neigh`). */
export interface NeighbourInfo {
  family: IpFamily;
  address: string;
  dev: string;
  index: number;
  lladdr?: string;
  /** NUD states, upper case as ip prints them: ['PERMANENT'], ['REACHABLE'], ['STALE'] ... */
  state: string[];
  router: boolean;
  proxy: boolean;
  netns?: string;
}

/** @internal the neighbour message for a checked spec (exported for the codec tests). */
export function neighbourMessage(spec: NeighbourSpec | NeighbourRef, index: number): Partial<NeighbourMessage> {
  const addr = parseAddress(spec.address, 'address');
  const m: Partial<NeighbourMessage> = {
    family: addr.family === 4 ? rt.AF_INET : rt.AF_INET6,
    index,
    state: 'state' in spec && spec.state !== undefined ? NUD[spec.state] : rt.NUD_PERMANENT,
    flags: (spec.proxy ? rt.NTF_PROXY : 0) | ('router' in spec && spec.router ? rt.NTF_ROUTER : 0),
    type: 0,
    dst: addr.bytes,
  };
  if ('lladdr' in spec && spec.lladdr !== undefined) m.lladdr = parseMac(spec.lladdr, 'lladdr');
  return m;
}

async function sendNeighbour(conn: Connection, type: number, flags: number, spec: NeighbourSpec | NeighbourRef): Promise<void> {
  const index = await resolveIndex(conn, spec.dev, 'dev');
  const m = neighbourMessage(spec, index);
  await conn.request((w, seq) => encodeNeighbour(w, type, flags, seq, m), { operation: rt.rtmName(type), object: `${spec.address} dev ${spec.dev}`, inline: true });
}

/**
 * Adds a neighbour entry (`ip neigh add`); EEXIST if there is one for the address on dev.
 *
 * @example
 * ```ts
 * await addNeighbour({ address: '10.0.0.2', lladdr: '02:00:00:00:00:02', dev: 'eth0' });   // nud permanent
 * await addNeighbour({ address: '10.0.0.9', dev: 'eth0', proxy: true });                      // ip neigh add proxy
 * ```
 */
export async function addNeighbour(spec: NeighbourSpec): Promise<void> {
  neighbourSpec.check(spec, '');
  await withConnection(spec.netns, (conn) => sendNeighbour(conn, rt.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, spec));
}

/**
 * Adds or replaces a neighbour entry (`ip neigh replace`).
 *
 * @example
 * ```ts
 * await replaceNeighbour({ address: 'fd00::2', lladdr: '02:00:00:00:00:02', dev: 'eth0', state: 'reachable', router: true });
 * ```
 */
export async function replaceNeighbour(spec: NeighbourSpec): Promise<void> {
  neighbourSpec.check(spec, '');
  await withConnection(spec.netns, (conn) => sendNeighbour(conn, rt.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, spec));
}

/**
 * Deletes a neighbour entry (`ip neigh del ADDRESS dev DEV`, or `ip neigh del proxy ...`);
 * ENOENT if there is none.
 *
 * @example
 * ```ts
 * await deleteNeighbour({ address: '10.0.0.2', dev: 'eth0' });
 * ```
 */
export async function deleteNeighbour(spec: NeighbourRef): Promise<void> {
  neighbourRef.check(spec, '');
  await withConnection(spec.netns, (conn) => sendNeighbour(conn, rt.RTM_DELNEIGH, 0, spec));
}

/** Options of listNeighbours(). */
export interface ListNeighboursOptions extends NetnsOption {
  family?: IpFamily;
  /** Only the entries on this device. */
  dev?: LinkRef;
  /** The proxy entries instead of the ordinary ones (`ip neigh show proxy`). */
  proxy?: boolean;
}

const listNeighboursOptions = object<ListNeighboursOptions>(
  'listNeighbours options',
  { ...netnsShape, family: optional(ipFamily), dev: optional(linkRef), proxy: optional(flag) },
  { hints: neighbourHints },
);

const STATE_NAMES: [number, string][] = [
  [rt.NUD_INCOMPLETE, 'INCOMPLETE'], [rt.NUD_REACHABLE, 'REACHABLE'], [rt.NUD_STALE, 'STALE'], [rt.NUD_DELAY, 'DELAY'],
  [rt.NUD_PROBE, 'PROBE'], [rt.NUD_FAILED, 'FAILED'], [rt.NUD_NOARP, 'NOARP'], [rt.NUD_PERMANENT, 'PERMANENT'],
];

export async function dumpNeighbourMessages(conn: Connection, family: number, flags = 0): Promise<NeighbourMessage[]> {
  const msgs = await conn.dump((w, seq) => encodeNeighbour(w, rt.RTM_GETNEIGH, 0, seq, { family, index: 0, state: 0, flags, type: 0 }), {
    operation: 'RTM_GETNEIGH',
  });
  return msgs.filter((m) => m.type === rt.RTM_NEWNEIGH).map(decodeNeighbour);
}

/**
 * The neighbour entries (`ip neigh show nud all`; with `proxy`, `ip neigh show proxy`).
 *
 * @example
 * ```ts
 * const arp = await listNeighbours({ family: 4, dev: 'eth0' });
 * // [{ family: 4, address: '10.0.0.2', dev: 'eth0', index: 2, lladdr: '02:00:00:00:00:02', state: ['PERMANENT'], router: false, proxy: false }]
 * ```
 */
export async function listNeighbours(opts: ListNeighboursOptions = {}): Promise<NeighbourInfo[]> {
  listNeighboursOptions.check(opts, '');
  const family = opts.family === undefined ? rt.AF_UNSPEC : opts.family === 4 ? rt.AF_INET : rt.AF_INET6;
  return withConnection(opts.netns, async (conn) => {
    const [links, entries] = await Promise.all([dumpLinkMessages(conn), dumpNeighbourMessages(conn, family, opts.proxy ? rt.NTF_PROXY : 0)]);
    const names = new Map(links.map((l) => [l.index, l.name ?? '']));
    const wanted = opts.dev === undefined ? undefined : typeof opts.dev === 'number' ? opts.dev : links.find((l) => l.name === opts.dev)?.index ?? -1;
    return entries
      .filter((n) => (n.family === rt.AF_INET || n.family === rt.AF_INET6) && (wanted === undefined || n.index === wanted))
      .filter((n) => Boolean(n.flags & rt.NTF_PROXY) === Boolean(opts.proxy))
      .map((n) => describeNeighbour(n, names, netnsLabel(opts.netns)));
  });
}

export function describeNeighbour(n: NeighbourMessage, names: Map<number, string>, netns?: string): NeighbourInfo {
  const info: NeighbourInfo = {
    family: n.family === rt.AF_INET6 ? 6 : 4,
    address: n.dst ? formatAddress(n.dst) : '',
    dev: names.get(n.index) ?? `if${n.index}`,
    index: n.index,
    state: STATE_NAMES.filter(([bit]) => n.state & bit).map(([, name]) => name),
    router: (n.flags & rt.NTF_ROUTER) !== 0,
    proxy: (n.flags & rt.NTF_PROXY) !== 0,
  };
  if (n.lladdr && n.lladdr.length > 0) info.lladdr = formatMac(n.lladdr);
  if (netns !== undefined) info.netns = netns;
  return info;
}
