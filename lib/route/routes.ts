// Routes: add, replace, delete, list (`ip route`).
import type { Connection } from '../connection.js';
import { ArgumentError } from '../errors.js';
import { formatAddress, parseAddress, parsePrefix, type IpFamily } from '../ip.js';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/message.js';
import { decodeRoute, encodeRoute, type RouteMessage } from '../netlink/route.js';
import * as rt from '../netlink/rtnetlink.js';
import { netnsLabel, send, withConnection, type NetnsOption, type PreparedRequest } from '../target.js';
import { validateObject, validateU32 } from '../validate.js';
import { dumpLinkMessages, linkSelector, resolveIndex, type LinkRef } from './links.js';
import { scopeName } from './addresses.js';

const AF_INET = 2;
const AF_INET6 = 10;

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
}

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
  netns?: string;
}

const TYPES: Record<string, number> = { unicast: rt.RTN_UNICAST, local: rt.RTN_LOCAL, broadcast: rt.RTN_BROADCAST, blackhole: rt.RTN_BLACKHOLE, unreachable: rt.RTN_UNREACHABLE, prohibit: rt.RTN_PROHIBIT, multicast: rt.RTN_MULTICAST, anycast: rt.RTN_ANYCAST, throw: rt.RTN_THROW };
const PROTOCOLS: Record<number, string> = { 0: 'unspec', 1: 'redirect', 2: 'kernel', 3: 'boot', 4: 'static', 16: 'dhcp', 9: 'ra' };
const RTNH_F_ONLINK = 4;

interface Prepared {
  m: Partial<RouteMessage>;
  dev?: LinkRef;
  label: string;
}

function prepare(spec: RouteSpec): Prepared {
  validateObject(spec, 'route');
  if (typeof spec.to !== 'string') throw new ArgumentError('ERR_INVALID_ARG_TYPE', 'to', "must be 'default' or a prefix");
  const gw = spec.via !== undefined ? parseAddress(spec.via, 'via') : undefined;
  let family: IpFamily;
  let dst: Buffer | undefined;
  let dstLen = 0;
  if (spec.to === 'default') {
    family = gw?.family ?? spec.family ?? 4;
  } else {
    const p = parsePrefix(spec.to, 'to');
    family = p.family;
    dst = p.bytes;
    dstLen = p.prefixLen;
  }
  if (spec.family !== undefined && spec.family !== family) throw new ArgumentError('ERR_INVALID_ADDRESS', 'family', `route to ${spec.to} is IPv${family}`);
  if (gw && gw.family !== family) throw new ArgumentError('ERR_INVALID_ADDRESS', 'via', `gateway ${spec.via} is IPv${gw.family}, route is IPv${family}`);
  const table = spec.table === undefined ? rt.RT_TABLE_MAIN : validateU32(spec.table, 'table', 'ERR_INVALID_ROUTE_TABLE');
  if (spec.table !== undefined && table === 0) throw new ArgumentError('ERR_INVALID_ROUTE_TABLE', 'table', 'table 0 is unspecified');
  const type = TYPES[spec.type ?? 'unicast'];
  if (type === undefined) throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'type', `unknown route type '${spec.type}'`);
  if (spec.dev !== undefined) linkSelector(spec.dev, 'dev');
  const scopes: Record<string, number> = { global: rt.RT_SCOPE_UNIVERSE, link: rt.RT_SCOPE_LINK, host: rt.RT_SCOPE_HOST };
  let scope: number;
  if (spec.scope !== undefined) {
    const s = scopes[spec.scope];
    if (s === undefined) throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'scope', 'must be global, link or host');
    scope = s;
  } else {
    // As iproute2: a directly connected unicast route (no gateway) is scope link; local is host.
    scope = type === rt.RTN_LOCAL ? rt.RT_SCOPE_HOST : !gw && type === rt.RTN_UNICAST && family === 4 ? rt.RT_SCOPE_LINK : rt.RT_SCOPE_UNIVERSE;
  }
  const m: Partial<RouteMessage> = {
    family: family === 4 ? AF_INET : AF_INET6,
    dstLen,
    srcLen: 0,
    tos: 0,
    table: table < 256 ? table : rt.RT_TABLE_UNSPEC,
    protocol: spec.protocol === undefined ? rt.RTPROT_BOOT : validateU32(spec.protocol, 'protocol', 'ERR_INVALID_ARG_VALUE') & 0xff,
    scope,
    type,
    flags: spec.onlink ? RTNH_F_ONLINK : 0,
    tableId: table,
  };
  if (dst) m.dst = dst;
  if (gw) m.gateway = gw.bytes;
  if (spec.metric !== undefined) m.priority = validateU32(spec.metric, 'metric', 'ERR_INVALID_ARG_VALUE');
  if (spec.src !== undefined) {
    const src = parseAddress(spec.src, 'src');
    if (src.family !== family) throw new ArgumentError('ERR_INVALID_ADDRESS', 'src', `source ${spec.src} is IPv${src.family}, route is IPv${family}`);
    m.prefsrc = src.bytes;
  }
  const label = `${spec.to}${spec.via ? ` via ${spec.via}` : ''}${spec.dev !== undefined ? ` dev ${spec.dev}` : ''}`;
  return spec.dev !== undefined ? { m, dev: spec.dev, label } : { m, label };
}

