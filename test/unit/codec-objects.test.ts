// Neighbours, FDB entries, policy rules, route lookups, nsids, bridge port flags and vlans:
// our requests against the bytes ip/bridge sent to this kernel (scripts/capture-object-fixtures.sh),
// the kernel's replies decoded, every captured message re-encoded byte for byte.
import { describe, expect, it } from 'vitest';
import { AttrWriter, DecodeError } from '../../lib/netlink/attributes.js';
import { decodeBridgeAfSpec, encodeBridgeAfSpec } from '../../lib/netlink/bridge-vlan.js';
import { decodeLink, encodeLink, readStats64 } from '../../lib/netlink/link.js';
import { type NetlinkMessage, decodeError } from '../../lib/netlink/message.js';
import { decodeNeighbour, encodeNeighbour } from '../../lib/netlink/neighbour.js';
import { decodeNsid, encodeNsid } from '../../lib/netlink/nsid.js';
import { decodeRoute, encodeRoute } from '../../lib/netlink/route.js';
import { decodeRule, encodeRule } from '../../lib/netlink/rule.js';
import * as rt from '../../lib/netlink/rtnetlink.js';
import { protinfo, vlanSpec } from '../../lib/route/bridge.js';
import { stateOf } from '../../lib/route/fdb.js';
import { neighbourMessage } from '../../lib/route/neighbours.js';
import { ruleMessage } from '../../lib/route/rules.js';
import { type FixtureMessage, allFixtures, encodeLike, lastSent, loadFixture, pick, withoutPid } from './codec-fixtures.js';

const hex = (b: Buffer) => b.toString('hex');
const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));
const mac = (s: string) => Buffer.from(s.split(':').map((x) => parseInt(x, 16)));

/** The ifindex ip resolved for the request (our API resolves it the same way, by RTM_GETLINK). */
const indexIn = (req: FixtureMessage) => req.msg.payload.readInt32LE(4);

describe('neighbour requests match the bytes ip sends', () => {
  const cases = [
    ['neigh-add-permanent', 'RTM_NEWNEIGH', { address: '10.1.2.9', lladdr: '02:00:00:00:00:09', dev: 'vb' }],
    ['neigh-add-ipv6', 'RTM_NEWNEIGH', { address: '2001:db8::9', lladdr: '02:00:00:00:00:19', dev: 'vb', state: 'reachable', router: true }],
    ['neigh-add-proxy', 'RTM_NEWNEIGH', { address: '10.1.2.77', dev: 'vb', proxy: true }],
    ['neigh-del', 'RTM_DELNEIGH', { address: '10.1.2.9', dev: 'vb' }],
  ] as const;
  it.each(cases)('%s', (name, type, spec) => {
    const req = lastSent(loadFixture(name), type);
    const m = neighbourMessage(spec, indexIn(req));
    expect(hex(encodeLike(req, (w, t, f, s) => encodeNeighbour(w, t, f, s, m)))).toBe(hex(req.bytes));
  });
});

describe('FDB requests match the bytes bridge sends', () => {
  it('the vxlan flood entry (append, all-zeros MAC, dst)', () => {
    const req = lastSent(loadFixture('fdb-append-flood'), 'RTM_NEWNEIGH');
    expect(req.msg.flags & 0xf00).toBe(0xc00); // NLM_F_CREATE | NLM_F_APPEND
    const m = { family: rt.AF_BRIDGE, index: indexIn(req), state: stateOf({ mac: '', dev: 'vx0' }), flags: rt.NTF_SELF, lladdr: Buffer.alloc(6), dst: ip4('10.1.2.4') };
    expect(hex(encodeLike(req, (w, t, f, s) => encodeNeighbour(w, t, f, s, m)))).toBe(hex(req.bytes));
  });

  it('a static entry of a bridge port, with a vlan', () => {
    const req = lastSent(loadFixture('fdb-add-master'), 'RTM_NEWNEIGH');
    const m = { family: rt.AF_BRIDGE, index: indexIn(req), state: stateOf({ mac: '', dev: 'va', state: 'static' }), flags: rt.NTF_MASTER, lladdr: mac('02:00:00:00:00:aa'), vlan: 5 };
    expect(hex(encodeLike(req, (w, t, f, s) => encodeNeighbour(w, t, f, s, m)))).toBe(hex(req.bytes));
  });

  it('a vxlan remote with its own port and VNI (NDA_PORT big-endian)', () => {
    const req = lastSent(loadFixture('fdb-add-vxlan'), 'RTM_NEWNEIGH');
    const m = { family: rt.AF_BRIDGE, index: indexIn(req), state: stateOf({ mac: '', dev: 'vx0' }), flags: rt.NTF_SELF, lladdr: mac('02:00:00:00:00:bb'), dst: ip4('10.1.2.5'), port: 4790, vni: 43 };
    expect(hex(encodeLike(req, (w, t, f, s) => encodeNeighbour(w, t, f, s, m)))).toBe(hex(req.bytes));
  });
});

