// Node sockets that live in another network namespace. A socket belongs to the namespace
// it was created in, for its whole life, whichever thread later uses it. So the addon
// creates it on one of its own threads inside the namespace (SOCK_CLOEXEC, bound when
// asked), and Node adopts the fd; everything after that (listen, connect, I/O) runs on
// the JS thread as for any other socket. Name resolution is not done here: dns.lookup
// would ask the caller's resolver, not the namespace's, so hosts are IP literals.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { ArgumentError, ArgumentRangeError, NetlinkError, abortError } from './errors.js';
import { formatAddress, parseAddress, type ParsedAddress } from './ip.js';
import { NamespaceHandle } from './handle.js';
import { native } from './native.js';
import { withNamespaceFd, type NetnsRef } from './target.js';
import { describeValue } from './validate.js';
import { abortSignal, flag } from './fields.js';
import { custom, object, optional, passThroughFields } from './schema.js';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const ETIMEDOUT = -110;

/** Options of listen(): where to listen, and net.createServer's options. */
export interface ListenOptions<S extends net.Server = net.Server> extends net.ServerOpts {
  /** 0 lets the kernel pick a free port: read it from server.address(). */
  port: number;
  /** IP address inside the namespace. Default '0.0.0.0'; '::' listens on IPv4 and IPv6. */
  host?: string;
  /** listen(2)'s backlog (default: Node's, 511). */
  backlog?: number;
  /** A server to listen with, e.g. http.createServer(handler); the other server options
   *  are then ignored. Default: a new net.Server. */
  server?: S;
}

/** Options of connect(). */
export interface ConnectOptions {
  /** IP address to connect to, as seen from inside the namespace. */
  host: string;
  /** TCP port to connect to. */
  port: number;
  /** Bind the socket to this local address (and localPort) first. */
  localAddress?: string;
  /** Local port to bind to (with or without localAddress). */
  localPort?: number;
  /** Milliseconds to wait for the connection; rejects with code 'ETIMEDOUT'. 0: the kernel's own. */
  timeout?: number;
  /** Aborting closes the socket and rejects with an AbortError. */
  signal?: AbortSignal;
  /** As net.Socket's: keep the writable side open after the peer ends. */
  allowHalfOpen?: boolean;
}

