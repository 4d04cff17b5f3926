// Our nf_tables encoder against the bytes nft 1.0.6 sent for the same commands on this kernel
// (test/fixtures/nftables, captured by scripts/capture-nft-fixtures.sh).
import { describe, expect, it } from 'vitest';
import { ByteWriter, EncodeError } from '../../lib/netlink/attributes.js';
import { NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST, parseMessages } from '../../lib/netlink/message.js';
import {
  type BatchBuilder,
  type MasqueradeSpec,
  decodeRuleComment,
  decodeRuleRequest,
  encodeRuleComment,
  getChains,
  getRules,
  getTables,
  masqueradeExprs,
  masqueradeTag,
  nftMsgName,
  nftMsgType,
  recogniseMasquerade,
  writeBatch,
} from '../../lib/nftables/codec.js';
import * as C from '../../lib/nftables/constants.js';
import { asNft, fixture, v4, v6 } from '../helpers/nft-fixtures.js';


const IP = C.NFPROTO_IPV4;
const IP6 = C.NFPROTO_IPV6;
const NAT_POSTROUTING = { hook: C.NF_INET_POST_ROUTING, priority: C.NF_IP_PRI_NAT_SRC, type: 'nat', policy: 'accept' } as const;

const masq = (family: number, spec: MasqueradeSpec) => (b: BatchBuilder) =>
  b.newMasqueradeRule(family, 'rtnetlink', 'postrouting', spec);

const cases: [fixture: string, body: (b: BatchBuilder) => void, spec?: MasqueradeSpec][] = [
  ['batch-newtable-ip.bin', (b) => b.newTable(IP, 'rtnetlink')],
  ['batch-newtable-ip6.bin', (b) => b.newTable(IP6, 'rtnetlink')],
  ['batch-newchain-ip.bin', (b) => b.newChain(IP, 'rtnetlink', 'postrouting', NAT_POSTROUTING)],
  ['batch-newchain-ip6.bin', (b) => b.newChain(IP6, 'rtnetlink', 'postrouting', NAT_POSTROUTING)],
  ['batch-delrule-ip.bin', (b) => b.delRule(IP, 'rtnetlink', 'postrouting', 2n)],
  ['batch-delchain-ip.bin', (b) => b.delChain(IP, 'rtnetlink', 'postrouting')],
  ['batch-deltable-ip.bin', (b) => b.delTable(IP, 'rtnetlink')],
];
const ruleCases: [fixture: string, family: number, spec: MasqueradeSpec, tag: string][] = [
  ['batch-newrule-ip-24-oif.bin', IP, { source: { address: v4('192.168.0.0'), prefixLen: 24 }, outInterface: 'eth0' }, 'rtnetlink:masq:192.168.0.0/24:eth0'],
  ['batch-newrule-ip-20.bin', IP, { source: { address: v4('10.1.16.0'), prefixLen: 20 } }, 'rtnetlink:masq:10.1.16.0/20'],
  ['batch-newrule-ip-32.bin', IP, { source: { address: v4('10.0.0.1'), prefixLen: 32 } }, 'rtnetlink:masq:10.0.0.1/32'],
  ['batch-newrule-ip-0.bin', IP, { source: { address: v4('0.0.0.0'), prefixLen: 0 } }, 'rtnetlink:masq:0.0.0.0/0'],
  ['batch-newrule-ip6-64-oif.bin', IP6, { source: { address: v6('fd000001'), prefixLen: 64 }, outInterface: 'eth0' }, 'rtnetlink:masq:fd00:1::/64:eth0'],
  ['batch-newrule-ip6-60.bin', IP6, { source: { address: v6('fd000001'), prefixLen: 60 } }, 'rtnetlink:masq:fd00:1::/60'],
  ['batch-newrule-ip6-128.bin', IP6, { source: { address: v6('20010db8000000000000000000000001'), prefixLen: 128 } }, 'rtnetlink:masq:2001:db8::1/128'],
];

