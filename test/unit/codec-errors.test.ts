import { describe, expect, it } from 'vitest';
import { decodeLink } from '../../lib/netlink/link.js';
import { NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_HDRLEN, decodeError, parseMessages } from '../../lib/netlink/message.js';
import * as rt from '../../lib/netlink/rtnetlink.js';
import { lastSent, loadFixture, pick } from './codec-fixtures.js';

describe('kernel errors for link requests', () => {
  it('a duplicate link: EEXIST, the whole request echoed back', () => {
    const f = loadFixture('error-link-exists');
    const req = lastSent(f, 'RTM_NEWLINK');
    const reply = pick(f, 'recv', 'NLMSG_ERROR').at(-1)!.msg;
    expect(reply.flags & (NLM_F_CAPPED | NLM_F_ACK_TLVS)).toBe(0);
    const err = decodeError(reply);
    expect(err).toMatchObject({ error: -17, request: { type: rt.RTM_NEWLINK, seq: req.msg.seq } });
    expect(err.message).toBeUndefined();
    // Without NETLINK_CAP_ACK the kernel copies the request after the error code.
    const echoed = reply.payload.subarray(4, 4 + err.request.len);
    expect(echoed).toEqual(req.bytes);
    expect(decodeLink(parseMessages(echoed)[0]!)).toMatchObject({ name: 'br0', linkInfo: { kind: 'bridge' } });
  });

  it('a bridge option this kernel lacks: EOPNOTSUPP', () => {
    const f = loadFixture('error-bridge-vlan-filtering');
    const err = decodeError(pick(f, 'recv', 'NLMSG_ERROR').at(-1)!.msg);
    expect(err.error).toBe(-95);
    expect(rt.rtmName(err.request.type)).toBe('RTM_NEWLINK');
  });

  it('an ACK is capped to the request header', () => {
    const f = loadFixture('link-add-veth');
    const ack = pick(f, 'recv', 'NLMSG_ERROR').at(-1)!.msg;
    expect(ack.flags & NLM_F_CAPPED).toBe(NLM_F_CAPPED);
    expect(ack.payload.length).toBe(4 + NLMSG_HDRLEN);
    expect(decodeError(ack)).toMatchObject({ error: 0, request: { seq: lastSent(f, 'RTM_NEWLINK').msg.seq } });
  });
});

describe('rtnetlink constants', () => {
  it('names message types for error messages', () => {
    expect(rt.rtmName(rt.RTM_NEWLINK)).toBe('RTM_NEWLINK');
    expect(rt.rtmName(rt.RTM_GETROUTE)).toBe('RTM_GETROUTE');
    expect(rt.rtmName(rt.RTM_NEWNEIGH)).toBe('RTM_NEWNEIGH');
    expect(rt.rtmName(9999)).toBe('RTM_9999');
  });

  it('has the header values the codecs and fixtures rely on', () => {
    expect([rt.RTM_NEWLINK, rt.RTM_NEWADDR, rt.RTM_NEWROUTE]).toEqual([16, 20, 24]);
    expect([rt.IFLA_IFNAME, rt.IFLA_LINKINFO, rt.IFLA_NET_NS_FD, rt.IFLA_TARGET_NETNSID]).toEqual([3, 18, 28, 46]);
    expect([rt.IFLA_INFO_KIND, rt.IFLA_INFO_DATA, rt.VETH_INFO_PEER]).toEqual([1, 2, 1]);
    expect([rt.RTNLGRP_LINK, rt.RTNLGRP_IPV4_IFADDR, rt.RTNLGRP_IPV4_ROUTE, rt.RTNLGRP_IPV6_IFADDR]).toEqual([1, 5, 7, 9]);
    expect([rt.IFF_UP, rt.IFF_LOWER_UP, rt.IFA_F_PERMANENT, rt.RT_TABLE_MAIN]).toEqual([1, 0x10000, 0x80, 254]);
    expect([rt.IFLA_VXLAN_PORT, rt.IFLA_BR_VLAN_FILTERING, rt.MACVLAN_MODE_BRIDGE]).toEqual([15, 7, 4]);
  });
});
