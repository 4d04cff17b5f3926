// watch(): events against the real kernel, checked against fresh dumps (the public list
// functions) and `ip -json`: the current state first, changes as they happen, the kernel's
// silent flushes, every namespace through one socket, overruns and their resync.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inSandbox, ip, ipJson, openFds, resetSandbox, sandboxSkipReason, settled } from '../helpers/sandbox.js';
import { Consumer } from '../helpers/watch-consumer.js';
import { expectError } from '../helpers/expect-error.js';

const lib = await import('../../lib/index.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watch options are checked before anything is opened', () => {
  it('unknown keys, conflicting and empty selections, bad values', () => {
    const before = openFds().size;
    expectError(() => lib.watch({ neighbors: true } as never), lib.ArgumentError, 'ERR_UNKNOWN_OPTION', 'neighbors');
    expect(() => lib.watch({ neighbors: true } as never)).toThrow(/did you mean "neighbours"/);
    expectError(() => lib.watch({ allNamespaces: true, netns: 'pb' }), lib.ArgumentError, 'ERR_INVALID_ARG_VALUE', 'allNamespaces');
    expectError(() => lib.watch({ links: false }), lib.ArgumentError, 'ERR_INVALID_ARG_VALUE', 'links');
    expectError(() => lib.watch({ receiveBuffer: 10 }), lib.ArgumentRangeError, 'ERR_INVALID_ARG_VALUE', 'receiveBuffer');
    expectError(() => lib.watch({ listExisting: 'yes' } as never), lib.ArgumentError, 'ERR_INVALID_ARG_TYPE', 'listExisting');
    expectError(() => lib.watch({ netns: 'a/b' }), lib.ArgumentError, 'ERR_INVALID_NETNS_NAME', 'netns');
    expect(() => lib.waitFor(42 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', field: 'predicate' }));
    expectError(() => lib.waitFor(() => true, { listExisting: true } as never), lib.ArgumentError, 'ERR_UNKNOWN_OPTION', 'listExisting');
    expect(openFds().size).toBe(before);
  });

  it('the wait helpers refuse bad arguments (rejecting, as promises)', async () => {
    await expect(lib.waitForLinkState('eth0', 'running' as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', field: 'state' });
    await expect(lib.waitForAddress('eth0', '10.0.0.300')).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS', field: 'address' });
    await expect(lib.waitForAddress('eth0', '10.0.0.1', { dad: false } as never)).rejects.toMatchObject({ code: 'ERR_UNKNOWN_OPTION', field: 'dad' });
    await expect(lib.waitForLinksGone(['x'], { timeout: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', field: 'timeout' });
  });
});

describe.skipIf(!inSandbox)(`watch, one namespace${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeEach(() => resetSandbox());
  afterAll(() => resetSandbox());

  it('listExisting: the current state as "added" events, then "synced"; the same as a dump and as ip -json', async () => {
    await lib.createBridge('br0', { up: true });
    await lib.addAddress('br0', '10.1.0.1/24');
    await lib.addRoute({ to: '10.2.0.0/16', via: '10.1.0.2' });
    await lib.addRoute({ to: '10.3.0.0/16', dev: 'br0', table: 100 });
    const c = new Consumer(lib.watch({ listExisting: true }));
    try {
      await c.event((e) => e.type === 'synced');
      const synced = c.events.findIndex((e) => e.type === 'synced');
      expect(c.events.slice(0, synced).every((e) => e.type === 'added')).toBe(true);
      expect(c.events.slice(synced + 1)).toEqual([]);
      expect(await c.differencesFromDump([undefined])).toEqual([]);
      expect(c.state.links().map((l) => l.name).sort()).toEqual(ipJson<{ ifname: string }[]>(['link', 'show']).map((l) => l.ifname).sort());
      const v4 = ipJson<{ dst: string; table?: string }[]>(['-4', 'route', 'show', 'table', 'all']);
      expect(c.state.routes().filter((r) => r.family === 4)).toHaveLength(v4.length);
      expect(c.state.routes()).toContainEqual(expect.objectContaining({ to: '10.3.0.0/16', table: 100, dev: 'br0' }));
    } finally {
      c.watcher.close();
      await c.done;
    }
  });

  it('without listExisting only changes are reported (after "synced"), and they follow the kernel', async () => {
    await lib.createBridge('old0', { up: true });
    const c = new Consumer(lib.watch({}));
    try {
      await c.event((e) => e.type === 'synced');
      expect(c.events).toEqual([{ type: 'synced' }]);
      await lib.createBridge('br0', { up: true });
      const added = (await c.event((e) => e.type === 'added' && e.kind === 'link' && e.object.name === 'br0')) as lib.ObjectEvent;
      expect(added).toMatchObject({ kind: 'link', key: String((await lib.getLink('br0')).index) });
      expect(added.netns).toBeUndefined();
      await lib.addAddress('br0', '10.9.0.1/24');
      await c.event((e) => e.type === 'added' && e.kind === 'address' && e.object.cidr === '10.9.0.1/24');
      await c.event((e) => e.type === 'added' && e.kind === 'route' && e.object.to === '10.9.0.0/24');
      await lib.deleteAddress('br0', '10.9.0.1/24');
      await c.event((e) => e.type === 'removed' && e.kind === 'address' && e.object.cidr === '10.9.0.1/24');
      // Nothing about old0: it existed before and did not change.
      expect(c.events.some((e) => e.type !== 'synced' && e.type !== 'overrun' && e.kind === 'link' && e.object.name === 'old0')).toBe(false);
    } finally {
      c.watcher.close();
      await c.done;
    }
  });

  it('follows what the kernel does without telling: IPv4 routes flushed by link down and link removal; renames reach every dependent', async () => {
    const ns = await lib.createNamespace('quiet');
    await ns.createBridge('br0', { up: true });
    await ns.createBridge('br1', { up: true });
    await ns.addAddress('br0', '10.1.0.1/24');
    await ns.addAddress('br1', '10.4.0.1/24');
    await ns.addRoute({ to: '10.2.0.0/16', via: '10.1.0.2' });
    await ns.addRoute({ to: '10.3.0.0/16', dev: 'br0', table: 100 });
    await ns.addRoute({ to: '10.5.0.0/16', via: '10.4.0.2' });
    const c = new Consumer(lib.watch({ netns: 'quiet', listExisting: true }));
    try {
      await c.event((e) => e.type === 'synced');
      expect(c.state.routes().every((r) => r.netns === 'quiet')).toBe(true);

      // Down: the kernel removes the IPv4 routes through br0 (its local route stays) and says nothing.
      await ns.setLinkDown('br0');
      await c.until((s) => !s.routes().some((r) => r.to === '10.2.0.0/16'));
      expect(await c.differencesFromDump(['quiet'])).toEqual([]);
      expect(c.state.routes()).toContainEqual(expect.objectContaining({ to: '10.1.0.1/32', type: 'local', dev: 'br0' }));
      expect(c.state.routes().some((r) => r.to === '10.3.0.0/16')).toBe(false);

      // A rename: the link, its addresses and its routes all show the new name.
      await ns.setLink('br1', { name: 'uplink' });
      await c.until((s) => s.routes().some((r) => r.to === '10.5.0.0/16' && r.dev === 'uplink'));
      expect(c.state.addresses().find((a) => a.cidr === '10.4.0.1/24')?.link).toBe('uplink');
      expect(await c.differencesFromDump(['quiet'])).toEqual([]);

      // A replace that moves a route to another gateway: one route, not two.
      await ns.replaceRoute({ to: '10.5.0.0/16', via: '10.4.0.3' });
      await c.until((s) => s.routes().some((r) => r.via === '10.4.0.3'));
      expect(c.state.routes().filter((r) => r.to === '10.5.0.0/16')).toHaveLength(1);

      // Removal: everything on the link goes with it.
      await ns.deleteLink('uplink');
      await c.until((s) => !s.links().some((l) => l.name === 'uplink'));
      expect(await c.differencesFromDump(['quiet'])).toEqual([]);
      expect(c.state.routes().some((r) => r.dev === 'uplink' || r.to === '10.5.0.0/16')).toBe(false);
    } finally {
      c.watcher.close();
      await c.done;
      ns.close();
    }
  });

  it('neighbours and rules, on request, match ip -json', async () => {
    const ns = await lib.createNamespace('objs');
    await ns.createBridge('br0', { up: true });
    await ns.addAddress('br0', '10.1.0.1/24');
    ip(['neigh', 'add', '10.1.0.7', 'lladdr', '02:00:00:00:00:07', 'dev', 'br0', 'nud', 'permanent'], 'objs');
    const c = new Consumer(lib.watch({ netns: ns, neighbours: true, rules: true, listExisting: true }));
    try {
      await c.event((e) => e.type === 'synced');
      expect(c.state.neighbours()).toContainEqual(expect.objectContaining({ address: '10.1.0.7', dev: 'br0', lladdr: '02:00:00:00:00:07', state: ['PERMANENT'] }));
      // The three default rules of each family.
      const ipRules = ipJson<unknown[]>(['rule', 'show'], 'objs').length + ipJson<unknown[]>(['-6', 'rule', 'show'], 'objs').length;
      expect(c.state.rules()).toHaveLength(ipRules);
      // Only the kinds asked for: no link or route events.
      expect(c.events.some((e) => e.type === 'added' && (e.kind === 'link' || e.kind === 'route'))).toBe(false);

      ip(['rule', 'add', 'from', '10.1.0.0/24', 'lookup', '100', 'priority', '1000'], 'objs');
      const rule = (await c.event((e) => e.type === 'added' && e.kind === 'rule' && e.object.priority === 1000)) as lib.ObjectEvent;
      expect(rule.object).toMatchObject({ family: 4, priority: 1000, from: '10.1.0.0/24', table: 100, action: 'table' });
      ip(['neigh', 'replace', '10.1.0.7', 'lladdr', '02:00:00:00:00:08', 'dev', 'br0', 'nud', 'permanent'], 'objs');
      await c.event((e) => e.type === 'changed' && e.kind === 'neighbour' && e.object.lladdr === '02:00:00:00:00:08');
      ip(['neigh', 'del', '10.1.0.7', 'dev', 'br0'], 'objs');
      await c.event((e) => e.type === 'removed' && e.kind === 'neighbour');
      ip(['rule', 'del', 'priority', '1000'], 'objs');
      await c.event((e) => e.type === 'removed' && e.kind === 'rule' && e.object.priority === 1000);
      expect(c.state.rules()).toHaveLength(ipRules);
    } finally {
      c.watcher.close();
      await c.done;
      ns.close();
    }
  });

  it('an overrun (tiny receive buffer) is followed by a resync: the missed changes as events, "synced", a state equal to a dump', async () => {
    const ns = await lib.createNamespace('burst');
    const c = new Consumer(lib.watch({ netns: 'burst', listExisting: true, receiveBuffer: 4096 }));
    try {
      await c.event((e) => e.type === 'synced');
      await Promise.all(Array.from({ length: 150 }, (_, i) => ns.createBridge(`b${i}`, { up: true })));
      const overrun = await c.event((e) => e.type === 'overrun');
      expect((overrun as lib.OverrunEvent).drops).toBeGreaterThan(0);
      await c.event((e) => e.type === 'synced', 10_000, c.events.indexOf(overrun));
      expect(await c.differencesFromDump(['burst'])).toEqual([]);
      expect(c.state.links().filter((l) => /^b\d+$/.test(l.name))).toHaveLength(150);
      expect(c.watcher.stats).toMatchObject({ overruns: expect.any(Number), resyncs: expect.any(Number) });
      expect(c.watcher.stats.overruns).toBeGreaterThan(0);
      expect(c.watcher.stats.drops).toBeGreaterThan(0);
      expect(c.watcher.stats.resyncs).toBeGreaterThan(0);
      // And it goes on: a change after the resync is an ordinary event.
      await ns.deleteLink('b0');
      await c.event((e) => e.type === 'removed' && e.kind === 'link' && e.object.name === 'b0');
    } finally {
      c.watcher.close();
      await c.done;
      ns.close();
    }
  });

  it('ends: close() and break end the iteration; an aborted signal rejects it with the reason; nothing stays open', async () => {
    const before = openFds().size;
    const w = lib.watch({ listExisting: true });
    let n = 0;
    for await (const e of w) {
      n++;
      if (e.type === 'synced') break;
    }
    expect(n).toBeGreaterThan(1);
    const ac = new AbortController();
    const aborted = lib.watch({ signal: ac.signal });
    await aborted.ready;
    setTimeout(() => ac.abort(), 20);
    await expect((async () => {
      for await (const _ of aborted) {
        // nothing
      }
    })()).rejects.toMatchObject({ name: 'AbortError' });
    const closed = lib.watch({});
    await closed.ready;
    closed.close();
    expect(await closed[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
    expect(() => closed[Symbol.asyncIterator]()).toThrow(/only once/);
    // The host connection is opened once per process.
    expect(await settled(() => openFds().size, (n) => n <= before + 1)).toBeLessThanOrEqual(before + 1);
  });

  it('a watch of a namespace name that does not exist fails as the iterator\'s error', async () => {
    const w = lib.watch({ netns: 'nosuch' });
    await expect(w.ready).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(w[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe.skipIf(!inSandbox)(`watch, every namespace through one socket${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeAll(() => resetSandbox());
  afterAll(() => resetSandbox());

  it('namespaces present and future: ids assigned, events name their namespace, a deleted namespace is reported empty', async () => {
    const before = await lib.createNamespace('before');
    await before.createBridge('inside0');
    const c = new Consumer(lib.watch({ allNamespaces: true, listExisting: true }));
    try {
      await c.event((e) => e.type === 'synced');
      expect(c.state.links('before').map((l) => l.name).sort()).toEqual(['inside0', 'lo']);
      expect(c.state.links(null).map((l) => l.name)).toContain('lo');
      // The watch gave the namespace an id in ours (`ip netns list` shows it).
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toMatch(/^before \(id: \d+\)$/m);

      // A namespace made after the start: found, and what it holds reported as it appears.
      const after = await lib.createNamespace('after');
      await after.createBridge('late0', { up: true });
      await after.addAddress('late0', '10.7.0.1/24');
      await c.until((s) => s.addresses('after').some((a) => a.cidr === '10.7.0.1/24'));
      const ev = (await c.event((e) => e.type === 'added' && e.kind === 'address' && e.object.cidr === '10.7.0.1/24')) as lib.ObjectEvent;
      expect(ev.netns).toBe('after');
      expect(ev.object.netns).toBe('after');
      // The same change in two namespaces: two events, told apart by netns.
      await before.addAddress('inside0', '10.7.0.1/24');
      await c.until((s) => s.addresses('before').some((a) => a.cidr === '10.7.0.1/24'));
      expect(c.watcher.stats.namespaces).toBe(3);
      expect(await c.differencesFromDump([undefined, 'before', 'after'])).toEqual([]);

      // Deleted (and not held by anyone): the kernel withdraws its id and the watch reports its objects removed.
      after.close();
      await lib.deleteNamespace('after');
      await c.until((s) => s.links('after').length === 0 && s.addresses('after').length === 0 && s.routes('after').length === 0);
      expect(c.watcher.stats.namespaces).toBe(2);
      expect(c.state.namespaces().sort()).toEqual(['before', undefined].sort());
    } finally {
      c.watcher.close();
      await c.done;
      before.close();
    }
  });

  it('does not pin namespaces: the veth of a deleted namespace goes, as without a watch', async () => {
    const c = new Consumer(lib.watch({ allNamespaces: true }));
    try {
      await c.watcher.ready;
      const ns = await lib.createNamespace('pinned');
      await lib.createVethPair({ name: 'pin0', peer: { name: 'eth0', netns: ns } });
      ns.close();
      // The watch has found the namespace (it holds what it needs to follow it) before the delete.
      await c.event((e) => 'netns' in e && e.netns === 'pinned' && e.kind === 'link', 60_000);
      await lib.deleteNamespace('pinned');
      await lib.waitForLinksGone(['pin0'], { timeout: 10_000 });
    } finally {
      c.watcher.close();
      await c.done;
    }
  });
});
