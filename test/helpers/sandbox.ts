// Integration tests run only inside the sandbox that `npm test` makes (scripts/sandbox):
// a private network + mount namespace with its own /run/netns. Outside it they are skipped
// with the reason, and in CI that is a failure rather than a skip.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

function sandboxProblem(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)';
  if (process.env.RTNETLINK_SANDBOX !== '1') return 'not inside scripts/sandbox (run `npm test`)';
  // The sandbox records the namespace it left and the one it made; we must be in the latter.
  const here = readlinkSync('/proc/self/ns/net');
  if (here !== process.env.RTNETLINK_SANDBOX_NETNS || here === process.env.RTNETLINK_OUTER_NETNS) {
    return "not in the sandbox's network namespace";
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  if (!/ \/run\/netns .* - tmpfs /.test(mounts)) return '/run/netns is not the sandbox tmpfs';
  return undefined;
}

export const sandboxSkipReason = sandboxProblem();
if (sandboxSkipReason && process.env.CI) {
  throw new Error(`integration tests cannot run: ${sandboxSkipReason}`);
}
export const inSandbox = sandboxSkipReason === undefined;

/** `ip -json ARGS` (inside NS when given), parsed. */
export function ipJson<T = any>(args: string[], netns?: string): T {
  const out = execFileSync('ip', ['-json', ...(netns ? ['-n', netns] : []), ...args], { encoding: 'utf8' });
  return JSON.parse(out || '[]') as T;
}

/** A device's IPv4 addresses as the kernel reports them, 'a.b.c.d/len' in its order; with
 *  `broadcast`, ' brd x.x.x.x' follows the ones that have one. */
export function ipv4Of(dev: string, netns?: string, opts: { broadcast?: boolean } = {}): string[] {
  const [link] = ipJson<{ addr_info: { family: string; local: string; prefixlen: number; broadcast?: string }[] }[]>(['addr', 'show', 'dev', dev], netns);
  return (link?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}${opts.broadcast && a.broadcast ? ` brd ${a.broadcast}` : ''}`);
}

/** Whether `dev` is administratively up, as `ip -json` reports it. */
export function linkIsUp(dev: string, netns?: string): boolean {
  return ipJson<{ flags: string[] }[]>(['link', 'show', 'dev', dev], netns)[0]!.flags.includes('UP');
}

export function ip(args: string[], netns?: string): string {
  return execFileSync('ip', [...(netns ? ['-n', netns] : []), ...args], { encoding: 'utf8' });
}

/** Back to a fresh sandbox: no named namespaces, no links but lo, forwarding off, no nft rules. */
export function resetSandbox(): void {
  if (!inSandbox) throw new Error('resetSandbox outside the sandbox');
  for (const name of readdirSync('/run/netns')) {
    try {
      execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  const links = ipJson<{ ifname: string }[]>(['link', 'show']);
  for (const l of links) {
    if (l.ifname !== 'lo') {
      try {
        execFileSync('ip', ['link', 'delete', l.ifname], { stdio: 'ignore' });
      } catch {
        // a veth peer vanishes with its other end
      }
    }
  }
  try {
    execFileSync('nft', ['flush', 'ruleset'], { stdio: 'ignore' });
  } catch {
    // nft not installed: nothing to flush
  }
  execFileSync('sh', ['-c', 'echo 0 > /proc/sys/net/ipv4/ip_forward']);
}

/** Network namespace of every thread of this process, by task id. */
export function threadNamespaces(): Map<string, string> {
  const out = new Map<string, string>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.set(tid, readlinkSync(`/proc/self/task/${tid}/ns/net`));
    } catch {
      // the thread exited meanwhile
    }
  }
  return out;
}

/** This process's open fds: fd number → what it points to. */
export function openFds(): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // readdir's own fd, gone by the time we look
    }
  }
  return out;
}

/**
 * Reads `read()` until `done(value)` holds or `hangMs` passes, and returns the last value for
 * the test to assert on. For state the kernel or Node settles asynchronously (fds closed after
 * a child exits, an event delivered): a fixed sleep before the check fails under CPU load.
 */
export async function settled<T>(read: () => T, done: (value: T) => boolean, hangMs = 30_000): Promise<T> {
  const deadline = performance.now() + hangMs;
  for (;;) {
    const value = read();
    if (done(value) || performance.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
}
