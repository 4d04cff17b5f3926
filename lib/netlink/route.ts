// Route messages (RTM_NEWROUTE/DELROUTE/GETROUTE): struct rtmsg, then RTA_* attributes.
// rtm_table is 8 bits; tables above 255 are given in RTA_TABLE (tableId), which the kernel
// always reports. Re-encoding follows `layout` as described in link.ts.
import {
  type Attr,
  AttrWriter,
  ByteWriter,
  DecodeError,
  type FieldTable,
  align4,
  readAttrs,
  readString,
  scalar,
  tableRead,
  tableWriters,
  writeAttrs,
  writeNest,
} from './attributes.js';
import { type NetlinkMessage, writeMessage } from './message.js';
import {
  RTAX_CC_ALGO,
  RTA_DST,
  RTA_GATEWAY,
  RTA_IIF,
  RTA_MARK,
  RTA_UID,
  RTA_METRICS,
  RTA_MULTIPATH,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_SRC,
  RTA_TABLE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  rtmName,
} from './rtnetlink.js';

/** sizeof(struct rtmsg). */
export const RTMSG_LEN = 12;
/** sizeof(struct rtnexthop). */
const RTNH_LEN = 8;

/** One RTAX_* metric: a u32, RTAX_CC_ALGO's name, or raw bytes for anything else. */
export interface RouteMetric {
  type: number;
  value: number | string | Buffer;
}

/** One hop of RTA_MULTIPATH: struct rtnexthop, then its own RTA_* attributes. */
export interface RouteNexthop {
  /** RTNH_F_*. */
  flags: number;
  /** Weight - 1. */
  hops: number;
  ifindex: number;
  gateway?: Buffer;
  unknown?: Attr[];
  /** The attributes as received, for byte-exact re-encoding (see writeAttrs). */
  layout?: readonly Attr[];
}

export interface RouteMessage {
  /** AF_INET or AF_INET6. */
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  /** RT_TABLE_* (8 bits; see tableId). */
  table: number;
  /** RTPROT_*. */
  protocol: number;
  /** RT_SCOPE_*. */
  scope: number;
  /** RTN_*. */
  type: number;
  /** RTM_F_*. */
  flags: number;
  dst?: Buffer;
  src?: Buffer;
  gateway?: Buffer;
  oif?: number;
  iif?: number;
  priority?: number;
  prefsrc?: Buffer;
  /** RTA_TABLE: the full 32-bit table id. */
  tableId?: number;
  /** RTA_MARK: the firewall mark of a lookup (RTM_GETROUTE). */
  mark?: number;
  /** RTA_UID: the uid of a lookup. */
  uid?: number;
  metrics?: RouteMetric[];
  multipath?: RouteNexthop[];
  /** Attributes not modelled above, as received. */
  unknown: Attr[];
  /** The attributes as received, for byte-exact re-encoding (see writeAttrs). */
  layout?: readonly Attr[];
}

// Default wire order; metrics and multipath follow.
const fields: FieldTable<RouteMessage> = [
  ['tableId', RTA_TABLE, scalar.u32],
  ['dst', RTA_DST, scalar.bytes],
  ['src', RTA_SRC, scalar.bytes],
  ['iif', RTA_IIF, scalar.u32],
  ['oif', RTA_OIF, scalar.u32],
  ['gateway', RTA_GATEWAY, scalar.bytes],
  ['priority', RTA_PRIORITY, scalar.u32],
  ['prefsrc', RTA_PREFSRC, scalar.bytes],
  ['mark', RTA_MARK, scalar.u32],
  ['uid', RTA_UID, scalar.u32],
];
const hopFields: FieldTable<RouteNexthop> = [['gateway', RTA_GATEWAY, scalar.bytes]];

/** Appends a whole route message to `w`. Returns its offset in `w`. */
export function encodeRoute(w: ByteWriter, type: number, flags: number, seq: number, m: Partial<RouteMessage>): number {
  return writeMessage(w, type, flags, seq, (w) => {
    w.u8(m.family ?? 0).u8(m.dstLen ?? 0).u8(m.srcLen ?? 0).u8(m.tos ?? 0);
    w.u8(m.table ?? 0).u8(m.protocol ?? 0).u8(m.scope ?? 0).u8(m.type ?? 0).u32(m.flags ?? 0);
    const writers = tableWriters(fields, m);
    const { metrics, multipath } = m;
    if (metrics) writers.push([RTA_METRICS, (a, like) => writeNest(a, RTA_METRICS, like, () => writeMetrics(a, metrics))]);
    if (multipath) writers.push([RTA_MULTIPATH, (a, like) => writeNest(a, RTA_MULTIPATH, like, () => writeHops(a, multipath))]);
    writeAttrs(new AttrWriter(w), writers, m.unknown, m.layout);
  });
}

