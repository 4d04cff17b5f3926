// What the CNI tests share: the libcni client (built from test/cni/client with Debian's Go and
// libcni, offline), a plugin folder holding the shim as `rtnetlink`, the daemon as a child
// process, private tmpfs mounts for the CNI state folders, and direct plugin calls.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../../lib/native.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SOCKET = '/run/rtnetlink/cni.sock';
export const REFERENCE_PLUGINS = '/usr/lib/cni';
export const GOPATH = '/usr/share/gocode';

/** Why the CNI tests cannot run here (Go, libcni or the shim missing), or undefined. */
export function cniToolsMissing(): string | undefined {
  if (spawnSync('go', ['version']).status !== 0) return 'go is not installed (apt-get install golang-go)';
  if (!existsSync(join(GOPATH, 'src/github.com/containernetworking/cni/libcni'))) return 'libcni source is missing (apt-get install golang-github-appc-cni-dev)';
  if (!existsSync(native.cniShim)) return `the shim is not built (${native.cniShim})`;
  return undefined;
}

/** A fresh folder for one test file's files (not the machine's /var/lib or /etc). */
export function workDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `rtnetlink-${tag}-`));
}

/** Builds the libcni client into dir; Go's build cache makes later builds take a second. */
export function buildClient(dir: string): string {
  const out = join(dir, 'cniclient');
  const env = { ...process.env, GOPATH, GO111MODULE: 'off', GOFLAGS: '', GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'rtnetlink-go-cache') };
  execFileSync('go', ['build', '-o', out, './test/cni/client/'], { cwd: ROOT, env, stdio: 'pipe' });
  return out;
}

/** A CNI plugin folder: our shim installed as `rtnetlink` (a copy, as an install would do),
 *  plus links to the reference plugins for side-by-side runs and delegated IPAM. */
export function pluginDir(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  copyFileSync(native.cniShim, join(bin, 'rtnetlink'));
  for (const p of ['bridge', 'host-local', 'loopback', 'static']) {
    if (existsSync(join(REFERENCE_PLUGINS, p)) && !existsSync(join(bin, p))) symlinkSync(join(REFERENCE_PLUGINS, p), join(bin, p));
  }
  return bin;
}

/** Mounts a tmpfs over path inside the sandbox's own mount namespace. */
export function mountTmpfs(path: string): void {
  mkdirSync(path, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'rtnetlink-cni-test', path]);
}

export function unmount(path: string): void {
  spawnSync('umount', ['-l', path]);
}

/** A running daemon (a child process running the TypeScript sources). */
export interface DaemonProcess {
  child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `rtnl cni-daemon` and resolves once its socket accepts calls. */
export async function startDaemon(socket = SOCKET): Promise<DaemonProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'lib/cli/main.ts'), 'cni-daemon', '--socket', socket], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 300 && !stderr.includes('listening on'); i++) {
    if (child.exitCode !== null) throw new Error(`cni-daemon exited: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!stderr.includes('listening on')) throw new Error(`cni-daemon did not start: ${stderr}`);
  return {
    child,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The result of a client or plugin call: exit status and stdout parsed as JSON when it is. */
export interface CallResult {
  status: number;
  stdout: string;
  json?: any;
}

function asResult(status: number | null, stdout: string): CallResult {
  let json: unknown;
  try {
    json = stdout.trim() === '' ? undefined : JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { status: status ?? -1, stdout, json };
}

/** Runs the libcni client. */
export function client(bin: string, cmd: string, args: Record<string, string | number>): Promise<CallResult> {
  const argv = [cmd, ...Object.entries(args).flatMap(([k, v]) => [`-${k}`, String(v)])];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const r = asResult(code, out);
      if (code === 2) reject(new Error(`cniclient ${cmd}: ${err}`));
      resolve(r);
    });
  });
}

/** Runs a plugin executable directly with a CNI environment (what libcni does), for the
 *  commands this libcni predates (GC, STATUS) and for bad input. */
export function execPlugin(file: string, env: Record<string, string>, stdin: string | Buffer): Promise<CallResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', () => {});
    child.on('error', reject);
    child.on('close', (code) => resolve(asResult(code, out)));
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
  });
}

/** Writes a conflist with one plugin and returns its path. */
export function writeConflist(dir: string, name: string, plugin: Record<string, unknown>, cniVersion = '1.0.0'): string {
  const file = join(dir, `${name}.conflist`);
  writeFileSync(file, JSON.stringify({ cniVersion, name, plugins: [plugin] }, null, 2));
  return file;
}

/** The plugin config as a runtime sends it for a single plugin (name and version injected). */
export function pluginConfig(name: string, plugin: Record<string, unknown>, cniVersion = '1.1.0'): string {
  return JSON.stringify({ cniVersion, name, ...plugin });
}

/** `ip netns add`; namespaces live in the sandbox's tmpfs /run/netns. */
export function addNetns(name: string): string {
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return `/run/netns/${name}`;
}

/** ping from a namespace (or the host); true when one reply came back. */
export function ping(from: string | undefined, to: string): boolean {
  const args = from ? ['netns', 'exec', from, 'ping', '-c1', '-W1', to] : ['-c1', '-W1', to];
  return spawnSync(from ? 'ip' : 'ping', from ? args : args, { stdio: 'ignore' }).status === 0;
}
