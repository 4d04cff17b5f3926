import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync, mkdirSync, rmSync, unlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inSandbox, ip, resetSandbox, sandboxSkipReason, threadNamespaces } from '../helpers/sandbox.js';

const { createNamespace, openNamespace, deleteNamespace, listNamespaces } = await import('../../lib/namespace.js');

const mounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes('/run/netns/')).length;
const fdCount = () => readdirSync('/proc/self/fd').length;

describe.skipIf(!inSandbox)(`namespaces (real kernel)${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeEach(() => resetSandbox());
  afterEach(() => resetSandbox());

  it('creates a named namespace exactly as ip netns add: visible to ip, bind-mounted, listed', async () => {
    const ns = await createNamespace('pb');
    expect(ns.name).toBe('pb');
    expect(ip(['netns', 'list'])).toMatch(/^pb\b/m);
    expect(listNamespaces()).toEqual([{ name: 'pb', path: '/run/netns/pb' }]);
    // The mounted file and our handle are the same namespace, and not ours.
    const st = lstatSync('/run/netns/pb');
    expect(readlinkSync('/proc/self/ns/net')).not.toBe(`net:[${ns.id.ino}]`);
    expect(ip(['link', 'show'], 'pb')).toMatch(/1: lo:/);
    expect(st.isFile()).toBe(true);
    ns.close();
  });

  it('refuses a duplicate name with EEXIST and leaves the existing namespace untouched (item 2)', async () => {
    const a = await createNamespace('dup');
    await expect(createNamespace('dup')).rejects.toMatchObject({ code: 'EEXIST', errno: -17, object: 'dup' });
    const again = await openNamespace('dup');
    expect(again.id).toEqual(a.id);
    a.close();
    again.close();
  });

  it('rejects bad names before any syscall and leaves the filesystem unchanged (item 1)', async () => {
    const before = readdirSync('/run/netns');
    for (const bad of ['../x', '/etc/x', 'a/b', '.', '..', '', 'x'.repeat(256), 'a\0b']) {
      await expect(createNamespace(bad)).rejects.toMatchObject({ code: 'ERR_INVALID_NETNS_NAME' });
      await expect(openNamespace(bad)).rejects.toMatchObject({ code: 'ERR_INVALID_NETNS_NAME' });
      await expect(deleteNamespace(bad)).rejects.toMatchObject({ code: 'ERR_INVALID_NETNS_NAME' });
    }
    expect(readdirSync('/run/netns')).toEqual(before);
    expect(existsSync('/etc/x')).toBe(false);
  });

  it('refuses a pre-planted symlink and mounts nothing on its target (item 3)', async () => {
    writeFileSync('/tmp/rtnetlink-target', '');
    symlinkSync('/tmp/rtnetlink-target', '/run/netns/evil');
    try {
      await expect(createNamespace('evil')).rejects.toMatchObject({ code: 'EEXIST' });
      await expect(openNamespace('evil')).rejects.toMatchObject({ code: 'ELOOP' });
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain('rtnetlink-target');
    } finally {
      unlinkSync('/run/netns/evil');
      rmSync('/tmp/rtnetlink-target');
    }
  });

  it('refuses a run dir that is a symlink (item 3)', async () => {
    mkdirSync('/tmp/rtnetlink-rundir', { recursive: true });
    const link = '/tmp/rtnetlink-rundir-link';
    rmSync(link, { force: true });
    symlinkSync('/tmp/rtnetlink-rundir', link);
    process.env.RTNETLINK_NETNS_DIR = link;
    try {
      await expect(createNamespace('x')).rejects.toMatchObject({ code: 'ELOOP' });
      expect(readdirSync('/tmp/rtnetlink-rundir')).toEqual([]);
    } finally {
      delete process.env.RTNETLINK_NETNS_DIR;
      rmSync(link);
      rmSync('/tmp/rtnetlink-rundir', { recursive: true });
    }
  });

  it('says clearly when something is not a network namespace (item 4)', async () => {
    writeFileSync('/run/netns/plain', '');
    await expect(openNamespace('plain')).rejects.toThrow(/not a network namespace/);
    await expect(openNamespace({ path: '/proc/self/ns/mnt' })).rejects.toThrow(/not a network namespace/);
    await expect(openNamespace({ path: '/etc/hostname' })).rejects.toMatchObject({ code: 'EINVAL' });
    unlinkSync('/run/netns/plain');
  });

  it('opens by pid and by path, telling namespaces apart by id', async () => {
    const self = await openNamespace({ pid: process.pid });
    const byPath = await openNamespace({ path: '/proc/self/ns/net' });
    expect(self.id).toEqual(byPath.id);
    const other = await createNamespace('other');
    expect(other.id).not.toEqual(self.id);
    for (const h of [self, byPath, other]) h.close();
  });

  it('rolls back a failure injected after each step: no file, no mount, no fd (item 18)', async () => {
    const fds = fdCount();
    for (const step of [1, 2, 3]) {
      await expect(createNamespace('inject', { failAfterStep: step })).rejects.toMatchObject({ code: 'ECANCELED' });
      expect(existsSync('/run/netns/inject')).toBe(false);
      expect(mounts()).toBe(0);
    }
    expect(fdCount()).toBe(fds);
  });

  it('deletes: name gone, mount gone; deleting again is ENOENT; a held handle is reported (item 20)', async () => {
    const ns = await createNamespace('gone');
    const r = await deleteNamespace('gone');
    expect(r).toEqual({ name: 'gone', stillReferenced: true });
    expect(existsSync('/run/netns/gone')).toBe(false);
    expect(mounts()).toBe(0);
    // The namespace lives on through our fd.
    expect(readlinkSync(`/proc/self/fd/${ns.fd}`)).toBe(`net:[${ns.id.ino}]`);
    ns.close();
    await expect(deleteNamespace('gone')).rejects.toMatchObject({ code: 'ENOENT' });
    await createNamespace('gone2').then((h) => h.close());
    expect(await deleteNamespace('gone2')).toEqual({ name: 'gone2', stillReferenced: false });
  });

  it('anonymous namespaces leave no file and vanish with their handle', async () => {
    const ns = await createNamespace();
    expect(ns.name).toBeUndefined();
    expect(readdirSync('/run/netns')).toEqual([]);
    const ino = ns.id.ino;
    ns.close();
    const open = readdirSync('/proc/self/fd').map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    });
    expect(open).not.toContain(`net:[${ino}]`);
  });

  it('keeps the JS thread and the libuv pool in their namespace after hundreds of operations, failures included', async () => {
    const home = readlinkSync('/proc/self/ns/net');
    // Make sure libuv's pool threads exist before we look at them.
    await Promise.all(Array.from({ length: 8 }, () => readFile('/proc/self/status')));
    (await createNamespace('exists')).close();
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 100; i++) {
      jobs.push(createNamespace(`t${i}`).then((h) => h.close()));
      jobs.push(createNamespace('exists').then(() => { throw new Error('duplicate accepted'); }, (e) => e));
      jobs.push(createNamespace().then((h) => h.close()));
      jobs.push(openNamespace('no-such').catch((e) => e));
    }
    await Promise.all(jobs);
    for (let i = 0; i < 100; i++) await deleteNamespace(`t${i}`);
    const threads = threadNamespaces();
    expect(threads.size).toBeGreaterThan(4);
    for (const [tid, ns] of threads) expect({ tid, ns }).toEqual({ tid, ns: home });
    // fs and dns still work on the pool.
    expect((await readFile('/proc/self/status', 'utf8')).length).toBeGreaterThan(0);
    expect((await lookup('localhost')).address).toMatch(/^(127\.0\.0\.1|::1)$/);
  });
});
