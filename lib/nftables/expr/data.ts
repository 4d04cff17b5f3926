// The pieces expressions share: NFTA_DATA values (compare operands, loaded constants) and
// attribute sets of big-endian u32s (registers, offsets, keys, flags).
import { AttrReader, EncodeError, readU32BE, type AttrWriter } from '../../netlink/attributes.js';
import * as C from '../constants.js';

/** How one expression kind is written and read back. `read` gives undefined for anything it
 *  does not fully understand: the expression is then kept as an UnknownExpr, byte for byte. */
export interface ExprCodec<E extends { kind: string }> {
  /** NFTA_EXPR_NAME. */
  name: string;
  /** Writes NFTA_EXPR_DATA's attributes, in the order nft writes them. */
  write(d: AttrWriter, e: E): void;
  read(data: Buffer): E | undefined;
}

export function writeDataValue(a: AttrWriter, type: number, value: Buffer): void {
  if (value.length === 0 || value.length > C.NFT_DATA_VALUE_MAXLEN) {
    throw new EncodeError(`nf_tables data value of ${value.length} bytes (1-${C.NFT_DATA_VALUE_MAXLEN})`);
  }
  a.nest(type, (n) => n.bytes(C.NFTA_DATA_VALUE, value));
}

/** The value inside an NFTA_DATA nest, or undefined when it holds something else (a verdict). */
export function readDataValue(b: Buffer): Buffer | undefined {
  let value: Buffer | undefined;
  for (const a of new AttrReader(b)) {
    if (a.type === C.NFTA_DATA_VALUE) value = Buffer.from(a.data);
    else return undefined;
  }
  return value;
}

/** Reads a u32 attribute set; any attribute outside `known` (or a bad value) gives undefined. */
export function readU32Attrs(data: Buffer, known: readonly number[]): Map<number, number> | undefined {
  const out = new Map<number, number>();
  for (const a of new AttrReader(data)) {
    if (!known.includes(a.type) || a.data.length !== 4) return undefined;
    out.set(a.type, readU32BE(a.data));
  }
  return out;
}
