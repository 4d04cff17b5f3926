// The plugin under a real CNI client: libcni 1.1.2 (Debian's golang-github-appc-cni-dev) in a
// small Go runtime program (test/cni/client), calling our shim, which forwards to the daemon.
// GC and STATUS (spec 1.1.0, newer than this libcni) are exec'd directly, as libcni would.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import {
  SOCKET,
  addNetns,
  buildClient,
  client,
  cniToolsMissing,
  execPlugin,
  mountTmpfs,
  ping,
  pluginConfig,
  pluginDir,
  startDaemon,
  unmount,
  workDir,
  writeConflist,
  type DaemonProcess,
} from '../cni/harness.js';

const missing = sandboxSkipReason ?? cniToolsMissing();
const NET = 'cninet';

describe.skipIf(!inSandbox || missing !== undefined)(`CNI plugin under libcni${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir: string;
  let bin: string;
  let cniclient: string;
  let daemon: DaemonProcess;
  let conflist: string;
  let dataDir: string;
  const plugin = (extra: Record<string, unknown> = {}) => ({
    type: 'rtnetlink',
    bridge: 'cni-br0',
    isGateway: true,
    isDefaultGateway: true,
    ipMasq: true,
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.88.0.0/24' }]] },
    ...extra,
  });
  const call = (cmd: string, id: string, netns = `/run/netns/${id}`) =>
    client(cniclient, cmd, { conflist, bindir: bin, cachedir: join(dir, 'cache'), id, netns });
  const ourLinks = () => ipJson<{ ifname: string; ifalias?: string }[]>(['link', 'show']).filter((l) => l.ifalias?.startsWith('rtnetlink-cni'));
  const rules = () => execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
  const leases = () => readdirSync(join(dataDir, NET)).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip'));

  beforeAll(async () => {
    resetSandbox();
    mountTmpfs('/run/rtnetlink');
    dir = workDir('cni-libcni');
    dataDir = join(dir, 'networks');
    bin = pluginDir(dir);
    cniclient = buildClient(dir);
    conflist = writeConflist(dir, NET, plugin());
    daemon = await startDaemon();
    for (const n of ['c1', 'c2', 'c3', 'wan']) addNetns(n);
    // The "wan": a namespace behind the host, which has no route back to the containers'
    // subnet, so only masqueraded packets get answers.
    execFileSync('ip', ['link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'uplink', 'netns', 'wan']);
    execFileSync('ip', ['addr', 'add', '203.0.113.1/24', 'dev', 'wan0']);
    execFileSync('ip', ['link', 'set', 'wan0', 'up']);
    execFileSync('ip', ['-n', 'wan', 'addr', 'add', '203.0.113.2/24', 'dev', 'uplink']);
    execFileSync('ip', ['-n', 'wan', 'link', 'set', 'uplink', 'up']);
  }, 120_000);

  afterAll(async () => {
    await daemon?.stop();
    unmount('/run/rtnetlink');
    resetSandbox();
  });

  it('ValidateNetworkList asks VERSION through the shim and accepts the list', async () => {
    const r = await call('validate', 'x');
    expect(r.status, r.stdout).toBe(0);
    expect(r.json).toEqual({ capabilities: [] });
  });

  it('ADD gives two containers addresses, and they reach each other, the host and (through NAT) the wan', async () => {
    const a = await call('add', 'c1');
    expect(a.status, a.stdout).toBe(0);
    const b = await call('add', 'c2');
    expect(b.status, b.stdout).toBe(0);
    expect(a.json.ips).toEqual([{ interface: 2, address: '10.88.0.2/24', gateway: '10.88.0.1' }]);
    expect(b.json.ips[0].address).toBe('10.88.0.3/24');
    expect(a.json.interfaces.map((i: { name: string }) => i.name)).toEqual(['cni-br0', expect.stringMatching(/^veth[0-9a-f]{8}$/), 'eth0']);
    expect(a.json.interfaces[2].sandbox).toBe('/run/netns/c1');
    expect(a.json.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.88.0.1' }]);
    // Kernel state read back with ip.
    const eth0 = ipJson<{ ifname: string; address: string; addr_info: { local: string; prefixlen: number }[] }[]>(['addr', 'show', 'eth0'], 'c1')[0]!;
    expect(eth0.address).toBe(a.json.interfaces[2].mac);
    expect(eth0.addr_info.filter((x) => x.local.includes('.'))).toMatchObject([{ local: '10.88.0.2', prefixlen: 24 }]);
    const hostEnd = ipJson<{ master?: string; ifalias?: string }[]>(['link', 'show', a.json.interfaces[1].name])[0]!;
    expect(hostEnd.master).toBe('cni-br0');
    expect(hostEnd.ifalias).toBe(`rtnetlink-cni net=${NET} id=c1 if=eth0`);
    expect(execFileSync('cat', ['/proc/sys/net/ipv4/ip_forward'], { encoding: 'utf8' }).trim()).toBe('1');
    expect(leases().sort()).toEqual(['10.88.0.2', '10.88.0.3']);

    expect(ping('c1', '10.88.0.3')).toBe(true);
    expect(ping('c2', '10.88.0.1')).toBe(true);
    expect(ping(undefined, '10.88.0.2')).toBe(true);
    expect(ping('wan', '10.88.0.2')).toBe(false); // no route back from the wan
    expect(ping('c1', '203.0.113.2')).toBe(true); // so this answer came through NAT
    expect(rules()).toContain(`comment "rtnetlink-cni net=${NET} id=c1 if=eth0"`);
  });

  it('CHECK passes, then fails once an address is removed behind its back', async () => {
    expect((await call('check', 'c2')).status).toBe(0);
    execFileSync('ip', ['-n', 'c2', 'addr', 'del', '10.88.0.3/24', 'dev', 'eth0']);
    const r = await call('check', 'c2');
    expect(r.status).toBe(1);
    expect(r.json.code).toBe(103);
    expect(r.json.details).toContain('10.88.0.3/24');
  });

  it('DEL removes the veth, the lease and the NAT rule; a second DEL and a DEL without netns succeed', async () => {
    const before = ourLinks().length;
    expect((await call('del', 'c2')).status).toBe(0);
    expect(ourLinks().length).toBe(before - 1);
    expect(leases()).toEqual(['10.88.0.2']);
    expect(rules()).not.toContain('id=c2 ');
    expect((await call('del', 'c2')).status).toBe(0);
    expect((await call('del', 'c2', '')).status).toBe(0);
    // DEL of c1 without a netns still removes everything of c1.
    expect((await call('del', 'c1', '')).status).toBe(0);
    expect(ourLinks()).toEqual([]);
    expect(leases()).toEqual([]);
    expect(rules()).not.toContain('id=c1 ');
    // The bridge it did not own before stays.
    expect(ipJson(['link', 'show', 'cni-br0'])).toHaveLength(1);
  });

  it('DEL after the netns is gone succeeds and leaves nothing', async () => {
    expect((await call('add', 'c3')).status).toBe(0);
    execFileSync('ip', ['netns', 'delete', 'c3']);
    expect((await call('del', 'c3')).status).toBe(0);
    expect(leases()).toEqual([]);
    expect(ourLinks()).toEqual([]);
    addNetns('c3');
  });

  it('GC (exec, spec 1.1.0) removes attachments missing from the valid list and keeps the others', async () => {
    expect((await call('add', 'c1')).status).toBe(0);
    expect((await call('add', 'c2')).status).toBe(0);
    const gc = await execPlugin(
      join(bin, 'rtnetlink'),
      { CNI_COMMAND: 'GC', CNI_PATH: bin },
      pluginConfig(NET, { ...plugin(), 'cni.dev/valid-attachments': [{ containerID: 'c2', ifname: 'eth0' }] }),
    );
    expect(gc.status, gc.stdout).toBe(0);
    expect(ourLinks().map((l) => l.ifalias)).toEqual([`rtnetlink-cni net=${NET} id=c2 if=eth0`]);
    expect(leases().length).toBe(1);
    expect(rules()).not.toContain('id=c1 ');
    expect(rules()).toContain('id=c2 ');
    expect(ping('c2', '10.88.0.1')).toBe(true);
    expect(ipJson(['link', 'show'], 'c1').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
    expect((await call('del', 'c2')).status).toBe(0);
  });

  it('STATUS and VERSION (exec) answer', async () => {
    const status = await execPlugin(join(bin, 'rtnetlink'), { CNI_COMMAND: 'STATUS', CNI_PATH: bin }, pluginConfig(NET, plugin()));
    expect(status).toMatchObject({ status: 0, stdout: '' });
    const version = await execPlugin(join(bin, 'rtnetlink'), { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.1.0"}');
    expect(version.json).toEqual({ cniVersion: '1.1.0', supportedVersions: ['1.0.0', '1.1.0'] });
  });

  it('the daemon socket is root-only', () => {
    expect(existsSync(SOCKET)).toBe(true);
    const mode = execFileSync('stat', ['-c', '%a', SOCKET], { encoding: 'utf8' }).trim();
    expect(mode).toBe('600');
  });
});
