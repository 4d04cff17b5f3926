import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttrWriter, ByteWriter, DecodeError, EncodeError } from '../../lib/netlink/attributes.js';
import { type BridgeInfoData, type VxlanInfoData, linkKinds } from '../../lib/netlink/kinds/index.js';
import { type LinkMessage, decodeLink, encodeLink, linkIndexes } from '../../lib/netlink/link.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, type NetlinkMessage, parseMessages } from '../../lib/netlink/message.js';
import * as rt from '../../lib/netlink/rtnetlink.js';
import { linkUpRequest } from '../../lib/route/links.js';
import { interfaceName } from '../helpers/arbitraries.js';
import { type FixtureMessage, allFixtures, encodeLike, lastSent, loadFixture, pick, withoutPid } from './codec-fixtures.js';

const CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE;
const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));

/** Our encoding of `m` with the header values of the captured request. */
function ours(req: FixtureMessage, m: Partial<LinkMessage>): string {
  return encodeLike(req, (w, type, flags, seq) => encodeLink(w, type, flags, seq, m)).toString('hex');
}
const theirs = (req: FixtureMessage) => req.bytes.toString('hex');

function roundTrip(m: FixtureMessage): Buffer {
  return encodeLike(m, (w, type, flags, seq) => encodeLink(w, type, flags, seq, decodeLink(m.msg)));
}

describe('link requests match the bytes ip sends', () => {
  it('veth with its peer created in another namespace (IFLA_NET_NS_FD inside VETH_INFO_PEER)', () => {
    const req = lastSent(loadFixture('link-add-veth-peer-netns'), 'RTM_NEWLINK');
    expect(req.msg.flags).toBe(CREATE);
    // ip opened /run/netns/X as fd 4.
    const m = { name: 'vc', linkInfo: { kind: 'veth', data: { peer: { netnsFd: 4, name: 'vd' } } } };
    expect(ours(req, m)).toBe(theirs(req));

    const back = decodeLink(req.msg);
    expect(back).toMatchObject({ family: 0, index: 0, name: 'vc', linkInfo: { kind: 'veth' } });
    expect(back.linkInfo?.data).toMatchObject({ peer: { index: 0, netnsFd: 4, name: 'vd', unknown: [] } });
  });

  it('veth', () => {
    const req = lastSent(loadFixture('link-add-veth'), 'RTM_NEWLINK');
    expect(ours(req, { name: 'va', linkInfo: { kind: 'veth', data: { peer: { name: 'vb' } } } })).toBe(theirs(req));
  });

  it('bridge with settings', () => {
    const req = lastSent(loadFixture('link-add-bridge'), 'RTM_NEWLINK');
    const data = { stpState: 0, forwardDelay: 400, ageingTime: 30000, priority: 100, mcastSnooping: false };
    expect(ours(req, { name: 'br0', linkInfo: { kind: 'bridge', data } })).toBe(theirs(req));
    expect(decodeLink(req.msg).linkInfo?.data).toMatchObject({ ...data, unknown: [] });
  });

  it('bridge with vlan_filtering', () => {
    const req = lastSent(loadFixture('error-bridge-vlan-filtering'), 'RTM_NEWLINK');
    expect(ours(req, { name: 'br1', linkInfo: { kind: 'bridge', data: { vlanFiltering: true } } })).toBe(theirs(req));
  });

  it('bare bridge', () => {
    const req = lastSent(loadFixture('error-link-exists'), 'RTM_NEWLINK');
    expect(ours(req, { name: 'br0', linkInfo: { kind: 'bridge' } })).toBe(theirs(req));
  });

  it('macvlan on a parent (IFLA_LINK)', () => {
    const f = loadFixture('link-add-macvlan');
    const parent = decodeLink(pick(f, 'recv', 'RTM_NEWLINK')[0]!.msg);
    expect(parent.name).toBe('vb');
    const req = lastSent(f, 'RTM_NEWLINK');
    const m = { link: parent.index, name: 'mv0', linkInfo: { kind: 'macvlan', data: { mode: rt.MACVLAN_MODE_BRIDGE } } };
    expect(ours(req, m)).toBe(theirs(req));
  });

  it('vxlan (big-endian port, IPv4 group and local)', () => {
    const f = loadFixture('link-add-vxlan');
    const vb = decodeLink(pick(f, 'recv', 'RTM_NEWLINK')[0]!.msg).index;
    const req = lastSent(f, 'RTM_NEWLINK');
    const data = { id: 42, local: ip4('10.0.0.1'), group: ip4('239.1.1.1'), link: vb, port: 4789, ttl: 10, learning: false };
    expect(ours(req, { name: 'vx0', linkInfo: { kind: 'vxlan', data } })).toBe(theirs(req));
    expect(req.bytes.includes(Buffer.from([0x12, 0xb5]))).toBe(true); // 4789 big-endian
  });

  it('set master', () => {
    const f = loadFixture('link-set-master');
    const links = pick(f, 'recv', 'RTM_NEWLINK').map((m) => decodeLink(m.msg));
    const va = links.find((l) => l.name === 'va')!;
    const br0 = links.find((l) => l.name === 'br0')!;
    const req = lastSent(f, 'RTM_NEWLINK');
    expect(ours(req, { index: va.index, master: br0.index })).toBe(theirs(req));
  });

  it('set up', () => {
    const f = loadFixture('link-set-up');
    const va = decodeLink(pick(f, 'recv', 'RTM_NEWLINK')[0]!.msg);
    const req = lastSent(f, 'RTM_NEWLINK');
    expect(ours(req, { index: va.index, flags: rt.IFF_UP, change: rt.IFF_UP })).toBe(theirs(req));
  });
});

