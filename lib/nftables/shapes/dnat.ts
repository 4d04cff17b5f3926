// The port-forward rule's shape: `[ip daddr H | fib daddr type local] tcp dport P dnat to A:Q`
// exactly as nft writes it, in two chains: prerouting (connections from outside) and output
// (connections the host itself makes; without a host address, loopback destinations are left
// alone there: `ip daddr != 127.0.0.0/8`, `ip6 daddr != ::1`). A comment marks the rules we
// wrote, and recognisePortForward() reads such a rule back from a dump.
import { EncodeError } from '../../netlink/attributes.js';
import { formatAddress } from '../../ip.js';
import * as C from '../constants.js';
import type { NftExpr } from '../expr/index.js';
import { familyName } from '../message.js';
import type { NftRule } from '../rule.js';

export type PortForwardProtocol = 'tcp' | 'udp';
export type DnatHook = 'prerouting' | 'output';

export interface PortForwardSpec {
  protocol: PortForwardProtocol;
  hostPort: number;
  /** Only connections to this address of the host (4 or 16 bytes); else any local address. */
  hostAddress?: Buffer;
  to: { address: Buffer; port: number };
}

export interface PortForwardMatch extends PortForwardSpec {
  family: number;
  table: string;
  chain: string;
  handle: bigint;
  comment?: string;
  /** The comment is exactly portForwardTag() of what the expressions say: we wrote this rule. */
  tagged: boolean;
}

/** Where the destination address sits in the network header, and the loopback we leave alone. */
const DADDR: Readonly<Record<number, { offset: number; len: number; loopback: Buffer }>> = {
  [C.NFPROTO_IPV4]: { offset: 16, len: 4, loopback: Buffer.from([127]) }, // 127.0.0.0/8: the first byte
  [C.NFPROTO_IPV6]: { offset: 24, len: 16, loopback: Buffer.from('00000000000000000000000000000001', 'hex') }, // ::1
};

const PROTOCOLS: Record<PortForwardProtocol, number> = { tcp: C.IPPROTO_TCP, udp: C.IPPROTO_UDP };

function layout(family: number) {
  const l = DADDR[family];
  if (l === undefined) throw new EncodeError(`port forwards are only encoded for ip and ip6, not ${familyName(family)}`);
  return l;
}

const u16be = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32le = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

function checkPort(what: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new EncodeError(`${what} ${port} is not a port (1-65535)`);
}

/** The expressions of one port-forward rule for `hook`, as nft 1.0.6 emits them. */
export function dnatExprs(family: number, hook: DnatHook, spec: PortForwardSpec): NftExpr[] {
  const l = layout(family);
  checkPort('host port', spec.hostPort);
  checkPort('destination port', spec.to.port);
  if (spec.to.address.length !== l.len) throw new EncodeError(`${familyName(family)} destination address must be ${l.len} bytes`);
  const R1 = C.NFT_REG_1;
  const exprs: NftExpr[] = [];
  if (spec.hostAddress !== undefined) {
    if (spec.hostAddress.length !== l.len) throw new EncodeError(`${familyName(family)} host address must be ${l.len} bytes`);
    exprs.push({ kind: 'payload', dreg: R1, base: C.NFT_PAYLOAD_NETWORK_HEADER, offset: l.offset, len: l.len });
    exprs.push({ kind: 'cmp', sreg: R1, op: C.NFT_CMP_EQ, data: spec.hostAddress });
  } else {
    if (hook === 'output') {
      exprs.push({ kind: 'payload', dreg: R1, base: C.NFT_PAYLOAD_NETWORK_HEADER, offset: l.offset, len: l.loopback.length });
      exprs.push({ kind: 'cmp', sreg: R1, op: C.NFT_CMP_NEQ, data: l.loopback });
    }
    exprs.push({ kind: 'fib', dreg: R1, result: C.NFT_FIB_RESULT_ADDRTYPE, flags: C.NFTA_FIB_F_DADDR });
    exprs.push({ kind: 'cmp', sreg: R1, op: C.NFT_CMP_EQ, data: u32le(C.RTN_LOCAL) });
  }
  exprs.push({ kind: 'meta', key: C.NFT_META_L4PROTO, dreg: R1 });
  exprs.push({ kind: 'cmp', sreg: R1, op: C.NFT_CMP_EQ, data: Buffer.from([PROTOCOLS[spec.protocol]]) });
  exprs.push({ kind: 'payload', dreg: R1, base: C.NFT_PAYLOAD_TRANSPORT_HEADER, offset: 2, len: 2 });
  exprs.push({ kind: 'cmp', sreg: R1, op: C.NFT_CMP_EQ, data: u16be(spec.hostPort) });
  exprs.push({ kind: 'immediate', dreg: R1, data: spec.to.address });
  exprs.push({ kind: 'immediate', dreg: C.NFT_REG_2, data: u16be(spec.to.port) });
  exprs.push({ kind: 'nat', type: C.NFT_NAT_DNAT, family, regAddrMin: R1, regProtoMin: C.NFT_REG_2, flags: C.NF_NAT_RANGE_PROTO_SPECIFIED });
  return exprs;
}

