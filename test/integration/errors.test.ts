// Each API call's error paths against the real kernel: duplicates, missing links, and bad
// arguments rejected before any syscall (the addon's transact is never reached).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');
const { native } = await import('../../lib/native.js');

const hostLinks = () => ipJson<{ ifname: string }[]>(['link', 'show']).map((l) => l.ifname).sort();

describe.skipIf(!inSandbox)(`error paths (real kernel)${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeEach(() => resetSandbox());
  afterEach(() => {
    vi.restoreAllMocks();
    resetSandbox();
  });

  it('EEXIST for a duplicate bridge, with code, errno, operation, object and a Node-like message', async () => {
    await lib.createBridge('br0');
    const err = await lib.createBridge('br0').catch((e) => e);
    expect(err).toBeInstanceOf(lib.NetlinkError);
    expect(err).toMatchObject({ code: 'EEXIST', errno: -17, syscall: 'sendmsg', operation: 'RTM_NEWLINK', object: 'br0' });
    expect(err.message).toMatch(/^EEXIST: file already exists, RTM_NEWLINK 'br0'/);
  });

  it('a veth whose name or peer name is taken leaves no half behind, in either namespace (item 6)', async () => {
    const ns = await lib.createNamespace('n1');
    await lib.createVethPair({ name: 'a0', peer: { name: 'b0', netns: ns } });
    const before = hostLinks();
    const inside = (await ns.listLinks()).map((l) => l.name).sort();
    // Host name taken.
    await expect(lib.createVethPair({ name: 'a0', peer: { name: 'b9', netns: ns } })).rejects.toMatchObject({ code: 'EEXIST' });
    // Peer name taken inside the namespace.
    await expect(lib.createVethPair({ name: 'a9', peer: { name: 'b0', netns: ns } })).rejects.toMatchObject({ code: 'EEXIST' });
    // Peer name equal to a host link, peer in the host namespace.
    await expect(lib.createVethPair({ name: 'a8', peer: { name: 'a0' } })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(hostLinks()).toEqual(before);
    expect((await ns.listLinks()).map((l) => l.name).sort()).toEqual(inside);
    ns.close();
  });

  it('ENODEV for a missing link, in every call that names one', async () => {
    await lib.createBridge('br0');
    const calls: [string, () => Promise<unknown>][] = [
      ['setLinkUp', () => lib.setLinkUp('nope0')],
      ['setLinkDown', () => lib.setLinkDown('nope0')],
      ['setLink', () => lib.setLink('nope0', { mtu: 1400 })],
      ['setMaster (link)', () => lib.setMaster('nope0', 'br0')],
      ['setMaster (bridge)', () => lib.setMaster('br0', 'nope1')],
      ['setNoMaster', () => lib.setNoMaster('nope0')],
      ['deleteLink', () => lib.deleteLink('nope0')],
      ['getLink', () => lib.getLink('nope0')],
      ['getLink by index', () => lib.getLink(9999)],
      ['addAddress', () => lib.addAddress('nope0', '10.1.0.1/24')],
      ['deleteAddress', () => lib.deleteAddress('nope0', '10.1.0.1/24')],
      ['addRoute dev', () => lib.addRoute({ to: '10.9.0.0/16', dev: 'nope0' })],
      ['listBridgePorts', () => lib.listBridgePorts('nope0')],
    ];
    for (const [what, call] of calls) {
      const err = await call().then(() => undefined, (e) => e);
      expect({ what, code: err?.code }).toEqual({ what, code: 'ENODEV' });
      expect(err.message).toMatch(/^ENODEV: no such device/);
    }
  });

  it('the kernel\'s own refusals carry its extended-ack text (item 9)', async () => {
    await lib.createBridge('br0', { up: true });
    const err = await lib.addRoute({ to: '10.9.0.0/16', via: '10.99.0.1', dev: 'br0' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ENETUNREACH', operation: 'RTM_NEWROUTE' });
    expect(err.kernelMessage).toMatch(/gateway|nexthop/i);
    expect(err.message).toContain(err.kernelMessage);
    // A duplicate address, and a missing one.
    await lib.addAddress('br0', '10.1.0.1/24');
    await expect(lib.addAddress('br0', '10.1.0.1/24')).rejects.toMatchObject({ code: 'EEXIST', operation: 'RTM_NEWADDR' });
    await expect(lib.deleteAddress('br0', '10.2.0.1/24')).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
    await expect(lib.deleteRoute({ to: '10.3.0.0/16', dev: 'br0' })).rejects.toMatchObject({ code: 'ESRCH' });
    await lib.addRoute({ to: '10.3.0.0/16', dev: 'br0' });
    await expect(lib.addRoute({ to: '10.3.0.0/16', dev: 'br0' })).rejects.toMatchObject({ code: 'EEXIST' });
    await lib.replaceRoute({ to: '10.3.0.0/16', dev: 'br0', metric: 0 });
  });

  it('rejects invalid names, prefixes, MTUs and addresses before any syscall (items 5, 7)', async () => {
    const transact = vi.spyOn(native, 'transact');
    const openNetlink = vi.spyOn(native, 'openNetlink');
    const bad: [string, () => Promise<unknown>, string][] = [
      ['16-byte name', () => lib.createBridge('a'.repeat(16)), 'ERR_INVALID_IFNAME'],
      ['multibyte 16 bytes', () => lib.createBridge('é'.repeat(8)), 'ERR_INVALID_IFNAME'],
      ['space', () => lib.createBridge('a b'), 'ERR_INVALID_IFNAME'],
      ['slash', () => lib.createBridge('a/b'), 'ERR_INVALID_IFNAME'],
      ['colon', () => lib.createBridge('a:b'), 'ERR_INVALID_IFNAME'],
      ['template', () => lib.createBridge('veth%d'), 'ERR_INVALID_IFNAME'],
      ['empty', () => lib.createBridge(''), 'ERR_INVALID_IFNAME'],
      ['dot', () => lib.createBridge('.'), 'ERR_INVALID_IFNAME'],
      ['dotdot', () => lib.createBridge('..'), 'ERR_INVALID_IFNAME'],
      ['NUL', () => lib.createBridge('a\0b'), 'ERR_INVALID_IFNAME'],
      ['peer name', () => lib.createVethPair({ name: 'ok0', peer: { name: 'x'.repeat(16) } }), 'ERR_INVALID_IFNAME'],
      ['prefix -1', () => lib.addAddress('lo', '10.0.0.1/-1'), 'ERR_INVALID_PREFIX'],
      ['prefix 33', () => lib.addAddress('lo', '10.0.0.1/33'), 'ERR_INVALID_PREFIX'],
      ['prefix 129', () => lib.addAddress('lo', 'fd00::1/129'), 'ERR_INVALID_PREFIX'],
      ['prefix 1.5', () => lib.addAddress('lo', '10.0.0.1/1.5'), 'ERR_INVALID_PREFIX'],
      ['prefix NaN', () => lib.addAddress('lo', '10.0.0.1/NaN'), 'ERR_INVALID_PREFIX'],
      ['address', () => lib.addAddress('lo', '10.0.0.256/24'), 'ERR_INVALID_ADDRESS'],
      ['MTU 0', () => lib.setLink('lo', { mtu: 0 }), 'ERR_INVALID_MTU'],
      ['MTU 67', () => lib.setLink('lo', { mtu: 67 }), 'ERR_INVALID_MTU'],
      ['MTU 65536', () => lib.setLink('lo', { mtu: 65536 }), 'ERR_INVALID_MTU'],
      ['MTU 2^32+1500', () => lib.setLink('lo', { mtu: 2 ** 32 + 1500 }), 'ERR_INVALID_MTU'],
      ['MTU -1', () => lib.setLink('lo', { mtu: -1 }), 'ERR_INVALID_MTU'],
      ['gateway family', () => lib.addRoute({ to: '10.0.0.0/8', via: 'fd00::1' }), 'ERR_INVALID_ADDRESS'],
      ['route prefix', () => lib.addRoute({ to: '10.0.0.0/40' }), 'ERR_INVALID_PREFIX'],
      ['broadcast on v6', () => lib.addAddress('lo', 'fd00::1/64', { broadcast: 'auto' }), 'ERR_INVALID_ARG_VALUE'],
    ];
    for (const [what, call, code] of bad) {
      const err = await call().then(() => undefined, (e) => e);
      expect({ what, code: err?.code }).toEqual({ what, code });
      expect(err).toBeInstanceOf(Error);
      expect(['TypeError', 'RangeError']).toContain(err.name);
    }
    expect(transact).not.toHaveBeenCalled();
    expect(openNetlink).not.toHaveBeenCalled();
    expect(hostLinks()).toEqual(['lo']);
  });

  it("a process whose first socket cannot be opened fails that call with the open's error, and the next call opens anew", () => {
    const child = fileURLToPath(new URL('../helpers/open-fail-child.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', child], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({
      first: { ok: false, code: 'EMFILE', syscall: 'socket', operation: 'RTM_GETLINK' },
      second: expect.arrayContaining(['lo']),
      opens: 2,
    });
  });

  it('namespace-bound calls reach the right namespace and name it in results', async () => {
    const ns = await lib.createNamespace('n2');
    await ns.createBridge('inner0', { up: true, mtu: 1400 });
    expect(await ns.getLink('inner0')).toMatchObject({ name: 'inner0', up: true, mtu: 1400, kind: 'bridge' });
    expect(await lib.getLink('inner0', { netns: 'n2' })).toMatchObject({ name: 'inner0', netns: 'n2' });
    await expect(lib.getLink('inner0')).rejects.toMatchObject({ code: 'ENODEV' });
    await ns.setLink('inner0', { name: 'inner1', mtu: 1300, address: '02:00:00:00:00:01' });
    expect(await ns.getLink('inner1')).toMatchObject({ mtu: 1300, mac: '02:00:00:00:00:01' });
    // Bridges cannot change namespace; the kernel says so.
    const host = await lib.openNamespace({ pid: process.pid });
    await expect(ns.moveLink('inner1', host)).rejects.toMatchObject({ code: 'EINVAL', kernelMessage: expect.stringMatching(/netns is immutable/) });
    await ns.createVethPair({ name: 'm0', peer: { name: 'm1' } });
    await ns.moveLink('m0', host, { name: 'moved0' });
    expect(hostLinks()).toContain('moved0');
    expect((await ns.listLinks()).map((l) => l.name)).not.toContain('m0');
    host.close();
    ns.close();
  });
});
