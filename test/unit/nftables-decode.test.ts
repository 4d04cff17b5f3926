// Decoding what this kernel answered to nft (test/fixtures/nftables/*.reply.bin): dumps of a
// ruleset holding our rules and other tools' objects, and the acks of a batch.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttrWriter, ByteWriter, DecodeError } from '../../lib/netlink/attributes.js';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  type NetlinkMessage,
  decodeError,
  parseMessages,
} from '../../lib/netlink/message.js';
import {
  type NftExpr,
  type NftRule,
  decodeChain,
  decodeExprList,
  decodeRule,
  decodeRuleRequest,
  decodeTable,
  masqueradeExprs,
  nftMsgType,
  readNfgenmsg,
  recogniseMasquerade,
  writeExpr,
} from '../../lib/nftables/codec.js';
import * as C from '../../lib/nftables/constants.js';
import { formatAddress } from '../../lib/ip.js';
import { fixture } from '../helpers/nft-fixtures.js';


/** The entries of a dump reply; asserts it ends with NLMSG_DONE. */
function dump(name: string): NetlinkMessage[] {
  const msgs = parseMessages(fixture(name));
  expect(msgs.at(-1)?.type).toBe(NLMSG_DONE);
  return msgs.slice(0, -1);
}

describe('tables', () => {
  it('decodes the table dump', () => {
    const tables = dump('dump-tables.reply.bin').map(decodeTable);
    expect(tables.map((t) => [t.family, t.name, t.flags, t.use, t.unknown])).toEqual([
      [C.NFPROTO_IPV4, 'rtnetlink', 0, 1, []],
      [C.NFPROTO_IPV6, 'rtnetlink', 0, 1, []],
      [C.NFPROTO_INET, 'other', 0, 2, []],
    ]);
    // Table handles count up per namespace; they are u64 on the wire.
    expect(tables.map((t) => typeof t.handle)).toEqual(['bigint', 'bigint', 'bigint']);
    expect(new Set(tables.map((t) => t.handle)).size).toBe(3);
  });
});

describe('chains', () => {
  it('decodes base chains, signed priorities and regular chains', () => {
    const chains = dump('dump-chains.reply.bin').map(decodeChain);
    expect(chains).toEqual([
      {
        family: C.NFPROTO_IPV4, table: 'rtnetlink', name: 'postrouting', handle: 1n,
        hook: { hooknum: C.NF_INET_POST_ROUTING, priority: 100 }, policy: 'accept', type: 'nat', use: 8,
        flags: C.NFT_CHAIN_BASE, unknown: [],
      },
      {
        family: C.NFPROTO_IPV6, table: 'rtnetlink', name: 'postrouting', handle: 1n,
        hook: { hooknum: C.NF_INET_POST_ROUTING, priority: 100 }, policy: 'accept', type: 'nat', use: 3,
        flags: C.NFT_CHAIN_BASE, unknown: [],
      },
      {
        family: C.NFPROTO_INET, table: 'other', name: 'input', handle: 1n,
        hook: { hooknum: C.NF_INET_LOCAL_IN, priority: -5 }, policy: 'drop', type: 'filter', use: 1,
        flags: C.NFT_CHAIN_BASE, unknown: [],
      },
      { family: C.NFPROTO_INET, table: 'other', name: 'regular', handle: 2n, use: 0, unknown: [] },
    ]);
  });
});

/** One line per rule: what recogniseMasquerade makes of it. */
function recognised(rules: NftRule[]): string[] {
  return rules.map((r) => {
    const m = recogniseMasquerade(r);
    const head = `${r.family} ${r.table} ${r.chain} #${r.handle}`;
    if (!m) return `${head} -`;
    const oif = m.outInterface === undefined ? '' : ` oif ${m.outInterface}`;
    return `${head} masq ${formatAddress(m.source.address)}/${m.source.prefixLen}${oif}${m.tagged ? ' tagged' : ''}`;
  });
}

