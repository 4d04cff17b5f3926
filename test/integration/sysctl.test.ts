import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { inSandbox, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

const lib = await import('../../lib/index.js');
const { native } = await import('../../lib/native.js');

describe.skipIf(!inSandbox)(`sysctls per namespace${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeEach(() => resetSandbox());
  afterEach(() => {
    vi.restoreAllMocks();
    resetSandbox();
  });

  it('writes inside the namespace only, and reads back what the kernel holds', async () => {
    const ns = await lib.createNamespace('s1');
    const hostBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    await lib.setSysctl('net.ipv4.ip_forward', 1, { netns: ns });
    expect(await ns.getSysctl('net.ipv4.ip_forward')).toBe('1');
    expect(await lib.getSysctl('net/ipv4/ip_forward', { netns: 's1' })).toBe('1');
    // The sandbox's own namespace is untouched.
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(hostBefore);
    expect(await lib.getSysctl('net.ipv4.ip_forward')).toBe(hostBefore);
    await ns.enableForwarding({ family: 'both' });
    expect(await ns.getSysctl('net.ipv6.conf.all.forwarding')).toBe('1');
    await ns.enableForwarding({ enabled: false });
    expect(await ns.getSysctl('net.ipv4.ip_forward')).toBe('0');
    // Per-interface keys with segments (names may contain dots).
    await ns.setSysctl(['net', 'ipv6', 'conf', 'lo', 'disable_ipv6'], true);
    expect(await ns.getSysctl('net/ipv6/conf/lo/disable_ipv6')).toBe('1');
    ns.close();
  });

  it('enables forwarding in the caller\'s namespace (here: the sandbox\'s)', async () => {
    await lib.enableForwarding();
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe('1');
  });

  it('refuses traversal, non-net keys and bad values before any syscall', async () => {
    const write = vi.spyOn(native, 'writeFileIn');
    for (const key of ['net.ipv4.../../kernel.hostname', 'kernel.hostname', 'net/../kernel/hostname', '', 'net..ipv4', ['net', '..', 'x']]) {
      await expect(lib.setSysctl(key as string, 1)).rejects.toMatchObject({ code: 'ERR_INVALID_SYSCTL_KEY' });
    }
    await expect(lib.setSysctl('net.ipv4.ip_forward', 1.5)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(lib.setSysctl('net.ipv4.ip_forward', '1\n0')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(write).not.toHaveBeenCalled();
    await expect(lib.setSysctl('net.ipv4.no_such_key', 1)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
