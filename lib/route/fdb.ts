// The bridge forwarding database (`bridge fdb`): MAC entries of bridge ports (master) and of
// devices with their own table (self), vxlan remotes among them. The all-zeros MAC on a vxlan
// is its flood list: `bridge fdb append 00:00:00:00:00:00 dev vxlan0 dst 10.0.0.2` sends
// broadcast, unknown unicast and multicast to that VTEP, one entry per remote.
import type { Connection } from '../connection.js';
import { ArgumentError } from '../errors.js';
import { formatAddress, formatMac, parseAddress, parseMac } from '../ip.js';
import { encodeNeighbour, type NeighbourMessage } from '../netlink/neighbour.js';
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/message.js';
import * as rt from '../netlink/rtnetlink.js';
import { netnsLabel, withConnection, type NetnsOption } from '../target.js';
import { flag, ipAddress, linkRef, mac, netnsShape, port } from '../fields.js';
import { integer, object, oneOf, optional } from '../schema.js';
import { dumpLinkMessages, resolveIndex, type LinkRef } from './links.js';
import { dumpNeighbourMessages } from './neighbours.js';

/** An FDB entry as appendFdb/addFdb/replaceFdb/deleteFdb take it (`bridge fdb add MAC dev DEV ...`). */
export interface FdbEntrySpec extends NetnsOption {
  /** The MAC; '00:00:00:00:00:00' on a vxlan is the flood entry. */
  mac: string;
  /** The port (master) or device (self) the entry belongs to. */
  dev: LinkRef;
  /** vxlan: the remote VTEP's IP address. */
  dst?: string;
  /** Bridge vlan of the entry. */
  vlan?: number;
  /** vxlan: the remote's UDP port, when not the device's. */
  port?: number;
  /** vxlan: the remote's VNI, when not the device's. */
  vni?: number;
  /** vxlan: the device to reach dst through. */
  via?: LinkRef;
  /** The device's own table (NTF_SELF). The default when `master` is not given, as bridge's. */
  self?: boolean;
  /** The bridge's table, for an entry of one of its ports (NTF_MASTER). */
  master?: boolean;
  /** 'permanent' (the default, as bridge's), 'static' or 'dynamic' (ages out). */
  state?: 'permanent' | 'static' | 'dynamic';
  /** NTF_STICKY: never moves to another port. */
  sticky?: boolean;
}

const fdbHints = { lladdr: 'mac', address: 'mac', link: 'dev', remote: 'dst', vid: 'vlan', dstport: 'port', dst_port: 'port', id: 'vni', ns: 'netns' };

export const fdbEntrySpec = object<FdbEntrySpec>(
  'an FDB entry',
  {
    ...netnsShape,
    mac,
    dev: linkRef,
    dst: optional(ipAddress),
    vlan: optional(integer(1, 4094, 'ERR_INVALID_VLAN')),
    port: optional(port),
    vni: optional(integer(0, 2 ** 24 - 1, 'ERR_INVALID_VNI')),
    via: optional(linkRef),
    self: optional(flag),
    master: optional(flag),
    state: optional(oneOf(['permanent', 'static', 'dynamic'])),
    sticky: optional(flag),
  },
  { hints: fdbHints },
);

/** An FDB entry as listFdb describes it (the fields of `bridge -json fdb show`). */
export interface FdbEntry {
  mac: string;
  /** The device (port) it is on. */
  dev: string;
  index: number;
  /** The bridge, for an entry of a bridge port. */
  master?: string;
  vlan?: number;
  dst?: string;
  port?: number;
  vni?: number;
  /** 'self', 'master', 'router', 'extern_learn', 'offload', 'sticky'. */
  flags: string[];
  /** 'permanent' (local), 'static', 'stale', or 'dynamic'. */
  state: string;
  netns?: string;
}

/** @internal the ndm_state bridge(8) sends for the entry's state. */
export function stateOf(spec: FdbEntrySpec): number {
  // As bridge(8): NOARP unless dynamic, plus PERMANENT or REACHABLE.
  if (spec.state === 'dynamic') return rt.NUD_REACHABLE;
  if (spec.state === 'static') return rt.NUD_NOARP | rt.NUD_REACHABLE;
  return rt.NUD_NOARP | rt.NUD_PERMANENT;
}

async function fdbMessage(conn: Connection, spec: FdbEntrySpec): Promise<Partial<NeighbourMessage>> {
  const index = await resolveIndex(conn, spec.dev, 'dev');
  let flags = (spec.self ? rt.NTF_SELF : 0) | (spec.master ? rt.NTF_MASTER : 0);
  if (flags === 0) flags = rt.NTF_SELF;
  if (spec.sticky) flags |= rt.NTF_STICKY;
  const m: Partial<NeighbourMessage> = { family: rt.AF_BRIDGE, index, state: stateOf(spec), flags, type: 0, lladdr: parseMac(spec.mac, 'mac') };
  if (spec.dst !== undefined) m.dst = parseAddress(spec.dst, 'dst').bytes;
  if (spec.vlan !== undefined) m.vlan = spec.vlan;
  if (spec.port !== undefined) m.port = spec.port;
  if (spec.vni !== undefined) m.vni = spec.vni;
  if (spec.via !== undefined) m.ifindex = await resolveIndex(conn, spec.via, 'via');
  return m;
}

async function sendFdb(type: number, flags: number, spec: FdbEntrySpec): Promise<void> {
  fdbEntrySpec.check(spec, '');
  await withConnection(spec.netns, async (conn) => {
    const m = await fdbMessage(conn, spec);
    await conn.request((w, seq) => encodeNeighbour(w, type, flags, seq, m), {
      operation: rt.rtmName(type),
      object: `${spec.mac} dev ${spec.dev}${spec.dst ? ` dst ${spec.dst}` : ''}`,
      inline: true,
    });
  });
}

