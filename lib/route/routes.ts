// Routes: add, replace, delete, list (`ip route`).
import type { Connection } from '../connection.js';
import { ArgumentError, NetlinkError } from '../errors.js';
import { describeValue } from '../validate.js';
import { formatAddress, parseAddress, parsePrefix, type IpFamily } from '../ip.js';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/message.js';
import { decodeRoute, encodeRoute, type RouteMessage } from '../netlink/route.js';
import * as rt from '../netlink/rtnetlink.js';
import { netnsLabel, send, withConnection, type NetnsOption, type PreparedRequest } from '../target.js';
import { MAX_U32 } from '../validate.js';
import { flag, ipAddress, ipFamily, linkRef, netnsShape, u32 } from '../fields.js';
import { array, byType, custom, integer, object, oneOf, optional, fieldPath } from '../schema.js';
import { dumpLinkMessages, getLinkMessage, resolveIndex, type LinkRef } from './links.js';
import { scopeName } from './addresses.js';

const AF_INET = 2;
const AF_INET6 = 10;

/** One path of a multipath (ECMP) route: `nexthop via ADDR dev DEV weight N`. */
export interface NexthopSpec {
  /** Gateway address. */
  via?: string;
  /** Output device. */
  dev?: LinkRef;
  /** Share of the traffic relative to the other hops (1..256, default 1). */
  weight?: number;
  /** Gateway reachable on dev even if no prefix covers it. */
  onlink?: boolean;
}

/**
 * A route, as addRoute/replaceRoute/deleteRoute take it (`ip route add ...`).
 *
 * @example
 * ```ts
 * await addRoute({ to: '10.1.0.0/16', via: '192.168.0.60', dev: 'veth-pb', metric: 10, netns: 'pb' });
 * await addRoute({
 *   to: 'default',
 *   nexthops: [{ via: '192.168.0.60', weight: 2 }, { via: '192.168.0.61' }], // ECMP
 *   netns: 'pb',
 * });
 * ```
 */
export interface RouteSpec extends NetnsOption {
  /** 'default' or a prefix ('10.0.0.0/8'; a bare address is a host route). */
  to: string;
  /** Gateway address. */
  via?: string;
  /** Output device. */
  dev?: LinkRef;
  /** Routing table id (default main, 254). */
  table?: number;
  /** Route priority (`metric`). */
  metric?: number;
  /** Preferred source address. */
  src?: string;
  /** For 'default' without a gateway: the family (default 4). */
  family?: IpFamily;
  /** Gateway reachable on dev even if no prefix covers it. */
  onlink?: boolean;
  type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'local';
  protocol?: number;
  scope?: 'global' | 'link' | 'host';
  /** Multipath (ECMP): the paths, instead of `via`/`dev` (RTA_MULTIPATH). */
  nexthops?: NexthopSpec[];
  /** Path MTU for this route (`mtu`, RTAX_MTU). */
  mtu?: number;
  /** TCP MSS to advertise (`advmss`, RTAX_ADVMSS). */
  advmss?: number;
}

const ROUTE_TYPES = ['unicast', 'blackhole', 'unreachable', 'prohibit', 'local'] as const;

/** 'default' or a prefix. */
const routeDestination = custom<string>("'default' or a prefix", (v, path) => {
  if (v === 'default') return v;
  if (typeof v !== 'string') throw new ArgumentError('ERR_INVALID_ARG_TYPE', path, `must be 'default' or a prefix, received ${describeValue(v)}`);
  parsePrefix(v, path);
  return v;
});

const nexthopSpec = object<NexthopSpec>(
  'a nexthop',
  { via: optional(ipAddress), dev: optional(linkRef), weight: optional(integer(1, 256, 'ERR_INVALID_WEIGHT')), onlink: optional(flag) },
  { hints: { gateway: 'via', gw: 'via', oif: 'dev', device: 'dev', interface: 'dev', hops: 'weight' } },
);

