// `cmp`: compares a register with a constant (NFT_CMP_EQ, NEQ, ...); the rule stops here
// when the comparison fails.
import { AttrReader, readU32BE } from '../../netlink/attributes.js';
import * as C from '../constants.js';
import { readDataValue, writeDataValue, type ExprCodec } from './data.js';

export interface CmpExpr {
  kind: 'cmp';
  sreg: number;
  op: number;
  data: Buffer;
}

export const cmp: ExprCodec<CmpExpr> = {
  name: 'cmp',
  write: (d, e) => {
    d.u32be(C.NFTA_CMP_SREG, e.sreg).u32be(C.NFTA_CMP_OP, e.op);
    writeDataValue(d, C.NFTA_CMP_DATA, e.data);
  },
  read: (data) => {
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
  },
};
