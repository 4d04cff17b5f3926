// `payload`: loads bytes of a packet header into a register (`ip saddr` is network header +
// 12, 4 bytes; `tcp dport` is transport header + 2, 2 bytes).
import * as C from '../constants.js';
import { readU32Attrs, type ExprCodec } from './data.js';

export interface PayloadExpr {
  kind: 'payload';
  dreg: number;
  /** NFT_PAYLOAD_*_HEADER. */
  base: number;
  offset: number;
  len: number;
}

export const payload: ExprCodec<PayloadExpr> = {
  name: 'payload',
  write: (d, e) => {
    d.u32be(C.NFTA_PAYLOAD_DREG, e.dreg).u32be(C.NFTA_PAYLOAD_BASE, e.base).u32be(C.NFTA_PAYLOAD_OFFSET, e.offset).u32be(C.NFTA_PAYLOAD_LEN, e.len);
  },
  read: (data) => {
    const m = readU32Attrs(data, [C.NFTA_PAYLOAD_DREG, C.NFTA_PAYLOAD_BASE, C.NFTA_PAYLOAD_OFFSET, C.NFTA_PAYLOAD_LEN]);
    const dreg = m?.get(C.NFTA_PAYLOAD_DREG);
    const base = m?.get(C.NFTA_PAYLOAD_BASE);
    const offset = m?.get(C.NFTA_PAYLOAD_OFFSET);
    const len = m?.get(C.NFTA_PAYLOAD_LEN);
    if (dreg === undefined || base === undefined || offset === undefined || len === undefined) return undefined;
    return { kind: 'payload', dreg, base, offset, len };
  },
};
