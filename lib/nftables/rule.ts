// nf_tables rules: the messages that add and delete one (expressions, and userdata such as a
// comment), the dump request, the decoder. Rule userdata (NFTA_RULE_USERDATA) is part of the
// rule: give `comment` (nft's TLV format, shown by `nft list`) or raw `userdata`; decoded
// rules carry both.
import { AttrReader, EncodeError, readString, type Attr, type AttrWriter, type ByteWriter } from '../netlink/attributes.js';
import type { NetlinkMessage } from '../netlink/message.js';
import * as C from './constants.js';
import { decodeExprList, writeExpr, type NftExpr } from './expr/index.js';
import { checkHandle, checkName, expectType, keep, readNfgenmsg, readU64BE, required, writeDump } from './message.js';

export interface RuleOptions {
  expressions: NftExpr[];
  /** Stored as nft-format userdata (visible as `comment "..."`). */
  comment?: string;
  /** Raw NFTA_RULE_USERDATA; overrides `comment`. */
  userdata?: Buffer;
}

export interface NftRule {
  family: number;
  table: string;
  chain: string;
  handle: bigint;
  /** Handle of the rule this one was inserted after/before, when the kernel reports it. */
  position?: bigint;
  expressions: NftExpr[];
  userdata?: Buffer;
  /** The nft-format comment in the userdata, if any. */
  comment?: string;
  unknown: Attr[];
}

/**
 * nft's rule userdata: TLVs of u8 type, u8 length, value; a comment is type 0 with its NUL.
 * We use that format instead of raw text because nft parses userdata when listing rules.
 */
export function encodeRuleComment(comment: string): Buffer {
  const text = Buffer.from(comment + '\0', 'utf8');
  if (comment.includes('\0') || text.length > C.NFTNL_UDATA_COMMENT_MAXLEN) {
    throw new EncodeError(`rule comment must be at most ${C.NFTNL_UDATA_COMMENT_MAXLEN - 1} bytes without NUL`);
  }
  return Buffer.concat([Buffer.from([C.NFTNL_UDATA_RULE_COMMENT, text.length]), text]);
}

/** The comment in nft-format userdata; undefined when absent or not in that format. */
export function decodeRuleComment(userdata: Buffer): string | undefined {
  let off = 0;
  let comment: string | undefined;
  while (off + 2 <= userdata.length) {
    const type = userdata[off]!;
    const len = userdata[off + 1]!;
    if (off + 2 + len > userdata.length) return undefined;
    if (type === C.NFTNL_UDATA_RULE_COMMENT) comment = readString(userdata.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return off === userdata.length ? comment : undefined;
}

/** NFT_MSG_NEWRULE's attributes (`nft add rule`: appended at the end of the chain). */
export function newRuleAttrs(table: string, chain: string, rule: RuleOptions): (a: AttrWriter) => void {
  checkName('table', table);
  checkName('chain', chain);
  if (rule.expressions.length === 0) throw new EncodeError('a rule needs at least one expression');
  const userdata = rule.userdata ?? (rule.comment !== undefined ? encodeRuleComment(rule.comment) : undefined);
  if (userdata !== undefined && userdata.length > C.NFT_USERDATA_MAXLEN) {
    throw new EncodeError(`rule userdata of ${userdata.length} bytes exceeds ${C.NFT_USERDATA_MAXLEN}`);
  }
  return (a) => {
    a.string(C.NFTA_RULE_TABLE, table).string(C.NFTA_RULE_CHAIN, chain);
    a.nest(C.NFTA_RULE_EXPRESSIONS, (list) => {
      for (const e of rule.expressions) writeExpr(list, e);
    });
    if (userdata !== undefined) a.bytes(C.NFTA_RULE_USERDATA, userdata);
  };
}

/** NFT_MSG_DELRULE's attributes (`nft delete rule ... handle N`). */
export function delRuleAttrs(table: string, chain: string, handle: bigint): (a: AttrWriter) => void {
  checkName('table', table);
  checkName('chain', chain);
  checkHandle(handle);
  return (a) => a.string(C.NFTA_RULE_TABLE, table).string(C.NFTA_RULE_CHAIN, chain).u64be(C.NFTA_RULE_HANDLE, handle);
}

/**
 * Dumps rules, optionally only those of one table, or one chain of it (the kernel filters;
 * a filter naming nothing that exists yields an empty dump, not ENOENT).
 */
export function getRules(w: ByteWriter, seq: number, family: number = C.NFPROTO_UNSPEC, table?: string, chain?: string): number {
  if (table !== undefined) checkName('table', table);
  if (chain !== undefined) {
    if (table === undefined) throw new EncodeError('a rule dump filtered by chain needs its table');
    checkName('chain', chain);
  }
  return writeDump(w, seq, C.NFT_MSG_GETRULE, family, (a) => {
    if (table !== undefined) a.string(C.NFTA_RULE_TABLE, table);
    if (chain !== undefined) a.string(C.NFTA_RULE_CHAIN, chain);
  });
}

/**
 * NFT_MSG_NEWRULE / DELRULE. The handle is required: the kernel always reports it, and a
 * rule without one could not be deleted. Requests we send (no handle yet) decode through
 * decodeRuleRequest().
 */
export function decodeRule(msg: NetlinkMessage): NftRule {
  const r = decodeRuleAttrs(msg);
  return { ...r, handle: required(r.handle, 'NFTA_RULE_HANDLE') };
}

/** Like decodeRule(), for messages that may lack a handle (NEWRULE requests). */
export function decodeRuleRequest(msg: NetlinkMessage): Omit<NftRule, 'handle'> & { handle?: bigint } {
  return decodeRuleAttrs(msg);
}

function decodeRuleAttrs(msg: NetlinkMessage): Omit<NftRule, 'handle'> & { handle?: bigint } {
  expectType(msg, [C.NFT_MSG_NEWRULE, C.NFT_MSG_DELRULE], 'rule');
  const { header, attrs } = readNfgenmsg(msg.payload);
  let table: string | undefined;
  let chain: string | undefined;
  let handle: bigint | undefined;
  let position: bigint | undefined;
  let expressions: NftExpr[] = [];
  let userdata: Buffer | undefined;
  const unknown: Attr[] = [];
  for (const a of new AttrReader(attrs)) {
    switch (a.type) {
      case C.NFTA_RULE_TABLE: table = readString(a.data); break;
      case C.NFTA_RULE_CHAIN: chain = readString(a.data); break;
      case C.NFTA_RULE_HANDLE: handle = readU64BE(a.data, 'NFTA_RULE_HANDLE'); break;
      case C.NFTA_RULE_POSITION: position = readU64BE(a.data, 'NFTA_RULE_POSITION'); break;
      case C.NFTA_RULE_EXPRESSIONS: expressions = decodeExprList(a.data); break;
      case C.NFTA_RULE_USERDATA: userdata = Buffer.from(a.data); break;
      case C.NFTA_RULE_PAD: break;
      default: unknown.push(keep(a));
    }
  }
  const r: Omit<NftRule, 'handle'> & { handle?: bigint } = {
    family: header.family,
    table: required(table, 'NFTA_RULE_TABLE'),
    chain: required(chain, 'NFTA_RULE_CHAIN'),
    expressions,
    unknown,
  };
  if (handle !== undefined) r.handle = handle;
  if (position !== undefined) r.position = position;
  if (userdata !== undefined) {
    r.userdata = userdata;
    const comment = decodeRuleComment(userdata);
    if (comment !== undefined) r.comment = comment;
  }
  return r;
}
