// Address messages (RTM_NEWADDR/DELADDR/GETADDR): struct ifaddrmsg, then IFA_* attributes.
// For IPv4, IFA_LOCAL is the interface's own address and IFA_ADDRESS the peer (the same
// unless point-to-point); IPv6 sends IFA_ADDRESS only. Re-encoding follows `layout` as
// described in link.ts.
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
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_CACHEINFO,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  RTM_GETADDR,
  RTM_NEWADDR,
  rtmName,
} from './rtnetlink.js';

/** sizeof(struct ifaddrmsg). */
export const IFADDRMSG_LEN = 8;
/** struct ifa_cacheinfo on the wire: four u32s. */
const cacheinfo = u32Struct('IFA_CACHEINFO', ['preferred', 'valid', 'created', 'updated'] as const);

/** struct ifa_cacheinfo: lifetimes in seconds (0xffffffff = forever), stamps in 1/100 s since boot. */
export interface AddressCacheInfo {
  preferred: number;
  valid: number;
  created: number;
  updated: number;
}

export interface AddressMessage {
  /** AF_INET or AF_INET6. */
  family: number;
  prefixlen: number;
  /** The low 8 IFA_F_* bits; all 32 are in extFlags (IFA_FLAGS) when the kernel sends it. */
  flags: number;
  /** RT_SCOPE_*. */
  scope: number;
  /** ifindex. */
  index: number;
  address?: Buffer;
  local?: Buffer;
  broadcast?: Buffer;
  /** IPv4 label ('eth0:1'); must start with the interface name. */
  label?: string;
  /** IFA_FLAGS: all IFA_F_* bits. */
  extFlags?: number;
  cacheinfo?: AddressCacheInfo;
  /** Attributes not modelled above, as received. */
  unknown: Attr[];
  /** The attributes as received, for byte-exact re-encoding (see writeAttrs). */
  layout?: readonly Attr[];
}

// Default wire order, as iproute2's ipaddr_modify writes them.
const fields: FieldTable<AddressMessage> = [
  ['local', IFA_LOCAL, scalar.bytes],
  ['broadcast', IFA_BROADCAST, scalar.bytes],
  ['label', IFA_LABEL, scalar.string],
  ['address', IFA_ADDRESS, scalar.bytes],
  ['extFlags', IFA_FLAGS, scalar.u32],
];

/** Appends a whole address message to `w`. Returns its offset in `w`. */
export function encodeAddress(w: ByteWriter, type: number, flags: number, seq: number, m: Partial<AddressMessage>): number {
  return writeMessage(w, type, flags, seq, (w) => {
    w.u8(m.family ?? 0).u8(m.prefixlen ?? 0).u8(m.flags ?? 0).u8(m.scope ?? 0).u32(m.index ?? 0);
    const writers = tableWriters(fields, m);
    const ci = m.cacheinfo;
    if (ci) writers.push([IFA_CACHEINFO, cacheinfo.write(IFA_CACHEINFO, ci)]);
    writeAttrs(new AttrWriter(w), writers, m.unknown, m.layout);
  });
}

/** Decodes an RTM_*ADDR message. Throws DecodeError on anything malformed. */
export function decodeAddress(msg: NetlinkMessage): AddressMessage {
  if (msg.type < RTM_NEWADDR || msg.type > RTM_GETADDR) {
    throw new DecodeError(`expected an address message, got ${rtmName(msg.type)}`);
  }
  const p = msg.payload;
  if (p.length < IFADDRMSG_LEN) throw new DecodeError(`ifaddrmsg of ${p.length} bytes, need ${IFADDRMSG_LEN}`);
  const m: AddressMessage = {
    family: p.readUInt8(0),
    prefixlen: p.readUInt8(1),
    flags: p.readUInt8(2),
    scope: p.readUInt8(3),
    index: p.readUInt32LE(4),
    unknown: [],
  };
  const rest = readAttrs(p.subarray(IFADDRMSG_LEN), (attr) => {
    if (attr.type !== IFA_CACHEINFO) return tableRead(fields, m, attr);
    m.cacheinfo = cacheinfo.read(attr.data);
    return true;
  });
  return Object.assign(m, rest);
}


