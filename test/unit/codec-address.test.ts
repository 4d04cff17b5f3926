import { describe, expect, it } from 'vitest';
import { AttrWriter, ByteWriter, DecodeError } from '../../lib/netlink/attributes.js';
import { type AddressMessage, decodeAddress, encodeAddress } from '../../lib/netlink/address.js';
import { type NetlinkMessage, parseMessages } from '../../lib/netlink/message.js';
import * as rt from '../../lib/netlink/rtnetlink.js';
import { type FixtureMessage, allFixtures, encodeLike, lastSent, loadFixture, pick, withoutPid } from './codec-fixtures.js';

const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));
const ip6 = (hex: string) => Buffer.from(hex, 'hex');

function ours(req: FixtureMessage, m: Partial<AddressMessage>): string {
  return encodeLike(req, (w, type, flags, seq) => encodeAddress(w, type, flags, seq, m)).toString('hex');
}

describe('address requests match the bytes ip sends', () => {
  it('IPv4 with broadcast and label', () => {
    const req = lastSent(loadFixture('addr-add-ipv4'), 'RTM_NEWADDR');
    const m = {
      family: rt.AF_INET,
      prefixlen: 24,
      index: 5,
      local: ip4('10.1.2.3'),
      broadcast: ip4('10.1.2.255'),
      label: 'br0:web',
      address: ip4('10.1.2.3'),
    };
    expect(ours(req, m)).toBe(req.bytes.toString('hex'));
    expect(decodeAddress(req.msg)).toMatchObject({ ...m, flags: 0, scope: rt.RT_SCOPE_UNIVERSE, unknown: [] });
  });

  it('IPv6 with nodad', () => {
    const req = lastSent(loadFixture('addr-add-ipv6'), 'RTM_NEWADDR');
    const a = ip6('20010db8000000000000000000000001');
    const m = { family: rt.AF_INET6, prefixlen: 64, flags: rt.IFA_F_NODAD, index: 5, local: a, address: a };
    expect(ours(req, m)).toBe(req.bytes.toString('hex'));
  });
});

describe('address replies decode', () => {
  const addrs = pick(loadFixture('dump-addr'), 'recv', 'RTM_NEWADDR').map((m) => decodeAddress(m.msg));

  it('IPv4 loopback', () => {
    expect(addrs[0]).toMatchObject({
      family: rt.AF_INET,
      prefixlen: 8,
      scope: rt.RT_SCOPE_HOST,
      index: 1,
      address: ip4('127.0.0.1'),
      local: ip4('127.0.0.1'),
      label: 'lo',
      extFlags: rt.IFA_F_PERMANENT,
      cacheinfo: { preferred: 0xffffffff, valid: 0xffffffff },
    });
  });

  it('the IPv4 address ip added, with broadcast and label', () => {
    expect(addrs.find((a) => a.label === 'br0:web')).toMatchObject({
      prefixlen: 24,
      index: 5,
      local: ip4('10.1.2.3'),
      broadcast: ip4('10.1.2.255'),
      unknown: [],
    });
  });

  it('the IPv6 address, with the flags above 8 bits in IFA_FLAGS', () => {
    const a = addrs.find((x) => x.address?.equals(ip6('20010db8000000000000000000000001')));
    expect(a).toMatchObject({ family: rt.AF_INET6, prefixlen: 64, extFlags: rt.IFA_F_PERMANENT | rt.IFA_F_NODAD });
    expect(a!.local).toBeUndefined();
    // IFA_PROTO and the like are kept.
    expect(addrs.some((x) => x.unknown.some((u) => u.type === rt.IFA_PROTO))).toBe(true);
  });
});

describe('address messages re-encode byte for byte', () => {
  const msgs = allFixtures().flatMap((f) =>
    f.messages
      .filter((m) => m.msg.type >= rt.RTM_NEWADDR && m.msg.type <= rt.RTM_GETADDR)
      .map((m, i) => [`${f.name} #${i} ${m.dir} ${m.type}`, m] as const),
  );

  it.each(msgs)('%s', (_, m) => {
    const out = encodeLike(m, (w, type, flags, seq) => encodeAddress(w, type, flags, seq, decodeAddress(m.msg)));
    expect(out.toString('hex')).toBe(withoutPid(m.bytes).toString('hex'));
  });

  it('cacheinfo encodes from its fields', () => {
    const w = new ByteWriter();
    const cacheinfo = { preferred: 100, valid: 200, created: 3, updated: 4 };
    encodeAddress(w, rt.RTM_NEWADDR, 0, 0, { family: rt.AF_INET, cacheinfo });
    expect(decodeAddress(parseMessages(w.take())[0]!).cacheinfo).toEqual(cacheinfo);
  });
});

describe('malformed address messages throw DecodeError', () => {
  const msg = (payload: Buffer, type = rt.RTM_NEWADDR): NetlinkMessage => ({ type, flags: 0, seq: 0, pid: 0, payload });
  const withAttr = (type: number, data: Buffer) => {
    const a = new AttrWriter();
    a.w.zeros(8);
    a.bytes(type, data);
    return a.w.take();
  };

  it('short ifaddrmsg', () => {
    expect(() => decodeAddress(msg(Buffer.alloc(7)))).toThrow(DecodeError);
  });

  it('short IFA_CACHEINFO and IFA_FLAGS', () => {
    expect(() => decodeAddress(msg(withAttr(rt.IFA_CACHEINFO, Buffer.alloc(12))))).toThrow(DecodeError);
    expect(() => decodeAddress(msg(withAttr(rt.IFA_FLAGS, Buffer.alloc(1))))).toThrow(DecodeError);
  });

  it('an attribute running past the end', () => {
    const p = withAttr(rt.IFA_ADDRESS, ip4('10.0.0.1'));
    p.writeUInt16LE(9, 8);
    expect(() => decodeAddress(msg(p))).toThrow(DecodeError);
  });

  it('not an address message', () => {
    expect(() => decodeAddress(msg(Buffer.alloc(8), rt.RTM_NEWROUTE))).toThrow(DecodeError);
  });

  it('every truncation of real replies decodes or throws DecodeError', () => {
    for (const m of pick(loadFixture('dump-addr'), 'recv', 'RTM_NEWADDR')) {
      for (let len = 0; len < m.msg.payload.length; len++) {
        try {
          decodeAddress(msg(m.msg.payload.subarray(0, len)));
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }
    }
  });
});
