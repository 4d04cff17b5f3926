// Link messages (RTM_NEWLINK/DELLINK/GETLINK/SETLINK): struct ifinfomsg, then IFLA_*
// attributes. IFLA_LINKINFO nests the kind and its IFLA_INFO_DATA, which the kind's codec
// in kinds/ reads and writes.
//
// Re-encoding: a decoded message keeps `layout`, the attributes it was decoded from, and
// `unknown`, the ones not modelled here. Encoding a decoded message writes the modelled
// fields where they were and copies the unknown ones back, so a kernel reply survives
// decode -> encode byte for byte. A message built by hand has no layout and is written in
// the table order below, which follows iproute2's so requests match ip's bytes.
import {
  type Attr,
  AttrWriter,
  ByteWriter,
  DecodeError,
  EncodeError,
  findAttr,
  type FieldTable,
  type FieldWriter,
  NLA_F_NESTED,
  readAttrs,
  readString,
  readU32,
  type Scalar,
  scalar,
  tableRead,
  tableWriters,
  writeAttrs,
  writeNest,
  writeString,
  storeU16,
  storeU32,
  fitsU32,
} from './attributes.js';
import { type LinkBodyCodec, type LinkInfoData, linkKinds } from './kinds/index.js';
import { type NetlinkMessage, writeMessage } from './message.js';
import {
  IFLA_ADDRESS,
  IFLA_AF_SPEC,
  IFLA_ALT_IFNAME,
  IFLA_BROADCAST,
  IFLA_EXT_MASK,
  IFLA_GROUP,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_DATA,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_LINK_NETNSID,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_NET_NS_PID,
  IFLA_OPERSTATE,
  IFLA_PARENT_DEV_NAME,
  IFLA_PROMISCUITY,
  IFLA_PROP_LIST,
  IFLA_QDISC,
  IFLA_STATS64,
  IFLA_TARGET_NETNSID,
  IFLA_TXQLEN,
  RTM_NEWLINK,
  RTM_SETLINK,
  rtmName,
} from './rtnetlink.js';

/** sizeof(struct ifinfomsg). */
export const IFINFOMSG_LEN = 16;

export interface LinkInfo {
  /**
   * IFLA_INFO_KIND: 'veth', 'bridge', ... Absent for a device without rtnl_link_ops (a
   * physical NIC) that is reported only for its port data.
   */
  kind?: string;
  /** IFLA_INFO_DATA, decoded by the kind's codec (kinds/), or raw bytes for other kinds. */
  data?: LinkInfoData;
  /** IFLA_INFO_SLAVE_KIND: the master's kind when this link is a port ('bridge'). */
  slaveKind?: string;
  /** IFLA_INFO_SLAVE_DATA, raw (e.g. IFLA_BRPORT_* for a bridge port). */
  slaveData?: Buffer;
  unknown?: Attr[];
  /** The attributes as received, for byte-exact re-encoding (see writeAttrs). */
  layout?: readonly Attr[];
}

export interface LinkMessage {
  /** ifinfomsg: AF_UNSPEC for most requests. */
  family: number;
  /** ARPHRD_* hardware type. */
  type: number;
  /** ifindex; 0 in a create request lets the kernel choose. */
  index: number;
  /** IFF_* flags. */
  flags: number;
  /** Which IFF_* flags a request changes. */
  change: number;
  name?: string;
  mtu?: number;
  address?: Buffer;
  broadcast?: Buffer;
  /** ifindex of the master (bridge); 0 releases the link from its master. */
  master?: number;
  /** IF_OPER_*. */
  operstate?: number;
  group?: number;
  txqlen?: number;
  /** IFLA_LINK: the parent (macvlan, vlan) or the veth peer's ifindex. */
  link?: number;
  /** IFLA_LINK_NETNSID: the namespace `link` lives in, as an nsid of this namespace. */
  linkNetnsId?: number;
  /** IFLA_NET_NS_FD: create or move the link into the namespace of this fd. */
  netnsFd?: number;
  /** IFLA_NET_NS_PID: ... or into the namespace of this process. */
  netnsPid?: number;
  /** IFLA_TARGET_NETNSID: act on a link in another namespace, by nsid. */
  targetNetnsId?: number;
  alias?: string;
  parentDevName?: string;
  /** IFLA_QDISC: the root qdisc's kind ('noqueue', 'pfifo_fast', ...). */
  qdisc?: string;
  /** IFLA_PROMISCUITY: how many users asked for promiscuous mode. */
  promiscuity?: number;
  /** IFLA_STATS64: struct rtnl_link_stats64, raw (u64 counters, host order); see readStats64. */
  stats64?: Buffer;
  /** IFLA_PROP_LIST's IFLA_ALT_IFNAME entries: the alternative names. */
  altNames?: string[];
  /** IFLA_AF_SPEC, raw: per-family data (AF_BRIDGE: IFLA_BRIDGE_* vlan entries, see bridge-vlan.ts). */
  afSpec?: Buffer;
  /** IFLA_EXT_MASK (requests): RTEXT_FILTER_* bits asking a dump for more (bridge vlans). */
  extMask?: number;
  linkInfo?: LinkInfo;
  /** Attributes not modelled above, as received. */
  unknown: Attr[];
  /** The attributes as received, for byte-exact re-encoding (see writeAttrs). */
  layout?: readonly Attr[];
}

