// The watch's per-namespace state (lib/watch/kinds.ts) on messages built with the library's own
// encoders: what each notification changes and reports, the kernel's silent flushes, renames,
// route replaces, and the differences a resync reports. The same logic against the real
// kernel is in test/integration/watch*.test.ts.
import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../lib/netlink/attributes.js';
import { encodeAddress } from '../../lib/netlink/address.js';
import { encodeLink } from '../../lib/netlink/link.js';
import { NLM_F_REPLACE, parseMessages, type NetlinkMessage } from '../../lib/netlink/message.js';
import { encodeRoute } from '../../lib/netlink/route.js';
import * as rt from '../../lib/netlink/rtnetlink.js';
import { SpaceState, addressFacts, linkFacts, routeFacts, same, type Emit } from '../../lib/watch/kinds.js';
import { decodeAddress } from '../../lib/netlink/address.js';
import { decodeRoute } from '../../lib/netlink/route.js';
import { describeAddress } from '../../lib/route/addresses.js';
import { describeRoute } from '../../lib/route/routes.js';
import { decodeLink } from '../../lib/netlink/link.js';
import { describeLink } from '../../lib/route/links.js';
import { loadFixture } from './codec-fixtures.js';
import { WatchState, type WatchEvent } from '../../lib/watch.js';

const one = (write: (w: ByteWriter) => void): NetlinkMessage => {
  const w = new ByteWriter();
  write(w);
  return parseMessages(w.take())[0]!;
};
const IFF_UP = 1;
const link = (type: number, index: number, name: string, up = true, extra: { master?: number; family?: number } = {}) =>
  one((w) => encodeLink(w, type, 0, 0, { family: extra.family ?? 0, index, flags: up ? IFF_UP : 0, change: 0, name, ...(extra.master ? { master: extra.master } : {}) }));
const v4 = (s: string) => Buffer.from(s.split('.').map(Number));
const address = (type: number, index: number, a: string, len: number) =>
  one((w) => encodeAddress(w, type, 0, 0, { family: 2, prefixlen: len, flags: 0, scope: 0, index, local: v4(a), address: v4(a) }));
const route = (type: number, to: string, len: number, oif: number, opts: { via?: string; table?: number; kind?: number; flags?: number; metric?: number } = {}) =>
  one((w) =>
    encodeRoute(w, type, opts.flags ?? 0, 0, {
      family: 2, dstLen: len, srcLen: 0, tos: 0, table: opts.table ?? 254, protocol: 4, scope: 0, type: opts.kind ?? rt.RTN_UNICAST, flags: 0,
      dst: v4(to), oif, tableId: opts.table ?? 254,
      ...(opts.via ? { gateway: v4(opts.via) } : {}),
      ...(opts.metric !== undefined ? { priority: opts.metric } : {}),
    }),
  );

/** Applies messages, returning what was reported as [type, kind, what]. */
function run(s: SpaceState, msgs: NetlinkMessage[]): [string, string, string][] {
  const out: [string, string, string][] = [];
  const emit: Emit = (type, kind, _key, o) => {
    const x = o as { name?: string; cidr?: string; to?: string; via?: string };
    out.push([type, kind, x.name ?? x.cidr ?? `${x.to}${x.via ? ` via ${x.via}` : ''}`]);
  };
  for (const m of msgs) s.apply(m, emit);
  return out;
}

