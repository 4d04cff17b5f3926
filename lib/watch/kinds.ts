// What the watch follows, kind by kind: the multicast groups to join, the dump that lists a
// namespace's objects, how a message becomes a described object and its key, and the state a
// namespace is in (what the consumer was told). A dump is applied exactly like a stream of
// RTM_NEW* notifications into an empty state, so listing and watching share one code path.
//
import type { Connection, Encoder } from '../connection.js';
import { AttrReader, DecodeError, NLA_HDRLEN, NLA_TYPE_MASK, align4, readI32, readString, readU32, readU8 } from '../netlink/attributes.js';
import { IFADDRMSG_LEN, encodeAddress, type AddressMessage } from '../netlink/address.js';
import { IFINFOMSG_LEN, decodeLinkInfo, encodeLink, readAltNames, type LinkMessage } from '../netlink/link.js';
import { NLM_F_REPLACE, type NetlinkMessage } from '../netlink/message.js';
import { RTMSG_LEN, encodeRoute, readHops, readMetrics, type RouteMessage } from '../netlink/route.js';
import * as rt from '../netlink/rtnetlink.js';
import { writeMessage } from '../netlink/message.js';
import { describeAddress, type AddressInfo } from '../route/addresses.js';
import { describeLink, type LinkInfo } from '../route/links.js';
import { describeRoute, type RouteInfo } from '../route/routes.js';
import { decodeNeighbour } from '../netlink/neighbour.js';
import { decodeRule } from '../netlink/rule.js';
import { describeNeighbour, type NeighbourInfo } from '../route/neighbours.js';
import { describeRule, type RuleInfo } from '../route/rules.js';

const AF_INET = 2;
const AF_INET6 = 10;

/** The kinds of object a watch follows. */
export type WatchKind = 'link' | 'address' | 'route' | 'neighbour' | 'rule';

/** The object each kind's events carry. */
export interface WatchObjects {
  link: LinkInfo;
  address: AddressInfo;
  route: RouteInfo;
  neighbour: NeighbourInfo;
  rule: RuleInfo;
}

/** In the order dependents follow what they depend on: links before their addresses. */
export const KINDS: readonly WatchKind[] = ['link', 'address', 'route', 'neighbour', 'rule'];

export const GROUPS: Record<WatchKind, number[]> = {
  link: [rt.RTNLGRP_LINK],
  address: [rt.RTNLGRP_IPV4_IFADDR, rt.RTNLGRP_IPV6_IFADDR],
  route: [rt.RTNLGRP_IPV4_ROUTE, rt.RTNLGRP_IPV6_ROUTE],
  neighbour: [rt.RTNLGRP_NEIGH],
  rule: [rt.RTNLGRP_IPV4_RULE, rt.RTNLGRP_IPV6_RULE],
};

const zeros = (n: number) => (w: Parameters<Encoder>[0], seq: number, type: number) => writeMessage(w, type, 0, seq, (b) => b.zeros(n));

/** Each kind's dump request (every family, every table). */
const DUMPS: Record<WatchKind, { operation: string; newType: number; encode: Encoder }> = {
  link: { operation: 'RTM_GETLINK', newType: rt.RTM_NEWLINK, encode: (w, seq) => encodeLink(w, rt.RTM_GETLINK, 0, seq, { family: 0, index: 0, flags: 0, change: 0 }) },
  address: { operation: 'RTM_GETADDR', newType: rt.RTM_NEWADDR, encode: (w, seq) => encodeAddress(w, rt.RTM_GETADDR, 0, seq, { family: 0, prefixlen: 0, flags: 0, scope: 0, index: 0 }) },
  route: {
    operation: 'RTM_GETROUTE',
    newType: rt.RTM_NEWROUTE,
    encode: (w, seq) => encodeRoute(w, rt.RTM_GETROUTE, 0, seq, { family: 0, dstLen: 0, srcLen: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 }),
  },
  neighbour: { operation: 'RTM_GETNEIGH', newType: rt.RTM_NEWNEIGH, encode: (w, seq) => zeros(12)(w, seq, rt.RTM_GETNEIGH) },
  rule: { operation: 'RTM_GETRULE', newType: rt.RTM_NEWRULE, encode: (w, seq) => zeros(12)(w, seq, rt.RTM_GETRULE) },
};

