// Commands inside a network namespace: `ip netns exec NS CMD` and `ip -all netns exec CMD`.
//
// Node must not switch namespaces itself (setns changes only the calling thread, and the
// child would inherit whichever thread forks it), so the child is the small rtnl-exec helper:
// it inherits an fd of the namespace at a known descriptor number, enters it, closes it and
// execs the user's command in place. The caller's ChildProcess is the command itself: same
// pid, same pipes, same exit status. This is the only file in lib/ that uses child_process.
import * as cp from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { ArgumentError, ArgumentRangeError, NetlinkError, abortError } from './errors.js';
import { NamespaceHandle, listNamespaces } from './handle.js';
import { native } from './native.js';
import { netnsLabel, withNamespaceFd, type NetnsRef } from './target.js';
import { describeValue, quoteText, validateAbortSignal } from './validate.js';
import { abortSignal, flag } from './fields.js';
import { custom, object, optional, passThrough, type Shape } from './schema.js';

/**
 * child_process.spawn options, minus those that cannot work through the helper: `shell`
 * and `argv0` (the helper execs the command itself), `uid`/`gid` (Node would drop root
 * before the helper runs, and without CAP_SYS_ADMIN it cannot enter the namespace).
 */
export type SpawnOptions = Omit<cp.SpawnOptions, 'shell' | 'argv0' | 'uid' | 'gid' | 'windowsHide' | 'windowsVerbatimArguments'>;

/**
 * Options of execFile(): those of child_process.execFile that work through the helper, and `input`.
 *
 * @example
 * ```ts
 * const { stdout } = await execFile('pb', 'sha256sum', [], { input: 'hello\n', timeout: 2000, env: { PATH: '/usr/bin:/bin' } });
 * ```
 */
export interface ExecFileOptions {
  /** Working directory of the command. */
  cwd?: string | URL;
  /** Its environment (default process.env); PATH from here finds the command. */
  env?: NodeJS.ProcessEnv;
  /** Of stdout and stderr; 'buffer' gives Buffers. Default 'utf8'. */
  encoding?: BufferEncoding | 'buffer';
  /** Written to the command's stdin, which is then closed. Without it stdin is closed at once. */
  input?: string | Uint8Array;
  /** Milliseconds before the command is killed with killSignal (0: never). */
  timeout?: number;
  /** Default 'SIGTERM'. */
  killSignal?: NodeJS.Signals | number;
  /** Largest stdout or stderr, in bytes, before the command is killed. Default 1 MiB. */
  maxBuffer?: number;
  /** Aborting kills the command (killSignal) and rejects with an AbortError. */
  signal?: AbortSignal;
}

/** What execFile() resolves to: the command exited with 0. */
export interface ExecResult<T extends string | Buffer = string> {
  /** What it printed on stdout. */
  stdout: T;
  /** What it printed on stderr. */
  stderr: T;
  /** Always 0: any other exit rejects with ExecError. */
  code: 0;
  /** Always null: a command ended by a signal rejects with ExecError. */
  signal: null;
}

/** Options of execInAll(): execFile()'s (text output only), and how many run at once. */
export interface ExecInAllOptions extends Omit<ExecFileOptions, 'encoding'> {
  /** Of stdout and stderr. Default 'utf8'. */
  encoding?: BufferEncoding;
  /** How many namespaces run at once. Default 1: one after another, as `ip -all netns exec`. */
  concurrency?: number;
}

/** The outcome of execInAll() in one namespace: a non-zero exit is a result here, not an error. */
export interface ExecInAllResult {
  /** The namespace's name in the run dir. */
  name: string;
  /** The exit code, or null when the command ended by a signal or never ran. */
  code: number | null;
  /** The signal that ended it, if one did. */
  signal: NodeJS.Signals | null;
  /** What it printed on stdout. */
  stdout: string;
  /** What it printed on stderr. */
  stderr: string;
  /** Set when the command did not get to exit by itself: the namespace was gone, the
   *  command could not be started (code 'ENOENT' ...), or it was stopped by the timeout
   *  or maxBuffer. A non-zero exit is not an error here. */
  error?: Error;
}

