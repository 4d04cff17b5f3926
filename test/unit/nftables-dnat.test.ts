// Port forwards (DNAT) against what nft 1.0.6 sent and this kernel answered
// (test/fixtures/nftables/*dnat*, captured by `scripts/capture-nft-fixtures.sh dnat`): our
// chains and rules are byte-identical to nft's, decode back to the same expressions, and a
// dump's rules are recognised as ours, or not.
import { describe, expect, it } from 'vitest';
import { EncodeError } from '../../lib/netlink/attributes.js';
import { NLMSG_DONE, parseMessages } from '../../lib/netlink/message.js';
import {
  type DnatHook,
  type PortForwardSpec,
  decodeRule,
  decodeRuleRequest,
  dnatExprs,
  nftMsgType,
  portForwardTag,
  recognisePortForward,
} from '../../lib/nftables/codec.js';
import * as C from '../../lib/nftables/constants.js';
import { asNft, fixture, v4, v6 } from '../helpers/nft-fixtures.js';

const IP = C.NFPROTO_IPV4;
const IP6 = C.NFPROTO_IPV6;

const PRE = { hook: C.NF_INET_PRE_ROUTING, priority: C.NF_IP_PRI_NAT_DST, type: 'nat', policy: 'accept' } as const;
const OUT = { hook: C.NF_INET_LOCAL_OUT, priority: C.NF_IP_PRI_NAT_DST, type: 'nat', policy: 'accept' } as const;

const web: PortForwardSpec = { protocol: 'tcp', hostPort: 8080, to: { address: v4('192.168.0.2'), port: 80 } };
const dns: PortForwardSpec = { protocol: 'udp', hostPort: 5353, hostAddress: v4('10.250.0.1'), to: { address: v4('192.168.0.2'), port: 53 } };
const web6: PortForwardSpec = { protocol: 'tcp', hostPort: 8080, to: { address: v6('fd000000000000000000000000000002'), port: 80 } };
const tls6: PortForwardSpec = { protocol: 'tcp', hostPort: 443, hostAddress: v6('fd000000000000000000000000000001'), to: { address: v6('fd000000000000000000000000000002'), port: 8443 } };

const rules: [fixture: string, family: number, hook: DnatHook, spec: PortForwardSpec, tag: string][] = [
  ['batch-newrule-dnat-pre-ip.bin', IP, 'prerouting', web, 'rtnetlink:dnat:tcp/8080->192.168.0.2:80'],
  ['batch-newrule-dnat-out-ip.bin', IP, 'output', web, 'rtnetlink:dnat:tcp/8080->192.168.0.2:80'],
  ['batch-newrule-dnat-pre-ip-host.bin', IP, 'prerouting', dns, 'rtnetlink:dnat:udp/10.250.0.1:5353->192.168.0.2:53'],
  ['batch-newrule-dnat-out-ip-host.bin', IP, 'output', dns, 'rtnetlink:dnat:udp/10.250.0.1:5353->192.168.0.2:53'],
  ['batch-newrule-dnat-pre-ip6.bin', IP6, 'prerouting', web6, 'rtnetlink:dnat:tcp/8080->[fd00::2]:80'],
  ['batch-newrule-dnat-out-ip6.bin', IP6, 'output', web6, 'rtnetlink:dnat:tcp/8080->[fd00::2]:80'],
  ['batch-newrule-dnat-pre-ip6-host.bin', IP6, 'prerouting', tls6, 'rtnetlink:dnat:tcp/[fd00::1]:443->[fd00::2]:8443'],
];

describe('port-forward batches are byte-identical to nft', () => {
  it.each([
    ['batch-newchain-prerouting-ip.bin', IP, 'prerouting', PRE],
    ['batch-newchain-output-ip.bin', IP, 'output', OUT],
    ['batch-newchain-prerouting-ip6.bin', IP6, 'prerouting', PRE],
    ['batch-newchain-output-ip6.bin', IP6, 'output', OUT],
  ] as const)('%s', (name, family, chain, opts) => {
    expect(asNft((b) => b.newChain(family, 'rtnetlink', chain, opts)).toString('hex')).toBe(fixture(name).toString('hex'));
  });

  it.each(rules)('%s', (name, family, hook, spec, tag) => {
    expect(portForwardTag(spec)).toBe(tag);
    const bytes = asNft((b) => b.newRule(family, 'rtnetlink', hook, { expressions: dnatExprs(family, hook, spec), comment: portForwardTag(spec) }));
    expect(bytes.toString('hex')).toBe(fixture(name).toString('hex'));
  });

  it('refuses what is not a port forward it can write', () => {
    expect(() => dnatExprs(C.NFPROTO_INET, 'prerouting', web)).toThrow(EncodeError);
    expect(() => dnatExprs(IP, 'prerouting', { ...web, hostPort: 0 })).toThrow(/host port 0/);
    expect(() => dnatExprs(IP, 'prerouting', { ...web, to: { address: v6('fd'), port: 80 } })).toThrow(/4 bytes/);
    expect(() => dnatExprs(IP6, 'output', { ...web6, hostAddress: v4('10.0.0.1') })).toThrow(/16 bytes/);
  });
});