export const routeShape = {
  to: routeDestination,
  via: optional(ipAddress),
  dev: optional(linkRef),
  table: optional(integer(1, MAX_U32, 'ERR_INVALID_ROUTE_TABLE')),
  metric: optional(u32),
  src: optional(ipAddress),
  family: optional(ipFamily),
  onlink: optional(flag),
  type: optional(oneOf(ROUTE_TYPES)),
  protocol: optional(integer(0, 255)),
  scope: optional(oneOf(['global', 'link', 'host'])),
  nexthops: optional(array(nexthopSpec, { min: 1, max: 256 })),
  mtu: optional(integer(1, MAX_U32, 'ERR_INVALID_MTU')),
  advmss: optional(integer(1, MAX_U32)),
};

/** Keys that other tools call by other names. */
export const routeHints = {
  gateway: 'via',
  gw: 'via',
  destination: 'to',
  dst: 'to',
  prefix: 'to',
  oif: 'dev',
  device: 'dev',
  interface: 'dev',
  priority: 'metric',
  prefsrc: 'src',
  source: 'src',
  proto: 'protocol',
  nexthop: 'nexthops',
  multipath: 'nexthops',
};

/** The address family a route's fields agree on; refuses a mix. */
export function routeFamily(spec: Omit<RouteSpec, 'netns'>, path = ''): IpFamily {
  const at = (k: string) => fieldPath(path, k);
  const hopVia = spec.nexthops?.find((h) => h.via !== undefined)?.via;
  const gw = spec.via !== undefined ? parseAddress(spec.via, at('via')).family : undefined;
  const hopGw = hopVia !== undefined && typeof hopVia === 'string' ? parseAddress(hopVia, at('nexthops')).family : undefined;
  const family = spec.to === 'default' ? gw ?? hopGw ?? spec.family ?? 4 : parsePrefix(spec.to, at('to')).family;
  if (spec.family !== undefined && spec.family !== family) throw new ArgumentError('ERR_INVALID_ADDRESS', at('family'), `route to ${spec.to} is IPv${family}`);
  if (gw !== undefined && gw !== family) throw new ArgumentError('ERR_INVALID_ADDRESS', at('via'), `gateway ${spec.via} is IPv${gw}, route is IPv${family}`);
  if (spec.src !== undefined) {
    const src = parseAddress(spec.src, at('src')).family;
    if (src !== family) throw new ArgumentError('ERR_INVALID_ADDRESS', at('src'), `source ${spec.src} is IPv${src}, route is IPv${family}`);
  }
  if (spec.nexthops !== undefined) {
    if (spec.via !== undefined || spec.dev !== undefined) {
      throw new ArgumentError('ERR_INVALID_ARG_VALUE', at(spec.via !== undefined ? 'via' : 'dev'), 'a multipath route gives via and dev per nexthop');
    }
    spec.nexthops.forEach((hop, i) => {
      const hopAt = `${at('nexthops')}[${i}]`;
      if (hop.via === undefined && hop.dev === undefined) throw new ArgumentError('ERR_INVALID_ARG_VALUE', hopAt, 'a nexthop needs via or dev');
      const hf = hop.via !== undefined ? parseAddress(hop.via, `${hopAt}.via`).family : family;
      if (hf !== family) throw new ArgumentError('ERR_INVALID_ADDRESS', `${hopAt}.via`, `gateway ${hop.via} is IPv${hf}, route is IPv${family}`);
    });
  }
  return family;
}

const routeSpec = object<RouteSpec>('a route', { ...netnsShape, ...routeShape }, { hints: routeHints, refine: (r, path) => void routeFamily(r, path) });

/** A route as listRoutes describes it. */
export interface RouteInfo {
  family: IpFamily;
  /** 'default' or 'a.b.c.d/len'. */
  to: string;
  via?: string;
  dev?: string;
  oif?: number;
  table: number;
  metric?: number;
  src?: string;
  protocol: string;
  scope: string;
  type: string;
  /** A multipath route's paths. */
  nexthops?: NexthopInfo[];
  /** RTAX_MTU, when set on the route. */
  mtu?: number;
  /** RTAX_ADVMSS, when set on the route. */
  advmss?: number;
  netns?: string;
}

/** One path of a multipath route as listRoutes describes it. */
export interface NexthopInfo {
  via?: string;
  dev?: string;
  oif?: number;
  weight: number;
  /** RTNH_F_* names: 'dead', 'onlink', 'linkdown', ... */
  flags: string[];
}