/**
 * A command that ran in the namespace and did not exit with 0. Shaped like the error of
 * Node's promisified execFile: `code` is the exit code (a number), or null when a signal
 * ended it, or 'ETIMEDOUT' / 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER' when this library killed it.
 *
 * @example
 * ```ts
 * try {
 *   await execFile('jelly', 'ping', ['-c1', '-W1', '192.168.0.56']);
 * } catch (err) {
 *   if (err instanceof ExecError) console.log(err.cmd, 'exited with', err.code, err.stderr);
 *   else throw err;
 * }
 * ```
 */
export class ExecError<T extends string | Buffer = string> extends Error {
  /** The exit code, null when a signal ended it, or 'ETIMEDOUT' / 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER'. */
  readonly code: number | string | null;
  /** The exit code, or null when a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended it, if one did. */
  readonly signal: NodeJS.Signals | null;
  /** True when this library killed the command (timeout or maxBuffer). */
  readonly killed: boolean;
  /** The command line, for messages: `ping -c1 192.168.0.56`. */
  readonly cmd: string;
  /** The namespace's name, when it has one. */
  readonly netns: string | undefined;
  /** What it printed on stdout. */
  readonly stdout: T;
  /** What it printed on stderr. */
  readonly stderr: T;

  constructor(d: {
    code: number | string | null;
    exitCode: number | null;
    signal: NodeJS.Signals | null;
    killed: boolean;
    cmd: string;
    where: string;
    netns: string | undefined;
    stdout: T;
    stderr: T;
    why: string;
  }) {
    const tail = typeof d.stderr === 'string' && d.stderr.length > 0 ? `\n${d.stderr}` : '';
    super(`Command failed (${d.why}) in ${d.where}: ${d.cmd}${tail}`);
    this.name = 'ExecError';
    this.code = d.code;
    this.exitCode = d.exitCode;
    this.signal = d.signal;
    this.killed = d.killed;
    this.cmd = d.cmd;
    this.netns = d.netns;
    this.stdout = d.stdout;
    this.stderr = d.stderr;
  }
}

/**
 * Starts `command` inside the network namespace of `netns`, like
 * `ip netns exec NAME COMMAND ARGS...` or `nsenter --net`, and returns the ChildProcess
 * (pipes, exit code, kill(), all as with child_process.spawn).
 *
 * Only the network namespace is entered. /sys and /etc/netns/NAME are not remounted as
 * `ip netns exec` does, because a multithreaded process cannot switch mount namespaces:
 * sockets, `ping`, `ip` (which asks the kernel over netlink) all see the namespace, but
 * tools that read interfaces from /sys (or config from /etc) see the caller's.
 *
 * Synchronous, so it needs an open handle (`await openNamespace('pb')`, which may be
 * closed as soon as spawn returns: the child holds its own reference). execFile() also
 * takes a name.
 *
 * The command is looked up in PATH (of options.env) inside the child. When it cannot be
 * started, the child exits like a shell would: 127 (not found) or 126 (not executable),
 * with an `rtnl-exec: COMMAND: reason` line on stderr; execFile() turns that into an
 * error with code 'ENOENT' etc. The namespace fd reaches the child at descriptor
 * `stdio.length` and is closed before the command runs, so the command holds only the
 * descriptors in `stdio`. `child.stdio` has one extra (null) entry for it, and
 * spawnfile/spawnargs name the helper.
 *
 * @example
 * ```ts
 * const jelly = await openNamespace('jelly');
 * const ping = spawn(jelly, 'ping', ['-c1', '192.168.0.56'], { stdio: 'inherit' });
 * jelly.close(); // the child holds its own reference
 * ping.on('exit', (code) => console.log('ping exited with', code));
 * ```
 */
export function spawn(netns: NamespaceHandle, command: string, args: readonly string[] = [], options: SpawnOptions = {}): cp.ChildProcess {
  if (!(netns instanceof NamespaceHandle)) {
    const why = typeof netns === 'string'
      ? `spawn() is synchronous and needs an open Namespace handle: use await openNamespace(${quoteText(netns)}), or execFile() which accepts a name`
      : `must be a Namespace handle, received ${describeValue(netns)}`;
    throw new ArgumentError('ERR_INVALID_ARG_TYPE', 'netns', why);
  }
  validateCommand(command, args);
  validateSpawnOptions(options);
  return spawnHelper(netns.fd, command, args, options);
}

