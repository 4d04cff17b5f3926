// Namespace id messages (RTM_NEWNSID/GETNSID/DELNSID): struct rtgenmsg (the family byte and
// three bytes of padding), then NETNSA_* attributes (linux/net_namespace.h). An nsid is how
// one namespace names another in link messages (IFLA_LINK_NETNSID): a veth whose peer lives
// elsewhere reports the peer's namespace by the nsid it has here.
import { type Attr, AttrWriter, ByteWriter, DecodeError, type FieldTable, readAttrs, scalar, tableRead, tableWriters, writeAttrs } from './attributes.js';
import { type NetlinkMessage, writeMessage } from './message.js';
import { NETNSA_CURRENT_NSID, NETNSA_FD, NETNSA_NSID, NETNSA_PID, NETNSA_TARGET_NSID, RTM_GETNSID, RTM_NEWNSID, rtmName } from './rtnetlink.js';

/** sizeof(struct rtgenmsg), padded as the kernel reads it (NLMSG_ALIGN). */
export const RTGENMSG_LEN = 4;

export interface NsidMessage {
  family: number;
  /** NETNSA_NSID: the id (-1, NETNSA_NSID_NOT_ASSIGNED, when there is none). */
  nsid?: number;
  /** NETNSA_FD: the namespace asked about, by an fd of it. */
  fd?: number;
  /** NETNSA_PID: ... or by a process inside it. */
  pid?: number;
  targetNsid?: number;
  currentNsid?: number;
  /** Attributes not modelled above, as received. */
  unknown: Attr[];
  /** The attributes as received, for byte-exact re-encoding (see writeAttrs). */
  layout?: readonly Attr[];
}

// Default wire order, as iproute2's ipnetns writes them.
const fields: FieldTable<NsidMessage> = [
  ['fd', NETNSA_FD, scalar.u32],
  ['pid', NETNSA_PID, scalar.u32],
  ['nsid', NETNSA_NSID, scalar.i32],
  ['targetNsid', NETNSA_TARGET_NSID, scalar.i32],
  ['currentNsid', NETNSA_CURRENT_NSID, scalar.i32],
];

/** Appends a whole nsid message to `w`. Returns its offset in `w`. */
export function encodeNsid(w: ByteWriter, type: number, flags: number, seq: number, m: Partial<NsidMessage>): number {
  return writeMessage(w, type, flags, seq, (w) => {
    w.u8(m.family ?? 0).u8(0).u16(0);
    writeAttrs(new AttrWriter(w), tableWriters(fields, m), m.unknown, m.layout);
  });
}

/** Decodes an RTM_*NSID message. Throws DecodeError on anything malformed. */
export function decodeNsid(msg: NetlinkMessage): NsidMessage {
  if (msg.type < RTM_NEWNSID || msg.type > RTM_GETNSID) {
    throw new DecodeError(`expected an nsid message, got ${rtmName(msg.type)}`);
  }
  const p = msg.payload;
  if (p.length < RTGENMSG_LEN) throw new DecodeError(`rtgenmsg of ${p.length} bytes, need ${RTGENMSG_LEN}`);
  const m: NsidMessage = { family: p.readUInt8(0), unknown: [] };
  return Object.assign(m, readAttrs(p.subarray(RTGENMSG_LEN), (attr) => tableRead(fields, m, attr)));
}
