// `meta`: loads a packet property (NFT_META_*: oifname, l4proto, ...) into a register. Meta
// *set* (sreg) is not modelled.
import * as C from '../constants.js';
import { readU32Attrs, type ExprCodec } from './data.js';

export interface MetaExpr {
  kind: 'meta';
  key: number;
  dreg: number;
}

export const meta: ExprCodec<MetaExpr> = {
  name: 'meta',
  write: (d, e) => {
    d.u32be(C.NFTA_META_KEY, e.key).u32be(C.NFTA_META_DREG, e.dreg);
  },
  read: (data) => {
    const m = readU32Attrs(data, [C.NFTA_META_KEY, C.NFTA_META_DREG]);
    const key = m?.get(C.NFTA_META_KEY);
    const dreg = m?.get(C.NFTA_META_DREG);
    if (key === undefined || dreg === undefined) return undefined;
    return { kind: 'meta', key, dreg };
  },
};