describe('link replies decode', () => {
  const f = loadFixture('dump-link');
  const replies = pick(f, 'recv', 'RTM_NEWLINK');
  const byName = new Map(replies.map((m) => [decodeLink(m.msg).name, decodeLink(m.msg)]));

  it('come from one multipart dump', () => {
    const datagram = Buffer.concat(replies.filter((m) => m.datagram === replies[0]!.datagram).map((m) => m.bytes));
    const parsed = parseMessages(datagram);
    expect(parsed.length).toBeGreaterThan(1);
    expect(parsed.map((m) => decodeLink(m).name)).toEqual([...byName.keys()].slice(0, parsed.length));
  });

  it('lo', () => {
    expect(byName.get('lo')).toMatchObject({
      type: rt.ARPHRD_LOOPBACK,
      index: 1,
      mtu: 65536,
      address: Buffer.alloc(6),
    });
    expect(byName.get('lo')!.flags & (rt.IFF_UP | rt.IFF_LOOPBACK)).toBe(rt.IFF_UP | rt.IFF_LOOPBACK);
  });

  it('a veth whose peer is in another namespace (IFLA_LINK_NETNSID)', () => {
    expect(byName.get('vc')).toMatchObject({ type: rt.ARPHRD_ETHER, linkNetnsId: 0, linkInfo: { kind: 'veth' } });
  });

  it('a bridge port and its bridge', () => {
    const br0 = byName.get('br0')!;
    const va = byName.get('va')!;
    expect(va).toMatchObject({ master: br0.index, linkInfo: { kind: 'veth', slaveKind: 'bridge' } });
    expect(va.linkInfo!.slaveData).toBeInstanceOf(Buffer);
    expect(br0.linkInfo).toMatchObject({
      kind: 'bridge',
      data: { stpState: 0, forwardDelay: 400, ageingTime: 30000, priority: 100, mcastSnooping: false },
    });
    // The ~40 other IFLA_BR_* the kernel reports are kept.
    expect((br0.linkInfo!.data as BridgeInfoData).unknown!.length).toBeGreaterThan(30);
  });

  it('macvlan and vxlan', () => {
    const vb = byName.get('vb')!.index;
    expect(byName.get('mv0')).toMatchObject({ link: vb, linkInfo: { kind: 'macvlan', data: { mode: rt.MACVLAN_MODE_BRIDGE } } });
    expect(byName.get('vx0')!.linkInfo).toMatchObject({
      kind: 'vxlan',
      data: { id: 42, group: ip4('239.1.1.1'), local: ip4('10.0.0.1'), link: vb, port: 4789, ttl: 10, learning: false },
    });
  });

  it('keep unmodelled attributes raw, even ones newer than our headers', () => {
    // A single-link reply (RTM_GETLINK by name) carries empty nests newer than the 6.1
    // headers (62 is IFLA_DEVLINK_PORT in later kernels) with NLA_F_NESTED set.
    const va = decodeLink(pick(loadFixture('link-set-up'), 'recv', 'RTM_NEWLINK')[0]!.msg);
    const types = va.unknown.map((a) => a.type);
    // IFLA_STATS (32-bit) stays raw; STATS64, AF_SPEC, QDISC, PROMISCUITY are modelled.
    expect(types).toContain(rt.IFLA_STATS);
    expect(types).not.toContain(rt.IFLA_STATS64);
    expect(va.stats64?.length).toBeGreaterThanOrEqual(24 * 8);
    expect(va.afSpec?.length).toBeGreaterThan(0);
    expect(va.qdisc).toBe('noop'); // still down when ip looked it up
    expect(va.promiscuity).toBe(1);
    expect(va.unknown.find((a) => a.type === 62)).toMatchObject({ nested: true, data: Buffer.alloc(0) });
  });
});

