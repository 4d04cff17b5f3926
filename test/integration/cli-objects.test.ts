// rtnl neigh list, fdb list, rule list and route get: brief and --json, -n NS, against what
// `ip -json` and `bridge -json` say about the same namespace.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');

const rtnl = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', ...args], { encoding: 'utf8' });
const json = (...args: string[]) => {
  const r = rtnl(...args, '--json');
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

describe.skipIf(!inSandbox)(`rtnl neigh/fdb/rule/route get${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeAll(async () => {
    resetSandbox();
    const ns = await lib.createNamespace('cx');
    await ns.createVethPair({ name: 'eth0', up: true, peer: { name: 'eth1' } });
    await ns.setLinkUp('eth1');
    await ns.addAddress('eth0', '10.40.0.1/24');
    await ns.addNeighbour({ address: '10.40.0.2', lladdr: '02:00:00:00:00:02', dev: 'eth0' });
    await ns.addNeighbour({ address: '10.40.0.9', dev: 'eth0', proxy: true });
    await ns.createVxlan('vx0', { id: 5, local: '10.40.0.1' });
    await ns.appendFdb({ mac: '00:00:00:00:00:00', dev: 'vx0', dst: '10.40.0.7' });
    await ns.addRule({ fwmark: 7, table: 100, priority: 10 });
    await ns.addRule({ from: 'fd40::/16', action: 'prohibit', priority: 11 });
    await ns.addRoute({ to: '10.41.0.0/16', via: '10.40.0.2', table: 100 });
    ns.close();
  });
  afterAll(() => resetSandbox());

  it('rtnl neigh list -n NS: brief and JSON, as ip neigh', () => {
    const brief = rtnl('neigh', 'list', '-n', 'cx', '-4');
    expect(brief.status, brief.stderr).toBe(0);
    expect(brief.stdout).toContain('10.40.0.2 dev eth0 lladdr 02:00:00:00:00:02 PERMANENT');
    const ours = json('neigh', 'list', '-n', 'cx', '-4');
    const theirs = ipJson<any[]>(['-4', 'neigh', 'show', 'nud', 'all'], 'cx');
    expect(ours.map((n: any) => [n.address, n.dev, n.lladdr, n.state])).toEqual(theirs.map((n) => [n.dst, n.dev, n.lladdr, n.state]));
    expect(json('neigh', 'list', '-n', 'cx', '--proxy').map((n: any) => n.address)).toEqual(ipJson<any[]>(['neigh', 'show', 'proxy'], 'cx').map((n) => n.dst));
  });

  it('rtnl fdb list -n NS --dev: as bridge fdb show', () => {
    const ours = json('fdb', 'list', '-n', 'cx', '--dev', 'vx0');
    const theirs = JSON.parse(execFileSync('bridge', ['-n', 'cx', '-json', 'fdb', 'show', 'dev', 'vx0'], { encoding: 'utf8' }));
    expect(ours.map((e: any) => [e.mac, e.dst, e.flags, e.state])).toEqual(theirs.map((e: any) => [e.mac, e.dst, e.flags, e.state]));
    expect(rtnl('fdb', 'list', '-n', 'cx', '--dev', 'vx0').stdout).toContain('00:00:00:00:00:00 dev vx0 dst 10.40.0.7 self permanent');
  });

  it('rtnl rule list -n NS (and -6): as ip rule', () => {
    const ours = json('rule', 'list', '-n', 'cx');
    expect(ours.map((r: any) => r.priority)).toEqual(ipJson<any[]>(['rule'], 'cx').map((r) => r.priority));
    expect(rtnl('rule', 'list', '-n', 'cx').stdout).toContain('10:\tfrom all fwmark 0x7 lookup 100');
    expect(rtnl('rule', 'list', '-n', 'cx', '-6').stdout).toContain('11:\tfrom fd40::/16 prohibit');
  });

  it('rtnl route get ADDR -n NS --mark: as ip route get', () => {
    const ours = json('route', 'get', '10.41.1.1', '-n', 'cx', '--mark', '7');
    const theirs = ipJson<any[]>(['route', 'get', '10.41.1.1', 'mark', '7'], 'cx')[0];
    expect(ours).toMatchObject({ to: theirs.dst, via: theirs.gateway, dev: theirs.dev, table: 100, mark: 7 });
    expect(rtnl('route', 'get', '10.41.1.1', '-n', 'cx', '--mark', '7').stdout.trim()).toBe('10.41.1.1 via 10.40.0.2 dev eth0 table 100 src 10.40.0.1 mark 7');
  });

  it('usage and input errors exit 2, kernel errors 1', () => {
    expect(rtnl('route', 'get').status).toBe(2);
    expect(rtnl('route', 'get', '10.0.0.0/8', '-n', 'cx').status).toBe(2);
    const unreachable = rtnl('route', 'get', '10.99.1.1', '-n', 'cx');
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr).toMatch(/ENETUNREACH/);
  });
});
