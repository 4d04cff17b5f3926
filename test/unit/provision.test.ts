// The bulk path's veth creates are encoded once per shape and copied with the host end's name
// written in (lib/provision.ts): the copies must be the very bytes the ordinary encoding gives.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeForAddon } from '../../lib/connection.js';
import { encodeProvision, peerNetnsFdOffset, vethRequest, type VethPlan } from '../../lib/provision.js';

const hostName = fc.stringMatching(/^[a-z0-9_-]{1,15}$/).filter((n) => n !== '.' && n !== '..');
// Names of 1 to 15 UTF-8 bytes, some with multi-byte characters the kernel accepts.
const utf8Name = fc.array(fc.constantFrom('h', 'x', '7', '-', 'ü', 'é', 'ß', 'ж'), { minLength: 1, maxLength: 7 }).map((cs) => cs.join(''));
const plan: fc.Arbitrary<VethPlan> = fc.record(
  {
    hostName: fc.oneof(hostName, utf8Name),
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
          const { item, veths } = hostOf(vs);
          const expected = vs.map(ordinary);
          expect(item.host).toEqual(Buffer.concat(expected));
          let at = 0;
          const offsets = expected.map((b) => {
            const o = at + peerNetnsFdOffset(b, 0);
            at += b.length;
            return o;
          });
          expect(item.nsFdOffsets).toEqual(offsets);
          expect(veths).toEqual(vs.map((v) => vethRequest(v).opts));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a copy does not change the shape it came from', () => {
    const base: VethPlan = { hostName: 'h1', name: 'eth0', group: 9, master: 4 };
    const first = Buffer.from(hostOf([base]).item.host);
    hostOf([{ ...base, hostName: 'h2' }]).item.host.fill(0xee);
    expect(hostOf([base]).item.host).toEqual(first);
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
