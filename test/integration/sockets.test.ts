// Node sockets created inside a namespace, on the tutorial topology: a server in pb, clients
// in jelly and on the host, real bytes across the bridge, and isolation between namespaces.
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, resetSandbox, sandboxSkipReason, threadNamespaces, openFds, settled } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');
const { listen, connect, bindUdp } = await import('../../lib/sockets.js');
const example = await import('../../examples/pb-and-jelly.js');

type Namespace = InstanceType<typeof lib.Namespace>;

const PB = '192.168.0.56';
const JELLY = '192.168.0.55';

/** fds open now that were not open (as the same thing) in `before`: what an operation leaked. */
function newFds(before: Map<string, string>): string[] {
  return [...openFds()].filter(([fd, target]) => before.get(fd) !== target).map(([fd, target]) => `${fd} -> ${target}`);
}
const portOf = (s: net.Server | dgram.Socket) => (s.address() as net.AddressInfo).port;
const closeServer = (s: net.Server) => new Promise<void>((r) => s.close(() => r()));
const echo = (socket: net.Socket) => socket.pipe(socket);

/** Writes `text`, half-closes, and resolves to everything read back until the peer ends. */
async function roundTrip(socket: net.Socket, text: string): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((r) => socket.once('end', r));
  socket.end(text);
  await ended;
  return Buffer.concat(chunks).toString();
}

