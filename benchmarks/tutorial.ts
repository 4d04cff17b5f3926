// The tutorial topology: time to build it with the library (examples/pb-and-jelly.ts) and
// with the tutorial's own ip commands, each in a fresh sandbox, interleaved.
//   npx tsx benchmarks/tutorial.ts [--reps 7]
import { parseArgs } from 'node:util';
import { runSandboxed } from './lib/sandboxed.js';
import { median } from './lib/stats.js';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '7' } } });
const reps = Number(values.reps);

const library = `
  const { buildTutorial } = await import('./examples/pb-and-jelly.ts');
  const t = performance.now();
  const handles = await buildTutorial();
  const ms = performance.now() - t;
  for (const h of handles) h.close();
  console.log(JSON.stringify({ ms }));`;

function run(kind: 'library' | 'ip'): number {
  const argv =
    kind === 'library'
      ? [process.execPath, '--import', 'tsx', '--input-type=module', '-e', library]
      : ['sh', '-c', 's=$(date +%s%N); benchmarks/tutorial-ip.sh; e=$(date +%s%N); echo "{\\"ms\\": $(( (e - s) / 1000 ))e-3}"'];
  return runSandboxed(argv).ms!;
}

const times = { library: [] as number[], ip: [] as number[] };
for (let i = 0; i < reps; i++) {
  times.library.push(run('library'));
  times.ip.push(run('ip'));
}
console.log(`tutorial topology, median of ${reps}: library ${median(times.library).toFixed(1)} ms, ip commands ${median(times.ip).toFixed(1)} ms (${(median(times.ip) / median(times.library)).toFixed(1)}x)`);
