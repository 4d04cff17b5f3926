// The topology spec's host namespaces, links, vxlans, FDB entries, neighbours and rules:
// every field checked before anything reaches the kernel (validateTopology is pure), with a
// coded error naming the field; and which namespaces apply builds first or call by call.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ArgumentError, ArgumentRangeError } from '../../lib/errors.js';
import { MAX_BRIDGE_PORTS, topologyGroup, validateTopology, type NamespaceSpec, type TopologySpec } from '../../lib/topology.js';
import { namespaceRoles } from '../../lib/topology/spec.js';
import { expectError } from '../helpers/expect-error.js';

const twoHosts = (): TopologySpec => JSON.parse(readFileSync(new URL('../../examples/two-hosts.json', import.meta.url), 'utf8'));

/** A host with a bridge and a vxlan, and one container on it; `patch` edits a fresh copy. */
function spec(patch: (s: { host: NamespaceSpec; container: NamespaceSpec; spec: TopologySpec }) => void = () => {}): TopologySpec {
  const host: NamespaceSpec = {
    name: 'host-a',
    bridges: [{ name: 'br0', addresses: ['10.244.0.1/24'] }],
    vxlans: [{ name: 'vxlan0', id: 42, local: '192.168.100.1', dev: 'underlay0', learning: false, master: 'br0' }],
    fdb: [{ mac: '00:00:00:00:00:00', dev: 'vxlan0', dst: '192.168.100.2' }],
    neighbours: [{ address: '10.244.0.99', lladdr: '02:00:00:00:00:99', dev: 'br0' }],
    rules: [{ from: '10.244.0.0/24', table: 100, priority: 100 }],
  };
  const other: NamespaceSpec = { name: 'host-b' };
  const container: NamespaceSpec = {
    name: 'a1',
    interfaces: [{ name: 'eth0', hostName: 'veth-a1', hostNamespace: 'host-a', master: 'br0', addresses: ['10.244.0.11/24'] }],
    routes: [{ to: 'default', via: '10.244.0.1' }],
  };
  const s: TopologySpec = {
    namespaces: [host, other, container],
    links: [{ kind: 'veth', a: { netns: 'host-a', name: 'underlay0', addresses: ['192.168.100.1/24'] }, b: { netns: 'host-b', name: 'underlay0' } }],
  };
  patch({ host, container, spec: s });
  return s;
}

