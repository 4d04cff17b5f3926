// The masquerade rule's shape: the expressions of `ip[6] saddr A/N [oifname "X"] masquerade`
// exactly as nft writes them, the comment that marks the rules we wrote, and recognising such
// a rule again in a dump.
import { EncodeError } from '../../netlink/attributes.js';
import { formatAddress, networkOf } from '../../ip.js';
import * as C from '../constants.js';
import type { NftExpr } from '../expr/index.js';
import { checkIfname, familyName } from '../message.js';
import type { NftRule } from '../rule.js';

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

export function prefixMask(bytes: number, prefixLen: number): Buffer {
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
export function maskPrefixLen(mask: Buffer): number | undefined {
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
