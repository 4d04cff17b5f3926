// Side by side with the reference: Debian's `bridge` + `host-local` (containernetworking-plugins
// 1.1.1) and our plugin get the same config through the same libcni client, each in a sandbox
// of its own; the kernel state after ADD (ip -json, bridge -json, sysctls) and the lease files
// must be the same once random names and MACs are normalised.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import { REFERENCE_PLUGINS, ROOT, buildClient, cniToolsMissing, workDir } from '../cni/harness.js';

const missing =
  sandboxSkipReason ?? cniToolsMissing() ?? (existsSync(join(REFERENCE_PLUGINS, 'bridge')) ? undefined : 'the reference plugins are missing (apt-get install containernetworking-plugins)');

function snapshot(type: string, work: string, cniclient: string): any {
  const out = execFileSync(join(ROOT, 'scripts/sandbox'), [process.execPath, '--import', 'tsx', join(ROOT, 'test/cni/snapshot.ts'), type, work, cniclient], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out);
}

describe.skipIf(!inSandbox || missing !== undefined)(`CNI plugin side by side with the reference bridge${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let ours: any;
  let reference: any;

  beforeAll(() => {
    const work = workDir('cni-reference');
    const cniclient = buildClient(work);
    reference = snapshot('bridge', work, cniclient);
    ours = snapshot('rtnetlink', work, cniclient);
  }, 120_000);

  it('gives the same result', () => {
    expect(ours.result).toEqual(reference.result);
  });

  it('leaves the same links, addresses, routes and bridge ports on the host', () => {
    expect(ours.host.links).toEqual(reference.host.links);
    expect(ours.host.addresses).toEqual(reference.host.addresses);
    expect(ours.host.routes4).toEqual(reference.host.routes4);
    expect(ours.host.routes6).toEqual(reference.host.routes6);
    expect(ours.host.bridgePorts).toEqual(reference.host.bridgePorts);
  });

  it('sets the same sysctls on the host and in the containers', () => {
    expect(ours.host.sysctls).toEqual(reference.host.sysctls);
    expect(ours.containers.k1.sysctls).toEqual(reference.containers.k1.sysctls);
  });

  it('configures the containers the same way', () => {
    expect(ours.containers).toEqual(reference.containers);
  });

  it('writes the same lease files', () => {
    expect(ours.leases).toEqual(reference.leases);
  });
});