describe('rule requests match the bytes ip sends', () => {
  const cases = [
    ['rule-add-ipv4', { from: '10.0.0.0/8', to: '192.168.0.0/16', fwmark: 0x10, fwmask: 0xff, iif: 'vb', table: 100, priority: 100 }],
    ['rule-add-ipv6', { from: '2001:db8::/32', oif: 'vb', action: 'blackhole', priority: 200 }],
    ['rule-add-unreachable', { to: '10.9.0.0/16', action: 'unreachable', priority: 300 }],
  ] as const;
  it.each(cases)('%s', (name, spec) => {
    const req = lastSent(loadFixture(name), 'RTM_NEWRULE');
    const m = ruleMessage(spec);
    expect(hex(encodeLike(req, (w, t, f, s) => encodeRule(w, t, f, s, m)))).toBe(hex(req.bytes));
  });

  it('a table above 255 goes in FRA_TABLE, the header says RT_TABLE_UNSPEC', () => {
    const m = ruleMessage({ from: '10.0.0.0/8', table: 1000 });
    expect(m).toMatchObject({ table: rt.RT_TABLE_UNSPEC, tableId: 1000, action: rt.FR_ACT_TO_TBL });
    expect(ruleMessage({ fwmark: 1 })).toMatchObject({ table: rt.RT_TABLE_MAIN, family: rt.AF_INET });
  });
});

describe('other requests match the bytes ip and bridge send', () => {
  it('ip route get DST from SRC mark M', () => {
    const req = lastSent(loadFixture('route-get'), 'RTM_GETROUTE');
    const m = { family: rt.AF_INET, dstLen: 32, srcLen: 32, flags: rt.RTM_F_LOOKUP_TABLE, dst: ip4('10.1.2.9'), src: ip4('10.1.2.3'), mark: 7 };
    expect(hex(encodeLike(req, (w, t, f, s) => encodeRoute(w, t, f, s, m)))).toBe(hex(req.bytes));
  });

  it('ip netns set NAME NSID', () => {
    const req = lastSent(loadFixture('nsid-set'), 'RTM_NEWNSID');
    const fd = decodeNsid(req.msg).fd!;
    expect(hex(encodeLike(req, (w, t, f, s) => encodeNsid(w, t, f, s, { family: 0, nsid: 7, fd })))).toBe(hex(req.bytes));
  });

  it('ip link set alias, txqueuelen, promisc on, arp off', () => {
    const req = lastSent(loadFixture('link-set-alias'), 'RTM_NEWLINK');
    const m = { family: 0, index: indexIn(req), flags: rt.IFF_PROMISC | rt.IFF_NOARP, change: rt.IFF_PROMISC | rt.IFF_NOARP, txqlen: 500, alias: 'web' };
    expect(hex(encodeLike(req, (w, t, f, s) => encodeLink(w, t, f, s, m)))).toBe(hex(req.bytes));
  });

  it('bridge link set hairpin on isolated on learning off flood off (IFLA_PROTINFO)', () => {
    const req = lastSent(loadFixture('bridge-link-set'), 'RTM_SETLINK');
    const payload = protinfo({ hairpin: true, isolated: true, learning: false, flood: false });
    const m = { family: rt.AF_BRIDGE, index: indexIn(req), unknown: [{ type: rt.IFLA_PROTINFO, nested: true, data: payload }] };
    expect(hex(encodeLike(req, (w, t, f, s) => encodeLink(w, t, f, s, m)))).toBe(hex(req.bytes));
  });

  it('bridge vlan add vid 10 pvid untagged (IFLA_AF_SPEC), and the kernel without vlan filtering says EOPNOTSUPP', () => {
    const f = loadFixture('bridge-vlan-add');
    const req = lastSent(f, 'RTM_SETLINK');
    const m = { family: rt.AF_BRIDGE, index: indexIn(req), afSpec: vlanSpec({ vid: 10, pvid: true, untagged: true }) };
    expect(hex(encodeLike(req, (w, t, f, s) => encodeLink(w, t, f, s, m)))).toBe(hex(req.bytes));
    expect(decodeError(pick(f, 'recv', 'NLMSG_ERROR').at(-1)!.msg).error).toBe(-95);
  });
});

