// A process that applies W(N) on command, for tests that run applies of one spec from several
// processes at once (test/integration/concurrent-apply.test.ts). Run as
// `node --import tsx test/helpers/apply-child.ts` inside the sandbox. It loads everything
// first and says "ready", so the test can start the applies together; then each line
// "apply N" on stdin runs applyTopology(W(N)) and is answered by "result {json}", and each line
// "clear NAME" runs the recovery of a run dir file that is no namespace (lib/run-dir.ts) and is
// answered by "result {json}" too (a ClearOutcome). It exits when stdin closes.
import { createInterface } from 'node:readline';

const lib = await import('../../lib/index.js');
const { workload } = await import('../../benchmarks/lib/workload.js');
const { clearCrashLeftover } = await import('../../lib/run-dir.js');

export interface ApplyOutcome {
  ok: boolean;
  ms: number;
  /** Items that existed already (adopted from another process, or an earlier apply). */
  existed: number;
  /** How the apply failed: its error's name and code, and every failed item. */
  error?: { name: string; code?: string; message: string };
  failed?: { item: string; code?: string; message: string }[];
}

export interface ClearOutcome {
  outcome?: string;
  error?: { code?: string; message: string };
}

process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  const [command, arg] = line.split(' ');
  if (command === 'clear') {
    const out: ClearOutcome = await clearCrashLeftover(arg!).then(
      (outcome) => ({ outcome }),
      (e: Error & { code?: string }) => ({ error: { ...(e.code !== undefined ? { code: e.code } : {}), message: e.message } }),
    );
    process.stdout.write(`result ${JSON.stringify(out)}\n`);
    continue;
  }
  if (command !== 'apply') continue;
  const t0 = performance.now();
  let out: ApplyOutcome;
  try {
    const r = await lib.applyTopology(workload(Number(arg)));
    out = { ok: true, ms: performance.now() - t0, existed: r.items.filter((i) => i.existed).length };
  } catch (e) {
    const err = e as Error & { code?: string; results?: { item: string; ok: boolean; error?: Error & { code?: string } }[] };
    out = {
      ok: false,
      ms: performance.now() - t0,
      existed: 0,
      error: { name: err.name, ...(err.code !== undefined ? { code: err.code } : {}), message: err.message },
      failed: (err.results ?? []).filter((r) => !r.ok).map((r) => ({ item: r.item, ...(r.error?.code !== undefined ? { code: r.error.code } : {}), message: r.error?.message ?? '' })),
    };
  }
  process.stdout.write(`result ${JSON.stringify(out)}\n`);
}
