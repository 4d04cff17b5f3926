// Links in detail: 64-bit counters, promiscuity, qdisc, alias, altnames, txqlen, the kind's own
// options (veth peer, bridge, macvlan, vxlan), setLink's txqlen/promisc/alias/arp, bridge
// port flags, bridge vlans and namespace ids; cross-checked with `ip -json -d -s link`,
// `bridge -json` and `ip -json netns list-id`.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');
type Namespace = import('../../lib/index.js').Namespace;

const ping = (ns: string, target: string, count = 1) => spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', String(count), '-i', '0.2', '-W', '1', target], { encoding: 'utf8' });
const bridgeJson = (ns: string, ...args: string[]) => JSON.parse(execFileSync('bridge', ['-n', ns, '-json', ...args], { encoding: 'utf8' }) || '[]');
const ipLink = (ns: string, dev: string) => ipJson<any[]>(['-d', '-s', 'link', 'show', dev], ns)[0];

describe.skipIf(!inSandbox)(`links in detail${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  let a: Namespace;
  let b: Namespace;

  beforeAll(async () => {
    resetSandbox();
    a = await lib.createNamespace('la');
    b = await lib.createNamespace('lb');
    await a.createVethPair({ name: 'eth0', up: true, peer: { name: 'eth0', netns: b } });
    await b.setLinkUp('eth0');
    await a.addAddress('eth0', '10.30.0.1/24');
    await b.addAddress('eth0', '10.30.0.2/24');
  });
  afterAll(() => {
    a?.close();
    b?.close();
    resetSandbox();
  });

  it("a veth's result gives the peer's index even when it equals this end's (two namespaces number their links apart)", async () => {
    const c = await lib.createNamespace('lc');
    const d = await lib.createNamespace('ld');
    try {
      // Each new namespace holds only lo (1): both ends get index 2, each in its own namespace.
      const veth = await c.createVethPair({ name: 'p0', peer: { name: 'q0', netns: d } });
      expect(veth.index).toBe(ipLink('lc', 'p0').ifindex);
      expect(veth.peer.index).toBe(ipLink('ld', 'q0').ifindex);
      expect(veth.peer.index).toBe(veth.index);
      // Listed, the link names its peer there by the same index, as the kernel reports it to ip.
      const listed = (await c.listLinks()).find((l) => l.name === 'p0')!;
      expect(listed).toMatchObject({ linkIndex: veth.peer.index, linkNetnsId: expect.any(Number) });
      const seen = ipLink('lc', 'p0');
      expect(listed).toMatchObject({ linkIndex: seen.link_index, linkNetnsId: seen.link_netnsid });
    } finally {
      c.close();
      d.close();
      await lib.deleteNamespace('lc');
      await lib.deleteNamespace('ld');
    }
  });

  it('64-bit counters grow with the packets sent, and match ip -s', async () => {
    const before = await a.getLinkStats('eth0');
    expect(ping('la', '10.30.0.2', 5).status).toBe(0);
    const after = await a.getLinkStats('eth0');
    expect(after.txPackets - before.txPackets).toBeGreaterThanOrEqual(5);
    expect(after.rxPackets - before.rxPackets).toBeGreaterThanOrEqual(5);
    expect(after.txBytes - before.txBytes).toBeGreaterThanOrEqual(5 * 98);
    const ip = ipLink('la', 'eth0').stats64;
    // ip reads a moment later: at least ours, and (IPv6 chatter aside) close.
    expect(ip.tx.packets).toBeGreaterThanOrEqual(after.txPackets);
    expect(ip.tx.packets - after.txPackets).toBeLessThan(5);
    expect(ip.rx.bytes).toBeGreaterThanOrEqual(after.rxBytes);
    expect((await a.getLink('eth0')).stats).toMatchObject({ txErrors: 0, rxErrors: 0, collisions: 0 });
  });

  it('setLink: txqlen, promisc, alias and arp off, as ip shows them, and back', async () => {
    await a.setLink('eth0', { txqlen: 500, promisc: true, alias: 'uplink to lb', arp: false });
    const mine = await a.getLink('eth0');
    const ip = ipLink('la', 'eth0');
    expect(mine).toMatchObject({ txqlen: 500, alias: 'uplink to lb', promiscuity: ip.promiscuity, qdisc: ip.qdisc });
    expect(ip).toMatchObject({ txqlen: 500, ifalias: 'uplink to lb' });
    expect(mine.flags).toEqual(expect.arrayContaining(['PROMISC', 'NOARP']));
    expect(ip.flags).toEqual(expect.arrayContaining(['PROMISC', 'NOARP']));
    expect(ip.promiscuity).toBe(1);
    await lib.setLink('eth0', { promisc: false, arp: true, alias: '' }, { netns: 'la' });
    const back = ipLink('la', 'eth0');
    expect(back.flags).not.toContain('PROMISC');
    expect(back.flags).not.toContain('NOARP');
    expect(back.ifalias).toBeUndefined();
    expect((await a.getLink('eth0')).alias).toBeUndefined();
  });

  it('altnames (IFLA_PROP_LIST): added, read, found by, removed, as ip shows them', async () => {
    execFileSync('ip', ['-n', 'la', 'link', 'property', 'add', 'dev', 'eth0', 'altname', 'backbone0']);
    await a.addAltName('eth0', 'uplink');
    expect((await a.getLink('eth0')).altNames).toEqual(ipLink('la', 'eth0').altnames);
    expect((await a.listLinks()).find((l) => l.name === 'eth0')?.altNames).toEqual(['backbone0', 'uplink']);
    expect((await a.getLink('uplink')).name).toBe('eth0'); // the kernel resolves altnames in IFLA_IFNAME too
    await expect(a.addAltName('lo', 'uplink')).rejects.toMatchObject({ code: 'EEXIST', operation: 'RTM_NEWLINKPROP' });
    await lib.deleteAltName('eth0', 'backbone0', { netns: 'la' });
    expect(ipLink('la', 'eth0').altnames).toEqual(['uplink']);
  });

  it('veth detail: the peer, by index and by the nsid its namespace has here', async () => {
    // Creating the peer inside lb gave lb an nsid in la (the kernel assigns one for the link).
    const nsid = await a.getNsid('lb');
    expect(nsid).toBeTypeOf('number');
    const d = (await a.getLink('eth0')).detail;
    const ip = ipLink('la', 'eth0');
    expect(d).toEqual({ kind: 'veth', peerIndex: ip.link_index, peerNetnsId: nsid });
    expect(ip.link_netnsid).toBe(nsid);
  });

  it('bridge detail: stp, vlan filtering, forward delay, hello, max age, ageing, priority', async () => {
    await a.createBridge('br0', { stp: true, forwardDelay: 400 });
    const d = (await a.getLink('br0')).detail;
    const info = ipLink('la', 'br0').linkinfo.info_data;
    expect(d).toMatchObject({ kind: 'bridge', stp: true, forwardDelay: 400 });
    // Both in centiseconds, as the kernel keeps them.
    expect([d?.kind === 'bridge' && d.stp, d?.kind === 'bridge' && d.vlanFiltering, (d as any).forwardDelay, (d as any).helloTime, (d as any).maxAge, (d as any).ageingTime, (d as any).priority]).toEqual([
      info.stp_state === 1, info.vlan_filtering === 1, info.forward_delay, info.hello_time, info.max_age, info.ageing_time, info.priority,
    ]);
  });

  it('setBridge changes stp, forward delay, ageing and priority, as ip shows them; vlan filtering as this kernel allows', async () => {
    await a.setBridge('br0', { stp: false, forwardDelay: 1000, ageingTime: 6000, priority: 4096 });
    expect((await a.getLink('br0')).detail).toMatchObject({ kind: 'bridge', stp: false, forwardDelay: 1000, ageingTime: 6000, priority: 4096 });
    expect(ipLink('la', 'br0').linkinfo.info_data).toMatchObject({ stp_state: 0, forward_delay: 1000, ageing_time: 6000, priority: 4096 });
    const probe = spawnSync('ip', ['-n', 'la', 'link', 'set', 'br0', 'type', 'bridge', 'vlan_filtering', '1'], { encoding: 'utf8' });
    if (probe.status === 0) {
      await a.setBridge('br0', { vlanFiltering: false });
      expect(ipLink('la', 'br0').linkinfo.info_data.vlan_filtering).toBe(0);
    } else {
      await expect(a.setBridge('br0', { vlanFiltering: true })).rejects.toMatchObject({ code: 'ENOTSUP', operation: 'RTM_NEWLINK' });
    }
    await expect(a.setBridge('eth0', { stp: true })).rejects.toMatchObject({ code: 'ERR_NOT_A_BRIDGE', field: 'bridge' });
  });

  it('macvlan detail: the mode', async () => {
    await a.createMacvlan('mv0', { parent: 'eth0', mode: 'private' });
    expect((await a.getLink('mv0')).detail).toEqual({ kind: 'macvlan', mode: 'private' });
    expect(ipLink('la', 'mv0').linkinfo.info_data.mode).toBe('private');
  });

  it('vxlan with remote, local, ttl and port: created, and read back as ip reads it', async () => {
    await a.createVxlan('vx0', { id: 4242, remote: '10.30.0.2', local: '10.30.0.1', ttl: 16, port: 8472, dev: 'eth0', learning: false });
    await a.createVxlan('vx1', { id: 7, multicastGroup: '239.1.1.7', dev: 'eth0' });
    const d0 = (await a.getLink('vx0')).detail;
    const d1 = (await a.getLink('vx1')).detail;
    const i0 = ipLink('la', 'vx0').linkinfo.info_data;
    const i1 = ipLink('la', 'vx1').linkinfo.info_data;
    const eth0 = (await a.getLink('eth0')).index;
    expect(d0).toEqual({ kind: 'vxlan', id: 4242, remote: '10.30.0.2', local: '10.30.0.1', ttl: 16, port: 8472, learning: false, devIndex: eth0 });
    expect(i0).toMatchObject({ id: 4242, remote: '10.30.0.2', local: '10.30.0.1', ttl: 16, port: 8472, learning: false, link: 'eth0' });
    expect(d1).toMatchObject({ kind: 'vxlan', id: 7, group: '239.1.1.7', port: 4789 });
    expect(i1).toMatchObject({ id: 7, group: '239.1.1.7', port: 4789 });
  });

  it('bridge port flags: hairpin, isolated, learning, flood, as bridge shows them', async () => {
    await a.createBridge('br1', { up: true });
    await a.createVethPair({ name: 'p1', master: 'br1', up: true, peer: { name: 'p1x' } });
    await a.setBridgePort('p1', { hairpin: true, isolated: true, learning: false, flood: false, cost: 7 });
    const [port] = await a.listBridgePorts('br1');
    const theirs = bridgeJson('la', '-d', 'link', 'show', 'dev', 'p1')[0];
    expect(port).toMatchObject({ name: 'p1', hairpin: true, isolated: true, learning: false, flood: false, cost: 7 });
    for (const [k, t] of [['hairpin', 'hairpin'], ['isolated', 'isolated'], ['learning', 'learning'], ['flood', 'flood'], ['mcastFlood', 'mcast_flood'], ['bcastFlood', 'bcast_flood'], ['neighSuppress', 'neigh_suppress'], ['cost', 'cost'], ['priority', 'priority']] as const) {
      expect(port![k], k).toBe(theirs[t]);
    }
    await a.setBridgePort('p1', { hairpin: false, learning: true });
    expect(bridgeJson('la', '-d', 'link', 'show', 'dev', 'p1')[0]).toMatchObject({ hairpin: false, learning: true, isolated: true });
    await expect(a.setBridgePort('eth0', { hairpin: true })).rejects.toMatchObject({ code: 'ENOTSUP' });
  });

  it('bridge vlans: what bridge(8) can do on this kernel, the library does too', async () => {
    // Kernels without CONFIG_BRIDGE_VLAN_FILTERING refuse vlans (EOPNOTSUPP) to bridge(8) and to
    // us alike; with it, pvid and untagged are read back as bridge shows them.
    const probe = spawnSync('bridge', ['-n', 'la', 'vlan', 'add', 'dev', 'p1', 'vid', '99'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      expect(probe.stderr).toMatch(/not supported/i);
      await expect(a.addBridgeVlan('p1', { vid: 10, pvid: true, untagged: true })).rejects.toMatchObject({ code: 'ENOTSUP', operation: 'RTM_SETLINK' });
      expect(await a.listBridgeVlans()).toEqual(bridgeJson('la', 'vlan', 'show'));
      return;
    }
    await a.addBridgeVlan('p1', { vid: 10, pvid: true, untagged: true });
    await a.addBridgeVlan('p1', { vid: 20 });
    const ours = (await a.listBridgeVlans()).find((p) => p.dev === 'p1')!;
    const theirs = bridgeJson('la', 'vlan', 'show').find((p: any) => p.ifname === 'p1');
    expect(ours.vlans.map((v) => [v.vid, v.pvid, v.untagged])).toEqual(theirs.vlans.map((v: any) => [v.vlan, (v.flags ?? []).includes('PVID'), (v.flags ?? []).includes('Egress Untagged')]));
    await a.deleteBridgeVlan('p1', { vid: 20 });
    expect((await a.listBridgeVlans()).find((p) => p.dev === 'p1')!.vlans.some((v) => v.vid === 20)).toBe(false);
    // bridge(8) sees the deletion too.
    const after = bridgeJson('la', 'vlan', 'show').find((p: any) => p.ifname === 'p1');
    expect(after.vlans.some((v: any) => v.vlan === 20)).toBe(false);
  });

  it('namespace ids: set, get, list, as ip netns list-id shows them', async () => {
    await lib.createNamespace('lc').then((h) => h.close());
    await lib.setNsid('lc', 9);
    expect(await lib.getNsid('lc')).toBe(9);
    expect(await lib.getNsid('lb')).toBeUndefined(); // the sandbox's own namespace never named lb
    const ours = await lib.listNsids();
    expect(ours).toEqual(ipJson<any[]>(['netns', 'list-id']).map((e) => ({ nsid: e.nsid, ...(e.name ? { name: e.name } : {}) })));
    expect(ours).toContainEqual({ nsid: 9, name: 'lc' });
    expect(await a.listNsids()).toContainEqual({ nsid: (await a.getNsid('lb'))!, name: 'lb', netns: 'la' });
    await expect(lib.setNsid('lc', 10)).rejects.toMatchObject({ code: 'EEXIST', operation: 'RTM_NEWNSID' });
  });

  describe('bad input: a clear error naming the field, before any syscall', () => {
    const cases: [string, () => Promise<unknown>, string, string][] = [
      ['setLink alias of 128 bytes', () => lib.setLink('eth0', { alias: 'x'.repeat(128) }, { netns: 'la' }), 'ERR_INVALID_ARG_VALUE', 'changes.alias'],
      ["setLink with ip's word txqueuelen", () => lib.setLink('eth0', { txqueuelen: 5 } as never, { netns: 'la' }), 'ERR_UNKNOWN_OPTION', 'changes.txqueuelen'],
      ['vxlan with remote and group', () => lib.createVxlan('vx9', { netns: 'la', id: 1, remote: '10.0.0.1', multicastGroup: '239.0.0.1' }), 'ERR_INVALID_ARG_VALUE', 'multicastGroup'],
      ['vxlan remote that is multicast', () => lib.createVxlan('vx9', { netns: 'la', id: 1, remote: '239.0.0.1' }), 'ERR_INVALID_ADDRESS', 'remote'],
      ['vxlan local of the other family', () => lib.createVxlan('vx9', { netns: 'la', id: 1, remote: '10.0.0.1', local: 'fd00::1' }), 'ERR_INVALID_ADDRESS', 'local'],
      ['vxlan ttl 256', () => lib.createVxlan('vx9', { netns: 'la', id: 1, ttl: 256 }), 'ERR_INVALID_ARG_VALUE', 'ttl'],
      ['bridge port priority 64', () => lib.setBridgePort('p1', { netns: 'la', priority: 64 }), 'ERR_INVALID_ARG_VALUE', 'priority'],
      ['bridge port with nothing to change', () => lib.setBridgePort('p1', { netns: 'la' }), 'ERR_INVALID_ARG_VALUE', 'options'],
      ['bridge vlan 4095', () => lib.addBridgeVlan('p1', { netns: 'la', vid: 4095 }), 'ERR_INVALID_VLAN', 'vid'],
      ['nsid -2', () => lib.setNsid('lb', -2), 'ERR_INVALID_NSID', 'nsid'],
      ['setBridge with nothing to change', () => lib.setBridge('br0', { netns: 'la' }), 'ERR_INVALID_ARG_VALUE', 'options'],
      ["setBridge with ip's word stp_state", () => lib.setBridge('br0', { netns: 'la', stp_state: 1 } as never), 'ERR_UNKNOWN_OPTION', 'stp_state'],
      ['altname that is no interface name', () => lib.addAltName('eth0', 'a b', { netns: 'la' }), 'ERR_INVALID_IFNAME', 'name'],
      ['nsid of a namespace that is not one', () => lib.getNsid(42 as never), 'ERR_INVALID_ARG_TYPE', 'target'],
    ];
    it.each(cases)('%s', async (_, call, code, field) => {
      await expect(call()).rejects.toMatchObject({ code, field });
    });
    it('created nothing', () => {
      expect(ipJson<any[]>(['link', 'show'], 'la').map((l) => l.ifname)).not.toContain('vx9');
    });
  });
});
