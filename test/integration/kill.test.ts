// RELIABILITY.md item 19: a process killed with SIGKILL at any moment of a bulk apply leaves
// half-built state (a /run/netns file without its mount, a namespace without its veth, a veth
// not yet up or on its bridge, an address missing); applying the same spec again must converge
// to it exactly, and destroy must then leave nothing behind.
//
// A child (test/helpers/kill-child.ts) applies W(30); the test kills it by pid after a delay
// counted from the moment its apply starts. The delays are spread evenly over the measured
// apply duration, with random jitter inside each slot, and a few land after it ended. The seed
// is printed; RTNETLINK_KILL_SEED=S repeats a run's delays, RTNETLINK_KILLS=N sets their number.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');
const { workload, containerAddress } = await import('../../benchmarks/lib/workload.js');

const N = 30;
/** RTNETLINK_KILLS=200 for a soak; 24 keeps `npm test` around 15 s. */
const KILLS = Number(process.env.RTNETLINK_KILLS ?? 24);
const spec = workload(N);
const names = Array.from({ length: N }, (_, i) => `c${i + 1}`);
const helper = fileURLToPath(new URL('../helpers/kill-child.ts', import.meta.url));
const run = promisify(execFile);

// ---- the child ------------------------------------------------------------------------------

interface Victim {
  child: ChildProcess;
  /** Resolves on the child's line `what` (e.g. 'start', 'done'); the text after it. */
  line(what: string): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnVictim(): Victim {
  const child = spawn(process.execPath, ['--import', 'tsx', helper, String(N)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const seen = new Map<string, string>();
  const waiting = new Map<string, (rest: string) => void>();
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const [word = '', ...rest] = buffered.slice(0, nl).split(' ');
      buffered = buffered.slice(nl + 1);
      seen.set(word, rest.join(' '));
      waiting.get(word)?.(rest.join(' '));
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    exited,
    line: (what) =>
      new Promise<string>((resolve, reject) => {
        if (seen.has(what)) return resolve(seen.get(what)!);
        waiting.set(what, resolve);
        void exited.then(({ code, signal }) => reject(new Error(`kill-child exited (${signal ?? code}) before '${what}'`)));
      }),
  };
}

// ---- the kernel's state, as ip sees it -------------------------------------------------------

// Under scripts/asan-build.sh every process inherits the ASan runtime through LD_PRELOAD; ip is
// not under test, and ~100 ip runs per kill each mapping ASan's shadow memory took minutes.
const { LD_PRELOAD: _preload, ...toolEnv } = process.env;

async function ipJson(args: string[]): Promise<any[]> {
  const { stdout } = await run('ip', ['-json', ...args], { encoding: 'utf8', env: toolEnv });
  return JSON.parse(stdout || '[]') as any[];
}

/**
 * Links, addresses and routes inside each namespace, from one shell running ip for all of
 * them: one spawn from this process instead of three per namespace, since forking a process
 * as big as a test runner (and under ASan, with its shadow memory) costs more than ip itself.
 */
async function insideAll(namespaces: string[]): Promise<Map<string, { links: any[]; addrs: any[]; routes: any[] } | string>> {
  const script = 'for ns; do echo "@ $ns"; for what in "-d link" addr route; do ip -json -n "$ns" $what show 2>&1 | tr -d "\\n"; echo; done; done';
  const { stdout } = await run('sh', ['-c', script, 'sh', ...namespaces], { encoding: 'utf8', env: toolEnv, maxBuffer: 64 << 20 });
  const out = new Map<string, { links: any[]; addrs: any[]; routes: any[] } | string>();
  const lines = stdout.split('\n');
  for (let i = 0; i + 3 < lines.length; i += 4) {
    const ns = lines[i]!.slice(2);
    try {
      out.set(ns, { links: JSON.parse(lines[i + 1]!), addrs: JSON.parse(lines[i + 2]!), routes: JSON.parse(lines[i + 3]! || '[]') });
    } catch {
      out.set(ns, `ip fails: ${[lines[i + 1], lines[i + 2], lines[i + 3]].join(' | ').slice(0, 300)}`);
    }
  }
  return out;
}

/** /run/netns mounts: name -> mount root ('net:[inode]') and fs type, one entry per mount. */
function netnsMounts(): { name: string; root: string; fstype: string }[] {
  const out: { name: string; root: string; fstype: string }[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const mountPoint = f[4] ?? '';
    if (!mountPoint.startsWith('/run/netns/')) continue;
    out.push({ name: mountPoint.slice('/run/netns/'.length), root: f[3] ?? '', fstype: f[f.indexOf('-') + 1] ?? '' });
  }
  return out;
}

const sorted = (xs: Iterable<string>) => [...xs].sort();
const same = (a: Iterable<string>, b: Iterable<string>) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
const inet = (l: any): string[] => (l.addr_info ?? []).filter((a: any) => a.family === 'inet').map((a: any) => `${a.local}/${a.prefixlen}`);

/**
 * Every way the kernel's state differs from W(N) built exactly: names, mounts, links and their
 * masters, up flags, veth pairing, addresses, routes; nothing missing and nothing extra.
 */
async function differences(): Promise<string[]> {
  const d: string[] = [];
  const files = readdirSync('/run/netns');
  if (!same(files, names)) d.push(`/run/netns holds [${sorted(files)}]`);
  const mounts = netnsMounts();
  if (!same(mounts.map((m) => m.name), names)) d.push(`mounts under /run/netns: [${sorted(mounts.map((m) => m.name))}]`);
  for (const m of mounts) if (m.fstype !== 'nsfs') d.push(`/run/netns/${m.name} is a ${m.fstype} mount`);
  const roots = new Set(mounts.map((m) => m.root));
  if (roots.size !== mounts.length) d.push(`namespace files share namespaces: ${mounts.map((m) => `${m.name}=${m.root}`).join(' ')}`);

  const [hostLinks, hostAddrs, hostRoutes] = await Promise.all([ipJson(['-d', 'link', 'show']), ipJson(['addr', 'show']), ipJson(['route', 'show'])]);
  const byName = new Map(hostLinks.map((l) => [l.ifname as string, l]));
  const wantHost = ['lo', 'br0', ...names.map((_, i) => `h${i + 1}`)];
  if (!same(byName.keys(), wantHost)) {
    d.push(`host links: extra [${[...byName.keys()].filter((n) => !wantHost.includes(n))}], missing [${wantHost.filter((n) => !byName.has(n))}]`);
  }
  const br0 = byName.get('br0');
  if (br0 && (br0.linkinfo?.info_kind !== 'bridge' || !br0.flags.includes('UP'))) d.push(`br0: kind ${br0.linkinfo?.info_kind}, flags ${br0.flags}`);
  const addrOf = new Map(hostAddrs.map((l) => [l.ifname as string, inet(l)]));
  if (JSON.stringify(addrOf.get('br0')) !== JSON.stringify(['10.200.0.1/16'])) d.push(`br0 addresses: ${JSON.stringify(addrOf.get('br0'))}`);
  const routes = hostRoutes.map((r) => `${r.dst} dev ${r.dev}${r.gateway ? ` via ${r.gateway}` : ''}`);
  if (!same(routes, ['10.200.0.0/16 dev br0'])) d.push(`host routes: ${JSON.stringify(routes)}`);

  const inside = await insideAll(names.filter((ns) => files.includes(ns)));
  const perNs = await Promise.all(
    names.map(async (ns, k) => {
      const i = k + 1;
      const out: string[] = [];
      const host = byName.get(`h${i}`);
      if (host) {
        if (host.linkinfo?.info_kind !== 'veth') out.push(`h${i} is a ${host.linkinfo?.info_kind}`);
        if (host.master !== 'br0') out.push(`h${i} master ${host.master ?? 'none'}`);
        if (!host.flags.includes('UP')) out.push(`h${i} down`);
        if ((addrOf.get(`h${i}`) ?? []).length > 0) out.push(`h${i} has addresses ${addrOf.get(`h${i}`)}`);
      }
      if (!files.includes(ns)) return out;
      const state = inside.get(ns);
      if (state === undefined || typeof state === 'string') return [...out, `${ns}: ${state ?? 'not listed'}`];
      const { links, addrs, routes: nsRoutes } = state;
      const byIfname = new Map(links.map((l) => [l.ifname as string, l]));
      if (!same(byIfname.keys(), ['lo', 'eth0'])) out.push(`${ns} links [${sorted(byIfname.keys())}]`);
      for (const l of links) if (!l.flags.includes('UP')) out.push(`${ns}/${l.ifname} down`);
      const eth0 = byIfname.get('eth0');
      if (eth0 && host && (eth0.link_index !== host.ifindex || host.link_index !== eth0.ifindex)) {
        out.push(`${ns}/eth0 (peer index ${eth0.link_index}) is not the peer of h${i} (index ${host.ifindex})`);
      }
      const a = new Map(addrs.map((l) => [l.ifname as string, inet(l)]));
      if (JSON.stringify(a.get('eth0')) !== JSON.stringify([containerAddress(i)])) out.push(`${ns}/eth0 addresses ${JSON.stringify(a.get('eth0'))}`);
      if (JSON.stringify(a.get('lo')) !== JSON.stringify(['127.0.0.1/8'])) out.push(`${ns}/lo addresses ${JSON.stringify(a.get('lo'))}`);
      const r = nsRoutes.map((x) => `${x.dst} dev ${x.dev}${x.gateway ? ` via ${x.gateway}` : ''}`);
      if (!same(r, ['default dev eth0 via 10.200.0.1', '10.200.0.0/16 dev eth0'])) out.push(`${ns} routes ${JSON.stringify(r)}`);
      return out;
    }),
  );
  return [...d, ...perNs.flat()];
}

/** What is left after destroy: nothing but lo, no namespace files, no mounts. */
async function leftovers(): Promise<string[]> {
  const d: string[] = [];
  const files = readdirSync('/run/netns');
  if (files.length > 0) d.push(`/run/netns holds [${files}]`);
  const mounts = netnsMounts();
  if (mounts.length > 0) d.push(`mounts under /run/netns: [${mounts.map((m) => m.name)}]`);
  const links = (await ipJson(['link', 'show'])).map((l) => l.ifname as string);
  if (!same(links, ['lo'])) d.push(`host links [${links}]`);
  const routes = await ipJson(['route', 'show']);
  if (routes.length > 0) d.push(`host routes ${JSON.stringify(routes)}`);
  return d;
}

/** What a kill left behind, in a few words, for the log. */
async function halfBuilt(): Promise<string> {
  const links = await ipJson(['-d', 'link', 'show']);
  const veths = links.filter((l) => l.linkinfo?.info_kind === 'veth');
  const files = readdirSync('/run/netns');
  const mounted = new Set(netnsMounts().map((m) => m.name));
  return (
    `${files.length} ns files (${files.filter((f) => !mounted.has(f)).length} unmounted), ${veths.length} veths ` +
    `(${veths.filter((l) => l.master !== 'br0').length} off the bridge, ${veths.filter((l) => !l.flags.includes('UP')).length} down)` +
    `${links.some((l) => l.ifname === 'br0') ? '' : ', no bridge'}`
  );
}

// ---- the test -------------------------------------------------------------------------------

/** mulberry32: small, seedable, good enough to place delays. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.skipIf(!inSandbox)(`SIGKILL during a bulk apply (item 19)${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeAll(() => resetSandbox());
  afterAll(() => resetSandbox());

  it(`re-applying W(${N}) after ${KILLS} kills at moments spread over the apply converges exactly, and destroy leaves nothing`, async () => {
    // How long the apply takes here, in a child like the ones to be killed.
    const durations: number[] = [];
    for (let k = 0; k < 2; k++) {
      const v = spawnVictim();
      await v.line('ready');
      v.child.stdin!.write('go\n');
      durations.push(Number(await v.line('done')));
      v.child.stdin!.end();
      await v.exited;
      expect(await differences()).toEqual([]);
      await lib.destroyTopology(spec);
      expect(await leftovers()).toEqual([]);
    }
    const duration = Math.max(...durations);

    // The checker itself: it must see each kind of damage a kill could leave.
    await lib.applyTopology(spec);
    const sh = (cmd: string) => run('sh', ['-c', cmd], { env: toolEnv });
    await sh('ip -n c3 addr flush dev eth0 && ip -n c5 link set eth0 down && ip link set h7 nomaster && ip link add x0 type bridge && touch /run/netns/zz');
    const seen = (await differences()).join('\n');
    for (const damage of ['/run/netns holds', 'extra [x0]', 'h7 master none', 'c5/eth0 down', 'c3/eth0 addresses []', 'c3 routes']) {
      expect(seen).toContain(damage);
    }
    resetSandbox();
    expect(await leftovers()).toEqual([]);

    const seed = Number(process.env.RTNETLINK_KILL_SEED ?? Date.now() % 1_000_000);
    const rand = random(seed);
    // Slot k of KILLS covers [k, k+1) * 1.2 * duration / KILLS: the last sixth are after the end.
    const delays = Array.from({ length: KILLS }, (_, k) => ((k + rand()) * 1.2 * duration) / KILLS);
    const log: string[] = [`apply of W(${N}) takes ${durations.map((x) => x.toFixed(0)).join(', ')} ms; kill seed ${seed}`];
    const failures: string[] = [];

    // The next victim starts while the current one is checked: node + tsx take longer than all else.
    let next = spawnVictim();
    for (const [k, delay] of delays.entries()) {
      const t0 = performance.now();
      const v = next;
      await v.line('ready');
      const tReady = performance.now();
      v.child.stdin!.write('go\n');
      await v.line('start');
      await new Promise((r) => setTimeout(r, delay));
      process.kill(v.child.pid!, 'SIGKILL');
      const { signal } = await v.exited;
      if (k + 1 < delays.length) next = spawnVictim();
      const left = await halfBuilt();
      const what = `kill ${k + 1} at ${delay.toFixed(1)} ms (${signal ?? 'exited'}): left ${left}`;
      try {
        await lib.applyTopology(spec);
      } catch (e) {
        failures.push(`${what}; re-apply failed: ${(e as Error).message}; state: ${(await differences()).join('; ')}`);
        resetSandbox();
        continue;
      }
      const diff = await differences();
      if (diff.length > 0) failures.push(`${what}; after re-apply: ${diff.join('; ')}`);
      try {
        await lib.destroyTopology(spec);
      } catch (e) {
        failures.push(`${what}; destroy failed: ${(e as Error).message}`);
      }
      const rest = await leftovers();
      if (rest.length > 0) failures.push(`${what}; after destroy: ${rest.join('; ')}`);
      log.push(`${what} -> ${diff.length === 0 && rest.length === 0 ? 'converged' : 'NOT converged'} (${(tReady - t0).toFixed(0)} ms waiting for the child, ${(performance.now() - tReady).toFixed(0)} ms for the rest)`);
      resetSandbox();
    }
    console.log(log.join('\n  '));
    expect(failures).toEqual([]);
  }, 120_000 + KILLS * 1_000);
});
