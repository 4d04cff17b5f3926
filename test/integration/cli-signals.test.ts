// SIGINT and SIGTERM during `rtnl up`: the apply stops and undoes what it did (exit status
// 128 + the signal), and a second signal exits at once. The moments are taken from the kernel's
// state (how many namespaces exist), not from a clock, so they land mid-apply however fast or
// slow the machine is.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import { workload } from '../../benchmarks/lib/workload.js';

const N = 200;
const dir = mkdtempSync(join(tmpdir(), 'rtnl-signals-'));
const file = join(dir, 'w200.json');
writeFileSync(file, JSON.stringify(workload(N)));

function rtnl(...args: string[]): { child: ChildProcess; exit: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout!.resume();
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  return { child, exit };
}

/** Resolves once at least `count` namespaces exist, or the process has exited. */
async function namespacesReach(count: number, exited: Promise<unknown>): Promise<number> {
  let done = false;
  void exited.then(() => (done = true));
  for (;;) {
    const n = readdirSync('/run/netns').length;
    if (n >= count || done) return n;
    await new Promise((r) => setTimeout(r, 2));
  }
}

const clean = () => ({
  namespaces: readdirSync('/run/netns'),
  links: ipJson<{ ifname: string }[]>(['link', 'show']).map((l) => l.ifname),
});

describe.skipIf(!inSandbox)(`rtnl up interrupted${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeEach(() => resetSandbox());
  afterAll(() => resetSandbox());

  it.each([
    ['SIGINT', 1],
    ['SIGINT', 40],
    ['SIGTERM', 120],
    ['SIGINT', N],
  ] as const)('%s once %i namespaces exist: stops, undoes everything, exits 128+signal', async (signal, at) => {
    const { child, exit } = rtnl('up', file);
    const seen = await namespacesReach(at, exit);
    child.kill(signal);
    const { code, stderr } = await exit;
    if (code === 0) {
      // It had finished before the signal arrived (possible only for the last moment).
      expect(at).toBe(N);
      expect(seen).toBe(N);
      return;
    }
    expect(code, stderr).toBe(signal === 'SIGINT' ? 130 : 143);
    expect(stderr).toMatch(new RegExp(`up stopped by ${signal}; what it had done was undone`));
    expect(clean()).toEqual({ namespaces: [], links: ['lo'] });
  });

  it('a second signal exits at once, and rtnl down then removes what was left', async () => {
    const { child, exit } = rtnl('up', file);
    await namespacesReach(60, exit);
    child.kill('SIGINT');
    child.kill('SIGINT');
    const { code } = await exit;
    expect(code).toBe(130);
    const down = rtnl('down', file);
    expect((await down.exit).code).toBe(0);
    expect(clean()).toEqual({ namespaces: [], links: ['lo'] });
  });
});
