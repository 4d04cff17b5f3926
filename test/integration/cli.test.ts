// The rtnl CLI on the whole tutorial (examples/pb-and-jelly.json, bonus included): state
// cross-checked with ip -json and nft -j, packets between namespaces, to the host, through NAT.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');

const rtnl = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', ...args], { encoding: 'utf8' });
const ping = (target: string, netns?: string) =>
  spawnSync(netns ? 'ip' : 'ping', [...(netns ? ['netns', 'exec', netns, 'ping'] : []), '-c', '1', '-W', '2', target], { encoding: 'utf8' });

describe.skipIf(!inSandbox)(`rtnl CLI, the whole tutorial${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeAll(() => resetSandbox());
  afterAll(() => resetSandbox());

  it('rtnl up builds everything, bonus included', () => {
    const r = rtnl('up', 'examples/pb-and-jelly.json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^up: 4 items/);
    expect(readdirSync('/run/netns').sort()).toEqual(['jelly', 'pb']);
    const links = new Map(ipJson<any[]>(['link', 'show']).map((l) => [l.ifname, l]));
    expect(links.get('bread-pb-veth').master).toBe('brd1');
    expect(links.get('bread-j-veth').master).toBe('brd1');
    const brd = ipJson<any[]>(['addr', 'show', 'brd1'])[0].addr_info.find((a: any) => a.family === 'inet');
    expect(brd).toMatchObject({ local: '192.168.0.60', prefixlen: 24, broadcast: '192.168.0.255' });
    for (const [ns, dev, addr] of [['pb', 'veth-pb', '192.168.0.56'], ['jelly', 'veth-jelly', '192.168.0.55']]) {
      expect(ipJson<any[]>(['addr', 'show', dev], ns)[0].addr_info.find((a: any) => a.family === 'inet').local).toBe(addr);
      expect(ipJson<any[]>(['route'], ns)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '192.168.0.60' }));
    }
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe('1');
    const nft = JSON.parse(execFileSync('nft', ['-j', 'list', 'ruleset'], { encoding: 'utf8' })).nftables as any[];
    expect(nft.filter((o) => o.rule)).toHaveLength(1);
    expect(JSON.stringify(nft.find((o) => o.rule).rule.expr)).toContain('"addr":"192.168.0.0","len":24');
  });

  it('rtnl up again converges without error and adds nothing', () => {
    const r = rtnl('up', 'examples/pb-and-jelly.json');
    expect(r.status, r.stderr).toBe(0);
    const nft = JSON.parse(execFileSync('nft', ['-j', 'list', 'ruleset'], { encoding: 'utf8' })).nftables as any[];
    expect(nft.filter((o) => o.rule)).toHaveLength(1);
    expect(ipJson<any[]>(['addr', 'show', 'veth-pb'], 'pb')[0].addr_info.filter((a: any) => a.family === 'inet')).toHaveLength(1);
  });

  it('packets: jelly <-> pb, host -> pb, and jelly -> wan through the masquerade', async () => {
    expect(ping('192.168.0.56', 'jelly').status).toBe(0);
    expect(ping('192.168.0.55', 'pb').status).toBe(0);
    expect(ping('192.168.0.56').status).toBe(0);
    const wan = await lib.createNamespace('wan');
    await lib.createVethPair({ name: 'wan0', up: true, peer: { name: 'uplink', netns: wan } });
    await lib.addAddress('wan0', '10.250.0.1/24');
    await wan.addAddress('uplink', '10.250.0.2/24');
    await wan.setLinkUp('uplink');
    wan.close();
    const r = ping('10.250.0.2', 'jelly');
    expect(r.status, r.stdout).toBe(0);
    // The wan saw the host's address, not the container's: nothing there routes back to 192.168.0.0/24.
    expect(ipJson<any[]>(['route'], 'wan').map((x) => x.dst)).not.toContain('192.168.0.0/24');
    await lib.deleteNamespace('wan');
  });

  it('lists links, addresses, routes and NAT, brief and --json', () => {
    const brief = rtnl('link', 'list', '-n', 'pb');
    expect(brief.status).toBe(0);
    expect(brief.stdout).toMatch(/^veth-pb\s+UP\s+/m);
    const json = JSON.parse(rtnl('addr', 'list', '-n', 'pb', '--json').stdout);
    expect(json).toContainEqual(expect.objectContaining({ link: 'veth-pb', address: '192.168.0.56', prefixLen: 24 }));
    expect(rtnl('route', 'list', '-n', 'jelly').stdout).toMatch(/^default via 192\.168\.0\.60 dev veth-jelly$/m);
    expect(JSON.parse(rtnl('nat', 'list', '--json').stdout)).toEqual([expect.objectContaining({ source: '192.168.0.0/24' })]);
    expect(rtnl('ns', 'list').stdout.trim().split('\n')).toEqual(['jelly', 'pb']);
  });

  it('rtnl exec runs inside the namespace and passes the exit code through', () => {
    const r = rtnl('exec', 'pb', '--', 'ip', '-br', 'link');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/veth-pb/);
    expect(r.stdout).not.toMatch(/brd1/);
    expect(rtnl('exec', 'pb', '--', 'sh', '-c', 'exit 7').status).toBe(7);
  });

  it('fails with one clear line and a non-zero code, no stack trace', () => {
    const bad = rtnl('ns', 'add', '../x');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^rtnl: ERR_INVALID_NETNS_NAME: /)]);
    const dup = rtnl('ns', 'add', 'pb');
    expect(dup.status).toBe(1);
    expect(dup.stderr.trim()).toMatch(/^rtnl: EEXIST: file already exists, netns add 'pb'/);
    const missing = rtnl('up', '/nonexistent.json');
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^rtnl: ENOENT: cannot read/);
    expect(rtnl('frobnicate').status).toBe(2);
    expect(rtnl('--help').stdout).toMatch(/rtnl up FILE/);
  });

  it('rtnl down removes it all', () => {
    const r = rtnl('down', 'examples/pb-and-jelly.json');
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync('/run/netns')).toEqual([]);
    expect(ipJson<any[]>(['link', 'show']).map((l) => l.ifname)).toEqual(['lo']);
    const nft = JSON.parse(execFileSync('nft', ['-j', 'list', 'ruleset'], { encoding: 'utf8' })).nftables as any[];
    expect(nft.filter((o) => o.rule)).toHaveLength(0);
  });
});
