// nf_tables expressions: one file per kind, each with its interface and codec (how it is
// written, in nft's attribute order, and read back). A new expression is a new file and one
// line in each list below.
import { AttrReader, DecodeError, NLA_F_NESTED, readString, type AttrWriter } from '../../netlink/attributes.js';
import * as C from '../constants.js';
import { bitwise, type BitwiseExpr } from './bitwise.js';
import { cmp, type CmpExpr } from './cmp.js';
import type { ExprCodec } from './data.js';
import { fib, type FibExpr } from './fib.js';
import { immediate, type ImmediateExpr } from './immediate.js';
import { masq, type MasqExpr } from './masq.js';
import { meta, type MetaExpr } from './meta.js';
import { nat, type NatExpr } from './nat.js';
import { payload, type PayloadExpr } from './payload.js';

export type { BitwiseExpr, CmpExpr, FibExpr, ImmediateExpr, MasqExpr, MetaExpr, NatExpr, PayloadExpr };

/**
 * Any expression this codec does not model, or a modelled one carrying attributes it does not
 * know: kept byte for byte so nothing is lost, and never mistaken for one of ours.
 */
export interface UnknownExpr {
  kind: 'unknown';
  name: string;
  /** The NFTA_EXPR_DATA payload (its attributes), if present. */
  data?: Buffer;
}

export type NftExpr = PayloadExpr | CmpExpr | BitwiseExpr | MetaExpr | MasqExpr | FibExpr | ImmediateExpr | NatExpr | UnknownExpr;

type Known = Exclude<NftExpr, UnknownExpr>;

const CODECS: { [K in Known['kind']]: ExprCodec<Extract<Known, { kind: K }>> } = { payload, cmp, bitwise, meta, masq, fib, immediate, nat };
const BY_NAME = new Map<string, ExprCodec<Known>>(Object.values(CODECS).map((c) => [c.name, c as ExprCodec<Known>]));

/** Appends one NFTA_LIST_ELEM (name + data) with the attribute order nft uses. */
export function writeExpr(a: AttrWriter, e: NftExpr): void {
  a.nest(C.NFTA_LIST_ELEM, (el) => {
    if (e.kind === 'unknown') {
      el.string(C.NFTA_EXPR_NAME, e.name);
      if (e.data !== undefined) el.bytes(C.NFTA_EXPR_DATA | NLA_F_NESTED, e.data);
      return;
    }
    const codec = CODECS[e.kind] as ExprCodec<Known>;
    el.string(C.NFTA_EXPR_NAME, codec.name).nest(C.NFTA_EXPR_DATA, (d) => codec.write(d, e));
  });
}

/** Decodes one NFTA_LIST_ELEM payload. Structural damage is a DecodeError. */
export function decodeExpr(elem: Buffer): NftExpr {
  let name: string | undefined;
  let data: Buffer | undefined;
  for (const a of new AttrReader(elem)) {
    if (a.type === C.NFTA_EXPR_NAME) name = readString(a.data);
    else if (a.type === C.NFTA_EXPR_DATA) data = a.data;
  }
  if (name === undefined || name === '') throw new DecodeError('nf_tables expression without NFTA_EXPR_NAME');
  const known = BY_NAME.get(name)?.read(data ?? Buffer.alloc(0));
  if (known !== undefined) return known;
  const e: UnknownExpr = { kind: 'unknown', name };
  if (data !== undefined) e.data = Buffer.from(data);
  return e;
}

export function decodeExprList(b: Buffer): NftExpr[] {
  const out: NftExpr[] = [];
  for (const a of new AttrReader(b)) {
    if (a.type !== C.NFTA_LIST_ELEM) throw new DecodeError(`nf_tables expression list holds attribute ${a.type}`);
    out.push(decodeExpr(a.data));
  }
  return out;
}