describe('bridge options and altnames match the bytes ip sends', () => {
  it('ip link set br0 type bridge stp_state 1 forward_delay 400 ageing_time 1000', () => {
    const req = lastSent(loadFixture('link-set-bridge'), 'RTM_NEWLINK');
    // setBridge's message: the bridge's index, IFLA_LINKINFO with kind and the changed options.
    const m = { family: 0, index: indexIn(req), flags: 0, change: 0, linkInfo: { kind: 'bridge', data: { stpState: 1, forwardDelay: 400, ageingTime: 1000 } } };
    expect(hex(encodeLike(req, (w, t, f, s) => encodeLink(w, t, f, s, m)))).toBe(hex(req.bytes));
  });

  it.each([
    ['link-altname', 'RTM_NEWLINKPROP'],
    ['link-del-altname', 'RTM_DELLINKPROP'],
  ])('%s (IFLA_PROP_LIST, NLA_F_NESTED)', (name, type) => {
    const req = lastSent(loadFixture(name), type);
    const m = { family: 0, index: indexIn(req), flags: 0, change: 0, altNames: ['backbone'] };
    expect(hex(encodeLike(req, (w, t, f, s) => encodeLink(w, t, f, s, m)))).toBe(hex(req.bytes));
  });
});

describe('replies decode', () => {
  it('the neighbour table: states, flags, cache info', () => {
    const all = pick(loadFixture('dump-neigh'), 'recv', 'RTM_NEWNEIGH').map((m) => decodeNeighbour(m.msg));
    expect(all.find((n) => n.family === rt.AF_INET)).toMatchObject({ state: rt.NUD_STALE, dst: ip4('10.1.2.10'), lladdr: mac('02:00:00:00:00:0a') });
    expect(all.find((n) => n.flags & rt.NTF_ROUTER)).toMatchObject({ family: rt.AF_INET6, state: rt.NUD_REACHABLE, lladdr: mac('02:00:00:00:00:19') });
    expect(all.every((n) => n.cacheinfo !== undefined)).toBe(true);
  });

  it('the FDB: vxlan remotes with dst, port and vni; port entries with their bridge', () => {
    const all = pick(loadFixture('dump-fdb'), 'recv', 'RTM_NEWNEIGH').map((m) => decodeNeighbour(m.msg));
    expect(all.every((e) => e.family === rt.AF_BRIDGE)).toBe(true);
    expect(all.filter((e) => e.dst).map((e) => [hex(e.lladdr!), hex(e.dst!), e.port, e.vni])).toEqual([
      ['0200000000bb', '0a010205', 4790, 43],
      ['000000000000', '0a010204', undefined, undefined],
    ]);
    expect(all.filter((e) => e.master !== undefined).length).toBeGreaterThan(0);
  });

  it('rules: the default three and ours, with tables, marks and actions', () => {
    const all = pick(loadFixture('dump-rule4'), 'recv', 'RTM_NEWRULE').map((m) => decodeRule(m.msg));
    expect(all.map((r) => [r.priority ?? 0, r.action, r.tableId])).toEqual([
      [0, rt.FR_ACT_TO_TBL, 255],
      [100, rt.FR_ACT_TO_TBL, 100],
      [300, rt.FR_ACT_UNREACHABLE, 0],
      [32766, rt.FR_ACT_TO_TBL, 254],
      [32767, rt.FR_ACT_TO_TBL, 253],
    ]);
    expect(all[1]).toMatchObject({ fwmark: 16, fwmask: 255, iifname: 'vb', srcLen: 8, dstLen: 16 });
    const v6 = pick(loadFixture('dump-rule6'), 'recv', 'RTM_NEWRULE').map((m) => decodeRule(m.msg));
    expect(v6.find((r) => r.action === rt.FR_ACT_BLACKHOLE)).toMatchObject({ family: rt.AF_INET6, oifname: 'vb', srcLen: 32, priority: 200 });
  });

  it('a route lookup answer', () => {
    const r = decodeRoute(pick(loadFixture('route-get'), 'recv', 'RTM_NEWROUTE')[0]!.msg);
    expect(r).toMatchObject({ type: rt.RTN_UNICAST, tableId: 254, dst: ip4('10.1.2.9'), src: ip4('10.1.2.3'), mark: 7, uid: 0 });
    expect(r.flags & rt.RTM_F_CLONED).toBeTruthy();
  });

  it('nsids', () => {
    const f = loadFixture('nsid-list');
    expect(pick(f, 'recv', 'RTM_NEWNSID').map((m) => decodeNsid(m.msg).nsid)).toEqual([7, 7]);
  });

  it('link statistics, alias, qdisc, promiscuity and altnames', () => {
    const vb = decodeLink(pick(loadFixture('dump-link-stats'), 'recv', 'RTM_NEWLINK').map((m) => m.msg).find((m) => decodeLink(m).name === 'vb')!);
    expect(vb).toMatchObject({ alias: 'web', txqlen: 500, altNames: ['backbone'], qdisc: 'noqueue' });
    expect(vb.flags & rt.IFF_PROMISC).toBeTruthy();
    const stats = readStats64(vb.stats64!);
    expect(stats.rxPackets).toBeGreaterThan(0);
    expect(stats.rxBytes).toBeGreaterThan(stats.rxPackets!);
  });

  it('bridge vlan dump (AF_BRIDGE, RTEXT_FILTER_BRVLAN): the request, and per-port vlans in IFLA_AF_SPEC', () => {
    const f = loadFixture('dump-bridge-vlan');
    const req = pick(f, 'send', 'RTM_GETLINK').at(-1)!;
    expect(decodeLink(req.msg)).toMatchObject({ family: rt.AF_BRIDGE, extMask: rt.RTEXT_FILTER_BRVLAN });
    // Without CONFIG_BRIDGE_VLAN_FILTERING the ports report no vlans.
    for (const m of pick(f, 'recv', 'RTM_NEWLINK').slice(-3)) {
      const l = decodeLink(m.msg);
      expect(l.family).toBe(rt.AF_BRIDGE);
      if (l.afSpec) expect(decodeBridgeAfSpec(l.afSpec).vlans).toEqual([]);
    }
  });

  it('bridge vlan entries round trip, ranges expanded', () => {
    const spec = { bridgeFlags: rt.BRIDGE_FLAGS_MASTER, vlans: [{ flags: rt.BRIDGE_VLAN_INFO_PVID | rt.BRIDGE_VLAN_INFO_UNTAGGED, vid: 1 }, { flags: 0, vid: 10 }] };
    expect(decodeBridgeAfSpec(encodeBridgeAfSpec(spec))).toEqual(spec);
    const range = encodeBridgeAfSpec({ vlans: [{ flags: rt.BRIDGE_VLAN_INFO_RANGE_BEGIN, vid: 20 }, { flags: rt.BRIDGE_VLAN_INFO_RANGE_END, vid: 22 }] });
    expect(decodeBridgeAfSpec(range).vlans.map((v) => v.vid)).toEqual([20, 21, 22]);
  });
});

