// The small operations that return the connection's promise directly (no async wrapper, see
// lib/target.ts promised()): a bad argument must still arrive as a rejection, before any syscall.
import { describe, expect, it, vi } from 'vitest';
import { addAddress, deleteAddress, setLinkDown, setLinkUp } from '../../lib/index.js';
import { native } from '../../lib/native.js';

describe('small operations that are not async functions still reject, never throw', () => {
  it.each([
    ['setLinkUp, bad link', () => setLinkUp('bad name!'), 'ERR_INVALID_IFNAME'],
    ['setLinkDown, bad index', () => setLinkDown(0), 'ERR_INVALID_IFINDEX'],
    ['setLinkUp, unknown option', () => setLinkUp(1, { nets: 'x' } as never), 'ERR_UNKNOWN_OPTION'],
    ['addAddress, bad address', () => addAddress(1, '10.0.0.300/24'), 'ERR_INVALID_ADDRESS'],
    ['addAddress, bad prefix', () => addAddress('eth0', '10.0.0.1/33'), 'ERR_INVALID_PREFIX'],
    ['deleteAddress, bad link', () => deleteAddress(-1, '10.0.0.1/24'), 'ERR_INVALID_IFINDEX'],
  ] as const)('%s', async (_what, call, code) => {
    // Stand-ins that fail instead of reaching the kernel, should a check be missing.
    const kernel = (['openNetlink', 'transact', 'transactInline'] as const).map((name) =>
      vi.spyOn(native, name).mockImplementation(() => {
        throw new Error(`native.${name} must not be called`);
      }),
    );
    try {
      let promise: Promise<void> | undefined;
      expect(() => (promise = call())).not.toThrow();
      await expect(promise).rejects.toMatchObject({ code });
      for (const spy of kernel) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of kernel) spy.mockRestore();
    }
  });
});
