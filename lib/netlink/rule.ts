// Policy routing rule messages (RTM_NEWRULE/DELRULE/GETRULE): struct fib_rule_hdr, then FRA_*
// attributes (linux/fib_rules.h). IPv4 and IPv6 rules share the format; addresses are 4 or 16
// bytes. Re-encoding follows `layout` as described in link.ts.
import { type Attr, AttrWriter, ByteWriter, DecodeError, type FieldTable, readAttrs, scalar, tableRead, tableWriters, writeAttrs } from './attributes.js';
import { type NetlinkMessage, writeMessage } from './message.js';
import {
  FRA_DST,
  FRA_FWMARK,
  FRA_FWMASK,
  FRA_GOTO,
  FRA_IIFNAME,
  FRA_L3MDEV,
  FRA_OIFNAME,
  FRA_PRIORITY,
  FRA_PROTOCOL,
  FRA_SRC,
  FRA_SUPPRESS_IFGROUP,
  FRA_SUPPRESS_PREFIXLEN,
  FRA_TABLE,
  FRA_IP_PROTO,
  RTM_GETRULE,
  RTM_NEWRULE,
  rtmName,
} from './rtnetlink.js';

/** sizeof(struct fib_rule_hdr). */
export const FIB_RULE_HDR_LEN = 12;

export interface RuleMessage {
  /** AF_INET or AF_INET6. */
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  /** RT_TABLE_* (8 bits; the full id is in FRA_TABLE). */
  table: number;
  /** FR_ACT_*. */
  action: number;
  /** FIB_RULE_*. */
  flags: number;
  dst?: Buffer;
  src?: Buffer;
  iifname?: string;
  oifname?: string;
  /** FRA_PRIORITY: the rule's preference (lower first). */
  priority?: number;
  fwmark?: number;
  fwmask?: number;
  /** FRA_TABLE: the full 32-bit table id. */
  tableId?: number;
  /** FRA_GOTO: the target priority of a goto rule. */
  goto?: number;
  suppressPrefixLen?: number;
  suppressIfgroup?: number;
  l3mdev?: number;
  /** FRA_PROTOCOL: RTPROT_* of whoever added it. */
  protocol?: number;
  ipProto?: number;
  /** Attributes not modelled above, as received. */
  unknown: Attr[];
  /** The attributes as received, for byte-exact re-encoding (see writeAttrs). */
  layout?: readonly Attr[];
}

// Default wire order: iproute2's iprule_modify adds attributes as it parses its arguments, so
// this is the order of the usual command line (from, to, fwmark, iif, oif, priority, table).
const fields: FieldTable<RuleMessage> = [
  ['src', FRA_SRC, scalar.bytes],
  ['dst', FRA_DST, scalar.bytes],
  ['fwmark', FRA_FWMARK, scalar.u32],
  ['fwmask', FRA_FWMASK, scalar.u32],
  ['iifname', FRA_IIFNAME, scalar.string],
  ['oifname', FRA_OIFNAME, scalar.string],
  ['priority', FRA_PRIORITY, scalar.u32],
  ['tableId', FRA_TABLE, scalar.u32],
  ['suppressPrefixLen', FRA_SUPPRESS_PREFIXLEN, scalar.u32],
  ['suppressIfgroup', FRA_SUPPRESS_IFGROUP, scalar.u32],
  ['l3mdev', FRA_L3MDEV, scalar.u8],
  ['ipProto', FRA_IP_PROTO, scalar.u8],
  ['goto', FRA_GOTO, scalar.u32],
  ['protocol', FRA_PROTOCOL, scalar.u8],
];

/** Appends a whole rule message to `w`. Returns its offset in `w`. */
export function encodeRule(w: ByteWriter, type: number, flags: number, seq: number, m: Partial<RuleMessage>): number {
  return writeMessage(w, type, flags, seq, (w) => {
    w.u8(m.family ?? 0).u8(m.dstLen ?? 0).u8(m.srcLen ?? 0).u8(m.tos ?? 0);
    w.u8(m.table ?? 0).u8(0).u8(0).u8(m.action ?? 0).u32(m.flags ?? 0);
    writeAttrs(new AttrWriter(w), tableWriters(fields, m), m.unknown, m.layout);
  });
}

/** Decodes an RTM_*RULE message. Throws DecodeError on anything malformed. */
export function decodeRule(msg: NetlinkMessage): RuleMessage {
  if (msg.type < RTM_NEWRULE || msg.type > RTM_GETRULE) {
    throw new DecodeError(`expected a rule message, got ${rtmName(msg.type)}`);
  }
  const p = msg.payload;
  if (p.length < FIB_RULE_HDR_LEN) throw new DecodeError(`fib_rule_hdr of ${p.length} bytes, need ${FIB_RULE_HDR_LEN}`);
  const m: RuleMessage = {
    family: p.readUInt8(0),
    dstLen: p.readUInt8(1),
    srcLen: p.readUInt8(2),
    tos: p.readUInt8(3),
    table: p.readUInt8(4),
    action: p.readUInt8(7),
    flags: p.readUInt32LE(8),
    unknown: [],
  };
  return Object.assign(m, readAttrs(p.subarray(FIB_RULE_HDR_LEN), (attr) => tableRead(fields, m, attr)));
}