describe('batches are byte-identical to nft', () => {
  it.each(cases)('%s', (name, body) => {
    expect(asNft(body).toString('hex')).toBe(fixture(name).toString('hex'));
  });

  it.each(ruleCases)('%s', (name, family, spec, tag) => {
    expect(masqueradeTag(spec)).toBe(tag);
    expect(asNft(masq(family, spec)).toString('hex')).toBe(fixture(name).toString('hex'));
  });

  it('a whole addMasquerade transaction (nft -f with table, chain and rule)', () => {
    const bytes = asNft((b) =>
      b
        .newTable(IP, 'rtnetlink')
        .newChain(IP, 'rtnetlink', 'postrouting', NAT_POSTROUTING)
        .newMasqueradeRule(IP, 'rtnetlink', 'postrouting', ruleCases[0]![2]),
    );
    expect(bytes.toString('hex')).toBe(fixture('batch-setup-ip.bin').toString('hex'));
  });

  it('host bits of the source are cleared, as nft does', () => {
    const sloppy = { source: { address: v4('192.168.0.77'), prefixLen: 24 }, outInterface: 'eth0' };
    expect(asNft(masq(IP, sloppy)).equals(fixture('batch-newrule-ip-24-oif.bin'))).toBe(true);
    const sloppy6 = { source: { address: v6('fd000001000000000000ffff'), prefixLen: 60 } };
    expect(asNft(masq(IP6, sloppy6)).equals(fixture('batch-newrule-ip6-60.bin'))).toBe(true);
  });
});

describe('round trip: nft request → decode → encode', () => {
  it.each(ruleCases)('%s', (name, family, spec) => {
    const msgs = parseMessages(fixture(name));
    expect(msgs.map((m) => m.type)).toEqual([C.NFNL_MSG_BATCH_BEGIN, nftMsgType(C.NFT_MSG_NEWRULE), C.NFNL_MSG_BATCH_END]);
    const rule = decodeRuleRequest(msgs[1]!);
    expect(rule).toMatchObject({ family, table: 'rtnetlink', chain: 'postrouting' });
    expect(rule.handle).toBeUndefined();
    expect(rule.expressions).toEqual(masqueradeExprs(family, spec));
    const again = asNft((b) =>
      b.newRule(rule.family, rule.table, rule.chain, { expressions: rule.expressions, userdata: rule.userdata! }),
    );
    expect(again.equals(fixture(name))).toBe(true);
    const m = recogniseMasquerade({ ...rule, handle: 1n });
    expect(m).toMatchObject({ family, handle: 1n, tagged: true, source: { prefixLen: spec.source.prefixLen } });
    expect(m?.outInterface).toBe(spec.outInterface);
  });
});

describe('dump requests are byte-identical to nft', () => {
  const one = (write: (w: ByteWriter) => number): Buffer => {
    const w = new ByteWriter();
    expect(write(w)).toBe(0);
    return w.take();
  };
  it('tables, all families', () => {
    expect(one((w) => getTables(w, 0)).equals(fixture('dump-tables.request.bin'))).toBe(true);
  });
  it('chains, all families', () => {
    expect(one((w) => getChains(w, 0)).equals(fixture('dump-chains.request.bin'))).toBe(true);
  });
  it('rules of one family', () => {
    expect(one((w) => getRules(w, 0, IP)).equals(fixture('dump-rules.request.bin'))).toBe(true);
  });
  it('rules of one chain', () => {
    const bytes = one((w) => getRules(w, 0, IP, 'rtnetlink', 'postrouting'));
    expect(bytes.equals(fixture('dump-rules-chain.request.bin'))).toBe(true);
  });
  it('a chain filter without a table is refused', () => {
    expect(() => getRules(new ByteWriter(), 0, IP, undefined, 'postrouting')).toThrow(EncodeError);
  });
});

