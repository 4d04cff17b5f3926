import { describe, expect, it } from 'vitest';
import { AttrWriter, ByteWriter, DecodeError } from '../../lib/netlink/attributes.js';
import { type NetlinkMessage, decodeError, parseMessages } from '../../lib/netlink/message.js';
import { type RouteMessage, decodeRoute, encodeRoute } from '../../lib/netlink/route.js';
import * as rt from '../../lib/netlink/rtnetlink.js';
import { type FixtureMessage, allFixtures, encodeLike, lastSent, loadFixture, pick, withoutPid } from './codec-fixtures.js';

const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));

function ours(req: FixtureMessage, m: Partial<RouteMessage>): string {
  return encodeLike(req, (w, type, flags, seq) => encodeRoute(w, type, flags, seq, m)).toString('hex');
}

// What `ip route add` puts in rtmsg for a unicast route in the main table.
const unicast = {
  family: rt.AF_INET,
  table: rt.RT_TABLE_MAIN,
  protocol: rt.RTPROT_BOOT,
  scope: rt.RT_SCOPE_UNIVERSE,
  type: rt.RTN_UNICAST,
};

describe('route requests match the bytes ip sends', () => {
  it('default via a gateway', () => {
    const req = lastSent(loadFixture('route-add-default'), 'RTM_NEWROUTE');
    expect(ours(req, { ...unicast, gateway: ip4('10.1.2.1') })).toBe(req.bytes.toString('hex'));
  });

  it('with metrics (RTA_METRICS)', () => {
    const req = lastSent(loadFixture('route-add-metrics'), 'RTM_NEWROUTE');
    const m = {
      ...unicast,
      protocol: rt.RTPROT_STATIC,
      dstLen: 16,
      dst: ip4('10.6.0.0'),
      gateway: ip4('10.1.2.1'),
      metrics: [
        { type: rt.RTAX_MTU, value: 1400 },
        { type: rt.RTAX_ADVMSS, value: 1360 },
      ],
    };
    expect(ours(req, m)).toBe(req.bytes.toString('hex'));
    expect(decodeRoute(req.msg)).toMatchObject(m);
  });

  it('multipath (RTA_MULTIPATH)', () => {
    const req = lastSent(loadFixture('route-add-multipath'), 'RTM_NEWROUTE');
    const m = {
      ...unicast,
      dstLen: 16,
      dst: ip4('10.5.0.0'),
      multipath: [
        { flags: 0, hops: 0, ifindex: 0, gateway: ip4('10.1.2.1') },
        { flags: 0, hops: 1, ifindex: 0, gateway: ip4('10.1.2.2') },
      ],
    };
    expect(ours(req, m)).toBe(req.bytes.toString('hex'));
    expect(decodeRoute(req.msg)).toMatchObject(m);
  });
});

describe('route replies decode', () => {
  const v4 = pick(loadFixture('dump-route4'), 'recv', 'RTM_NEWROUTE').map((m) => decodeRoute(m.msg));
  const v6 = pick(loadFixture('dump-route6'), 'recv', 'RTM_NEWROUTE').map((m) => decodeRoute(m.msg));

  it('the default route', () => {
    expect(v4[0]).toMatchObject({ ...unicast, dstLen: 0, tableId: rt.RT_TABLE_MAIN, gateway: ip4('10.1.2.1'), oif: 5 });
    expect(v4[0]!.dst).toBeUndefined();
  });

  it('a connected route with its preferred source', () => {
    expect(v4[1]).toMatchObject({
      dstLen: 24,
      protocol: rt.RTPROT_KERNEL,
      scope: rt.RT_SCOPE_LINK,
      dst: ip4('10.1.2.0'),
      prefsrc: ip4('10.1.2.3'),
    });
  });

  it('multipath with the kernel-filled ifindex', () => {
    const mp = v4.find((r) => r.multipath);
    expect(mp?.multipath).toMatchObject([
      { hops: 0, ifindex: 5, gateway: ip4('10.1.2.1') },
      { hops: 1, ifindex: 5, gateway: ip4('10.1.2.2') },
    ]);
  });

  it('metrics and local-table routes', () => {
    expect(v4.find((r) => r.metrics)?.metrics).toEqual([
      { type: rt.RTAX_MTU, value: 1400 },
      { type: rt.RTAX_ADVMSS, value: 1360 },
    ]);
    expect(v4.filter((r) => r.tableId === rt.RT_TABLE_LOCAL).map((r) => r.type)).toContain(rt.RTN_LOCAL);
  });

  it('IPv6, with RTA_CACHEINFO and RTA_PREF kept raw', () => {
    expect(v6[0]).toMatchObject({ family: rt.AF_INET6, dstLen: 64, priority: 256, oif: 5 });
    expect(v6[0]!.unknown.map((a) => a.type)).toEqual([rt.RTA_CACHEINFO, rt.RTA_PREF]);
  });
});