describe('topology spec: host namespaces, links, vxlans and entries', () => {
  it('accepts a host with bridges, vxlans, fdb, neighbours and rules, and examples/two-hosts.json', () => {
    expect(() => validateTopology(spec())).not.toThrow();
    expect(() => validateTopology(twoHosts())).not.toThrow();
    // A host's routes may go through any of its links: a container's host end, a bridge, a link's end.
    const routes = [{ to: '10.250.0.11/32', dev: 'veth-a1' }, { to: '10.0.0.0/8', dev: 'br0' }, { to: '10.251.0.0/24', dev: 'underlay0' }];
    expect(() => validateTopology(spec(({ host }) => (host.routes = routes)))).not.toThrow();
  });

  it('refuses unknown keys everywhere, naming the path', () => {
    const cases: [(p: Parameters<Parameters<typeof spec>[0]>[0]) => void, string][] = [
      [({ host }) => ((host.bridges![0] as any).stp = true), 'namespaces[0].bridges[0].stp'],
      [({ host }) => ((host.vxlans![0] as any).vni = 42), 'namespaces[0].vxlans[0].vni'],
      [({ host }) => ((host.vxlans![0] as any).netns = 'host-a'), 'namespaces[0].vxlans[0].netns'],
      [({ host }) => ((host.fdb![0] as any).netns = 'host-a'), 'namespaces[0].fdb[0].netns'],
      [({ host }) => ((host.fdb![0] as any).remote = '192.168.100.2'), 'namespaces[0].fdb[0].remote'],
      [({ host }) => ((host.neighbours![0] as any).netns = 'host-a'), 'namespaces[0].neighbours[0].netns'],
      [({ host }) => ((host.rules![0] as any).lookup = 100), 'namespaces[0].rules[0].lookup'],
      [({ host }) => ((host as any).neighbors = []), 'namespaces[0].neighbors'],
      [({ container }) => ((container.interfaces![0] as any).hostNetns = 'host-a'), 'namespaces[2].interfaces[0].hostNetns'],
      [({ spec: s }) => ((s.links![0]!.a as any).address = '192.168.100.1/24'), 'links[0].a.address'],
      [({ spec: s }) => ((s.links![0] as any).peer = {}), 'links[0].peer'],
      [({ spec: s }) => ((s as any).fdb = []), 'fdb'],
    ];
    for (const [patch, field] of cases) {
      const e = expectError(() => validateTopology(spec(patch)), ArgumentError, 'ERR_UNKNOWN_OPTION', field);
      expect(e.message).toMatch(/did you mean|known:|it goes in the namespace/);
    }
    // The hints point at the right key.
    expect(() => validateTopology(spec(({ host }) => ((host.vxlans![0] as any).vni = 42)))).toThrow(/did you mean "id"\?/);
    expect(() => validateTopology(spec(({ spec: s }) => ((s as any).fdb = [])))).toThrow(/namespaces\[\]\.fdb/);
  });

  it('refuses bad values with their codes', () => {
    expectError(() => validateTopology(spec(({ host }) => (host.vxlans![0]!.id = 2 ** 24))), ArgumentRangeError, 'ERR_INVALID_VNI', 'namespaces[0].vxlans[0].id');
    expectError(() => validateTopology(spec(({ host }) => (host.vxlans![0]!.id = '42' as any))), ArgumentError, 'ERR_INVALID_VNI', 'namespaces[0].vxlans[0].id');
    expectError(() => validateTopology(spec(({ host }) => (host.vxlans![0]!.local = '192.168.100'))), ArgumentError, 'ERR_INVALID_ADDRESS', 'namespaces[0].vxlans[0].local');
    // createVxlan's own cross-field checks apply: a unicast remote is not a multicast group.
    expectError(() => validateTopology(spec(({ host }) => (host.vxlans![0]!.multicastGroup = '10.0.0.1'))), ArgumentError, 'ERR_INVALID_ADDRESS', 'namespaces[0].vxlans[0].multicastGroup');
    expectError(() => validateTopology(spec(({ host }) => (host.vxlans![0]!.port = 0))), ArgumentRangeError, 'ERR_INVALID_ARG_VALUE', 'namespaces[0].vxlans[0].port');
    expectError(() => validateTopology(spec(({ host }) => (host.fdb![0]!.mac = '00:00:00:00:00'))), ArgumentError, 'ERR_INVALID_MAC', 'namespaces[0].fdb[0].mac');
    expectError(() => validateTopology(spec(({ host }) => delete host.neighbours![0]!.lladdr)), ArgumentError, 'ERR_MISSING_OPTION', 'namespaces[0].neighbours[0].lladdr');
    expectError(() => validateTopology(spec(({ host }) => (host.rules![0]!.to = 'fd00::/64'))), ArgumentError, 'ERR_INVALID_ADDRESS', 'namespaces[0].rules[0].to');
    expectError(() => validateTopology(spec(({ spec: s }) => ((s.links![0] as any).kind = 'vxlan'))), ArgumentError, 'ERR_INVALID_ARG_VALUE', 'links[0].kind');
  });

  it('refuses references to what the spec does not have', () => {
    const cases: [(p: Parameters<Parameters<typeof spec>[0]>[0]) => void, string, string][] = [
      [({ container }) => (container.interfaces![0]!.hostNamespace = 'host-c'), 'ERR_TOPOLOGY_UNKNOWN_NAMESPACE', 'namespaces[2].interfaces[0].hostNamespace'],
      [({ container }) => (container.interfaces![0]!.hostNamespace = 'a1'), 'ERR_INVALID_ARG_VALUE', 'namespaces[2].interfaces[0].hostNamespace'],
      // The master is a bridge of the host namespace, not of the caller's namespace nor another's.
      [({ container }) => (container.interfaces![0]!.master = 'br1'), 'ERR_TOPOLOGY_UNKNOWN_BRIDGE', 'namespaces[2].interfaces[0].master'],
      [({ container, spec: s }) => ((s.bridges = [{ name: 'br9' }]), (container.interfaces![0]!.master = 'br9')), 'ERR_TOPOLOGY_UNKNOWN_BRIDGE', 'namespaces[2].interfaces[0].master'],
      [({ container }) => (container.interfaces![0]!.hostNamespace = 'host-b'), 'ERR_TOPOLOGY_UNKNOWN_BRIDGE', 'namespaces[2].interfaces[0].master'],
      [({ host }) => (host.vxlans![0]!.master = 'vxlan0'), 'ERR_TOPOLOGY_UNKNOWN_BRIDGE', 'namespaces[0].vxlans[0].master'],
      [({ host }) => (host.vxlans![0]!.dev = 'eth9'), 'ERR_TOPOLOGY_UNKNOWN_LINK', 'namespaces[0].vxlans[0].dev'],
      [({ host }) => (host.fdb![0]!.dev = 'vxlan1'), 'ERR_TOPOLOGY_UNKNOWN_LINK', 'namespaces[0].fdb[0].dev'],
      [({ host }) => (host.neighbours![0]!.dev = 'eth0'), 'ERR_TOPOLOGY_UNKNOWN_LINK', 'namespaces[0].neighbours[0].dev'],
      [({ host }) => (host.routes = [{ to: '10.1.0.0/16', dev: 'underlay1' }]), 'ERR_TOPOLOGY_UNKNOWN_LINK', 'namespaces[0].routes[0].dev'],
      [({ spec: s }) => (s.links![0]!.b.netns = 'host-z'), 'ERR_TOPOLOGY_UNKNOWN_NAMESPACE', 'links[0].b.netns'],
      // Names inside one namespace: its own links, link ends, and the host ends it holds.
      [({ host }) => host.bridges!.push({ name: 'vxlan0' }), 'ERR_TOPOLOGY_DUPLICATE', 'namespaces[0].vxlans[0].name'],
      [({ container }) => (container.interfaces![0]!.hostName = 'underlay0'), 'ERR_TOPOLOGY_DUPLICATE', 'namespaces[2].interfaces[0].hostName'],
      [({ spec: s }) => (s.links![0]!.a.name = 'br0'), 'ERR_TOPOLOGY_DUPLICATE', 'links[0].a.name'],
      [({ host }) => (host.bridges![0]!.name = 'lo'), 'ERR_TOPOLOGY_DUPLICATE', 'namespaces[0].bridges[0].name'],
      // Host-namespace objects need a named namespace.
      [({ host }) => (host.anonymous = true), 'ERR_TOPOLOGY_ANONYMOUS', 'namespaces[0].bridges'],
      [({ container }) => (container.anonymous = true), 'ERR_TOPOLOGY_ANONYMOUS', 'namespaces[2].interfaces[0].hostNamespace'],
      [({ spec: s }) => ((s.namespaces![1]!.anonymous = true)), 'ERR_TOPOLOGY_ANONYMOUS', 'links[0].b.netns'],
    ];
    for (const [patch, code, field] of cases) expectError(() => validateTopology(spec(patch)), ArgumentError, code, field);
  });

  it('the same host end name may be used in two namespaces, and in the caller\'s', () => {
    const s = spec(({ spec: sp }) => {
      sp.bridges = [{ name: 'br0' }];
      sp.namespaces!.push({ name: 'b1', interfaces: [{ name: 'eth0', hostName: 'veth-a1', hostNamespace: 'host-b' }] });
      sp.namespaces!.push({ name: 'r1', interfaces: [{ name: 'eth0', hostName: 'veth-a1', master: 'br0' }] });
    });
    expect(() => validateTopology(s)).not.toThrow();
    s.namespaces!.push({ name: 'a2', interfaces: [{ name: 'eth0', hostName: 'veth-a1', hostNamespace: 'host-a' }] });
    expectError(() => validateTopology(s), ArgumentError, 'ERR_TOPOLOGY_DUPLICATE', 'namespaces[5].interfaces[0].hostName');
  });

  it('counts the ports of a host namespace\'s bridge against the kernel\'s limit', () => {
    const containers = (n: number): NamespaceSpec[] =>
      Array.from({ length: n }, (_, i) => ({ name: `c${i}`, interfaces: [{ name: 'eth0', hostName: `v${i}`, hostNamespace: 'h', master: 'br0' }] }));
    const vxlan = [{ name: 'vx', id: 1, master: 'br0' }];
    expect(() => validateTopology({ namespaces: [{ name: 'h', bridges: [{ name: 'br0' }], vxlans: vxlan }, ...containers(MAX_BRIDGE_PORTS - 1)] })).not.toThrow();
    expectError(
      () => validateTopology({ namespaces: [{ name: 'h', bridges: [{ name: 'br0' }], vxlans: vxlan }, ...containers(MAX_BRIDGE_PORTS)] }),
      ArgumentRangeError,
      'ERR_TOPOLOGY_BRIDGE_FULL',
      `namespaces[${MAX_BRIDGE_PORTS}].interfaces[0].master`,
    );
  });

  it('host namespaces are built first, and with the namespaces attached to them, call by call', () => {
    const { hosts, perCall } = namespaceRoles(twoHosts());
    expect([...hosts].sort()).toEqual(['host-a', 'host-b']);
    expect([...perCall].sort()).toEqual(['a1', 'a2', 'b1', 'b2', 'host-a', 'host-b']);
    // A spec without the new fields keeps the bulk path for every namespace.
    const plain = namespaceRoles({ bridges: [{ name: 'br0' }], namespaces: [{ name: 'c1', interfaces: [{ name: 'eth0', hostName: 'h1', master: 'br0' }] }] });
    expect(plain.perCall.size + plain.hosts.size).toBe(0);
    // A link's ends are hosts even without bridges.
    expect([...namespaceRoles({ namespaces: [{ name: 'x' }, { name: 'y' }], links: [{ kind: 'veth', a: { netns: 'x', name: 'e' }, b: { netns: 'y', name: 'e' } }] }).hosts]).toEqual(['x', 'y']);
  });

  it('the group of a spec without bridges comes from its host namespaces: containers come and go', () => {
    const base = twoHosts();
    const more = twoHosts();
    more.namespaces!.push({ name: 'a3', interfaces: [{ name: 'eth0', hostName: 'veth-a3', hostNamespace: 'host-a', master: 'br0' }] });
    expect(topologyGroup(more)).toBe(topologyGroup(base));
    const renamed = twoHosts();
    renamed.namespaces![0]!.name = 'host-c';
    for (const n of renamed.namespaces!) for (const f of n.interfaces ?? []) if (f.hostNamespace === 'host-a') f.hostNamespace = 'host-c';
    renamed.links![0]!.a.netns = 'host-c';
    expect(topologyGroup(renamed)).not.toBe(topologyGroup(base));
    // Without hosts, the namespaces' names, as before.
    expect(topologyGroup({ namespaces: [{ name: 'x' }] })).not.toBe(topologyGroup({ namespaces: [{ name: 'x' }, { name: 'y' }] }));
  });
});
