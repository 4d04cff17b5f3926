// One measured run of one implementation of W(N), inside its own sandbox (run.ts starts it
// with scripts/sandbox): setup, verify, teardown until clean, verify clean. Prints one JSON line.
import { spawnSync } from 'node:child_process';
import { implementations } from './implementations.js';

const [id, nText] = process.argv.slice(2);
const n = Number(nText);
const impl = implementations.find((i) => i.id === id);
if (!impl || !Number.isInteger(n) || n < 1) {
  console.error(`usage: one-run.ts IMPL N (IMPL one of ${implementations.map((i) => i.id).join(', ')})`);
  process.exit(2);
}

function phase(name: 'setup' | 'teardown'): { ms: number; extra: Record<string, number> } {
  const [cmd, ...args] = impl!.command(n, name);
  const started = performance.now();
  const r = spawnSync(cmd!, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const wallMs = performance.now() - started;
  if (r.status !== 0) throw new Error(`${id} ${name} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).slice(-2000)}`);
  // The last JSON line is the program's own measurement (process start-up excluded).
  const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  const inside = line ? (JSON.parse(line) as Record<string, number>) : {};
  return { ms: inside.ms ?? wallMs, extra: { ...inside, wallMs } };
}

function verify(args: string[]): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'benchmarks/verify.ts', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${id}: verify ${args.join(' ')} failed: ${(r.stderr || r.stdout).slice(-2000)}`);
}

try {
  const setup = phase('setup');
  verify([String(n)]);
  const teardown = phase('teardown');
  verify(['--clean']);
  console.log(JSON.stringify({ ok: true, id, n, setupMs: setup.ms, teardownMs: teardown.ms, setup: setup.extra, teardown: teardown.extra }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, id, n, error: (e as Error).message }));
}
