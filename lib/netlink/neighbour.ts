// Neighbour messages (RTM_NEWNEIGH/DELNEIGH/GETNEIGH): struct ndmsg, then NDA_* attributes.
// The same message carries ARP/NDP entries (family AF_INET/AF_INET6) and bridge forwarding
// database entries (family AF_BRIDGE: NDA_LLADDR is the MAC, NDA_DST the vxlan remote).
// Re-encoding follows `layout` as described in link.ts.
import {
  type Attr,
  AttrWriter,
  ByteWriter,
  DecodeError,
  type FieldTable,
  u32Struct,
  readAttrs,
  scalar,
  tableRead,
  tableWriters,
  writeAttrs,
} from './attributes.js';
import { type NetlinkMessage, writeMessage } from './message.js';
import {
  NDA_CACHEINFO,
  NDA_DST,
  NDA_FLAGS_EXT,
  NDA_IFINDEX,
  NDA_LINK_NETNSID,
  NDA_LLADDR,
  NDA_MASTER,
  NDA_NH_ID,
  NDA_PORT,
  NDA_PROBES,
  NDA_PROTOCOL,
  NDA_SRC_VNI,
  NDA_VLAN,
  NDA_VNI,
  AF_BRIDGE,
  RTM_GETNEIGH,
  RTM_NEWNEIGH,
  rtmName,
} from './rtnetlink.js';

/** sizeof(struct ndmsg). */
export const NDMSG_LEN = 12;
/** struct nda_cacheinfo on the wire: four u32s. */
const cacheinfo = u32Struct('NDA_CACHEINFO', ['confirmed', 'used', 'updated', 'refcnt'] as const);

/** struct nda_cacheinfo: ages in 1/100 s (clock_t). */
export interface NeighbourCacheInfo {
  confirmed: number;
  used: number;
  updated: number;
  refcnt: number;
}

export interface NeighbourMessage {
  /** AF_INET, AF_INET6 or AF_BRIDGE. */
  family: number;
  /** ifindex of the device. */
  index: number;
  /** NUD_* state bits. */
  state: number;
  /** NTF_* flags. */
  flags: number;
  /** RTN_* type (unicast for ordinary entries). */
  type: number;
  /** NDA_DST: the IP address (neighbour), or the remote VTEP (FDB entry of a vxlan). */
  dst?: Buffer;
  /** NDA_LLADDR: the MAC. */
  lladdr?: Buffer;
  probes?: number;
  /** NDA_VLAN (FDB). */
  vlan?: number;
  /** NDA_PORT: the vxlan UDP port, host order here (big-endian on the wire). */
  port?: number;
  /** NDA_VNI (vxlan FDB). */
  vni?: number;
  /** NDA_IFINDEX: the vxlan's outgoing device for this remote. */
  ifindex?: number;
  /** NDA_MASTER: the bridge of an FDB entry. */
  master?: number;
  linkNetnsId?: number;
  srcVni?: number;
  protocol?: number;
  nhId?: number;
  flagsExt?: number;
  cacheinfo?: NeighbourCacheInfo;
  /** Attributes not modelled above, as received. */
  unknown: Attr[];
  /** The attributes as received, for byte-exact re-encoding (see writeAttrs). */
  layout?: readonly Attr[];
}

// Default wire order, as iproute2's ipneigh_modify writes them (`bridge fdb` puts the MAC
// first: see fdbFields).
const fields: FieldTable<NeighbourMessage> = [
  ['dst', NDA_DST, scalar.bytes],
  ['lladdr', NDA_LLADDR, scalar.bytes],
  ['protocol', NDA_PROTOCOL, scalar.u8],
  ['port', NDA_PORT, scalar.u16be],
  ['vni', NDA_VNI, scalar.u32],
  ['ifindex', NDA_IFINDEX, scalar.u32],
  ['srcVni', NDA_SRC_VNI, scalar.u32],
  ['vlan', NDA_VLAN, scalar.u16],
  ['nhId', NDA_NH_ID, scalar.u32],
  ['master', NDA_MASTER, scalar.u32],
  ['linkNetnsId', NDA_LINK_NETNSID, scalar.i32],
  ['probes', NDA_PROBES, scalar.u32],
  ['flagsExt', NDA_FLAGS_EXT, scalar.u32],
];
const fdbFields: FieldTable<NeighbourMessage> = [fields[1]!, fields[0]!, ...fields.slice(2)];

/** Appends a whole neighbour message to `w`. Returns its offset in `w`. */
export function encodeNeighbour(w: ByteWriter, type: number, flags: number, seq: number, m: Partial<NeighbourMessage>): number {
  return writeMessage(w, type, flags, seq, (w) => {
    w.u8(m.family ?? 0).u8(0).u16(0).i32(m.index ?? 0).u16(m.state ?? 0).u8(m.flags ?? 0).u8(m.type ?? 0);
    const writers = tableWriters(m.family === AF_BRIDGE ? fdbFields : fields, m);
    const ci = m.cacheinfo;
    if (ci) writers.push([NDA_CACHEINFO, cacheinfo.write(NDA_CACHEINFO, ci)]);
    writeAttrs(new AttrWriter(w), writers, m.unknown, m.layout);
  });
}

/** Decodes an RTM_*NEIGH message. Throws DecodeError on anything malformed. */
export function decodeNeighbour(msg: NetlinkMessage): NeighbourMessage {
  if (msg.type < RTM_NEWNEIGH || msg.type > RTM_GETNEIGH) {
    throw new DecodeError(`expected a neighbour message, got ${rtmName(msg.type)}`);
  }
  const p = msg.payload;
  if (p.length < NDMSG_LEN) throw new DecodeError(`ndmsg of ${p.length} bytes, need ${NDMSG_LEN}`);
  const m: NeighbourMessage = {
    family: p.readUInt8(0),
    index: p.readInt32LE(4),
    state: p.readUInt16LE(8),
    flags: p.readUInt8(10),
    type: p.readUInt8(11),
    unknown: [],
  };
  const rest = readAttrs(p.subarray(NDMSG_LEN), (attr) => {
    if (attr.type !== NDA_CACHEINFO) return tableRead(fields, m, attr);
    m.cacheinfo = cacheinfo.read(attr.data);
    return true;
  });
  return Object.assign(m, rest);
}


