// warmUp() runs the commonest calls on canned data: it must never reach the kernel (no addon
// call at all), leave nothing open, and resolve. Its effect on the first call's time is measured
// by benchmarks/cold.ts, not here.
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { native } from '../../lib/native.js';
import { warmUp } from '../../lib/index.js';
import * as links from '../../lib/route/links.js';

afterEach(() => vi.restoreAllMocks());

describe('warmUp', () => {
  it('makes no syscall through the addon and leaves no fd open', async () => {
    const calls: string[] = [];
    for (const name of Object.keys(native) as (keyof typeof native)[]) {
      if (typeof native[name] !== 'function') continue;
      vi.spyOn(native, name as never).mockImplementation((() => {
        calls.push(name);
        throw new Error(`warmUp called native.${name}`);
      }) as never);
    }
    const fds = readdirSync('/proc/self/fd').length;
    await warmUp();
    expect(calls).toEqual([]);
    expect(readdirSync('/proc/self/fd').length).toBe(fds);
  });

  it('runs the code of a listing on its canned links: what it decodes is what listLinks() would describe', async () => {
    const listed = vi.spyOn(links, 'linkInfos');
    await warmUp();
    expect(listed).toHaveBeenCalledTimes(1);
    // lo, a veth enslaved to a bridge, the bridge: decoded back from the bytes it encoded.
    expect(await listed.mock.results[0]!.value).toMatchObject([
      { index: 1, name: 'lo', up: true, mtu: 65536 },
      { index: 2, name: 'veth0', kind: 'veth', master: 'br0', masterIndex: 3, linkIndex: 4 },
      { index: 3, name: 'br0', kind: 'bridge' },
    ]);
  });

  it('resolves even when what it runs fails', async () => {
    const broken = vi.spyOn(links, 'linkInfos').mockRejectedValue(new Error('broken'));
    await expect(warmUp()).resolves.toBeUndefined();
    expect(broken).toHaveBeenCalledTimes(1);
  });
});
