// The bulk path's veth creates are encoded once per shape and copied with the host end's name
// written in (lib/provision.ts): the copies must be the very bytes the ordinary encoding gives.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeForAddon } from '../../lib/connection.js';
import { decodeLink } from '../../lib/netlink/link.js';
import { parseMessages } from '../../lib/netlink/message.js';
import { encodeProvision, vethRequest, type VethPlan } from '../../lib/provision.js';
import { interfaceName } from '../helpers/arbitraries.js';

const plan: fc.Arbitrary<VethPlan> = fc.record(
  {
    hostName: interfaceName,
    name: fc.constantFrom('eth0', 'e1', 'ethernet-inside'),
    master: fc.constantFrom(undefined, 3, 70000),
    mtu: fc.constantFrom(undefined, 1400, 9000),
    group: fc.constantFrom(0x1234, 7, 0xfffffff0),
    label: fc.constantFrom(undefined, 'a label'),
  },
  { requiredKeys: ['hostName', 'name', 'group'] },
);

const ordinary = (v: VethPlan) => encodeForAddon([vethRequest(v)]).bytes;
const hostOf = (vs: VethPlan[]) => encodeProvision(undefined, { veths: vs, inside: [], ipv6Off: false });

describe('veth creates from a shape', () => {
  it('are byte for byte the ordinary encoding, with the namespace fd where the ordinary one has it', () => {
    fc.assert(
      fc.property(fc.array(fc.array(plan, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 12 }), (namespaces) => {
        for (const vs of namespaces) {
          // Twice: the second comes from the shapes the first one left (unless the cache filled up and was cleared in between).
          for (const { item, veths } of [hostOf(vs), hostOf(vs)]) {
            expect(item.host).toEqual(Buffer.concat(vs.map(ordinary)));
            expect(veths).toEqual(vs.map((v) => vethRequest(v).opts));
            // Each offset is where the decoder finds the peer's IFLA_NET_NS_FD: a value written
            // there reads back as that veth's peer namespace fd, and nothing else changes.
            const host = Buffer.from(item.host);
            item.nsFdOffsets.forEach((at, k) => host.writeUInt32LE(1000 + k, at));
            expect(parseMessages(host).map((m) => (decodeLink(m).linkInfo?.data as { peer?: { netnsFd?: number } }).peer?.netnsFd)).toEqual(vs.map((_, k) => 1000 + k));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a copy does not change the shape it came from, the first one made with it neither', () => {
    // A shape no other test makes: its first job's bytes come from the cache's miss.
    const base: VethPlan = { hostName: 'h1', name: 'eth0', group: 9, master: 4, mtu: 1404 };
    const firstJob = hostOf([base]).item.host;
    const first = Buffer.from(firstJob);
    firstJob.fill(0xee);
    hostOf([{ ...base, hostName: 'h2' }]).item.host.fill(0xee);
    expect(hostOf([base]).item.host).toEqual(first);
    expect(first).toEqual(ordinary(base));
  });

  it('refuses a bad host name whether or not its shape was seen', () => {
    const base: VethPlan = { hostName: 'ok1', name: 'eth0', group: 11 };
    hostOf([base]);
    for (const bad of ['a/b', 'a b', 'x'.repeat(16), '..']) {
      expect(() => hostOf([{ ...base, hostName: bad }]), bad).toThrow(expect.objectContaining({ code: 'ERR_INVALID_IFNAME' }));
      expect(() => ordinary({ ...base, hostName: bad }), bad).toThrow(expect.objectContaining({ code: 'ERR_INVALID_IFNAME' }));
    }
  });
});