describe('link messages re-encode byte for byte', () => {
  const links = allFixtures().flatMap((f) =>
    f.messages
      .filter((m) => m.msg.type >= rt.RTM_NEWLINK && m.msg.type <= rt.RTM_SETLINK)
      .map((m, i) => [`${f.name} #${i} ${m.dir} ${m.type}`, m] as const),
  );

  it.each(links)('%s', (_, m) => {
    expect(roundTrip(m).toString('hex')).toBe(withoutPid(m.bytes).toString('hex'));
  });

  it('a changed field is re-encoded in place, a removed one is left out', () => {
    const m = pick(loadFixture('dump-link'), 'recv', 'RTM_NEWLINK')[4]!;
    const link = decodeLink(m.msg);
    const vx = { ...link, mtu: 1400, alias: 'new' };
    delete vx.txqlen;
    const w = new ByteWriter();
    encodeLink(w, m.msg.type, 0, 0, vx);
    const back = decodeLink(parseMessages(w.take())[0]!);
    expect(back.mtu).toBe(1400);
    expect(back.alias).toBe('new');
    expect(back.txqlen).toBeUndefined();
    expect(back.name).toBe(link.name);
    expect(back.unknown.map((a) => a.data)).toEqual(link.unknown.map((a) => a.data));
  });
});

describe('link encoding errors', () => {
  it('a kind without a codec needs raw IFLA_INFO_DATA', () => {
    const w = new ByteWriter();
    expect(() => encodeLink(w, rt.RTM_NEWLINK, CREATE, 1, { linkInfo: { kind: 'dummy', data: { mode: 1 } } })).toThrow(EncodeError);
    const raw = Buffer.from([5, 0, 1, 0, 7, 0, 0, 0]);
    encodeLink(w, rt.RTM_NEWLINK, CREATE, 1, { linkInfo: { kind: 'dummy', data: raw } });
    expect(decodeLink(parseMessages(w.take())[0]!).linkInfo).toMatchObject({ kind: 'dummy', data: raw });
  });

  it('vxlan addresses are 4 or 16 bytes', () => {
    const a = new AttrWriter();
    const vxlan = linkKinds.get('vxlan')!;
    expect(() => vxlan.encodeData(a, { group: Buffer.alloc(5) }, null as never)).toThrow(EncodeError);
  });

  it('IPv6 vxlan addresses use IFLA_VXLAN_GROUP6/LOCAL6', () => {
    const group = Buffer.from('ff0500000000000000000000000000fb', 'hex');
    const w = new ByteWriter();
    encodeLink(w, rt.RTM_NEWLINK, CREATE, 1, { linkInfo: { kind: 'vxlan', data: { id: 1, group } } });
    const back = decodeLink(parseMessages(w.take())[0]!);
    const data = back.linkInfo!.data as VxlanInfoData;
    expect(data.group).toEqual(group);
    expect(data.layout!.map((a) => a.type)).toEqual([rt.IFLA_VXLAN_ID, rt.IFLA_VXLAN_GROUP6]);
  });
});