/** @internal a route request; `oif` is the output link's index when `dev` is set. */
export function routeRequest(type: number, flags: number, spec: RouteSpec, oif?: number): PreparedRequest {
  const p = prepare(spec);
  const m = oif === undefined ? p.m : { ...p.m, oif };
  return { encode: (w, seq) => encodeRoute(w, type, flags, seq, m), opts: { operation: rt.rtmName(type), object: p.label, inline: true } };
}

async function sendRoute(type: number, flags: number, spec: RouteSpec): Promise<void> {
  const p = prepare(spec);
  await withConnection(spec.netns, async (conn) => {
    const oif = p.dev !== undefined ? await resolveIndex(conn, p.dev, 'dev') : undefined;
    await send(conn, routeRequest(type, flags, spec, oif));
  });
}

/** `ip route add`: EEXIST if the route exists. */
export const addRoute = (spec: RouteSpec): Promise<void> => sendRoute(rt.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, spec);
/** `ip route replace`: adds, or replaces the existing route to the same prefix. */
export const replaceRoute = (spec: RouteSpec): Promise<void> => sendRoute(rt.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, spec);
/** `ip route del`: ESRCH if there is no such route. */
export const deleteRoute = (spec: RouteSpec): Promise<void> => sendRoute(rt.RTM_DELROUTE, 0, spec);

export interface ListRoutesOptions extends NetnsOption {
  family?: IpFamily;
  /** A table id, or 'all'. Default: main, like `ip route`. */
  table?: number | 'all';
}

export async function dumpRouteMessages(conn: Connection, family = 0): Promise<RouteMessage[]> {
  const msgs = await conn.dump(
    (w, seq) => encodeRoute(w, rt.RTM_GETROUTE, 0, seq, { family, dstLen: 0, srcLen: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 }),
    { operation: 'RTM_GETROUTE' },
  );
  return msgs.filter((m) => m.type === rt.RTM_NEWROUTE).map(decodeRoute);
}

export async function listRoutes(opts: ListRoutesOptions = {}): Promise<RouteInfo[]> {
  const family = opts.family === undefined ? 0 : opts.family === 4 ? AF_INET : opts.family === 6 ? AF_INET6 : -1;
  if (family < 0) throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'family', 'must be 4 or 6');
  const table = opts.table ?? rt.RT_TABLE_MAIN;
  if (table !== 'all') validateU32(table, 'table', 'ERR_INVALID_ROUTE_TABLE');
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
  if (netns !== undefined) info.netns = netns;
  return info;
}