/** Options of bindUdp(): where to bind, and dgram.createSocket's options that apply. */
export interface UdpOptions extends Omit<dgram.SocketOptions, 'type' | 'reuseAddr' | 'reusePort' | 'ipv6Only' | 'lookup'> {
  /** Local address inside the namespace. Default '0.0.0.0'; its family makes it udp4 or udp6. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
}

const anyPort = custom<number>('a port number', (v, path) => validatePort(v, path, 0));
// As Node's net options are checked (ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE), not as the
// library's netlink options: these are net.Server's and net.Socket's own.
const nonNegativeInt = custom<number>('an integer from 0 to 2147483647', (v, path) => validateInt(v, path, 0, 0x7fffffff));
const hostAddress = custom<string>('an IP address', (v, path) => (parseAddress(v as string, path), v as string));

const listenOptions = object<ListenOptions>(
  'listen options',
  {
    ...passThroughFields(['allowHalfOpen', 'pauseOnConnect', 'noDelay', 'keepAlive', 'keepAliveInitialDelay', 'highWaterMark']),
    port: anyPort,
    host: optional(hostAddress),
    backlog: optional(nonNegativeInt),
    server: optional(custom<net.Server>('a net.Server', (v, path) => {
      if (!(v instanceof net.Server)) throw new ArgumentError('ERR_INVALID_ARG_TYPE', path, `must be a net.Server, received ${describeValue(v)}`);
      return v;
    })),
  },
  { hints: { address: 'host', hostname: 'host' } },
);

const connectOptions = object<ConnectOptions>(
  'connect options',
  {
    host: hostAddress,
    port: custom<number>('a port number', (v, path) => validatePort(v, path, 1)),
    localAddress: optional(hostAddress),
    localPort: optional(anyPort),
    timeout: optional(nonNegativeInt),
    signal: optional(abortSignal),
    allowHalfOpen: optional(flag),
  },
  { hints: { address: 'host', hostname: 'host' } },
);

const udpOptions = object<UdpOptions>(
  'bindUdp options',
  { ...passThroughFields(['recvBufferSize', 'sendBufferSize', 'signal']), host: optional(hostAddress), port: optional(anyPort) },
  { hints: { address: 'host', type: "host (its family picks 'udp4' or 'udp6')" } },
);

/**
 * Starts a TCP server listening inside `netns` (`ip netns exec NS` + a server, without a
 * process): the addon creates and binds the socket in the namespace, the server adopts it.
 * Resolves once listening; with port 0, server.address() has the real port. Connections
 * come from the namespace's interfaces only: 127.0.0.1 there is not the caller's.
 *
 * Rejects with NetlinkError for bind failures (EADDRINUSE, EADDRNOTAVAIL ...). Once the
 * server listens it owns the socket: server.close() releases it. Do not call
 * server.listen() again on it, that would listen in the caller's namespace.
 *
 * @example
 * ```ts
 * const server = await listen('pb', { port: 80 }, (socket) => socket.end('hello from pb\n'));
 * // or an HTTP server: await listen('pb', { port: 8080, server: http.createServer(handler) })
 * ```
 */
export async function listen<S extends net.Server = net.Server>(
  netns: NetnsRef,
  options: ListenOptions<S>,
  connectionListener?: (socket: net.Socket) => void,
): Promise<S> {
  const { port, host = '0.0.0.0', backlog, server: given, ...serverOptions } = listenOptions.check(options, 'options') as ListenOptions<S>;
  const address = parseAddress(host, 'options.host');
  if (given?.listening) throw new ArgumentError('ERR_SERVER_ALREADY_LISTEN', 'options.server', 'is already listening');
  if (connectionListener !== undefined && typeof connectionListener !== 'function') {
    throw new ArgumentError('ERR_INVALID_ARG_TYPE', 'connectionListener', `must be a function, received ${describeValue(connectionListener)}`);
  }
  const server = (given ?? net.createServer(serverOptions)) as S;
  if (connectionListener) server.on('connection', connectionListener);
  try {
    const fd = await socketIn(netns, address.family, SOCK_STREAM, { address, port });
    await adoptListening(server, fd, backlog);
  } catch (e) {
    if (connectionListener) server.off('connection', connectionListener);
    throw e;
  }
  return server;
}

function adoptListening(server: net.Server, fd: number, backlog: number | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => {
      server.off('listening', onListening);
      reject(e);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError).once('listening', onListening);
    try {
      // exclusive: a cluster worker would otherwise ask the primary to listen for it, in
      // the primary's namespace and without our fd.
      server.listen({ fd, exclusive: true, ...(backlog !== undefined ? { backlog } : {}) });
    } catch (e) {
      server.off('error', onError).off('listening', onListening);
      native.close(fd);
      reject(e);
    }
    // From here the server owns the fd: when listen(2) fails (EADDRINUSE, when another
    // socket bound the port too and listened first), Node closes the handle, and the fd
    // with it, before it emits 'error'; closing it here as well could hit a reused number.
  });
}

/**
 * Opens a TCP connection from inside `netns` to host:port, as a process in the namespace
 * would (its routes, its addresses, its 127.0.0.1). Resolves to the connected socket.
 * Rejects with Node's connect errors (code 'ECONNREFUSED', 'EHOSTUNREACH' ...), with code
 * 'ETIMEDOUT' after options.timeout, or with an AbortError; the socket is closed then.
 * Do not call connect() again on the socket: Node would make a new one in the caller's
 * namespace.
 *
 * @example
 * ```ts
 * const socket = await connect('jelly', { host: '192.168.0.56', port: 80, timeout: 2000 });
 * socket.pipe(process.stdout);
 * ```
 */
export async function connect(netns: NetnsRef, options: ConnectOptions): Promise<net.Socket> {
  const o = connectOptions.check(options, 'options');
  const remote = parseAddress(o.host, 'options.host');
  const local = o.localAddress !== undefined ? parseAddress(o.localAddress, 'options.localAddress', { family: remote.family }) : undefined;
  const timeout = o.timeout ?? 0;
  const signal = o.signal;
  if (signal?.aborted) throw abortError(signal);

  const bindTo = local ?? (o.localPort !== undefined ? anyAddress(remote.family) : undefined);
  const fd = await socketIn(netns, remote.family, SOCK_STREAM, bindTo && { address: bindTo, port: o.localPort ?? 0 });
  if (signal?.aborted) {
    native.close(fd);
    throw abortError(signal);
  }
  let socket: net.Socket;
  try {
    socket = new net.Socket({ fd, allowHalfOpen: o.allowHalfOpen ?? false });
  } catch (e) {
    native.close(fd);
    throw e;
  }
  // The socket owns the fd now: destroy() closes it. connect() must follow in this same
  // tick: the adopted socket has already asked to read, and once the event loop polls an
  // unconnected socket that read fails (ENOTCONN) and Node destroys it. With an IP literal
  // Node connects in a nextTick, before any poll.
  socket.connect(o.port, o.host);
  return whenConnected(socket, { timeout, signal, host: o.host, port: o.port });
}

