// The bulk path: applyTopology / destroyTopology against the real kernel.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { inSandbox, ipJson, ipv4Of, linkIsUp, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');
const { native } = await import('../../lib/native.js');
const { workload, containerAddress } = await import('../../benchmarks/lib/workload.js');

const hostLinks = () => ipJson<any[]>(['link', 'show']).map((l) => l.ifname).sort();

function expectW(n: number): void {
  expect(readdirSync('/run/netns').sort()).toEqual(Array.from({ length: n }, (_, i) => `c${i + 1}`).sort());
  const links = new Map(ipJson<any[]>(['link', 'show']).map((l) => [l.ifname, l]));
  expect(links.get('br0').flags).toContain('UP');
  for (let i = 1; i <= n; i++) {
    expect(links.get(`h${i}`)).toMatchObject({ master: 'br0' });
    expect(links.get(`h${i}`).flags).toContain('UP');
    const inside = ipJson<any[]>(['addr', 'show'], `c${i}`);
    expect(inside.map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
    for (const l of inside) expect(l.flags).toContain('UP');
    expect(ipv4Of('eth0', `c${i}`)).toEqual([containerAddress(i)]);
    expect(ipJson<any[]>(['route'], `c${i}`)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.200.0.1', dev: 'eth0' }));
  }
}

describe.skipIf(!inSandbox)(`topology apply/destroy${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeEach(() => resetSandbox());
  afterEach(() => {
    vi.restoreAllMocks();
    resetSandbox();
  });

  it('builds W(20) exactly, reports progress, converges when applied again, and destroys until clean', async () => {
    const spec = workload(20);
    const progress: number[] = [];
    const r = await lib.applyTopology(spec, { progress: (p) => progress.push(p.done) });
    expect(r.items.every((i) => i.ok)).toBe(true);
    expect(progress).toEqual(Array.from({ length: 22 }, (_, i) => i + 1));
    expectW(20);
    const again = await lib.applyTopology(spec);
    expect(again.items.filter((i) => i.item.startsWith('c')).every((i) => i.existed)).toBe(true);
    expectW(20);
    await lib.destroyTopology(spec);
    // Resolved only when the kernel has really removed the links: nothing left, at once.
    expect(hostLinks()).toEqual(['lo']);
    expect(readdirSync('/run/netns')).toEqual([]);
  });

  it('tags host links with the link group so teardown is one message', async () => {
    const spec = { ...workload(3), group: 4242 };
    await lib.applyTopology(spec);
    const groups = ipJson<any[]>(['-d', 'link', 'show']).filter((l) => l.ifname !== 'lo').map((l) => l.group);
    expect(groups).toEqual(['4242', '4242', '4242', '4242']);
    await lib.deleteLinkGroup(4242);
    expect(hostLinks()).toEqual(['lo']);
  });

  it('on failure rolls back what it created, keeps what existed, and says which item failed', async () => {
    (await lib.createNamespace('c1')).close(); // not the topology's: in the way, left alone
    await lib.createBridge('h3'); // a host name the spec wants for a veth: a real conflict
    const err = await lib.applyTopology(workload(5)).catch((e) => e);
    expect(err).toBeInstanceOf(lib.TopologyError);
    expect(err.code).toBe('ERR_TOPOLOGY_APPLY');
    const failed = err.results.filter((r: any) => !r.ok);
    expect(failed.map((r: any) => r.item).sort()).toEqual(['c1', 'c3']);
    expect(failed.every((r: any) => r.error.code === 'EEXIST')).toBe(true);
    expect(failed.find((r: any) => r.item === 'c1').error.message).toMatch(/netns c1.*not made by this topology/);
    expect(failed.find((r: any) => r.item === 'c3').error.message).toMatch(/'h3'.*not from this topology \(a bridge/);
    expect(readdirSync('/run/netns')).toEqual(['c1']);
    expect(ipJson<any[]>(['link', 'show'], 'c1').map((l) => l.ifname)).toEqual(['lo']);
    expect(hostLinks()).toEqual(['h3', 'lo']);
  });

  it('rollback: false leaves the partial state for inspection', async () => {
    await lib.createBridge('h2');
    await expect(lib.applyTopology(workload(3), { rollback: false })).rejects.toBeInstanceOf(lib.TopologyError);
    expect(readdirSync('/run/netns').sort()).toEqual(['c1', 'c2', 'c3']);
  });

  it('stops cleanly when aborted, and rolls back', async () => {
    const ac = new AbortController();
    const spec = workload(40);
    const err = await lib
      .applyTopology(spec, { concurrency: 4, signal: ac.signal, progress: (p) => p.done === 5 && ac.abort() })
      .catch((e) => e);
    expect(err.name).toBe('AbortError');
    expect(readdirSync('/run/netns')).toEqual([]);
    expect(hostLinks()).toEqual(['lo']);
  });

  it('rejects a bridge over 1023 ports before any syscall', async () => {
    const transact = vi.spyOn(native, 'transact');
    const create = vi.spyOn(native, 'createNamedNetns');
    const provision = vi.spyOn(native, 'provisionNetns');
    expect(() => lib.validateTopology(workload(1024))).toThrow(expect.objectContaining({ code: 'ERR_TOPOLOGY_BRIDGE_FULL' }));
    await expect(lib.applyTopology(workload(1024))).rejects.toMatchObject({ code: 'ERR_TOPOLOGY_BRIDGE_FULL', name: 'RangeError' });
    await expect(lib.applyTopology({ namespaces: [{ name: '../x' }] })).rejects.toMatchObject({ code: 'ERR_INVALID_NETNS_NAME' });
    expect(transact).not.toHaveBeenCalled();
    expect(create).not.toHaveBeenCalled();
    expect(provision).not.toHaveBeenCalled();
  });

  it('provisions fresh namespaces in a few addon jobs, phase by phase, with no per-namespace round trips', async () => {
    const provision = vi.spyOn(native, 'provisionNetns');
    const create = vi.spyOn(native, 'createNamedNetns');
    const transact = vi.spyOn(native, 'transact');
    // Apply hands the event loop back every few ms, so how many namespaces share a job depends
    // on the CPU's speed (under load, more and smaller jobs). With the clock held still, every
    // start falls in one slice and the job sizes are the library's alone. (The library's clock,
    // lib/clock.ts, reads process.hrtime; its bigint form is left as it is.)
    const realHrtime = process.hrtime;
    process.hrtime = Object.assign((): [number, number] => [0, 0], { bigint: realHrtime.bigint });
    try {
      await lib.applyTopology(workload(30));
    } finally {
      process.hrtime = realHrtime;
    }
    expectW(30);
    // Jobs grow through the burst: 30 namespaces in four jobs.
    expect(provision.mock.calls.map((c) => c[1].length)).toEqual([4, 8, 16, 2]);
    expect(create).not.toHaveBeenCalled();
    // Only the bridge went through the connection's worker path.
    expect(transact.mock.calls.length).toBeLessThanOrEqual(2);
  });

  it('reports a request refused inside a fresh namespace with its operation, and rolls back', async () => {
    const spec = workload(3);
    spec.namespaces![1]!.routes = [{ to: '10.9.0.0/16', via: '10.77.0.1' }];
    const err = await lib.applyTopology(spec).catch((e) => e);
    expect(err).toBeInstanceOf(lib.TopologyError);
    const failed = err.results.filter((r: any) => !r.ok);
    expect(failed.map((r: any) => r.item)).toEqual(['c2']);
    expect(failed[0].error).toMatchObject({ code: 'ENETUNREACH', operation: 'RTM_NEWROUTE' });
    expect(readdirSync('/run/netns')).toEqual([]);
    expect(hostLinks()).toEqual(['lo']);
  });

  it('bulk-path errors name the object, its namespace and the operation', async () => {
    // A request refused inside a fresh namespace.
    const spec = workload(3);
    spec.namespaces![1]!.routes = [{ to: '10.9.0.0/16', via: '10.77.0.1' }];
    const refused = (await lib.applyTopology(spec).catch((e) => e)).results.find((r: any) => !r.ok).error;
    expect(refused).toMatchObject({ code: 'ENETUNREACH', operation: 'RTM_NEWROUTE', object: '10.9.0.0/16 via 10.77.0.1 in netns c2' });

    // The master bridge vanishing mid-apply: the veth create names both ends and the bridge.
    const vanishing = await lib
      .applyTopology(workload(4), { progress: (p) => p.item === 'bridge br0' && execFileSync('ip', ['link', 'del', 'br0']) })
      .catch((e) => e);
    const first = vanishing.results.find((r: any) => !r.ok).error;
    expect(first.operation).toBe('RTM_NEWLINK');
    expect(first.object).toMatch(/^h\d \(veth to eth0 in netns c\d, on bridge br0\)$/);
    expect(readdirSync('/run/netns')).toEqual([]);

    // An interface name taken inside a namespace of the topology: the inside end is named.
    await lib.applyTopology(workload(2));
    await lib.createVethPair({ name: 'eth1', peer: { name: 'x1' }, netns: 'c1' });
    const more = workload(2);
    more.namespaces![0]!.interfaces!.push({ name: 'eth1', hostName: 'h1b', master: 'br0' });
    const taken = (await lib.applyTopology(more).catch((e) => e)).results.find((r: any) => !r.ok).error;
    expect(taken).toMatchObject({ code: 'EEXIST', object: 'eth1 in netns c1' });
    expect(hostLinks()).not.toContain('h1b');
  });

  it('ipv6: false turns IPv6 off inside before the links come up', async () => {
    await lib.applyTopology(workload(2, { ipv6: false }));
    for (const ns of ['c1', 'c2']) {
      const eth0 = ipJson<any[]>(['addr', 'show', 'eth0'], ns)[0];
      expect(eth0.addr_info.filter((a: any) => a.family === 'inet6')).toEqual([]);
      expect(await lib.getSysctl('net.ipv6.conf.eth0.disable_ipv6', { netns: ns })).toBe('1');
    }
  });

  it('anonymous namespaces: no run-dir file, alive while the result holds them, gone after destroy', async () => {
    const spec = workload(3);
    for (const n of spec.namespaces!) n.anonymous = true;
    const r = await lib.applyTopology(spec);
    expect(readdirSync('/run/netns')).toEqual([]);
    expect(r.namespaces.size).toBe(3);
    expect(await r.namespaces.get('c2')!.listAddresses({ family: 4, link: 'eth0' })).toEqual([expect.objectContaining({ link: 'eth0', cidr: containerAddress(2) })]);
    expect(hostLinks()).toEqual(['br0', 'h1', 'h2', 'h3', 'lo']);
    await lib.destroyTopology(r);
    expect(hostLinks()).toEqual(['lo']);
    expect(existsSync('/run/netns/c1')).toBe(false);
  });

  it('batch(): calls share a sendmsg and each gets its own result', async () => {
    const b0 = (await lib.createBridge('b0')).index!;
    const transact = vi.spyOn(native, 'transact');
    const inline = vi.spyOn(native, 'transactInline');
    const results = await lib.batch([
      () => lib.setLinkUp(b0),
      () => lib.addAddress(b0, '10.7.0.1/24'),
      () => lib.addAddress(b0, '10.7.0.1/24'), // EEXIST: fails alone
      () => lib.addAddress(b0, '10.8.0.1/24'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason.code).toBe('EEXIST');
    // Four small requests: one exchange on the JS thread, all four messages in its send().
    expect(transact).not.toHaveBeenCalled();
    expect(inline).toHaveBeenCalledTimes(1);
    expect(inline.mock.calls[0]![3]).toBe(4);
    expect(ipv4Of('b0')).toEqual(['10.7.0.1/24', '10.8.0.1/24']);
    expect(linkIsUp('b0')).toBe(true);
  });

  it('calls made in one tick reach the kernel in call order (add, delete, add of one address)', async () => {
    const b0 = (await lib.createBridge('b0')).index!;
    const ops = Array.from({ length: 64 }, (_, k) => (k % 2 ? lib.deleteAddress(b0, '10.7.0.1/24') : lib.addAddress(b0, '10.7.0.1/24')));
    const results = await Promise.allSettled(ops);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(ipv4Of('b0')).toEqual([]);
  });
});
