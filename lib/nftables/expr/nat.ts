// `nat`: source or destination NAT to the address (and port) held in registers, e.g.
// `dnat to 192.168.0.2:80` after two immediates.
import * as C from '../constants.js';
import { readU32Attrs, type ExprCodec } from './data.js';

export interface NatExpr {
  kind: 'nat';
  /** NFT_NAT_SNAT or NFT_NAT_DNAT. */
  type: number;
  /** NFPROTO_IPV4 or NFPROTO_IPV6: the family of the addresses. */
  family: number;
  regAddrMin?: number;
  regAddrMax?: number;
  regProtoMin?: number;
  regProtoMax?: number;
  /** NF_NAT_RANGE_*: PROTO_SPECIFIED when a port is given. */
  flags?: number;
}

const FIELDS = [
  ['regAddrMin', C.NFTA_NAT_REG_ADDR_MIN],
  ['regAddrMax', C.NFTA_NAT_REG_ADDR_MAX],
  ['regProtoMin', C.NFTA_NAT_REG_PROTO_MIN],
  ['regProtoMax', C.NFTA_NAT_REG_PROTO_MAX],
  ['flags', C.NFTA_NAT_FLAGS],
] as const;

export const nat: ExprCodec<NatExpr> = {
  name: 'nat',
  write: (d, e) => {
    d.u32be(C.NFTA_NAT_TYPE, e.type).u32be(C.NFTA_NAT_FAMILY, e.family);
    for (const [field, type] of FIELDS) {
      const v = e[field];
      if (v !== undefined) d.u32be(type, v);
    }
  },
  read: (data) => {
    const m = readU32Attrs(data, [C.NFTA_NAT_TYPE, C.NFTA_NAT_FAMILY, ...FIELDS.map(([, t]) => t)]);
    const type = m?.get(C.NFTA_NAT_TYPE);
    const family = m?.get(C.NFTA_NAT_FAMILY);
    if (m === undefined || type === undefined || family === undefined) return undefined;
    const e: NatExpr = { kind: 'nat', type, family };
    for (const [field, t] of FIELDS) {
      const v = m.get(t);
      if (v !== undefined) e[field] = v;
    }
    return e;
  },
};
