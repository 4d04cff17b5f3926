// Commands inside a namespace (`ip netns exec`, `ip -all netns exec`) on the tutorial
// topology: what the command sees, what the caller gets back, and that nothing of the
// namespace switch (threads, fds) leaks into this process or into the command.
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, resetSandbox, sandboxSkipReason, threadNamespaces, settled } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');
const { spawn, execFile, execInAll, ExecError } = await import('../../lib/exec.js');
const example = await import('../../examples/pb-and-jelly.js');

type Namespace = InstanceType<typeof lib.Namespace>;

const openFds = () => readdirSync('/proc/self/fd').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `ls -l /proc/self/fd` output → fd number → link target. */
function parseFdListing(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of text.matchAll(/ (\d+) -> (.*)$/gm)) out.set(Number(m[1]), m[2]!);
  return out;
}

/** fds of this process without O_CLOEXEC: every child inherits them (e.g. from whoever started the test run), not our doing. */
function inheritedFds(): Set<number> {
  const O_CLOEXEC = 0o2000000;
  const out = new Set<number>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!;
      if ((parseInt(flags, 8) & O_CLOEXEC) === 0 && Number(fd) > 2) out.add(Number(fd));
    } catch {
      // the fd readdir itself used, closed by now
    }
  }
  return out;
}