/** A string sent without its NUL unless the attribute it was decoded from had one. */
const unterminatedString: Scalar<string> = { read: readString, write: (a, t, v, like) => writeString(a, t, v, like, false) };

/** A nested attribute kept as raw bytes, NLA_F_NESTED as in the attribute it came from. */
const rawNest: Scalar<Buffer> = { read: (b) => Buffer.from(b), write: (a, t, v, like) => a.bytes(like?.nested ? t | NLA_F_NESTED : t, v) };

// Default wire order: attributes ip adds while parsing, then IFLA_LINK, IFLA_IFNAME and
// IFLA_LINKINFO, as iproute2's iplink_modify does.
const fields: FieldTable<LinkMessage> = [
  ['targetNetnsId', IFLA_TARGET_NETNSID, scalar.i32],
  ['netnsFd', IFLA_NET_NS_FD, scalar.u32],
  ['netnsPid', IFLA_NET_NS_PID, scalar.u32],
  ['mtu', IFLA_MTU, scalar.u32],
  ['address', IFLA_ADDRESS, scalar.bytes],
  ['broadcast', IFLA_BROADCAST, scalar.bytes],
  // ip sends the alias without its NUL, before IFLA_TXQLEN; the kernel's replies have the NUL.
  ['alias', IFLA_IFALIAS, unterminatedString],
  ['txqlen', IFLA_TXQLEN, scalar.u32],
  ['operstate', IFLA_OPERSTATE, scalar.u8],
  ['group', IFLA_GROUP, scalar.u32],
  ['master', IFLA_MASTER, scalar.u32],
  ['linkNetnsId', IFLA_LINK_NETNSID, scalar.i32],
  ['link', IFLA_LINK, scalar.u32],
  ['name', IFLA_IFNAME, scalar.string],
  ['parentDevName', IFLA_PARENT_DEV_NAME, scalar.string],
  ['qdisc', IFLA_QDISC, scalar.string],
  ['promiscuity', IFLA_PROMISCUITY, scalar.u32],
  ['stats64', IFLA_STATS64, scalar.bytes],
  ['extMask', IFLA_EXT_MASK, scalar.u32],
  ['afSpec', IFLA_AF_SPEC, rawNest],
];

const body: LinkBodyCodec = { encode: encodeLinkBody, decode: decodeLinkBody };

/** Appends a whole link message to `w`. Returns its offset in `w`. */
export function encodeLink(w: ByteWriter, type: number, flags: number, seq: number, m: Partial<LinkMessage>): number {
  return writeMessage(w, type, flags, seq, (w) => encodeLinkBody(w, m));
}

/** struct ifinfomsg. */
function writeIfinfomsg(w: ByteWriter, family: number, type: number, index: number, flags: number, change: number): void {
  if ((family & 0xff) !== family || (type & 0xffff) !== type || (index | 0) !== index || !fitsU32(flags) || !fitsU32(change)) {
    // The checked writes, which throw the error naming what does not fit.
    w.u8(family).u8(0).u16(type).i32(index).u32(flags).u32(change);
    return;
  }
  // Checked once, then one reserve and plain stores: every link request writes this.
  const at = w.reserve(IFINFOMSG_LEN);
  const b = w.buf;
  b[at] = family;
  b[at + 1] = 0;
  storeU16(b, at + 2, type);
  storeU32(b, at + 4, index);
  storeU32(b, at + 8, flags);
  storeU32(b, at + 12, change);
}

/**
 * An RTM_NEWLINK that changes a link's flags (and its group), naming it by index or by name:
 * the bytes encodeLink gives for { family 0, index, flags, change, group?, name? }, written
 * without the field table, since setting a link up is the commonest small request (a change
 * list of link-ups is mostly this). Returns its offset in `w`.
 */
