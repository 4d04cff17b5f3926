// The CNI plugin's pieces that need no kernel: the shim's frame (the real C shim against a
// stand-in daemon), environment and config validation, and host-local's allocation order and
// files.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEnv, parseNetConf } from '../../lib/cni/config.js';
import { startCniDaemon } from '../../lib/cni/daemon.js';
import { CniError } from '../../lib/cni/errors.js';
import { FrameReader, encodeReply, encodeRequest, type CniRequest } from '../../lib/cni/frame.js';
import { allocate, release, releaseAllExcept } from '../../lib/cni/host-local.js';
import { native } from '../../lib/native.js';

function runShim(env: Record<string, string>, stdin: string): Promise<{ status: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(native.cniShim, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, stdout }));
    child.stdin.end(stdin);
  });
}

function cniError(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe.skipIf(!existsSync(native.cniShim))('the shim', () => {
  it('sends the environment (set and unset variables apart) and stdin in one frame, and passes the answer through', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtnetlink-shim-'));
    const sock = join(dir, 'd.sock');
    const seen: CniRequest[] = [];
    const server = createServer((c) => {
      const reader = new FrameReader();
      c.on('data', (d: Buffer) => {
        const s = reader.push(d);
        if (s.done && 'request' in s) {
          seen.push(s.request);
          c.end(encodeReply({ status: 3, stdout: Buffer.from('{"answer":true}\n') }));
        }
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
    const config = JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'rtnetlink', daemonSocket: sock, big: 'x'.repeat(100_000) });
    const r = await runShim({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' }, config);
    server.close();
    expect(r).toEqual({ status: 3, stdout: '{"answer":true}\n' });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.env).toEqual({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' });
    expect(seen[0]!.stdin.toString()).toBe(config);
  });

  it('answers CNI error 11 on stdout when the daemon is unreachable', async () => {
    const r = await runShim({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0","daemonSocket":"/nonexistent/x.sock"}');
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: '1.0.0', code: 11, msg: 'rtnetlink CNI daemon is not reachable', details: 'connect /nonexistent/x.sock: No such file or directory' });
  });
});

describe('the frame', () => {
  it('round-trips, byte by byte', () => {
    const req: CniRequest = { env: { CNI_COMMAND: 'DEL', CNI_ARGS: 'A=1;B=2' }, stdin: Buffer.from('{}') };
    const bytes = encodeRequest(req);
    const reader = new FrameReader();
    let state;
    for (let i = 0; i < bytes.length; i++) state = reader.push(bytes.subarray(i, i + 1));
    expect(state).toEqual({ done: true, request: req });
  });

  it('refuses other bytes', () => {
    expect(new FrameReader().push(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toEqual({ done: true, error: 'not a rtnetlink CNI frame' });
    const bytes = encodeRequest({ env: {}, stdin: Buffer.from('{}') });
    bytes.writeUInt32LE(1 << 30, 8);
    expect(new FrameReader().push(bytes)).toMatchObject({ done: true, error: expect.stringContaining('too large') });
  });
});

describe('environment and config', () => {
  const base = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/c1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
  it('follows libcni: codes 3 and 4', () => {
    expect(parseEnv(base)).toMatchObject({ command: 'ADD', containerId: 'c1', ifname: 'eth0', path: ['/opt/cni/bin'] });
    expect(cniError(() => parseEnv({ ...base, CNI_CONTAINERID: undefined as never })).code).toBe(3);
    expect(cniError(() => parseEnv({ ...base, CNI_IFNAME: 'a:b' })).code).toBe(4);
    expect(cniError(() => parseEnv({ ...base, CNI_NETNS: 'relative' })).code).toBe(4);
    expect(cniError(() => parseEnv({ ...base, CNI_ARGS: 'novalue' })).code).toBe(4);
    expect(parseEnv({ ...base, CNI_ARGS: 'IgnoreUnknown=1;MAC=aa:bb:cc:dd:ee:ff' }).args.get('MAC')).toBe('aa:bb:cc:dd:ee:ff');
    // VERSION ignores the placeholders libcni sends with it.
    expect(parseEnv({ CNI_COMMAND: 'VERSION', CNI_NETNS: 'dummy', CNI_IFNAME: 'dummy' }).command).toBe('VERSION');
  });

  it('checks the config with exact keys: codes 1, 6, 7', () => {
    const ok = { cniVersion: '1.0.0', name: 'n', type: 'rtnetlink', ipam: { type: 'host-local', subnet: '10.0.0.0/24' } };
    expect(parseNetConf(JSON.stringify(ok)).name).toBe('n');
    expect(cniError(() => parseNetConf('[1]')).code).toBe(6);
    expect(cniError(() => parseNetConf(JSON.stringify({ ...ok, cniVersion: '0.4.0' }))).code).toBe(1);
    expect(cniError(() => parseNetConf(JSON.stringify({ ...ok, isgateway: true }))).details).toMatch(/did you mean "isGateway"/);
    expect(cniError(() => parseNetConf(JSON.stringify({ ...ok, ipam: { type: 'host-local' } }))).details).toMatch(/ranges or subnet/);
    expect(cniError(() => parseNetConf(JSON.stringify({ ...ok, vlan: 4095 }))).details).toMatch(/vlan/);
    expect(cniError(() => parseNetConf(JSON.stringify({ ...ok, hairpinMode: true, promiscMode: true }))).code).toBe(7);
    expect(cniError(() => parseNetConf(JSON.stringify({ ...ok, macspoofchk: true }))).code).toBe(2);
    // Another IPAM plugin's config is its own business.
    expect(parseNetConf(JSON.stringify({ ...ok, ipam: { type: 'dhcp', anything: 1 } })).ipam).toEqual({ type: 'dhcp', anything: 1 });
  });
});

describe('host-local', () => {
  it('hands out addresses round robin from the last reserved, skipping the gateway, in host-local files', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rtnetlink-hl-'));
    const ipam = { type: 'host-local' as const, dataDir, subnet: '10.1.0.0/29', gateway: '10.1.0.3' };
    const got: string[] = [];
    for (const id of ['a', 'b', 'c']) got.push((await allocate(ipam, 'n', id, 'eth0')).ips[0]!.address);
    expect(got).toEqual(['10.1.0.1/29', '10.1.0.2/29', '10.1.0.4/29']);
    expect(readFileSync(join(dataDir, 'n', '10.1.0.2'), 'utf8')).toBe('b\r\neth0');
    expect(readFileSync(join(dataDir, 'n', 'last_reserved_ip.0'), 'utf8')).toBe('10.1.0.4');
    await release(ipam, 'n', 'a', 'eth0');
    // Round robin: after .4 comes .5, not the freed .1.
    expect((await allocate(ipam, 'n', 'd', 'eth0')).ips[0]!.address).toBe('10.1.0.5/29');
    expect((await allocate(ipam, 'n', 'e', 'eth0')).ips[0]!.address).toBe('10.1.0.6/29');
    expect((await allocate(ipam, 'n', 'f', 'eth0')).ips[0]!.address).toBe('10.1.0.1/29');
    await expect(allocate(ipam, 'n', 'g', 'eth0')).rejects.toMatchObject({ code: 101 });
    await expect(allocate(ipam, 'n', 'b', 'eth0')).rejects.toMatchObject({ code: 7, msg: 'duplicate allocation' });
    const gone = await releaseAllExcept(ipam, 'n', [{ containerID: 'b', ifname: 'eth0' }]);
    expect(gone.map((g) => g.containerId).sort()).toEqual(['c', 'd', 'e', 'f']);
    expect(readdirSync(join(dataDir, 'n')).sort()).toEqual(['10.1.0.2', 'last_reserved_ip.0', 'lock']);
  });

  it('gives one address per range set, IPv4 and IPv6, and reads an old-format lease as the container\'s', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rtnetlink-hl-'));
    const ipam = { type: 'host-local' as const, dataDir, ranges: [[{ subnet: '10.2.0.0/24' }], [{ subnet: 'fd00:2::/64', rangeStart: 'fd00:2::10' }]] };
    const r = await allocate(ipam, 'n', 'a', 'eth0');
    expect(r.ips).toEqual([
      { address: '10.2.0.2/24', gateway: '10.2.0.1' },
      { address: 'fd00:2::10/64', gateway: 'fd00:2::1' },
    ]);
    writeFileSync(join(dataDir, 'n', '10.2.0.9'), 'old');
    expect((await release(ipam, 'n', 'old', 'eth0')).sort()).toEqual(['10.2.0.9']);
  });
});

describe('the daemon', () => {
  it('closes once the replies are written, even when a client keeps its end of the connection open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtnl-cni-daemon-'));
    const daemon = await startCniDaemon({ socket: join(dir, 'cni.sock'), allowUids: [process.getuid!()] });
    const client = createConnection({ path: daemon.socket, allowHalfOpen: true });
    client.on('error', () => {});
    // The whole reply: the daemon ends its side once it is written.
    const chunks: Buffer[] = [];
    client.on('data', (c: Buffer) => chunks.push(c));
    const reply = new Promise<Buffer>((resolve) => client.once('end', () => resolve(Buffer.concat(chunks))));
    client.write(encodeRequest({ env: { CNI_COMMAND: 'VERSION' }, stdin: Buffer.from('{"cniVersion":"1.0.0"}') }));
    // A VERSION result (status 0), not the refusal a peer it does not allow would get.
    const frame = await reply;
    expect(frame.readUInt32LE(0)).toBe(0);
    expect(frame.readUInt32LE(4)).toBe(frame.length - 8);
    expect(JSON.parse(frame.subarray(8).toString())).toMatchObject({ cniVersion: '1.0.0', supportedVersions: expect.arrayContaining(['1.0.0']) });
    // The client neither ends nor closes: close() must not wait for it.
    const outcome = await Promise.race([daemon.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open after 5 s'), 5000))]);
    client.destroy();
    expect(outcome).toBe('closed');
  });
});
