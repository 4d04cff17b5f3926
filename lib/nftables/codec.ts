// nf_tables wire codec for the library's NAT masquerade: batches that create/delete our table,
// chain and rules, dump requests, and decoders for the kernel's table/chain/rule messages.
//
// Every byte layout here was checked against what nft 1.0.6 sends for the equivalent command
// (strace, see scripts/capture-nft-fixtures.sh and test/fixtures/nftables): we send the same
// attributes in the same order, so `nft list ruleset` shows our objects exactly as if nft had
// made them, and a future reader can diff our bytes against nft's with no translation.
import {
  AttrReader,
  AttrWriter,
  ByteWriter,
  DecodeError,
  EncodeError,
  NLA_F_NESTED,
  readString,
  readU32BE,
  type Attr,
} from '../netlink/attributes.js';
import {
  NLM_F_ACK,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  type NetlinkMessage,
  writeMessage,
} from '../netlink/message.js';
import { formatAddress, networkOf } from '../ip.js';
import * as C from './constants.js';

// ---------------------------------------------------------------------------------------------
// Message types and the nfgenmsg header

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
function writeNfgenmsg(w: ByteWriter, family: number, resId = 0): void {
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

function checkFamily(family: number): void {
  if (!Number.isInteger(family) || family < 0 || family > 255) {
    throw new EncodeError(`nf_tables family ${family} is not an NFPROTO_* value`);
  }
}

function checkName(what: string, name: string): void {
  const len = Buffer.byteLength(name);
  if (len === 0 || len >= C.NFT_NAME_MAXLEN || name.includes('\0')) {
    throw new EncodeError(`${what} name ${JSON.stringify(name)} must be 1-${C.NFT_NAME_MAXLEN - 1} bytes without NUL`);
  }
}

/** The kernel's dev_valid_name(): 1-15 bytes, not '.'/'..', no '/', ':' or whitespace. */
function checkIfname(name: string): void {
  const len = Buffer.byteLength(name);
  if (len === 0 || len >= C.IFNAMSIZ || name === '.' || name === '..' || /[/:\s\0]/.test(name)) {
    throw new EncodeError(`interface name ${JSON.stringify(name)} is not valid (1-15 bytes, no '/', ':', whitespace)`);
  }
}

function checkHandle(handle: bigint): void {
  if (typeof handle !== 'bigint' || handle < 0n || handle > 0xffffffffffffffffn) {
    throw new EncodeError(`rule handle ${String(handle)} is not a u64`);
  }
}

// ---------------------------------------------------------------------------------------------
// Expressions

/** A value register load from the packet: `ip saddr` is network header + 12, 4 bytes. */
export interface PayloadExpr {
  kind: 'payload';
  dreg: number;
  base: number;
  offset: number;
  len: number;
}

export interface CmpExpr {
  kind: 'cmp';
  sreg: number;
  op: number;
  data: Buffer;
}

/** dreg = (sreg & mask) ^ xor. `op` is only present when the kernel reports it (dumps). */
export interface BitwiseExpr {
  kind: 'bitwise';
  sreg: number;
  dreg: number;
  len: number;
  mask: Buffer;
  xor: Buffer;
  op?: number;
}

/** Loads a packet property (key NFT_META_*) into dreg. Meta *set* (sreg) is not modelled. */
export interface MetaExpr {
  kind: 'meta';
  key: number;
  dreg: number;
}

export interface MasqExpr {
  kind: 'masq';
  /** NF_NAT_RANGE_* flags: `random`, `persistent`, `fully-random`. */
  flags?: number;
  regProtoMin?: number;
  regProtoMax?: number;
}

/**
 * Any expression this codec does not model, or a modelled one carrying attributes it does not
 * know: kept byte for byte so nothing is lost, and never mistaken for one of ours.
 */
export interface UnknownExpr {
  kind: 'unknown';
  name: string;
  /** The NFTA_EXPR_DATA payload (its attributes), if present. */
  data?: Buffer;
}

export type NftExpr = PayloadExpr | CmpExpr | BitwiseExpr | MetaExpr | MasqExpr | UnknownExpr;

function writeDataValue(a: AttrWriter, type: number, value: Buffer): void {
  if (value.length === 0 || value.length > C.NFT_DATA_VALUE_MAXLEN) {
    throw new EncodeError(`nf_tables data value of ${value.length} bytes (1-${C.NFT_DATA_VALUE_MAXLEN})`);
  }
  a.nest(type, (n) => n.bytes(C.NFTA_DATA_VALUE, value));
}

/** Appends one NFTA_LIST_ELEM (name + data) with the attribute order nft uses. */
export function writeExpr(a: AttrWriter, e: NftExpr): void {
  a.nest(C.NFTA_LIST_ELEM, (el) => {
    switch (e.kind) {
      case 'payload':
        el.string(C.NFTA_EXPR_NAME, 'payload').nest(C.NFTA_EXPR_DATA, (d) => {
          d.u32be(C.NFTA_PAYLOAD_DREG, e.dreg)
            .u32be(C.NFTA_PAYLOAD_BASE, e.base)
            .u32be(C.NFTA_PAYLOAD_OFFSET, e.offset)
            .u32be(C.NFTA_PAYLOAD_LEN, e.len);
        });
        break;
      case 'cmp':
        el.string(C.NFTA_EXPR_NAME, 'cmp').nest(C.NFTA_EXPR_DATA, (d) => {
          d.u32be(C.NFTA_CMP_SREG, e.sreg).u32be(C.NFTA_CMP_OP, e.op);
          writeDataValue(d, C.NFTA_CMP_DATA, e.data);
        });
        break;
      case 'bitwise':
        el.string(C.NFTA_EXPR_NAME, 'bitwise').nest(C.NFTA_EXPR_DATA, (d) => {
          d.u32be(C.NFTA_BITWISE_SREG, e.sreg).u32be(C.NFTA_BITWISE_DREG, e.dreg).u32be(C.NFTA_BITWISE_LEN, e.len);
          writeDataValue(d, C.NFTA_BITWISE_MASK, e.mask);
          writeDataValue(d, C.NFTA_BITWISE_XOR, e.xor);
          // Omitted unless asked for: it defaults to MASK_XOR, and kernels before 5.6 reject it.
          if (e.op !== undefined) d.u32be(C.NFTA_BITWISE_OP, e.op);
        });
        break;
      case 'meta':
        el.string(C.NFTA_EXPR_NAME, 'meta').nest(C.NFTA_EXPR_DATA, (d) => {
          d.u32be(C.NFTA_META_KEY, e.key).u32be(C.NFTA_META_DREG, e.dreg);
        });
        break;
      case 'masq':
        // nft sends an empty data nest for a bare `masquerade`; so do we.
        el.string(C.NFTA_EXPR_NAME, 'masq').nest(C.NFTA_EXPR_DATA, (d) => {
          if (e.flags !== undefined) d.u32be(C.NFTA_MASQ_FLAGS, e.flags);
          if (e.regProtoMin !== undefined) d.u32be(C.NFTA_MASQ_REG_PROTO_MIN, e.regProtoMin);
          if (e.regProtoMax !== undefined) d.u32be(C.NFTA_MASQ_REG_PROTO_MAX, e.regProtoMax);
        });
        break;
      case 'unknown':
        el.string(C.NFTA_EXPR_NAME, e.name);
        if (e.data !== undefined) el.bytes(C.NFTA_EXPR_DATA | NLA_F_NESTED, e.data);
        break;
    }
  });
}

/** The value inside an NFTA_DATA nest, or undefined when it holds something else (a verdict). */
function readDataValue(b: Buffer): Buffer | undefined {
  let value: Buffer | undefined;
  for (const a of new AttrReader(b)) {
    if (a.type === C.NFTA_DATA_VALUE) value = Buffer.from(a.data);
    else return undefined;
  }
  return value;
}

/** Reads a u32 attribute set; any attribute outside `known` (or a bad value) gives undefined. */
function readU32Attrs(data: Buffer, known: readonly number[]): Map<number, number> | undefined {
  const out = new Map<number, number>();
  for (const a of new AttrReader(data)) {
    if (!known.includes(a.type) || a.data.length !== 4) return undefined;
    out.set(a.type, readU32BE(a.data));
  }
  return out;
}

function decodeKnownExpr(name: string, data: Buffer): NftExpr | undefined {
  switch (name) {
    case 'payload': {
      const m = readU32Attrs(data, [C.NFTA_PAYLOAD_DREG, C.NFTA_PAYLOAD_BASE, C.NFTA_PAYLOAD_OFFSET, C.NFTA_PAYLOAD_LEN]);
      const dreg = m?.get(C.NFTA_PAYLOAD_DREG);
      const base = m?.get(C.NFTA_PAYLOAD_BASE);
      const offset = m?.get(C.NFTA_PAYLOAD_OFFSET);
      const len = m?.get(C.NFTA_PAYLOAD_LEN);
      if (dreg === undefined || base === undefined || offset === undefined || len === undefined) return undefined;
      return { kind: 'payload', dreg, base, offset, len };
    }
    case 'cmp': {
      let sreg: number | undefined;
      let op: number | undefined;
      let value: Buffer | undefined;
      for (const a of new AttrReader(data)) {
        if (a.type === C.NFTA_CMP_SREG) sreg = readU32BE(a.data);
        else if (a.type === C.NFTA_CMP_OP) op = readU32BE(a.data);
        else if (a.type === C.NFTA_CMP_DATA) value = readDataValue(a.data);
        else return undefined;
      }
      if (sreg === undefined || op === undefined || value === undefined) return undefined;
      return { kind: 'cmp', sreg, op, data: value };
    }
    case 'bitwise': {
      let sreg: number | undefined;
      let dreg: number | undefined;
      let len: number | undefined;
      let op: number | undefined;
      let mask: Buffer | undefined;
      let xor: Buffer | undefined;
      for (const a of new AttrReader(data)) {
        if (a.type === C.NFTA_BITWISE_SREG) sreg = readU32BE(a.data);
        else if (a.type === C.NFTA_BITWISE_DREG) dreg = readU32BE(a.data);
        else if (a.type === C.NFTA_BITWISE_LEN) len = readU32BE(a.data);
        else if (a.type === C.NFTA_BITWISE_OP) op = readU32BE(a.data);
        else if (a.type === C.NFTA_BITWISE_MASK) mask = readDataValue(a.data);
        else if (a.type === C.NFTA_BITWISE_XOR) xor = readDataValue(a.data);
        else return undefined;
      }
      if (sreg === undefined || dreg === undefined || len === undefined || mask === undefined || xor === undefined) {
        return undefined;
      }
      if (op !== undefined && op !== C.NFT_BITWISE_MASK_XOR) return undefined;
      const e: BitwiseExpr = { kind: 'bitwise', sreg, dreg, len, mask, xor };
      if (op !== undefined) e.op = op;
      return e;
    }
    case 'meta': {
      const m = readU32Attrs(data, [C.NFTA_META_KEY, C.NFTA_META_DREG]);
      const key = m?.get(C.NFTA_META_KEY);
      const dreg = m?.get(C.NFTA_META_DREG);
      if (key === undefined || dreg === undefined) return undefined;
      return { kind: 'meta', key, dreg };
    }
    case 'masq': {
      const m = readU32Attrs(data, [C.NFTA_MASQ_FLAGS, C.NFTA_MASQ_REG_PROTO_MIN, C.NFTA_MASQ_REG_PROTO_MAX]);
      if (m === undefined) return undefined;
      const e: MasqExpr = { kind: 'masq' };
      const flags = m.get(C.NFTA_MASQ_FLAGS);
      const min = m.get(C.NFTA_MASQ_REG_PROTO_MIN);
      const max = m.get(C.NFTA_MASQ_REG_PROTO_MAX);
      if (flags !== undefined) e.flags = flags;
      if (min !== undefined) e.regProtoMin = min;
      if (max !== undefined) e.regProtoMax = max;
      return e;
    }
    default:
      return undefined;
  }
}

/** Decodes one NFTA_LIST_ELEM payload. Structural damage is a DecodeError. */
export function decodeExpr(elem: Buffer): NftExpr {
  let name: string | undefined;
  let data: Buffer | undefined;
  for (const a of new AttrReader(elem)) {
    if (a.type === C.NFTA_EXPR_NAME) name = readString(a.data);
    else if (a.type === C.NFTA_EXPR_DATA) data = a.data;
  }
  if (name === undefined || name === '') throw new DecodeError('nf_tables expression without NFTA_EXPR_NAME');
  const known = decodeKnownExpr(name, data ?? Buffer.alloc(0));
  if (known !== undefined) return known;
  const e: UnknownExpr = { kind: 'unknown', name };
  if (data !== undefined) e.data = Buffer.from(data);
  return e;
}

export function decodeExprList(b: Buffer): NftExpr[] {
  const out: NftExpr[] = [];
  for (const a of new AttrReader(b)) {
    if (a.type !== C.NFTA_LIST_ELEM) throw new DecodeError(`nf_tables expression list holds attribute ${a.type}`);
    out.push(decodeExpr(a.data));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Masquerade rules: what we send, and recognising it again in a dump

export interface Prefix {
  /** 4 bytes for ip, 16 for ip6. Host bits are cleared before sending. */
  address: Buffer;
  prefixLen: number;
}

export interface MasqueradeSpec {
  source: Prefix;
  outInterface?: string;
}

/** Where the source address sits in the network header, by family. */
const SADDR: Readonly<Record<number, { offset: number; len: number }>> = {
  [C.NFPROTO_IPV4]: { offset: 12, len: 4 },
  [C.NFPROTO_IPV6]: { offset: 8, len: 16 },
};

function saddrLayout(family: number): { offset: number; len: number } {
  const l = SADDR[family];
  if (l === undefined) throw new EncodeError(`masquerade rules are only encoded for ip and ip6, not ${familyName(family)}`);
  return l;
}

function prefixMask(bytes: number, prefixLen: number): Buffer {
  const m = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) {
    const bits = Math.min(8, Math.max(0, prefixLen - i * 8));
    m[i] = (0xff << (8 - bits)) & 0xff;
  }
  return m;
}

function checkPrefix(family: number, p: Prefix): { offset: number; len: number } {
  const l = saddrLayout(family);
  if (!Buffer.isBuffer(p.address) || p.address.length !== l.len) {
    throw new EncodeError(`${familyName(family)} source address must be ${l.len} bytes`);
  }
  if (!Number.isInteger(p.prefixLen) || p.prefixLen < 0 || p.prefixLen > l.len * 8) {
    throw new EncodeError(`prefix length ${p.prefixLen} is out of range 0-${l.len * 8}`);
  }
  return l;
}

/**
 * The expressions of `ip saddr A/N [oifname "X"] masquerade`, exactly as nft 1.0.6 emits them:
 * a byte-aligned prefix loads only N/8 bytes and compares them; any other (including /0)
 * loads the whole address, masks it and compares. The interface name is compared as 16
 * zero-padded bytes (IFNAMSIZ), which makes it an exact match rather than a prefix match.
 */
export function masqueradeExprs(family: number, spec: MasqueradeSpec): NftExpr[] {
  const l = checkPrefix(family, spec.source);
  const { prefixLen } = spec.source;
  const mask = prefixMask(l.len, prefixLen);
  const addr = networkOf(spec.source.address, prefixLen);
  const exprs: NftExpr[] = [];
  if (prefixLen % 8 === 0 && prefixLen > 0) {
    const n = prefixLen / 8;
    exprs.push({ kind: 'payload', dreg: C.NFT_REG_1, base: C.NFT_PAYLOAD_NETWORK_HEADER, offset: l.offset, len: n });
    exprs.push({ kind: 'cmp', sreg: C.NFT_REG_1, op: C.NFT_CMP_EQ, data: addr.subarray(0, n) });
  } else {
    exprs.push({ kind: 'payload', dreg: C.NFT_REG_1, base: C.NFT_PAYLOAD_NETWORK_HEADER, offset: l.offset, len: l.len });
    exprs.push({ kind: 'bitwise', sreg: C.NFT_REG_1, dreg: C.NFT_REG_1, len: l.len, mask, xor: Buffer.alloc(l.len) });
    exprs.push({ kind: 'cmp', sreg: C.NFT_REG_1, op: C.NFT_CMP_EQ, data: addr });
  }
  if (spec.outInterface !== undefined) {
    checkIfname(spec.outInterface);
    const name = Buffer.alloc(C.IFNAMSIZ);
    name.write(spec.outInterface, 'utf8');
    exprs.push({ kind: 'meta', key: C.NFT_META_OIFNAME, dreg: C.NFT_REG_1 });
    exprs.push({ kind: 'cmp', sreg: C.NFT_REG_1, op: C.NFT_CMP_EQ, data: name });
  }
  exprs.push({ kind: 'masq' });
  return exprs;
}

/**
 * The comment we store in each masquerade rule: `rtnetlink:masq:<address>/<len>[:<ifname>]`.
 * It shows up in `nft list ruleset`, so anyone can see which rules the library owns. Interface
 * names cannot contain ':', so the optional last field is unambiguous even after an IPv6 address.
 */
export function masqueradeTag(spec: MasqueradeSpec): string {
  const addr = networkOf(spec.source.address, spec.source.prefixLen);
  const base = `${MASQ_TAG_PREFIX}${formatAddress(addr)}/${spec.source.prefixLen}`;
  return spec.outInterface === undefined ? base : `${base}:${spec.outInterface}`;
}

export const MASQ_TAG_PREFIX = 'rtnetlink:masq:';

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

export interface MasqueradeMatch {
  family: number;
  table: string;
  chain: string;
  handle: bigint;
  source: Prefix;
  outInterface?: string;
  comment?: string;
  /** The comment is exactly masqueradeTag() of what the expressions say: we wrote this rule. */
  tagged: boolean;
}

/**
 * Recognises `ip[6] saddr A/N [oifname "X"] masquerade` from the rule's expressions, in any of
 * the encodings nft or we produce (aligned load + cmp, full load + bitwise + cmp). Anything
 * else (other matches, masquerade flags or ports, wildcard interface names, statements such as
 * counters) gives undefined: such a rule is not one we would have written.
 */
export function recogniseMasquerade(rule: NftRule): MasqueradeMatch | undefined {
  const l = SADDR[rule.family];
  if (l === undefined) return undefined;
  const ex = rule.expressions;
  let i = 0;
  const load = ex[i++];
  if (load?.kind !== 'payload' || load.base !== C.NFT_PAYLOAD_NETWORK_HEADER || load.offset !== l.offset) return undefined;
  if (load.len < 1 || load.len > l.len) return undefined;
  let mask: Buffer = Buffer.alloc(load.len, 0xff);
  let next = ex[i++];
  if (next?.kind === 'bitwise') {
    if (next.sreg !== load.dreg || next.dreg !== load.dreg || next.len !== load.len) return undefined;
    if (next.mask.length !== load.len || next.xor.length !== load.len || next.xor.some((b) => b !== 0)) return undefined;
    mask = next.mask;
    next = ex[i++];
  }
  const cmp = next;
  if (cmp?.kind !== 'cmp' || cmp.sreg !== load.dreg || cmp.op !== C.NFT_CMP_EQ || cmp.data.length !== load.len) {
    return undefined;
  }
  const prefixLen = maskPrefixLen(mask);
  if (prefixLen === undefined) return undefined;
  // A compare value with bits outside the mask can never match: not a prefix we wrote.
  if (cmp.data.some((b, k) => (b & ~mask[k]!) !== 0)) return undefined;
  const address = Buffer.alloc(l.len);
  cmp.data.copy(address);

  let outInterface: string | undefined;
  next = ex[i++];
  if (next?.kind === 'meta') {
    const name = ex[i++];
    if (next.key !== C.NFT_META_OIFNAME || name?.kind !== 'cmp' || name.sreg !== next.dreg || name.op !== C.NFT_CMP_EQ) {
      return undefined;
    }
    // Without a NUL inside the compared bytes it is a prefix match (`oifname "eth*"`).
    const nul = name.data.indexOf(0);
    if (nul <= 0 || name.data.subarray(nul).some((b) => b !== 0)) return undefined;
    outInterface = name.data.toString('utf8', 0, nul);
    next = ex[i++];
  }
  if (next?.kind !== 'masq' || next.flags || next.regProtoMin !== undefined || next.regProtoMax !== undefined) {
    return undefined;
  }
  if (i !== ex.length) return undefined;

  const source = { address, prefixLen };
  const m: MasqueradeMatch = {
    family: rule.family,
    table: rule.table,
    chain: rule.chain,
    handle: rule.handle,
    source,
    tagged: false,
  };
  if (outInterface !== undefined) m.outInterface = outInterface;
  if (rule.comment !== undefined) {
    m.comment = rule.comment;
    m.tagged = rule.comment === masqueradeTag(outInterface === undefined ? { source } : { source, outInterface });
  }
  return m;
}

/** Bits set in a contiguous prefix mask; undefined for a mask like 0xff00ff. */
function maskPrefixLen(mask: Buffer): number | undefined {
  let bits = 0;
  let ended = false;
  for (const byte of mask) {
    for (let b = 7; b >= 0; b--) {
      const set = (byte >> b) & 1;
      if (set && ended) return undefined;
      if (set) bits++;
      else ended = true;
    }
  }
  return bits;
}

// ---------------------------------------------------------------------------------------------
// Batches

/**
 * How the kernel answers a batch (checked on Linux 6.18; nfnetlink.c has behaved like this
 * since batches exist, except where noted):
 *
 * - The whole batch runs synchronously inside sendmsg(): when it returns, every answer is
 *   already queued on the socket (nft relies on this and just drains without blocking).
 * - Every inner message sent with NLM_F_ACK (the default here) gets exactly one NLMSG_ERROR,
 *   in order, with that message's seq: error 0 is an ack, otherwise -errno with extended-ack
 *   TLVs. A failing message is reported even without NLM_F_ACK.
 * - One failure aborts the whole transaction: nothing is committed, yet the kernel keeps
 *   validating the rest and still acks (0) the messages that were fine. So the batch
 *   succeeded only if all `expectedAcks` answers are 0 and nothing arrived for `beginSeq`.
 * - Batch-wide failures come as a single NLMSG_ERROR for `beginSeq` (the BATCH_BEGIN): no such
 *   subsystem, generation id mismatch (-ERESTART), and a failing commit, which is reported
 *   first and then followed by the inner acks. After an error for `beginSeq`, drain what is
 *   queued rather than count.
 * - BATCH_BEGIN/END are acked themselves only since Linux 6.10, and only with NLM_F_ACK; we
 *   leave it off by default so the count is the same on every kernel. With
 *   `ackBatchDelimiters` the END ack arrives only when the commit succeeded.
 * - A batch without BATCH_END is aborted, but its messages are still acked with 0; writeBatch
 *   always closes the batch, which is why building one goes through it.
 */
export interface BatchOptions {
  /** NLM_F_ACK on each inner message (default true). */
  ack?: boolean;
  /** NLM_F_ACK on BATCH_BEGIN/END too; only Linux >= 6.10 answers it. Default false. */
  ackBatchDelimiters?: boolean;
}

export interface BatchOp {
  seq: number;
  /** nlmsg_type, e.g. nftMsgType(NFT_MSG_NEWRULE). */
  type: number;
  /** 'NFT_MSG_NEWRULE', ... */
  op: string;
  /** What the message is about, nft-style: 'ip rtnetlink postrouting'. */
  object: string;
}

export interface BatchResult {
  /** Number of messages between BATCH_BEGIN and BATCH_END. */
  count: number;
  /** How many NLMSG_ERROR answers a successful batch yields. */
  expectedAcks: number;
  beginSeq: number;
  endSeq: number;
  /** The first seq after this batch. */
  nextSeq: number;
  ops: BatchOp[];
}

export interface ChainOptions {
  /** NF_INET_* hook number, e.g. NF_INET_POST_ROUTING. */
  hook: number;
  /** Signed; srcnat is 100 (NF_IP_PRI_NAT_SRC). */
  priority: number;
  type: 'nat' | 'filter' | 'route';
  policy?: 'accept' | 'drop';
}

export interface RuleOptions {
  expressions: NftExpr[];
  /** Stored as nft-format userdata (visible as `comment "..."`). */
  comment?: string;
  /** Raw NFTA_RULE_USERDATA; overrides `comment`. */
  userdata?: Buffer;
}

export interface MasqueradeRuleOptions extends MasqueradeSpec {
  /** Defaults to masqueradeTag(spec), which is how recogniseMasquerade() knows its own rules. */
  comment?: string;
}

/** Appends nf_tables messages to a batch; obtained from writeBatch(). */
export class BatchBuilder {
  readonly ops: BatchOp[] = [];
  private seq: number;

  constructor(
    private readonly w: ByteWriter,
    firstInnerSeq: number,
    private readonly ack: boolean,
  ) {
    this.seq = firstInnerSeq >>> 0;
  }

  /** The seq the next message will get. */
  get nextSeq(): number {
    return this.seq;
  }

  private add(
    msg: number,
    flags: number,
    family: number,
    object: string,
    attrs: (a: AttrWriter) => void,
  ): this {
    checkFamily(family);
    const type = nftMsgType(msg);
    const seq = this.seq;
    writeMessage(this.w, type, NLM_F_REQUEST | (this.ack ? NLM_F_ACK : 0) | flags, seq, (w) => {
      writeNfgenmsg(w, family);
      attrs(new AttrWriter(w));
    });
    this.ops.push({ seq, type, op: nftMsgName(type), object });
    this.seq = (seq + 1) >>> 0;
    return this;
  }

  /**
   * `nft add table`: creates the table, or leaves an existing one as it is (no NLM_F_EXCL),
   * which makes it safe to send before every rule change. NFTA_TABLE_FLAGS 0 is what nft
   * sends; on an existing table it would also wake a dormant one, which is what we want.
   */
  newTable(family: number, name: string, opts: { exclusive?: boolean } = {}): this {
    checkName('table', name);
    return this.add(C.NFT_MSG_NEWTABLE, opts.exclusive ? NLM_F_EXCL : 0, family, `${familyName(family)} ${name}`, (a) => {
      a.string(C.NFTA_TABLE_NAME, name).u32be(C.NFTA_TABLE_FLAGS, 0);
    });
  }

  /**
   * `nft add chain ... { type T hook H priority P; policy X; }`: a base chain, idempotent
   * when it exists with the same hook and type (the kernel answers EEXIST/EBUSY if not).
   */
  newChain(family: number, table: string, name: string, opts: ChainOptions, flags: { exclusive?: boolean } = {}): this {
    checkName('table', table);
    checkName('chain', name);
    if (!Number.isInteger(opts.hook) || opts.hook < 0) throw new EncodeError(`chain hook ${opts.hook} is not a hook number`);
    if (!Number.isInteger(opts.priority) || opts.priority < -0x80000000 || opts.priority > 0x7fffffff) {
      throw new EncodeError(`chain priority ${opts.priority} is not an int32`);
    }
    const nlFlags = NLM_F_CREATE | (flags.exclusive ? NLM_F_EXCL : 0);
    return this.add(C.NFT_MSG_NEWCHAIN, nlFlags, family, `${familyName(family)} ${table} ${name}`, (a) => {
      a.string(C.NFTA_CHAIN_TABLE, table).string(C.NFTA_CHAIN_NAME, name).string(C.NFTA_CHAIN_TYPE, opts.type);
      if (opts.policy !== undefined) a.u32be(C.NFTA_CHAIN_POLICY, opts.policy === 'accept' ? C.NF_ACCEPT : C.NF_DROP);
      a.nest(C.NFTA_CHAIN_HOOK, (h) => h.u32be(C.NFTA_HOOK_HOOKNUM, opts.hook).u32be(C.NFTA_HOOK_PRIORITY, opts.priority));
    });
  }

  /** `nft add rule`: appended at the end of the chain. Not idempotent: list first. */
  newRule(family: number, table: string, chain: string, rule: RuleOptions): this {
    checkName('table', table);
    checkName('chain', chain);
    if (rule.expressions.length === 0) throw new EncodeError('a rule needs at least one expression');
    const userdata = rule.userdata ?? (rule.comment !== undefined ? encodeRuleComment(rule.comment) : undefined);
    if (userdata !== undefined && userdata.length > C.NFT_USERDATA_MAXLEN) {
      throw new EncodeError(`rule userdata of ${userdata.length} bytes exceeds ${C.NFT_USERDATA_MAXLEN}`);
    }
    const object = `${familyName(family)} ${table} ${chain}${rule.comment !== undefined ? ` comment "${rule.comment}"` : ''}`;
    return this.add(C.NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, family, object, (a) => {
      a.string(C.NFTA_RULE_TABLE, table).string(C.NFTA_RULE_CHAIN, chain);
      a.nest(C.NFTA_RULE_EXPRESSIONS, (list) => {
        for (const e of rule.expressions) writeExpr(list, e);
      });
      if (userdata !== undefined) a.bytes(C.NFTA_RULE_USERDATA, userdata);
    });
  }

  /** `ip[6] saddr A/N [oifname "X"] masquerade comment "rtnetlink:masq:..."`. */
  newMasqueradeRule(family: number, table: string, chain: string, spec: MasqueradeRuleOptions): this {
    const exprs = masqueradeExprs(family, spec);
    const plain: MasqueradeSpec =
      spec.outInterface === undefined ? { source: spec.source } : { source: spec.source, outInterface: spec.outInterface };
    return this.newRule(family, table, chain, { expressions: exprs, comment: spec.comment ?? masqueradeTag(plain) });
  }

  /** `nft delete rule ... handle N`; ENOENT if it is gone. */
  delRule(family: number, table: string, chain: string, handle: bigint): this {
    checkName('table', table);
    checkName('chain', chain);
    checkHandle(handle);
    return this.add(C.NFT_MSG_DELRULE, 0, family, `${familyName(family)} ${table} ${chain} handle ${handle}`, (a) => {
      a.string(C.NFTA_RULE_TABLE, table).string(C.NFTA_RULE_CHAIN, chain).u64be(C.NFTA_RULE_HANDLE, handle);
    });
  }

  /** `nft delete chain`; EBUSY while it holds rules (from earlier batches). */
  delChain(family: number, table: string, name: string): this {
    checkName('table', table);
    checkName('chain', name);
    return this.add(C.NFT_MSG_DELCHAIN, 0, family, `${familyName(family)} ${table} ${name}`, (a) => {
      a.string(C.NFTA_CHAIN_TABLE, table).string(C.NFTA_CHAIN_NAME, name);
    });
  }

  /** `nft delete table`: takes its chains and rules with it; ENOENT if there is none. */
  delTable(family: number, name: string): this {
    checkName('table', name);
    return this.add(C.NFT_MSG_DELTABLE, 0, family, `${familyName(family)} ${name}`, (a) => {
      a.string(C.NFTA_TABLE_NAME, name);
    });
  }
}

/**
 * Writes one nf_tables transaction: BATCH_BEGIN (seq firstSeq), the messages `body` adds
 * (firstSeq+1, ...), BATCH_END. See BatchOptions for what the kernel answers.
 * An empty batch is written too (the kernel accepts it and does nothing).
 */
export function writeBatch(
  w: ByteWriter,
  firstSeq: number,
  body: (b: BatchBuilder) => void,
  opts: BatchOptions = {},
): BatchResult {
  const ack = opts.ack ?? true;
  const delimFlags = NLM_F_REQUEST | (opts.ackBatchDelimiters ? NLM_F_ACK : 0);
  const beginSeq = firstSeq >>> 0;
  const start = w.length;
  // res_id names the subsystem the batch is for; family is AF_UNSPEC, as nft sends.
  writeMessage(w, C.NFNL_MSG_BATCH_BEGIN, delimFlags, beginSeq, (m) => writeNfgenmsg(m, C.NFPROTO_UNSPEC, C.NFNL_SUBSYS_NFTABLES));
  const b = new BatchBuilder(w, beginSeq + 1, ack);
  try {
    body(b);
  } catch (err) {
    // Leave the writer as it was: a half-written batch must never be sent.
    w.length = start;
    throw err;
  }
  const endSeq = b.nextSeq;
  writeMessage(w, C.NFNL_MSG_BATCH_END, delimFlags, endSeq, (m) => writeNfgenmsg(m, C.NFPROTO_UNSPEC, C.NFNL_SUBSYS_NFTABLES));
  const count = b.ops.length;
  const expectedAcks = (ack ? count : 0) + (opts.ackBatchDelimiters ? 2 : 0);
  return { count, expectedAcks, beginSeq, endSeq, nextSeq: (endSeq + 1) >>> 0, ops: b.ops };
}

// ---------------------------------------------------------------------------------------------
// Dump requests. Not acked (the dump ends with NLMSG_DONE), like nft's.

function writeDump(w: ByteWriter, seq: number, msg: number, family: number, attrs?: (a: AttrWriter) => void): number {
  checkFamily(family);
  writeMessage(w, nftMsgType(msg), NLM_F_REQUEST | NLM_F_DUMP, seq, (m) => {
    writeNfgenmsg(m, family);
    if (attrs) attrs(new AttrWriter(m));
  });
  return seq >>> 0;
}

/** Dumps every table of `family` (NFPROTO_UNSPEC: all families). Returns the seq. */
export function getTables(w: ByteWriter, seq: number, family: number = C.NFPROTO_UNSPEC): number {
  return writeDump(w, seq, C.NFT_MSG_GETTABLE, family);
}

/** Dumps every chain of `family`; the kernel has no table filter for chain dumps. */
export function getChains(w: ByteWriter, seq: number, family: number = C.NFPROTO_UNSPEC): number {
  return writeDump(w, seq, C.NFT_MSG_GETCHAIN, family);
}

/**
 * Dumps rules, optionally only those of one table, or one chain of it (the kernel filters;
 * a filter naming nothing that exists yields an empty dump, not ENOENT).
 */
export function getRules(
  w: ByteWriter,
  seq: number,
  family: number = C.NFPROTO_UNSPEC,
  table?: string,
  chain?: string,
): number {
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

// ---------------------------------------------------------------------------------------------
// Decoders for the kernel's NEW*/DEL* messages (dump entries and notifications)

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

function keep(a: Attr): Attr {
  return { type: a.type, nested: a.nested, data: Buffer.from(a.data) };
}

function readU64BE(b: Buffer, what: string): bigint {
  if (b.length < 8) throw new DecodeError(`${what}: attribute payload of ${b.length} bytes, need 8`);
  return b.readBigUInt64BE(0);
}

function readI32BE(b: Buffer, what: string): number {
  if (b.length < 4) throw new DecodeError(`${what}: attribute payload of ${b.length} bytes, need 4`);
  return b.readInt32BE(0);
}

function expectType(msg: NetlinkMessage, accepted: number[], what: string): void {
  if (!accepted.some((m) => msg.type === nftMsgType(m))) {
    throw new DecodeError(`expected an nf_tables ${what} message, got ${nftMsgName(msg.type)}`);
  }
}

function required<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new DecodeError(`nf_tables message without ${what}`);
  return v;
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
