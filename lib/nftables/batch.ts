// nf_tables transactions: BATCH_BEGIN, the messages, BATCH_END, sent in one sendmsg and
// committed (or refused) as a whole. BatchBuilder adds the messages; what each one carries is
// written by its object's file (table.ts, chain.ts, rule.ts).
import { AttrWriter, ByteWriter } from '../netlink/attributes.js';
import { NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, writeMessage } from '../netlink/message.js';
import * as C from './constants.js';
import { delChainAttrs, newChainAttrs, type ChainOptions } from './chain.js';
import { checkFamily, familyName, nftMsgName, nftMsgType, writeNfgenmsg } from './message.js';
import { delRuleAttrs, newRuleAttrs, type RuleOptions } from './rule.js';
import { masqueradeExprs, masqueradeTag, type MasqueradeSpec } from './shapes/masquerade.js';
import { delTableAttrs, newTableAttrs } from './table.js';

/**
 * How the kernel answers a batch (checked on Linux 6.18; nfnetlink.c has behaved like this
 * since batches exist, except where noted):
 *
 * - The whole batch runs synchronously inside sendmsg(): when it returns, every answer is
 *   already queued on the socket (nft relies on this and just drains without blocking).
 * - Every inner message sent with NLM_F_ACK (the default here) gets exactly one NLMSG_ERROR,
 *   in order, with that message's seq: error 0 is an ack, otherwise -errno with extended-ack
 *   TLVs. A failing message is reported even without NLM_F_ACK.
 * - One failure aborts the whole transaction: nothing is committed, yet the kernel keeps
 *   validating the rest and still acks (0) the messages that were fine. So the batch
 *   succeeded only if all `expectedAcks` answers are 0 and nothing arrived for `beginSeq`.
 * - Batch-wide failures come as a single NLMSG_ERROR for `beginSeq` (the BATCH_BEGIN): no such
 *   subsystem, generation id mismatch (-ERESTART), and a failing commit, which is reported
 *   first and then followed by the inner acks. After an error for `beginSeq`, drain what is
 *   queued rather than count.
 * - BATCH_BEGIN/END are acked themselves only since Linux 6.10, and only with NLM_F_ACK; we
 *   leave it off by default so the count is the same on every kernel. With
 *   `ackBatchDelimiters` the END ack arrives only when the commit succeeded.
 * - A batch without BATCH_END is aborted, but its messages are still acked with 0; writeBatch
 *   always closes the batch, which is why building one goes through it.
 */
export interface BatchOptions {
  /** NLM_F_ACK on each inner message (default true). */
  ack?: boolean;
  /** NLM_F_ACK on BATCH_BEGIN/END too; only Linux >= 6.10 answers it. Default false. */
  ackBatchDelimiters?: boolean;
}

export interface BatchOp {
  seq: number;
  /** nlmsg_type, e.g. nftMsgType(NFT_MSG_NEWRULE). */
  type: number;
  /** 'NFT_MSG_NEWRULE', ... */
  op: string;
  /** What the message is about, nft-style: 'ip rtnetlink postrouting'. */
  object: string;
}

export interface BatchResult {
  /** Number of messages between BATCH_BEGIN and BATCH_END. */
  count: number;
  /** How many NLMSG_ERROR answers a successful batch yields. */
  expectedAcks: number;
  beginSeq: number;
  endSeq: number;
  /** The first seq after this batch. */
  nextSeq: number;
  ops: BatchOp[];
}

export interface MasqueradeRuleOptions extends MasqueradeSpec {
  /** Defaults to masqueradeTag(spec), which is how recogniseMasquerade() knows its own rules. */
  comment?: string;
}

/** Appends nf_tables messages to a batch; obtained from writeBatch(). */
export class BatchBuilder {
  readonly ops: BatchOp[] = [];
  private seq: number;

  constructor(
    private readonly w: ByteWriter,
    firstInnerSeq: number,
    private readonly ack: boolean,
  ) {
    this.seq = firstInnerSeq >>> 0;
  }

  /** The seq the next message will get. */
  get nextSeq(): number {
    return this.seq;
  }

  /** Appends one message: `msg` (NFT_MSG_*), its flags, family, a description for errors, and
   *  its attributes (from table.ts, chain.ts, rule.ts). */
  add(msg: number, flags: number, family: number, object: string, attrs: (a: AttrWriter) => void): this {
    checkFamily(family);
    const type = nftMsgType(msg);
    const seq = this.seq;
    writeMessage(this.w, type, NLM_F_REQUEST | (this.ack ? NLM_F_ACK : 0) | flags, seq, (w) => {
      writeNfgenmsg(w, family);
      attrs(new AttrWriter(w));
    });
    this.ops.push({ seq, type, op: nftMsgName(type), object });
    this.seq = (seq + 1) >>> 0;
    return this;
  }