describe('linkIndexes reads what the full decoder reads', () => {
  const received = allFixtures().flatMap((f) =>
    f.messages.filter((m) => m.dir === 'recv' && m.msg.type === rt.RTM_NEWLINK).map((m, i) => [`${f.name} #${i}`, m] as const),
  );

  it('has veth echoes among the fixtures (their IFLA_LINK is the peer index)', () => {
    expect(received.some(([, m]) => decodeLink(m.msg).linkInfo?.kind === 'veth' && decodeLink(m.msg).link !== undefined)).toBe(true);
  });

  it.each(received)('%s', (_, m) => {
    const full = decodeLink(m.msg);
    expect(linkIndexes(m.msg)).toEqual(full.link === undefined ? { index: full.index } : { index: full.index, link: full.link });
  });

  it('throws DecodeError on a short ifinfomsg or an attribute running past the end', () => {
    const msg = (payload: Buffer): NetlinkMessage => ({ type: rt.RTM_NEWLINK, flags: 0, seq: 0, pid: 0, payload });
    expect(() => linkIndexes(msg(Buffer.alloc(15)))).toThrow(DecodeError);
    const p = Buffer.alloc(24);
    p.writeUInt16LE(200, 16);
    expect(() => linkIndexes(msg(p))).toThrow(DecodeError);
  });
});

