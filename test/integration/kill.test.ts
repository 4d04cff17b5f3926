// RELIABILITY.md item 19: a process killed with SIGKILL at any moment of a bulk apply leaves
// half-built state (a /run/netns file without its mount, a namespace without its veth, a veth
// not yet up or on its bridge, an address missing); applying the same spec again must converge
// to it exactly, and destroy must then leave nothing behind.
//
// A child (test/helpers/kill-child.ts) applies W(30); the test kills it by pid after a delay
// counted from the moment its apply starts. The delays are spread evenly over the measured
// apply duration, with random jitter inside each slot, and a few land after it ended. The seed
// is printed; RTNETLINK_KILL_SEED=S repeats a run's delays, RTNETLINK_KILLS=N sets their number.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import { differences, halfBuilt, leftovers, toolEnv } from '../helpers/w-state.js';

const lib = await import('../../lib/index.js');
const { workload } = await import('../../benchmarks/lib/workload.js');

const N = 30;
/** RTNETLINK_KILLS=200 for a soak; 24 keeps `npm test` around 15 s. */
const KILLS = Number(process.env.RTNETLINK_KILLS ?? 24);
const spec = workload(N);
const helper = fileURLToPath(new URL('../helpers/kill-child.ts', import.meta.url));
const run = promisify(execFile);

// ---- the child ------------------------------------------------------------------------------

interface Victim {
  child: ChildProcess;
  /** Resolves on the child's line `what` (e.g. 'start', 'done'); the text after it. */
  line(what: string): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnVictim(): Victim {
  const child = spawn(process.execPath, ['--import', 'tsx', helper, String(N)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const seen = new Map<string, string>();
  const waiting = new Map<string, (rest: string) => void>();
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const [word = '', ...rest] = buffered.slice(0, nl).split(' ');
      buffered = buffered.slice(nl + 1);
      seen.set(word, rest.join(' '));
      waiting.get(word)?.(rest.join(' '));
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    exited,
    line: (what) =>
      new Promise<string>((resolve, reject) => {
        if (seen.has(what)) return resolve(seen.get(what)!);
        waiting.set(what, resolve);
        void exited.then(({ code, signal }) => reject(new Error(`kill-child exited (${signal ?? code}) before '${what}'`)));
      }),
  };
}

// ---- the test -------------------------------------------------------------------------------

/** mulberry32: small, seedable, good enough to place delays. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.skipIf(!inSandbox)(`SIGKILL during a bulk apply (item 19)${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeAll(() => resetSandbox());
  afterAll(() => resetSandbox());

  it(`re-applying W(${N}) after ${KILLS} kills at moments spread over the apply converges exactly, and destroy leaves nothing`, async () => {
    // How long the apply takes here, in a child like the ones to be killed.
    const durations: number[] = [];
    for (let k = 0; k < 2; k++) {
      const v = spawnVictim();
      await v.line('ready');
      v.child.stdin!.write('go\n');
      durations.push(Number(await v.line('done')));
      v.child.stdin!.end();
      await v.exited;
      expect(await differences(N)).toEqual([]);
      await lib.destroyTopology(spec);
      expect(await leftovers()).toEqual([]);
    }
    const duration = Math.max(...durations);

    // The checker itself: it must see each kind of damage a kill could leave.
    await lib.applyTopology(spec);
    const sh = (cmd: string) => run('sh', ['-c', cmd], { env: toolEnv });
    await sh('ip -n c3 addr flush dev eth0 && ip -n c5 link set eth0 down && ip link set h7 nomaster && ip link add x0 type bridge && touch /run/netns/zz');
    const seen = (await differences(N)).join('\n');
    for (const damage of ['/run/netns holds', 'extra [x0]', 'h7 master none', 'c5/eth0 down', 'c3/eth0 addresses []', 'c3 routes']) {
      expect(seen).toContain(damage);
    }
    resetSandbox();
    expect(await leftovers()).toEqual([]);

    const seed = Number(process.env.RTNETLINK_KILL_SEED ?? Date.now() % 1_000_000);
    const rand = random(seed);
    // Slot k of KILLS covers [k, k+1) * 1.2 * duration / KILLS: the last sixth are after the end.
    const delays = Array.from({ length: KILLS }, (_, k) => ((k + rand()) * 1.2 * duration) / KILLS);
    const log: string[] = [`apply of W(${N}) takes ${durations.map((x) => x.toFixed(0)).join(', ')} ms; kill seed ${seed}`];
    const failures: string[] = [];

    // The next victim starts while the current one is checked: node + tsx take longer than all else.
    let next = spawnVictim();
    for (const [k, delay] of delays.entries()) {
      const t0 = performance.now();
      const v = next;
      await v.line('ready');
      const tReady = performance.now();
      v.child.stdin!.write('go\n');
      await v.line('start');
      await new Promise((r) => setTimeout(r, delay));
      process.kill(v.child.pid!, 'SIGKILL');
      const { signal } = await v.exited;
      if (k + 1 < delays.length) next = spawnVictim();
      const left = await halfBuilt();
      const what = `kill ${k + 1} at ${delay.toFixed(1)} ms (${signal ?? 'exited'}): left ${left}`;
      try {
        await lib.applyTopology(spec);
      } catch (e) {
        failures.push(`${what}; re-apply failed: ${(e as Error).message}; state: ${(await differences(N)).join('; ')}`);
        resetSandbox();
        continue;
      }
      const diff = await differences(N);
      if (diff.length > 0) failures.push(`${what}; after re-apply: ${diff.join('; ')}`);
      try {
        await lib.destroyTopology(spec);
      } catch (e) {
        failures.push(`${what}; destroy failed: ${(e as Error).message}`);
      }
      const rest = await leftovers();
      if (rest.length > 0) failures.push(`${what}; after destroy: ${rest.join('; ')}`);
      log.push(`${what} -> ${diff.length === 0 && rest.length === 0 ? 'converged' : 'NOT converged'} (${(tReady - t0).toFixed(0)} ms waiting for the child, ${(performance.now() - tReady).toFixed(0)} ms for the rest)`);
      resetSandbox();
    }
    console.log(log.join('\n  '));
    expect(failures).toEqual([]);
    // A budget that only catches a hang: about 15 s on a quiet machine, several times that
    // beside stress-ng (each victim is a fresh node + tsx, and each check runs ip).
  }, 300_000 + KILLS * 10_000);
});
