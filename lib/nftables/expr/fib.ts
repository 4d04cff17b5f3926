// `fib`: a routing lookup for the packet; `fib daddr type` loads the destination's address
// type (RTN_LOCAL for one of this host's addresses), which is how a port is published on
// every local address.
import * as C from '../constants.js';
import { readU32Attrs, type ExprCodec } from './data.js';

export interface FibExpr {
  kind: 'fib';
  dreg: number;
  /** NFT_FIB_RESULT_*. */
  result: number;
  /** NFTA_FIB_F_*: which fields of the packet the lookup uses. */
  flags: number;
}

export const fib: ExprCodec<FibExpr> = {
  name: 'fib',
  write: (d, e) => {
    d.u32be(C.NFTA_FIB_FLAGS, e.flags).u32be(C.NFTA_FIB_RESULT, e.result).u32be(C.NFTA_FIB_DREG, e.dreg);
  },
  read: (data) => {
    const m = readU32Attrs(data, [C.NFTA_FIB_DREG, C.NFTA_FIB_RESULT, C.NFTA_FIB_FLAGS]);
    const dreg = m?.get(C.NFTA_FIB_DREG);
    const result = m?.get(C.NFTA_FIB_RESULT);
    const flags = m?.get(C.NFTA_FIB_FLAGS);
    if (dreg === undefined || result === undefined || flags === undefined) return undefined;
    return { kind: 'fib', dreg, result, flags };
  },
};
