// Two hosts, one overlay (examples/two-hosts.ts): containers on host-a reach containers on
// host-b by ping and TCP through a vxlan whose flood entries name the other host. The test
// counts the encapsulated packets on host-b's underlay with an nft counter in a test-only
// table (UDP to 4789 carrying VNI 42, in the input hook where the vxlan socket receives
// them), and checks the underlay link's own counters; deleting the flood entry cuts the
// overlay, appending it again restores it.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import { installVxlanCounter, vxlanPackets as countVxlan } from '../helpers/overlay-counter.js';
import { tcpEcho } from '../helpers/tcp-echo.js';

const lib = await import('../../lib/index.js');
const example = await import('../../examples/two-hosts.js');

const ping = (ns: string, target: string, count = 1) => spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', String(count), '-i', '0.2', '-W', '1', target], { encoding: 'utf8' });

/** Packets counted by host-b's test-only counter of VNI-42 vxlan packets carrying IPv4. */
const vxlanPackets = (): number => countVxlan('host-b');

describe.skipIf(!inSandbox)(`two hosts, one vxlan overlay${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  let built: Awaited<ReturnType<typeof example.buildTwoHosts>>;

  beforeAll(async () => {
    resetSandbox();
    built = await example.buildTwoHosts();
    // Counts UDP to VXLAN_PORT carrying VNI and inner IPv4 (see test/helpers/overlay-counter.ts).
    installVxlanCounter('host-b', example.VXLAN_PORT, example.VNI);
  });
  afterAll(async () => {
    built?.close();
    await example.teardownTwoHosts();
    resetSandbox();
  });

  it('each host has its bridge, the vxlan on it with its flood entry, and its containers\' ports', async () => {
    for (const [name, other] of [['host-a', '192.168.100.2'], ['host-b', '192.168.100.1']]) {
      const links = await lib.listLinks({ netns: name });
      const vx = links.find((l) => l.name === 'flannel.1')!;
      expect(vx).toMatchObject({ kind: 'vxlan', master: 'cni0', up: true });
      expect(vx.detail).toMatchObject({ kind: 'vxlan', id: example.VNI, port: example.VXLAN_PORT, learning: false });
      const flood = await lib.listFdb({ netns: name, dev: 'flannel.1' });
      expect(flood.filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst)).toEqual([other]);
      const theirs = JSON.parse(execFileSync('bridge', ['-n', name, '-json', 'fdb', 'show', 'dev', 'flannel.1'], { encoding: 'utf8' }));
      expect(theirs.filter((e: any) => e.mac === '00:00:00:00:00:00').map((e: any) => e.dst)).toEqual([other]);
      const ports = (await lib.listBridgePorts('cni0', { netns: name })).map((p) => p.name).sort();
      expect(ports).toEqual(['flannel.1', ...example.HOSTS.find((h) => h.name === name)!.containers.map((c) => `veth-${c.name}`)].sort());
      expect(ipJson<any[]>(['-d', 'link', 'show', 'flannel.1'], name)[0].linkinfo.info_data).toMatchObject({ id: 42, local: example.HOSTS.find((h) => h.name === name)!.underlay, port: 4789 });
    }
  });

  it('containers on host-a ping the container on host-b, encapsulated across the underlay', async () => {
    const before = vxlanPackets();
    const underBefore = await lib.getLinkStats('underlay0', { netns: 'host-b' });
    for (const from of ['a1', 'a2']) expect(ping(from, '10.244.0.21', 3).status, from).toBe(0);
    const counted = vxlanPackets() - before;
    const under = await lib.getLinkStats('underlay0', { netns: 'host-b' });
    // 6 echo requests, each one a VNI-42 UDP packet into host-b carrying IPv4.
    expect(counted).toBeGreaterThanOrEqual(6);
    expect(under.rxPackets - underBefore.rxPackets).toBeGreaterThanOrEqual(counted);
    // And the packets are the size of an encapsulated 84-byte ping: 84 + 14 + 8 + 8 + 20.
    expect(under.rxBytes - underBefore.rxBytes).toBeGreaterThanOrEqual(6 * (84 + 50));
  });

  it('TCP from host-a\'s container to host-b\'s, through the overlay', async () => {
    const before = vxlanPackets();
    const b1 = built.containers.get('b1')!;
    const a1 = built.containers.get('a1')!;
    const { received, reply } = await tcpEcho(b1, a1, '10.244.0.21', 8080, 'hello across hosts');
    expect(received).toBe('hello across hosts');
    expect(reply).toBe('echo hello across hosts');
    // The handshake, data and teardown crossed as vxlan packets.
    expect(vxlanPackets() - before).toBeGreaterThanOrEqual(4);
  });

  it('the flood entry is the path: deleted, the overlay is cut; appended again, it is back', async () => {
    await lib.deleteFdb({ netns: 'host-a', mac: '00:00:00:00:00:00', dev: 'flannel.1', dst: '192.168.100.2' });
    const before = vxlanPackets();
    expect(ping('a1', '10.244.0.21', 2).status).not.toBe(0);
    expect(vxlanPackets() - before).toBe(0);
    await lib.appendFdb({ netns: 'host-a', mac: '00:00:00:00:00:00', dev: 'flannel.1', dst: '192.168.100.2' });
    expect(ping('a1', '10.244.0.21', 2).status).toBe(0);
    expect(vxlanPackets() - before).toBeGreaterThanOrEqual(2);
  });

  it('containers on the same host talk over the bridge, not the underlay', async () => {
    const before = vxlanPackets();
    expect(ping('a1', '10.244.0.12', 3).status).toBe(0);
    // (a1's ARP broadcast for a2 is flooded to the other host too, but it is not IPv4.)
    expect(vxlanPackets() - before).toBe(0);
  });
});
