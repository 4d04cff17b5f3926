// What apply adopts and what destroy removes: only what carries the topology's mark (its link
// group, on every link it creates and on the loopback of every namespace it creates). Each case
// sets up another application's objects with the plain API, as someone else would, and checks
// the kernel's state (ip -json) and real packets after apply, rollback and destroy.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, ipv4Of, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');

const link = (name: string, netns?: string) => ipJson<any[]>(['-d', 'link', 'show', name], netns)[0];
const hostLinks = () => ipJson<any[]>(['link', 'show']).map((l) => l.ifname).sort();
const ping = (netns: string, target: string) => spawnSync('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '2', target]).status;
const v4 = (name: string, netns?: string) => (link(name, netns) ? ipv4Of(name, netns).sort() : []);

/** Another application: bridge brA 10.60.0.1/24, namespace appA with veth0 (host) / eth0 on it. */
async function otherApplication(): Promise<void> {
  const a = await lib.createNamespace('appA');
  await lib.createBridge('brA', { up: true });
  await lib.addAddress('brA', '10.60.0.1/24');
  await lib.createVethPair({ name: 'veth0', up: true, master: 'brA', peer: { name: 'eth0', netns: a } });
  await a.addAddress('eth0', '10.60.0.2/24');
  await a.setLinkUp('eth0');
  await a.setLinkUp('lo');
  a.close();
  expect(ping('appA', '10.60.0.1')).toBe(0);
}

const specB = (hostName: string): lib.TopologySpec => ({
  bridges: [{ name: 'brB', addresses: ['10.61.0.1/24'] }],
  namespaces: [
    { name: 'b1', interfaces: [{ name: 'eth0', hostName: 'b1h', master: 'brB', addresses: ['10.61.0.2/24'] }] },
    { name: 'b2', interfaces: [{ name: 'eth0', hostName, master: 'brB', addresses: ['10.61.0.3/24'] }] },
  ],
});

describe.skipIf(!inSandbox)(`ownership: apply adopts and destroy removes only what is the topology's${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeEach(() => resetSandbox());
  afterEach(() => resetSandbox());

  it("a foreign veth named by the spec is refused with EEXIST naming it; it stays on its bridge, untagged, and destroy leaves it", async () => {
    await otherApplication();
    const err = await lib.applyTopology(specB('veth0')).catch((e) => e);
    expect(err).toBeInstanceOf(lib.TopologyError);
    const b2 = err.results.find((r: any) => r.item === 'b2');
    expect(b2.error).toMatchObject({ code: 'EEXIST', object: 'veth0' });
    expect(b2.error.message).toMatch(/exists in the host and is not from this topology/);
    // Rolled back, and A untouched: still on brA, group 0, traffic flowing.
    expect(readdirSync('/run/netns').sort()).toEqual(['appA']);
    expect(link('veth0')).toMatchObject({ master: 'brA', group: 'default' });
    expect(ping('appA', '10.60.0.1')).toBe(0);
    const removed = await lib.destroyTopology(specB('veth0'));
    expect(removed.notOurs).toContain('veth0');
    expect(link('veth0')).toMatchObject({ master: 'brA' });
    expect(ping('appA', '10.60.0.1')).toBe(0);
  });

  it('a bridge that existed before is used, never owned: not tagged, and destroy leaves it with its addresses', async () => {
    await otherApplication();
    const spec: lib.TopologySpec = {
      bridges: [{ name: 'brA', addresses: ['10.60.0.1/24'] }],
      namespaces: [{ name: 'c1', interfaces: [{ name: 'eth0', hostName: 'c1h', master: 'brA', addresses: ['10.60.0.7/24'] }] }],
    };
    const r = await lib.applyTopology(spec);
    expect(r.items.find((i) => i.item === 'bridge brA')).toMatchObject({ ok: true, action: 'used', existed: true });
    expect(r.items.find((i) => i.item === 'c1')).toMatchObject({ ok: true, action: 'created' });
    expect(link('brA').group).toBe('default');
    expect(link('c1h')).toMatchObject({ master: 'brA', group: String(lib.topologyGroup(spec)) });
    expect(ping('c1', '10.60.0.2')).toBe(0);
    const removed = await lib.destroyTopology(spec);
    expect(removed).toMatchObject({ deletedNamespaces: ['c1'], deletedLinks: ['c1h'] });
    expect(removed.notOurs).toContain('brA');
    expect(hostLinks()).toEqual(['brA', 'lo', 'veth0']);
    expect(v4('brA')).toEqual(['10.60.0.1/24']);
    expect(ping('appA', '10.60.0.1')).toBe(0);
  });

  it('destroy never deletes by name: a link the apply refused, and lo named as a bridge, stay', async () => {
    await lib.createVethPair({ name: 'wg0', peer: { name: 'wg1' } });
    const spec: lib.TopologySpec = { bridges: [{ name: 'wg0' }] };
    await expect(lib.applyTopology(spec)).rejects.toMatchObject({ results: [expect.objectContaining({ error: expect.objectContaining({ code: 'EEXIST', object: 'wg0' }) })] });
    const file = join(mkdtempSync(join(tmpdir(), 'rtnl-')), 'spec.json');
    writeFileSync(file, JSON.stringify(spec));
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', 'down', file], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    expect(hostLinks()).toEqual(['lo', 'wg0', 'wg1']);
    const lo = await lib.destroyTopology({ bridges: [{ name: 'lo' }] });
    expect(lo.notOurs).toEqual(['lo']);
    expect(lo.deletedLinks).toEqual([]);
  });

  it('a namespace that existed and is not the topology\'s is refused, and destroy leaves it', async () => {
    const foreign = await lib.createNamespace('b1');
    await foreign.setLinkUp('lo');
    foreign.close();
    const err = await lib.applyTopology(specB('b2h')).catch((e) => e);
    const b1 = err.results.find((r: any) => r.item === 'b1');
    expect(b1.error).toMatchObject({ code: 'EEXIST', object: 'netns b1' });
    expect(ipJson<any[]>(['link', 'show'], 'b1').map((l) => l.ifname)).toEqual(['lo']);
    expect(hostLinks()).toEqual(['lo']);
    const removed = await lib.destroyTopology(specB('b2h'));
    expect(removed.notOurs).toEqual(['netns b1']);
    expect(removed.missing).toEqual(['b2']);
    expect(readdirSync('/run/netns')).toEqual(['b1']);
  });

  it('applying again adopts what the earlier apply made (every item "adopted")', async () => {
    const spec = specB('b2h');
    const first = await lib.applyTopology(spec);
    expect(first.items.filter((i) => i.item !== 'host').map((i) => i.action)).toEqual(['created', 'created', 'created']);
    // Adopted, not made again: the same links (ifindex) and the same namespaces (nsfs inode).
    const identity = () => ({
      links: ['b1h', 'b2h', 'brB'].map((name) => link(name).ifindex),
      namespaces: ['b1', 'b2'].map((name) => statSync(`/run/netns/${name}`).ino),
    });
    const before = identity();
    const again = await lib.applyTopology(spec);
    expect(again.items.filter((i) => i.item !== 'host').map((i) => i.action)).toEqual(['adopted', 'adopted', 'adopted']);
    expect(identity()).toEqual(before);
    expect(ping('b1', '10.61.0.3')).toBe(0);
    const removed = await lib.destroyTopology(spec);
    expect(removed.deletedNamespaces.sort()).toEqual(['b1', 'b2']);
    expect(removed.deletedLinks.sort()).toEqual(['b1h', 'b2h', 'brB']);
    expect(hostLinks()).toEqual(['lo']);
    expect(readdirSync('/run/netns')).toEqual([]);
  });

  it("rollback puts back a sysctl it changed inside a namespace it adopted, and fails with the apply's TopologyError", async () => {
    const spec: lib.TopologySpec = {
      bridges: [{ name: 'brB', addresses: ['10.61.0.1/24'] }],
      namespaces: [{ name: 'c1', sysctls: { 'net.ipv4.ip_forward': 1 }, interfaces: [{ name: 'eth0', hostName: 'c1h', master: 'brB', addresses: ['10.61.0.2/24'] }] }],
    };
    await lib.applyTopology(spec);
    const forwarding = () => execFileSync('ip', ['netns', 'exec', 'c1', 'cat', '/proc/sys/net/ipv4/ip_forward'], { encoding: 'utf8' }).trim();
    expect(forwarding()).toBe('1');
    const failing = { ...spec, routes: [{ to: '10.70.0.0/16', via: '10.99.0.1' }] };
    const forwardingOff = () => execFileSync('ip', ['netns', 'exec', 'c1', 'sh', '-c', 'echo 0 > /proc/sys/net/ipv4/ip_forward']);
    // Without rollback: the failing apply does adopt c1 and turn forwarding on again inside it.
    forwardingOff();
    await expect(lib.applyTopology(failing, { rollback: false })).rejects.toBeInstanceOf(lib.TopologyError);
    expect(forwarding()).toBe('1');
    // With rollback (the default): the same, then it puts the value back.
    forwardingOff();
    const err = await lib.applyTopology(failing).catch((e) => e);
    expect(err).toBeInstanceOf(lib.TopologyError);
    expect(err.results.find((r: any) => r.item === 'host').error).toMatchObject({ code: 'ENETUNREACH' });
    expect(forwarding()).toBe('0');
  });

  it('rollback puts back what the failed apply changed, not only what it created', async () => {
    await otherApplication();
    const spec: lib.TopologySpec = {
      bridges: [{ name: 'brA', addresses: ['10.60.0.1/24', '10.62.0.1/24'] }, { name: 'brB', addresses: ['10.61.0.1/24'] }],
      namespaces: [{ name: 'c1', interfaces: [{ name: 'eth0', hostName: 'c1h', master: 'brB', addresses: ['10.61.0.2/24'] }] }],
      sysctls: { 'net.ipv4.ip_forward': 1 },
    };
    await lib.applyTopology(spec);
    // Since then: c1h was taken off its bridge and brought down; forwarding was turned off.
    await lib.setNoMaster('c1h');
    await lib.setLinkDown('c1h');
    await lib.setSysctl('net.ipv4.ip_forward', 0);
    execFileSync('ip', ['addr', 'del', '10.62.0.1/24', 'dev', 'brA']);
    // An apply that converges all that, then fails at its last step (the host route).
    const failing = { ...spec, routes: [{ to: '10.70.0.0/16', via: '10.99.0.1' }] };
    const err = await lib.applyTopology(failing).catch((e) => e);
    expect(err).toBeInstanceOf(lib.TopologyError);
    expect(err.results.find((r: any) => r.item === 'host').error).toMatchObject({ code: 'ENETUNREACH' });
    // Exactly as before the failed apply.
    expect(link('c1h').master).toBeUndefined();
    expect(link('c1h').flags).not.toContain('UP');
    expect(execFileSync('cat', ['/proc/sys/net/ipv4/ip_forward'], { encoding: 'utf8' }).trim()).toBe('0');
    expect(v4('brA')).toEqual(['10.60.0.1/24']);
    expect(readdirSync('/run/netns').sort()).toEqual(['appA', 'c1']);
    expect(ping('appA', '10.60.0.1')).toBe(0);
  });
});
