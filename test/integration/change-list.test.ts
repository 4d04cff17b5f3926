// changeList(): many small changes sent together and resolved once, each with its own outcome,
// checked against the kernel's state as `ip -json` reports it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { inSandbox, ip, ipJson, ipv4Of, linkIsUp, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

const rt = await import('../../lib/index.js');
const { native } = await import('../../lib/native.js');

const addressesOf = (dev: string, netns?: string) => ipv4Of(dev, netns, { broadcast: true });

describe.skipIf(!inSandbox)(`changeList (real kernel)${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeEach(() => resetSandbox());
  afterEach(() => {
    vi.restoreAllMocks();
    resetSandbox();
  });

  // Against the real kernel: its ACKs are addressed to the asking socket's port (not 0), and
  // splitMessages must still offer every one of them to takeAck, the fast path change lists use.
  it("splitMessages offers every plain ACK the kernel sends (addressed to our port) to takeAck", async () => {
    const { encodeForAddon } = await import('../../lib/connection.js');
    const { linkUpRequest } = await import('../../lib/route/links.js');
    const { splitMessages } = await import('../../lib/netlink/message.js');
    const fd = await native.openNetlink(-1, 0, []);
    try {
      const { bytes, starts } = encodeForAddon([linkUpRequest(1), linkUpRequest(1), linkUpRequest(1)]);
      starts.forEach((at, k) => bytes.writeUInt32LE(100 + k, at + 8));
      const answers = Buffer.alloc(4096);
      const length = native.transactInline(fd, bytes, 100, 3, 3, answers);
      expect(typeof length).toBe('number');
      const taken: number[] = [];
      const { messages, error } = splitMessages(answers.subarray(0, length as number), (seq) => (taken.push(seq), true));
      expect(error).toBeUndefined();
      expect(taken).toEqual([100, 101, 102]);
      expect(messages).toEqual([]);
    } finally {
      native.close(fd);
    }
  });

  it('applies links up, addresses and routes in order inside a namespace, in one exchange', async () => {
    const pb = await rt.createNamespace('pb');
    await rt.createVethPair({ name: 'veth-pb-h', peer: { name: 'veth-pb', netns: pb } });
    const inline = vi.spyOn(native, 'transactInline');
    let result;
    try {
      result = await pb
        .changeList()
        .setLinkUp('lo')
        .setLinkUp('veth-pb')
        .addAddress('veth-pb', '192.168.0.56/24', { broadcast: 'auto' })
        .addRoute({ to: 'default', via: '192.168.0.60' })
        .send();
    } finally {
      pb.close();
    }
    expect(result).toEqual({ failed: 0, errors: [undefined, undefined, undefined, undefined] });
    // Links up go by name (the kernel looks it up); the address needs veth-pb's index: one
    // GETLINK, then the 4 changes at once.
    expect(inline.mock.calls.map((args) => args[3])).toEqual([1, 4]);
    expect(linkIsUp('lo', 'pb') && linkIsUp('veth-pb', 'pb')).toBe(true);
    expect(addressesOf('veth-pb', 'pb')).toEqual(['192.168.0.56/24 brd 192.168.0.255']);
    expect(ipJson(['route', 'show', 'default'], 'pb')).toMatchObject([{ dst: 'default', gateway: '192.168.0.60', dev: 'veth-pb' }]);
  });

  it('fails only the changes the kernel refuses or whose link does not exist; the others are made', async () => {
    await rt.createBridge('brd1');
    const index = rt.getLink('brd1').then((l) => l.index);
    const result = await rt
      .changeList()
      .addAddress('brd1', '10.0.0.1/24')
      .addAddress('brd1', '10.0.0.1/24')
      .addAddress('nosuchlink', '10.0.1.1/24')
      .deleteAddress(await index, '10.9.9.9/24')
      .addAddress(await index, '10.0.2.1/24')
      .setLinkUp('brd1')
      .send();
    expect(result.failed).toBe(3);
    expect(result.errors.map((e) => (e as { code?: string } | undefined)?.code)).toEqual([undefined, 'EEXIST', 'ENODEV', 'EADDRNOTAVAIL', undefined, undefined]);
    expect(result.errors[1]).toBeInstanceOf(rt.NetlinkError);
    expect(result.errors[1]).toMatchObject({ operation: 'RTM_NEWADDR', object: '10.0.0.1/24 dev brd1' });
    expect(result.errors[2]).toMatchObject({ operation: 'RTM_GETLINK', object: 'nosuchlink' });
    expect(addressesOf('brd1')).toEqual(['10.0.0.1/24', '10.0.2.1/24']);
    expect(linkIsUp('brd1')).toBe(true);
  });

  it('checks each change when it is added: a bad one throws with a code and is not added', async () => {
    const list = rt.changeList();
    list.setLinkUp(1);
    expect(() => list.addAddress('lo', '10.0.0.1/33')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_PREFIX' }));
    expect(() => list.setLinkUp('a name that is far too long')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_IFNAME' }));
    expect(() => list.setLinkDown(0)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_IFINDEX' }));
    expect(() => list.addRoute({ to: 'default', gateway: '10.0.0.1' } as never)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_OPTION' }));
    expect(() => list.addRoute({ to: 'default', via: '10.0.0.1', netns: 'pb' } as never)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_OPTION', field: 'spec.netns' }));
    expect(() => list.addAddress('lo', '10.0.0.1/8', { netns: 'pb' } as never)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_OPTION' }));
    expect(() => list.addAddress('lo', '10.0.0.1/8', { brd: '+' } as never)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_OPTION' }));
    expect(list.size).toBe(1);
    await expect(list.send({ timeout: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', field: 'timeout' });
    expect(await list.send()).toEqual({ failed: 0, errors: [undefined] });
    expect(() => list.setLinkUp(1)).toThrow(expect.objectContaining({ code: 'ERR_CHANGE_LIST_SENT' }));
    await expect(list.send()).rejects.toMatchObject({ code: 'ERR_CHANGE_LIST_SENT' });
    expect(() => rt.changeList({ netns: '../x' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NETNS_NAME' }));
  });

  it('sends a long list through the I/O thread, in order, and resolves each change', async () => {
    await rt.createBridge('brd2');
    const index = (await rt.getLink('brd2')).index;
    const transact = vi.spyOn(native, 'transact');
    const add = rt.changeList();
    for (let i = 0; i < 300; i++) add.addAddress(index, `10.${i >> 8}.${i & 255}.1/32`);
    expect((await add.send()).failed).toBe(0);
    expect(transact.mock.calls.map((c) => c[3])).toEqual([300]);
    expect(addressesOf('brd2')).toHaveLength(300);
    // Deleting each twice: the second of each pair is refused, in order.
    const del = rt.changeList();
    for (let i = 0; i < 300; i++) del.deleteAddress('brd2', `10.${i >> 8}.${i & 255}.1/32`).deleteAddress('brd2', `10.${i >> 8}.${i & 255}.1/32`);
    const r = await del.send();
    expect(r.failed).toBe(300);
    expect(r.errors.map((e) => (e as { code?: string } | undefined)?.code)).toEqual(Array.from({ length: 600 }, (_, i) => (i % 2 === 0 ? undefined : 'EADDRNOTAVAIL')));
    expect(ip(['-4', 'addr', 'show', 'dev', 'brd2'])).not.toContain('inet ');
  });

  it('resolves an empty list without touching the kernel, and rejects an unknown namespace as a whole', async () => {
    const calls = (['openNetlink', 'transact', 'transactInline'] as const).map((name) => vi.spyOn(native, name));
    expect(await rt.changeList().send()).toEqual({ failed: 0, errors: [] });
    for (const call of calls) expect(call).not.toHaveBeenCalled();
    await expect(rt.changeList({ netns: 'nosuchns' }).setLinkUp('lo').send()).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