/** The fds of a child's listing above `above`, minus those every child of ours inherits. */
function ownFds(listing: Map<number, string>, above: number): string[] {
  const inherited = inheritedFds();
  return [...listing.entries()].filter(([fd]) => fd > above && !inherited.has(fd)).map(([, target]) => target);
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  // Only a hang fails here: under CPU load a child takes seconds to exec.
  if (!(await settled(check, (ok) => ok))) throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(!inSandbox)(`exec in a namespace${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  let pb: Namespace;
  let jelly: Namespace;

  beforeAll(async () => {
    resetSandbox();
    [pb, jelly] = await example.buildTutorial();
  });
  afterAll(async () => {
    pb?.close();
    jelly?.close();
    await example.teardownTutorial();
    resetSandbox();
  });

  it("sees the namespace's interfaces, by name or by handle (ip -json link)", async () => {
    for (const netns of ['pb', pb]) {
      const { stdout, stderr, code } = await execFile(netns, 'ip', ['-json', 'link', 'show']);
      expect(code).toBe(0);
      expect(stderr).toBe('');
      const names = (JSON.parse(stdout) as { ifname: string }[]).map((l) => l.ifname).sort();
      expect(names).toEqual(['lo', 'veth-pb']);
    }
    const host = await execFile(jelly, 'ip', ['-json', 'addr', 'show', 'veth-jelly']);
    expect(JSON.parse(host.stdout)[0].addr_info).toContainEqual(expect.objectContaining({ local: '192.168.0.55' }));
  });

  it('enters only the network namespace: same mount namespace, different net', async () => {
    const { stdout } = await execFile(pb, 'readlink', ['/proc/self/ns/net', '/proc/self/ns/mnt']);
    const [net, mnt] = stdout.trim().split('\n');
    expect(net).toBe(`net:[${pb.id.ino}]`);
    expect(net).not.toBe(readlinkSync('/proc/self/ns/net'));
    expect(mnt).toBe(readlinkSync('/proc/self/ns/mnt'));
  });

  it('reaches the other namespace across the bridge (ping from pb to jelly)', async () => {
    const { stdout } = await execFile('pb', 'ping', ['-c', '1', '-W', '2', '192.168.0.55']);
    expect(stdout).toMatch(/1 received/);
  });

  it('captures stdout, stderr and a non-zero exit code', async () => {
    const ok = await execFile(pb, 'sh', ['-c', 'echo out; echo err >&2']);
    expect(ok).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 0, signal: null });

    const e = await execFile(pb, 'sh', ['-c', 'echo partial; echo broken >&2; exit 3']).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ExecError);
    expect(e).toMatchObject({ code: 3, exitCode: 3, signal: null, killed: false, stdout: 'partial\n', stderr: 'broken\n', netns: 'pb' });
    expect((e as Error).message).toMatch(/^Command failed \(exit code 3\) in netns 'pb': sh -c/);

    const buf = await execFile('pb', 'printf', ['\\001\\002'], { encoding: 'buffer' });
    expect(buf.stdout).toEqual(Buffer.from([1, 2]));
  });

  it('feeds stdin from input, and through a spawned pipe', async () => {
    expect((await execFile('pb', 'cat', [], { input: 'hello from node' })).stdout).toBe('hello from node');
    expect((await execFile(pb, 'wc', ['-c'], { input: Buffer.alloc(100_000, 1) })).stdout.trim()).toBe('100000');

    const child = spawn(pb, 'tr', ['a-z', 'A-Z']);
    const chunks: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => chunks.push(c));
    child.stdin!.end('shout');
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(0);
    expect(Buffer.concat(chunks).toString()).toBe('SHOUT');
  });

  it('spawns the command itself (same pid) inside the namespace, and kill() reaches it', async () => {
    const child = spawn(pb, 'sleep', ['30'], { stdio: 'ignore' });
    const pid = child.pid!;
    await waitFor(() => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep', 'the helper to exec sleep');
    expect(readlinkSync(`/proc/${pid}/ns/net`)).toBe(`net:[${pb.id.ino}]`);
    const exited = new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
    expect(child.kill('SIGTERM')).toBe(true);
    expect(await exited).toEqual([null, 'SIGTERM']);
  });

  it('stops a command at its timeout, on abort, and past maxBuffer', async () => {
    const t = await execFile('pb', 'sleep', ['30'], { timeout: 100 }).catch((x: unknown) => x);
    expect(t).toMatchObject({ name: 'ExecError', code: 'ETIMEDOUT', killed: true, signal: 'SIGTERM', exitCode: null });

    const ac = new AbortController();
    const pending = execFile(pb, 'sleep', ['30'], { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    await expect(execFile(pb, 'true', [], { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' });

    const m = await execFile(pb, 'head', ['-c', '100000', '/dev/zero'], { maxBuffer: 1000 }).catch((x: unknown) => x);
    expect(m).toMatchObject({ code: 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER', killed: true });
    expect((m as { stdout: string }).stdout.length).toBe(1000);
  });

  it('reports a command that is not there as ENOENT (execFile), as exit 127 (spawn)', async () => {
    const e = await execFile('pb', 'no-such-command-here', ['x']).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(lib.NetlinkError);
    expect(e).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'execvp', object: 'no-such-command-here' });
    expect((e as Error).message).toBe("ENOENT: no such file or directory, spawn 'no-such-command-here' (in netns 'pb')");

    const dir = mkdtempSync(join(tmpdir(), 'rtnl-exec-'));
    const plainFile = join(dir, 'not-executable');
    writeFileSync(plainFile, 'echo never\n', { mode: 0o644 });
    try {
      const notExecutable = await execFile(pb, plainFile).catch((x: unknown) => x);
      expect(notExecutable).toMatchObject({ code: 'EACCES', syscall: 'execvp', object: plainFile });
    } finally {
      rmSync(dir, { recursive: true });
    }

    // A command of its own that exits 127 is an exit code, not a missing command.
    const sh = await execFile(pb, 'sh', ['-c', 'exit 127']).catch((x: unknown) => x);
    expect(sh).toMatchObject({ name: 'ExecError', code: 127 });

    const child = spawn(pb, 'no-such-command-here');
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    expect(await new Promise((r) => child.on('close', r))).toBe(127);
    expect(stderr).toBe('rtnl-exec: no-such-command-here: No such file or directory\n');
  });

  it('reports a namespace that does not exist before running anything', async () => {
    await expect(execFile('no-such-ns', 'true')).rejects.toMatchObject({ code: 'ENOENT', operation: 'netns open', object: 'no-such-ns' });
  });

  it('refuses bad arguments before any syscall', async () => {
    expect(() => spawn('pb' as unknown as Namespace, 'true')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', field: 'netns' }));
    expect(() => spawn(pb, '')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', field: 'command' }));
    expect(() => spawn(pb, 'true', ['a\0b'])).toThrow(expect.objectContaining({ field: 'args[0]' }));
    expect(() => spawn(pb, 'true', [], { shell: true } as never)).toThrow(expect.objectContaining({ field: 'options.shell' }));
    expect(() => spawn(pb, 'true', [], { uid: 1000 } as never)).toThrow(expect.objectContaining({ field: 'options.uid' }));
    await expect(execFile('pb', 'true', [], { timeout: -1 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(execFile('../etc', 'true')).rejects.toMatchObject({ code: 'ERR_INVALID_NETNS_NAME' });
    const closed = await lib.openNamespace('pb');
    closed.close();
    expect(() => spawn(closed, 'true')).toThrow(expect.objectContaining({ code: 'ERR_NETLINK_CLOSED' }));
  });

  it('runs in every named namespace (ip -all netns exec), non-zero exits included', async () => {
    const links = await execInAll('ip', ['-o', 'link', 'show']);
    expect(links.map((r) => [r.name, r.code])).toEqual([['jelly', 0], ['pb', 0]]);
    expect(links[0]!.stdout).toMatch(/veth-jelly/);
    expect(links[0]!.stdout).not.toMatch(/veth-pb|brd1/);
    expect(links[1]!.stdout).toMatch(/veth-pb/);

    const mixed = await execInAll('sh', ['-c', 'ip -o link show veth-pb >/dev/null 2>&1 || { echo missing >&2; exit 4; }'], { concurrency: 2 });
    expect(mixed).toEqual([
      { name: 'jelly', code: 4, signal: null, stdout: '', stderr: 'missing\n' },
      { name: 'pb', code: 0, signal: null, stdout: '', stderr: '' },
    ]);

    const missing = await execInAll('no-such-command-here');
    expect(missing.map((r) => [r.name, r.code, (r.error as { code?: string } | undefined)?.code])).toEqual([
      ['jelly', null, 'ENOENT'],
      ['pb', null, 'ENOENT'],
    ]);
  });

  it('gives the command only its stdio: the namespace fd is closed before it runs', async () => {
    const plain = parseFdListing((await execFile(pb, 'ls', ['-l', '/proc/self/fd'])).stdout);
    // Only ls's own directory fd besides stdio.
    expect(ownFds(plain, 2)).toEqual([expect.stringMatching(/^\/proc\/\d+\/fd$/)]);
    expect([...plain.values()].some((t) => t.startsWith('net:'))).toBe(false);

    // With an extra pipe of the caller's at fd 3, the namespace fd was at 4, and is gone too.
    const child = spawn(pb, 'ls', ['-l', '/proc/self/fd'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    expect(await new Promise((r) => child.on('close', r))).toBe(0);
    const extra = parseFdListing(out);
    expect(extra.get(3)).toMatch(/^(pipe|socket):/);
    expect(ownFds(extra, 3)).toEqual([expect.stringMatching(/^\/proc\/\d+\/fd$/)]);
    expect([...extra.values()].some((t) => t.startsWith('net:'))).toBe(false);
  });

  it('leaves every thread of this process in its own namespace, and leaks no fd', async () => {
    const home = readlinkSync('/proc/self/ns/net');
    await execFile('pb', 'true'); // warm up: lazily opened host sockets are not leaks
    const before = openFds();
    await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => execFile(i % 2 ? 'pb' : 'jelly', 'ip', ['-o', 'addr'])),
      execFile('pb', 'no-such-command-here').catch(() => {}),
      execFile('no-such-ns', 'true').catch(() => {}),
      execFile(pb, 'sh', ['-c', 'exit 1']).catch(() => {}),
      execInAll('true'),
    ]);
    expect(await settled(openFds, (n) => n === before)).toBe(before);
    for (const [tid, netns] of threadNamespaces()) expect(netns, `thread ${tid}`).toBe(home);
  });
});