describe('new message kinds re-encode byte for byte', () => {
  const kinds: [number, number, (m: NetlinkMessage) => unknown, (w: any, t: number, f: number, s: number, m: any) => number][] = [
    [rt.RTM_NEWNEIGH, rt.RTM_GETNEIGH, decodeNeighbour, encodeNeighbour],
    [rt.RTM_NEWRULE, rt.RTM_GETRULE, decodeRule, encodeRule],
    [rt.RTM_NEWNSID, rt.RTM_GETNSID, decodeNsid, encodeNsid],
  ];
  const msgs = allFixtures().flatMap((f) =>
    f.messages.flatMap((m, i) => {
      const kind = kinds.find(([lo, hi]) => m.msg.type >= lo && m.msg.type <= hi);
      return kind ? [[`${f.name} #${i} ${m.dir} ${m.type}`, m, kind] as const] : [];
    }),
  );
  it('covers every new kind', () => {
    for (const [lo] of kinds) expect(msgs.some(([, m]) => m.msg.type === lo)).toBe(true);
  });
  it.each(msgs)('%s', (_, m, [, , decode, encode]) => {
    const out = encodeLike(m, (w, type, flags, seq) => encode(w, type, flags, seq, decode(m.msg)));
    expect(hex(out)).toBe(hex(withoutPid(m.bytes)));
  });
});