describe('writeBatch', () => {
  it('acks every inner message by default, not the delimiters', () => {
    const w = new ByteWriter();
    const r = writeBatch(w, 100, (b) => b.newTable(IP, 'rtnetlink').delRule(IP, 'rtnetlink', 'postrouting', 7n));
    expect(r).toMatchObject({ count: 2, expectedAcks: 2, beginSeq: 100, endSeq: 103, nextSeq: 104 });
    expect(r.ops).toEqual([
      { seq: 101, type: nftMsgType(C.NFT_MSG_NEWTABLE), op: 'NFT_MSG_NEWTABLE', object: 'ip rtnetlink' },
      { seq: 102, type: nftMsgType(C.NFT_MSG_DELRULE), op: 'NFT_MSG_DELRULE', object: 'ip rtnetlink postrouting handle 7' },
    ]);
    const msgs = parseMessages(w.take());
    expect(msgs.map((m) => [m.seq, m.flags])).toEqual([
      [100, NLM_F_REQUEST],
      [101, NLM_F_REQUEST | NLM_F_ACK],
      [102, NLM_F_REQUEST | NLM_F_ACK],
      [103, NLM_F_REQUEST],
    ]);
    // BATCH_BEGIN names the subsystem in res_id, big-endian.
    expect(msgs[0]!.payload.toString('hex')).toBe('0000000a');
  });

  it('acks the delimiters too when asked (Linux >= 6.10)', () => {
    const w = new ByteWriter();
    const r = writeBatch(w, 1, (b) => b.newTable(IP6, 'rtnetlink'), { ackBatchDelimiters: true });
    expect(r.expectedAcks).toBe(3);
    expect(parseMessages(w.take()).every((m) => (m.flags & NLM_F_ACK) !== 0)).toBe(true);
  });

  it('rule messages ask to be created and appended', () => {
    const w = new ByteWriter();
    writeBatch(w, 0, masq(IP, ruleCases[1]![2]));
    expect(parseMessages(w.take())[1]!.flags).toBe(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND);
  });

  it('sequence numbers wrap at 2^32', () => {
    const r = writeBatch(new ByteWriter(), 0xffffffff, (b) => b.newTable(IP, 'a').newTable(IP, 'b'));
    expect([r.beginSeq, ...r.ops.map((o) => o.seq), r.endSeq, r.nextSeq]).toEqual([0xffffffff, 0, 1, 2, 3]);
  });

  it('an empty batch is still a well-formed batch', () => {
    const w = new ByteWriter();
    expect(writeBatch(w, 5, () => {})).toMatchObject({ count: 0, expectedAcks: 0, endSeq: 6 });
    expect(parseMessages(w.take()).map((m) => m.type)).toEqual([C.NFNL_MSG_BATCH_BEGIN, C.NFNL_MSG_BATCH_END]);
  });

  it('appends after what the writer already holds, and grows from a tiny buffer', () => {
    const w = new ByteWriter(4);
    w.u32(0xdeadbeef);
    writeBatch(w, 0, (b) =>
      b.newTable(IP, 'rtnetlink').newChain(IP, 'rtnetlink', 'postrouting', NAT_POSTROUTING).newMasqueradeRule(IP, 'rtnetlink', 'postrouting', ruleCases[0]![2]),
      { ack: false },
    );
    const out = w.take();
    expect(out.readUInt32LE(0)).toBe(0xdeadbeef);
    expect(out.subarray(4).equals(fixture('batch-setup-ip.bin'))).toBe(true);
  });

  it('a body that throws leaves the writer as it was', () => {
    const w = new ByteWriter();
    w.u32(1);
    expect(() =>
      writeBatch(w, 0, (b) => b.newTable(IP, 'rtnetlink').newTable(IP, '')),
    ).toThrow(EncodeError);
    expect(w.length).toBe(4);
  });

  it('names the messages', () => {
    expect(nftMsgName(C.NFNL_MSG_BATCH_BEGIN)).toBe('NFNL_MSG_BATCH_BEGIN');
    expect(nftMsgName(C.NFNL_MSG_BATCH_END)).toBe('NFNL_MSG_BATCH_END');
    expect(nftMsgName(nftMsgType(C.NFT_MSG_DESTROYRULE))).toBe('NFT_MSG_DESTROYRULE');
    expect(nftMsgName(0x0b00)).toBe('0xb00');
  });
});