/**
 * Runs `file` inside the namespace (a handle, or a name opened for this call) and collects
 * its output, like util.promisify(child_process.execFile). Resolves when it exits with 0.
 * Rejects with ExecError (exit code, signal, timeout, maxBuffer; with stdout and stderr),
 * with NetlinkError code 'ENOENT' / 'EACCES' ... when the command could not be started or
 * the namespace not entered, or with an AbortError. Only the network namespace is entered:
 * see spawn().
 *
 * @example
 * ```ts
 * const { stdout } = await execFile('jelly', 'ping', ['-c1', '192.168.0.56'], { timeout: 5000 });
 * const raw = await execFile('pb', 'cat', ['/proc/net/dev'], { encoding: 'buffer' }); // stdout: Buffer
 * ```
 */
export function execFile(netns: NetnsRef, file: string, args: readonly string[] | undefined, options: ExecFileOptions & { encoding: 'buffer' }): Promise<ExecResult<Buffer>>;
export function execFile(netns: NetnsRef, file: string, args?: readonly string[], options?: ExecFileOptions & { encoding?: BufferEncoding }): Promise<ExecResult<string>>;
export async function execFile(netns: NetnsRef, file: string, args: readonly string[] = [], options: ExecFileOptions = {}): Promise<ExecResult<string | Buffer>> {
  validateCommand(file, args);
  const opts = execOptions(options);
  if (opts.signal?.aborted) throw abortError(opts.signal);
  const where = describeNetns(netns);
  // Collection starts in the same tick as the spawn, so no event of the child is missed;
  // the wrapper object keeps withNamespaceFd from awaiting it, so a name is closed as soon
  // as the child has its own reference instead of staying open until the command exits.
  const started = await withNamespaceFd(netns, async (nsFd) => ({
    done: collect(spawnHelper(nsFd, file, args, childOptions(opts)), { ...opts, file, args, where, netns: netnsLabel(netns) }),
  }));
  return started.done;
}

/**
 * `ip -all netns exec`: runs the command in every named namespace (listNamespaces) and
 * resolves to one result per namespace, in name order. A non-zero exit is a result, not an
 * error; see ExecInAllResult.error for what is. An abort rejects the whole call.
 *
 * @example
 * ```ts
 * for (const { name, code, stdout } of await execInAll('ip', ['-br', 'addr'], { concurrency: 4 })) {
 *   console.log(name, code, stdout);
 * }
 * ```
 */
export async function execInAll(command: string, args: readonly string[] = [], options: ExecInAllOptions = {}): Promise<ExecInAllResult[]> {
  validateCommand(command, args);
  refuseUnsupported(options);
  const { concurrency = 1, ...execOpts } = execInAllOptions.check(options, 'options');
  const names = listNamespaces().map((n) => n.name);
  const results: ExecInAllResult[] = new Array(names.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length && !options.signal?.aborted) {
      const i = next++;
      results[i] = await runOne(names[i]!, command, args, execOpts);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  if (options.signal?.aborted) throw abortError(options.signal);
  return results;
}

async function runOne(name: string, command: string, args: readonly string[], options: ExecFileOptions): Promise<ExecInAllResult> {
  try {
    const r = await execFile(name, command, args, { ...options, encoding: encodingOf(options) });
    return { name, code: 0, signal: null, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    if (e instanceof ExecError && typeof e.code !== 'string') {
      return { name, code: e.exitCode, signal: e.signal, stdout: e.stdout as string, stderr: e.stderr as string };
    }
    const partial = e instanceof ExecError ? { signal: e.signal, stdout: e.stdout as string, stderr: e.stderr as string } : {};
    return { name, code: null, signal: null, stdout: '', stderr: '', ...partial, error: e as Error };
  }
}


function encodingOf(options: ExecFileOptions): BufferEncoding {
  return options.encoding === undefined || options.encoding === 'buffer' ? 'utf8' : options.encoding;
}

function spawnHelper(nsFd: number, command: string, args: readonly string[], options: SpawnOptions): cp.ChildProcess {
  const stdio = userStdio(options.stdio);
  return cp.spawn(native.execHelper, [String(stdio.length), command, ...args], { ...options, stdio: [...stdio, nsFd] as cp.StdioOptions });
}

/** The caller's stdio as an array of at least 3 entries (undefined = Node's default). */
function userStdio(stdio: cp.StdioOptions | undefined): unknown[] {
  if (stdio === undefined) return ['pipe', 'pipe', 'pipe'];
  if (typeof stdio === 'string') return [stdio, stdio, stdio];
  if (!Array.isArray(stdio)) {
    throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'options.stdio', `must be a string or an array, received ${describeValue(stdio)}`);
  }
  const out: unknown[] = [...stdio];
  while (out.length < 3) out.push(undefined);
  return out;
}

function validateCommand(command: unknown, args: unknown): void {
  if (typeof command !== 'string') {
    throw new ArgumentError('ERR_INVALID_ARG_TYPE', 'command', `must be a string, received ${describeValue(command)}`);
  }
  if (command.length === 0 || command.includes('\0')) {
    throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'command', `must be a non-empty string without NUL, received ${quoteText(command)}`);
  }
  if (!Array.isArray(args)) throw new ArgumentError('ERR_INVALID_ARG_TYPE', 'args', `must be an array of strings, received ${describeValue(args)}`);
  args.forEach((a, i) => {
    if (typeof a !== 'string' || a.includes('\0')) {
      throw new ArgumentError('ERR_INVALID_ARG_VALUE', `args[${i}]`, `must be a string without NUL, received ${describeValue(a)}`);
    }
  });
}

