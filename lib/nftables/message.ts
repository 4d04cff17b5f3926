// What every nf_tables message shares: the message type (subsystem in the high byte), the
// nfgenmsg header, names for errors, the argument checks, dump requests, and small readers
// the object decoders (table.ts, chain.ts, rule.ts) use.
import { AttrWriter, ByteWriter, DecodeError, EncodeError, type Attr } from '../netlink/attributes.js';
import { NLM_F_DUMP, NLM_F_REQUEST, type NetlinkMessage, writeMessage } from '../netlink/message.js';
import * as C from './constants.js';

/** The nlmsg_type of an nf_tables message: subsystem in the high byte. */
export const nftMsgType = (msg: number): number => (C.NFNL_SUBSYS_NFTABLES << 8) | msg;

/** 'NFT_MSG_NEWRULE', 'NFNL_MSG_BATCH_BEGIN', ... for errors and logs. */
export function nftMsgName(nlmsgType: number): string {
  if (nlmsgType === C.NFNL_MSG_BATCH_BEGIN) return 'NFNL_MSG_BATCH_BEGIN';
  if (nlmsgType === C.NFNL_MSG_BATCH_END) return 'NFNL_MSG_BATCH_END';
  if (nlmsgType >> 8 === C.NFNL_SUBSYS_NFTABLES) {
    const name = C.NFT_MSG_NAMES[nlmsgType & 0xff];
    if (name !== undefined) return name;
  }
  return `0x${nlmsgType.toString(16)}`;
}

const FAMILY_NAMES: Readonly<Record<number, string>> = {
  [C.NFPROTO_UNSPEC]: 'unspec',
  [C.NFPROTO_INET]: 'inet',
  [C.NFPROTO_IPV4]: 'ip',
  [C.NFPROTO_ARP]: 'arp',
  [C.NFPROTO_NETDEV]: 'netdev',
  [C.NFPROTO_BRIDGE]: 'bridge',
  [C.NFPROTO_IPV6]: 'ip6',
};

/** nft's name for an NFPROTO_* family ('ip', 'ip6', 'inet', ...). */
export const familyName = (family: number): string => FAMILY_NAMES[family] ?? `family${family}`;

/** struct nfgenmsg. res_id is big-endian; only BATCH_BEGIN uses it (to name the subsystem). */
export function writeNfgenmsg(w: ByteWriter, family: number, resId = 0): void {
  w.u8(family).u8(C.NFNETLINK_V0);
  const at = w.reserve(2);
  w.buf.writeUInt16BE(resId, at);
}

export interface Nfgenmsg {
  family: number;
  version: number;
  resId: number;
}

/** Splits an nfnetlink payload into its nfgenmsg and the attributes after it. */
export function readNfgenmsg(payload: Buffer): { header: Nfgenmsg; attrs: Buffer } {
  if (payload.length < C.NFGENMSG_LEN) {
    throw new DecodeError(`nfgenmsg: payload of ${payload.length} bytes, need ${C.NFGENMSG_LEN}`);
  }
  return {
    header: { family: payload[0]!, version: payload[1]!, resId: payload.readUInt16BE(2) },
    attrs: payload.subarray(C.NFGENMSG_LEN),
  };
}

// ---------------------------------------------------------------------------------------------
// Argument checks: the kernel would reject these too, but later and with a vaguer error.

export function checkFamily(family: number): void {
  if (!Number.isInteger(family) || family < 0 || family > 255) {
    throw new EncodeError(`nf_tables family ${family} is not an NFPROTO_* value`);
  }
}

export function checkName(what: string, name: string): void {
  const len = Buffer.byteLength(name);
  if (len === 0 || len >= C.NFT_NAME_MAXLEN || name.includes('\0')) {
    throw new EncodeError(`${what} name ${JSON.stringify(name)} must be 1-${C.NFT_NAME_MAXLEN - 1} bytes without NUL`);
  }
}

/** The kernel's dev_valid_name(): 1-15 bytes, not '.'/'..', no '/', ':' or whitespace. */
export function checkIfname(name: string): void {
  const len = Buffer.byteLength(name);
  if (len === 0 || len >= C.IFNAMSIZ || name === '.' || name === '..' || /[/:\s\0]/.test(name)) {
    throw new EncodeError(`interface name ${JSON.stringify(name)} is not valid (1-15 bytes, no '/', ':', whitespace)`);
  }
}

export function checkHandle(handle: bigint): void {
  if (typeof handle !== 'bigint' || handle < 0n || handle > 0xffffffffffffffffn) {
    throw new EncodeError(`rule handle ${String(handle)} is not a u64`);
  }
}

// ---------------------------------------------------------------------------------------------
// Dump requests. Not acked (the dump ends with NLMSG_DONE), like nft's.

export function writeDump(w: ByteWriter, seq: number, msg: number, family: number, attrs?: (a: AttrWriter) => void): number {
  checkFamily(family);
  writeMessage(w, nftMsgType(msg), NLM_F_REQUEST | NLM_F_DUMP, seq, (m) => {
    writeNfgenmsg(m, family);
    if (attrs) attrs(new AttrWriter(m));
  });
  return seq >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Readers for the kernel's NEW*/DEL* messages

/** A copy of an attribute this decoder does not interpret, kept as it came. */
export function keep(a: Attr): Attr {
  return { type: a.type, nested: a.nested, data: Buffer.from(a.data) };
}

export function readU64BE(b: Buffer, what: string): bigint {
  if (b.length < 8) throw new DecodeError(`${what}: attribute payload of ${b.length} bytes, need 8`);
  return b.readBigUInt64BE(0);
}

export function readI32BE(b: Buffer, what: string): number {
  if (b.length < 4) throw new DecodeError(`${what}: attribute payload of ${b.length} bytes, need 4`);
  return b.readInt32BE(0);
}

export function expectType(msg: NetlinkMessage, accepted: number[], what: string): void {
  if (!accepted.some((m) => msg.type === nftMsgType(m))) {
    throw new DecodeError(`expected an nf_tables ${what} message, got ${nftMsgName(msg.type)}`);
  }
}

export function required<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new DecodeError(`nf_tables message without ${what}`);
  return v;
}
