// `immediate`: loads a constant into a register (the address and port a `dnat to` uses).
// Verdicts (`accept`, `jump`) are immediates into the verdict register; they are not modelled
// and decode as UnknownExpr.
import { AttrReader, readU32BE } from '../../netlink/attributes.js';
import * as C from '../constants.js';
import { readDataValue, writeDataValue, type ExprCodec } from './data.js';

export interface ImmediateExpr {
  kind: 'immediate';
  dreg: number;
  data: Buffer;
}

export const immediate: ExprCodec<ImmediateExpr> = {
  name: 'immediate',
  write: (d, e) => {
    d.u32be(C.NFTA_IMMEDIATE_DREG, e.dreg);
    writeDataValue(d, C.NFTA_IMMEDIATE_DATA, e.data);
  },
  read: (data) => {
    let dreg: number | undefined;
    let value: Buffer | undefined;
    for (const a of new AttrReader(data)) {
      if (a.type === C.NFTA_IMMEDIATE_DREG) dreg = readU32BE(a.data);
      else if (a.type === C.NFTA_IMMEDIATE_DATA) value = readDataValue(a.data);
      else return undefined;
    }
    if (dreg === undefined || dreg === C.NFT_REG_VERDICT || value === undefined) return undefined;
    return { kind: 'immediate', dreg, data: value };
  },
};