/** The messages of one kind's dump (RTM_NEW* only). DumpInterruptedError is the caller's. */
export async function dumpKind(conn: Connection, kind: WatchKind): Promise<NetlinkMessage[]> {
  const d = DUMPS[kind];
  const msgs = await conn.dump(d.encode, { operation: d.operation });
  return msgs.filter((m) => m.type === d.newType);
}

/** What identifies an object within its namespace: events about the same object share it. */
export function objectKey<K extends WatchKind>(kind: K, o: WatchObjects[K]): string {
  switch (kind) {
    case 'link':
      return String((o as LinkInfo).index);
    case 'address': {
      const a = o as AddressInfo;
      return `${a.index}|${a.family}|${a.cidr}${a.peer !== undefined ? `|${a.peer}` : ''}`;
    }
    case 'route': {
      const r = o as RouteInfo;
      return `${routeReplaceKey(r)}|${r.type}|${r.oif ?? ''}|${r.via ?? ''}`;
    }
    case 'neighbour': {
      const n = o as NeighbourInfo;
      return `${n.index}|${n.family}|${n.address}`;
    }
    default: {
      const { netns: _netns, ...rest } = o as RuleInfo;
      return JSON.stringify(rest);
    }
  }
}

/**
 * What describeLink() shows of a link message, read straight from it. A link notification
 * carries the whole device (statistics, per-family settings: some 40 attributes), and the full
 * decoder (decodeLink, which keeps every attribute for re-encoding) cost most of a busy watch's
 * time; this reads the dozen attributes describeLink uses and nothing else.
 */
/**
 * Calls `fn` for each attribute of `p` (from `start`) whose type is in `wanted`, walking the
 * others by hand: the full decoders keep every attribute (a Buffer and an object each, for
 * re-encoding), and for the notifications of a busy watch that was most of its time and
 * garbage. The lean readers below take exactly what the describe functions show.
 */