/** Decodes an RTM_*ROUTE message. Throws DecodeError on anything malformed. */
export function decodeRoute(msg: NetlinkMessage): RouteMessage {
  if (msg.type < RTM_NEWROUTE || msg.type > RTM_GETROUTE) {
    throw new DecodeError(`expected a route message, got ${rtmName(msg.type)}`);
  }
  const p = msg.payload;
  if (p.length < RTMSG_LEN) throw new DecodeError(`rtmsg of ${p.length} bytes, need ${RTMSG_LEN}`);
  const m: RouteMessage = {
    family: p.readUInt8(0),
    dstLen: p.readUInt8(1),
    srcLen: p.readUInt8(2),
    tos: p.readUInt8(3),
    table: p.readUInt8(4),
    protocol: p.readUInt8(5),
    scope: p.readUInt8(6),
    type: p.readUInt8(7),
    flags: p.readUInt32LE(8),
    unknown: [],
  };
  const rest = readAttrs(p.subarray(RTMSG_LEN), (attr) => {
    switch (attr.type) {
      case RTA_METRICS:
        m.metrics = readMetrics(attr.data);
        return true;
      case RTA_MULTIPATH:
        m.multipath = readHops(attr.data);
        return true;
      default:
        return tableRead(fields, m, attr);
    }
  });
  return Object.assign(m, rest);
}

function writeMetrics(a: AttrWriter, metrics: readonly RouteMetric[]): void {
  for (const { type, value } of metrics) {
    if (typeof value === 'number') a.u32(type, value);
    else if (typeof value === 'string') a.string(type, value);
    else a.bytes(type, value);
  }
}

/** RTA_METRICS' nested metrics. */
export function readMetrics(buf: Buffer): RouteMetric[] {
  const out: RouteMetric[] = [];
  for (const { type, data } of readAttrs(buf, () => true).layout) {
    if (type === RTAX_CC_ALGO) out.push({ type, value: readString(data) });
    else if (data.length === 4) out.push({ type, value: data.readUInt32LE(0) });
    else out.push({ type, value: Buffer.from(data) });
  }
  return out;
}

// struct rtnexthop { u16 rtnh_len; u8 rtnh_flags; u8 rtnh_hops; int rtnh_ifindex; } + attributes,
// rtnh_len covering both; each hop starts 4-byte aligned.
function writeHops(a: AttrWriter, hops: readonly RouteNexthop[]): void {
  const w = a.w;
  for (const hop of hops) {
    const at = w.reserve(RTNH_LEN);
    writeAttrs(a, tableWriters(hopFields, hop), hop.unknown, hop.layout);
    w.buf.writeUInt16LE(w.length - at, at);
    w.buf.writeUInt8(hop.flags, at + 2);
    w.buf.writeUInt8(hop.hops, at + 3);
    w.buf.writeInt32LE(hop.ifindex, at + 4);
  }
}

/** RTA_MULTIPATH's nexthops. */
export function readHops(buf: Buffer): RouteNexthop[] {
  const out: RouteNexthop[] = [];
  for (let off = 0; off + RTNH_LEN <= buf.length; ) {
    const len = buf.readUInt16LE(off);
    if (len < RTNH_LEN || off + len > buf.length) {
      throw new DecodeError(`rtnexthop at offset ${off} has length ${len}, ${buf.length - off} bytes left`);
    }
    const hop: RouteNexthop = { flags: buf.readUInt8(off + 2), hops: buf.readUInt8(off + 3), ifindex: buf.readInt32LE(off + 4) };
    const rest = readAttrs(buf.subarray(off + RTNH_LEN, off + len), (attr) => tableRead(hopFields, hop, attr));
    out.push(Object.assign(hop, rest));
    off += align4(len);
  }
  return out;
}