describe.skipIf(!inSandbox)(`sockets in a namespace${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  let pb: Namespace;
  let jelly: Namespace;

  beforeAll(async () => {
    resetSandbox();
    [pb, jelly] = await example.buildTutorial();
    // 127.0.0.1 exists in a namespace only once its lo is up.
    await Promise.all([pb.setLinkUp('lo'), jelly.setLinkUp('lo')]);
  });
  afterAll(async () => {
    pb?.close();
    jelly?.close();
    await example.teardownTutorial();
    resetSandbox();
  });

  it('echoes across the bridge: a server in pb on 192.168.0.56, a client in jelly', async () => {
    const peers: string[] = [];
    const server = await listen('pb', { host: PB, port: 0 }, (s) => {
      peers.push(`${s.remoteAddress}`);
      echo(s);
    });
    try {
      expect(server.address()).toMatchObject({ address: PB, family: 'IPv4' });
      const port = portOf(server);
      expect(port).toBeGreaterThan(0);

      const client = await connect(jelly, { host: PB, port });
      expect([client.localAddress, client.remoteAddress, client.remotePort]).toEqual([JELLY, PB, port]);
      expect(await roundTrip(client, 'peanut butter')).toBe('peanut butter');
      expect(peers).toEqual([JELLY]);
    } finally {
      await closeServer(server);
    }
  });

  it('keeps 127.0.0.1 private to each namespace', async () => {
    const server = await listen(pb, { host: '127.0.0.1', port: 0 }, echo);
    try {
      const port = portOf(server);
      const inside = await connect(pb, { host: '127.0.0.1', port });
      expect(await roundTrip(inside, 'same namespace')).toBe('same namespace');

      await expect(connect(jelly, { host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'ECONNREFUSED', port });
      const host = net.connect(port, '127.0.0.1');
      await expect(new Promise((resolve, reject) => host.once('connect', resolve).once('error', reject))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await closeServer(server);
    }
  });

  it('listens on IPv6 too, and binds a client to a local address', async () => {
    const server = await listen(pb, { host: '::1', port: 0 }, echo);
    try {
      expect(server.address()).toMatchObject({ address: '::1', family: 'IPv6' });
      const client = await connect(pb, { host: '::1', port: portOf(server), localAddress: '::1', localPort: 0 });
      expect(client.localAddress).toBe('::1');
      expect(await roundTrip(client, 'six')).toBe('six');
    } finally {
      await closeServer(server);
    }
  });

  it('serves HTTP from pb with a server the caller made', async () => {
    const server = await listen(pb, { host: PB, port: 0, server: http.createServer((_req, res) => res.end('hello from pb')) });
    try {
      const socket = await connect(jelly, { host: PB, port: portOf(server) });
      const body = await new Promise<string>((resolve, reject) => {
        // No agent: the request uses the socket createConnection hands it.
        const req = http.get({ host: PB, path: '/', createConnection: () => socket }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString())).on('end', () => resolve(text));
        });
        req.on('error', reject);
      });
      expect(body).toBe('hello from pb');
    } finally {
      server.closeAllConnections();
      await closeServer(server);
    }
  });

  it('reports ECONNREFUSED, timeouts and aborts cleanly, without leaking fds', async () => {
    const before = openFds();
    const refused = await connect(jelly, { host: PB, port: 9 }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: PB, port: 9 });
    expect((refused as Error).message).toBe(`connect ECONNREFUSED ${PB}:9`);

    // jelly routes 10.0.0.0/8 to the host, which does not forward: the SYN is dropped.
    // (Not an on-link address nobody owns: its pending ARP entry would hold veth-jelly,
    // and so the namespace's teardown, for seconds.)
    const slow = await connect(jelly, { host: '10.255.255.1', port: 80, timeout: 100 }).catch((e: unknown) => e);
    expect(slow).toMatchObject({ code: 'ETIMEDOUT', syscall: 'connect', address: '10.255.255.1', port: 80 });

    const ac = new AbortController();
    const pending = connect(jelly, { host: '10.255.255.1', port: 80, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    await expect(connect(jelly, { host: PB, port: 9, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' });

    expect(await settled(() => newFds(before), (fds) => fds.length === 0)).toEqual([]);
  });

  it('reports bind failures with the address and namespace, without leaking fds', async () => {
    const server = await listen(pb, { host: PB, port: 0 });
    const before = openFds();
    try {
      const inUse = await listen(pb, { host: PB, port: portOf(server) }).catch((e: unknown) => e);
      expect(inUse).toBeInstanceOf(lib.NetlinkError);
      expect(inUse).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind' });
      expect((inUse as Error).message).toBe(`EADDRINUSE: address already in use, bind '${PB}:${portOf(server)}' (in netns 'pb')`);

      // pb's address does not exist in jelly.
      await expect(listen('jelly', { host: PB, port: 0 })).rejects.toMatchObject({ code: 'EADDRNOTAVAIL', object: `${PB}:0` });
      await expect(bindUdp(jelly, { host: PB })).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
      await expect(listen('no-such-ns', { port: 0 })).rejects.toMatchObject({ code: 'ENOENT', operation: 'netns open' });
      expect(newFds(before)).toEqual([]);
    } finally {
      await closeServer(server);
    }
  });

  it('refuses bad arguments before any syscall', async () => {
    await expect(listen(pb, { port: 70000 })).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_SOCKET_BAD_PORT', field: 'options.port' });
    await expect(listen(pb, { host: 'localhost', port: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS', field: 'options.host' });
    await expect(connect(pb, { host: PB, port: 0 })).rejects.toMatchObject({ code: 'ERR_SOCKET_BAD_PORT' });
    await expect(connect(pb, { host: PB, port: 80, localAddress: '::1' })).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS', field: 'options.localAddress' });
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    await expect(listen(pb, { port: 0, server: busy })).rejects.toMatchObject({ code: 'ERR_SERVER_ALREADY_LISTEN' });
    await closeServer(busy);
  });

  it('creates its fds close-on-exec', async () => {
    const before = openFds();
    const server = await listen(pb, { host: PB, port: 0 });
    const udp = await bindUdp(pb, { host: PB });
    try {
      const sockets = newFds(before).filter((f) => f.includes('socket:')).map((f) => f.split(' ')[0]!);
      expect(sockets).toHaveLength(2);
      for (const fd of sockets) {
        const flags = parseInt(/^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
        expect(flags & 0o2000000, `fd ${fd}`).not.toBe(0);
      }
    } finally {
      udp.close();
      await closeServer(server);
    }
  });

  it('sends UDP datagrams between namespaces', async () => {
    const server = await bindUdp('pb', { host: PB, port: 0 });
    const client = await bindUdp(jelly);
    try {
      expect(server.address()).toMatchObject({ address: PB, family: 'IPv4' });
      server.on('message', (msg, rinfo) => server.send(Buffer.concat([Buffer.from('re: '), msg]), rinfo.port, rinfo.address));
      const reply = new Promise<[string, dgram.RemoteInfo]>((r) => client.once('message', (m, info) => r([m.toString(), info])));
      client.send('jelly time', portOf(server), PB);
      const [text, from] = await reply;
      expect(text).toBe('re: jelly time');
      expect(from).toMatchObject({ address: PB, port: portOf(server) });
    } finally {
      server.close();
      client.close();
    }
  });

  it('leaves every thread of this process in its own namespace', () => {
    const home = readlinkSync('/proc/self/ns/net');
    for (const [tid, netns] of threadNamespaces()) expect(netns, `thread ${tid}`).toBe(home);
  });
});
