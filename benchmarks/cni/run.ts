// `npm run bench:cni`: the rtnetlink CNI plugin (native shim + daemon) against the reference
// `bridge` + `host-local` (Debian's containernetworking-plugins), same config but `type`, same
// libcni client (test/cni/client), interleaved in one sandbox:
//   - ADD, CHECK, DEL per container, one at a time (time of each libcni call);
//   - VERSION (libcni's GetVersionInfo: one plugin exec);
//   - 100 containers added with concurrency 10 (throughput);
//   - `podman run --rm` on a network of each plugin.
// Writes benchmarks/results/cni.json and cni.svg, and prints the README table.
//   scripts/sandbox tsx benchmarks/cni/run.ts [--rounds 3] [--containers 30] [--no-podman]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, SOCKET, addNetns, buildClient, client, cniToolsMissing, mountTmpfs, pluginDir, startDaemon, unmount, workDir, writeConflist } from '../../test/cni/harness.js';
import { podmanMissing, setUpPodman } from '../../test/cni/podman.js';
import { native } from '../../lib/native.js';
import { renderCniChart } from './chart.js';
import { median } from '../lib/stats.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, containers: { type: 'string', default: '30' }, 'no-podman': { type: 'boolean' }, out: { type: 'string' } },
});
const ROUNDS = Number(values.rounds);
const N = Number(values.containers);

if (process.env.RTNETLINK_SANDBOX !== '1') {
  console.error('bench:cni must run inside scripts/sandbox (npm run bench:cni does that)');
  process.exit(77);
}
const missing = cniToolsMissing();
if (missing) {
  console.error(`bench:cni: ${missing}`);
  process.exit(1);
}

type Impl = 'reference' | 'ours';
const IMPLS: Impl[] = ['reference', 'ours'];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))]!;

const work = workDir('bench-cni');
mountTmpfs('/run/rtnetlink');
const bin = pluginDir(work);
const cniclient = buildClient(work);
const daemon = await startDaemon(SOCKET);

function plugin(impl: Impl) {
  const k = impl === 'reference' ? 1 : 2;
  return {
    type: impl === 'reference' ? 'bridge' : 'rtnetlink',
    bridge: `bench-br${k}`,
    isGateway: true,
    isDefaultGateway: true,
    ipMasq: true,
    hairpinMode: true,
    ipam: { type: 'host-local', dataDir: join(work, 'networks'), ranges: [[{ subnet: `10.${100 + k}.0.0/16` }]] },
  };
}
const conflists = Object.fromEntries(IMPLS.map((i) => [i, writeConflist(work, `bench-${i}`, plugin(i))])) as Record<Impl, string>;

async function bench(impl: Impl, prefix: string, count: number, concurrency: number, ops: string) {
  const r = await client(cniclient, 'bench', { conflist: conflists[impl], bindir: bin, cachedir: join(work, 'cache'), prefix, count, concurrency, ops });
  if (r.status !== 0) throw new Error(`${impl} ${ops}: ${r.stdout}`);
  return r.json as { ms: Record<string, number[]>; wallMs: Record<string, number> };
}

function withNamespaces<T>(prefix: string, count: number, fn: () => Promise<T>): Promise<T> {
  for (let i = 0; i < count; i++) addNetns(`${prefix}${i}`);
  return fn().finally(() => {
    for (let i = 0; i < count; i++) execFileSync('ip', ['netns', 'delete', `${prefix}${i}`]);
  });
}

const per: Record<Impl, Record<string, number[]>> = { reference: { add: [], check: [], del: [], version: [] }, ours: { add: [], check: [], del: [], version: [] } };
const concurrent: Record<Impl, number[]> = { reference: [], ours: [] };
const podmanRun: Record<Impl, number[]> = { reference: [], ours: [] };

// Warm-up: one container each (bridge creation, first JIT of the daemon).
for (const impl of IMPLS) await withNamespaces(`w${impl[0]}`, 2, () => bench(impl, `w${impl[0]}`, 2, 1, 'add,check,del'));

for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? IMPLS : [...IMPLS].reverse();
  for (const impl of order) {
    const prefix = `${impl[0]}${round}x`;
    const r = await withNamespaces(prefix, N, () => bench(impl, prefix, N, 1, 'add,check,del'));
    for (const op of ['add', 'check', 'del']) per[impl][op]!.push(...r.ms[op]!);
    const v = await bench(impl, 'v', 20, 1, 'version');
    per[impl].version!.push(...v.ms.version!);
    console.error(`round ${round + 1} ${impl}: ADD ${median(r.ms.add!).toFixed(2)} CHECK ${median(r.ms.check!).toFixed(2)} DEL ${median(r.ms.del!).toFixed(2)} VERSION ${median(v.ms.version!).toFixed(2)} ms`);
  }
  for (const impl of order) {
    const prefix = `${impl[0]}${round}c`;
    const r = await withNamespaces(prefix, 100, async () => {
      const added = await bench(impl, prefix, 100, 10, 'add');
      await bench(impl, prefix, 100, 10, 'del');
      return added;
    });
    const perSecond = 100 / (r.wallMs.add! / 1000);
    concurrent[impl].push(perSecond);
    console.error(`round ${round + 1} ${impl}: 100 ADDs, concurrency 10: ${r.wallMs.add!.toFixed(0)} ms (${perSecond.toFixed(0)}/s)`);
  }
}

