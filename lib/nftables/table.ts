// nf_tables tables: the messages that create and delete one, the dump request, the decoder.
import { AttrReader, readString, readU32BE, type Attr, type AttrWriter, type ByteWriter } from '../netlink/attributes.js';
import type { NetlinkMessage } from '../netlink/message.js';
import * as C from './constants.js';
import { checkName, expectType, keep, readNfgenmsg, readU64BE, required, writeDump } from './message.js';

export interface NftTable {
  family: number;
  name: string;
  flags: number;
  /** How many chains/sets/... the table holds. */
  use?: number;
  handle: bigint;
  userdata?: Buffer;
  /** Port id of the owning socket for NFT_TABLE_F_OWNER tables. */
  owner?: number;
  /** Attributes this decoder does not interpret, kept as they came. */
  unknown: Attr[];
}

/** NFT_MSG_NEWTABLE's attributes. NFTA_TABLE_FLAGS 0 is what nft sends; on an existing table
 *  it would also wake a dormant one, which is what we want. */
export function newTableAttrs(name: string): (a: AttrWriter) => void {
  checkName('table', name);
  return (a) => a.string(C.NFTA_TABLE_NAME, name).u32be(C.NFTA_TABLE_FLAGS, 0);
}

/** NFT_MSG_DELTABLE's attributes. */
export function delTableAttrs(name: string): (a: AttrWriter) => void {
  checkName('table', name);
  return (a) => a.string(C.NFTA_TABLE_NAME, name);
}

/** Dumps every table of `family` (NFPROTO_UNSPEC: all families). Returns the seq. */
export function getTables(w: ByteWriter, seq: number, family: number = C.NFPROTO_UNSPEC): number {
  return writeDump(w, seq, C.NFT_MSG_GETTABLE, family);
}

/** NFT_MSG_NEWTABLE / DELTABLE. */
export function decodeTable(msg: NetlinkMessage): NftTable {
  expectType(msg, [C.NFT_MSG_NEWTABLE, C.NFT_MSG_DELTABLE], 'table');
  const { header, attrs } = readNfgenmsg(msg.payload);
  let name: string | undefined;
  let handle: bigint | undefined;
  const t: Partial<NftTable> & { unknown: Attr[] } = { family: header.family, flags: 0, unknown: [] };
  for (const a of new AttrReader(attrs)) {
    switch (a.type) {
      case C.NFTA_TABLE_NAME: name = readString(a.data); break;
      case C.NFTA_TABLE_FLAGS: t.flags = readU32BE(a.data); break;
      case C.NFTA_TABLE_USE: t.use = readU32BE(a.data); break;
      case C.NFTA_TABLE_HANDLE: handle = readU64BE(a.data, 'NFTA_TABLE_HANDLE'); break;
      case C.NFTA_TABLE_USERDATA: t.userdata = Buffer.from(a.data); break;
      case C.NFTA_TABLE_OWNER: t.owner = readU32BE(a.data); break;
      case C.NFTA_TABLE_PAD: break;
      default: t.unknown.push(keep(a));
    }
  }
  return { ...t, name: required(name, 'NFTA_TABLE_NAME'), handle: required(handle, 'NFTA_TABLE_HANDLE') } as NftTable;
}
