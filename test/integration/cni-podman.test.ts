// podman runs busybox containers on a network whose conflist uses our plugin: addresses,
// pings between containers and the host, HTTP from the host into a container, and
// `podman rm -f` leaving no veth, lease or NAT rule behind.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import { cniToolsMissing, mountTmpfs, ping, startDaemon, unmount, workDir, type DaemonProcess } from '../cni/harness.js';
import { podmanMissing, setUpPodman, type Podman } from '../cni/podman.js';
import { native } from '../../lib/native.js';

const missing = sandboxSkipReason ?? cniToolsMissing() ?? podmanMissing();

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
  });
}

describe.skipIf(!inSandbox || missing !== undefined)(`podman on the rtnetlink plugin${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let podman: Podman;
  let daemon: DaemonProcess;
  const ipOf = (name: string) => podman.run(['inspect', name, '--format', '{{.NetworkSettings.Networks.rtnet.IPAddress}}']).stdout.trim();
  const marked = () => ipJson<{ ifalias?: string }[]>(['link', 'show']).filter((l) => l.ifalias?.startsWith('rtnetlink-cni'));
  const leases = () => readdirSync('/var/lib/cni/networks/rtnet').filter((f) => f !== 'lock' && !f.startsWith('last_'));
  const rules = () => execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('rtnetlink-cni'));

  beforeAll(async () => {
    resetSandbox();
    mountTmpfs('/run/rtnetlink');
    daemon = await startDaemon();
    podman = setUpPodman(workDir('cni-podman'), native.cniShim, {
      bridge: 'rtnet0',
      isGateway: true,
      ipMasq: true,
      hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.89.0.0/24', gateway: '10.89.0.1' }]], routes: [{ dst: '0.0.0.0/0' }] },
    });
  }, 120_000);

  afterAll(async () => {
    podman?.cleanup();
    await daemon?.stop();
    unmount('/run/rtnetlink');
    resetSandbox();
  });

  it('containers get addresses, ping each other and the host, and serve HTTP to the host', async () => {
    podman.run(['run', '-d', '--name', 'web', '--network', 'rtnet', '--cgroups=disabled', podman.image, 'httpd', '-f', '-p', '8080', '-h', '/www']);
    podman.run(['run', '-d', '--name', 'client', '--network', 'rtnet', '--cgroups=disabled', podman.image, 'sleep', '300']);
    const web = ipOf('web');
    const other = ipOf('client');
    expect(web).toMatch(/^10\.89\.0\.\d+$/);
    expect(other).toMatch(/^10\.89\.0\.\d+$/);
    expect(web).not.toBe(other);
    expect(podman.run(['exec', 'client', 'ping', '-c1', '-W2', web]).status).toBe(0);
    expect(podman.run(['exec', 'web', 'ping', '-c1', '-W2', '10.89.0.1']).status).toBe(0);
    expect(ping(undefined, other)).toBe(true);
    expect(await httpGet(`http://${web}:8080/index.html`)).toBe('hello from a podman container\n');
    expect(marked()).toHaveLength(2);
    expect(leases().sort()).toEqual([web, other].sort());
    expect(rules()).toHaveLength(2);
  });

  it('podman rm -f leaves no veth, lease or rule', () => {
    podman.run(['rm', '-f', '-t', '0', 'web', 'client']);
    expect(marked()).toEqual([]);
    expect(leases()).toEqual([]);
    expect(rules()).toEqual([]);
    // The bridge stays, as with the reference plugin.
    expect(ipJson(['link', 'show', 'rtnet0'])).toHaveLength(1);
  });
});