export function encodeLinkFlags(w: ByteWriter, seq: number, index: number, name: string | undefined, flags: number, change: number, group?: number): number {
  return writeMessage(w, RTM_NEWLINK, 0, seq, (w) => {
    writeIfinfomsg(w, 0, 0, index, flags, change);
    if (group === undefined && name === undefined) return;
    // In the field table's order: IFLA_GROUP before IFLA_IFNAME.
    const a = new AttrWriter(w);
    if (group !== undefined) a.u32(IFLA_GROUP, group);
    if (name !== undefined) a.string(IFLA_IFNAME, name);
  });
}

/** Decodes an RTM_*LINK message. Throws DecodeError on anything malformed. */
export function decodeLink(msg: NetlinkMessage): LinkMessage {
  if (msg.type < RTM_NEWLINK || msg.type > RTM_SETLINK) {
    throw new DecodeError(`expected a link message, got ${rtmName(msg.type)}`);
  }
  return decodeLinkBody(msg.payload);
}

/** A link message's index and IFLA_LINK (a veth's peer index) without decoding the rest: a
 *  create's echo carries the whole device (stats, per-family config), and a bulk apply needs
 *  only these two. */
export function linkIndexes(msg: NetlinkMessage): { index: number; link?: number } {
  const p = msg.payload;
  if (p.length < IFINFOMSG_LEN) throw new DecodeError(`ifinfomsg of ${p.length} bytes, need ${IFINFOMSG_LEN}`);
  const link = findAttr(p.subarray(IFINFOMSG_LEN), IFLA_LINK);
  const index = p.readInt32LE(4);
  return link === undefined ? { index } : { index, link: readU32(link) };
}

/** ifinfomsg and attributes, without the netlink header (also the payload of VETH_INFO_PEER). */
export function encodeLinkBody(w: ByteWriter, m: Partial<LinkMessage>): void {
  writeIfinfomsg(w, m.family ?? 0, m.type ?? 0, m.index ?? 0, m.flags ?? 0, m.change ?? 0);
  const a = new AttrWriter(w);
  const writers = tableWriters(fields, m);
  const altNames = m.altNames;
  // NLA_F_NESTED unless the list it was decoded from lacked it: RTM_NEWLINKPROP's policy wants it.
  if (altNames) writers.push([IFLA_PROP_LIST, (a, like) => a.nest(IFLA_PROP_LIST, () => altNames.forEach((n) => a.string(IFLA_ALT_IFNAME, n)), like ? !like.nested : false)]);
  const info = m.linkInfo;
  if (info) writers.push([IFLA_LINKINFO, (a, like) => writeNest(a, IFLA_LINKINFO, like, () => encodeLinkInfo(a, info))]);
  writeAttrs(a, writers, m.unknown, m.layout);
}

/**
 * How deep veth peers may nest (VETH_INFO_PEER holds a whole link message, which may hold
 * another peer ...). The kernel reads only the first level; without a bound, a 64 KiB message
 * of nested peers runs the recursive decoder out of stack (RangeError) instead of giving a
 * DecodeError. Found by the decoder fuzzer (test/helpers/decoder-fuzz.ts).
 */
export const MAX_LINK_NESTING = 32;
let nesting = 0;

export function decodeLinkBody(p: Buffer): LinkMessage {
  if (nesting >= MAX_LINK_NESTING) throw new DecodeError(`link message nested more than ${MAX_LINK_NESTING} levels deep (veth peers)`);
  nesting++;
  try {
    return decodeLinkBodyAt(p);
  } finally {
    nesting--;
  }
}

function decodeLinkBodyAt(p: Buffer): LinkMessage {
  if (p.length < IFINFOMSG_LEN) throw new DecodeError(`ifinfomsg of ${p.length} bytes, need ${IFINFOMSG_LEN}`);
  const m: LinkMessage = {
    family: p.readUInt8(0),
    type: p.readUInt16LE(2),
    index: p.readInt32LE(4),
    flags: p.readUInt32LE(8),
    change: p.readUInt32LE(12),
    unknown: [],
  };
  const rest = readAttrs(p.subarray(IFINFOMSG_LEN), (attr) => {
    if (attr.type === IFLA_PROP_LIST) return readAltNames(m, attr.data);
    if (attr.type !== IFLA_LINKINFO) return tableRead(fields, m, attr);
    m.linkInfo = decodeLinkInfo(attr.data);
    return true;
  });
  return Object.assign(m, rest);
}

