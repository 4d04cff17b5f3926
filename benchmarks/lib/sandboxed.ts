// What the interleaved benchmarks share: a program run in its own sandbox, whose last JSON line
// is its measurement (medians: ./stats.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { implementations } from './implementations.js';

/** Runs `argv` inside scripts/sandbox and returns the last JSON line it printed. */
export function runSandboxed(argv: string[]): Record<string, number> {
  const r = spawnSync('scripts/sandbox', argv, { encoding: 'utf8', maxBuffer: 16 << 20 });
  const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) throw new Error(`${argv.join(' ')}: ${r.stderr.slice(-1000)}`);
  return JSON.parse(line) as Record<string, number>;
}

let floorBuilt = false;

/** The C floor's binary, built once per process if needed; its W(n) setup with `flags`. */
export function floorSetup(n: number, flags: string[]): string[] {
  if (!floorBuilt) execFileSync('make', ['-s', '-C', 'benchmarks/peers/c']);
  floorBuilt = true;
  return ['benchmarks/peers/c/floor', ...flags, String(n), 'setup'];
}

/** The library's bulk path on W(n) setup, as `npm run bench` runs it. */
export const librarySetup = (n: number): string[] => implementations.find((i) => i.id === 'rtnetlink-bulk')!.command(n, 'setup');
