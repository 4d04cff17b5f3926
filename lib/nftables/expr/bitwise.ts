// `bitwise`: dreg = (sreg & mask) ^ xor, how nft matches a prefix that is not byte-aligned.
import { AttrReader, readU32BE } from '../../netlink/attributes.js';
import * as C from '../constants.js';
import { readDataValue, writeDataValue, type ExprCodec } from './data.js';

/** `op` is only present when the kernel reports it (dumps). */
export interface BitwiseExpr {
  kind: 'bitwise';
  sreg: number;
  dreg: number;
  len: number;
  mask: Buffer;
  xor: Buffer;
  op?: number;
}

export const bitwise: ExprCodec<BitwiseExpr> = {
  name: 'bitwise',
  write: (d, e) => {
    d.u32be(C.NFTA_BITWISE_SREG, e.sreg).u32be(C.NFTA_BITWISE_DREG, e.dreg).u32be(C.NFTA_BITWISE_LEN, e.len);
    writeDataValue(d, C.NFTA_BITWISE_MASK, e.mask);
    writeDataValue(d, C.NFTA_BITWISE_XOR, e.xor);
    // Omitted unless asked for: it defaults to MASK_XOR, and kernels before 5.6 reject it.
    if (e.op !== undefined) d.u32be(C.NFTA_BITWISE_OP, e.op);
  },
  read: (data) => {
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
    if (sreg === undefined || dreg === undefined || len === undefined || mask === undefined || xor === undefined) return undefined;
    if (op !== undefined && op !== C.NFT_BITWISE_MASK_XOR) return undefined;
    const e: BitwiseExpr = { kind: 'bitwise', sreg, dreg, len, mask, xor };
    if (op !== undefined) e.op = op;
    return e;
  },
};
