// Checks the state W(N) must leave (README, "Performance"), identically for every
// implementation, by reading it back with `ip -json`: an independent witness, not the
// library under test.
//
//   tsx benchmarks/verify.ts N        verifyW(N): the N containers on br0 are all there
//   tsx benchmarks/verify.ts --clean  verifyClean(): nothing of W is left
//
// Run it where the state is, i.e. inside the same scripts/sandbox as the peer.
import { execFile, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const NETNS_DIR = '/run/netns';

interface AddrInfo { family: string; local: string; prefixlen: number }
interface Link {
  ifindex: number;
  ifname: string;
  flags: string[];
  master?: string;
  link_index?: number;
  link_netnsid?: number;
  addr_info?: AddrInfo[];
}
interface Route { dst: string; gateway?: string; dev?: string }

async function ipJson<T>(...args: string[]): Promise<T> {
  const { stdout } = await run('ip', ['-json', ...args], { maxBuffer: 256 << 20 });
  return JSON.parse(stdout || '[]') as T;
}

/**
 * Runs `ip -json -batch -` inside namespace `ns`: one JSON array per command, each on its own
 * line. Entered with `nsenter --net` rather than `ip -n`, which also unshares the mount
 * namespace and remounts /sys (twice the cost with 1000 namespaces present).
 */
function ipBatchIn(ns: string, commands: string[]): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    const args = [`--net=${NETNS_DIR}/${ns}`, 'ip', '-json', '-batch', '-'];
    const child = spawn('nsenter', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`nsenter ${args.join(' ')}: exit ${code}: ${err.trim()}`));
      const lines = out.split('\n').filter((l) => l.trim() !== '');
      if (lines.length !== commands.length)
        return reject(new Error(`nsenter ${args.join(' ')}: ${lines.length} outputs for ${commands.length} commands`));
      resolve(lines.map((l) => JSON.parse(l) as unknown[]));
    });
    child.stdin.end(commands.join('\n') + '\n');
  });
}

/** Maps over items with at most `limit` promises in flight. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const k = next++;
      results[k] = await fn(items[k]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const isUp = (l: Link) => l.flags.includes('UP');
const hasAddr = (l: Link, local: string, prefixlen: number) =>
  (l.addr_info ?? []).some((a) => a.family === 'inet' && a.local === local && a.prefixlen === prefixlen);

/** The address of container i: 10.200.<floor(i/250)>.<i%250+2>. */
export function containerAddress(i: number): string {
  return `10.200.${Math.floor(i / 250)}.${(i % 250) + 2}`;
}

