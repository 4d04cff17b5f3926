// Two hosts, one overlay, from a topology file: `rtnl up examples/two-hosts.json` builds two
// "hosts" (namespaces with a bridge and a vxlan each), the underlay veth between them and two
// containers on each host's bridge. Containers on host-a reach those on host-b by ping and TCP;
// an nft counter on host-b's underlay (a test-only table) proves the packets crossed as VNI-42
// vxlan; `ip -json` and `bridge -json` cross-check the objects; `rtnl down` leaves nothing. A
// spec whose last item the kernel refuses, or that meets a namespace that is not its own,
// leaves nothing either.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import { installVxlanCounter, vxlanPackets as countVxlan } from '../helpers/overlay-counter.js';
import { tcpEcho } from '../helpers/tcp-echo.js';

const lib = await import('../../lib/index.js');

const FILE = 'examples/two-hosts.json';
const spec = JSON.parse(readFileSync(FILE, 'utf8'));
const rtnl = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', ...args], { encoding: 'utf8' });
const ping = (ns: string, target: string, count = 1) => spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', String(count), '-i', '0.2', '-W', '1', target], { encoding: 'utf8' });
const bridgeJson = (ns: string, args: string[]) => JSON.parse(execFileSync('bridge', ['-n', ns, '-json', ...args], { encoding: 'utf8' }) || '[]');
const namespaces = () => readdirSync('/run/netns').sort();
const rootLinks = () => ipJson<{ ifname: string }[]>(['link', 'show']).map((l) => l.ifname);

/** host-b's test-only count of VNI-42 vxlan packets carrying IPv4, arriving on its underlay. */
const vxlanPackets = (): number => countVxlan('host-b');
/** host-b's vxlan in the spec: the port and VNI the counter matches. */
const hostBVxlan = spec.namespaces.find((n: any) => n.name === 'host-b').vxlans[0] as { id: number; port: number };

/** The spec with more in host-a: a bridge, an FDB entry, a neighbour, a rule, a container. */
function withMore(): any {
  const more = structuredClone(spec);
  const hostA = more.namespaces.find((n: any) => n.name === 'host-a');
  hostA.bridges.push({ name: 'br1', addresses: ['10.245.0.1/24'] });
  hostA.fdb.push({ mac: '02:00:00:00:00:aa', dev: 'vxlan0', dst: '192.168.100.2' });
  hostA.neighbours = [{ address: '10.244.0.99', lladdr: '02:00:00:00:00:99', dev: 'br0' }];
  hostA.rules = [{ from: '10.244.0.0/24', table: 100, priority: 100 }];
  more.namespaces.push({ name: 'a3', interfaces: [{ name: 'eth0', hostName: 'veth-a3', hostNamespace: 'host-a', master: 'br0', addresses: ['10.244.0.13/24'] }] });
  return more;
}