/** 'a.b.c.d:port' or '[v6]:port'. */
export const endpointText = (address: Buffer, port: number) => (address.length === 16 ? `[${formatAddress(address)}]:${port}` : `${formatAddress(address)}:${port}`);

export const DNAT_TAG_PREFIX = 'rtnetlink:dnat:';

/**
 * The comment in each port-forward rule, `rtnetlink:dnat:tcp/[HOST:]PORT->ADDR:PORT` (IPv6
 * addresses in brackets): `nft list ruleset` shows which rules the library owns and what they do.
 */
export function portForwardTag(spec: PortForwardSpec): string {
  const host = spec.hostAddress !== undefined ? endpointText(spec.hostAddress, spec.hostPort) : String(spec.hostPort);
  return `${DNAT_TAG_PREFIX}${spec.protocol}/${host}->${endpointText(spec.to.address, spec.to.port)}`;
}

/**
 * Recognises one of our port-forward rules from its expressions (for the chain it is in:
 * the loopback exception belongs to output rules without a host address). Anything else
 * (other matches, port ranges, counters, a dnat without port) gives undefined.
 */
export function recognisePortForward(rule: NftRule): PortForwardMatch | undefined {
  const l = DADDR[rule.family];
  if (l === undefined || (rule.chain !== 'prerouting' && rule.chain !== 'output')) return undefined;
  const ex = rule.expressions;
  let i = 0;
  const R1 = C.NFT_REG_1;
  const load = (base: number, offset: number, len: number) => {
    const e = ex[i];
    if (e?.kind !== 'payload' || e.dreg !== R1 || e.base !== base || e.offset !== offset || e.len !== len) return false;
    i++;
    return true;
  };
  const compare = (op: number): Buffer | undefined => {
    const e = ex[i];
    if (e?.kind !== 'cmp' || e.sreg !== R1 || e.op !== op) return undefined;
    i++;
    return e.data;
  };
  let hostAddress: Buffer | undefined;
  // `ip daddr H` loads the whole address and compares for equality; the output chain's
  // loopback exception loads (for IPv6 also the whole address) and compares for inequality.
  const next = ex[i + 1];
  if (next?.kind === 'cmp' && next.op === C.NFT_CMP_EQ && load(C.NFT_PAYLOAD_NETWORK_HEADER, l.offset, l.len)) {
    hostAddress = compare(C.NFT_CMP_EQ);
    if (hostAddress?.length !== l.len) return undefined;
  } else {
    if (rule.chain === 'output') {
      if (!load(C.NFT_PAYLOAD_NETWORK_HEADER, l.offset, l.loopback.length)) return undefined;
      if (!compare(C.NFT_CMP_NEQ)?.equals(l.loopback)) return undefined;
    }
    const f = ex[i++];
    if (f?.kind !== 'fib' || f.dreg !== R1 || f.result !== C.NFT_FIB_RESULT_ADDRTYPE || f.flags !== C.NFTA_FIB_F_DADDR) return undefined;
    if (!compare(C.NFT_CMP_EQ)?.equals(u32le(C.RTN_LOCAL))) return undefined;
  }
  const m = ex[i++];
  if (m?.kind !== 'meta' || m.key !== C.NFT_META_L4PROTO || m.dreg !== R1) return undefined;
  const proto = compare(C.NFT_CMP_EQ);
  const protocol = (Object.keys(PROTOCOLS) as PortForwardProtocol[]).find((p) => proto?.length === 1 && proto[0] === PROTOCOLS[p]);
  if (protocol === undefined) return undefined;
  if (!load(C.NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2)) return undefined;
  const dport = compare(C.NFT_CMP_EQ);
  if (dport?.length !== 2) return undefined;
  const addr = ex[i++];
  const port = ex[i++];
  const nat = ex[i++];
  if (addr?.kind !== 'immediate' || addr.dreg !== R1 || addr.data.length !== l.len) return undefined;
  if (port?.kind !== 'immediate' || port.dreg !== C.NFT_REG_2 || port.data.length !== 2) return undefined;
  if (nat?.kind !== 'nat' || nat.type !== C.NFT_NAT_DNAT || nat.family !== rule.family || nat.regAddrMin !== R1 || nat.regProtoMin !== C.NFT_REG_2) return undefined;
  // The kernel reports back what it filled in: the range's upper registers equal to the lower
  // ones, and MAP_IPS beside PROTO_SPECIFIED.
  if ((nat.regAddrMax ?? R1) !== R1 || (nat.regProtoMax ?? C.NFT_REG_2) !== C.NFT_REG_2) return undefined;
  if (((nat.flags ?? 0) & ~C.NF_NAT_RANGE_MAP_IPS) !== C.NF_NAT_RANGE_PROTO_SPECIFIED) return undefined;
  if (i !== ex.length) return undefined;
  const spec: PortForwardSpec = { protocol, hostPort: dport.readUInt16BE(0), to: { address: addr.data, port: port.data.readUInt16BE(0) } };
  if (hostAddress !== undefined) spec.hostAddress = hostAddress;
  const match: PortForwardMatch = { ...spec, family: rule.family, table: rule.table, chain: rule.chain, handle: rule.handle, tagged: false };
  if (rule.comment !== undefined) {
    match.comment = rule.comment;
    match.tagged = rule.comment === portForwardTag(spec);
  }
  return match;
}
