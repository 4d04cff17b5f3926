// The tutorial topology built by the library (the example itself), then read back through the
// library, cross-checked with `ip -json`, and proven with real packets.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');
const example = await import('../../examples/pb-and-jelly.js');

const ping = (target: string, netns?: string) =>
  spawnSync(netns ? 'ip' : 'ping', [...(netns ? ['netns', 'exec', netns, 'ping'] : []), '-c', '1', '-W', '2', target], { encoding: 'utf8' });

describe.skipIf(!inSandbox)(`the tutorial, end to end${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeAll(async () => {
    resetSandbox();
    const handles = await example.buildTutorial();
    for (const h of handles) h.close();
  });
  afterAll(() => resetSandbox());

  it('has the namespaces', () => {
    expect(lib.listNamespaces().map((n) => n.name)).toEqual(['jelly', 'pb']);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toMatch(/pb/);
  });

  it('has the bridge and its ports, as the library and ip see them', async () => {
    const links = await lib.listLinks();
    const byName = new Map(links.map((l) => [l.name, l]));
    expect(byName.get('brd1')).toMatchObject({ kind: 'bridge', up: true });
    for (const port of ['bread-pb-veth', 'bread-j-veth']) {
      expect(byName.get(port)).toMatchObject({ kind: 'veth', up: true, master: 'brd1' });
    }
    const ipLinks = ipJson<any[]>(['-d', 'link', 'show']);
    const ipByName = new Map(ipLinks.map((l) => [l.ifname, l]));
    expect(ipByName.get('brd1').linkinfo.info_kind).toBe('bridge');
    expect(ipByName.get('brd1').flags).toContain('UP');
    for (const port of ['bread-pb-veth', 'bread-j-veth']) {
      expect(ipByName.get(port).master).toBe('brd1');
      expect(ipByName.get(port).flags).toContain('UP');
      expect(ipByName.get(port).link_netnsid).toBeTypeOf('number');
    }
    const ports = await lib.listBridgePorts('brd1');
    expect(ports.map((p) => p.name).sort()).toEqual(['bread-j-veth', 'bread-pb-veth']);
    const bridgeTool = JSON.parse(execFileSync('bridge', ['-json', 'link', 'show'], { encoding: 'utf8' })) as any[];
    expect(bridgeTool.map((p) => p.ifname).sort()).toEqual(['bread-j-veth', 'bread-pb-veth']);
    for (const p of ports) expect(p.state).toBe(bridgeTool.find((b) => b.ifname === p.name).state);
  });

  it('gives the bridge 192.168.0.60/24 with broadcast 192.168.0.255 (brd +)', async () => {
    const mine = await lib.listAddresses({ link: 'brd1', family: 4 });
    expect(mine).toEqual([expect.objectContaining({ address: '192.168.0.60', prefixLen: 24, broadcast: '192.168.0.255', link: 'brd1' })]);
    const theirs = ipJson<any[]>(['addr', 'show', 'dev', 'brd1'])[0].addr_info.filter((a: any) => a.family === 'inet');
    expect(theirs).toEqual([expect.objectContaining({ local: '192.168.0.60', prefixlen: 24, broadcast: '192.168.0.255' })]);
  });

  for (const [netns, dev, address] of [['pb', 'veth-pb', '192.168.0.56'], ['jelly', 'veth-jelly', '192.168.0.55']]) {
    it(`puts ${dev} inside ${netns}, up, with ${address}/24 and a default route via 192.168.0.60`, async () => {
      const links = await lib.listLinks({ netns });
      expect(links.map((l) => l.name).sort()).toEqual(['lo', dev].sort());
      expect(links.find((l) => l.name === dev)).toMatchObject({ kind: 'veth', up: true, netns });
      const addrs = await lib.listAddresses({ netns, family: 4 });
      expect(addrs).toEqual([expect.objectContaining({ link: dev, address, prefixLen: 24 })]);
      const routes = await lib.listRoutes({ netns, family: 4 });
      expect(routes).toContainEqual(expect.objectContaining({ to: 'default', via: '192.168.0.60', dev }));

      const ipLink = ipJson<any[]>(['link', 'show', dev], netns)[0];
      expect(ipLink.flags).toContain('UP');
      const ipAddr = ipJson<any[]>(['addr', 'show', dev], netns)[0].addr_info.filter((a: any) => a.family === 'inet');
      expect(ipAddr).toEqual([expect.objectContaining({ local: address, prefixlen: 24 })]);
      const ipRoutes = ipJson<any[]>(['route', 'show'], netns);
      expect(ipRoutes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '192.168.0.60', dev }));
      // And nothing of it leaked onto the host.
      expect(ipJson<any[]>(['link', 'show']).map((l) => l.ifname)).not.toContain(dev);
    });
  }

  it('carries packets: jelly <-> pb across the bridge, and host -> pb', () => {
    const a = ping('192.168.0.56', 'jelly');
    expect(a.status, a.stdout + a.stderr).toBe(0);
    const b = ping('192.168.0.55', 'pb');
    expect(b.status, b.stdout + b.stderr).toBe(0);
    const c = ping('192.168.0.56');
    expect(c.status, c.stdout + c.stderr).toBe(0);
  });

  it('tears down completely: no namespace, link, mount or file', async () => {
    await example.teardownTutorial();
    expect(readdirSync('/run/netns')).toEqual([]);
    expect(ipJson<any[]>(['link', 'show']).map((l) => l.ifname)).toEqual(['lo']);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toMatch(/\/run\/netns\/(pb|jelly)/);
    expect(existsSync('/run/netns/pb')).toBe(false);
    // Idempotent: a second teardown finds nothing and does not fail.
    await example.teardownTutorial();
  });
});