function encodeLinkInfo(a: AttrWriter, info: LinkInfo): void {
  // iproute2 sends kinds without the NUL; the kernel's replies have it (writeString follows layout).
  const writers: [number, FieldWriter][] = [];
  const { kind, data, slaveKind, slaveData } = info;
  if (kind !== undefined) writers.push([IFLA_INFO_KIND, (a, like) => writeString(a, IFLA_INFO_KIND, kind, like, false)]);
  if (data !== undefined) writers.push([IFLA_INFO_DATA, (a, like) => encodeInfoData(a, info.kind, data, like)]);
  if (slaveKind !== undefined) {
    writers.push([IFLA_INFO_SLAVE_KIND, (a, like) => writeString(a, IFLA_INFO_SLAVE_KIND, slaveKind, like, false)]);
  }
  if (slaveData !== undefined) writers.push([IFLA_INFO_SLAVE_DATA, (a, like) => writeRaw(a, IFLA_INFO_SLAVE_DATA, slaveData, like)]);
  writeAttrs(a, writers, info.unknown, info.layout);
}

function encodeInfoData(a: AttrWriter, kind: string | undefined, data: LinkInfoData, like: Attr | undefined): void {
  if (data instanceof Uint8Array) return writeRaw(a, IFLA_INFO_DATA, data, like);
  const codec = kind === undefined ? undefined : linkKinds.get(kind);
  if (!codec) throw new EncodeError(`no codec for link kind '${kind}': give IFLA_INFO_DATA as raw bytes`);
  writeNest(a, IFLA_INFO_DATA, like, () => codec.encodeData(a, data, body));
}

/** Raw nested payload, keeping NLA_F_NESTED if the attribute it came from had it. */
function writeRaw(a: AttrWriter, type: number, data: Uint8Array, like: Attr | undefined): void {
  a.bytes(like?.nested ? type | NLA_F_NESTED : type, data);
}

/** IFLA_LINKINFO: kind, its data decoded by the kind's codec, the port kind and data. */
export function decodeLinkInfo(buf: Buffer): LinkInfo {
  let data: Attr | undefined;
  const info: LinkInfo = {};
  const rest = readAttrs(buf, (attr) => {
    switch (attr.type) {
      case IFLA_INFO_KIND:
        info.kind = readString(attr.data);
        return true;
      case IFLA_INFO_DATA:
        data = attr;
        return true;
      case IFLA_INFO_SLAVE_KIND:
        info.slaveKind = readString(attr.data);
        return true;
      case IFLA_INFO_SLAVE_DATA:
        info.slaveData = Buffer.from(attr.data);
        return true;
      default:
        return false;
    }
  });
  // Decoded last: IFLA_INFO_DATA means nothing until the kind is known.
  if (data) {
    const codec = info.kind === undefined ? undefined : linkKinds.get(info.kind);
    info.data = codec ? codec.decodeData(data.data, body) : Buffer.from(data.data);
  }
  return Object.assign(info, rest);
}

/** IFLA_PROP_LIST holds only IFLA_ALT_IFNAME today; a list with anything else is kept raw
 *  (unknown) so that re-encoding cannot drop what it does not model. */
export function readAltNames(m: LinkMessage, buf: Buffer): boolean {
  const names: string[] = [];
  for (const attr of readAttrs(buf, () => true).layout) {
    if (attr.type !== IFLA_ALT_IFNAME) return false;
    names.push(readString(attr.data));
  }
  m.altNames = names;
  return true;
}

/** The counters of struct rtnl_link_stats64, in its order (linux/if_link.h). */
export const STATS64_FIELDS = [
  'rxPackets', 'txPackets', 'rxBytes', 'txBytes', 'rxErrors', 'txErrors', 'rxDropped', 'txDropped',
  'multicast', 'collisions', 'rxLengthErrors', 'rxOverErrors', 'rxCrcErrors', 'rxFrameErrors',
  'rxFifoErrors', 'rxMissedErrors', 'txAbortedErrors', 'txCarrierErrors', 'txFifoErrors',
  'txHeartbeatErrors', 'txWindowErrors', 'rxCompressed', 'txCompressed', 'rxNohandler', 'rxOtherhostDropped',
] as const;

export type Stats64 = { [K in (typeof STATS64_FIELDS)[number]]?: number };

/** Decodes IFLA_STATS64: as many counters as the kernel sent (older kernels send fewer), as
 *  numbers (exact up to 2^53, which a counter does not reach in practice). */
export function readStats64(b: Buffer): Stats64 {
  const out: Stats64 = {};
  STATS64_FIELDS.forEach((name, i) => {
    if ((i + 1) * 8 <= b.length) out[name] = Number(b.readBigUInt64LE(i * 8));
  });
  return out;
}
