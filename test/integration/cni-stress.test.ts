// Concurrency and crashes: 50 ADDs at once through the shim, and a daemon killed -9 in the
// middle of ADDs then restarted, after which DEL cleans up and the leases match the containers.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, ipv4Of, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import { addNetns, cniToolsMissing, execPlugin, mountTmpfs, pluginDir, startDaemon, unmount, workDir, type DaemonProcess } from '../cni/harness.js';

const missing = sandboxSkipReason ?? cniToolsMissing();
const NET = 'stressnet';

describe.skipIf(!inSandbox || missing !== undefined)(`CNI plugin: concurrency and crashes${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir: string;
  let shim: string;
  let dataDir: string;
  let daemon: DaemonProcess;
  const conf = () =>
    JSON.stringify({ cniVersion: '1.0.0', name: NET, type: 'rtnetlink', bridge: 'st-br0', isGateway: true, ipMasq: true, ipam: { type: 'host-local', dataDir, subnet: '10.66.0.0/16' } });
  const env = (cmd: string, id: string) => ({ CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: `/run/netns/${id}`, CNI_IFNAME: 'eth0', CNI_PATH: join(dir, 'bin') });
  const leaseOwners = () =>
    readdirSync(join(dataDir, NET))
      .filter((f) => f !== 'lock' && !f.startsWith('last_'))
      .map((f) => ({ ip: f, owner: readFileSync(join(dataDir, NET, f), 'utf8').split('\r\n')[0]! }));
  const markedVeths = () =>
    ipJson<{ ifalias?: string }[]>(['link', 'show'])
      .map((l) => /id=(\S+) /.exec(l.ifalias ?? '')?.[1])
      .filter((x): x is string => x !== undefined);
  const natRules = () => execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`net=${NET}`)).length;

  beforeAll(async () => {
    resetSandbox();
    mountTmpfs('/run/rtnetlink');
    dir = workDir('cni-stress');
    dataDir = join(dir, 'networks');
    shim = join(pluginDir(dir), 'rtnetlink');
    for (let i = 0; i < 50; i++) addNetns(`s${i}`);
    daemon = await startDaemon();
  }, 120_000);

  afterAll(async () => {
    await daemon?.stop();
    unmount('/run/rtnetlink');
    resetSandbox();
  });

  it('50 ADDs at once: 50 distinct addresses, 50 leases, 50 marked veths and NAT rules; 50 DELs leave nothing', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `s${i}`);
    const results = await Promise.all(ids.map((id) => execPlugin(shim, env('ADD', id), conf())));
    for (const r of results) expect(r.status, r.stdout).toBe(0);
    const ips = results.map((r) => r.json.ips[0].address as string);
    expect(new Set(ips).size).toBe(50);
    // The kernel agrees: each container's eth0 holds the address its ADD returned, and only it.
    for (const [i, id] of ids.entries()) {
      expect(ipv4Of('eth0', id), id).toEqual([ips[i]]);
    }
    const owners = leaseOwners();
    expect(owners).toHaveLength(50);
    expect(new Set(owners.map((o) => o.owner))).toEqual(new Set(ids));
    expect(markedVeths().sort()).toEqual([...ids].sort());
    expect(natRules()).toBe(50);
    const dels = await Promise.all(ids.map((id) => execPlugin(shim, env('DEL', id), conf())));
    for (const r of dels) expect(r.status, r.stdout).toBe(0);
    expect(leaseOwners()).toEqual([]);
    expect(markedVeths()).toEqual([]);
    expect(natRules()).toBe(0);
  });

  it('kill -9 in the middle of ADDs: after a restart, DEL of the failed ones cleans up and leases match the containers', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `s${i}`);
    const pending = ids.map((id) => execPlugin(shim, env('ADD', id), conf()));
    // Kill once some ADDs have finished and others are under way.
    const firstDone = await Promise.race(pending);
    expect(firstDone.status).toBe(0);
    await daemon.stop('SIGKILL');
    const results = await Promise.all(pending);
    const ok = ids.filter((_, i) => results[i]!.status === 0);
    const failed = ids.filter((_, i) => results[i]!.status !== 0);
    for (const i of ids.keys()) if (results[i]!.status !== 0) expect(results[i]!.json.code).toBe(11);
    expect(ok.length).toBeGreaterThan(0);
    expect(failed.length).toBeGreaterThan(0);

    daemon = await startDaemon();
    // A runtime DELs each ADD that failed.
    for (const id of failed) expect((await execPlugin(shim, env('DEL', id), conf())).status).toBe(0);
    expect(new Set(leaseOwners().map((o) => o.owner))).toEqual(new Set(ok));
    expect(leaseOwners()).toHaveLength(ok.length);
    expect(markedVeths().sort()).toEqual([...ok].sort());
    for (const id of failed) expect(ipJson(['link', 'show'], id).map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
    // Then everything goes.
    for (const id of ok) expect((await execPlugin(shim, env('DEL', id), conf())).status).toBe(0);
    expect(leaseOwners()).toEqual([]);
    expect(markedVeths()).toEqual([]);
    expect(natRules()).toBe(0);
  });

  it('SIGTERM drains: calls under way finish, the daemon exits 0, later calls get code 11', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `s${i}`);
    const pending = ids.map((id) => execPlugin(shim, env('ADD', id), conf()));
    await Promise.race(pending);
    const exit = daemon.stop('SIGTERM');
    const results = await Promise.all(pending);
    expect(await exit).toBe(0);
    // Every call either completed (kernel state and lease are there) or was refused whole.
    const ok = ids.filter((_, i) => results[i]!.status === 0);
    for (const r of results) if (r.status !== 0) expect(r.json.code).toBe(11);
    expect(new Set(leaseOwners().map((o) => o.owner))).toEqual(new Set(ok));
    expect(markedVeths().sort()).toEqual([...ok].sort());
    const late = await execPlugin(shim, env('ADD', 's20'), conf());
    expect(late.json.code).toBe(11);
    daemon = await startDaemon();
    for (const id of ids) expect((await execPlugin(shim, env('DEL', id), conf())).status).toBe(0);
    expect(leaseOwners()).toEqual([]);
  });
});