const TYPES: Record<string, number> = { unicast: rt.RTN_UNICAST, local: rt.RTN_LOCAL, broadcast: rt.RTN_BROADCAST, blackhole: rt.RTN_BLACKHOLE, unreachable: rt.RTN_UNREACHABLE, prohibit: rt.RTN_PROHIBIT, multicast: rt.RTN_MULTICAST, anycast: rt.RTN_ANYCAST, throw: rt.RTN_THROW };
const PROTOCOLS: Record<number, string> = { 0: 'unspec', 1: 'redirect', 2: 'kernel', 3: 'boot', 4: 'static', 16: 'dhcp', 9: 'ra' };
const RTNH_F_ONLINK = 4;

interface Prepared {
  m: Partial<RouteMessage>;
  dev?: LinkRef;
  label: string;
}

const RTNH_FLAG_NAMES: [number, string][] = [
  [rt.RTNH_F_DEAD, 'dead'], [rt.RTNH_F_PERVASIVE, 'pervasive'], [rt.RTNH_F_ONLINK, 'onlink'], [rt.RTNH_F_OFFLOAD, 'offload'],
  [rt.RTNH_F_LINKDOWN, 'linkdown'], [rt.RTNH_F_UNRESOLVED, 'unresolved'], [rt.RTNH_F_TRAP, 'trap'],
];

/** Checks a route spec (every field, and that its addresses share one family). */
export const checkRoute = (spec: RouteSpec, path = ''): RouteSpec => routeSpec.check(spec, path);

function prepare(spec: RouteSpec): Prepared {
  checkRoute(spec);
  const family = routeFamily(spec);
  const gw = spec.via !== undefined ? parseAddress(spec.via, 'via') : undefined;
  let dst: Buffer | undefined;
  let dstLen = 0;
  if (spec.to !== 'default') {
    const p = parsePrefix(spec.to, 'to');
    dst = p.bytes;
    dstLen = p.prefixLen;
  }
  const table = spec.table ?? rt.RT_TABLE_MAIN;
  const type = TYPES[spec.type ?? 'unicast']!;
  const scopes: Record<string, number> = { global: rt.RT_SCOPE_UNIVERSE, link: rt.RT_SCOPE_LINK, host: rt.RT_SCOPE_HOST };
  let scope: number;
  if (spec.scope !== undefined) {
    scope = scopes[spec.scope]!;
  } else {
    // As iproute2: a directly connected unicast route (no gateway) is scope link; local is host.
    const anyGateway = gw !== undefined || spec.nexthops?.some((h) => h.via !== undefined);
    scope = type === rt.RTN_LOCAL ? rt.RT_SCOPE_HOST : !anyGateway && type === rt.RTN_UNICAST && family === 4 ? rt.RT_SCOPE_LINK : rt.RT_SCOPE_UNIVERSE;
  }
  const m: Partial<RouteMessage> = {
    family: family === 4 ? AF_INET : AF_INET6,
    dstLen,
    srcLen: 0,
    tos: 0,
    table: table < 256 ? table : rt.RT_TABLE_UNSPEC,
    protocol: spec.protocol ?? rt.RTPROT_BOOT,
    scope,
    type,
    flags: spec.onlink ? RTNH_F_ONLINK : 0,
    tableId: table,
  };
  if (dst) m.dst = dst;
  if (gw) m.gateway = gw.bytes;
  if (spec.metric !== undefined) m.priority = spec.metric;
  if (spec.src !== undefined) m.prefsrc = parseAddress(spec.src, 'src').bytes;
  const metrics: RouteMessage['metrics'] = [];
  if (spec.mtu !== undefined) metrics.push({ type: rt.RTAX_MTU, value: spec.mtu });
  if (spec.advmss !== undefined) metrics.push({ type: rt.RTAX_ADVMSS, value: spec.advmss });
  if (metrics.length > 0) m.metrics = metrics;
  const label = `${spec.to}${spec.via ? ` via ${spec.via}` : ''}${spec.dev !== undefined ? ` dev ${spec.dev}` : ''}`;
  return spec.dev !== undefined ? { m, dev: spec.dev, label } : { m, label };
}

