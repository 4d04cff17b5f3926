// Masquerade over nf_tables: checked with `nft -j` and with real traffic to a "wan" namespace
// inside the sandbox that has no route back to the containers' network.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');
const example = await import('../../examples/pb-and-jelly.js');

const nftRules = () => {
  const out = JSON.parse(execFileSync('nft', ['-j', 'list', 'ruleset'], { encoding: 'utf8' })).nftables as any[];
  return {
    tables: out.filter((o) => o.table).map((o) => o.table),
    chains: out.filter((o) => o.chain).map((o) => o.chain),
    rules: out.filter((o) => o.rule).map((o) => o.rule),
  };
};
const pingFrom = (netns: string, target: string) =>
  spawnSync('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '1', target], { encoding: 'utf8' });

describe.skipIf(!inSandbox)(`NAT masquerade${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeAll(async () => {
    resetSandbox();
    for (const h of await example.buildTutorial()) h.close();
    // The "wan": a namespace reachable from the host only, with no route to 192.168.0.0/24.
    const wan = await lib.createNamespace('wan');
    await lib.createVethPair({ name: 'wan0', up: true, peer: { name: 'uplink', netns: wan } });
    await lib.addAddress('wan0', '10.250.0.1/24');
    await wan.addAddress('uplink', '10.250.0.2/24');
    await wan.setLinkUp('uplink');
    await wan.setLinkUp('lo');
    wan.close();
    await lib.enableForwarding();
  });
  afterAll(() => resetSandbox());

  it('without the rule the wan cannot answer the containers', () => {
    expect(pingFrom('jelly', '10.250.0.2').status).not.toBe(0);
  });

  it('adds the rule in its own table, as nft sees it', async () => {
    const r = await lib.addMasquerade({ source: '192.168.0.60/24' });
    expect(r).toMatchObject({ added: true, family: 4, source: '192.168.0.0/24' });
    const { tables, chains, rules } = nftRules();
    expect(tables).toEqual([expect.objectContaining({ family: 'ip', name: 'rtnetlink' })]);
    expect(chains).toEqual([expect.objectContaining({ family: 'ip', table: 'rtnetlink', name: 'postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' })]);
    expect(rules).toHaveLength(1);
    const expr = JSON.stringify(rules[0].expr);
    expect(expr).toContain('"saddr"');
    expect(expr).toContain('"addr":"192.168.0.0","len":24');
    expect(expr).toContain('"masquerade"');
    expect(String(rules[0].handle)).toBe(r.handle);
  });

  it('is idempotent: adding again leaves one rule', async () => {
    const again = await lib.addMasquerade({ source: '192.168.0.0/24' });
    expect(again.added).toBe(false);
    expect(nftRules().rules).toHaveLength(1);
    expect(await lib.listMasquerades()).toEqual([{ family: 4, source: '192.168.0.0/24', handle: again.handle }]);
  });

  it('now the containers reach the wan: their source was rewritten', () => {
    const r = pingFrom('jelly', '10.250.0.2');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(pingFrom('pb', '10.250.0.2').status).toBe(0);
  });

  it('an outInterface rule is a second, distinct rule; removal takes exactly the one named', async () => {
    await lib.addMasquerade({ source: '192.168.0.0/24', outInterface: 'wan0' });
    expect((await lib.listMasquerades()).map((r) => r.outInterface ?? '-').sort()).toEqual(['-', 'wan0']);
    expect(await lib.removeMasquerade({ source: '192.168.0.0/24' })).toBe(true);
    expect(await lib.listMasquerades()).toEqual([expect.objectContaining({ outInterface: 'wan0' })]);
    expect(pingFrom('jelly', '10.250.0.2').status).toBe(0);
    expect(await lib.removeMasquerade({ source: '192.168.0.0/24', outInterface: 'wan0' })).toBe(true);
    expect(await lib.removeMasquerade({ source: '192.168.0.0/24', outInterface: 'wan0' })).toBe(false);
    expect(pingFrom('jelly', '10.250.0.2').status).not.toBe(0);
  });

  it('never touches tables other tools own', async () => {
    execFileSync('nft', ['add table ip theirs; add chain ip theirs post { type nat hook postrouting priority 100; }; add rule ip theirs post ip saddr 10.0.0.0/8 masquerade']);
    await lib.addMasquerade({ source: '192.168.0.0/24' });
    await lib.removeAllMasquerades();
    const { tables, rules } = nftRules();
    expect(tables.map((t) => t.name)).toEqual(['theirs']);
    expect(rules).toHaveLength(1);
    expect(await lib.listMasquerades()).toEqual([]);
  });

  it('works inside another namespace too', async () => {
    await lib.addMasquerade({ source: '10.1.0.0/16', netns: 'pb' });
    expect(await lib.listMasquerades({ netns: 'pb' })).toEqual([expect.objectContaining({ source: '10.1.0.0/16', netns: 'pb' })]);
    expect(await lib.listMasquerades()).toEqual([]);
    const inPb = JSON.parse(execFileSync('ip', ['netns', 'exec', 'pb', 'nft', '-j', 'list', 'ruleset'], { encoding: 'utf8' })).nftables;
    expect(inPb.filter((o: any) => o.rule)).toHaveLength(1);
  });

  it('rejects bad sources before any syscall', async () => {
    await expect(lib.addMasquerade({ source: '192.168.0.0' })).rejects.toMatchObject({ code: 'ERR_INVALID_PREFIX' });
    await expect(lib.addMasquerade({ source: '192.168.0.0/33' })).rejects.toMatchObject({ code: 'ERR_INVALID_PREFIX' });
    await expect(lib.addMasquerade({ source: '10.0.0.0/8', outInterface: 'a b' })).rejects.toMatchObject({ code: 'ERR_INVALID_IFNAME' });
  });
});