const UNSUPPORTED: Record<string, string> = {
  shell: 'the command is executed directly inside the namespace; run a shell as the command instead',
  argv0: 'the helper execs the command with argv[0] = the command',
  uid: 'dropping root before the helper runs would leave it unable to enter the namespace',
  gid: 'dropping root before the helper runs would leave it unable to enter the namespace',
};

const killSignal = custom<NodeJS.Signals | number>('a signal name or number', (v) => validateKillSignal(v));
const nonNegativeInteger = (allowInfinity: boolean) =>
  custom<number>(allowInfinity ? 'a non-negative integer or Infinity' : 'a non-negative integer', (v, path) => nonNegative(v, path, allowInfinity));
const encoding = custom<BufferEncoding | 'buffer'>("a Buffer encoding or 'buffer'", (v, path) => {
  if (v !== 'buffer' && !(typeof v === 'string' && Buffer.isEncoding(v))) {
    throw new ArgumentError('ERR_INVALID_ARG_VALUE', path, `must be a Buffer encoding or 'buffer', received ${describeValue(v)}`);
  }
  return v as BufferEncoding | 'buffer';
});
const input = custom<string | Uint8Array>('a string or a Uint8Array', (v, path) => {
  if (typeof v !== 'string' && !(v instanceof Uint8Array)) throw new ArgumentError('ERR_INVALID_ARG_TYPE', path, `must be a string or a Uint8Array, received ${describeValue(v)}`);
  return v;
});

const processShape = { cwd: optional(passThrough<string | URL>()), env: optional(passThrough<NodeJS.ProcessEnv>()), killSignal: optional(killSignal), signal: optional(abortSignal) };

const spawnOptions = object<SpawnOptions>('spawn options', {
  ...processShape,
  timeout: optional(nonNegativeInteger(false)),
  serialization: optional(passThrough<cp.SerializationType>()),
  stdio: optional(custom<cp.StdioOptions>('a string or an array', (v) => (userStdio(v as cp.StdioOptions), v as cp.StdioOptions))),
  detached: optional(flag),
});

const execFileShape: Shape<ExecFileOptions> = {
  ...processShape,
  encoding: optional(encoding),
  input: optional(input),
  timeout: optional(nonNegativeInteger(false)),
  maxBuffer: optional(nonNegativeInteger(true)),
};
const execFileOptions = object<ExecFileOptions>('execFile options', execFileShape);
const execInAllOptions = object<ExecInAllOptions>('execInAll options', {
  ...execFileShape,
  encoding: optional(custom<BufferEncoding>('a Buffer encoding', (v, path) => encoding.check(v, path) as BufferEncoding)),
  concurrency: optional(custom<number>('a positive integer', (v, path) => {
    if (!Number.isInteger(v) || (v as number) < 1) throw new ArgumentRangeError('ERR_OUT_OF_RANGE', path, `must be a positive integer, received ${describeValue(v)}`);
    return v as number;
  })),
});