/** RTA_MULTIPATH hops; `hopIndexes[i]` is nexthop i's device index when it names one. */
function multipath(spec: RouteSpec, hopIndexes: readonly (number | undefined)[]): RouteMessage['multipath'] {
  return spec.nexthops?.map((hop, i) => {
    let ifindex = hopIndexes[i];
    if (ifindex === undefined && typeof hop.dev === 'number') ifindex = hop.dev;
    if (ifindex === undefined && hop.dev !== undefined) {
      throw new ArgumentError('ERR_INVALID_ARG_VALUE', `nexthops[${i}].dev`, `device ${String(hop.dev)} was not resolved to an index`);
    }
    const out: NonNullable<RouteMessage['multipath']>[number] = { flags: hop.onlink ? RTNH_F_ONLINK : 0, hops: (hop.weight ?? 1) - 1, ifindex: ifindex ?? 0 };
    if (hop.via !== undefined) out.gateway = parseAddress(hop.via, `nexthops[${i}].via`).bytes;
    return out;
  });
}

/** @internal a route request; `oif` is the output link's index when `dev` is set, and
 *  `hopIndexes` the nexthops' device indexes (for those that name a device by name). */
export function routeRequest(type: number, flags: number, spec: RouteSpec, oif?: number, hopIndexes: readonly (number | undefined)[] = []): PreparedRequest {
  return requestFrom(prepare(spec), type, flags, spec, oif, hopIndexes);
}

/** The request of a route already checked and parsed (prepare). */
function requestFrom(p: Prepared, type: number, flags: number, spec: RouteSpec, oif?: number, hopIndexes: readonly (number | undefined)[] = []): PreparedRequest {
  const m: Partial<RouteMessage> = oif === undefined ? { ...p.m } : { ...p.m, oif };
  const hops = multipath(spec, hopIndexes);
  if (hops) m.multipath = hops;
  return { encode: (w, seq) => encodeRoute(w, type, flags, seq, m), opts: { operation: rt.rtmName(type), object: p.label, inline: true } };
}

async function sendRoute(type: number, flags: number, spec: RouteSpec): Promise<void> {
  const p = prepare(spec);
  await withConnection(spec.netns, async (conn) => {
    const oif = p.dev !== undefined ? await resolveIndex(conn, p.dev, 'dev') : undefined;
    const hops = await Promise.all((spec.nexthops ?? []).map((h, i) => (h.dev === undefined ? undefined : resolveIndex(conn, h.dev, `nexthops[${i}].dev`))));
    await send(conn, requestFrom(p, type, flags, spec, oif, hops));
  });
}

/**
 * `ip route add`: EEXIST if the route exists.
 *
 * @example
 * ```ts
 * await addRoute({ to: 'default', via: '192.168.0.60', netns: 'pb' }); // ip -n pb route add default via 192.168.0.60
 * await addRoute({ to: '10.1.0.0/16', dev: 'brd1', metric: 100 });
 * ```
 */
export const addRoute = (spec: RouteSpec): Promise<void> => sendRoute(rt.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, spec);
/**
 * `ip route replace`: adds, or replaces the existing route to the same prefix.
 *
 * @example
 * ```ts
 * await replaceRoute({ to: 'default', via: '192.168.0.60', netns: 'pb' });
 * ```
 */
export const replaceRoute = (spec: RouteSpec): Promise<void> => sendRoute(rt.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, spec);
/**
 * `ip route del`: ESRCH if there is no such route.
 *
 * @example
 * ```ts
 * await deleteRoute({ to: 'default', netns: 'pb' });
 * ```
 */
export const deleteRoute = (spec: RouteSpec): Promise<void> => sendRoute(rt.RTM_DELROUTE, 0, spec);

/** Options of listRoutes(). */
/** Options of listRoutes(). */
export interface ListRoutesOptions extends NetnsOption {
  /** Only IPv4 or IPv6 routes (default both). */
  family?: IpFamily;
  /** A table id, or 'all'. Default: main, like `ip route`. */
  table?: number | 'all';
}

const listRoutesOptions = object<ListRoutesOptions>('listRoutes options', {
  ...netnsShape,
  family: optional(ipFamily),
  table: optional(byType({ number: integer(1, MAX_U32, 'ERR_INVALID_ROUTE_TABLE'), string: oneOf(['all']) })),
});

