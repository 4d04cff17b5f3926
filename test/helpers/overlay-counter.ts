// A test-only nft counter of vxlan packets arriving on a host's underlay, shared by the overlay
// tests (overlay.test.ts, two-hosts-cli.test.ts): table inet overlaytest, counter vxlan_in.
import { execFileSync } from 'node:child_process';

const nft = (netns: string, args: string[], input?: string) =>
  execFileSync('ip', ['netns', 'exec', netns, 'nft', ...args], { encoding: 'utf8', ...(input ? { input } : {}) });

/**
 * Installs, in `netns`, a counter of the UDP packets to `port` carrying VNI `vni` and inner IPv4
 * that arrive on its underlay0, in the input hook where the vxlan socket receives them.
 *
 * @th,64 is the vxlan header after the 8-byte UDP header: 8 bits of flags, 24 reserved, then the
 * 24-bit VNI (@th,96); the inner Ethernet frame follows at @th,128, its type at @th,224, and the
 * inner IPv4 header at @th,240 (its protocol at @th,312). Only inner IPv4 other than IGMP is
 * counted: the containers' own IPv6 multicast (router solicitations, MLD) and the bridges' IGMP
 * reports (a bridge with multicast snooping joins 224.0.0.106 and reports it again within a
 * second or two of coming up) cross the overlay at moments of their own and would blur the
 * counts. Seen: one such report landing in a test's window right after `rtnl up`.
 */
export function installVxlanCounter(netns: string, port: number, vni: number): void {
  if (!Number.isInteger(port) || !Number.isInteger(vni)) throw new Error(`installVxlanCounter: port ${port} and vni ${vni} must be integers`);
  nft(netns, ['-f', '-'], [
    'table inet overlaytest {',
    '  counter vxlan_in { }',
    '  chain input { type filter hook input priority 0; policy accept;',
    `    iifname "underlay0" udp dport ${port} @th,96,24 ${vni} @th,224,16 0x0800 @th,312,8 != 2 counter name "vxlan_in"`,
    '  }',
    '}',
  ].join('\n'));
}

/** Packets counted so far by the counter installVxlanCounter put in `netns`. */
export function vxlanPackets(netns: string): number {
  const out = JSON.parse(nft(netns, ['-j', 'list', 'counter', 'inet', 'overlaytest', 'vxlan_in'])).nftables as any[];
  return out.find((o) => o.counter)!.counter.packets as number;
}
