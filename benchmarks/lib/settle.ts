// Between two measured runs: the kernel destroys a run's namespaces after it has ended, in its
// own workqueue, holding locks every run needs; the next run must not pay for that.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Network namespace objects the kernel's slab allocator holds (root can read it), or undefined. */
function netnsObjects(): number | undefined {
  try {
    const m = /^net_namespace\s+(\d+)/m.exec(readFileSync('/proc/slabinfo', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lets the kernel finish destroying the previous run's namespaces, which it does after the
 * run has ended, in its own workqueue (holding locks every run needs): waits until the count of
 * namespace objects has not moved for a second (at most a minute). Where it cannot be read,
 * a fixed pause by the size of the previous run. A pause by the size of the next run, as before,
 * left an N=100 run that followed an N=1000 one paying for the thousand's cleanup.
 */
export function letKernelSettle(previousN: number): void {
  let last = netnsObjects();
  if (last === undefined) {
    spawnSync('sleep', [String(1 + previousN / 250)]);
    return;
  }
  const started = Date.now();
  let stableSince = started;
  while (Date.now() - stableSince < 1000 && Date.now() - started < 60_000) {
    spawnSync('sleep', ['0.1']);
    const now = netnsObjects();
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    }
  }
}
