// Strict input (issue: "unknown and mistyped fields are ignored or converted"): every public
// input is checked by its schema before anything reaches the kernel. Each case asserts the
// coded error that names the path, and that the kernel's state did not change.
import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import { workload } from '../../benchmarks/lib/workload.js';

const lib = await import('../../lib/index.js');

const hostLinks = () => ipJson<{ ifname: string }[]>(['link', 'show']).map((l) => l.ifname).sort();
const namespaces = () => readdirSync('/run/netns').sort();
const routes = () => ipJson<any[]>(['route', 'show', 'table', 'all']);

/** The call's rejection (or throw), which must exist. */
async function failure(call: () => unknown): Promise<any> {
  try {
    await call();
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail');
}

describe.skipIf(!inSandbox)(`strict input (real kernel)${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeEach(() => resetSandbox());
  afterEach(() => resetSandbox());

  it('addRoute({ to, dev, gateway }) is refused (did you mean via?) and no route without the gateway is made', async () => {
    await lib.createBridge('br0', { up: true });
    await lib.addAddress('br0', '10.7.0.1/24');
    const before = routes();
    const e = await failure(() => lib.addRoute({ to: '10.8.0.0/16', dev: 'br0', gateway: '10.7.0.2' } as never));
    expect(e).toMatchObject({ name: 'TypeError', code: 'ERR_UNKNOWN_OPTION', field: 'gateway' });
    expect(e.message).toMatch(/did you mean "via"\?/);
    expect(routes()).toEqual(before);
  });

  it('createBridge(name, { vlan_filtering }) is refused and no bridge is made', async () => {
    const e = await failure(() => lib.createBridge('br0', { vlan_filtering: true } as never));
    expect(e).toMatchObject({ code: 'ERR_UNKNOWN_OPTION', field: 'vlan_filtering' });
    expect(e.message).toMatch(/did you mean "vlanFiltering"\?/);
    expect(hostLinks()).toEqual(['lo']);
  });

  it('setLink({ bogus }) is refused and the link is unchanged', async () => {
    await lib.createBridge('br0', { mtu: 1400 });
    const e = await failure(() => lib.setLink('br0', { mtu: 1300, bogus: 1 } as never));
    expect(e).toMatchObject({ code: 'ERR_UNKNOWN_OPTION', field: 'changes.bogus' });
    expect(ipJson<any[]>(['link', 'show', 'br0'])[0].mtu).toBe(1400);
  });

  it('mistyped options are refused, never converted', async () => {
    const ns = await lib.createNamespace('t1');
    const cases: [string, () => unknown, string, string][] = [
      ['up: "yes"', () => lib.createBridge('br0', { up: 'yes' } as never), 'ERR_INVALID_ARG_TYPE', 'up'],
      ['mtu: "1500"', () => lib.createBridge('br0', { mtu: '1500' } as never), 'ERR_INVALID_MTU', 'mtu'],
      ['peer: "x"', () => lib.createVethPair({ name: 'a0', peer: 'x' } as never), 'ERR_INVALID_ARG_TYPE', 'peer'],
      ['peer.nmae', () => lib.createVethPair({ name: 'a0', peer: { nmae: 'b0' } } as never), 'ERR_UNKNOWN_OPTION', 'peer.nmae'],
      ['scope: "site"', () => lib.addAddress('lo', '10.1.1.1/32', { scope: 'site' } as never), 'ERR_INVALID_ARG_VALUE', 'scope'],
      ['protocol: 256 (no wrap to 0)', () => lib.addRoute({ to: '10.1.0.0/16', dev: 'lo', protocol: 256 }), 'ERR_INVALID_ARG_VALUE', 'protocol'],
      ['family: "4"', () => lib.listRoutes({ family: '4' } as never), 'ERR_INVALID_ARG_VALUE', 'family'],
      ['netns: 5', () => lib.listLinks({ netns: 5 } as never), 'ERR_INVALID_ARG_TYPE', 'netns'],
      ['a Namespace method given netns', () => ns.listLinks({ netns: 'x' } as never), 'ERR_UNKNOWN_OPTION', 'netns'],
      ['masquerade src', () => lib.addMasquerade({ src: '10.0.0.0/8' } as never), 'ERR_UNKNOWN_OPTION', 'src'],
      ['enableForwarding family 5', () => lib.enableForwarding({ family: 5 } as never), 'ERR_INVALID_ARG_VALUE', 'family'],
      ['openNamespace({ name })', () => lib.openNamespace({ name: 't1' } as never), 'ERR_UNKNOWN_OPTION', 'name'],
      ['applyTopology options', () => lib.applyTopology({}, { rollbak: false } as never), 'ERR_UNKNOWN_OPTION', 'options.rollbak'],
    ];
    for (const [what, call, code, field] of cases) {
      const e = await failure(call);
      expect(e, what).toMatchObject({ code, field });
      expect(e.message.startsWith(`${field}: `), what).toBe(true);
    }
    ns.close();
    expect(hostLinks()).toEqual(['lo']);
    expect(namespaces()).toEqual(['t1']);
  });

  it('a topology with a misspelt key is refused with the nearest known key, and nothing is built', async () => {
    const ok = () => ({
      bridges: [{ name: 'br0', addresses: ['10.9.0.1/24'] }],
      namespaces: [{ name: 'c1', interfaces: [{ name: 'eth0', hostName: 'h1', master: 'br0', addresses: ['10.9.0.2/24'] }] }],
    });
    const variants: [string, (s: any) => void, string, string][] = [
      ['interface', (s) => ((s.namespaces[0].interface = s.namespaces[0].interfaces), delete s.namespaces[0].interfaces), 'namespaces[0].interface', 'interfaces'],
      ['adresses', (s) => ((s.bridges[0].adresses = s.bridges[0].addresses), delete s.bridges[0].addresses), 'bridges[0].adresses', 'addresses'],
      ['bridge for master', (s) => ((s.namespaces[0].interfaces[0].bridge = 'br0'), delete s.namespaces[0].interfaces[0].master), 'namespaces[0].interfaces[0].bridge', 'master'],
      ['bridge for bridges', (s) => ((s.bridge = s.bridges), delete s.bridges), 'bridge', 'bridges'],
      ['peer, the old name of hostName', (s) => ((s.namespaces[0].interfaces[0].peer = 'h1'), delete s.namespaces[0].interfaces[0].hostName), 'namespaces[0].interfaces[0].peer', 'hostName'],
    ];
    for (const [what, change, field, hint] of variants) {
      const spec = ok();
      change(spec);
      const e = await failure(() => lib.applyTopology(spec as never));
      expect(e, what).toMatchObject({ code: 'ERR_UNKNOWN_OPTION', field });
      expect(e.message, what).toContain(`did you mean "${hint}"?`);
    }
    expect(namespaces()).toEqual([]);
    expect(hostLinks()).toEqual(['lo']);
    // And the unchanged spec builds, so the refusals above were about the key alone.
    await lib.applyTopology(ok());
    expect(namespaces()).toEqual(['c1']);
  });

  it('every field of a topology is checked before any kernel work: W(500) plus one bad field builds nothing', async () => {
    const bad: [string, (s: any) => void, string, string][] = [
      ['host route metric -1', (s) => (s.routes = [{ to: '10.50.0.0/16', dev: 'br0', metric: -1 }]), 'ERR_INVALID_ARG_VALUE', 'routes[0].metric'],
      ['route table "main"', (s) => (s.namespaces[3].routes = [{ to: 'default', via: '10.200.0.1', table: 'main' }]), 'ERR_INVALID_ROUTE_TABLE', 'namespaces[3].routes[0].table'],
      ['route type "nat"', (s) => (s.namespaces[4].routes[0].type = 'nat'), 'ERR_INVALID_ARG_VALUE', 'namespaces[4].routes[0].type'],
      ['route dev not in the namespace', (s) => (s.namespaces[5].routes[0].dev = 'eth9'), 'ERR_TOPOLOGY_UNKNOWN_LINK', 'namespaces[5].routes[0].dev'],
      ['route via a zone id', (s) => (s.namespaces[6].routes[0].via = 'fe80::1%eth0'), 'ERR_INVALID_ADDRESS', 'namespaces[6].routes[0].via'],
      ['route family mismatch', (s) => (s.namespaces[7].routes[0].family = 6), 'ERR_INVALID_ADDRESS', 'namespaces[7].routes[0].family'],
      ['sysctl key outside net', (s) => (s.sysctls = { 'kernel.panic': 1 }), 'ERR_INVALID_SYSCTL_KEY', 'sysctls.kernel.panic'],
      ['sysctl value 1.5', (s) => (s.namespaces[8].sysctls = { 'net.ipv4.ip_forward': 1.5 }), 'ERR_INVALID_ARG_VALUE', 'namespaces[8].sysctls.net.ipv4.ip_forward'],
      ['masquerade without a prefix', (s) => (s.masquerade = [{ source: '10.200.0.0' }]), 'ERR_INVALID_PREFIX', 'masquerade[0].source'],
      ['broadcast on IPv6', (s) => (s.namespaces[9].interfaces[0].addresses = [{ address: 'fd00::2/64', broadcast: 'auto' }]), 'ERR_INVALID_ARG_VALUE', 'namespaces[9].interfaces[0].addresses[0].broadcast'],
      ['anonymous: "no"', (s) => (s.namespaces[10].anonymous = 'no'), 'ERR_INVALID_ARG_TYPE', 'namespaces[10].anonymous'],
      ['ipv6: "false"', (s) => (s.namespaces[11].ipv6 = 'false'), 'ERR_INVALID_ARG_TYPE', 'namespaces[11].ipv6'],
      ['loopback: "yes"', (s) => (s.namespaces[12].loopback = 'yes'), 'ERR_INVALID_ARG_TYPE', 'namespaces[12].loopback'],
      ['routes as a string', (s) => (s.namespaces[13].routes = 'default via 10.200.0.1'), 'ERR_INVALID_ARG_TYPE', 'namespaces[13].routes'],
      ['a name with a bidi override', (s) => (s.namespaces[499].name = 'c\u202e1'), 'ERR_INVALID_NETNS_NAME', 'namespaces[499].name'],
      ['lo as an interface', (s) => (s.namespaces[14].interfaces[0].name = 'lo'), 'ERR_TOPOLOGY_DUPLICATE', 'namespaces[14].interfaces[0].name'],
    ];
    let progressCalls = 0;
    for (const [what, change, code, field] of bad) {
      const spec: any = workload(500);
      change(spec);
      const e = await failure(() => lib.applyTopology(spec, { progress: () => progressCalls++ }));
      expect(e, what).toMatchObject({ code, field });
    }
    const e = await failure(() => lib.applyTopology({ namespaces: 'c2' } as never));
    expect(e).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', field: 'namespaces' });
    expect(progressCalls).toBe(0);
    expect(namespaces()).toEqual([]);
    expect(hostLinks()).toEqual(['lo']);
  });

  it('a spec over maxNamespaces is refused before any syscall, saying how to raise the limit', async () => {
    const huge = { namespaces: Array.from({ length: 1_000_000 }, (_, i) => ({ name: `n${i}` })) };
    const e = await failure(() => lib.applyTopology(huge));
    expect(e).toMatchObject({ name: 'RangeError', code: 'ERR_TOPOLOGY_TOO_LARGE', field: 'namespaces' });
    expect(e.message).toMatch(/limit of 4096/);
    expect(e.message).toMatch(/maxNamespaces/);
    const small = { namespaces: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] };
    await expect(lib.applyTopology(small, { maxNamespaces: 2 })).rejects.toMatchObject({ code: 'ERR_TOPOLOGY_TOO_LARGE' });
    expect(namespaces()).toEqual([]);
    await lib.applyTopology(small, { maxNamespaces: 3 });
    expect(namespaces()).toEqual(['a', 'b', 'c']);
  });

  it('create calls resolve to { name, index, netns? } for every kind, and a veth adds its peer', async () => {
    const ns = await lib.createNamespace('t2');
    const br = await lib.createBridge('br0');
    const vx = await lib.createVxlan('vx0', { id: 42, dev: 'br0' });
    const mv = await lib.createMacvlan('mv0', { parent: 'br0' });
    const veth = await lib.createVethPair({ name: 'v0', peer: { name: 'v1', netns: ns } });
    const inside = await ns.createBridge('br1');
    const byName = new Map(ipJson<any[]>(['link', 'show']).map((l) => [l.ifname, l.ifindex]));
    expect(br).toEqual({ name: 'br0', index: byName.get('br0') });
    expect(vx).toEqual({ name: 'vx0', index: byName.get('vx0') });
    expect(mv).toEqual({ name: 'mv0', index: byName.get('mv0') });
    expect(veth).toEqual({ name: 'v0', index: byName.get('v0'), peer: { name: 'v1', index: ipJson<any[]>(['link', 'show', 'v1'], 't2')[0].ifindex, netns: 't2' } });
    expect(inside).toEqual({ name: 'br1', index: ipJson<any[]>(['link', 'show', 'br1'], 't2')[0].ifindex, netns: 't2' });
    ns.close();
  });

  it("setMaster(x, 'lo') is refused before the kernel detaches x from its bridge", async () => {
    await lib.createBridge('br0', { up: true });
    await lib.createVethPair({ name: 'x0', peer: { name: 'x1' }, master: 'br0' });
    expect(ipJson<any[]>(['link', 'show', 'x0'])[0].master).toBe('br0');
    const e = await failure(() => lib.setMaster('x0', 'lo'));
    expect(e).toMatchObject({ code: 'ERR_NOT_A_BRIDGE', field: 'bridge' });
    expect(e.message).toMatch(/loopback/);
    expect(ipJson<any[]>(['link', 'show', 'x0'])[0].master).toBe('br0');
    // A veth is not a bridge either, and a create with such a master makes nothing.
    await expect(lib.setMaster('x0', 'x1')).rejects.toMatchObject({ code: 'ERR_NOT_A_BRIDGE' });
    await expect(lib.createVethPair({ name: 'y0', peer: { name: 'y1' }, master: 'x1' })).rejects.toMatchObject({ code: 'ERR_NOT_A_BRIDGE', field: 'master' });
    expect(hostLinks()).toEqual(['br0', 'lo', 'x0', 'x1']);
    expect(ipJson<any[]>(['link', 'show', 'x0'])[0].master).toBe('br0');
  });
});