describe('arguments the kernel would refuse fail before any bytes are sent', () => {
  const bad: [string, (b: BatchBuilder) => void][] = [
    ['empty table name', (b) => b.newTable(IP, '')],
    ['table name of 256 bytes', (b) => b.newTable(IP, 'x'.repeat(256))],
    ['NUL in a chain name', (b) => b.delChain(IP, 't', 'a\0b')],
    ['family out of range', (b) => b.newTable(256, 't')],
    ['priority beyond int32', (b) => b.newChain(IP, 't', 'c', { ...NAT_POSTROUTING, priority: 2 ** 31 })],
    ['negative handle', (b) => b.delRule(IP, 't', 'c', -1n)],
    ['handle beyond u64', (b) => b.delRule(IP, 't', 'c', 1n << 64n)],
    ['rule without expressions', (b) => b.newRule(IP, 't', 'c', { expressions: [] })],
    ['IPv6 address in an ip rule', masq(IP, { source: { address: v6('fd'), prefixLen: 8 } })],
    ['prefix longer than the address', masq(IP, { source: { address: v4('10.0.0.0'), prefixLen: 33 } })],
    ['fractional prefix', masq(IP, { source: { address: v4('10.0.0.0'), prefixLen: 8.5 } })],
    ['inet family masquerade', masq(C.NFPROTO_INET, { source: { address: v4('10.0.0.0'), prefixLen: 8 } })],
    ['interface name of 16 bytes', masq(IP, { source: { address: v4('10.0.0.0'), prefixLen: 8 }, outInterface: 'a'.repeat(16) })],
    ['interface name with a slash', masq(IP, { source: { address: v4('10.0.0.0'), prefixLen: 8 }, outInterface: 'a/b' })],
    ['empty interface name', masq(IP, { source: { address: v4('10.0.0.0'), prefixLen: 8 }, outInterface: '' })],
    ['comment of 128 bytes', (b) => b.newMasqueradeRule(IP, 't', 'c', { source: { address: v4('10.0.0.0'), prefixLen: 8 }, comment: 'c'.repeat(128) })],
    ['userdata over 256 bytes', (b) => b.newRule(IP, 't', 'c', { expressions: [{ kind: 'masq' }], userdata: Buffer.alloc(257) })],
  ];
  it.each(bad)('%s', (_, body) => {
    const w = new ByteWriter();
    expect(() => writeBatch(w, 0, body)).toThrow(EncodeError);
    expect(w.length).toBe(0);
  });
});

describe('rule comments (nft userdata TLVs)', () => {
  it('encode as type 0, length with the NUL, text', () => {
    expect(encodeRuleComment('hi').toString('hex')).toBe('0003686900');
    expect(decodeRuleComment(encodeRuleComment('rtnetlink:masq:10.0.0.0/8'))).toBe('rtnetlink:masq:10.0.0.0/8');
  });
  it('127 bytes is the longest comment', () => {
    expect(decodeRuleComment(encodeRuleComment('x'.repeat(127)))).toBe('x'.repeat(127));
  });
  it('userdata in another format has no comment, and no error', () => {
    expect(decodeRuleComment(Buffer.from('rtnetlink'))).toBeUndefined();
    expect(decodeRuleComment(Buffer.from([0, 10, 65]))).toBeUndefined();
    expect(decodeRuleComment(Buffer.from([1, 1, 0]))).toBeUndefined();
    expect(decodeRuleComment(Buffer.alloc(0))).toBeUndefined();
  });
});
