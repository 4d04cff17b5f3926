// Where W(N) setup time goes: CPU time per container of the library's JS thread and of its
// whole process (JS, the addon's threads, and the kernel work done inside their system calls),
// against the 2-thread C floor's, each run in a fresh sandbox, interleaved. When wall time per
// container is well above CPU time per container divided by the cores, the run is waiting (on
// the RTNL lock, RCU grace periods, the kernel's workqueues), not computing.
//   npm run build && npx tsx benchmarks/cpu.ts [--n 1000] [--reps 3]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { floorSetup, runSandboxed } from './lib/sandboxed.js';
import { letKernelSettle } from './lib/settle.js';
import { median } from './lib/stats.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '1000' }, reps: { type: 'string', default: '3' }, child: { type: 'boolean', default: false } } });
const n = Number(values.n);

// utime + stime of a /proc stat file, in ms (fields 14 and 15; the name may hold spaces).
const TICKS_PER_SECOND = 100;
function cpuMs(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

async function child(): Promise<void> {
  const rt = await (await import('./lib/library.js')).loadLibrary();
  const { workload } = await import('./lib/workload.js');
  const spec = workload(n);
  const mainThread = `/proc/self/task/${process.pid}/stat`;
  const main0 = cpuMs(mainThread);
  const all0 = cpuMs('/proc/self/stat');
  const t0 = performance.now();
  await rt.applyTopology(spec);
  const wall = performance.now() - t0;
  console.log(JSON.stringify({ wall: wall / n, jsThread: (cpuMs(mainThread) - main0) / n, process: (cpuMs('/proc/self/stat') - all0) / n }));
}

type Row = { wall: number; jsThread?: number; process: number };

function runLibrary(): Row {
  return runSandboxed([process.execPath, '--import', 'tsx', 'benchmarks/cpu.ts', '--child', '--n', String(n)]) as Row;
}

function runFloor(): Row {
  // bash's `times` prints the CPU time of the shell's finished children (the floor) last.
  const script = `${floorSetup(n, ['--pipelined', '--threads=2']).join(' ')} && times`;
  const r = spawnSync('scripts/sandbox', ['bash', '-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`C floor failed: ${r.stderr.slice(-1000)}`);
  const lines = r.stdout.trim().split('\n');
  const wallMs = (JSON.parse(lines.find((l) => l.startsWith('{'))!) as { ms: number }).ms;
  const [user, sys] = lines.at(-1)!.split(/\s+/).map((t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    if (!m) throw new Error(`unexpected times output: ${lines.at(-1)}`);
    return (Number(m[1]) * 60 + Number(m[2])) * 1000;
  }) as [number, number];
  return { wall: wallMs / n, process: (user + sys) / n };
}

function parent(): void {
  const lib: Row[] = [];
  const floor: Row[] = [];
  for (let rep = 0; rep < Number(values.reps); rep++) {
    letKernelSettle(n);
    lib.push(runLibrary());
    letKernelSettle(n);
    floor.push(runFloor());
  }
  const medianOf = (rows: Row[], k: keyof Row) => median(rows.map((r) => r[k]!));
  const cores = availableParallelism();
  console.log(`W(${n}) setup, ms per container, median of ${lib.length} (${cores} cores)\n`);
  console.log('| | wall | CPU, whole process | CPU, JS thread | CPU / cores / wall |\n|---|---:|---:|---:|---:|');
  const row = (name: string, rows: Row[]) => {
    const js = rows[0]!.jsThread === undefined ? '–' : medianOf(rows, 'jsThread').toFixed(2);
    const busy = medianOf(rows, 'process') / cores / medianOf(rows, 'wall');
    console.log(`| ${name} | ${medianOf(rows, 'wall').toFixed(2)} | ${medianOf(rows, 'process').toFixed(2)} | ${js} | ${(busy * 100).toFixed(0)}% |`);
  };
  row('rtnetlink, bulk path', lib);
  row('C, pipelined, 2 threads', floor);
}

if (values.child) await child();
else parent();