function eachWanted(p: Buffer, start: number, wanted: ReadonlySet<number>, fn: (type: number, data: Buffer) => void): void {
  for (let off = start; off + NLA_HDRLEN <= p.length; ) {
    const len = p.readUInt16LE(off);
    if (len < NLA_HDRLEN || off + len > p.length) throw new DecodeError(`attribute at offset ${off} has length ${len}, ${p.length - off} bytes left`);
    const type = p.readUInt16LE(off + 2) & NLA_TYPE_MASK;
    if (wanted.has(type)) fn(type, p.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
}

// Not IFLA_STATS64: counters change without notifications, so a watched link carries none
// (getLinkStats() reads them).
const LINK_WANTED = new Set([
  rt.IFLA_IFNAME, rt.IFLA_MTU, rt.IFLA_ADDRESS, rt.IFLA_BROADCAST, rt.IFLA_MASTER, rt.IFLA_OPERSTATE, rt.IFLA_GROUP, rt.IFLA_TXQLEN,
  rt.IFLA_LINK, rt.IFLA_LINK_NETNSID, rt.IFLA_LINKINFO, rt.IFLA_PROMISCUITY, rt.IFLA_QDISC, rt.IFLA_IFALIAS, rt.IFLA_PROP_LIST,
]);

export function linkFacts(msg: NetlinkMessage): LinkMessage {
  if (msg.type < rt.RTM_NEWLINK || msg.type > rt.RTM_SETLINK) throw new DecodeError(`expected a link message, got ${rt.rtmName(msg.type)}`);
  const p = msg.payload;
  if (p.length < IFINFOMSG_LEN) throw new DecodeError(`ifinfomsg of ${p.length} bytes, need ${IFINFOMSG_LEN}`);
  const m: LinkMessage = { family: p.readUInt8(0), type: p.readUInt16LE(2), index: p.readInt32LE(4), flags: p.readUInt32LE(8), change: p.readUInt32LE(12), unknown: [] };
  eachWanted(p, IFINFOMSG_LEN, LINK_WANTED, (type, data) => {
    switch (type) {
      case rt.IFLA_IFNAME: m.name = readString(data); break;
      case rt.IFLA_MTU: m.mtu = readU32(data); break;
      case rt.IFLA_ADDRESS: m.address = data; break;
      case rt.IFLA_BROADCAST: m.broadcast = data; break;
      case rt.IFLA_MASTER: m.master = readU32(data); break;
      case rt.IFLA_OPERSTATE: m.operstate = readU8(data); break;
      case rt.IFLA_GROUP: m.group = readU32(data); break;
      case rt.IFLA_TXQLEN: m.txqlen = readU32(data); break;
      case rt.IFLA_LINK: m.link = readU32(data); break;
      case rt.IFLA_LINK_NETNSID: m.linkNetnsId = readI32(data); break;
      case rt.IFLA_LINKINFO: m.linkInfo = decodeLinkInfo(data); break;
      case rt.IFLA_PROMISCUITY: m.promiscuity = readU32(data); break;
      case rt.IFLA_QDISC: m.qdisc = readString(data); break;
      case rt.IFLA_IFALIAS: m.alias = readString(data); break;
      case rt.IFLA_PROP_LIST: readAltNames(m, data); break;
    }
  });
  return m;
}

const ROUTE_WANTED = new Set([rt.RTA_DST, rt.RTA_GATEWAY, rt.RTA_OIF, rt.RTA_PRIORITY, rt.RTA_PREFSRC, rt.RTA_TABLE, rt.RTA_MULTIPATH, rt.RTA_METRICS]);

/** What describeRoute() shows of a route message (see eachWanted). */
export function routeFacts(msg: NetlinkMessage): RouteMessage {
  const p = msg.payload;
  if (p.length < RTMSG_LEN) throw new DecodeError(`rtmsg of ${p.length} bytes, need ${RTMSG_LEN}`);
  const m: RouteMessage = {
    family: p.readUInt8(0), dstLen: p.readUInt8(1), srcLen: p.readUInt8(2), tos: p.readUInt8(3), table: p.readUInt8(4),
    protocol: p.readUInt8(5), scope: p.readUInt8(6), type: p.readUInt8(7), flags: p.readUInt32LE(8), unknown: [],
  };
  eachWanted(p, RTMSG_LEN, ROUTE_WANTED, (type, data) => {
    switch (type) {
      case rt.RTA_DST: m.dst = data; break;
      case rt.RTA_GATEWAY: m.gateway = data; break;
      case rt.RTA_OIF: m.oif = readU32(data); break;
      case rt.RTA_PRIORITY: m.priority = readU32(data); break;
      case rt.RTA_PREFSRC: m.prefsrc = data; break;
      case rt.RTA_TABLE: m.tableId = readU32(data); break;
      case rt.RTA_MULTIPATH: m.multipath = readHops(data); break;
      case rt.RTA_METRICS: m.metrics = readMetrics(data); break;
    }
  });
  return m;
}

const ADDRESS_WANTED = new Set([rt.IFA_ADDRESS, rt.IFA_LOCAL, rt.IFA_BROADCAST, rt.IFA_LABEL, rt.IFA_FLAGS]);

/** What describeAddress() shows of an address message (see eachWanted). */
export function addressFacts(msg: NetlinkMessage): AddressMessage {
  const p = msg.payload;
  if (p.length < IFADDRMSG_LEN) throw new DecodeError(`ifaddrmsg of ${p.length} bytes, need ${IFADDRMSG_LEN}`);
  const m: AddressMessage = { family: p.readUInt8(0), prefixlen: p.readUInt8(1), flags: p.readUInt8(2), scope: p.readUInt8(3), index: p.readUInt32LE(4), unknown: [] };
  eachWanted(p, IFADDRMSG_LEN, ADDRESS_WANTED, (type, data) => {
    switch (type) {
      case rt.IFA_ADDRESS: m.address = data; break;
      case rt.IFA_LOCAL: m.local = data; break;
      case rt.IFA_BROADCAST: m.broadcast = data; break;
      case rt.IFA_LABEL: m.label = readString(data); break;
      case rt.IFA_FLAGS: m.extFlags = readU32(data); break;
    }
  });
  return m;
}

/** The routes one RTM_NEWROUTE with NLM_F_REPLACE replaces (its device may differ). */
function routeReplaceKey(r: RouteInfo): string {
  return `${r.family}|${r.table}|${r.to}|${r.metric ?? ''}`;
}

export type Emit = <K extends WatchKind>(type: 'added' | 'changed' | 'removed', kind: K, key: string, object: WatchObjects[K]) => void;

/** One namespace's objects, and its link names (for describing addresses and routes). */
export class SpaceState {
  readonly objects: { [K in WatchKind]: Map<string, WatchObjects[K]> } = {
    link: new Map(),
    address: new Map(),
    route: new Map(),
    neighbour: new Map(),
    rule: new Map(),
  };
  readonly names = new Map<number, string>();

  constructor(readonly label: string | undefined) {}

  get size(): number {
    let n = 0;
    for (const k of KINDS) n += this.objects[k].size;
    return n;
  }

  /** Builds the state from dumps: links first, so every name is known before anything that
   *  names a link (or a master) is described. */
  static fromDumps(label: string | undefined, dumps: Partial<Record<WatchKind, NetlinkMessage[]>>): SpaceState {
    const s = new SpaceState(label);
    const links = (dumps.link ?? []).map(linkFacts).filter((l) => l.family === 0);
    for (const l of links) s.names.set(l.index, l.name ?? `if${l.index}`);
    for (const l of links) s.objects.link.set(String(l.index), describeLink(l, s.names, label));
    for (const kind of KINDS) if (kind !== 'link') for (const m of dumps[kind] ?? []) s.apply(m);
    return s;
  }

  /** Applies one notification; `emit` (when given) hears of every change it makes. */
  apply(m: NetlinkMessage, emit?: Emit): void {
    switch (m.type) {
      case rt.RTM_NEWLINK:
      case rt.RTM_DELLINK:
        return this.applyLink(m, emit);
      case rt.RTM_NEWADDR:
      case rt.RTM_DELADDR: {
        const a = addressFacts(m);
        if (a.family !== AF_INET && a.family !== AF_INET6) return;
        const info = describeAddress(a, this.linkName(a.index), this.label);
        return this.put('address', info, m.type === rt.RTM_NEWADDR, emit);
      }
      case rt.RTM_NEWROUTE:
      case rt.RTM_DELROUTE: {
        const r = routeFacts(m);
        if ((r.family !== AF_INET && r.family !== AF_INET6) || r.flags & rt.RTM_F_CLONED) return;
        const info = describeRoute(r, this.names, this.label);
        if (m.type === rt.RTM_NEWROUTE && m.flags & NLM_F_REPLACE) {
          const replaced = routeReplaceKey(info);
          this.removeWhere('route', (x) => routeReplaceKey(x) === replaced, emit);
        }
        return this.put('route', info, m.type === rt.RTM_NEWROUTE, emit);
      }
      case rt.RTM_NEWNEIGH:
      case rt.RTM_DELNEIGH: {
        const n = decodeNeighbour(m);
        // Bridge FDB entries travel on the same group: only ARP and NDP entries are followed.
        if ((n.family !== rt.AF_INET && n.family !== rt.AF_INET6) || !n.dst) return;
        return this.put('neighbour', describeNeighbour(n, this.names, this.label), m.type === rt.RTM_NEWNEIGH, emit);
      }
      case rt.RTM_NEWRULE:
      case rt.RTM_DELRULE: {
        const r = decodeRule(m);
        // IPv4 and IPv6 rules only (a dump of every family also lists the multicast routing ones).
        if (r.family !== rt.AF_INET && r.family !== rt.AF_INET6) return;
        return this.put('rule', describeRule(r, this.label), m.type === rt.RTM_NEWRULE, emit);
      }
    }
  }

  private linkName(index: number): string {
    return this.names.get(index) ?? `if${index}`;
  }

  private applyLink(m: NetlinkMessage, emit?: Emit): void {
    const l = linkFacts(m);
    // Bridge port notifications (AF_BRIDGE) share the group: they are not links of their own.
    if (l.family !== 0) return;
    const key = String(l.index);
    const before = this.objects.link.get(key);
    if (m.type === rt.RTM_DELLINK) {
      if (!before) return;
      this.names.delete(l.index);
      // The kernel flushes the IPv4 routes through a removed link without telling anyone
      // (its addresses, neighbours and IPv6 routes are announced as they go).
      this.removeWhere('route', (r) => r.oif === l.index, emit);
      this.removeWhere('address', (a) => a.index === l.index, emit);
      this.removeWhere('neighbour', (n) => n.index === l.index, emit);
      this.objects.link.delete(key);
      emit?.('removed', 'link', key, before);
      return;
    }
    const name = l.name ?? `if${l.index}`;
    const renamed = before !== undefined && before.name !== name;
    this.names.set(l.index, name);
    const info = describeLink(l, this.names, this.label);
    this.put('link', info, true, emit);
    if (renamed) this.renamed(l.index, name, emit);
    // Taking a link down flushes its IPv4 routes, again silently; the local routes of its
    // addresses stay (as the kernel keeps them).
    if (before?.up && !info.up) this.removeWhere('route', (r) => r.family === 4 && r.oif === l.index && r.type !== 'local', emit);
  }

  /** A link's new name in everything that shows it. */
  private renamed(index: number, name: string, emit?: Emit): void {
    for (const [key, l] of this.objects.link) if (l.masterIndex === index) this.replace('link', key, { ...l, master: name }, emit);
    for (const [key, a] of this.objects.address) if (a.index === index) this.replace('address', key, { ...a, link: name }, emit);
    for (const [key, r] of this.objects.route) if (r.oif === index) this.replace('route', key, { ...r, dev: name }, emit);
    for (const [key, n] of this.objects.neighbour) if (n.index === index) this.replace('neighbour', key, { ...n, dev: name }, emit);
  }

  private replace<K extends WatchKind>(kind: K, key: string, o: WatchObjects[K], emit?: Emit): void {
    (this.objects[kind] as Map<string, WatchObjects[K]>).set(key, o);
    emit?.('changed', kind, key, o);
  }

  private put<K extends WatchKind>(kind: K, o: WatchObjects[K], present: boolean, emit?: Emit): void {
    const map = this.objects[kind] as Map<string, WatchObjects[K]>;
    const key = objectKey(kind, o);
    const before = map.get(key);
    if (!present) {
      if (before === undefined) return;
      map.delete(key);
      emit?.('removed', kind, key, before);
      return;
    }
    if (before !== undefined && same(before, o)) return;
    map.set(key, o);
    emit?.(before === undefined ? 'added' : 'changed', kind, key, o);
  }

  private removeWhere<K extends WatchKind>(kind: K, match: (o: WatchObjects[K]) => boolean, emit?: Emit): void {
    const map = this.objects[kind] as Map<string, WatchObjects[K]>;
    for (const [key, o] of map) {
      if (!match(o)) continue;
      map.delete(key);
      emit?.('removed', kind, key, o);
    }
  }

  /** Reports, through `emit`, what turns `this` into `next`: removals first (dependents
   *  before what they depend on), then additions and changes (links first). */
  static diff(from: SpaceState, next: SpaceState, emit: Emit): void {
    for (const kind of [...KINDS].reverse()) {
      const now = next.objects[kind] as Map<string, WatchObjects[WatchKind]>;
      for (const [key, o] of from.objects[kind] as Map<string, WatchObjects[WatchKind]>) if (!now.has(key)) emit('removed', kind, key, o);
    }
    for (const kind of KINDS) {
      const before = from.objects[kind] as Map<string, WatchObjects[WatchKind]>;
      for (const [key, o] of next.objects[kind] as Map<string, WatchObjects[WatchKind]>) {
        const b = before.get(key);
        if (b === undefined) emit('added', kind, key, o);
        else if (!same(b, o)) emit('changed', kind, key, o);
      }
    }
  }
}

/** Described objects are plain JSON data (strings, numbers, booleans, arrays, objects):
 *  equal when every field is, whatever the order of their keys. */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