  /**
   * `nft add table`: creates the table, or leaves an existing one as it is (no NLM_F_EXCL),
   * which makes it safe to send before every rule change.
   */
  newTable(family: number, name: string, opts: { exclusive?: boolean } = {}): this {
    return this.add(C.NFT_MSG_NEWTABLE, opts.exclusive ? NLM_F_EXCL : 0, family, `${familyName(family)} ${name}`, newTableAttrs(name));
  }

  /**
   * `nft add chain ... { type T hook H priority P; policy X; }`: a base chain, idempotent
   * when it exists with the same hook and type (the kernel answers EEXIST/EBUSY if not).
   */
  newChain(family: number, table: string, name: string, opts: ChainOptions, flags: { exclusive?: boolean } = {}): this {
    const attrs = newChainAttrs(table, name, opts);
    return this.add(C.NFT_MSG_NEWCHAIN, NLM_F_CREATE | (flags.exclusive ? NLM_F_EXCL : 0), family, `${familyName(family)} ${table} ${name}`, attrs);
  }

  /** `nft add rule`: appended at the end of the chain. Not idempotent: list first. */
  newRule(family: number, table: string, chain: string, rule: RuleOptions): this {
    const attrs = newRuleAttrs(table, chain, rule);
    const object = `${familyName(family)} ${table} ${chain}${rule.comment !== undefined ? ` comment "${rule.comment}"` : ''}`;
    return this.add(C.NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, family, object, attrs);
  }

  /** `ip[6] saddr A/N [oifname "X"] masquerade comment "rtnetlink:masq:..."`. */
  newMasqueradeRule(family: number, table: string, chain: string, spec: MasqueradeRuleOptions): this {
    const exprs = masqueradeExprs(family, spec);
    const plain: MasqueradeSpec = spec.outInterface === undefined ? { source: spec.source } : { source: spec.source, outInterface: spec.outInterface };
    return this.newRule(family, table, chain, { expressions: exprs, comment: spec.comment ?? masqueradeTag(plain) });
  }

  /** `nft delete rule ... handle N`; ENOENT if it is gone. */
  delRule(family: number, table: string, chain: string, handle: bigint): this {
    return this.add(C.NFT_MSG_DELRULE, 0, family, `${familyName(family)} ${table} ${chain} handle ${handle}`, delRuleAttrs(table, chain, handle));
  }

  /** `nft delete chain`; EBUSY while it holds rules (from earlier batches). */
  delChain(family: number, table: string, name: string): this {
    return this.add(C.NFT_MSG_DELCHAIN, 0, family, `${familyName(family)} ${table} ${name}`, delChainAttrs(table, name));
  }

  /** `nft delete table`: takes its chains and rules with it; ENOENT if there is none. */
  delTable(family: number, name: string): this {
    return this.add(C.NFT_MSG_DELTABLE, 0, family, `${familyName(family)} ${name}`, delTableAttrs(name));
  }
}


/**
 * Writes one nf_tables transaction: BATCH_BEGIN (seq firstSeq), the messages `body` adds
 * (firstSeq+1, ...), BATCH_END. See BatchOptions for what the kernel answers.
 * An empty batch is written too (the kernel accepts it and does nothing).
 */
export function writeBatch(
  w: ByteWriter,
  firstSeq: number,
  body: (b: BatchBuilder) => void,
  opts: BatchOptions = {},
): BatchResult {
  const ack = opts.ack ?? true;
  const delimFlags = NLM_F_REQUEST | (opts.ackBatchDelimiters ? NLM_F_ACK : 0);
  const beginSeq = firstSeq >>> 0;
  const start = w.length;
  // res_id names the subsystem the batch is for; family is AF_UNSPEC, as nft sends.
  writeMessage(w, C.NFNL_MSG_BATCH_BEGIN, delimFlags, beginSeq, (m) => writeNfgenmsg(m, C.NFPROTO_UNSPEC, C.NFNL_SUBSYS_NFTABLES));
  const b = new BatchBuilder(w, beginSeq + 1, ack);
  try {
    body(b);
  } catch (err) {
    // Leave the writer as it was: a half-written batch must never be sent.
    w.length = start;
    throw err;
  }
  const endSeq = b.nextSeq;
  writeMessage(w, C.NFNL_MSG_BATCH_END, delimFlags, endSeq, (m) => writeNfgenmsg(m, C.NFPROTO_UNSPEC, C.NFNL_SUBSYS_NFTABLES));
  const count = b.ops.length;
  const expectedAcks = (ack ? count : 0) + (opts.ackBatchDelimiters ? 2 : 0);
  return { count, expectedAcks, beginSeq, endSeq, nextSeq: (endSeq + 1) >>> 0, ops: b.ops };
}
