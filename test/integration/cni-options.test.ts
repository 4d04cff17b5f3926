// The bridge options beyond the common case, read back with ip and bridge: promiscMode,
// vlan, forceAddress, mtu, disableContainerInterface, and the container MAC from CNI_ARGS.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import { addNetns, cniToolsMissing, execPlugin, mountTmpfs, pluginDir, startDaemon, unmount, workDir, type DaemonProcess } from '../cni/harness.js';

const missing = sandboxSkipReason ?? cniToolsMissing();

describe.skipIf(!inSandbox || missing !== undefined)(`CNI plugin: bridge options${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir: string;
  let shim: string;
  let daemon: DaemonProcess;
  const conf = (name: string, extra: Record<string, unknown>) =>
    JSON.stringify({ cniVersion: '1.1.0', name, type: 'rtnetlink', ipam: { type: 'host-local', dataDir: join(dir, 'networks'), subnet: '10.44.0.0/24' }, ...extra });
  const env = (cmd: string, id: string, extra: Record<string, string> = {}) => ({ CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: `/run/netns/${id}`, CNI_IFNAME: 'eth0', CNI_PATH: join(dir, 'bin'), ...extra });

  beforeAll(async () => {
    resetSandbox();
    mountTmpfs('/run/rtnetlink');
    dir = workDir('cni-options');
    shim = join(pluginDir(dir), 'rtnetlink');
    for (const n of ['o1', 'o2', 'o3', 'o4']) addNetns(n);
    daemon = await startDaemon();
  });

  afterAll(async () => {
    await daemon?.stop();
    unmount('/run/rtnetlink');
    resetSandbox();
  });

  it('promiscMode, mtu and a MAC from CNI_ARGS', async () => {
    const r = await execPlugin(shim, env('ADD', 'o1', { CNI_ARGS: 'IgnoreUnknown=1;MAC=02:00:00:00:44:01' }), conf('optnet', { bridge: 'opt-br0', promiscMode: true, mtu: 1300 }));
    expect(r.status, r.stdout).toBe(0);
    const br = ipJson<{ flags: string[]; mtu: number }[]>(['link', 'show', 'opt-br0'])[0]!;
    expect(br.flags).toContain('PROMISC');
    expect(br.mtu).toBe(1300);
    const eth0 = ipJson<{ address: string; mtu: number }[]>(['link', 'show', 'eth0'], 'o1')[0]!;
    expect(eth0).toMatchObject({ address: '02:00:00:00:44:01', mtu: 1300 });
    expect(r.json.interfaces[2].mac).toBe('02:00:00:00:44:01');
  });

  it('vlan: the host end is an untagged pvid port of that VLAN on a VLAN-filtering bridge (or code 100 without kernel support)', async () => {
    // Kernels built without CONFIG_BRIDGE_VLAN_FILTERING refuse vlan_filtering (EOPNOTSUPP).
    const probe = spawnSync('ip', ['link', 'add', 'vlan-probe', 'type', 'bridge', 'vlan_filtering', '1']);
    spawnSync('ip', ['link', 'delete', 'vlan-probe']);
    const r = await execPlugin(shim, env('ADD', 'o2'), conf('vlannet', { bridge: 'vlan-br0', vlan: 44 }));
    if (probe.status !== 0) {
      expect(r.json).toMatchObject({ code: 100, details: expect.stringContaining('ENOTSUP') });
      expect(ipJson(['link', 'show'], 'o2').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
      return;
    }
    expect(r.status, r.stdout).toBe(0);
    const br = ipJson<{ linkinfo: { info_data: { vlan_filtering: number } } }[]>(['-d', 'link', 'show', 'vlan-br0'])[0]!;
    expect(br.linkinfo.info_data.vlan_filtering).toBe(1);
    const vlans = JSON.parse(execFileSync('bridge', ['-json', 'vlan', 'show', 'dev', r.json.interfaces[1].name], { encoding: 'utf8' }));
    expect(vlans[0].vlans).toContainEqual({ vlan: 44, flags: ['PVID', 'Egress Untagged'] });
  });

  it('forceAddress: another gateway address on the bridge is an error, or replaced when forced', async () => {
    execFileSync('ip', ['link', 'add', 'force-br0', 'type', 'bridge']);
    execFileSync('ip', ['addr', 'add', '10.43.0.1/24', 'dev', 'force-br0']);
    const refused = await execPlugin(shim, env('ADD', 'o3'), conf('forcenet', { bridge: 'force-br0', isGateway: true }));
    expect(refused.status).toBe(1);
    expect(refused.json).toMatchObject({ code: 7, msg: '"force-br0" already has an IP address different from 10.44.0.1/24' });
    expect(ipJson(['link', 'show'], 'o3').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
    const forced = await execPlugin(shim, env('ADD', 'o3'), conf('forcenet', { bridge: 'force-br0', isGateway: true, forceAddress: true }));
    expect(forced.status, forced.stdout).toBe(0);
    const addrs = ipJson<{ addr_info: { family: string; local: string }[] }[]>(['addr', 'show', 'force-br0'])[0]!.addr_info.filter((a) => a.family === 'inet');
    expect(addrs.map((a) => a.local)).toEqual(['10.44.0.1']);
  });

  it('disableContainerInterface leaves the container interface down and without addresses', async () => {
    const r = await execPlugin(shim, env('ADD', 'o4'), conf('downnet', { bridge: 'down-br0', disableContainerInterface: true }));
    expect(r.status, r.stdout).toBe(0);
    const eth0 = ipJson<{ flags: string[]; addr_info: { family: string }[] }[]>(['addr', 'show', 'eth0'], 'o4')[0]!;
    expect(eth0.flags).not.toContain('UP');
    expect(eth0.addr_info.filter((a) => a.family === 'inet')).toEqual([]);
  });
});
