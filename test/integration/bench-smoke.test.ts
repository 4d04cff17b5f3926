// The benchmark's smoke run (N=10, one repetition, library only), so `npm run bench` cannot rot:
// it must build W(10), pass the shared verifier, tear down until clean, and write its JSON.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

describe.skipIf(!inSandbox)(`benchmark smoke run${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  it('runs W(10) for the bulk and naive paths, verified, and writes the results', () => {
    const out = mkdtempSync(join(tmpdir(), 'rtnetlink-bench-'));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'benchmarks/run.ts', '--smoke', '--out', out], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'smoke.json'), 'utf8'));
    expect(results.runs.map((x: { id: string; ok: boolean }) => [x.id, x.ok]).sort()).toEqual([
      ['rtnetlink-bulk', true],
      ['rtnetlink-naive', true],
    ]);
    for (const s of results.stats) {
      expect(s.setupMedianMs).toBeGreaterThan(0);
      expect(s.teardownMedianMs).toBeGreaterThan(0);
    }
    expect(r.stdout).toMatch(/\| rtnetlink, bulk path/);
  });
});