if (!values['no-podman'] && podmanMissing() === undefined) {
  // Both networks in podman's config folder: the same config but `type`, as above.
  const forPodman = (impl: Impl) => {
    const { type, ...rest } = plugin(impl);
    return { type, rest: { ...rest, ipam: { ...rest.ipam, dataDir: join(work, 'pm-networks') } } };
  };
  const ours = forPodman('ours');
  const podman = setUpPodman(join(work, 'podman'), native.cniShim, ours.rest, 'pm-ours', 'rtnetlink', { bridge: '/usr/lib/cni/bridge', 'host-local': '/usr/lib/cni/host-local' });
  const ref = forPodman('reference');
  writeFileSync(join(work, 'podman', 'net.d', 'pm-reference.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'pm-reference', plugins: [{ type: ref.type, ...ref.rest }] }));
  for (const impl of IMPLS) podman.run(['run', '--rm', '--network', `pm-${impl}`, '--cgroups=disabled', podman.image, 'true']);
  for (let i = 0; i < ROUNDS * 3; i++) {
    for (const impl of i % 2 === 0 ? IMPLS : [...IMPLS].reverse()) {
      const t0 = performance.now();
      podman.run(['run', '--rm', '--network', `pm-${impl}`, '--cgroups=disabled', podman.image, 'true']);
      podmanRun[impl].push(performance.now() - t0);
    }
  }
  podman.cleanup();
}

await daemon.stop();
unmount('/run/rtnetlink');

const date = new Date().toISOString();
// Object.fromEntries types its keys as string: the pairs are typed as one per implementation.
const summary = Object.fromEntries(
  IMPLS.map((impl): [Impl, Record<string, number | null>] => [
    impl,
    {
      addMs: median(per[impl].add!),
      addP90Ms: p90(per[impl].add!),
      checkMs: median(per[impl].check!),
      delMs: median(per[impl].del!),
      delP90Ms: p90(per[impl].del!),
      versionMs: median(per[impl].version!),
      concurrentAddsPerSecond: median(concurrent[impl]),
      podmanRunMs: podmanRun[impl].length ? median(podmanRun[impl]) : null,
    },
  ]),
) as Record<Impl, Record<string, number | null>>;
const ratio = (k: string, higherIsBetter = false) => {
  const r = summary.reference[k]!, o = summary.ours[k]!;
  return r === null || o === null ? null : higherIsBetter ? o / r : r / o;
};
const result = {
  date,
  rounds: ROUNDS,
  containersPerRound: N,
  summary,
  speedup: { add: ratio('addMs'), check: ratio('checkMs'), del: ratio('delMs'), version: ratio('versionMs'), concurrentAdds: ratio('concurrentAddsPerSecond', true), podmanRun: ratio('podmanRunMs') },
  raw: { per, concurrent, podmanRun },
};
const outDir = values.out ?? join(ROOT, 'benchmarks/results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'cni.json'), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(
  join(outDir, 'cni.svg'),
  renderCniChart(
    [
      { label: 'ADD', reference: summary.reference.addMs!, ours: summary.ours.addMs! },
      { label: 'CHECK', reference: summary.reference.checkMs!, ours: summary.ours.checkMs! },
      { label: 'DEL', reference: summary.reference.delMs!, ours: summary.ours.delMs! },
      { label: 'VERSION', reference: summary.reference.versionMs!, ours: summary.ours.versionMs! },
      { label: '100 ADDs ×10 (ms/ctr)', reference: 1000 / summary.reference.concurrentAddsPerSecond!, ours: 1000 / summary.ours.concurrentAddsPerSecond! },
      ...(summary.ours.podmanRunMs !== null ? [{ label: 'podman run', reference: summary.reference.podmanRunMs!, ours: summary.ours.podmanRunMs! }] : []),
    ],
    date,
  ),
);
const f = (v: number | null | undefined, d = 2) => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d));
console.log(`| operation (median) | reference bridge + host-local | rtnetlink shim + daemon | ours is faster |`);
console.log(`|---|---:|---:|---:|`);
console.log(`| ADD (ms) | ${f(summary.reference.addMs)} | ${f(summary.ours.addMs)} | ${f(result.speedup.add, 1)}× |`);
console.log(`| CHECK (ms) | ${f(summary.reference.checkMs)} | ${f(summary.ours.checkMs)} | ${f(result.speedup.check, 1)}× |`);
console.log(`| DEL (ms) | ${f(summary.reference.delMs)} | ${f(summary.ours.delMs)} | ${f(result.speedup.del, 1)}× |`);
console.log(`| VERSION (ms) | ${f(summary.reference.versionMs)} | ${f(summary.ours.versionMs)} | ${f(result.speedup.version, 1)}× |`);
console.log(`| 100 ADDs, concurrency 10 (containers/s) | ${f(summary.reference.concurrentAddsPerSecond, 0)} | ${f(summary.ours.concurrentAddsPerSecond, 0)} | ${f(result.speedup.concurrentAdds, 1)}× |`);
console.log(`| podman run --rm … true (ms) | ${f(summary.reference.podmanRunMs, 0)} | ${f(summary.ours.podmanRunMs, 0)} | ${f(result.speedup.podmanRun, 1)}× |`);
process.exit(0);
