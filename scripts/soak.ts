// Soak test (RELIABILITY.md item 22): create / configure / delete cycles with the error paths
// taken on purpose, watching what this process holds: fds, mounts under /run/netns, /run/netns
// entries, host links, RSS, and the network namespace of every one of its threads.
//
//   scripts/sandbox npx tsx scripts/soak.ts --cycles 10000 [--json]
//
// Prints a JSON summary (one line with --json) and exits 1 when anything did not come back to
// the baseline taken after the warm-up cycles (the first cycles open the library's long-lived
// sockets and grow V8's heap: they are not leaks). RSS is judged by its trail: it climbs by
// some 30 MiB over the first few thousand cycles here (malloc arenas of the addon's threads,
// V8's code and heap reservations) and then stays flat; a leak would keep climbing.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as lib from '../lib/index.js';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '10000' },
    warmup: { type: 'string' },
    json: { type: 'boolean', default: false },
    // RSS may grow this much over the run (allocator and V8 high-water marks)...
    'rss-limit-mib': { type: 'string', default: '64' },
    // ...but only this much over its second half, where a leak keeps climbing.
    'rss-late-limit-mib': { type: 'string', default: '8' },
  },
});
const cycles = Number(values.cycles);
const warmup = values.warmup !== undefined ? Number(values.warmup) : Math.min(50, Math.floor(cycles / 10));
const rssLimitMiB = Number(values['rss-limit-mib']);
const rssLateLimitMiB = Number(values['rss-late-limit-mib']);
if (!Number.isInteger(cycles) || cycles < 1 || !Number.isInteger(warmup) || warmup < 0 || warmup >= cycles) {
  console.error('usage: soak.ts --cycles N (N >= 1) [--warmup W < N] [--json] [--rss-limit-mib M]');
  process.exit(2);
}

// It creates and deletes namespaces and links by the thousand: never on the machine itself.
const here = readlinkSync('/proc/self/ns/net');
if (process.env.RTNETLINK_SANDBOX !== '1' || here !== process.env.RTNETLINK_SANDBOX_NETNS) {
  console.error('soak.ts: run it inside scripts/sandbox (scripts/sandbox npx tsx scripts/soak.ts)');
  process.exit(2);
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Snapshot {
  fds: number;
  netnsMounts: number;
  netnsEntries: number;
  hostLinks: number;
  rssMiB: number;
  heapMiB: number;
  /** Memory V8 knows of outside its heap (Buffers from the addon among it). */
  externalMiB: number;
  threads: number;
  /** Threads (by tid) not in the process's namespace, with the one they are in. */
  threadsOutsideHome: string[];
}

/** Waits until the kernel has finished destroying deleted namespaces (their veths go last). */
async function settle(): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const left = (await lib.listLinks()).filter((l) => l.name?.startsWith('sk'));
    if (left.length === 0) return;
    await lib.waitForLinksGone(left.map((l) => l.index), { timeout: 100 }).catch(() => {});
  }
}

async function snapshot(): Promise<Snapshot> {
  await settle();
  // Dropped handles are closed by finalizers, which run after a collection.
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
  const threads = readdirSync('/proc/self/task');
  const outside: string[] = [];
  for (const tid of threads) {
    try {
      const ns = readlinkSync(`/proc/self/task/${tid}/ns/net`);
      if (ns !== here) outside.push(`${tid}:${ns}`);
    } catch {
      // exited meanwhile
    }
  }
  const mem = process.memoryUsage();
  return {
    fds: readdirSync('/proc/self/fd').length,
    netnsMounts: readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(' /run/netns/')).length,
    netnsEntries: readdirSync('/run/netns').length,
    hostLinks: (await lib.listLinks()).length,
    rssMiB: Math.round((mem.rss / 2 ** 20) * 10) / 10,
    heapMiB: Math.round((mem.heapUsed / 2 ** 20) * 10) / 10,
    externalMiB: Math.round((mem.external / 2 ** 20) * 10) / 10,
    threads: threads.length,
    threadsOutsideHome: outside,
  };
}

const unexpected: string[] = [];
let errorPaths = 0;

/** An error path: `fn` must fail with `code`. */
async function expectCode(what: string, code: string, fn: () => Promise<unknown>): Promise<void> {
  errorPaths++;
  try {
    await fn();
    unexpected.push(`${what}: succeeded, expected ${code}`);
  } catch (e) {
    const got = (e as { code?: unknown }).code;
    if (got !== code) unexpected.push(`${what}: ${String(got)} (${(e as Error).message}), expected ${code}`);
  }
}

function check(what: string, ok: boolean): void {
  if (!ok) unexpected.push(what);
}