describe('SpaceState', () => {
  it('reports additions, real changes only, and removals', () => {
    const s = new SpaceState('pb');
    expect(run(s, [link(rt.RTM_NEWLINK, 2, 'eth0', false), link(rt.RTM_NEWLINK, 2, 'eth0', false), link(rt.RTM_NEWLINK, 2, 'eth0', true)])).toEqual([
      ['added', 'link', 'eth0'],
      ['changed', 'link', 'eth0'],
    ]);
    expect(s.objects.link.get('2')).toMatchObject({ name: 'eth0', up: true, netns: 'pb' });
    expect(run(s, [address(rt.RTM_NEWADDR, 2, '10.0.0.2', 24), address(rt.RTM_DELADDR, 2, '10.0.0.2', 24), address(rt.RTM_DELADDR, 2, '10.0.0.2', 24)])).toEqual([
      ['added', 'address', '10.0.0.2/24'],
      ['removed', 'address', '10.0.0.2/24'],
    ]);
    // Bridge port notifications (AF_BRIDGE) are not links of their own.
    expect(run(s, [link(rt.RTM_NEWLINK, 2, 'eth0', false, { family: 7 })])).toEqual([]);
  });

  it('taking a link down flushes its IPv4 routes (not its local ones); removing it flushes all', () => {
    const s = new SpaceState(undefined);
    run(s, [
      link(rt.RTM_NEWLINK, 2, 'br0'),
      link(rt.RTM_NEWLINK, 3, 'br1'),
      route(rt.RTM_NEWROUTE, '10.2.0.0', 16, 2, { via: '10.1.0.2' }),
      route(rt.RTM_NEWROUTE, '10.1.0.1', 32, 2, { table: 255, kind: rt.RTN_LOCAL }),
      route(rt.RTM_NEWROUTE, '10.5.0.0', 16, 3, { via: '10.4.0.2' }),
    ]);
    expect(run(s, [link(rt.RTM_NEWLINK, 2, 'br0', false)])).toEqual([
      ['changed', 'link', 'br0'],
      ['removed', 'route', '10.2.0.0/16 via 10.1.0.2'],
    ]);
    // Down again: nothing more goes.
    expect(run(s, [link(rt.RTM_NEWLINK, 2, 'br0', false)])).toEqual([]);
    expect(run(s, [link(rt.RTM_DELLINK, 2, 'br0', false)])).toEqual([
      ['removed', 'route', '10.1.0.1/32'],
      ['removed', 'link', 'br0'],
    ]);
    expect([...s.objects.route.values()].map((r) => r.to)).toEqual(['10.5.0.0/16']);
  });

  it('a rename reaches the link\'s addresses, routes and its ports\' master', () => {
    const s = new SpaceState(undefined);
    run(s, [link(rt.RTM_NEWLINK, 2, 'br0'), link(rt.RTM_NEWLINK, 3, 'port0', true, { master: 2 }), address(rt.RTM_NEWADDR, 2, '10.0.0.1', 24), route(rt.RTM_NEWROUTE, '10.9.0.0', 16, 2)]);
    expect(s.objects.link.get('3')?.master).toBe('br0');
    expect(run(s, [link(rt.RTM_NEWLINK, 2, 'uplink')]).map(([t, k]) => `${t} ${k}`)).toEqual(['changed link', 'changed link', 'changed address', 'changed route']);
    expect(s.objects.link.get('3')?.master).toBe('uplink');
    expect([...s.objects.address.values()][0]?.link).toBe('uplink');
    expect([...s.objects.route.values()][0]?.dev).toBe('uplink');
  });

  it('NLM_F_REPLACE on a route notification replaces the route with the same prefix, table and metric', () => {
    const s = new SpaceState(undefined);
    run(s, [link(rt.RTM_NEWLINK, 2, 'br0'), route(rt.RTM_NEWROUTE, '10.5.0.0', 16, 2, { via: '10.4.0.2' }), route(rt.RTM_NEWROUTE, '10.5.0.0', 16, 2, { via: '10.4.0.9', metric: 5 })]);
    expect(run(s, [route(rt.RTM_NEWROUTE, '10.5.0.0', 16, 2, { via: '10.4.0.3', flags: NLM_F_REPLACE })])).toEqual([
      ['removed', 'route', '10.5.0.0/16 via 10.4.0.2'],
      ['added', 'route', '10.5.0.0/16 via 10.4.0.3'],
    ]);
    expect([...s.objects.route.values()].map((r) => r.via).sort()).toEqual(['10.4.0.3', '10.4.0.9']);
  });

  it('a dump is applied with every link name known first; diff reports removals (dependents first), then additions (links first)', () => {
    const dumped = SpaceState.fromDumps('pb', {
      link: [link(rt.RTM_NEWLINK, 3, 'port0', true, { master: 7 }), link(rt.RTM_NEWLINK, 7, 'br0')],
      address: [address(rt.RTM_NEWADDR, 7, '10.0.0.1', 24)],
    });
    expect(dumped.objects.link.get('3')?.master).toBe('br0');
    const told = new SpaceState('pb');
    run(told, [link(rt.RTM_NEWLINK, 9, 'old0'), address(rt.RTM_NEWADDR, 9, '10.9.0.1', 24)]);
    const events: string[] = [];
    SpaceState.diff(told, dumped, (type, kind, _k, o) => events.push(`${type} ${kind} ${(o as { name?: string; cidr?: string }).name ?? (o as { cidr: string }).cidr}`));
    expect(events).toEqual(['removed address 10.9.0.1/24', 'removed link old0', 'added link port0', 'added link br0', 'added address 10.0.0.1/24']);
  });

  it('linkFacts() describes every link of a real dump (and a veth create echo) exactly as the full decoder does', () => {
    const msgs = ['dump-link', 'link-add-veth-peer-netns', 'link-add-bridge', 'link-add-vxlan', 'link-set-master']
      .flatMap((f) => loadFixture(f).messages)
      .filter((m) => m.dir === 'recv' && m.msg.type === rt.RTM_NEWLINK)
      .map((m) => m.msg);
    expect(msgs.length).toBeGreaterThan(3);
    const names = new Map(msgs.map((m) => [decodeLink(m).index, decodeLink(m).name ?? '']));
    // Everything but the counters, which a watch does not follow.
    for (const m of msgs) {
      const { stats: _stats, ...full } = describeLink(decodeLink(m), names, 'x');
      expect(describeLink(linkFacts(m), names, 'x')).toEqual(full);
    }
  });

  it('routeFacts() and addressFacts() describe real dumps exactly as the full decoders do', () => {
    const recv = (files: string[], type: number) =>
      files.flatMap((f) => loadFixture(f).messages).filter((m) => m.dir === 'recv' && m.msg.type === type).map((m) => m.msg);
    const routes = recv(['dump-route4', 'dump-route6', 'route-add-default', 'route-add-metrics', 'route-add-multipath'], rt.RTM_NEWROUTE);
    const addresses = recv(['dump-addr', 'addr-add-ipv4', 'addr-add-ipv6'], rt.RTM_NEWADDR);
    expect(routes.length).toBeGreaterThan(5);
    expect(addresses.length).toBeGreaterThan(3);
    const names = new Map([[1, 'lo'], [2, 'eth0']]);
    for (const m of routes) expect(describeRoute(routeFacts(m), names, 'x')).toEqual(describeRoute(decodeRoute(m), names, 'x'));
    for (const m of addresses) expect(describeAddress(addressFacts(m), 'eth0', 'x')).toEqual(describeAddress(decodeAddress(m), 'eth0', 'x'));
  });

  it('same() ignores key order and undefined fields', () => {
    expect(same({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1, d: undefined })).toBe(true);
    expect(same({ a: 1 }, { a: 2 })).toBe(false);
    expect(same([1, 2], [2, 1])).toBe(false);
  });
});

describe('WatchState', () => {
  it('holds what the events say, by namespace', () => {
    const s = new WatchState();
    const ev = (type: 'added' | 'removed', netns: string | undefined, name: string, index: number): WatchEvent =>
      ({ type, kind: 'link', key: String(index), object: { index, name, up: true, lowerUp: true, operState: 'up', flags: [] }, ...(netns ? { netns } : {}) }) as WatchEvent;
    for (const e of [ev('added', undefined, 'lo', 1), ev('added', 'pb', 'lo', 1), ev('added', 'pb', 'eth0', 2), { type: 'synced' } as const, ev('removed', 'pb', 'eth0', 2)]) s.apply(e);
    expect(s.links().map((l) => l.name)).toEqual(['lo', 'lo']);
    expect(s.links(null).map((l) => l.name)).toEqual(['lo']);
    expect(s.links('pb').map((l) => l.name)).toEqual(['lo']);
    expect(s.find('link', '1', 'pb')?.name).toBe('lo');
    expect(s.namespaces()).toEqual([undefined, 'pb']);
    expect(s.size).toBe(2);
  });
});