describe('route messages re-encode byte for byte', () => {
  const msgs = allFixtures().flatMap((f) =>
    f.messages
      .filter((m) => m.msg.type >= rt.RTM_NEWROUTE && m.msg.type <= rt.RTM_GETROUTE)
      .map((m, i) => [`${f.name} #${i} ${m.dir} ${m.type}`, m] as const),
  );

  it.each(msgs)('%s', (_, m) => {
    const out = encodeLike(m, (w, type, flags, seq) => encodeRoute(w, type, flags, seq, decodeRoute(m.msg)));
    expect(out.toString('hex')).toBe(withoutPid(m.bytes).toString('hex'));
  });

  it('RTAX_CC_ALGO is a string, other odd-sized metrics stay bytes', () => {
    const w = new ByteWriter();
    const metrics = [
      { type: rt.RTAX_CC_ALGO, value: 'bbr' },
      { type: 99, value: Buffer.from([1, 2]) },
    ];
    encodeRoute(w, rt.RTM_NEWROUTE, 0, 0, { family: rt.AF_INET, tableId: 1000, metrics });
    expect(decodeRoute(parseMessages(w.take())[0]!)).toMatchObject({ tableId: 1000, metrics });
  });
});

describe('route errors from the kernel', () => {
  it('an unreachable gateway: ENETUNREACH with an extended ack', () => {
    const f = loadFixture('error-route-unreachable');
    const err = decodeError(pick(f, 'recv', 'NLMSG_ERROR')[0]!.msg);
    expect(err.error).toBe(-101);
    expect(err.message).toBe('Nexthop has invalid gateway');
    expect(rt.rtmName(err.request.type)).toBe('RTM_NEWROUTE');
    expect(err.request.seq).toBe(lastSent(f, 'RTM_NEWROUTE').msg.seq);
  });
});

describe('malformed route messages throw DecodeError', () => {
  const msg = (payload: Buffer, type = rt.RTM_NEWROUTE): NetlinkMessage => ({ type, flags: 0, seq: 0, pid: 0, payload });
  const withAttr = (type: number, data: Buffer) => {
    const a = new AttrWriter();
    a.w.zeros(12);
    a.bytes(type, data);
    return a.w.take();
  };

  it('short rtmsg', () => {
    expect(() => decodeRoute(msg(Buffer.alloc(11)))).toThrow(DecodeError);
  });

  it('a short RTA_OIF', () => {
    expect(() => decodeRoute(msg(withAttr(rt.RTA_OIF, Buffer.alloc(3))))).toThrow(DecodeError);
  });

  it('an rtnexthop longer than RTA_MULTIPATH, or shorter than its header', () => {
    const hop = Buffer.alloc(8);
    hop.writeUInt16LE(16, 0);
    expect(() => decodeRoute(msg(withAttr(rt.RTA_MULTIPATH, hop)))).toThrow(DecodeError);
    hop.writeUInt16LE(4, 0);
    expect(() => decodeRoute(msg(withAttr(rt.RTA_MULTIPATH, hop)))).toThrow(DecodeError);
  });

  it('a bad attribute inside RTA_METRICS', () => {
    const inner = Buffer.from([8, 0, rt.RTAX_MTU, 0, 0, 0, 0, 0]);
    inner.writeUInt16LE(12, 0);
    expect(() => decodeRoute(msg(withAttr(rt.RTA_METRICS, inner)))).toThrow(DecodeError);
  });

  it('not a route message', () => {
    expect(() => decodeRoute(msg(Buffer.alloc(12), rt.RTM_NEWLINK))).toThrow(DecodeError);
  });

  it('every truncation of real replies decodes or throws DecodeError', () => {
    const all = [...pick(loadFixture('dump-route4'), 'recv', 'RTM_NEWROUTE'), ...pick(loadFixture('dump-route6'), 'recv', 'RTM_NEWROUTE')];
    for (const m of all) {
      for (let len = 0; len < m.msg.payload.length; len++) {
        try {
          decodeRoute(msg(m.msg.payload.subarray(0, len)));
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }
    }
  });
});
