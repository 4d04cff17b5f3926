// `masq`: source NAT to the outgoing interface's address (`masquerade`).
import * as C from '../constants.js';
import { readU32Attrs, type ExprCodec } from './data.js';

export interface MasqExpr {
  kind: 'masq';
  /** NF_NAT_RANGE_* flags: `random`, `persistent`, `fully-random`. */
  flags?: number;
  regProtoMin?: number;
  regProtoMax?: number;
}

export const masq: ExprCodec<MasqExpr> = {
  name: 'masq',
  // nft sends an empty data nest for a bare `masquerade`; so do we.
  write: (d, e) => {
    if (e.flags !== undefined) d.u32be(C.NFTA_MASQ_FLAGS, e.flags);
    if (e.regProtoMin !== undefined) d.u32be(C.NFTA_MASQ_REG_PROTO_MIN, e.regProtoMin);
    if (e.regProtoMax !== undefined) d.u32be(C.NFTA_MASQ_REG_PROTO_MAX, e.regProtoMax);
  },
  read: (data) => {
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
  },
};
