// The long-running half of the plugin: `rtnl cni-daemon [--socket PATH]`. It serves the native
// shim's frames on a root-only unix socket, one call per connection, many at once. Calls for
// one container run in order; other containers' calls run in parallel. It keeps no state of its
// own in memory that matters: leases are host-local's files, attachments are marked kernel
// objects, so a kill -9 loses nothing and a restarted daemon carries on. SIGTERM stops taking
// calls and lets those under way finish.
import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { native } from '../native.js';
import { keyedSerialiser } from '../serialise.js';
import { CniCode, CniError } from './errors.js';
import { CNI_ENV_NAMES, FrameReader, encodeReply, type CniReply, type CniRequest } from './frame.js';
import { errorReply, handleCniRequest, serialisationKey } from './plugin.js';
import { monotonicMs } from '../clock.js';

/** Where the shim looks for the daemon unless the config's daemonSocket says otherwise. */
const DEFAULT_SOCKET = '/run/rtnetlink/cni.sock';

/**
 * Options of startCniDaemon.
 *
 * @example
 * ```ts
 * const daemon = await startCniDaemon({ socket: '/run/rtnetlink/cni.sock', allowUids: [0], log: (line) => console.log(line) });
 * ```
 */
export interface CniDaemonOptions {
  /** Unix socket path (default /run/rtnetlink/cni.sock). */
  socket?: string;
  /** Allowed peer uids (default [0]: root only). */
  allowUids?: number[];
  /** Called with one line per finished call (command, container, status, ms). */
  log?: (line: string) => void;
}

/** A running daemon. */
export interface CniDaemon {
  readonly socket: string;
  /** Calls under way (until their reply is handed to the connection). */
  readonly inFlight: number;
  /** Stops accepting, waits for the calls under way, removes the socket. */
  close(): Promise<void>;
}

/** Removes a socket file left by a daemon that died, but never one a live daemon listens on. */
async function clearStaleSocket(path: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new CniError(CniCode.TryAgainLater, 'another rtnetlink CNI daemon is running', path);
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/**
 * Starts the daemon on its socket (0600, in a folder made 0700 when it is created).
 *
 * @example
 * ```ts
 * const daemon = await startCniDaemon({ socket: '/run/rtnetlink/cni.sock' });
 * process.on('SIGTERM', () => void daemon.close());
 * ```
 */
export async function startCniDaemon(opts: CniDaemonOptions = {}): Promise<CniDaemon> {
  const path = opts.socket ?? DEFAULT_SOCKET;
  const allow = new Set(opts.allowUids ?? [0]);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  await clearStaleSocket(path);
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const serialised = keyedSerialiser();
  const sockets = new Set<Socket>();
  /** Connections that have not delivered a whole frame yet: close() drops them at once. */
  const unanswered = new Set<Socket>();

  const serve = async (req: CniRequest): Promise<CniReply> => {
    const started = monotonicMs();
    // Calls for one container run in order (the key names it), others at once.
    const key = serialisationKey(req);
    const reply = await (key === undefined ? handleCniRequest(req) : serialised(key, () => handleCniRequest(req)));
    opts.log?.(`${req.env.CNI_COMMAND ?? '-'} ${req.env.CNI_CONTAINERID ?? '-'} ${req.env.CNI_IFNAME ?? '-'} status=${reply.status} ${(monotonicMs() - started).toFixed(2)}ms`);
    return reply;
  };

  const onConnection = (sock: Socket) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
    let uid = -1;
    try {
      if (typeof fd === 'number' && fd >= 0) uid = native.peerCredentials(fd).uid;
    } catch {
      // no credentials: refused below
    }
    if (!allow.has(uid)) {
      sock.end(encodeReply(errorReply(new CniError(CniCode.InvalidEnvironment, 'permission denied', `peer uid ${uid} may not use the rtnetlink CNI daemon`))));
      return;
    }
    unanswered.add(sock);
    sock.once('close', () => unanswered.delete(sock));
    const reader = new FrameReader();
    let answered = false;
    sock.on('data', (chunk: Buffer) => {
      if (answered) return;
      const state = reader.push(chunk);
      if (!state.done) return;
      answered = true;
      unanswered.delete(sock);
      if ('error' in state) {
        sock.end(encodeReply(errorReply(new CniError(CniCode.DecodingFailure, 'malformed request frame', state.error))));
        return;
      }
      // In flight until its reply is handed to the socket: close() ends the connections only then.
      inFlight++;
      void serve(state.request)
        .then((reply) => {
          if (!sock.destroyed) sock.end(encodeReply(reply));
        })
        .finally(() => {
          if (--inFlight === 0) idle?.();
        });
    });
  };

  const server: Server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Created 0600 from the start: no moment where another user could connect.
    const old = process.umask(0o177);
    try {
      server.listen(path, () => resolve());
    } finally {
      process.umask(old);
    }
  });
  chmodSync(path, 0o600);

  let closing: Promise<void> | undefined;
  return {
    socket: path,
    get inFlight() {
      return inFlight;
    },
    close() {
      closing ??= (async () => {
        // server.close() calls back once every connection has ended, replies written.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
        // A client that never sent a whole frame would hold that forever: it has no call under way.
        for (const s of unanswered) s.destroy();
        if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
        // Every reply is written: a client that keeps its end open must not hold the close.
        for (const s of sockets) s.destroySoon();
        await closed;
      })();
      return closing;
    },
  };
}

/**
 * `rtnl cni-daemon [--socket PATH] [--verbose] [--print-shim]`: runs until SIGTERM or SIGINT,
 * then drains. --print-shim prints where the built `rtnetlink-cni` shim is, and exits.
 * @example
 * process.exitCode = await runCniDaemon(['--socket', '/run/rtnetlink/cni.sock']);
 */
export async function runCniDaemon(values: { socket?: string; verbose?: boolean; printShim?: boolean }): Promise<number> {
  if (values.printShim) {
    // For installers: `install -m 0755 "$(rtnl cni-daemon --print-shim)" /opt/cni/bin/rtnetlink`
    process.stdout.write(`${native.cniShim}\n`);
    return 0;
  }
  const daemon = await startCniDaemon({
    ...(values.socket !== undefined && { socket: values.socket }),
    ...(values.verbose && { log: (line: string) => process.stderr.write(`rtnl cni-daemon: ${line}\n`) }),
  });
  process.stderr.write(`rtnl cni-daemon: listening on ${daemon.socket}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await daemon.close();
  return 0;
}

/**
 * `rtnl cni-plugin`: the plugin in this process, for the shim's `"fallback": "exec"` (and for
 * runtimes pointed at it directly): CNI environment and stdin in, result or error out.
 */
export async function runCniPlugin(): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const env: CniRequest['env'] = {};
  for (const name of CNI_ENV_NAMES) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  const reply = await handleCniRequest({ env, stdin: Buffer.concat(chunks) });
  await new Promise<void>((resolve) => process.stdout.write(reply.stdout, () => resolve()));
  return reply.status;
}
