// nf_tables chains: base chains (a hook, a type, a priority) as we create them, the dump
// request, the decoder.
import { AttrReader, EncodeError, readString, readU32BE, type Attr, type AttrWriter, type ByteWriter } from '../netlink/attributes.js';
import type { NetlinkMessage } from '../netlink/message.js';
import * as C from './constants.js';
import { checkName, expectType, keep, readI32BE, readNfgenmsg, readU64BE, required, writeDump } from './message.js';

export interface ChainOptions {
  /** NF_INET_* hook number, e.g. NF_INET_POST_ROUTING. */
  hook: number;
  /** Signed; srcnat is 100 (NF_IP_PRI_NAT_SRC), dstnat -100. */
  priority: number;
  type: 'nat' | 'filter' | 'route';
  policy?: 'accept' | 'drop';
}

export interface NftChain {
  family: number;
  table: string;
  name: string;
  handle: bigint;
  /** Present for base chains. */
  hook?: { hooknum: number; priority: number; device?: string };
  policy?: 'accept' | 'drop' | number;
  type?: string;
  use?: number;
  flags?: number;
  userdata?: Buffer;
  unknown: Attr[];
}

/** NFT_MSG_NEWCHAIN's attributes for `nft add chain ... { type T hook H priority P; policy X; }`. */
export function newChainAttrs(table: string, name: string, opts: ChainOptions): (a: AttrWriter) => void {
  checkName('table', table);
  checkName('chain', name);
  if (!Number.isInteger(opts.hook) || opts.hook < 0) throw new EncodeError(`chain hook ${opts.hook} is not a hook number`);
  if (!Number.isInteger(opts.priority) || opts.priority < -0x80000000 || opts.priority > 0x7fffffff) {
    throw new EncodeError(`chain priority ${opts.priority} is not an int32`);
  }
  return (a) => {
    a.string(C.NFTA_CHAIN_TABLE, table).string(C.NFTA_CHAIN_NAME, name).string(C.NFTA_CHAIN_TYPE, opts.type);
    if (opts.policy !== undefined) a.u32be(C.NFTA_CHAIN_POLICY, opts.policy === 'accept' ? C.NF_ACCEPT : C.NF_DROP);
    a.nest(C.NFTA_CHAIN_HOOK, (h) => h.u32be(C.NFTA_HOOK_HOOKNUM, opts.hook).u32be(C.NFTA_HOOK_PRIORITY, opts.priority));
  };
}

/** NFT_MSG_DELCHAIN's attributes. */
export function delChainAttrs(table: string, name: string): (a: AttrWriter) => void {
  checkName('table', table);
  checkName('chain', name);
  return (a) => a.string(C.NFTA_CHAIN_TABLE, table).string(C.NFTA_CHAIN_NAME, name);
}

/** Dumps every chain of `family`; the kernel has no table filter for chain dumps. */
export function getChains(w: ByteWriter, seq: number, family: number = C.NFPROTO_UNSPEC): number {
  return writeDump(w, seq, C.NFT_MSG_GETCHAIN, family);
}

/** NFT_MSG_NEWCHAIN / DELCHAIN. */
export function decodeChain(msg: NetlinkMessage): NftChain {
  expectType(msg, [C.NFT_MSG_NEWCHAIN, C.NFT_MSG_DELCHAIN], 'chain');
  const { header, attrs } = readNfgenmsg(msg.payload);
  let table: string | undefined;
  let name: string | undefined;
  let handle: bigint | undefined;
  const c: Partial<NftChain> & { unknown: Attr[] } = { family: header.family, unknown: [] };
  for (const a of new AttrReader(attrs)) {
    switch (a.type) {
      case C.NFTA_CHAIN_TABLE: table = readString(a.data); break;
      case C.NFTA_CHAIN_NAME: name = readString(a.data); break;
      case C.NFTA_CHAIN_HANDLE: handle = readU64BE(a.data, 'NFTA_CHAIN_HANDLE'); break;
      case C.NFTA_CHAIN_HOOK: {
        let hooknum: number | undefined;
        let priority: number | undefined;
        let device: string | undefined;
        for (const h of new AttrReader(a.data)) {
          if (h.type === C.NFTA_HOOK_HOOKNUM) hooknum = readU32BE(h.data);
          else if (h.type === C.NFTA_HOOK_PRIORITY) priority = readI32BE(h.data, 'NFTA_HOOK_PRIORITY');
          else if (h.type === C.NFTA_HOOK_DEV) device = readString(h.data);
        }
        const hook: NonNullable<NftChain['hook']> = {
          hooknum: required(hooknum, 'NFTA_HOOK_HOOKNUM'),
          priority: required(priority, 'NFTA_HOOK_PRIORITY'),
        };
        if (device !== undefined) hook.device = device;
        c.hook = hook;
        break;
      }
      case C.NFTA_CHAIN_POLICY: {
        const p = readU32BE(a.data);
        c.policy = p === C.NF_ACCEPT ? 'accept' : p === C.NF_DROP ? 'drop' : p;
        break;
      }
      case C.NFTA_CHAIN_TYPE: c.type = readString(a.data); break;
      case C.NFTA_CHAIN_USE: c.use = readU32BE(a.data); break;
      case C.NFTA_CHAIN_FLAGS: c.flags = readU32BE(a.data); break;
      case C.NFTA_CHAIN_USERDATA: c.userdata = Buffer.from(a.data); break;
      case C.NFTA_CHAIN_PAD: break;
      default: c.unknown.push(keep(a));
    }
  }
  return {
    ...c,
    table: required(table, 'NFTA_CHAIN_TABLE'),
    name: required(name, 'NFTA_CHAIN_NAME'),
    handle: required(handle, 'NFTA_CHAIN_HANDLE'),
  } as NftChain;
}
