// rtnl monitor (events until interrupted, one JSON object a line with --json) and rtnl port
// list|add|del, run as a user would, checked against the kernel.
import { spawn, spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');
const ARGS = ['--import', 'tsx', 'lib/cli/main.ts'];
const rtnl = (...args: string[]) => spawnSync(process.execPath, [...ARGS, ...args], { encoding: 'utf8' });

/** A running `rtnl ARGS`: its output lines as they come. */
function running(...args: string[]) {
  const child = spawn(process.execPath, [...ARGS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    buffered += d;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = async (match: (l: string) => boolean, timeout = 15_000) => {
    const deadline = performance.now() + timeout;
    for (;;) {
      const found = lines.find(match);
      if (found !== undefined) return found;
      if (performance.now() > deadline || child.exitCode !== null) throw new Error(`no such line; got ${JSON.stringify(lines.slice(-5))}, stderr ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, lines, line, exited, stderr: () => stderr };
}

describe('rtnl monitor and rtnl port: usage errors exit 2', () => {
  it('unknown objects, -n with --all, bad ports and protocols', () => {
    expect(rtnl('monitor', 'links')).toMatchObject({ status: 2, stderr: expect.stringContaining("unknown object 'links'") });
    expect(rtnl('monitor', '-n', 'x', '--all')).toMatchObject({ status: 2, stderr: expect.stringContaining('-n and --all') });
    expect(rtnl('port', 'add', 'tcp', 'http', '10.0.0.2:80')).toMatchObject({ status: 2, stderr: expect.stringContaining("'http' is not a port number") });
    expect(rtnl('port', 'add', 'icmp', '80', '10.0.0.2:80')).toMatchObject({ status: 2, stderr: expect.stringContaining('tcp or udp') });
    expect(rtnl('port', 'add', 'tcp', '80', '10.0.0.2')).toMatchObject({ status: 2, stderr: expect.stringContaining("to: must be 'address:port'") });
    expect(rtnl('port', 'add', 'tcp', '80')).toMatchObject({ status: 2 });
  });
});

describe.skipIf(!inSandbox)(`rtnl monitor and rtnl port${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeAll(() => resetSandbox());
  afterAll(() => resetSandbox());

  it('rtnl monitor --json: one event a line until interrupted (SIGINT ends it with status 0)', async () => {
    const m = running('monitor', '--json');
    try {
      expect(JSON.parse(await m.line((l) => l.includes('"synced"')))).toEqual({ type: 'synced' });
      await lib.createBridge('mon0', { up: true });
      await lib.addAddress('mon0', '10.31.0.1/24');
      const link = JSON.parse(await m.line((l) => l.includes('"added"') && l.includes('"mon0"')));
      expect(link).toMatchObject({ type: 'added', kind: 'link', object: { name: 'mon0', index: (await lib.getLink('mon0')).index } });
      const addr = JSON.parse(await m.line((l) => l.includes('10.31.0.1/24')));
      expect(addr).toMatchObject({ type: 'added', kind: 'address', object: { cidr: '10.31.0.1/24', link: 'mon0' } });
      // Every line is one JSON object.
      for (const l of m.lines) expect(() => JSON.parse(l)).not.toThrow();
      await lib.deleteLink('mon0');
      await m.line((l) => l.includes('"removed"') && l.includes('"mon0"'));
    } finally {
      m.child.kill('SIGINT');
    }
    expect(await m.exited).toBe(0);
    expect(m.stderr()).toBe('');
  });

  it('rtnl monitor --all --existing link: what exists first, namespaces named, then new namespaces as they come', async () => {
    const ns = await lib.createNamespace('mon-a');
    await ns.createBridge('inside0');
    const m = running('monitor', '--all', '--existing', 'link');
    try {
      await m.line((l) => l === 'synced');
      expect(m.lines).toContainEqual(expect.stringMatching(/^\[mon-a\] added link \d+: inside0 <.*> state DOWN bridge$/));
      expect(m.lines).toContainEqual(expect.stringMatching(/^added link 1: lo </));
      // Only links were asked for.
      expect(m.lines.some((l) => l.includes(' address ') || l.includes(' route '))).toBe(false);
      const later = await lib.createNamespace('mon-b');
      await later.createBridge('late0');
      await m.line((l) => /^\[mon-b\] added link \d+: late0 /.test(l));
      later.close();
    } finally {
      m.child.kill('SIGTERM');
      ns.close();
    }
    expect(await m.exited).toBe(0);
  });

  it('rtnl port add, list (brief and --json), add again, del', () => {
    const empty = rtnl('port', 'list');
    expect(empty.stdout).toBe('');
    expect(empty.status, empty.stderr).toBe(0); // empty because there is nothing, not because it failed
    const added = rtnl('port', 'add', 'tcp', '8080', '192.168.7.2:80');
    expect(added).toMatchObject({ status: 0, stdout: 'added: tcp 0.0.0.0:8080 -> 192.168.7.2:80\n' });
    expect(rtnl('port', 'add', 'udp', '5353', '[fd00::7]:53', '--address', 'fd00::1')).toMatchObject({ status: 0, stdout: 'added: udp [fd00::1]:5353 -> [fd00::7]:53\n' });
    expect(rtnl('port', 'add', 'tcp', '8080', '192.168.7.2:80').stdout).toBe('exists: tcp 0.0.0.0:8080 -> 192.168.7.2:80\n');
    expect(rtnl('port', 'list').stdout).toBe('tcp 0.0.0.0:8080 -> 192.168.7.2:80\nudp [fd00::1]:5353 -> [fd00::7]:53\n');
    const json = JSON.parse(rtnl('port', 'list', '--json').stdout);
    expect(json).toEqual([
      expect.objectContaining({ family: 4, protocol: 'tcp', hostPort: 8080, to: '192.168.7.2:80' }),
      expect.objectContaining({ family: 6, protocol: 'udp', hostPort: 5353, hostAddress: 'fd00::1', to: '[fd00::7]:53' }),
    ]);
    // nft sees the same rules.
    const nftRules = () => (JSON.parse(execFileSync('nft', ['-j', 'list', 'ruleset'], { encoding: 'utf8' })).nftables as any[]).filter((o) => o.rule).map((o) => o.rule);
    expect(nftRules()).toHaveLength(4);
    expect(rtnl('port', 'del', 'tcp', '8080')).toMatchObject({ status: 0, stdout: 'removed\n' });
    // nft: only the two udp rules are left; no DNAT to 192.168.7.2:80 remains.
    const rulesLeft = nftRules();
    expect(rulesLeft).toHaveLength(2);
    expect(rulesLeft.map((r) => r.family)).toEqual(['ip6', 'ip6']);
    expect(JSON.stringify(rulesLeft)).not.toContain('192.168.7.2');
    expect(rtnl('port', 'del', 'tcp', '8080')).toMatchObject({ status: 1, stdout: 'none\n' });
    expect(rtnl('port', 'add', 'tcp', '5353', '192.168.7.3:53', '-n', 'nosuch')).toMatchObject({ status: 1, stderr: expect.stringContaining('ENOENT') });
    expect(rtnl('port', 'list').stdout).toBe('udp [fd00::1]:5353 -> [fd00::7]:53\n');
  });
});