async function cycle(i: number): Promise<void> {
  const name = `soak${i}`;
  const host = `sk${i}`;
  const ns = await lib.createNamespace(name);
  try {
    await lib.createVethPair({ name: host, up: true, peer: { name: 'eth0', netns: ns } });
    await Promise.all([ns.setLinkUp('lo'), ns.setLinkUp('eth0'), ns.addAddress('eth0', '10.200.0.2/24'), lib.addAddress(host, '10.200.0.1/24')]);
    await ns.addRoute({ to: 'default', via: '10.200.0.1' });
    await ns.setSysctl('net.ipv4.ip_forward', 1);
    const [addrs, routes, forwarding] = await Promise.all([ns.listAddresses({ family: 4 }), ns.listRoutes(), ns.getSysctl('net.ipv4.ip_forward')]);
    check(`${name}: address`, addrs.some((a) => a.cidr === '10.200.0.2/24' && a.link === 'eth0'));
    check(`${name}: default route`, routes.some((r) => r.to === 'default' && r.via === '10.200.0.1'));
    check(`${name}: forwarding`, forwarding === '1');

    await expectCode('duplicate namespace', 'EEXIST', () => lib.createNamespace(name));
    await expectCode('duplicate address', 'EEXIST', () => ns.addAddress('eth0', '10.200.0.2/24'));
    await expectCode('missing link', 'ENODEV', () => ns.deleteLink('nope0'));
    await expectCode('missing namespace', 'ENOENT', () => lib.openNamespace('soak-missing'));
    await expectCode('delete missing namespace', 'ENOENT', () => lib.deleteNamespace('soak-missing'));
    await expectCode('injected failure', 'ECANCELED', () => lib.createNamespace(`${name}x`, { failAfterStep: 1 + (i % 3) }));
    await expectCode('veth peer name taken', 'EEXIST', () => lib.createVethPair({ name: `${host}x`, peer: { name: 'eth0', netns: ns } }));
    await expectCode('unreachable gateway', 'ENETUNREACH', () => ns.addRoute({ to: '10.9.0.0/16', via: '10.99.0.1' }));
    await expectCode('bad interface name', 'ERR_INVALID_IFNAME', () => ns.createBridge('bad name'));

    if (i % 10 === 0) {
      const monitor = await lib.monitorLinks({ netns: ns });
      monitor.close();
      // Dropped without close(): the finalizer must release it.
      await (await lib.createNamespace()).listLinks();
    }
    if (i % 10 === 5) {
      const h = await lib.openNamespace(name);
      const pending = h.listLinks();
      h.close();
      await expectCode('closed while pending', 'ERR_NETLINK_CLOSED', () => pending);
    }
    if (i % 100 === 50) {
      const { stdout } = await ns.execFile('cat', ['/proc/sys/net/ipv4/ip_forward']);
      check(`${name}: exec`, stdout.trim() === '1');
    }
  } finally {
    ns.close();
  }
  // Deleting a link waits for an RCU grace period (~30 ms here); the kernel's cleanup of a
  // deleted namespace takes its veth along, batched, later. Both paths, mostly the fast one.
  if (i % 20 === 0) await lib.deleteLink(host);
  const deleted = await lib.deleteNamespace(name);
  check(`${name}: still referenced after delete`, !deleted.stillReferenced);
}

const start = await snapshot();
const started = performance.now();
let baseline: Snapshot | undefined;
// RSS (after a collection) every tenth of the run: a leak climbs steadily, while the
// allocator's and V8's high-water marks level off.
const rssTrailMiB: number[] = [];
const every = Math.max(1, Math.floor(cycles / 10));
for (let i = 0; i < cycles; i++) {
  if (i === warmup) baseline = await snapshot();
  if (i > warmup && i % every === 0) {
    gc();
    rssTrailMiB.push(Math.round((process.memoryUsage().rss / 2 ** 20) * 10) / 10);
  }
  try {
    await cycle(i);
  } catch (e) {
    unexpected.push(`cycle ${i}: ${(e as Error).stack ?? String(e)}`);
    if (unexpected.length > 50) break;
  }
  if (!values.json && i > 0 && i % 1000 === 0) console.error(`soak: ${i} cycles, ${unexpected.length} unexpected, rss ${rssTrailMiB.at(-1)} MiB`);
}
const elapsedMs = performance.now() - started;
const end = await snapshot();
baseline ??= start;

const failures: string[] = [];
const same = (k: 'fds' | 'netnsMounts' | 'netnsEntries' | 'hostLinks') => {
  if (end[k] !== baseline[k]) failures.push(`${k}: ${baseline[k]} -> ${end[k]}`);
};
same('fds');
same('netnsMounts');
same('netnsEntries');
same('hostLinks');
if (baseline.threadsOutsideHome.length > 0 || end.threadsOutsideHome.length > 0) failures.push('a thread is outside the home namespace');
if (end.rssMiB - baseline.rssMiB > rssLimitMiB) failures.push(`rss grew ${(end.rssMiB - baseline.rssMiB).toFixed(1)} MiB (limit ${rssLimitMiB})`);
const midway = rssTrailMiB[Math.floor(rssTrailMiB.length / 2)] ?? baseline.rssMiB;
const lateGrowth = Math.round((end.rssMiB - midway) * 10) / 10;
if (lateGrowth > rssLateLimitMiB) failures.push(`rss grew ${lateGrowth} MiB over the second half (limit ${rssLateLimitMiB}): a leak?`);
if (unexpected.length > 0) failures.push(`${unexpected.length} unexpected results`);

const summary = {
  cycles,
  warmup,
  elapsedMs: Math.round(elapsedMs),
  msPerCycle: Math.round((elapsedMs / cycles) * 100) / 100,
  errorPaths,
  home: here,
  start,
  baseline,
  end,
  rssGrowthMiB: Math.round((end.rssMiB - baseline.rssMiB) * 10) / 10,
  rssTrailMiB,
  rssGrowthSecondHalfMiB: lateGrowth,
  unexpected: unexpected.slice(0, 20),
  failures,
  ok: failures.length === 0,
};
console.log(values.json ? JSON.stringify(summary) : JSON.stringify(summary, null, 2));
process.exitCode = summary.ok ? 0 : 1;