async function netnsNames(): Promise<string[]> {
  try {
    return await readdir(NETNS_DIR);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

const H_LINK = /^h\d+$/;
const C_NETNS = /^c\d+$/;

/**
 * Throws (with every problem found, up to a few dozen) unless the host has br0 up with
 * 10.200.0.1/16 and exactly the containers c1..cN: each a namespace in /run/netns whose eth0
 * (up, right address, default route via 10.200.0.1 dev eth0, lo up) is the peer of h<i>
 * (up, master br0).
 */
export async function verifyW(n: number): Promise<void> {
  const problems: string[] = [];
  const fail = (msg: string) => problems.push(msg);

  const [hostLinks, namespaces, nsids] = await Promise.all([
    ipJson<Link[]>('addr', 'show'),
    netnsNames(),
    ipJson<{ name: string; id?: number }[]>('netns', 'list'),
  ]);
  const byName = new Map(hostLinks.map((l) => [l.ifname, l]));
  const nsid = new Map(nsids.map((x) => [x.name, x.id]));

  const br = byName.get('br0');
  if (!br) fail('no br0');
  else {
    if (!isUp(br)) fail('br0 is not up');
    if (!hasAddr(br, '10.200.0.1', 16)) fail('br0 lacks 10.200.0.1/16');
  }
  const hLinks = hostLinks.filter((l) => H_LINK.test(l.ifname));
  if (hLinks.length !== n) fail(`${hLinks.length} h<i> links in the host, expected ${n}`);
  const cNames = namespaces.filter((x) => C_NETNS.test(x));
  if (cNames.length !== n) fail(`${cNames.length} c<i> namespaces in ${NETNS_DIR}, expected ${n}`);

  const indexes = Array.from({ length: n }, (_, k) => k + 1);
  const limit = Number(process.env.VERIFY_CONCURRENCY) || 2 * availableParallelism();
  await mapLimit(indexes, limit, async (i) => {
    const h = byName.get(`h${i}`);
    if (!h) return fail(`no h${i}`);
    if (!isUp(h)) fail(`h${i} is not up`);
    if (h.master !== 'br0') fail(`h${i} has master ${h.master ?? 'none'}, not br0`);
    const ns = `c${i}`;
    if (!namespaces.includes(ns)) return fail(`no ${NETNS_DIR}/${ns}`);
    if (nsid.get(ns) !== undefined && h.link_netnsid !== nsid.get(ns))
      fail(`h${i}'s peer is in netns id ${h.link_netnsid}, ${ns} has id ${nsid.get(ns)}`);
    let links: Link[], routes: Route[];
    try {
      [links, routes] = (await ipBatchIn(ns, ['addr show', 'route show'])) as [Link[], Route[]];
    } catch (e) {
      return fail(`${ns}: ${(e as Error).message}`);
    }
    const lo = links.find((l) => l.ifname === 'lo');
    const eth0 = links.find((l) => l.ifname === 'eth0');
    if (!lo || !isUp(lo)) fail(`${ns}: lo is not up`);
    if (!eth0) return fail(`${ns}: no eth0`);
    if (!isUp(eth0)) fail(`${ns}: eth0 is not up`);
    if (eth0.link_index !== h.ifindex || h.link_index !== eth0.ifindex)
      fail(`${ns}: eth0 is not the peer of h${i}`);
    const addr = containerAddress(i);
    if (!hasAddr(eth0, addr, 16)) fail(`${ns}: eth0 lacks ${addr}/16`);
    if (!routes.some((r) => r.dst === 'default' && r.gateway === '10.200.0.1' && r.dev === 'eth0'))
      fail(`${ns}: no default route via 10.200.0.1 dev eth0`);
  });

  if (problems.length > 0) {
    const shown = problems.slice(0, 40).join('\n  ');
    const more = problems.length > 40 ? `\n  ... and ${problems.length - 40} more` : '';
    throw new Error(`W(${n}) is not in place:\n  ${shown}${more}`);
  }
}

/**
 * Throws unless nothing of W is left: no br0, no h<i>, nothing in /run/netns (the sandbox's
 * is private), and inside scripts/sandbox (RTNETLINK_SANDBOX=1) no link at all but lo.
 * Outside the sandbox, links that are not W's are none of its business.
 */
export async function verifyClean(): Promise<void> {
  const [links, namespaces] = await Promise.all([ipJson<Link[]>('link', 'show'), netnsNames()]);
  const sandbox = process.env.RTNETLINK_SANDBOX === '1';
  const left = links
    .map((l) => l.ifname)
    .filter((name) => (sandbox ? name !== 'lo' : name === 'br0' || H_LINK.test(name)));
  const nsLeft = sandbox ? namespaces : namespaces.filter((x) => C_NETNS.test(x));
  const problems = [
    ...(left.length ? [`links left: ${left.slice(0, 20).join(' ')}${left.length > 20 ? ' ...' : ''}`] : []),
    ...(nsLeft.length ? [`${NETNS_DIR} entries left: ${nsLeft.slice(0, 20).join(' ')}${nsLeft.length > 20 ? ' ...' : ''}`] : []),
  ];
  if (problems.length > 0) throw new Error(`not clean:\n  ${problems.join('\n  ')}`);
}

async function main(argv: string[]): Promise<number> {
  const t0 = performance.now();
  if (argv[0] === '--clean' && argv.length === 1) {
    await verifyClean();
    console.log(`clean (${(performance.now() - t0).toFixed(0)} ms)`);
    return 0;
  }
  const n = Number(argv[0]);
  if (argv.length !== 1 || !Number.isInteger(n) || n < 1) {
    console.error('usage: tsx benchmarks/verify.ts N | --clean');
    return 2;
  }
  await verifyW(n);
  console.log(`W(${n}) verified (${(performance.now() - t0).toFixed(0)} ms)`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error((e as Error).message);
      process.exit(1);
    },
  );
}