describe.skipIf(!inSandbox)(`rtnl up examples/two-hosts.json: two hosts, one overlay${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeAll(() => resetSandbox());
  afterAll(() => resetSandbox());

  it('rtnl up builds the hosts, the underlay, the overlay and the containers', () => {
    const r = rtnl('up', FILE);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/namespaces: 6 created, 0 adopted/);
    expect(r.stdout).toMatch(/veth host-a\/underlay0 host-b\/underlay0: created/);
    expect(namespaces()).toEqual(['a1', 'a2', 'b1', 'b2', 'host-a', 'host-b']);
    // Nothing in the caller's namespace: everything lives in the hosts.
    expect(rootLinks()).toEqual(['lo']);
    // Counts UDP to 4789 carrying VNI 42 and inner IPv4 (see test/helpers/overlay-counter.ts).
    expect(hostBVxlan).toMatchObject({ id: 42, port: 4789 });
    installVxlanCounter('host-b', hostBVxlan.port, hostBVxlan.id);
  });

  it('ip -json and bridge -json see each host as the spec says', () => {
    const group = String(lib.topologyGroup(spec));
    for (const [host, own, other, containers] of [
      ['host-a', '192.168.100.1', '192.168.100.2', ['veth-a1', 'veth-a2']],
      ['host-b', '192.168.100.2', '192.168.100.1', ['veth-b1', 'veth-b2']],
    ] as const) {
      const [vx] = ipJson<any[]>(['-d', 'link', 'show', 'vxlan0'], host);
      expect(vx).toMatchObject({ master: 'br0', mtu: 1450, group });
      expect(vx.flags).toContain('UP');
      expect(vx.linkinfo.info_data).toMatchObject({ id: 42, local: own, port: 4789, link: 'underlay0' });
      // iproute2 prints `learning` only when it is on.
      expect(vx.linkinfo.info_data.learning ?? false).toBe(false);
      const flood = bridgeJson(host, ['fdb', 'show', 'dev', 'vxlan0']).filter((e: any) => e.mac === '00:00:00:00:00:00');
      expect(flood.map((e: any) => e.dst)).toEqual([other]);
      const ports = ipJson<any[]>(['link', 'show', 'master', 'br0'], host).map((l) => l.ifname).sort();
      expect(ports).toEqual([...containers, 'vxlan0'].sort());
      const addrs = ipJson<any[]>(['addr', 'show', 'underlay0'], host)[0].addr_info.filter((a: any) => a.family === 'inet');
      expect(addrs.map((a: any) => `${a.local}/${a.prefixlen}`)).toEqual([`${own}/24`]);
      const [under] = ipJson<any[]>(['-d', 'link', 'show', 'underlay0'], host);
      expect(under).toMatchObject({ group, linkinfo: { info_kind: 'veth' } });
    }
    const [eth0] = ipJson<any[]>(['addr', 'show', 'eth0'], 'b2');
    expect(eth0).toMatchObject({ mtu: 1450, operstate: 'UP' });
    expect(eth0.addr_info.filter((a: any) => a.family === 'inet').map((a: any) => a.local)).toEqual(['10.244.0.22']);
    expect(ipJson<any[]>(['route', 'show', 'default'], 'b2')).toEqual([expect.objectContaining({ dst: 'default', gateway: '10.244.0.2', dev: 'eth0' })]);
  });

  it('a1 and a2 ping b1 and b2 across the underlay, encapsulated', async () => {
    const before = vxlanPackets();
    const underBefore = await lib.getLinkStats('underlay0', { netns: 'host-b' });
    for (const [from, to] of [['a1', '10.244.0.21'], ['a2', '10.244.0.22'], ['a1', '10.244.0.22']] as const) {
      expect(ping(from, to, 2).status, `${from} -> ${to}`).toBe(0);
    }
    const counted = vxlanPackets() - before;
    // 6 echo requests, each one VNI-42 UDP packet into host-b carrying IPv4.
    expect(counted).toBeGreaterThanOrEqual(6);
    const under = await lib.getLinkStats('underlay0', { netns: 'host-b' });
    expect(under.rxPackets - underBefore.rxPackets).toBeGreaterThanOrEqual(counted);
    // Each the size of an encapsulated 84-byte ping: + 14 (inner Ethernet) + 8 + 8 + 20.
    expect(under.rxBytes - underBefore.rxBytes).toBeGreaterThanOrEqual(6 * (84 + 50));
    // Containers of one host talk over its bridge: nothing crosses the underlay as IPv4.
    const local = vxlanPackets();
    expect(ping('b1', '10.244.0.22', 2).status).toBe(0);
    // (host-b receives nothing from host-a for this; b1's ARP broadcast goes out, not in.)
    expect(vxlanPackets() - local).toBe(0);
  });

  it('TCP from a1 to b1, through the overlay', async () => {
    const before = vxlanPackets();
    const b1 = await lib.openNamespace('b1');
    const a1 = await lib.openNamespace('a1');
    try {
      const { received, reply } = await tcpEcho(b1, a1, '10.244.0.21', 8080, 'hello from host-a');
      expect(received).toBe('hello from host-a');
      expect(reply).toBe('echo hello from host-a');
    } finally {
      a1.close();
      b1.close();
    }
    // The handshake, the data and the teardown crossed as vxlan packets.
    expect(vxlanPackets() - before).toBeGreaterThanOrEqual(4);
  });

  it('rtnl up again converges: everything adopted, nothing added', () => {
    const fdbBefore = bridgeJson('host-a', ['fdb', 'show', 'dev', 'vxlan0']).filter((e: any) => e.mac === '00:00:00:00:00:00');
    const r = rtnl('up', FILE);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/namespaces: 0 created, 6 adopted/);
    expect(r.stdout).toMatch(/veth host-a\/underlay0 host-b\/underlay0: adopted/);
    expect(bridgeJson('host-a', ['fdb', 'show', 'dev', 'vxlan0']).filter((e: any) => e.mac === '00:00:00:00:00:00')).toEqual(fdbBefore);
    expect(ipJson<any[]>(['link', 'show', 'master', 'br0'], 'host-a')).toHaveLength(3);
    expect(ping('a1', '10.244.0.21').status).toBe(0);
  });

  it('a failed apply over the running topology undoes what it added, and only that', async () => {
    const more = withMore();
    // The same topology (its group comes from the host namespaces, not the containers) ...
    expect(lib.topologyGroup(more)).toBe(lib.topologyGroup(spec));
    // ... and its last item is refused by the kernel.
    more.namespaces.find((n: any) => n.name === 'host-b').fdb.push({ mac: '00:00:00:00:00:00', dev: 'vxlan0', dst: 'fd00::1' });
    const err = await lib.applyTopology(more).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_TOPOLOGY_APPLY' });
    expect(err.results.filter((r: any) => !r.ok).map((r: any) => r.item)).toEqual(['entries host-b']);
    // What it added went; what was there stays.
    expect(namespaces()).toEqual(['a1', 'a2', 'b1', 'b2', 'host-a', 'host-b']);
    expect(ipJson<any[]>(['link', 'show'], 'host-a').map((l) => l.ifname).sort()).toEqual(['br0', 'lo', 'underlay0', 'veth-a1', 'veth-a2', 'vxlan0']);
    expect(bridgeJson('host-a', ['fdb', 'show', 'dev', 'vxlan0']).filter((e: any) => e.dst).map((e: any) => `${e.mac} ${e.dst}`)).toEqual(['00:00:00:00:00:00 192.168.100.2']);
    expect(ipJson<any[]>(['neigh', 'show', '10.244.0.99'], 'host-a')).toEqual([]);
    expect(ipJson<any[]>(['rule', 'show'], 'host-a').filter((r) => r.priority === 100)).toEqual([]);
    expect(ipJson<any[]>(['link', 'show', 'master', 'br0'], 'host-a')).toHaveLength(3);
    expect(ping('a1', '10.244.0.21').status).toBe(0);
  });

  it('rtnl down removes every namespace, and with them every link', () => {
    const r = rtnl('down', FILE);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/down: removed 6 namespaces/);
    expect(namespaces()).toEqual([]);
    expect(rootLinks()).toEqual(['lo']);
    expect(rtnl('down', FILE).stdout).toMatch(/nothing to remove/);
  });

  it('a spec whose last item the kernel refuses leaves nothing behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtnl-two-hosts-'));
    const bad = structuredClone(spec);
    // A flood entry to an IPv6 remote on an IPv4 vxlan: valid as a spec, refused by the
    // kernel (EAFNOSUPPORT), and the entries are the last thing apply does.
    bad.namespaces.find((n: any) => n.name === 'host-b').fdb.push({ mac: '00:00:00:00:00:00', dev: 'vxlan0', dst: 'fd00::1' });
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(bad));
    const r = rtnl('up', join(dir, 'bad.json'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/entries host-b/);
    expect(r.stderr).toMatch(/EAFNOSUPPORT/);
    expect(namespaces()).toEqual([]);
    expect(rootLinks()).toEqual(['lo']);
  });

  it('a host namespace that is not the topology\'s is refused by name, and nothing else is left', () => {
    execFileSync('ip', ['netns', 'add', 'host-b']);
    const r = rtnl('up', FILE);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/EEXIST.*netns host-b.*not made by this topology/);
    // host-b is left as it was (not deleted, nothing added), the rest is rolled back.
    expect(namespaces()).toEqual(['host-b']);
    expect(ipJson<any[]>(['link', 'show'], 'host-b').map((l) => l.ifname)).toEqual(['lo']);
    expect(rootLinks()).toEqual(['lo']);
    // down leaves what is not the topology's.
    const d = rtnl('down', FILE);
    expect(d.stdout).toMatch(/left alone \(not made by this topology\): netns host-b/);
    expect(namespaces()).toEqual(['host-b']);
  });

  it('routes, neighbours, rules and FDB entries of a host namespace: applied, then destroyed with it', async () => {
    resetSandbox();
    const more = withMore();
    // Host routes through a container's host end (made in the same apply) and the underlay.
    more.namespaces.find((n: any) => n.name === 'host-a').routes = [{ to: '10.250.0.11/32', dev: 'veth-a1' }, { to: '10.251.0.0/24', via: '192.168.100.2', dev: 'underlay0' }];
    const result = await lib.applyTopology(more);
    expect(ipJson<any[]>(['route', 'show', '10.250.0.11'], 'host-a')).toEqual([expect.objectContaining({ dst: '10.250.0.11', dev: 'veth-a1' })]);
    expect(ipJson<any[]>(['route', 'show', '10.251.0.0/24'], 'host-a')).toEqual([expect.objectContaining({ gateway: '192.168.100.2', dev: 'underlay0' })]);
    expect(result.items.filter((r) => r.item.startsWith('entries ')).map((r) => [r.item, r.action])).toEqual([['entries host-a', 'created'], ['entries host-b', 'created']]);
    expect(ipJson<any[]>(['neigh', 'show', '10.244.0.99'], 'host-a')).toEqual([expect.objectContaining({ dev: 'br0', lladdr: '02:00:00:00:00:99', state: ['PERMANENT'] })]);
    expect(ipJson<any[]>(['rule', 'show'], 'host-a').filter((r) => r.priority === 100)).toEqual([expect.objectContaining({ src: '10.244.0.0', srclen: 24, table: '100' })]);
    expect(bridgeJson('host-a', ['fdb', 'show', 'dev', 'vxlan0']).filter((e: any) => e.dst).map((e: any) => `${e.mac} ${e.dst}`).sort()).toEqual(['00:00:00:00:00:00 192.168.100.2', '02:00:00:00:00:aa 192.168.100.2']);
    expect(ipJson<any[]>(['addr', 'show', 'br1'], 'host-a')[0].addr_info.filter((a: any) => a.family === 'inet').map((a: any) => a.local)).toEqual(['10.245.0.1']);
    expect(ping('a3', '10.244.0.21').status).toBe(0);
    const d = await lib.destroyTopology(more);
    expect(d.deletedNamespaces.sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'host-a', 'host-b']);
    expect(d.notOurs).toEqual([]);
    expect(namespaces()).toEqual([]);
    expect(rootLinks()).toEqual(['lo']);
  });
});
