// The first call's cold cost: what a fresh Node process pays on its first requests (loading the
// addon, compiling the JS on first use, opening the first sockets, starting the I/O thread)
// against the same requests once warm. Each sample is a new process running
// benchmarks/lib/cold-child.mjs. By default it loads the shipped build (dist/, `npm run build`
// first) with plain Node, as users run it; --source loads lib/ through tsx instead. Every
// sample is taken twice, as loaded and after warmUp() (what a service would call at start-up).
//   scripts/sandbox npx tsx benchmarks/cold.ts [--samples 9] [--source]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { assertFreshDist } from './lib/library.js';
import { median } from './lib/stats.js';
import { workload } from './lib/workload.js';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '9' }, source: { type: 'boolean', default: false } } });

const childScript = fileURLToPath(new URL('./lib/cold-child.mjs', import.meta.url));
const distEntry = new URL('../dist/index.js', import.meta.url);
if (!values.source) assertFreshDist();

/** W(1) with its own bridge and names, so the three applies build three separate containers. */
function oneContainer(k: number) {
  const spec = workload(1);
  spec.bridges![0]!.name = `cold${k}`;
  spec.namespaces![0]!.name = `cold-c${k}`;
  spec.namespaces![0]!.interfaces![0]!.hostName = `cold-h${k}`;
  spec.namespaces![0]!.interfaces![0]!.master = `cold${k}`;
  return spec;
}

const env = {
  ...process.env,
  RTNETLINK_COLD_SPECS: JSON.stringify([1, 2, 3].map(oneContainer)),
  RTNETLINK_COLD_ENTRY: values.source ? new URL('../lib/index.ts', import.meta.url).href : distEntry.href,
};
const argv = values.source ? ['--import', 'tsx', childScript] : [childScript];
// Without and with warmUp() before the first call, alternating, so both see the same machine.
const samples: Record<'plain' | 'warmed', Record<string, number>[]> = { plain: [], warmed: [] };
for (let i = 0; i < Number(values.samples); i++) {
  for (const kind of ['plain', 'warmed'] as const) {
    const r = spawnSync(process.execPath, argv, { encoding: 'utf8', env: { ...env, RTNETLINK_COLD_WARM: kind === 'warmed' ? '1' : '0' } });
    const line = r.stdout.trim().split('\n').at(-1) ?? '';
    if (r.status !== 0 || !line.startsWith('{')) throw new Error(`sample ${i} (${kind}) failed: ${r.stderr.slice(-1000)}`);
    samples[kind].push(JSON.parse(line));
  }
}
const medianOf = (kind: 'plain' | 'warmed', k: string) => median(samples[kind].map((x) => x[k]!));
console.log(`Cold cost of ${values.source ? 'lib/ through tsx' : 'dist/ (the shipped build)'}, median of ${samples.plain.length} fresh processes each (ms)\n`);
console.log('| first request | process | first | warm | cold cost |\n|---|---|---:|---:|---:|');
for (const [what, first, warm] of [['listLinks()', 'firstList', 'warmList'], ['applyTopology(W(1))', 'firstApply', 'warmApply']] as const) {
  for (const kind of ['plain', 'warmed'] as const) {
    const label = kind === 'plain' ? 'as loaded' : 'after warmUp()';
    console.log(`| ${what} | ${label} | ${medianOf(kind, first).toFixed(2)} | ${medianOf(kind, warm).toFixed(2)} | ${(medianOf(kind, first) - medianOf(kind, warm)).toFixed(2)} |`);
  }
}
console.log(`\nImport of the library: ${medianOf('plain', 'importMs').toFixed(1)} ms; warmUp() itself: ${medianOf('warmed', 'warmUpMs').toFixed(2)} ms.`);
console.log(`Of the first listLinks(), garbage collection: ${medianOf('plain', 'gcInFirstList').toFixed(2)} ms as loaded, ${medianOf('warmed', 'gcInFirstList').toFixed(2)} ms after warmUp() (medians).`);
