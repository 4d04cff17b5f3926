// The kernel's state after W(N) (benchmarks/lib/workload.ts) was applied, as ip sees it: every
// way it differs from W(N) built exactly, and what is left after destroy. Shared by the tests
// that break an apply (kill.test.ts) or run several at once (concurrent-apply.test.ts).
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { containerAddress } from '../../benchmarks/lib/workload.js';

const run = promisify(execFile);

/** The namespace names of W(N): c1..cN. */
export const containerNames = (n: number) => Array.from({ length: n }, (_, i) => `c${i + 1}`);

// Under scripts/asan-build.sh every process inherits the ASan runtime through LD_PRELOAD; ip is
// not under test, and ~100 ip runs per kill each mapping ASan's shadow memory took minutes.
export const { LD_PRELOAD: _preload, ...toolEnv } = process.env;

export async function ipJsonAsync(args: string[]): Promise<any[]> {
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
export function netnsMounts(): { name: string; root: string; fstype: string }[] {
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

type Inside = Map<string, { links: any[]; addrs: any[]; routes: any[] } | string>;

/**
 * The same as insideAll, read by this library's own dumps (in the shape ip prints): hundreds
 * of namespaces in a few ms, where `ip -n` takes ~10 ms per namespace and command (it makes a
 * mount namespace and mounts sysfs each time). differences() cross-checks a sample with ip.
 */
async function insideByNetlink(namespaces: string[]): Promise<Inside> {
  const lib = await import('../../lib/index.js');
  const out: Inside = new Map();
  await Promise.all(
    namespaces.map(async (name) => {
      let ns;
      try {
        ns = await lib.openNamespace(name);
        const [links, addrs, routes] = await Promise.all([ns.listLinks(), ns.listAddresses(), ns.listRoutes({ family: 4 })]);
        out.set(name, {
          links: links.map((l) => ({ ifname: l.name, ifindex: l.index, flags: l.flags, ...(l.linkIndex !== undefined ? { link_index: l.linkIndex } : {}) })),
          addrs: links.map((l) => ({
            ifname: l.name,
            addr_info: addrs.filter((a) => a.index === l.index).map((a) => ({ family: a.family === 4 ? 'inet' : 'inet6', local: a.address, prefixlen: a.prefixLen })),
          })),
          routes: routes.filter((r) => r.type === 'unicast').map((r) => ({ dst: r.to, dev: r.dev, ...(r.via !== undefined ? { gateway: r.via } : {}) })),
        });
      } catch (e) {
        out.set(name, `cannot read: ${(e as Error).message}`);
      } finally {
        ns?.close();
      }
    }),
  );
  return out;
}

export interface DifferencesOptions {
  /** How to read the state inside the namespaces: ip for every one (the default), or this
   *  library's dumps for every one and ip for `sample` of them, compared with the dumps. */
  inside?: 'ip' | { netlink: true; sample: number };
}

/**
 * Every way the kernel's state differs from W(N) built exactly: names, mounts, links and their
 * masters, up flags, veth pairing, addresses, routes; nothing missing and nothing extra.
 */
export async function differences(n: number, opts: DifferencesOptions = {}): Promise<string[]> {
  const names = containerNames(n);
  const d: string[] = [];
  const files = readdirSync('/run/netns');
  if (!same(files, names)) d.push(`/run/netns holds [${sorted(files)}]`);
  const mounts = netnsMounts();
  if (!same(mounts.map((m) => m.name), names)) d.push(`mounts under /run/netns: [${sorted(mounts.map((m) => m.name))}]`);
  for (const m of mounts) if (m.fstype !== 'nsfs') d.push(`/run/netns/${m.name} is a ${m.fstype} mount`);
  const roots = new Set(mounts.map((m) => m.root));
  if (roots.size !== mounts.length) d.push(`namespace files share namespaces: ${mounts.map((m) => `${m.name}=${m.root}`).join(' ')}`);

  const [hostLinks, hostAddrs, hostRoutes] = await Promise.all([ipJsonAsync(['-d', 'link', 'show']), ipJsonAsync(['addr', 'show']), ipJsonAsync(['route', 'show'])]);
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

  const present = names.filter((ns) => files.includes(ns));
  let inside: Inside;
  if (opts.inside === undefined || opts.inside === 'ip') {
    inside = await insideAll(present);
  } else {
    inside = await insideByNetlink(present);
    // The dumps must say what ip says, for a random sample.
    const sample = [...present].sort(() => Math.random() - 0.5).slice(0, opts.inside.sample);
    const viaIp = await insideAll(sample);
    for (const ns of sample) {
      const a = summary(inside.get(ns));
      const b = summary(viaIp.get(ns));
      if (a !== b) d.push(`${ns}: the library reads ${a}, ip reads ${b}`);
    }
  }
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

/** What differences() compares of one namespace, as one string. */
function summary(state: { links: any[]; addrs: any[]; routes: any[] } | string | undefined): string {
  if (state === undefined || typeof state === 'string') return String(state);
  const links = state.links.map((l) => `${l.ifname}#${l.ifindex}>${l.link_index ?? ''}:${l.flags.includes('UP') ? 'up' : 'down'}`);
  const addrs = state.addrs.flatMap((l) => inet(l).map((a) => `${l.ifname}=${a}`));
  const routes = state.routes.map((x) => `${x.dst} dev ${x.dev}${x.gateway ? ` via ${x.gateway}` : ''}`);
  return JSON.stringify([sorted(links), sorted(addrs), sorted(routes)]);
}

/** What is left after destroy: nothing but lo, no namespace files, no mounts. */
export async function leftovers(): Promise<string[]> {
  const d: string[] = [];
  const files = readdirSync('/run/netns');
  if (files.length > 0) d.push(`/run/netns holds [${files}]`);
  const mounts = netnsMounts();
  if (mounts.length > 0) d.push(`mounts under /run/netns: [${mounts.map((m) => m.name)}]`);
  const links = (await ipJsonAsync(['link', 'show'])).map((l) => l.ifname as string);
  if (!same(links, ['lo'])) d.push(`host links [${links}]`);
  const routes = await ipJsonAsync(['route', 'show']);
  if (routes.length > 0) d.push(`host routes ${JSON.stringify(routes)}`);
  return d;
}

/** What a kill left behind, in a few words, for the log. */
export async function halfBuilt(): Promise<string> {
  const links = await ipJsonAsync(['-d', 'link', 'show']);
  const veths = links.filter((l) => l.linkinfo?.info_kind === 'veth');
  const files = readdirSync('/run/netns');
  const mounted = new Set(netnsMounts().map((m) => m.name));
  return (
    `${files.length} ns files (${files.filter((f) => !mounted.has(f)).length} unmounted), ${veths.length} veths ` +
    `(${veths.filter((l) => l.master !== 'br0').length} off the bridge, ${veths.filter((l) => !l.flags.includes('UP')).length} down)` +
    `${links.some((l) => l.ifname === 'br0') ? '' : ', no bridge'}`
  );
}