export async function dumpRouteMessages(conn: Connection, family = 0): Promise<RouteMessage[]> {
  const msgs = await conn.dump(
    (w, seq) => encodeRoute(w, rt.RTM_GETROUTE, 0, seq, { family, dstLen: 0, srcLen: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 }),
    { operation: 'RTM_GETROUTE' },
  );
  return msgs.filter((m) => m.type === rt.RTM_NEWROUTE).map(decodeRoute);
}

/**
 * The routes of one table, or of all (`ip route show [table all]`).
 *
 * @example
 * ```ts
 * const defaults = (await listRoutes({ netns: 'pb', family: 4 })).filter((r) => r.to === 'default');
 * ```
 */
export async function listRoutes(opts: ListRoutesOptions = {}): Promise<RouteInfo[]> {
  listRoutesOptions.check(opts, '');
  const family = opts.family === undefined ? 0 : opts.family === 4 ? AF_INET : AF_INET6;
  const table = opts.table ?? rt.RT_TABLE_MAIN;
  return withConnection(opts.netns, async (conn) => {
    const [links, routes] = await Promise.all([dumpLinkMessages(conn), dumpRouteMessages(conn, family)]);
    const names = new Map(links.map((l) => [l.index, l.name ?? '']));
    return routes
      .map((r) => describeRoute(r, names, netnsLabel(opts.netns)))
      .filter((r) => table === 'all' || r.table === table);
  });
}

export function describeRoute(r: RouteMessage, names: Map<number, string>, netns?: string): RouteInfo {
  const family: IpFamily = r.family === AF_INET6 ? 6 : 4;
  const info: RouteInfo = {
    family,
    to: r.dst && r.dstLen > 0 ? `${formatAddress(r.dst)}/${r.dstLen}` : r.dstLen === 0 ? 'default' : `${formatAddress(r.dst ?? Buffer.alloc(family === 4 ? 4 : 16))}/${r.dstLen}`,
    table: r.tableId ?? r.table,
    protocol: PROTOCOLS[r.protocol] ?? String(r.protocol),
    scope: scopeName(r.scope),
    type: Object.keys(TYPES).find((k) => TYPES[k] === r.type) ?? String(r.type),
  };
  if (r.gateway) info.via = formatAddress(r.gateway);
  if (r.oif !== undefined) {
    info.oif = r.oif;
    const dev = names.get(r.oif);
    if (dev !== undefined) info.dev = dev;
  }
  if (r.priority !== undefined) info.metric = r.priority;
  if (r.prefsrc) info.src = formatAddress(r.prefsrc);
  if (r.multipath) {
    info.nexthops = r.multipath.map((h) => {
      const hop: NexthopInfo = { weight: h.hops + 1, flags: RTNH_FLAG_NAMES.filter(([bit]) => h.flags & bit).map(([, n]) => n) };
      if (h.gateway) hop.via = formatAddress(h.gateway);
      if (h.ifindex > 0) {
        hop.oif = h.ifindex;
        const dev = names.get(h.ifindex);
        if (dev !== undefined) hop.dev = dev;
      }
      return hop;
    });
  }
  for (const metric of r.metrics ?? []) {
    if (metric.type === rt.RTAX_MTU && typeof metric.value === 'number') info.mtu = metric.value;
    if (metric.type === rt.RTAX_ADVMSS && typeof metric.value === 'number') info.advmss = metric.value;
  }
  if (netns !== undefined) info.netns = netns;
  return info;
}

/** Options of getRoute(): what `ip route get ADDR from SRC oif DEV iif DEV mark MARK` adds. */
export interface GetRouteOptions extends NetnsOption {
  /** The source address of the packet. */
  from?: string;
  /** Force this output device. */
  oif?: LinkRef;
  /** Pretend the packet came in on this device (then `from` is needed for a forwarding decision). */
  iif?: LinkRef;
  /** Firewall mark of the packet (policy rules with fwmark see it). */
  mark?: number;
}

const getRouteOptions = object<GetRouteOptions>(
  'getRoute options',
  { ...netnsShape, from: optional(ipAddress), oif: optional(linkRef), iif: optional(linkRef), mark: optional(u32) },
  { hints: { src: 'from', source: 'from', dev: 'oif', fwmark: 'mark', ns: 'netns' } },
);

