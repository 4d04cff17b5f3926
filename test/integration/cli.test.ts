// The rtnl CLI on the whole tutorial (examples/pb-and-jelly.json, bonus included): state
// cross-checked with ip -json and nft -j, packets between namespaces, to the host, through NAT.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^rtnl: cannot read \/nonexistent\.json: ENOENT/);
    expect(missing.stderr).toMatch(/^usage: rtnl up .*FILE$/m);
    expect(rtnl('frobnicate').status).toBe(2);
    expect(rtnl('--help').stdout).toMatch(/^ {2}up FILE /m);
  });

  it('a file that is not JSON, or not a valid spec, is a usage error (exit 2) and changes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtnl-'));
    writeFileSync(join(dir, 'broken.json'), '{"namespaces": [');
    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ namespaces: [{ name: 'x1', interface: [] }] }));
    const before = readdirSync('/run/netns').sort();
    const broken = rtnl('up', join(dir, 'broken.json'));
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/is not valid JSON/);
    const typo = rtnl('up', join(dir, 'typo.json'));
    expect(typo.status).toBe(2);
    expect(typo.stderr.trim().split('\n')[0]).toBe('rtnl: ERR_UNKNOWN_OPTION: namespaces[0].interface: is not an option of a namespace; did you mean "interfaces"?');
    expect(rtnl('down', join(dir, 'typo.json')).status).toBe(2);
    expect(readdirSync('/run/netns').sort()).toEqual(before);
  });

  it('help for every command: rtnl CMD --help, rtnl help CMD, and per group', () => {
    const up = rtnl('up', '--help');
    expect(up.status).toBe(0);
    expect(up.stdout).toMatch(/^Usage: rtnl up .*FILE$/m);
    expect(up.stdout).toMatch(/--max-namespaces N/);
    expect(rtnl('help', 'up').stdout).toBe(up.stdout);
    const link = rtnl('link', '--help');
    expect(link.status).toBe(0);
    expect(link.stdout).toMatch(/^Usage: rtnl link list \[-n NS\] \[--json\]$/m);
    const ns = rtnl('help', 'ns');
    expect(ns.stdout).toMatch(/rtnl ns add NAME/);
    expect(ns.stdout).toMatch(/rtnl ns del NAME/);
    expect(rtnl('help', 'frobnicate').status).toBe(2);
    // An option the command does not take is a usage error naming it.
    const wrong = rtnl('ns', 'list', '--netns', 'pb');
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/--netns/);
  });

  it('names that would print as something else are escaped in listings', () => {
    // Another tool may have made such a file; the library itself refuses the name.
    const odd = 'odd\u202etxt\u009b';
    closeSync(openSync(join('/run/netns', odd), 'w'));
    try {
      const out = rtnl('ns', 'list').stdout;
      expect(out).toContain('odd\\u202etxt\\u009b');
      expect(out).not.toMatch(/[\u202e\u009b]/);
      expect(JSON.parse(rtnl('ns', 'list', '--json').stdout).map((n: { name: string }) => n.name)).toContain(odd);
    } finally {
      rmSync(join('/run/netns', odd));
    }
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