describe('malformed messages throw DecodeError', () => {
  const msg = (type: number, payload: Buffer): NetlinkMessage => ({ type, flags: 0, seq: 0, pid: 0, payload });
  it('short headers and wrong types', () => {
    expect(() => decodeNeighbour(msg(rt.RTM_NEWNEIGH, Buffer.alloc(11)))).toThrow(DecodeError);
    expect(() => decodeRule(msg(rt.RTM_NEWRULE, Buffer.alloc(11)))).toThrow(DecodeError);
    expect(() => decodeNsid(msg(rt.RTM_NEWNSID, Buffer.alloc(3)))).toThrow(DecodeError);
    expect(() => decodeNeighbour(msg(rt.RTM_NEWLINK, Buffer.alloc(12)))).toThrow(DecodeError);
    expect(() => decodeRule(msg(rt.RTM_NEWROUTE, Buffer.alloc(12)))).toThrow(DecodeError);
  });
  it('a short NDA_CACHEINFO, a short IFLA_BRIDGE_VLAN_INFO', () => {
    const a = new AttrWriter();
    a.w.zeros(12);
    a.bytes(rt.NDA_CACHEINFO, Buffer.alloc(8));
    expect(() => decodeNeighbour(msg(rt.RTM_NEWNEIGH, a.w.take()))).toThrow(DecodeError);
    const v = new AttrWriter().bytes(rt.IFLA_BRIDGE_VLAN_INFO, Buffer.alloc(2)).w.take();
    expect(() => decodeBridgeAfSpec(v)).toThrow(DecodeError);
  });
  it('every truncation of real replies decodes or throws DecodeError', () => {
    const cases: [string, string, (m: NetlinkMessage) => unknown][] = [
      ['dump-neigh', 'RTM_NEWNEIGH', decodeNeighbour],
      ['dump-fdb', 'RTM_NEWNEIGH', decodeNeighbour],
      ['dump-rule4', 'RTM_NEWRULE', decodeRule],
      ['nsid-list', 'RTM_NEWNSID', decodeNsid],
    ];
    for (const [name, type, decode] of cases) {
      for (const m of pick(loadFixture(name), 'recv', type)) {
        for (let len = 0; len < m.msg.payload.length; len++) {
          try {
            decode({ ...m.msg, payload: m.msg.payload.subarray(0, len) });
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        }
      }
    }
  });
});