/**
 * Appends an FDB entry (`bridge fdb append`): for a vxlan, another remote for the same MAC,
 * which is how the all-zeros flood entry lists every VTEP.
 *
 * @example
 * ```ts
 * await appendFdb({ mac: '00:00:00:00:00:00', dev: 'vxlan0', dst: '10.0.0.2' });
 * await appendFdb({ mac: '00:00:00:00:00:00', dev: 'vxlan0', dst: '10.0.0.3' });
 * ```
 */
export const appendFdb = (spec: FdbEntrySpec): Promise<void> => sendFdb(rt.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND, spec);

/**
 * Adds an FDB entry (`bridge fdb add`); EEXIST if the MAC has one.
 *
 * @example
 * ```ts
 * await addFdb({ mac: '02:00:00:00:00:aa', dev: 'veth0', master: true, state: 'static', vlan: 5 });
 * ```
 */
export const addFdb = (spec: FdbEntrySpec): Promise<void> => sendFdb(rt.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, spec);

/**
 * Adds or replaces an FDB entry (`bridge fdb replace`).
 *
 * @example
 * ```ts
 * await replaceFdb({ mac: '02:00:00:00:00:bb', dev: 'vxlan0', dst: '10.0.0.5' });
 * ```
 */
export const replaceFdb = (spec: FdbEntrySpec): Promise<void> => sendFdb(rt.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, spec);

/**
 * Deletes an FDB entry (`bridge fdb del`); for a vxlan with `dst`, only that remote.
 *
 * @example
 * ```ts
 * await deleteFdb({ mac: '00:00:00:00:00:00', dev: 'vxlan0', dst: '10.0.0.2' });
 * ```
 */
export const deleteFdb = (spec: FdbEntrySpec): Promise<void> => sendFdb(rt.RTM_DELNEIGH, 0, spec);

/** Options of listFdb(). */
export interface ListFdbOptions extends NetnsOption {
  /** Only the entries of this device (`bridge fdb show dev DEV`). */
  dev?: LinkRef;
  /** Only the entries of this bridge's ports (`bridge fdb show br BRIDGE`). */
  bridge?: LinkRef;
}

const listFdbOptions = object<ListFdbOptions>('listFdb options', { ...netnsShape, dev: optional(linkRef), bridge: optional(linkRef) }, { hints: { ...fdbHints, br: 'bridge' } });

const FLAG_NAMES: [number, string][] = [
  [rt.NTF_SELF, 'self'], [rt.NTF_ROUTER, 'router'], [rt.NTF_EXT_LEARNED, 'extern_learn'], [rt.NTF_OFFLOADED, 'offload'],
  [rt.NTF_MASTER, 'master'], [rt.NTF_STICKY, 'sticky'],
];

function stateName(state: number): string {
  if (state & rt.NUD_PERMANENT) return 'permanent';
  if (state & rt.NUD_NOARP) return 'static';
  if (state & rt.NUD_STALE) return 'stale';
  return 'dynamic';
}

/**
 * The FDB entries (`bridge fdb show`), of every bridge port and every device with a table.
 *
 * @example
 * ```ts
 * const flood = (await listFdb({ dev: 'vxlan0' })).filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst);
 * ```
 */
export async function listFdb(opts: ListFdbOptions = {}): Promise<FdbEntry[]> {
  listFdbOptions.check(opts, '');
  return withConnection(opts.netns, async (conn) => {
    const [links, entries] = await Promise.all([dumpLinkMessages(conn), dumpNeighbourMessages(conn, rt.AF_BRIDGE)]);
    const names = new Map(links.map((l) => [l.index, l.name ?? '']));
    const indexOf = (ref: LinkRef | undefined) => (ref === undefined ? undefined : typeof ref === 'number' ? ref : links.find((l) => l.name === ref)?.index ?? -1);
    const dev = indexOf(opts.dev);
    const bridge = indexOf(opts.bridge);
    if (bridge !== undefined && !links.some((l) => l.index === bridge && l.linkInfo?.kind === 'bridge')) {
      throw new ArgumentError('ERR_NOT_A_BRIDGE', 'bridge', `${String(opts.bridge)} is not a bridge here`);
    }
    // As `bridge fdb show br BR`: the bridge's table, and the own (self) entries of the bridge
    // and of its ports.
    const ports = new Set(links.filter((l) => bridge !== undefined && (l.master === bridge || l.index === bridge)).map((l) => l.index));
    return entries
      .filter((e) => (dev === undefined || e.index === dev) && (bridge === undefined || e.master === bridge || ports.has(e.index)))
      .map((e) => describeFdb(e, names, netnsLabel(opts.netns)));
  });
}

export function describeFdb(e: NeighbourMessage, names: Map<number, string>, netns?: string): FdbEntry {
  const out: FdbEntry = {
    mac: e.lladdr ? formatMac(e.lladdr) : '',
    dev: names.get(e.index) ?? `if${e.index}`,
    index: e.index,
    flags: FLAG_NAMES.filter(([bit]) => e.flags & bit).map(([, n]) => n),
    state: stateName(e.state),
  };
  if (e.master !== undefined) {
    const m = names.get(e.master);
    if (m !== undefined) out.master = m;
  }
  if (e.vlan !== undefined) out.vlan = e.vlan;
  if (e.dst) out.dst = formatAddress(e.dst);
  if (e.port !== undefined) out.port = e.port;
  if (e.vni !== undefined) out.vni = e.vni;
  if (netns !== undefined) out.netns = netns;
  return out;
}