function refuseUnsupported(options: unknown): void {
  if (options === null || typeof options !== 'object') return;
  const o = options as Record<string, unknown>;
  for (const [key, why] of Object.entries(UNSUPPORTED)) {
    if (o[key] !== undefined && o[key] !== false) throw new ArgumentError('ERR_INVALID_ARG_VALUE', `options.${key}`, `is not supported: ${why}`);
  }
}

function validateSpawnOptions(options: unknown): void {
  refuseUnsupported(options);
  spawnOptions.check(options, 'options');
}

interface ExecOptions {
  cwd: string | URL | undefined;
  env: NodeJS.ProcessEnv | undefined;
  encoding: BufferEncoding | 'buffer';
  input: string | Uint8Array | undefined;
  timeout: number;
  killSignal: NodeJS.Signals | number;
  maxBuffer: number;
  signal: AbortSignal | undefined;
}

/** execFile's options, checked, with their defaults. */
function execOptions(options: ExecFileOptions): ExecOptions {
  refuseUnsupported(options);
  const o = execFileOptions.check(options, 'options');
  return {
    cwd: o.cwd,
    env: o.env,
    encoding: o.encoding ?? 'utf8',
    input: o.input,
    timeout: o.timeout ?? 0,
    killSignal: o.killSignal ?? 'SIGTERM',
    maxBuffer: o.maxBuffer ?? 1024 * 1024,
    signal: validateAbortSignal(o.signal, 'options.signal'),
  };
}