describe('malformed link messages throw DecodeError', () => {
  const good = pick(loadFixture('dump-link'), 'recv', 'RTM_NEWLINK');
  const msg = (payload: Buffer, type = rt.RTM_NEWLINK): NetlinkMessage => ({ type, flags: 0, seq: 0, pid: 0, payload });
  const attr = (type: number, data: Buffer) => {
    const a = new AttrWriter();
    a.bytes(type, data);
    return a.w.take();
  };
  const ifinfomsg = Buffer.alloc(16);

  it('short ifinfomsg', () => {
    expect(() => decodeLink(msg(Buffer.alloc(15)))).toThrow(DecodeError);
    expect(decodeLink(msg(Buffer.alloc(16))).unknown).toEqual([]);
  });

  it('an attribute running past the end', () => {
    const p = Buffer.concat([ifinfomsg, attr(rt.IFLA_IFNAME, Buffer.from('eth0\0'))]);
    p.writeUInt16LE(200, 16);
    expect(() => decodeLink(msg(p))).toThrow(DecodeError);
  });

  it('a u32 attribute that is too short', () => {
    expect(() => decodeLink(msg(Buffer.concat([ifinfomsg, attr(rt.IFLA_MTU, Buffer.alloc(2))])))).toThrow(DecodeError);
  });

  it('a bad length inside IFLA_LINKINFO', () => {
    const inner = attr(rt.IFLA_INFO_KIND, Buffer.from('veth\0'));
    inner.writeUInt16LE(64, 0);
    expect(() => decodeLink(msg(Buffer.concat([ifinfomsg, attr(rt.IFLA_LINKINFO, inner)])))).toThrow(DecodeError);
  });

  it('a veth peer with a short ifinfomsg', () => {
    const data = attr(rt.VETH_INFO_PEER, Buffer.alloc(8));
    const info = Buffer.concat([attr(rt.IFLA_INFO_KIND, Buffer.from('veth\0')), attr(rt.IFLA_INFO_DATA, data)]);
    expect(() => decodeLink(msg(Buffer.concat([ifinfomsg, attr(rt.IFLA_LINKINFO, info)])))).toThrow(DecodeError);
  });

  it('a vxlan group of the wrong size', () => {
    const data = attr(rt.IFLA_VXLAN_GROUP, Buffer.alloc(3));
    const info = Buffer.concat([attr(rt.IFLA_INFO_KIND, Buffer.from('vxlan\0')), attr(rt.IFLA_INFO_DATA, data)]);
    expect(() => decodeLink(msg(Buffer.concat([ifinfomsg, attr(rt.IFLA_LINKINFO, info)])))).toThrow(DecodeError);
  });

  it('not a link message', () => {
    expect(() => decodeLink(msg(Buffer.alloc(16), rt.RTM_NEWADDR))).toThrow(DecodeError);
  });

  it('every truncation of real replies decodes or throws DecodeError', () => {
    for (const m of good) {
      for (let len = 0; len < m.msg.payload.length; len++) {
        try {
          decodeLink(msg(m.msg.payload.subarray(0, len)));
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }
    }
  });

  it('random corruption decodes or throws DecodeError', () => {
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 0x1000000;
    for (let i = 0; i < 3000; i++) {
      const p = Buffer.from(good[i % good.length]!.msg.payload);
      for (let k = 0; k < 4; k++) p[Math.floor(rand() * p.length)] = Math.floor(rand() * 256);
      try {
        decodeLink(msg(p));
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
      }
    }
  });
});

describe('link flag changes written directly (encodeLinkFlags, what linkUpRequest sends)', () => {
  it('are byte for byte what the field table encodes for the same message', () => {
    const link = fc.oneof(fc.integer({ min: 1, max: 2 ** 31 - 1 }), interfaceName);
    const group = fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { nil: undefined });
    fc.assert(
      fc.property(link, fc.boolean(), group, fc.integer({ min: 0, max: 2 ** 32 - 1 }), (l, up, g, seq) => {
        const direct = new ByteWriter(64);
        linkUpRequest(l, up, 'x', g).encode(direct, seq);
        const m: Partial<LinkMessage> = { family: 0, ...(typeof l === 'number' ? { index: l } : { index: 0, name: l }), flags: up ? 1 : 0, change: 1 };
        if (g !== undefined) m.group = g;
        const table = new ByteWriter(64);
        encodeLink(table, rt.RTM_NEWLINK, 0, seq, m);
        expect(direct.take()).toEqual(table.take());
      }),
      { numRuns: 1000 },
    );
  });
});

describe('struct ifinfomsg, which every link request starts with', () => {
  it('is written with its fields where the kernel reads them, flags and change modulo 2^32', () => {
    const u32 = fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), u32, u32, (family, type, index, flags, change) => {
        const w = new ByteWriter(8);
        encodeLink(w, rt.RTM_NEWLINK, 0, 7, { family, type, index, flags, change });
        const b = w.take();
        // Read field by field from struct ifinfomsg's layout, not through the codec.
        expect([b.readUInt8(16), b.readUInt8(17), b.readUInt16LE(18), b.readInt32LE(20), b.readUInt32LE(24), b.readUInt32LE(28)]).toEqual([family, 0, type, index, flags >>> 0, change >>> 0]);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a field that does not fit with the error of the checked write for its size', () => {
    for (const [bad, error] of [
      [{ family: 256 }, /256 does not fit a u8/],
      [{ type: 0x10000 }, /65536 does not fit a u16/],
      [{ index: 2 ** 31 }, /2147483648 does not fit a i32/],
      [{ index: 1.5 }, /1.5 does not fit a i32/],
      [{ flags: 2 ** 32 }, /4294967296 does not fit a u32/],
      [{ change: -(2 ** 31) - 1 }, /-2147483649 does not fit a u32/],
      [{ flags: Number.NaN }, /NaN does not fit a u32/],
    ] as const) {
      const w = new ByteWriter(8);
      expect(() => encodeLink(w, rt.RTM_NEWLINK, 0, 1, { family: 0, index: 1, flags: 0, change: 0, ...bad })).toThrow(error);
      expect(w.length).toBe(0);
    }
  });
});