/** The kernel's answer to a route lookup (the fields of `ip -json route get`). */
export interface RouteLookup {
  family: IpFamily;
  /** The address looked up. */
  to: string;
  /** 'unicast', 'local', 'blackhole', 'unreachable', 'prohibit', 'broadcast', ... */
  type: string;
  /** The table the answer came from. */
  table: number;
  dev?: string;
  oif?: number;
  via?: string;
  /** The source address the kernel would pick (prefsrc). */
  src?: string;
  /** The source given in the lookup. */
  from?: string;
  iif?: string;
  mark?: number;
  netns?: string;
}

/**
 * Asks the kernel which route a packet to `destination` takes (`ip route get`): one
 * RTM_GETROUTE, answered with the resolved route. A destination with no route rejects with
 * ENETUNREACH; an unreachable/prohibit route rejects with its error, as with ip.
 *
 * @example
 * ```ts
 * const r = await getRoute('10.0.0.7', { from: '10.0.0.1', mark: 7 });
 * // { family: 4, to: '10.0.0.7', type: 'unicast', table: 254, dev: 'eth0', oif: 2, src: '10.0.0.1', from: '10.0.0.1', mark: 7 }
 * ```
 */
export async function getRoute(destination: string, opts: GetRouteOptions = {}): Promise<RouteLookup> {
  const dst = parseAddress(destination, 'destination');
  getRouteOptions.check(opts, '');
  const src = opts.from !== undefined ? parseAddress(opts.from, 'from') : undefined;
  if (src && src.family !== dst.family) throw new ArgumentError('ERR_INVALID_ADDRESS', 'from', `source ${opts.from} is IPv${src.family}, destination is IPv${dst.family}`);
  const bits = dst.family === 4 ? 32 : 128;
  return withConnection(opts.netns, async (conn) => {
    const m: Partial<RouteMessage> = {
      family: dst.family === 4 ? AF_INET : AF_INET6,
      dstLen: bits,
      srcLen: src ? bits : 0,
      // As ip: the table the answer came from (IPv4; IPv6 takes no flags but RTM_F_FIB_MATCH).
      flags: dst.family === 4 ? rt.RTM_F_LOOKUP_TABLE : 0,
      dst: dst.bytes,
    };
    if (src) m.src = src.bytes;
    if (opts.iif !== undefined) m.iif = await resolveIndex(conn, opts.iif, 'iif');
    if (opts.oif !== undefined) m.oif = await resolveIndex(conn, opts.oif, 'oif');
    if (opts.mark !== undefined) m.mark = opts.mark;
    const reply = await conn.request((w, seq) => encodeRoute(w, rt.RTM_GETROUTE, 0, seq, m), { operation: 'RTM_GETROUTE', object: destination, inline: true });
    const msg = reply.messages.find((x) => x.type === rt.RTM_NEWROUTE);
    if (!msg) throw new NetlinkError({ errno: -61, syscall: 'recvmsg', operation: 'RTM_GETROUTE', object: destination });
    const r = decodeRoute(msg);
    // The names of the (at most two) links the answer gives, not a dump of every link.
    const nameOf = (index: number | undefined) => (index === undefined ? undefined : getLinkMessage(conn, index).then((l) => l.name, () => undefined));
    const [oifName, iifName] = await Promise.all([nameOf(r.oif), nameOf(r.iif)]);
    const out: RouteLookup = {
      family: dst.family,
      to: r.dst ? formatAddress(r.dst) : destination,
      type: Object.keys(TYPES).find((k) => TYPES[k] === r.type) ?? String(r.type),
      table: r.tableId ?? r.table,
    };
    if (r.oif !== undefined) {
      out.oif = r.oif;
      if (oifName !== undefined) out.dev = oifName;
    }
    if (r.gateway) out.via = formatAddress(r.gateway);
    if (r.prefsrc) out.src = formatAddress(r.prefsrc);
    if (r.src) out.from = formatAddress(r.src);
    if (r.iif !== undefined) out.iif = iifName ?? `if${r.iif}`;
    if (r.mark !== undefined) out.mark = r.mark;
    const label = netnsLabel(opts.netns);
    if (label !== undefined) out.netns = label;
    return out;
  });
}
