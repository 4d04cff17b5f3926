// Applies of one spec from several processes at once (issue 9, item 3). Each process creates
// what is missing and adopts what another made; a file in /run/netns that another process has
// created and not yet mounted must never be taken for a crash leftover and deleted (the first
// process's mount then fails and its rollback deletes what the others adopted).
//
// Three tests: two deterministic ones, where strace holds the first process's bind mounts for
// seconds while the others apply, or holds recovery's look at a file while its creation
// mounts; and rounds of three processes applying W(N) together, each
// round checked exactly against the kernel and torn down. `npm test` runs 10 rounds of W(200);
// `npm run stress:concurrent` runs the 50 the issue asks for (about two minutes here).
// RTNETLINK_CONCURRENT_ROUNDS and RTNETLINK_CONCURRENT_N set the rounds and N.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, resetSandbox, sandboxSkipReason, settled } from '../helpers/sandbox.js';
import { differences, leftovers, netnsMounts } from '../helpers/w-state.js';
import type { ApplyOutcome, ClearOutcome } from '../helpers/apply-child.js';

const lib = await import('../../lib/index.js');
const { workload } = await import('../../benchmarks/lib/workload.js');

const N = Number(process.env.RTNETLINK_CONCURRENT_N ?? 200);
const ROUNDS = Number(process.env.RTNETLINK_CONCURRENT_ROUNDS ?? 10);
const PROCESSES = 3;
const helper = fileURLToPath(new URL('../helpers/apply-child.ts', import.meta.url));

function hasStrace(): boolean {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const strace = hasStrace();
if (!strace && process.env.CI) throw new Error('strace is missing (.ci/run installs it)');

interface Applier {
  child: ChildProcess;
  ready: Promise<void>;
  /** Sends "apply N" and resolves with the child's outcome. */
  apply(n: number): Promise<ApplyOutcome>;
  /** Sends "clear NAME" (the run dir recovery) and resolves with the child's outcome. */
  clear(name: string): Promise<ClearOutcome>;
  exited: Promise<unknown>;
}

/** A child running test/helpers/apply-child.ts, optionally under `wrap` (strace ...). */
function spawnApplier(wrap: string[] = []): Applier {
  const argv = [...wrap, process.execPath, '--import', 'tsx', helper];
  // The whole environment: under scripts/asan-build.sh the child needs LD_PRELOAD too.
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: ((line: string) => void)[] = [];
  let buffered = '';
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line === 'ready') readyResolve();
      else if (line.startsWith('result ')) waiting.shift()?.(line.slice('result '.length));
    }
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const request = <T>(line: string) =>
    new Promise<T>((resolve, reject) => {
      waiting.push((json) => resolve(JSON.parse(json) as T));
      void exited.then(() => reject(new Error(`apply-child exited during "${line}"`)));
      child.stdin!.write(`${line}\n`);
    });
  return {
    child,
    ready: Promise.race([ready, exited.then(() => Promise.reject(new Error('apply-child exited before it was ready')))]),
    exited,
    apply: (n) => request<ApplyOutcome>(`apply ${n}`),
    clear: (name) => request<ClearOutcome>(`clear ${name}`),
  };
}

async function stopAll(appliers: Applier[]): Promise<void> {
  for (const a of appliers) a.child.stdin!.end();
  const timer = setTimeout(() => appliers.forEach((a) => a.child.exitCode === null && a.child.pid && process.kill(a.child.pid, 'SIGKILL')), 10_000);
  await Promise.all(appliers.map((a) => a.exited));
  clearTimeout(timer);
}

/** A failed apply must be a TopologyError naming its failed items, never a crash or a hang. */
function cleanFailure(o: ApplyOutcome): boolean {
  return o.error?.name === 'TopologyError' && (o.failed?.length ?? 0) > 0;
}

