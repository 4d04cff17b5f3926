// Where W(N)'s setup time goes, against the C floor: the whole applyTopology, split at the
// moment its first namespace job reaches the addon (before it: checking the spec, the bridge and
// encoding that first job, with the code still cold; after it: the namespaces); the addon alone,
// given every namespace's requests encoded beforehand (its jobs submitted at once, as the
// library's would be if JS took no time); and the JS alone, in a fresh process with no kernel
// work (checking the spec, then building and encoding each namespace's plan). Each run in its
// own sandbox, interleaved, the kernel settled before each; what the library and the addon
// alone made is read back with verify.ts, as every implementation's is. The library is the
// shipped build (dist/, `npm run build` first) unless RTNETLINK_BENCH_SOURCE=1.
//   npm run build && npx tsx benchmarks/setup-parts.ts [--n 200] [--reps 5]
import { parseArgs } from 'node:util';
import { floorSetup, runSandboxed } from './lib/sandboxed.js';
import { median } from './lib/stats.js';
import { letKernelSettle } from './lib/settle.js';
import { libraryModule, loadLibrary } from './lib/library.js';
import { workload } from './lib/workload.js';
import { verifyW } from './verify.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '200' }, reps: { type: 'string', default: '5' }, child: { type: 'string' } } });
const n = Number(values.n);

type Provision = typeof import('../lib/provision.js');
type Apply = typeof import('../lib/topology/apply.js');
type Spec = typeof import('../lib/topology/spec.js');

/** Every namespace's addon item, as applyTopology would encode it with br0 at `bridgeIndex`. */
async function encodeAll(bridgeIndex: number): Promise<{ items: ReturnType<Provision['encodeProvision']>['item'][]; validateMs: number; encodeMs: number }> {
  const { encodeProvision } = await libraryModule<Provision>('provision');
  const { freshPlan } = await libraryModule<Apply>('topology/apply');
  const { validateTopology, topologyGroup } = await libraryModule<Spec>('topology/spec');
  const spec = workload(n);
  const t0 = performance.now();
  validateTopology(spec);
  const t1 = performance.now();
  const group = topologyGroup(spec);
  const bridges = new Map([['br0', bridgeIndex]]);
  const items = spec.namespaces!.map((ns) => encodeProvision(ns.name, freshPlan(ns, group, bridges)).item);
  return { items, validateMs: t1 - t0, encodeMs: performance.now() - t1 };
}

async function child(mode: string): Promise<void> {
  if (mode === 'js') {
    const { validateMs, encodeMs } = await encodeAll(2);
    console.log(JSON.stringify({ validateMs, encodeMs }));
    return;
  }
  const rt = await loadLibrary();
  const { native } = await libraryModule<typeof import('../lib/native.js')>('native');
  if (mode === 'whole') {
    // The addon's entry point, wrapped to note when the first namespace job reaches it.
    const submit = native.provisionNetns;
    let firstJobMs: number | undefined;
    const t0 = performance.now();
    native.provisionNetns = (dir, items) => {
      firstJobMs ??= performance.now() - t0;
      return submit.call(native, dir, items);
    };
    await rt.applyTopology(workload(n));
    const ms = performance.now() - t0;
    await verifyW(n);
    console.log(JSON.stringify({ ms, firstJobMs }));
    return;
  }
  await rt.createBridge('br0');
  await rt.setLinkUp('br0');
  await rt.addAddress('br0', '10.200.0.1/16');
  const { items } = await encodeAll((await rt.getLink('br0')).index);
  const dir = (await libraryModule<typeof import('../lib/handle.js')>('handle')).runDir();
  // Jobs of 16 namespaces, the library's size once a burst is under way, all submitted at once.
  const jobs: (typeof items)[] = [];
  for (let at = 0; at < items.length; at += 16) jobs.push(items.slice(at, at + 16));
  const t0 = performance.now();
  const results = await Promise.all(jobs.map((job) => native.provisionNetns(dir, job)));
  const ms = performance.now() - t0;
  // (A refused veth create leaves the namespace's own requests unsent.)
  const failed = results.flatMap((r) => r.items).filter((it) => it.nsFd < 0 || it.errno !== 0 || !it.insideSent);
  if (failed.length > 0) throw new Error(`${failed.length} namespaces failed, first: ${JSON.stringify(failed[0])}`);
  // What the kernel was left with, read back with `ip -json` as for every implementation.
  await verifyW(n);
  console.log(JSON.stringify({ ms }));
}

if (values.child) {
  await child(values.child);
  process.exit(0);
}

const self = [process.execPath, '--import', 'tsx', 'benchmarks/setup-parts.ts', '--n', String(n), '--child'];
const floor = (threads: number) => floorSetup(n, ['--pipelined', `--threads=${threads}`]);
const rows = { library: [] as number[], firstJob: [] as number[], afterFirstJob: [] as number[], addon: [] as number[], floor: [] as number[], validate: [] as number[], encode: [] as number[] };
for (let rep = 1; rep <= Number(values.reps); rep++) {
  letKernelSettle(n);
  const whole = runSandboxed([...self, 'whole']);
  rows.library.push(whole.ms!);
  rows.firstJob.push(whole.firstJobMs!);
  rows.afterFirstJob.push(whole.ms! - whole.firstJobMs!);
  letKernelSettle(n);
  rows.addon.push(runSandboxed([...self, 'addon']).ms!);
  letKernelSettle(n);
  const one = runSandboxed(floor(1)).ms!;
  letKernelSettle(n);
  rows.floor.push(Math.min(one, runSandboxed(floor(2)).ms!));
  const js = runSandboxed([...self, 'js']);
  rows.validate.push(js.validateMs!);
  rows.encode.push(js.encodeMs!);
  console.error(`rep ${rep}: library ${rows.library.at(-1)!.toFixed(1)}, addon alone ${rows.addon.at(-1)!.toFixed(1)}, best C floor ${rows.floor.at(-1)!.toFixed(1)} ms`);
}
const best = median(rows.floor);
// Each run's ratio to the floor of the same repetition, then their median: on a shared
// machine the floor itself moves from run to run.
const ratio = (xs: number[]) => {
  const each = xs.map((x, k) => x / rows.floor[k]!);
  return `${median(each).toFixed(2)}× (${each.map((r) => r.toFixed(2)).join(', ')})`;
};
console.log(`W(${n}) setup, median of ${values.reps} interleaved runs (ms; the C floor is the best of 1 and 2 threads in each run)\n`);
console.log('| part | ms | to the best C floor of the same run: median (each run) |\n|---|---:|---|');
console.log(`| applyTopology, the whole | ${median(rows.library).toFixed(1)} | ${ratio(rows.library)} |`);
console.log(`| … until its first namespace job reaches the addon | ${median(rows.firstJob).toFixed(1)} | ${ratio(rows.firstJob)} |`);
console.log(`| … from its first namespace job to the end | ${median(rows.afterFirstJob).toFixed(1)} | ${ratio(rows.afterFirstJob)} |`);
console.log(`| the addon alone, requests encoded beforehand | ${median(rows.addon).toFixed(1)} | ${ratio(rows.addon)} |`);
console.log(`| best C floor | ${best.toFixed(1)} | 1.00× |`);
console.log(`| JS alone, fresh process: checking the spec | ${median(rows.validate).toFixed(1)} | |`);
console.log(`| JS alone, fresh process: building and encoding ${n} namespaces | ${median(rows.encode).toFixed(1)} | |`);
