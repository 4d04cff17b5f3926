// Neighbours, FDB entries, policy rules, route lookups and the richer routes (multipath with
// weights, mtu/advmss, blackhole/unreachable/prohibit/local, scopes, IPv6 gateways): built
// through the library inside sandbox namespaces, read back, cross-checked with `ip -json` and
// `bridge -json`, and proven with packets where packets can prove them.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');
type Namespace = import('../../lib/index.js').Namespace;

const inNs = (ns: string, cmd: string, ...args: string[]) => spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' });
const ping = (ns: string, target: string, ...extra: string[]) => inNs(ns, 'ping', '-c', '1', '-W', '1', ...extra, target);
const bridgeJson = (ns: string, ...args: string[]) => JSON.parse(execFileSync('bridge', ['-n', ns, '-json', ...args], { encoding: 'utf8' }) || '[]');

describe.skipIf(!inSandbox)(`neighbours, FDB, rules and routes${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  let a: Namespace;
  let b: Namespace;
  let macB: string;

  beforeAll(async () => {
    resetSandbox();
    a = await lib.createNamespace('na');
    b = await lib.createNamespace('nb');
    await a.createVethPair({ name: 'eth0', up: true, peer: { name: 'eth0', netns: b } });
    await b.setLinkUp('eth0');
    await a.setLinkUp('lo');
    await b.setLinkUp('lo');
    await a.addAddress('eth0', '10.20.0.1/24');
    await b.addAddress('eth0', '10.20.0.2/24');
    await a.addAddress('eth0', 'fd20::1/64', { noDad: true });
    await b.addAddress('eth0', 'fd20::2/64', { noDad: true });
    macB = (await b.getLink('eth0')).mac!;
  });
  afterAll(() => {
    a?.close();
    b?.close();
    resetSandbox();
  });

  describe('neighbours (ip neigh)', () => {
    it('a permanent entry is used: a wrong MAC stops the ping, the right one (replace) carries it with no ARP', async () => {
      await a.addNeighbour({ address: '10.20.0.2', lladdr: '02:00:00:00:de:ad', dev: 'eth0' });
      expect(ping('na', '10.20.0.2').status).not.toBe(0);
      await a.replaceNeighbour({ address: '10.20.0.2', lladdr: macB, dev: 'eth0', state: 'permanent' });
      expect(ping('na', '10.20.0.2').status).toBe(0);
      const mine = await a.listNeighbours({ dev: 'eth0', family: 4 });
      expect(mine).toEqual([{ family: 4, address: '10.20.0.2', dev: 'eth0', index: mine[0]!.index, lladdr: macB, state: ['PERMANENT'], router: false, proxy: false, netns: 'na' }]);
      expect(ipJson(['-4', 'neigh', 'show', 'dev', 'eth0', 'nud', 'all'], 'na')).toEqual([{ dst: '10.20.0.2', lladdr: macB, state: ['PERMANENT'] }]);
    });

    it('IPv6 with states and the router flag, listed as ip lists them', async () => {
      await lib.replaceNeighbour({ netns: 'na', address: 'fd20::9', lladdr: '02:00:00:00:00:19', dev: 'eth0', state: 'reachable', router: true });
      await a.addNeighbour({ address: 'fd20::a', lladdr: '02:00:00:00:00:1a', dev: 'eth0', state: 'stale' });
      await a.addNeighbour({ address: 'fd20::b', dev: 'eth0', state: 'noarp', lladdr: '02:00:00:00:00:1b' });
      const ours = (await a.listNeighbours({ family: 6, dev: 'eth0' })).filter((n) => /^fd20::[9ab]$/.test(n.address));
      const theirs = ipJson<any[]>(['-6', 'neigh', 'show', 'dev', 'eth0', 'nud', 'all'], 'na').filter((n) => /^fd20::[9ab]$/.test(n.dst));
      expect(ours.map((n) => [n.address, n.lladdr, n.state, n.router])).toEqual(theirs.map((n) => [n.dst, n.lladdr, n.state, 'router' in n]));
      expect(ours.find((n) => n.address === 'fd20::9')).toMatchObject({ router: true });
      expect(ours.map((n) => n.state[0]).sort()).toEqual(['NOARP', 'REACHABLE', 'STALE']);
    });

    it('proxy entries (ip neigh add proxy), listed apart, deleted', async () => {
      await a.addNeighbour({ address: '10.20.0.77', dev: 'eth0', proxy: true });
      expect(await a.listNeighbours({ proxy: true })).toEqual([expect.objectContaining({ address: '10.20.0.77', dev: 'eth0', proxy: true })]);
      expect(ipJson(['neigh', 'show', 'proxy'], 'na')).toEqual([{ dst: '10.20.0.77', dev: 'eth0', proxy: null }]);
      expect((await a.listNeighbours()).some((n) => n.proxy)).toBe(false);
      await a.deleteNeighbour({ address: '10.20.0.77', dev: 'eth0', proxy: true });
      expect(ipJson(['neigh', 'show', 'proxy'], 'na')).toEqual([]);
    });

    it('a proxy entry answers ARP for its address: nb resolves 10.20.0.77 to na\'s MAC', async () => {
      // The kernel answers for a proxy entry when it forwards, and routes the address out of
      // another device: a side link here.
      await a.createVethPair({ name: 'side0', up: true, peer: { name: 'side1' } });
      await a.setLinkUp('side1');
      await a.addRoute({ to: '10.20.0.77/32', dev: 'side0' });
      await a.enableForwarding({ family: 4 });
      await a.setSysctl('net.ipv4.neigh.eth0.proxy_delay', 0);
      await a.addNeighbour({ address: '10.20.0.77', dev: 'eth0', proxy: true });
      ping('nb', '10.20.0.77');
      const macA = (await a.getLink('eth0')).mac;
      expect((await b.listNeighbours({ family: 4 })).find((n) => n.address === '10.20.0.77')).toMatchObject({ lladdr: macA });
      expect(ipJson<any[]>(['-4', 'neigh', 'show', '10.20.0.77'], 'nb')[0]).toMatchObject({ lladdr: macA });
      await a.deleteNeighbour({ address: '10.20.0.77', dev: 'eth0', proxy: true });
      await a.deleteLink('side0');
    });

    it('delete, and ENOENT / EEXIST from the kernel', async () => {
      await expect(a.addNeighbour({ address: '10.20.0.2', lladdr: macB, dev: 'eth0' })).rejects.toMatchObject({ code: 'EEXIST', operation: 'RTM_NEWNEIGH' });
      await a.deleteNeighbour({ address: '10.20.0.2', dev: 'eth0' });
      expect(ipJson(['-4', 'neigh', 'show', 'dev', 'eth0', 'nud', 'permanent'], 'na')).toEqual([]);
      await expect(a.deleteNeighbour({ address: '10.20.0.2', dev: 'eth0' })).rejects.toMatchObject({ code: 'ENOENT', operation: 'RTM_DELNEIGH' });
    });
  });

  describe('bridge FDB (bridge fdb)', () => {
    beforeAll(async () => {
      await a.createBridge('br0', { up: true });
      await a.createVethPair({ name: 'port0', up: true, master: 'br0', peer: { name: 'port0p' } });
      // Up at both ends: the kernel takes dynamic entries only on a learning or forwarding port.
      await a.setLinkUp('port0p');
      await a.createVxlan('vx0', { id: 42, local: '10.20.0.1', port: 4789, learning: false, master: 'br0', up: true });
    });

    it('vxlan flood entries: append one per remote, list them, delete one', async () => {
      await a.appendFdb({ mac: '00:00:00:00:00:00', dev: 'vx0', dst: '10.20.0.2' });
      await a.appendFdb({ mac: '00:00:00:00:00:00', dev: 'vx0', dst: '10.20.0.3' });
      await a.appendFdb({ mac: '02:00:00:00:00:bb', dev: 'vx0', dst: '10.20.0.5', port: 4790, vni: 43 });
      const ours = await a.listFdb({ dev: 'vx0' });
      const theirs = bridgeJson('na', 'fdb', 'show', 'dev', 'vx0');
      expect(ours.map((e) => [e.mac, e.dst, e.port, e.vni, e.flags, e.state])).toEqual(
        theirs.map((e: any) => [e.mac, e.dst, e.port, e.vni, e.flags, e.state || 'dynamic']),
      );
      expect(ours.filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst)).toEqual(['10.20.0.2', '10.20.0.3']);
      await a.deleteFdb({ mac: '00:00:00:00:00:00', dev: 'vx0', dst: '10.20.0.3' });
      expect(bridgeJson('na', 'fdb', 'show', 'dev', 'vx0').filter((e: any) => e.mac === '00:00:00:00:00:00').map((e: any) => e.dst)).toEqual(['10.20.0.2']);
    });

    it('master entries of a bridge port, static and dynamic, as bridge shows them', async () => {
      await a.addFdb({ mac: '02:00:00:00:00:aa', dev: 'port0', master: true, state: 'static' });
      await lib.replaceFdb({ netns: 'na', mac: '02:00:00:00:00:ab', dev: 'port0', master: true, state: 'dynamic' });
      const ours = await a.listFdb({ bridge: 'br0' });
      const theirs = bridgeJson('na', 'fdb', 'show', 'br', 'br0');
      const key = (mac: string, dev: string, vlan?: number) => `${mac} ${dev} ${vlan ?? ''}`;
      const theirsByKey = new Map(theirs.map((e: any) => [key(e.mac, e.ifname, e.vlan), e]));
      expect(ours.length).toBe(theirs.length);
      for (const e of ours) {
        const t = theirsByKey.get(key(e.mac, e.dev, e.vlan)) as any;
        expect(t, `${e.mac} ${e.dev}`).toBeDefined();
        expect([e.flags, e.state, e.master]).toEqual([t.flags, t.state || 'dynamic', t.master]);
      }
      expect(ours.find((e) => e.mac === '02:00:00:00:00:aa')).toMatchObject({ dev: 'port0', master: 'br0', state: 'static', flags: [] });
      expect(ours.find((e) => e.mac === '02:00:00:00:00:ab')).toMatchObject({ state: 'dynamic' });
      await a.deleteFdb({ mac: '02:00:00:00:00:aa', dev: 'port0', master: true });
      await expect(a.deleteFdb({ mac: '02:00:00:00:00:aa', dev: 'port0', master: true })).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });

  describe('policy rules (ip rule)', () => {
    it('from, to, fwmark/mask, iif, oif, table, priority: IPv4 and IPv6, as ip shows them', async () => {
      await a.addRule({ from: '10.0.0.0/8', to: '192.168.0.0/16', fwmark: 0x10, fwmask: 0xff, iif: 'eth0', table: 100, priority: 100 });
      await a.addRule({ to: '10.9.0.0/16', action: 'unreachable', priority: 300 });
      await a.addRule({ from: '10.30.0.0/16', action: 'prohibit', priority: 301 });
      await a.addRule({ from: '10.31.0.0/16', action: 'blackhole', priority: 302, invert: true });
      await a.addRule({ from: 'fd00::/8', oif: 'eth0', table: 1000, priority: 200, family: 6 });
      const v4 = await a.listRules();
      const ip4 = ipJson<any[]>(['rule', 'show'], 'na');
      const tableName = (t: number | undefined) => (t === 255 ? 'local' : t === 254 ? 'main' : t === 253 ? 'default' : t === undefined ? undefined : String(t));
      expect(v4.map((r) => [r.priority, r.from === 'all' ? 'all' : r.from.split('/')[0], r.to?.split('/')[0], tableName(r.table), r.action === 'table' ? undefined : r.action, r.invert || undefined])).toEqual(
        ip4.map((r) => [r.priority, r.src, r.dst, r.table, r.action, r.not === null || undefined]),
      );
      expect(v4.find((r) => r.priority === 100)).toMatchObject({ fwmark: 16, fwmask: 255, iif: 'eth0', table: 100, from: '10.0.0.0/8', to: '192.168.0.0/16' });
      expect(ip4.find((r) => r.priority === 100)).toMatchObject({ fwmark: '0x10', fwmask: '0xff', iif: 'eth0' });
      const v6 = await a.listRules({ family: 6 });
      expect(v6.find((r) => r.priority === 200)).toMatchObject({ family: 6, from: 'fd00::/8', oif: 'eth0', table: 1000 });
      expect(ipJson<any[]>(['-6', 'rule', 'show'], 'na').find((r) => r.priority === 200)).toMatchObject({ src: 'fd00::', srclen: 8, oif: 'eth0', table: '1000' });
      await a.deleteRule({ from: '10.31.0.0/16', action: 'blackhole', priority: 302, invert: true });
      expect(ipJson<any[]>(['rule', 'show'], 'na').some((r) => r.priority === 302)).toBe(false);
      await expect(a.deleteRule({ from: '10.31.0.0/16', action: 'blackhole', priority: 302 })).rejects.toMatchObject({ code: 'ENOENT', operation: 'RTM_DELRULE' });
    });

    it('a fwmark rule steers packets: getRoute sees table 200 only with the mark, and so does ping -m', async () => {
      await a.addRoute({ to: '10.99.0.0/16', via: '10.20.0.2', table: 200 });
      await a.addRule({ fwmark: 7, table: 200, priority: 50 });
      await b.addAddress('lo', '10.99.0.1/32');
      await expect(a.getRoute('10.99.0.1')).rejects.toMatchObject({ code: 'ENETUNREACH', operation: 'RTM_GETROUTE' });
      const marked = await a.getRoute('10.99.0.1', { mark: 7 });
      expect(marked).toMatchObject({ family: 4, to: '10.99.0.1', table: 200, dev: 'eth0', via: '10.20.0.2', mark: 7, type: 'unicast', src: '10.20.0.1' });
      expect(ipJson<any[]>(['route', 'get', '10.99.0.1', 'mark', '7'], 'na')[0]).toMatchObject({ dst: '10.99.0.1', gateway: '10.20.0.2', dev: 'eth0', mark: 7 });
      await b.addRoute({ to: '10.20.0.0/24', dev: 'eth0', table: 254, metric: 5 }).catch(() => undefined);
      expect(ping('na', '10.99.0.1').status).not.toBe(0);
      expect(ping('na', '10.99.0.1', '-m', '7').status).toBe(0);
    });
  });

  describe('routes', () => {
    it('ip route get: from, oif, the answer as ip gives it', async () => {
      const r = await lib.getRoute('10.20.0.2', { netns: 'na', from: '10.20.0.1', oif: 'eth0' });
      const theirs = ipJson<any[]>(['route', 'get', '10.20.0.2', 'from', '10.20.0.1', 'oif', 'eth0'], 'na')[0];
      expect(r).toMatchObject({ to: theirs.dst, dev: theirs.dev, from: theirs.from, table: 254, type: 'unicast' });
      const six = await a.getRoute('fd20::2');
      expect(six).toMatchObject({ family: 6, to: 'fd20::2', dev: 'eth0' });
      expect(ipJson<any[]>(['-6', 'route', 'get', 'fd20::2'], 'na')[0]).toMatchObject({ dst: 'fd20::2', dev: 'eth0' });
    });

    it('multipath with weights: listed with its nexthops, as ip lists them', async () => {
      await b.addAddress('eth0', '10.20.0.3/24');
      await a.addRoute({ to: '10.50.0.0/16', nexthops: [{ via: '10.20.0.2', weight: 1 }, { via: '10.20.0.3', dev: 'eth0', weight: 3 }] });
      const ours = (await a.listRoutes()).find((r) => r.to === '10.50.0.0/16')!;
      expect(ours.nexthops).toEqual([
        { via: '10.20.0.2', dev: 'eth0', oif: expect.any(Number), weight: 1, flags: [] },
        { via: '10.20.0.3', dev: 'eth0', oif: expect.any(Number), weight: 3, flags: [] },
      ]);
      const theirs = ipJson<any[]>(['route', 'show', '10.50.0.0/16'], 'na')[0];
      expect(theirs.nexthops.map((h: any) => [h.gateway, h.dev, h.weight])).toEqual(ours.nexthops!.map((h) => [h.via, h.dev, h.weight]));
      const pick = await a.getRoute('10.50.1.1');
      expect(['10.20.0.2', '10.20.0.3']).toContain(pick.via);
      await a.deleteRoute({ to: '10.50.0.0/16', nexthops: [{ via: '10.20.0.2', weight: 1 }, { via: '10.20.0.3', dev: 'eth0', weight: 3 }] });
      expect(ipJson(['route', 'show', '10.50.0.0/16'], 'na')).toEqual([]);
    });

    it('mtu and advmss (RTA_METRICS): listed, as ip shows them, and the mtu holds packets back', async () => {
      await b.addAddress('lo', '10.60.0.1/32');
      await a.addRoute({ to: '10.60.0.0/24', via: '10.20.0.2', mtu: 1300, advmss: 1260 });
      expect((await a.listRoutes()).find((r) => r.to === '10.60.0.0/24')).toMatchObject({ via: '10.20.0.2', mtu: 1300, advmss: 1260 });
      expect(ipJson<any[]>(['route', 'show', '10.60.0.0/24'], 'na')[0].metrics).toEqual([{ mtu: 1300, advmss: 1260 }]);
      await b.addRoute({ to: '10.20.0.0/16', via: '10.20.0.1' }).catch(() => undefined);
      expect(ping('na', '10.60.0.1', '-M', 'do', '-s', '1200').status).toBe(0);
      const big = ping('na', '10.60.0.1', '-M', 'do', '-s', '1400');
      expect(big.status).not.toBe(0);
      expect(big.stdout + big.stderr).toMatch(/mtu ?= ?1300|Message too long/i);
    });

    it('blackhole, unreachable, prohibit and local routes work end to end', async () => {
      await a.addRoute({ to: '10.71.0.0/24', type: 'blackhole' });
      await a.addRoute({ to: '10.72.0.0/24', type: 'unreachable' });
      await a.addRoute({ to: '10.73.0.0/24', type: 'prohibit' });
      await a.addRoute({ to: '10.74.0.0/24', type: 'local', dev: 'lo', table: 255 });
      const listed = await a.listRoutes({ table: 'all' });
      for (const [to, type] of [['10.71.0.0/24', 'blackhole'], ['10.72.0.0/24', 'unreachable'], ['10.73.0.0/24', 'prohibit'], ['10.74.0.0/24', 'local']]) {
        expect(listed.find((r) => r.to === to), to).toMatchObject({ type });
        const ip = ipJson<any[]>(['route', 'show', 'table', 'all', to], 'na');
        expect(ip[0].type, to).toBe(type);
      }
      await expect(a.getRoute('10.72.0.1')).rejects.toMatchObject({ code: 'EHOSTUNREACH' });
      await expect(a.getRoute('10.73.0.1')).rejects.toMatchObject({ code: 'EACCES' });
      await expect(a.getRoute('10.71.0.1')).rejects.toMatchObject({ code: 'EINVAL' });
      expect(await a.getRoute('10.74.0.9')).toMatchObject({ type: 'local', dev: 'lo', table: 255 });
      for (const dst of ['10.71.0.1', '10.72.0.1', '10.73.0.1']) expect(ping('na', dst).status, dst).not.toBe(0);
      expect(ping('na', '10.74.0.9').status).toBe(0); // the namespace answers for the whole local /24
    });

    it('scopes and IPv6 routes with a gateway and a device', async () => {
      await a.addRoute({ to: '10.80.0.0/24', dev: 'eth0', scope: 'link' });
      await a.addRoute({ to: '10.81.0.1/32', dev: 'lo', scope: 'host' });
      await a.addRoute({ to: 'fd99::/64', via: 'fd20::2', dev: 'eth0', metric: 42 });
      const listed = await a.listRoutes({ table: 'all' });
      expect(listed.find((r) => r.to === '10.80.0.0/24')).toMatchObject({ scope: 'link', dev: 'eth0' });
      expect(listed.find((r) => r.to === '10.81.0.1/32')).toMatchObject({ scope: 'host', dev: 'lo' });
      expect(listed.find((r) => r.to === 'fd99::/64')).toMatchObject({ family: 6, via: 'fd20::2', dev: 'eth0', metric: 42 });
      expect(ipJson<any[]>(['route', 'show', '10.80.0.0/24'], 'na')[0]).toMatchObject({ scope: 'link', dev: 'eth0' });
      expect(ipJson<any[]>(['-6', 'route', 'show', 'fd99::/64'], 'na')[0]).toMatchObject({ gateway: 'fd20::2', dev: 'eth0', metric: 42 });
      expect(await a.getRoute('fd99::5')).toMatchObject({ via: 'fd20::2', dev: 'eth0' });
    });
  });

  describe('bad input: a clear error naming the field, before anything reaches the kernel', () => {
    const cases: [string, () => Promise<unknown>, string, string][] = [
      ['neighbour without a MAC', () => lib.addNeighbour({ netns: 'na', address: '10.20.0.9', dev: 'eth0' }), 'ERR_MISSING_OPTION', 'lladdr'],
      ['neighbour with a bad MAC', () => lib.addNeighbour({ netns: 'na', address: '10.20.0.9', dev: 'eth0', lladdr: '02:00:00:00:00' }), 'ERR_INVALID_MAC', 'lladdr'],
      ['neighbour with an unknown state', () => lib.addNeighbour({ netns: 'na', address: '10.20.0.9', dev: 'eth0', lladdr: '02:00:00:00:00:09', state: 'forever' as never }), 'ERR_INVALID_ARG_VALUE', 'state'],
      ["neighbour with ip's word mac", () => lib.addNeighbour({ netns: 'na', address: '10.20.0.9', dev: 'eth0', mac: '02:00:00:00:00:09' } as never), 'ERR_UNKNOWN_OPTION', 'mac'],
      ['proxy entry with a MAC', () => lib.addNeighbour({ netns: 'na', address: '10.20.0.9', dev: 'eth0', proxy: true, lladdr: '02:00:00:00:00:09' }), 'ERR_INVALID_ARG_VALUE', 'lladdr'],
      ['FDB entry with a vlan out of range', () => lib.appendFdb({ netns: 'na', mac: '00:00:00:00:00:00', dev: 'vx0', vlan: 4095 }), 'ERR_INVALID_VLAN', 'vlan'],
      ['FDB entry with a 25-bit VNI', () => lib.appendFdb({ netns: 'na', mac: '00:00:00:00:00:00', dev: 'vx0', vni: 2 ** 24 }), 'ERR_INVALID_VNI', 'vni'],
      ["FDB entry with bridge's word lladdr", () => lib.appendFdb({ netns: 'na', lladdr: '00:00:00:00:00:00', dev: 'vx0' } as never), 'ERR_UNKNOWN_OPTION', 'lladdr'],
      ['rule mixing families', () => lib.addRule({ netns: 'na', from: '10.0.0.0/8', to: 'fd00::/8' }), 'ERR_INVALID_ADDRESS', 'to'],
      ['rule with a mask and no mark', () => lib.addRule({ netns: 'na', fwmask: 0xff, table: 5 }), 'ERR_INVALID_ARG_VALUE', 'fwmask'],
      ['blackhole rule with a table', () => lib.addRule({ netns: 'na', action: 'blackhole', table: 5 }), 'ERR_INVALID_ARG_VALUE', 'table'],
      ["rule with ip's word pref", () => lib.addRule({ netns: 'na', pref: 5 } as never), 'ERR_UNKNOWN_OPTION', 'pref'],
      ['route get of a prefix', () => lib.getRoute('10.0.0.0/8', { netns: 'na' }), 'ERR_INVALID_ADDRESS', 'destination'],
      ['route get mixing families', () => lib.getRoute('10.0.0.1', { netns: 'na', from: 'fd20::1' }), 'ERR_INVALID_ADDRESS', 'from'],
      ['multipath with a top-level via', () => lib.addRoute({ netns: 'na', to: '10.1.0.0/16', via: '10.20.0.2', nexthops: [{ via: '10.20.0.3' }] }), 'ERR_INVALID_ARG_VALUE', 'via'],
      ['nexthop weight 0', () => lib.addRoute({ netns: 'na', to: '10.1.0.0/16', nexthops: [{ via: '10.20.0.3', weight: 0 }] }), 'ERR_INVALID_WEIGHT', 'nexthops[0].weight'],
      ['nexthop of the other family', () => lib.addRoute({ netns: 'na', to: '10.1.0.0/16', nexthops: [{ via: 'fd20::2' }] }), 'ERR_INVALID_ADDRESS', 'nexthops[0].via'],
      ['nexthop with neither via nor dev', () => lib.addRoute({ netns: 'na', to: '10.1.0.0/16', nexthops: [{ weight: 2 }] }), 'ERR_INVALID_ARG_VALUE', 'nexthops[0]'],
    ];
    // Routes the kernel makes and removes by itself (link-local, multicast) are left out.
    const ours = (routes: any[]) => routes.filter((r) => r.protocol !== 'kernel' && !/^(fe80|ff00)/.test(r.dst));
    const state = () => [
      ipJson(['neigh', 'show', 'nud', 'permanent'], 'na'),
      ipJson(['rule'], 'na'),
      ipJson(['-6', 'rule'], 'na'),
      // Learnt (dynamic) FDB entries come and go with the ports' own traffic.
      bridgeJson('na', 'fdb', 'show').filter((e: any) => e.state),
      ours(ipJson(['route', 'show', 'table', 'all'], 'na')),
      ours(ipJson(['-6', 'route', 'show', 'table', 'all'], 'na')),
    ];
    let before: unknown[];
    beforeAll(() => {
      before = state();
    });
    it.each(cases)('%s', async (_, call, code, field) => {
      await expect(call()).rejects.toMatchObject({ code, field });
    });
    it('left neighbours, rules, FDB and routes as they were', () => {
      expect(state()).toEqual(before);
    });
  });
});