describe.skipIf(!inSandbox)(`applies of one spec from several processes at once (issue 9)${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeAll(() => resetSandbox());
  afterAll(() => resetSandbox());

  it.skipIf(!strace)('a file another process has created and not yet mounted is waited for, not deleted (mount held 3 s by strace)', async () => {
    const n = 20;
    // strace counts calls per thread: each addon thread's second mount (the first namespace
    // thread's first bind mount, the others' second) is held 3 s before it runs.
    const slow = spawnApplier(['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=mount', '-e', 'inject=mount:delay_enter=3000000:when=2']);
    const others = Array.from({ length: PROCESSES - 1 }, () => spawnApplier());
    const all = [slow, ...others];
    try {
      await Promise.all(all.map((a) => a.ready));
      const first = slow.apply(n);
      // Wait until a file of the slow process stays unmounted: its mount is being held.
      const unmounted = () => {
        const mounted = new Set(netnsMounts().map((m) => m.name));
        return readdirSync('/run/netns').filter((f) => !mounted.has(f));
      };
      let held: string[] = [];
      for (let i = 0; i < 200 && held.length === 0; i++) {
        const before = unmounted();
        await new Promise((r) => setTimeout(r, 100));
        held = unmounted().filter((f) => before.includes(f));
      }
      expect(held.length, 'no namespace file of the slow process stayed unmounted').toBeGreaterThan(0);
      const outcomes = await Promise.all([first, ...others.map((a) => a.apply(n))]);
      expect(outcomes.map((o) => ({ ok: o.ok, error: o.error, failed: o.failed }))).toEqual(outcomes.map(() => ({ ok: true, error: undefined, failed: undefined })));
      // The others found the held files and waited for them rather than replacing them.
      expect(outcomes.slice(1).every((o) => o.existed > 0)).toBe(true);
      expect(await differences(n)).toEqual([]);
      await lib.destroyTopology(workload(n));
      expect(await leftovers()).toEqual([]);
    } finally {
      await stopAll(all);
      resetSandbox();
    }
  }, 60_000);

  it.skipIf(!strace)("a creation that mounts and lets go between recovery's look and its lock is taken for a namespace, not unlinked", async () => {
    // The window is microseconds wide; strace widens it. Recovery (in a child) takes the run
    // dir's lock and looks at the file, and its statx, the last call of the look, is held 8 s.
    // Meanwhile the other creation mounts and drops its lock. Unlinking what is now a mount
    // point failed EBUSY (CI, concurrent applies); recovery must look again and find the
    // namespace.
    const name = 'late';
    const file = `/run/netns/${name}`;
    execFileSync('ip', ['netns', 'add', 'late-ns']);
    // A creation of ours in progress: an empty file of mode 0400, locked, not yet mounted.
    execFileSync('install', ['-m', '0400', '/dev/null', file]);
    const creator = spawn('flock', ['-x', file, 'sh', '-c', 'echo locked; read go; mount --bind /run/netns/late-ns "$0"', file], { stdio: ['pipe', 'pipe', 'inherit'] });
    const creatorExited = new Promise((resolve) => creator.on('exit', resolve));
    const recovery = spawnApplier();
    let tracer: ChildProcess | undefined;
    try {
      await new Promise<void>((resolve) => creator.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve()));
      await recovery.ready;
      const pid = recovery.child.pid!;
      tracer = spawn('strace', ['-f', '-o', '/dev/null', '-p', String(pid), '-e', 'trace=statx', '-e', 'inject=statx:delay_exit=8000000'], { stdio: ['ignore', 'ignore', 'pipe'] });
      // "Process N attached with M threads", once all of them are.
      await new Promise<void>((resolve) => tracer!.stderr!.on('data', (d: Buffer) => d.toString().includes('attached') && resolve()));
      const runDirLocked = () => spawnSync('flock', ['-n', '-s', '/run/netns', 'true']).status !== 0;
      const result = recovery.clear(name);
      await settled(runDirLocked, (locked) => locked);
      creator.stdin!.write('go\n');
      expect(await creatorExited).toBe(0);
      // The race happened: the mount is on, the lock is free, and recovery is still looking.
      expect(runDirLocked(), 'recovery finished its look before the creation mounted: the race was not made').toBe(true);
      expect(await result).toEqual({ outcome: 'network' });
      expect(netnsMounts().map((m) => m.name)).toContain(name);
    } finally {
      if (tracer?.pid && tracer.exitCode === null) process.kill(tracer.pid, 'SIGTERM');
      if (creator.pid && creator.exitCode === null) process.kill(creator.pid, 'SIGKILL');
      await stopAll([recovery]);
      resetSandbox();
    }
  }, 60_000);

  it(`${PROCESSES} processes applying W(${N}) at once, ${ROUNDS} rounds: each succeeds or fails cleanly, the state is exact`, async () => {
    const appliers = Array.from({ length: PROCESSES }, () => spawnApplier());
    const spec = workload(N);
    const log: string[] = [];
    const failures: string[] = [];
    const tally = { ok: 0, failedCleanly: 0, failedBadly: 0, roundsExact: 0 };
    const started = performance.now();
    try {
      await Promise.all(appliers.map((a) => a.ready));
      for (let round = 1; round <= ROUNDS; round++) {
        const t0 = performance.now();
        const outcomes = await Promise.all(appliers.map((a) => a.apply(N)));
        const applied = performance.now() - t0;
        for (const o of outcomes) {
          if (o.ok) tally.ok++;
          else if (cleanFailure(o)) tally.failedCleanly++;
          else tally.failedBadly++;
        }
        const diff = await differences(N, { inside: { netlink: true, sample: 5 } });
        if (diff.length === 0) tally.roundsExact++;
        const what = outcomes.map((o) => (o.ok ? `ok (${o.existed} adopted, ${o.ms.toFixed(0)} ms)` : `FAILED ${o.error?.message}`)).join('; ');
        if (outcomes.some((o) => !o.ok && !cleanFailure(o)) || diff.length > 0) {
          failures.push(`round ${round}: ${what}; state: ${diff.length === 0 ? 'exact' : diff.slice(0, 10).join('; ')}`);
        }
        await lib.destroyTopology(spec).catch((e) => failures.push(`round ${round}: destroy failed: ${(e as Error).message}`));
        const rest = await leftovers();
        if (rest.length > 0) {
          failures.push(`round ${round}: after destroy: ${rest.join('; ')}`);
          resetSandbox();
        }
        log.push(`round ${round}: ${what}; ${diff.length === 0 ? 'exact' : `${diff.length} differences`} (${applied.toFixed(0)} ms to apply, ${(performance.now() - t0).toFixed(0)} ms the round)`);
      }
    } finally {
      await stopAll(appliers);
    }
    console.log(`${log.join('\n  ')}\n  ${ROUNDS} rounds in ${((performance.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(tally)}`);
    expect(failures).toEqual([]);
    expect({ failedBadly: tally.failedBadly, roundsExact: tally.roundsExact }).toEqual({ failedBadly: 0, roundsExact: ROUNDS });
  }, 60_000 + ROUNDS * 20_000);
});
