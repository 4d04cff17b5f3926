// Bad input to the plugin, through the shim and the daemon: each gets the spec's error code
// and a message naming the problem, and nothing is left half-created.
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, ipv4Of, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import { ROOT, addNetns, cniToolsMissing, execPlugin, mountTmpfs, pluginDir, startDaemon, unmount, workDir, type DaemonProcess } from '../cni/harness.js';

const missing = sandboxSkipReason ?? cniToolsMissing();

describe.skipIf(!inSandbox || missing !== undefined)(`CNI plugin: bad input${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir: string;
  let shim: string;
  let dataDir: string;
  let daemon: DaemonProcess;
  const conf = (extra: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}) =>
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'badnet',
      type: 'rtnetlink',
      bridge: 'bad-br0',
      isGateway: true,
      ipMasq: true,
      ipam: { type: 'host-local', dataDir, subnet: '10.77.0.0/30', ...ipam },
      ...extra,
    });
  const env = (over: Record<string, string> = {}) => ({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'b1', CNI_NETNS: '/run/netns/b1', CNI_IFNAME: 'eth0', CNI_PATH: join(dir, 'bin'), ...over });
  const snapshot = () => ({
    host: ipJson<{ ifname: string }[]>(['link', 'show']).map((l) => l.ifname).sort(),
    inside: ipJson<{ ifname: string }[]>(['link', 'show'], 'b1').map((l) => l.ifname).sort(),
    leases: (() => {
      try {
        return readdirSync(join(dataDir, 'badnet')).filter((f) => f !== 'lock' && !f.startsWith('last_')).sort();
      } catch {
        return [];
      }
    })(),
    rules: execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('rtnetlink-cni')),
  });
  async function expectError(e: Record<string, string>, stdin: string, code: number, text: RegExp) {
    const before = snapshot();
    const r = await execPlugin(shim, e, stdin);
    expect(r.status, r.stdout).toBe(1);
    expect(r.json).toMatchObject({ code });
    expect(`${r.json.msg} ${r.json.details ?? ''}`).toMatch(text);
    expect(snapshot()).toEqual(before);
    return r.json;
  }

  beforeAll(async () => {
    resetSandbox();
    mountTmpfs('/run/rtnetlink');
    dir = workDir('cni-errors');
    dataDir = join(dir, 'networks');
    shim = join(pluginDir(dir), 'rtnetlink');
    addNetns('b1');
    addNetns('b2');
    daemon = await startDaemon();
  });

  afterAll(async () => {
    await daemon?.stop();
    unmount('/run/rtnetlink');
    resetSandbox();
  });

  it('malformed JSON is code 6', async () => {
    await expectError(env(), '{"cniVersion": "1.0.0", ', 6, /decode/);
  });

  it('a missing field is code 7 naming it', async () => {
    const j = await expectError(env(), JSON.stringify({ cniVersion: '1.0.0', type: 'rtnetlink' }), 7, /name/);
    expect(j.msg).toBe('invalid network config');
  });

  it('an unknown field is code 7 with the nearest known one', async () => {
    await expectError(env(), conf({ ipmasq: true }), 7, /ipmasq.*did you mean "ipMasq"/);
    await expectError(env(), conf({}, { rangeStrat: '10.77.0.2' }), 7, /rangeStrat.*rangeStart/);
  });

  it('a cniVersion we do not speak is code 1', async () => {
    await expectError(env(), conf({ cniVersion: '0.3.1' }), 1, /0\.3\.1.*supported: 1\.0\.0, 1\.1\.0/);
  });

  it('bad CNI_IFNAME, CNI_CONTAINERID, CNI_COMMAND are codes 4 and 3', async () => {
    await expectError(env({ CNI_IFNAME: 'eth/0' }), conf(), 4, /contains \/ or :/);
    await expectError(env({ CNI_IFNAME: 'a-very-long-interface-name' }), conf(), 4, /too long/);
    await expectError(env({ CNI_CONTAINERID: 'bad id!' }), conf(), 4, /invalid characters in containerID/);
    await expectError(env({ CNI_CONTAINERID: '' }), conf(), 3, /missing containerID/);
    await expectError(env({ CNI_COMMAND: 'FROB' }), conf(), 4, /unknown CNI_COMMAND/);
  });

  it('CNI_NETNS that is not a netns is code 4; one that does not exist code 3', async () => {
    const file = join(dir, 'not-a-netns');
    writeFileSync(file, '');
    await expectError(env({ CNI_NETNS: file }), conf(), 4, /not a network namespace/);
    await expectError(env({ CNI_NETNS: '/run/netns/nope' }), conf(), 3, /does not exist/);
  });

  it('an exhausted subnet is code 101 and takes nothing', async () => {
    const ok = await execPlugin(shim, env(), conf());
    expect(ok.status, ok.stdout).toBe(0);
    expect(ok.json.ips[0].address).toBe('10.77.0.2/30');
    const j = await expectError(env({ CNI_CONTAINERID: 'b2', CNI_NETNS: '/run/netns/b2' }), conf(), 101, /no IP addresses available/);
    expect(j.details).toContain('10.77.0.1-10.77.0.2');
    expect(ipJson(['link', 'show'], 'b2').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
    expect((await execPlugin(shim, env({ CNI_COMMAND: 'DEL' }), conf())).status).toBe(0);
  });

  it('another ipam type is run from CNI_PATH (the reference static plugin), and its failure is reported', async () => {
    const ipam = { type: 'static', addresses: [{ address: '10.78.0.5/24', gateway: '10.78.0.1' }] };
    const staticConf = JSON.stringify({ cniVersion: '1.0.0', name: 'badnet', type: 'rtnetlink', bridge: 'bad-br1', ipam });
    const add = await execPlugin(shim, env({ CNI_CONTAINERID: 'b2', CNI_NETNS: '/run/netns/b2' }), staticConf);
    expect(add.status, add.stdout).toBe(0);
    expect(add.json.ips).toEqual([{ interface: 2, address: '10.78.0.5/24', gateway: '10.78.0.1' }]);
    expect(ipJson<{ addr_info: { local: string }[] }[]>(['addr', 'show', 'eth0'], 'b2')[0]!.addr_info.map((a) => a.local)).toContain('10.78.0.5');
    expect((await execPlugin(shim, env({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'b2', CNI_NETNS: '/run/netns/b2' }), staticConf)).status).toBe(0);
    expect(ipJson(['link', 'show'], 'b2').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
    const broken = JSON.stringify({ cniVersion: '1.0.0', name: 'badnet', type: 'rtnetlink', bridge: 'bad-br1', ipam: { type: 'static', addresses: [{ address: 'nonsense' }] } });
    // The plugin's own error (code and message) is passed on, and the ADD is undone.
    const failed = await execPlugin(shim, env({ CNI_CONTAINERID: 'b2', CNI_NETNS: '/run/netns/b2' }), broken);
    expect(failed.status).toBe(1);
    expect(failed.json.msg).toMatch(/nonsense|invalid/i);
    expect(ipJson(['link', 'show'], 'b2').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
    await expectError(env({ CNI_PATH: join(dir, 'empty') }), JSON.stringify({ cniVersion: '1.0.0', name: 'badnet', type: 'rtnetlink', bridge: 'bad-br1', ipam: { type: 'nosuchipam' } }), 102, /failed to find plugin "nosuchipam"/);
  });

  it('an unreachable daemon is code 11; with "fallback": "exec" the call runs in a one-shot process', async () => {
    const away = join(dir, 'nobody.sock');
    await expectError(env(), conf({ daemonSocket: away }), 11, /not reachable.*nobody\.sock/);
    // `rtnl` on PATH for the fallback: this checkout's CLI.
    const bin = join(dir, 'path');
    execFileSync('mkdir', ['-p', bin]);
    writeFileSync(join(bin, 'rtnl'), `#!/bin/sh\nexec "${process.execPath}" --import tsx "${ROOT}/lib/cli/main.ts" "$@"\n`);
    chmodSync(join(bin, 'rtnl'), 0o755);
    const withPath = { ...env(), PATH: `${bin}:${process.env.PATH}` };
    const add = await execPlugin(shim, withPath, conf({ daemonSocket: away, fallback: 'exec' }));
    expect(add.status, add.stdout).toBe(0);
    expect(add.json.ips[0].address).toBe('10.77.0.2/30');
    // The one-shot process really configured the kernel: b1's eth0 holds the returned address.
    expect(ipv4Of('eth0', 'b1')).toEqual([add.json.ips[0].address]);
    const del = await execPlugin(shim, { ...withPath, CNI_COMMAND: 'DEL' }, conf({ daemonSocket: away, fallback: 'exec' }));
    expect(del.status, del.stdout).toBe(0);
    expect(snapshot().leases).toEqual([]);
    expect(ipJson(['link', 'show'], 'b1').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
  });
});
