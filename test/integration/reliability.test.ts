// Kernel answers and concurrency under stress (RELIABILITY.md items 10-13, 17, 20, 21), against
// the real kernel: missing capabilities, dumps interrupted by concurrent changes, dumps of
// 10,000 objects, receive-buffer overruns, signals during I/O, deleting a namespace a process
// still uses, and many bulk operations at once. Results are checked against `ip -json`.
import { execFileSync, spawn as cpSpawn, type ChildProcess } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason, threadNamespaces, settled } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');
const { native } = await import('../../lib/native.js');
const { Connection } = await import('../../lib/connection.js');
const { NativeTransport } = await import('../../lib/socket.js');
const { encodeRoute } = await import('../../lib/netlink/route.js');
const { encodeLink, decodeLink } = await import('../../lib/netlink/link.js');
const rt = await import('../../lib/netlink/rtnetlink.js');

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIB = pathToFileURL(join(ROOT, 'lib/index.ts')).href;

const NETLINK_ROUTE = 0;
const NLM_F_DUMP_INTR = 0x10;
const NLM_F_CREATE = 0x400;
const NLM_F_EXCL = 0x200;
const NLMSG_DONE = 3;
const RTM_NEWADDR = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const netnsMounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(' /run/netns/')).length;
const linkNames = (netns?: string) => ipJson<{ ifname: string }[]>(['link', 'show'], netns).map((l) => l.ifname).sort();
/** `ip -json` for outputs beyond execFileSync's default 1 MiB (10,000 routes). */
const bigIpJson = <T,>(args: string[], netns: string): T =>
  JSON.parse(execFileSync('ip', ['-json', '-n', netns, ...args], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 })) as T;

/** Every child this file starts, so a failing test cannot leave one running. */
const children = new Set<ChildProcess>();
function track<C extends ChildProcess>(c: C): C {
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}
function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
  return exited;
}

/** A route message for Connection.request: `dst`/32 via the link `oif`. */
function routeTo(dst: number[], oif: number, flags = NLM_F_CREATE | NLM_F_EXCL) {
  return (w: Parameters<Parameters<InstanceType<typeof Connection>['request']>[0]>[0], seq: number) =>
    encodeRoute(w, rt.RTM_NEWROUTE, flags, seq, {
      family: 2, dstLen: 32, srcLen: 0, tos: 0, table: 254, protocol: 4, scope: 0, type: 1, flags: 0,
      dst: Buffer.from(dst), oif,
    });
}

/** Flags of every message in a buffer of netlink datagrams, by type. */
function scan(buf: Buffer): { intr: boolean; addresses: number; done: number } {
  const out = { intr: false, addresses: 0, done: 0 };
  for (let off = 0; off + 16 <= buf.length; ) {
    const len = buf.readUInt32LE(off);
    if (len < 16) break;
    const type = buf.readUInt16LE(off + 4);
    if (buf.readUInt16LE(off + 6) & NLM_F_DUMP_INTR) out.intr = true;
    if (type === RTM_NEWADDR) out.addresses++;
    if (type === NLMSG_DONE) out.done++;
    off += (len + 3) & ~3;
  }
  return out;
}