function childOptions(o: ExecOptions): SpawnOptions {
  return {
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
    ...(o.env !== undefined ? { env: o.env } : {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
    killSignal: o.killSignal,
    stdio: ['pipe', 'pipe', 'pipe'],
  };
}

function nonNegative(value: unknown, field: string, allowInfinity: boolean): number {
  const ok = typeof value === 'number' && value >= 0 && (Number.isInteger(value) || (allowInfinity && value === Infinity));
  if (!ok) throw new ArgumentRangeError('ERR_OUT_OF_RANGE', field, `must be a non-negative integer, received ${describeValue(value)}`);
  return value as number;
}

function validateKillSignal(value: unknown): NodeJS.Signals | number {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  if (typeof value === 'string' && value in osConstants.signals) return value as NodeJS.Signals;
  throw new ArgumentError('ERR_UNKNOWN_SIGNAL', 'options.killSignal', `must be a signal name or number, received ${describeValue(value)}`);
}

function describeNetns(netns: NetnsRef): string {
  return netns instanceof NamespaceHandle ? netns.toString() : `netns '${String(netns)}'`;
}

interface CollectContext extends ExecOptions {
  file: string;
  args: readonly string[];
  where: string;
  netns: string | undefined;
}

/** Bytes of one output stream, up to maxBuffer. */
class Output {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  constructor(private readonly max: number) {}

  /** False when the limit was crossed (what fits is kept, as Node's execFile does). */
  push(chunk: Buffer): boolean {
    const room = this.max - this.length;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.length += kept.length;
    return kept.length === chunk.length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function collect(child: cp.ChildProcess, ctx: CollectContext): Promise<ExecResult<string | Buffer>> {
  return new Promise((resolve, reject) => {
    const out = new Output(ctx.maxBuffer);
    const err = new Output(ctx.maxBuffer);
    let stoppedBy: 'timeout' | 'stdout' | 'stderr' | undefined;
    let settled = false;

    const stop = (why: NonNullable<typeof stoppedBy>): void => {
      stoppedBy ??= why;
      child.kill(ctx.killSignal);
    };
    const timer = ctx.timeout > 0 ? setTimeout(() => stop('timeout'), ctx.timeout) : undefined;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };

    child.stdout!.on('data', (c: Buffer) => out.push(c) || stop('stdout'));
    child.stderr!.on('data', (c: Buffer) => err.push(c) || stop('stderr'));
    // Node reports a failed spawn of the helper and an abort here; the child is already killed.
    child.on('error', (e) => {
      child.stdout!.destroy();
      child.stderr!.destroy();
      finish(() => reject(e));
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) =>
      finish(() => {
        const outcome = settle(ctx, code, signal, stoppedBy, out.bytes(), err.bytes());
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      }),
    );
    writeInput(child, ctx.input);
  });
}

function writeInput(child: cp.ChildProcess, input: string | Uint8Array | undefined): void {
  const stdin = child.stdin!;
  // A command that exits without reading its stdin makes the write fail with EPIPE; its
  // exit status is what the caller wants to hear about, not that.
  stdin.on('error', () => {});
  stdin.end(input);
}

function settle(
  ctx: CollectContext,
  code: number | null,
  signal: NodeJS.Signals | null,
  stoppedBy: 'timeout' | 'stdout' | 'stderr' | undefined,
  stdoutBytes: Buffer,
  stderrBytes: Buffer,
): ExecResult<string | Buffer> | Error {
  const decode = (b: Buffer): string | Buffer => (ctx.encoding === 'buffer' ? b : b.toString(ctx.encoding));
  const stdout = decode(stdoutBytes);
  const stderr = decode(stderrBytes);
  if (code === 0 && stoppedBy === undefined) return { stdout, stderr, code: 0, signal: null };
  if (stoppedBy === undefined) {
    const failure = helperFailure(code, stderrBytes, ctx);
    if (failure) return failure;
  }
  const cmd = [ctx.file, ...ctx.args].join(' ');
  const common = { exitCode: code, signal, cmd, where: ctx.where, netns: ctx.netns, stdout, stderr };
  if (stoppedBy === 'timeout') {
    return new ExecError({ ...common, code: 'ETIMEDOUT', killed: true, why: `timed out after ${ctx.timeout} ms` });
  }
  if (stoppedBy !== undefined) {
    return new ExecError({ ...common, code: 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER', killed: true, why: `${stoppedBy} maxBuffer length exceeded` });
  }
  const why = code !== null ? `exit code ${code}` : `signal ${String(signal)}`;
  return new ExecError({ ...common, code, killed: false, why });
}

// glibc's strerror() texts the helper prints, for the errnos execvp and setns can fail with.
const HELPER_ERRNO_TEXT: ReadonlyMap<string, string> = new Map([
  ['No such file or directory', 'ENOENT'],
  ['Permission denied', 'EACCES'],
  ['Exec format error', 'ENOEXEC'],
  ['Not a directory', 'ENOTDIR'],
  ['Is a directory', 'EISDIR'],
  ['Too many levels of symbolic links', 'ELOOP'],
  ['File name too long', 'ENAMETOOLONG'],
  ['Argument list too long', 'E2BIG'],
  ['Text file busy', 'ETXTBSY'],
  ['Cannot allocate memory', 'ENOMEM'],
  ['Too many open files', 'EMFILE'],
  ['Operation not permitted', 'EPERM'],
  ['Invalid argument', 'EINVAL'],
  ['Bad file descriptor', 'EBADF'],
]);

/**
 * The helper's own failure, told apart from the command's by its exit status (125 setns,
 * 126/127 exec) together with stderr being exactly the helper's one line: the command
 * never ran, so nothing else can have written there.
 */
function helperFailure(code: number | null, stderr: Buffer, ctx: CollectContext): NetlinkError | undefined {
  const stage = code === 125 ? 'setns' : code === 126 || code === 127 ? ctx.file : undefined;
  if (stage === undefined) return undefined;
  const prefix = `rtnl-exec: ${stage}: `;
  const text = stderr.toString('utf8');
  if (!text.startsWith(prefix) || !text.endsWith('\n') || text.indexOf('\n') !== text.length - 1) return undefined;
  const errnoName = HELPER_ERRNO_TEXT.get(text.slice(prefix.length, -1));
  const errno = errnoName === undefined ? undefined : (osConstants.errno as Record<string, number>)[errnoName];
  if (errno === undefined) return undefined;
  return stage === 'setns'
    ? new NetlinkError({ errno, syscall: 'setns', operation: 'netns exec', object: ctx.netns ?? ctx.where, hint: 'entering the namespace' })
    : new NetlinkError({ errno, syscall: 'execvp', operation: 'spawn', object: ctx.file, hint: `in ${ctx.where}` });
}