function whenConnected(socket: net.Socket, w: { timeout: number; signal: AbortSignal | undefined; host: string; port: number }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const timer = w.timeout > 0 ? setTimeout(() => socket.destroy(connectTimeout(w.host, w.port)), w.timeout) : undefined;
    const onAbort = (): void => {
      socket.destroy(abortError(w.signal!));
    };
    const done = (): void => {
      clearTimeout(timer);
      w.signal?.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect).off('error', onError);
    };
    const onConnect = (): void => {
      done();
      resolve(socket);
    };
    const onError = (e: Error): void => {
      done();
      reject(e);
    };
    socket.once('connect', onConnect).once('error', onError);
    w.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A UDP socket bound inside `netns` (default 0.0.0.0, any port). Node's dgram adopts the fd
 * through bind({ fd }); sends and receives then go through the namespace. socket.close()
 * releases it. Rejects with NetlinkError for bind failures.
 *
 * @example
 * ```ts
 * const udp = await bindUdp('pb', { port: 5353 });
 * udp.on('message', (msg, from) => console.log(from.address, msg.toString()));
 * ```
 */
export async function bindUdp(netns: NetnsRef, options: UdpOptions = {}): Promise<dgram.Socket> {
  const { host = '0.0.0.0', port = 0, ...socketOptions } = udpOptions.check(options, 'options');
  const address = parseAddress(host, 'options.host');
  const socket = dgram.createSocket({ ...socketOptions, type: address.family === 4 ? 'udp4' : 'udp6' });
  let fd: number;
  try {
    fd = await socketIn(netns, address.family, SOCK_DGRAM, { address, port });
  } catch (e) {
    socket.close();
    throw e;
  }
  return new Promise((resolve, reject) => {
    try {
      // bind({ fd }) emits 'listening' synchronously; exclusive keeps a cluster worker from
      // handing the fd to the primary.
      socket.bind({ fd, exclusive: true }, () => resolve(socket));
    } catch (e) {
      native.close(fd);
      socket.close();
      reject(e);
    }
  });
}

/** A socket created inside the namespace, of `family`, bound to `bind` when given. */
async function socketIn(netns: NetnsRef, family: 4 | 6, type: number, bind?: { address: ParsedAddress; port: number }): Promise<number> {
  try {
    return await withNamespaceFd(netns, (nsFd) =>
      native.socketIn(nsFd, family === 4 ? AF_INET : AF_INET6, type, 0, bind ? bind.address.bytes : null, bind?.port ?? 0),
    );
  } catch (e) {
    // The addon's error names only the syscall; say what was bound, and where.
    if (!(e instanceof NetlinkError) || e.operation !== undefined) throw e;
    const where = netns instanceof NamespaceHandle ? netns.toString() : `netns '${String(netns)}'`;
    throw new NetlinkError({ errno: e.errno, syscall: e.syscall, ...(bind ? { object: formatEndpoint(bind.address, bind.port) } : {}), hint: `in ${where}` });
  }
}

function formatEndpoint(address: ParsedAddress, port: number): string {
  const host = formatAddress(address.bytes);
  return address.family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function anyAddress(family: 4 | 6): ParsedAddress {
  return { family, bytes: Buffer.alloc(family === 4 ? 4 : 16) };
}

function validatePort(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number') throw new ArgumentError('ERR_SOCKET_BAD_PORT', field, `must be a number, received ${describeValue(value)}`);
  if (!Number.isInteger(value) || value < min || value > 65535) {
    throw new ArgumentRangeError('ERR_SOCKET_BAD_PORT', field, `must be an integer from ${min} to 65535, received ${String(value)}`);
  }
  return value;
}

function validateInt(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number') throw new ArgumentError('ERR_INVALID_ARG_TYPE', field, `must be a number, received ${describeValue(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ArgumentRangeError('ERR_OUT_OF_RANGE', field, `must be an integer from ${min} to ${max}, received ${String(value)}`);
  }
  return value;
}

/** Shaped like Node's own connect errors (code, errno, syscall, address, port). */
function connectTimeout(host: string, port: number): Error {
  return Object.assign(new Error(`connect ETIMEDOUT ${host}:${port}`), { code: 'ETIMEDOUT', errno: ETIMEDOUT, syscall: 'connect', address: host, port });
}