describe('rules', () => {
  const all = dump('dump-rules-all.reply.bin').map(decodeRule);

  it('recognises our masquerade rules, and nothing else, in a dump of every family', () => {
    expect(recognised(all)).toEqual([
      '2 rtnetlink postrouting #2 masq 192.168.0.0/24 oif eth0 tagged',
      '2 rtnetlink postrouting #3 masq 10.1.16.0/20 tagged',
      '2 rtnetlink postrouting #4 masq 10.0.0.1/32 tagged',
      '2 rtnetlink postrouting #5 masq 0.0.0.0/0 tagged',
      // A masquerade somebody added by hand: same shape, but not our comment.
      '2 rtnetlink postrouting #6 masq 172.16.0.0/12',
      // oifname "eth*" compares 3 bytes: a wildcard, not an interface.
      '2 rtnetlink postrouting #7 -',
      // ip saddr 10.9.0.0/16 counter accept
      '2 rtnetlink postrouting #8 -',
      // masquerade random,persistent carries NFTA_MASQ_FLAGS: not what we write.
      '2 rtnetlink postrouting #9 -',
      '10 rtnetlink postrouting #2 masq fd00:1::/64 oif eth0 tagged',
      '10 rtnetlink postrouting #3 masq fd00:1::/60 tagged',
      '10 rtnetlink postrouting #4 masq 2001:db8::1/128 tagged',
      '1 other input #3 -',
    ]);
  });

  it('keeps comments, and source addresses full length', () => {
    expect(all[0]).toMatchObject({ comment: 'rtnetlink:masq:192.168.0.0/24:eth0' });
    expect(all[4]!.comment).toBeUndefined();
    expect(all[4]!.userdata).toBeUndefined();
    const m = recogniseMasquerade(all[0]!)!;
    expect(m.source.address).toEqual(Buffer.from([192, 168, 0, 0]));
    expect(m).toMatchObject({ family: 2, table: 'rtnetlink', chain: 'postrouting', handle: 2n });
    expect(recogniseMasquerade(all[9]!)!.source.address.length).toBe(16);
  });

  it('reads what the kernel adds to expressions (bitwise op) and keeps unknown ones', () => {
    const bitwise = all[1]!.expressions[1];
    expect(bitwise).toMatchObject({ kind: 'bitwise', op: C.NFT_BITWISE_MASK_XOR, mask: Buffer.from([255, 255, 240, 0]) });
    expect(all[6]!.expressions.map((e) => (e.kind === 'unknown' ? e.name : e.kind))).toEqual([
      'payload', 'cmp', 'counter', 'immediate',
    ]);
    expect(all[7]!.expressions.at(-1)).toEqual({
      kind: 'masq',
      flags: C.NF_NAT_RANGE_PERSISTENT | C.NF_NAT_RANGE_PROTO_RANDOM,
    });
  });

  it('expressions survive decode → encode → decode, unknown ones byte for byte', () => {
    for (const r of all) {
      const w = new AttrWriter(new ByteWriter(4096));
      for (const e of r.expressions) writeExpr(w, e);
      expect(decodeExprList(w.w.take())).toEqual(r.expressions);
    }
  });

  it('a one-family dump and a one-chain dump hold the same ip rules', () => {
    const ip = dump('dump-rules.reply.bin').map(decodeRule);
    const chain = dump('dump-rules-chain.reply.bin').map(decodeRule);
    expect(ip.map((r) => r.handle)).toEqual([2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
    expect(recognised(chain)).toEqual(recognised(ip));
    expect(recognised(ip)).toEqual(recognised(all).slice(0, 8));
  });

  it('the kernel stores our expressions as we send them', () => {
    const source = (r: NftRule) => recogniseMasquerade(r)!;
    for (const r of [all[0]!, all[1]!, all[3]!, all[8]!, all[9]!]) {
      const m = source(r);
      const spec = m.outInterface === undefined ? { source: m.source } : { source: m.source, outInterface: m.outInterface };
      const sent = masqueradeExprs(r.family, spec);
      // The kernel reports bitwise's op, which we leave to its default.
      const stored = r.expressions.map((e) => (e.kind === 'bitwise' ? { ...e, op: undefined } : e));
      expect(stored).toEqual(sent.map((e) => (e.kind === 'bitwise' ? { ...e, op: undefined } : e)));
    }
  });
});

/** A deep copy that keeps Buffers Buffers (structuredClone makes them Uint8Arrays). */
const cloneExpr = (e: NftExpr): NftExpr =>
  Object.fromEntries(Object.entries(e).map(([k, v]) => [k, Buffer.isBuffer(v) ? Buffer.from(v) : v])) as NftExpr;

describe('recogniseMasquerade refuses lookalikes', () => {
  const base: NftRule = decodeRule(dump('dump-rules-all.reply.bin')[1]!); // ip saddr 10.1.16.0/20 masquerade
  const withExprs = (f: (e: NftExpr[]) => NftExpr[], family = base.family): NftRule => ({
    ...base,
    family,
    expressions: f(base.expressions.map(cloneExpr)),
  });
  const cases: [string, NftRule][] = [
    ['daddr instead of saddr', withExprs((e) => [{ ...(e[0] as NftExpr & { kind: 'payload' }), offset: 16 }, ...e.slice(1)])],
    ['transport header', withExprs((e) => [{ ...(e[0] as NftExpr & { kind: 'payload' }), base: 2 }, ...e.slice(1)])],
    ['a mask with a hole', withExprs((e) => { (e[1] as { mask: Buffer }).mask = Buffer.from([255, 0, 255, 0]); return e; })],
    ['a non-zero xor', withExprs((e) => { (e[1] as { xor: Buffer }).xor = Buffer.from([0, 0, 0, 1]); return e; })],
    ['compare bits outside the mask', withExprs((e) => { (e[2] as { data: Buffer }).data = Buffer.from([10, 1, 16, 1]); return e; })],
    ['cmp neq', withExprs((e) => { (e[2] as { op: number }).op = C.NFT_CMP_NEQ; return e; })],
    ['registers that do not connect', withExprs((e) => { (e[2] as { sreg: number }).sreg = 2; return e; })],
    ['no masquerade at the end', withExprs((e) => e.slice(0, 3))],
    ['something after the masquerade', withExprs((e) => [...e, { kind: 'unknown', name: 'counter' }])],
    ['iifname instead of oifname', withExprs((e) => [
      ...e.slice(0, 3),
      { kind: 'meta', key: C.NFT_META_IIFNAME, dreg: 1 },
      { kind: 'cmp', sreg: 1, op: 0, data: Buffer.from('eth0'.padEnd(16, '\0')) },
      e[3]!,
    ])],
    ['interface name with bytes after the NUL', withExprs((e) => [
      ...e.slice(0, 3),
      { kind: 'meta', key: C.NFT_META_OIFNAME, dreg: 1 },
      { kind: 'cmp', sreg: 1, op: 0, data: Buffer.from('eth0\0x'.padEnd(16, '\0')) },
      e[3]!,
    ])],
    ['inet family', withExprs((e) => e, C.NFPROTO_INET)],
    ['ip6 family with an ip offset', withExprs((e) => e, C.NFPROTO_IPV6)],
    ['no expressions', withExprs(() => [])],
  ];
  it('accepts the unmodified rule', () => {
    expect(recogniseMasquerade(base)).toBeDefined();
  });
  it.each(cases)('%s', (_, rule) => {
    expect(recogniseMasquerade(rule)).toBeUndefined();
  });
  it('a comment that does not match the expressions is not a tag', () => {
    expect(recogniseMasquerade({ ...base, comment: 'rtnetlink:masq:10.1.0.0/16' })?.tagged).toBe(false);
  });
});

describe('batch answers', () => {
  it('one ack per message of the addMasquerade batch, in order', () => {
    const acks = parseMessages(fixture('acks-setup-ip.reply.bin'));
    expect(acks.map((m) => [m.type, m.seq, decodeError(m).error])).toEqual([
      [NLMSG_ERROR, 1, 0],
      [NLMSG_ERROR, 2, 0],
      [NLMSG_ERROR, 3, 0],
    ]);
    expect(acks.map((m) => decodeError(m).request.type)).toEqual(
      [C.NFT_MSG_NEWTABLE, C.NFT_MSG_NEWCHAIN, C.NFT_MSG_NEWRULE].map(nftMsgType),
    );
  });

  it('a missing rule: ENOENT, pointing at NFTA_RULE_HANDLE', () => {
    const [m, ...rest] = parseMessages(fixture('acks-delrule-enoent.reply.bin'));
    expect(rest).toEqual([]);
    const e = decodeError(m!);
    expect(e).toMatchObject({ error: -2, request: { seq: 1, type: nftMsgType(C.NFT_MSG_DELRULE) } });
    // The offset counts from the failing message's nlmsghdr.
    const request = parseMessages(fixture('batch-delrule-ip.bin'))[1]!;
    const raw = fixture('batch-delrule-ip.bin').subarray(20, 20 + 16 + request.payload.length);
    expect(raw.readUInt16LE(e.badAttributeOffset! + 2)).toBe(C.NFTA_RULE_HANDLE);
  });
});

describe('malformed input is a DecodeError, never a crash', () => {
  const decoders: [string, (m: NetlinkMessage) => unknown][] = [
    ['dump-tables.reply.bin', decodeTable],
    ['dump-chains.reply.bin', decodeChain],
    ['dump-rules-all.reply.bin', decodeRule],
  ];

  const onlyDecodeErrors = (f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
    }
  };

  it.each(decoders)('%s truncated at every length', (name, decode) => {
    for (const m of dump(name)) {
      for (let n = 0; n < m.payload.length; n++) {
        onlyDecodeErrors(() => decode({ ...m, payload: m.payload.subarray(0, n) }));
      }
    }
  });

  it.each(decoders)('%s with random bytes overwritten', (name, decode) => {
    const msgs = dump(name);
    fc.assert(
      fc.property(
        fc.nat({ max: msgs.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (i, edits) => {
          const m = msgs[i]!;
          const payload = Buffer.from(m.payload);
          for (const [at, v] of edits) payload[at % payload.length] = v;
          onlyDecodeErrors(() => decode({ ...m, payload }));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a payload shorter than nfgenmsg', () => {
    expect(() => readNfgenmsg(Buffer.alloc(3))).toThrow(DecodeError);
    const m = dump('dump-tables.reply.bin')[0]!;
    expect(() => decodeTable({ ...m, payload: m.payload.subarray(0, 2) })).toThrow(DecodeError);
  });

  it('the wrong message kind', () => {
    const table = dump('dump-tables.reply.bin')[0]!;
    expect(() => decodeRule(table)).toThrow(/expected an nf_tables rule message, got NFT_MSG_NEWTABLE/);
    expect(() => decodeChain(table)).toThrow(DecodeError);
    expect(() => decodeTable({ ...table, type: NLMSG_DONE })).toThrow(DecodeError);
  });

  it('a rule without a handle is only accepted as a request', () => {
    const request = parseMessages(fixture('batch-newrule-ip-20.bin'))[1]!;
    expect(() => decodeRule(request)).toThrow(/NFTA_RULE_HANDLE/);
    expect(decodeRuleRequest(request).comment).toBe('rtnetlink:masq:10.1.16.0/20');
  });

  it('an expression without a name, or a list holding something else', () => {
    const w = new AttrWriter(new ByteWriter(64));
    w.nest(C.NFTA_LIST_ELEM, (e) => e.nest(C.NFTA_EXPR_DATA, () => {}));
    expect(() => decodeExprList(w.w.take())).toThrow(DecodeError);
    const w2 = new AttrWriter(new ByteWriter(64));
    w2.u32(7, 1);
    expect(() => decodeExprList(w2.w.take())).toThrow(DecodeError);
  });

  it('a known expression with an attribute we do not model becomes unknown, kept whole', () => {
    const w = new AttrWriter(new ByteWriter(128));
    w.nest(C.NFTA_LIST_ELEM, (e) =>
      e.string(C.NFTA_EXPR_NAME, 'payload').nest(C.NFTA_EXPR_DATA, (d) =>
        d.u32be(C.NFTA_PAYLOAD_SREG, 1).u32be(C.NFTA_PAYLOAD_BASE, 1).u32be(C.NFTA_PAYLOAD_OFFSET, 12).u32be(C.NFTA_PAYLOAD_LEN, 4),
      ),
    );
    const [e] = decodeExprList(w.w.take());
    expect(e).toMatchObject({ kind: 'unknown', name: 'payload' });
    expect((e as { data: Buffer }).data.length).toBe(32);
  });
});