describe.skipIf(!inSandbox)(`reliability under stress (real kernel)${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeEach(() => resetSandbox());
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all([...children].map(stop));
    resetSandbox();
  });

  // ---- item 10 ---------------------------------------------------------------------------

  // The non-root child loads everything as root and only then becomes user nobody (setuid from
  // root clears every capability, on every thread): nobody could not even read a checkout that
  // lives in a directory only root may enter (a clone under /root, or in mktemp -d).
  it.each([
    ['a non-root user without capabilities', [], 'process.setgroups([]); process.setgid(65534); process.setuid(65534);'],
    ['a user namespace (root there, nothing over this namespace)', ['unshare', '--user', '--map-root-user'], ''],
  ])('item 10: as %s, EPERM names the operation and the capability; clean', async (_who, prefix, drop) => {
    (await lib.createNamespace('perm')).close();
    const before = { netns: readdirSync('/run/netns'), mounts: netnsMounts(), host: linkNames(), inside: linkNames('perm') };
    const script = `
      import * as lib from '${LIB}';
      import { readdirSync, readlinkSync, readFileSync } from 'node:fs';
      ${drop}
      const status = readFileSync('/proc/self/status', 'utf8');
      if (${drop ? 'true' : 'false'} && !/^Uid:\\s+65534\\s/m.test(status)) throw new Error('still root');
      if (${drop ? 'true' : 'false'} && !/^CapEff:\\s+0+$/m.test(status)) throw new Error('capabilities left: ' + status);
      const threads = () => readdirSync('/proc/self/task').map((t) => readlinkSync('/proc/self/task/' + t + '/ns/net'));
      const home = readlinkSync('/proc/self/ns/net');
      // Reading is allowed; these open the process's long-lived sockets before we count fds.
      await lib.listLinks();
      await lib.listMasquerades().catch(() => {});
      const fds = readdirSync('/proc/self/fd').length;
      const ops = {
        createBridge: () => lib.createBridge('perm0'),
        createVethPair: () => lib.createVethPair({ name: 'perm1', peer: { name: 'perm2' } }),
        addAddress: () => lib.addAddress('lo', '10.77.0.1/32'),
        addRoute: () => lib.addRoute({ to: '10.78.0.0/16', dev: 'lo' }),
        addMasquerade: () => lib.addMasquerade({ source: '10.79.0.0/16' }),
        createNamed: () => lib.createNamespace('perm-new'),
        deleteNamed: () => lib.deleteNamespace('perm'),
        enterNamed: async () => { const ns = await lib.openNamespace('perm'); try { return await ns.listLinks(); } finally { ns.close(); } },
      };
      const results = {};
      for (const [op, fn] of Object.entries(ops)) {
        try { await fn(); results[op] = { ok: true }; }
        catch (e) { results[op] = { code: e.code, syscall: e.syscall, operation: e.operation, message: e.message }; }
      }
      console.log(JSON.stringify({ results, fdsBefore: fds, fdsAfter: readdirSync('/proc/self/fd').length,
        outside: threads().filter((ns) => ns !== home) }));
    `;
    const command = [...prefix, process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
    const out = execFileSync(command[0]!, command.slice(1), {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 15_000,
    });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    const netAdmin = { code: 'EPERM', message: expect.stringMatching(/^EPERM: operation not permitted, .*needs CAP_NET_ADMIN/) };
    const sysAdmin = { code: 'EPERM', message: expect.stringMatching(/^EPERM: operation not permitted, .*needs CAP_SYS_ADMIN/) };
    expect(r.results).toEqual({
      createBridge: { ...netAdmin, syscall: 'sendmsg', operation: 'RTM_NEWLINK' },
      createVethPair: { ...netAdmin, syscall: 'sendmsg', operation: 'RTM_NEWLINK' },
      addAddress: { ...netAdmin, syscall: 'sendmsg', operation: 'RTM_NEWADDR' },
      addRoute: { ...netAdmin, syscall: 'sendmsg', operation: 'RTM_NEWROUTE' },
      addMasquerade: expect.objectContaining(netAdmin),
      createNamed: { ...sysAdmin, syscall: 'mount', operation: 'netns add' },
      deleteNamed: { ...sysAdmin, syscall: 'umount2', operation: 'netns delete' },
      enterNamed: expect.objectContaining({ ...sysAdmin, syscall: 'setns' }),
    });
    // Clean: in the child (fds, threads) and in the kernel (names, mounts, links).
    expect(r.fdsAfter).toBe(r.fdsBefore);
    expect(r.outside).toEqual([]);
    expect({ netns: readdirSync('/run/netns'), mounts: netnsMounts(), host: linkNames(), inside: linkNames('perm') }).toEqual(before);
    expect(execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).trim()).toBe('');
    expect(ipJson(['route', 'show', '10.78.0.0/16'])).toEqual([]);
  });

  // ---- item 11 ---------------------------------------------------------------------------

  it('item 11: address dumps under churn resolve only from a dump the kernel did not mark interrupted, else DumpInterruptedError with the partial data', async () => {
    const ns = await lib.createNamespace('churn');
    const index = (await ns.createBridge('br0', { up: true })).index!;
    // 2,000 addresses nobody touches, then 300 that another process deletes and adds again
    // in a loop. A dump takes many datagrams; the changes land between them.
    const fixed = Array.from({ length: 2000 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    await Promise.all(fixed.map((a) => ns.addAddress(index, `${a}/32`)));
    const churned = Array.from({ length: 300 }, (_, i) => `10.2.${i >> 8}.${i & 255}/32`);
    const batch = join(tmpdir(), `rtnetlink-churn-${process.pid}`);
    writeFileSync(batch, [...churned.map((a) => `address add ${a} dev br0`), ...churned.map((a) => `address del ${a} dev br0`)].join('\n') + '\n');
    const churn = track(cpSpawn('sh', ['-c', `while :; do ip -n churn -batch ${batch}; done`], { stdio: 'ignore' }));

    // What the kernel handed over for each dump attempt, to hold the library to it.
    const attempts: ReturnType<typeof scan>[] = [];
    const transact = native.transact.bind(native);
    vi.spyOn(native, 'transact').mockImplementation((...args: Parameters<typeof native.transact>) =>
      transact(...args).then((buf) => {
        const s = scan(buf);
        if (s.addresses > 0) attempts.push(s);
        return buf;
      }),
    );
    const outcomes = { complete: 0, interrupted: 0, retried: 0 };
    const started = performance.now();
    try {
      while (performance.now() - started < 4000) {
        const mark = attempts.length;
        const outcome = await ns.listAddresses({ family: 4 }).then(
          (list) => ({ list }),
          (error: unknown) => ({ error }),
        );
        const mine = attempts.slice(mark);
        if ('list' in outcome) {
          const list = outcome.list;
          // Resolved: from the last attempt, which the kernel did not mark; every earlier one it did.
          expect(mine.at(-1)!.intr).toBe(false);
          expect(mine.slice(0, -1).every((a) => a.intr)).toBe(true);
          expect(list.length).toBe(mine.at(-1)!.addresses);
          const have = new Set(list.map((a) => a.address));
          expect(fixed.filter((a) => !have.has(a))).toEqual([]);
          outcomes.complete++;
          if (mine.length > 1) outcomes.retried++;
        } else {
          expect(outcome.error).toBeInstanceOf(lib.DumpInterruptedError);
          const err = outcome.error as InstanceType<typeof lib.DumpInterruptedError>;
          // Six attempts (five retries), each marked; the partial data is the last one's.
          expect(err).toMatchObject({ code: 'ERR_NETLINK_DUMP_INTERRUPTED', attempts: 6 });
          expect(mine).toHaveLength(6);
          expect(mine.every((a) => a.intr)).toBe(true);
          expect(err.partial.filter((m) => m.type === RTM_NEWADDR).length).toBe(mine.at(-1)!.addresses);
          outcomes.interrupted++;
        }
      }
    } finally {
      await stop(churn);
      rmSync(batch, { force: true });
    }
    // The churn really did interrupt dumps, and the library really did retry or report it.
    expect(attempts.some((a) => a.intr)).toBe(true);
    expect(outcomes.retried + outcomes.interrupted).toBeGreaterThan(0);
    expect(outcomes.complete).toBeGreaterThan(0);
    ns.close();
  });

  // ---- item 12 ---------------------------------------------------------------------------

  it('item 12: 10,000 routes and 10,000 addresses, added concurrently, are listed exactly', async () => {
    const ns = await lib.createNamespace('many');
    const index = (await ns.createBridge('br0', { up: true })).index!;
    const prefixes = Array.from({ length: 10_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const addresses = Array.from({ length: 10_000 }, (_, i) => `172.16.${i >> 8}.${i & 255}/32`);
    await Promise.all(prefixes.map((to) => ns.addRoute({ to, dev: index })));
    await Promise.all(addresses.map((a) => ns.addAddress(index, a)));

    const routes = (await ns.listRoutes({ family: 4 })).filter((r) => r.dev === 'br0' && r.to !== 'default');
    expect(routes.map((r) => r.to).sort()).toEqual([...prefixes].sort());
    const kernelRoutes = bigIpJson<{ dst: string; dev: string }[]>(['-4', 'route', 'show', 'dev', 'br0'], 'many');
    expect(kernelRoutes.map((r) => r.dst).sort()).toEqual(routes.map((r) => r.to).sort());

    const listed = (await ns.listAddresses({ family: 4 })).filter((a) => a.link === 'br0');
    expect(listed.map((a) => a.cidr).sort()).toEqual([...addresses].sort());
    const kernelAddrs = bigIpJson<{ ifname: string; addr_info: { local: string; prefixlen: number }[] }[]>(['-4', 'address', 'show', 'dev', 'br0'], 'many');
    expect(kernelAddrs[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`).sort()).toEqual(listed.map((a) => a.cidr).sort());
    ns.close();
  }, 30_000);

  // ---- item 13 ---------------------------------------------------------------------------

  it('item 13: a link monitor whose buffer overruns emits "overrun" (ENOBUFS), re-reads the links and reports what it missed', async () => {
    const ns = await lib.createNamespace('ovr');
    // A buffer of a few KiB: a burst of link notifications cannot fit.
    const monitor = await lib.monitorLinks({ netns: ns, receiveBuffer: 4096 });
    const overruns: InstanceType<typeof lib.NetlinkError>[] = [];
    const seen = new Set<string>();
    monitor.on('overrun', (e) => overruns.push(e));
    monitor.on('link', (e) => {
      if (e.type === 'new' && e.link.name) seen.add(e.link.name);
    });
    try {
      // Few enough that the kernel's cleanup of this namespace does not hold up the next test.
      await Promise.all(Array.from({ length: 100 }, (_, i) => ns.createBridge(`b${i}`)));
      expect(await settled(() => overruns.length, (n) => n > 0)).toBeGreaterThan(0);
      expect(overruns[0]).toMatchObject({ code: 'ENOBUFS', errno: -105, operation: 'link monitor' });
      // The notifications lost in the overrun come back from the monitor's re-read of the links.
      const recovered = await settled(() => [...seen].filter((n) => /^b\d+$/.test(n)).length, (n) => n === 100);
      expect(recovered).toBe(100);
      // Recovered: the next change arrives.
      const next = new Promise<void>((resolve) => monitor.on('link', (e) => e.link.name === 'after0' && resolve()));
      await ns.createBridge('after0');
      await Promise.race([next, sleep(30_000).then(() => Promise.reject(new Error('no event after the overrun')))]);
      expect((await ns.listLinks()).length).toBe(102);
      expect(linkNames('ovr')).toHaveLength(102);
    } finally {
      monitor.close();
      ns.close();
    }
  });

  it('item 13: what goes wrong in a monitor is not swallowed: a throwing listener is an uncaught exception, as with Node\'s emitters', () => {
    const script = `
      import * as lib from '${LIB}';
      const ns = await lib.createNamespace();
      const monitor = await lib.monitorLinks({ netns: ns });
      monitor.on('link', () => { throw new Error('listener failed'); });
      await ns.createBridge('x0');
      setTimeout(() => { console.log('swallowed'); process.exit(0); }, 2000);
    `;
    let failure: { status: number; stdout: string; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe', timeout: 15_000 });
    } catch (e) {
      failure = e as typeof failure;
    }
    expect(failure).toMatchObject({ status: 1, stdout: '', stderr: expect.stringContaining('listener failed') });
  });

  it('item 13: a request socket overrun rejects that exchange with ENOBUFS; later requests get their own answers', async () => {
    const ns = await lib.createNamespace('reqovr');
    const index = (await ns.createBridge('br0', { up: true })).index!;
    // A request socket that also receives link notifications into a small buffer, so that a
    // burst of changes made elsewhere overruns it while it is idle.
    const fd = await native.openNetlink(ns.fd, NETLINK_ROUTE, [rt.RTNLGRP_LINK], 16384);
    const conn = new Connection(new NativeTransport(fd), 5000); // a lost answer fails in seconds, not 30
    try {
      await Promise.all(Array.from({ length: 40 }, (_, i) => ns.createBridge(`n${i}`)));
      const first = await conn.request(routeTo([10, 0, 0, 1], index), { operation: 'RTM_NEWROUTE', object: '10.0.0.1' }).then(
        () => 'resolved',
        (e) => e,
      );
      expect(first).toMatchObject({ code: 'ENOBUFS', operation: 'RTM_NEWROUTE', object: '10.0.0.1' });
      // ENOBUFS says answers were lost, not that the request failed: the kernel did run it.
      expect(ipJson(['route', 'show', '10.0.0.1'], 'reqovr')).toHaveLength(1);
      // Stale answers and notifications still queued must not be taken for the next answers.
      const results = await Promise.allSettled([
        conn.request(routeTo([10, 0, 0, 1], index), { operation: 'RTM_NEWROUTE', object: 'again' }),
        conn.request(routeTo([10, 0, 0, 2], index), { operation: 'RTM_NEWROUTE', object: 'new' }),
        conn.request((w, seq) => encodeLink(w, rt.RTM_GETLINK, 0, seq, { family: 0, index: 0, flags: 0, change: 0, name: 'br0' }), { operation: 'RTM_GETLINK', object: 'br0' }),
        conn.request((w, seq) => encodeLink(w, rt.RTM_GETLINK, 0, seq, { family: 0, index: 0, flags: 0, change: 0, name: 'none0' }), { operation: 'RTM_GETLINK', object: 'none0' }),
      ]);
      expect(results[0]).toMatchObject({ status: 'rejected', reason: { code: 'EEXIST', object: 'again' } });
      expect(results[1]).toMatchObject({ status: 'fulfilled' });
      expect(results[2]).toMatchObject({ status: 'fulfilled' });
      const got = (results[2] as PromiseFulfilledResult<{ messages: any[] }>).value.messages.filter((m) => m.type === rt.RTM_NEWLINK);
      expect(got.map((m) => decodeLink(m).name)).toEqual(['br0']);
      expect(results[3]).toMatchObject({ status: 'rejected', reason: { code: 'ENODEV', object: 'none0' } });
      expect(ipJson<{ dst: string }[]>(['route', 'show', 'dev', 'br0'], 'reqovr').map((r) => r.dst).sort()).toEqual(['10.0.0.1', '10.0.0.2']);
    } finally {
      conn.close();
      ns.close();
    }
  });

  it('item 13: a batch whose answers exceed a small receive buffer (no SO_RCVBUFFORCE: rmem_max) is sent in pieces, every request answered', async () => {
    const ns = await lib.createNamespace('smallbuf');
    const index = (await ns.createBridge('br0', { up: true })).index!;
    // 212992: the default net.core.rmem_max, all a process gets where SO_RCVBUFFORCE is refused.
    for (const size of [212_992, 4096]) {
      const fd = await native.openNetlink(ns.fd, NETLINK_ROUTE, [], size);
      const conn = new Connection(new NativeTransport(fd), 5000); // a lost answer fails in seconds, not 30
      try {
        const third = size === 4096 ? 1 : 2;
        const rs = await Promise.allSettled(
          Array.from({ length: 2048 }, (_, i) => conn.request(routeTo([10, third, i >> 8, i & 255], index), { operation: 'RTM_NEWROUTE', object: `r${i}` })),
        );
        expect(rs.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual([]);
        // And answers still reach the right request when some fail.
        const again = await Promise.allSettled(
          Array.from({ length: 500 }, (_, i) => conn.request(routeTo([10, third, 200, i % 250], index), { operation: 'RTM_NEWROUTE', object: `d${i}` })),
        );
        again.forEach((r, i) => expect({ i, status: r.status }).toEqual({ i, status: i < 250 ? 'fulfilled' : 'rejected' }));
      } finally {
        conn.close();
      }
    }
    const kernel = ipJson<{ dst: string }[]>(['route', 'show', 'dev', 'br0'], 'smallbuf');
    expect(kernel.length).toBe(2 * (2048 + 250));
    ns.close();
  });

  // ---- item 17 ---------------------------------------------------------------------------

  it('item 17: operations complete correctly while signals hit every thread of the process', async () => {
    let signals = 0;
    const onSignal = () => signals++;
    process.on('SIGUSR2', onSignal);
    // Another process signals every thread of this one (tgkill-like: kill() with a thread id
    // prefers that thread), so the addon's threads are interrupted inside poll() and recvmsg().
    const storm = track(
      cpSpawn(
        process.execPath,
        [
          '-e',
          `const fs = require('fs'); const pid = ${process.pid};
           const round = () => { for (const t of fs.readdirSync('/proc/' + pid + '/task')) { try { process.kill(Number(t), 'SIGUSR2'); } catch {} } setImmediate(round); };
           round();`,
        ],
        { stdio: 'ignore' },
      ),
    );
    try {
      // A receive that sleeps in poll() while the signals come, then gets its notification.
      const fd = await native.openNetlink(-1, NETLINK_ROUTE, [rt.RTNLGRP_LINK]);
      const waiting = native.receive(fd, 10_000, 777001).catch((e: unknown) => e);
      await sleep(500);
      execFileSync('ip', ['link', 'add', 'sigwake0', 'type', 'bridge']);
      const got = await waiting;
      expect(got).toBeInstanceOf(Buffer);
      expect((got as Buffer).includes(Buffer.from('sigwake0'))).toBe(true);
      native.close(fd);
      for (let i = 0; i < 40; i++) {
        const name = `sig${i}`;
        const ns = await lib.createNamespace(name);
        await lib.createVethPair({ name: `sg${i}`, up: true, peer: { name: 'eth0', netns: ns } });
        await Promise.all([ns.setLinkUp('eth0'), ns.addAddress('eth0', '10.50.0.2/24'), ns.setSysctl('net.ipv4.ip_forward', 1)]);
        await ns.addRoute({ to: 'default', via: '10.50.0.1' });
        const [addrs, routes, fwd] = await Promise.all([ns.listAddresses({ family: 4 }), ns.listRoutes(), ns.getSysctl('net.ipv4.ip_forward')]);
        expect(addrs.map((a) => a.cidr)).toContain('10.50.0.2/24');
        expect(routes.some((r) => r.to === 'default' && r.via === '10.50.0.1')).toBe(true);
        expect(fwd).toBe('1');
        if (i % 10 === 0) expect((await ns.execFile('ip', ['-json', 'address', 'show', 'eth0'])).stdout).toContain('10.50.0.2');
        ns.close();
        await lib.deleteLink(`sg${i}`);
        expect(await lib.deleteNamespace(name)).toEqual({ name, stillReferenced: false });
      }
      const big = await lib.createNamespace('sigbig');
      await big.setLinkUp('lo');
      await Promise.all(Array.from({ length: 3000 }, (_, i) => big.addRoute({ to: `10.${i >> 8}.${i & 255}.0/24`, type: 'blackhole' })));
      expect((await big.listRoutes()).filter((r) => r.type === 'blackhole')).toHaveLength(3000);
      expect(ipJson(['route', 'show', 'type', 'blackhole'], 'sigbig')).toHaveLength(3000);
      big.close();
      expect(signals).toBeGreaterThan(100);
    } finally {
      await stop(storm);
      process.off('SIGUSR2', onSignal);
    }
    const home = readlinkSync('/proc/self/ns/net');
    for (const [tid, ns] of threadNamespaces()) expect({ tid, ns }).toEqual({ tid, ns: home });
  }, 30_000);

  // ---- item 20 ---------------------------------------------------------------------------

  it('item 20: deleting a namespace a process is inside: the name goes, the namespace lives on (and says so), again is ENOENT', async () => {
    const ns = await lib.createNamespace('busy');
    await lib.createVethPair({ name: 'busy0', peer: { name: 'eth0', netns: ns } });
    const ino = ns.id.ino;
    const sleeper = track(ns.spawn('sleep', ['30'], { stdio: 'ignore' }));
    await new Promise((r) => sleeper.once('spawn', r));
    // The helper enters the namespace, then execs sleep: wait for the switch.
    for (let i = 0; i < 200 && readlinkSync(`/proc/${sleeper.pid}/ns/net`) !== `net:[${ino}]`; i++) await sleep(5);
    ns.close();

    const r = await lib.deleteNamespace('busy', { findProcesses: true });
    expect(r).toEqual({ name: 'busy', stillReferenced: true, processes: [sleeper.pid] });
    expect(existsSync('/run/netns/busy')).toBe(false);
    expect(netnsMounts()).toBe(0);
    await expect(lib.deleteNamespace('busy')).rejects.toMatchObject({ code: 'ENOENT', object: 'busy' });

    // It lives on: the process is in it, and its veth (whose other end is here) still exists.
    await sleep(200);
    expect(readlinkSync(`/proc/${sleeper.pid}/ns/net`)).toBe(`net:[${ino}]`);
    expect(linkNames()).toContain('busy0');
    const inside = await lib.openNamespace({ pid: sleeper.pid! });
    expect((await inside.listLinks()).map((l) => l.name).sort()).toEqual(['eth0', 'lo']);
    inside.close();

    // When the process goes, so does the namespace, and the veth with it.
    await stop(sleeper);
    await lib.waitForLinksGone(['busy0'], { timeout: 10_000 });
    expect(linkNames()).not.toContain('busy0');
  });

  it('item 20: a handle held by this process is reported without a scan; a namespace nobody uses is not', async () => {
    const held = await lib.createNamespace('held');
    expect(await lib.deleteNamespace('held')).toEqual({ name: 'held', stillReferenced: true });
    held.close();
    (await lib.createNamespace('free')).close();
    expect(await lib.deleteNamespace('free', { findProcesses: true })).toEqual({ name: 'free', stillReferenced: false, processes: [] });
  });

  // ---- item 21 ---------------------------------------------------------------------------

  it('item 21: several applies, a destroy, deletes and dumps at once from one process: every result right; threads, fs and dns fine', async () => {
    // Bridges are br-TAG: `brd` would be read by `ip link delete` as its `brd` keyword.
    const spec = (tag: string, net: number, count: number, bridge: boolean): any => ({
      ...(bridge ? { bridges: [{ name: `br-${tag}`, addresses: [`10.${net}.0.1/24`] }] } : {}),
      namespaces: Array.from({ length: count }, (_, i) => ({
        name: `${tag}${i}`,
        interfaces: [{ name: 'eth0', hostName: `${tag}${i}h`, ...(bridge ? { master: `br-${tag}` } : {}), addresses: [`10.${net}.0.${i + 2}/24`] }],
        routes: bridge ? [{ to: 'default', via: `10.${net}.0.1` }] : [{ to: `10.${net + 100}.0.0/16`, dev: 'eth0' }],
      })),
    });
    const specs = [spec('a', 31, 12, true), spec('b', 32, 12, true), spec('c', 33, 10, false), spec('d', 34, 8, true)];
    const doomed = spec('z', 39, 10, true);
    await lib.applyTopology(doomed);
    for (let i = 0; i < 10; i++) (await lib.createNamespace(`del${i}`)).close();
    await lib.createBridge('dump0', { up: true });
    await lib.addAddress('dump0', '10.99.0.1/24');

    // Make sure libuv's pool has its threads before we look at them afterwards.
    await Promise.all(Array.from({ length: 8 }, () => readFile('/proc/self/status')));
    const home = readlinkSync('/proc/self/ns/net');
    const dumps: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      dumps.push(
        lib.listAddresses({ link: 'dump0', family: 4 }).then((a) => expect(a.map((x) => x.cidr)).toEqual(['10.99.0.1/24'])),
        lib.listLinks().then((l) => expect(l.map((x) => x.name)).toContain('dump0')),
        lib.listRoutes().then((r) => expect(r.some((x) => x.to === '10.99.0.0/24' && x.dev === 'dump0')).toBe(true)),
      );
    }
    const [applied, destroyed, deleted, , fsOk, dnsOk] = await Promise.all([
      Promise.all(specs.map((s) => lib.applyTopology(s))),
      lib.destroyTopology(doomed),
      Promise.all(Array.from({ length: 10 }, (_, i) => lib.deleteNamespace(`del${i}`))),
      Promise.all(dumps),
      Promise.all(Array.from({ length: 20 }, () => readFile('/proc/self/status', 'utf8'))),
      Promise.all(Array.from({ length: 5 }, () => lookup('localhost'))),
    ]);
    expect(applied.every((r) => r.items.every((i) => i.ok))).toBe(true);
    expect(destroyed.deletedNamespaces.sort()).toEqual(doomed.namespaces.map((n: any) => n.name).sort());
    expect(destroyed.notOurs).toEqual([]);
    expect(deleted.every((d) => !d.stillReferenced)).toBe(true);
    expect(fsOk.every((t) => t.includes('Name:'))).toBe(true);
    expect(dnsOk.every((a) => a.address === '127.0.0.1' || a.address === '::1')).toBe(true);

    // The kernel's view, namespace by namespace.
    for (const s of specs) {
      for (const n of s.namespaces) {
        const f = n.interfaces[0];
        const addrs = ipJson<{ ifname: string; addr_info: { family: string; local: string; prefixlen: number }[] }[]>(['-4', 'address', 'show'], n.name);
        expect({ ns: n.name, addrs: addrs.flatMap((l) => l.addr_info.map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`)).sort() }).toEqual({
          ns: n.name,
          addrs: [`eth0 ${f.addresses[0]}`, 'lo 127.0.0.1/8'].sort(),
        });
        const routes = ipJson<{ dst: string; gateway?: string; dev: string }[]>(['-4', 'route', 'show'], n.name);
        const want = n.routes[0];
        expect(routes.some((r) => (want.via ? r.dst === 'default' && r.gateway === want.via : r.dst === want.to && r.dev === 'eth0'))).toBe(true);
      }
      if (s.bridges) {
        const ports = ipJson<{ ifname: string }[]>(['link', 'show', 'master', s.bridges[0].name]).map((l) => l.ifname).sort();
        expect(ports).toEqual(s.namespaces.map((n: any) => n.interfaces[0].hostName).sort());
      }
    }
    const names = readdirSync('/run/netns').sort();
    expect(names).toEqual(specs.flatMap((s) => s.namespaces.map((n: any) => n.name)).sort());
    expect(linkNames().filter((l) => l.startsWith('z') || l === 'br-z')).toEqual([]);
    expect((await lib.listLinks()).map((l) => l.name).sort()).toEqual(linkNames());

    // Every thread of this process, libuv's pool included, is home; fs and dns still work.
    const threads = threadNamespaces();
    expect(threads.size).toBeGreaterThan(4);
    for (const [tid, ns] of threads) expect({ tid, ns }).toEqual({ tid, ns: home });
    expect((await readFile('/proc/self/status', 'utf8')).length).toBeGreaterThan(0);
    expect((await lookup('localhost')).address).toMatch(/^(127\.0\.0\.1|::1)$/);
  }, 30_000);
});