describe('round trip: nft request → decode → recognise', () => {
  it.each(rules)('%s', (name, family, hook, spec) => {
    const msgs = parseMessages(fixture(name));
    expect(msgs.map((m) => m.type)).toEqual([C.NFNL_MSG_BATCH_BEGIN, nftMsgType(C.NFT_MSG_NEWRULE), C.NFNL_MSG_BATCH_END]);
    const rule = decodeRuleRequest(msgs[1]!);
    expect(rule).toMatchObject({ family, table: 'rtnetlink', chain: hook });
    expect(rule.expressions).toEqual(dnatExprs(family, hook, spec));
    // Nothing in them decodes as an unknown expression: fib, immediate and nat are modelled.
    expect(rule.expressions.filter((e) => e.kind === 'unknown')).toEqual([]);
    const m = recognisePortForward({ ...rule, handle: 7n });
    expect(m).toEqual({ ...spec, family, table: 'rtnetlink', chain: hook, handle: 7n, comment: portForwardTag(spec), tagged: true });
  });

  it('a rule in the other hook\'s shape is not ours (the loopback exception belongs to output)', () => {
    const out = decodeRuleRequest(parseMessages(fixture('batch-newrule-dnat-out-ip.bin'))[1]!);
    expect(recognisePortForward({ ...out, chain: 'prerouting', handle: 1n })).toBeUndefined();
    const pre = decodeRuleRequest(parseMessages(fixture('batch-newrule-dnat-pre-ip.bin'))[1]!);
    expect(recognisePortForward({ ...pre, chain: 'output', handle: 1n })).toBeUndefined();
    expect(recognisePortForward({ ...pre, chain: 'forward', handle: 1n })).toBeUndefined();
  });
});

describe('a dump holding our port forwards and look-alikes', () => {
  const msgs = parseMessages(fixture('dump-rules-dnat.reply.bin'));
  expect(msgs.at(-1)?.type).toBe(NLMSG_DONE);
  const decoded = msgs.slice(0, -1).map(decodeRule);
  const byHandle = new Map(decoded.map((r) => [r.handle, r]));

  it('recognises ours (tagged), an untagged one nft users could write the same way, and nothing else', () => {
    // test/fixtures/nftables/dump-dnat.ruleset.txt lists them with their handles.
    expect(recognisePortForward(byHandle.get(3n)!)).toMatchObject({ chain: 'prerouting', hostPort: 8080, protocol: 'tcp', tagged: true });
    expect(recognisePortForward(byHandle.get(4n)!)).toMatchObject({ chain: 'output', hostPort: 8080, tagged: true });
    expect(recognisePortForward(byHandle.get(5n)!)).toMatchObject({ chain: 'prerouting', protocol: 'udp', hostPort: 5353, hostAddress: v4('10.250.0.1'), tagged: true });
    // `tcp dport 8081 dnat to ...` without fib or address: a different rule.
    expect(recognisePortForward(byHandle.get(6n)!)).toBeUndefined();
    // A counter, a port range, a dnat without a port: not ours even with our comment.
    expect(recognisePortForward(byHandle.get(7n)!)).toBeUndefined();
    expect(byHandle.get(7n)!.comment).toBe('rtnetlink:dnat:tcp/8082->192.168.0.3:80');
    expect(recognisePortForward(byHandle.get(8n)!)).toBeUndefined();
    expect(recognisePortForward(byHandle.get(9n)!)).toBeUndefined();
    // The counter is kept as an unknown expression, byte for byte.
    expect(byHandle.get(7n)!.expressions.some((e) => e.kind === 'unknown' && e.name === 'counter')).toBe(true);
  });
});

describe('rule userdata is part of the rule', () => {
  it('raw NFTA_RULE_USERDATA (any TLVs, not only a comment) round-trips, and a comment inside it is read', () => {
    // nft's TLV format with a comment (type 0) and another TLV (type 1, e.g. a tool's own tag).
    const userdata = Buffer.concat([Buffer.from([0, 4]), Buffer.from('cni\0'), Buffer.from([1, 2, 0xab, 0xcd])]);
    const bytes = asNft((b) => b.newRule(IP, 'rtnetlink', 'prerouting', { expressions: dnatExprs(IP, 'prerouting', web), userdata }));
    const rule = decodeRuleRequest(parseMessages(bytes)[1]!);
    expect(rule.userdata).toEqual(userdata);
    expect(rule.comment).toBe('cni');
    expect(recognisePortForward({ ...rule, handle: 1n })).toMatchObject({ tagged: false, comment: 'cni' });
  });
});
