import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArgumentError, ArgumentRangeError } from '../../lib/errors.js';
import {
  broadcastOf,
  familyOf,
  formatAddress,
  formatMac,
  networkOf,
  parseAddress,
  parseMac,
  parsePrefix,
  sameAddress,
  validatePrefixLength,
} from '../../lib/ip.js';
import { expectError } from '../helpers/expect-error.js';


const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('parseAddress: IPv4', () => {
  it.each([
    ['0.0.0.0', '00000000'],
    ['10.0.0.1', '0a000001'],
    ['255.255.255.255', 'ffffffff'],
    ['192.168.100.200', 'c0a864c8'],
  ])('%s', (text, bytes) => {
    const r = parseAddress(text, 'address');
    expect(r.family).toBe(4);
    expect(hex(r.bytes)).toBe(bytes);
    expect(Buffer.isBuffer(r.bytes)).toBe(true);
  });

  it.each([
    '010.1.1.1', // leading zero: octal in inet_aton
    '10.01.1.1',
    '00.1.1.1',
    '10.1', // inet_aton shorthand
    '10',
    '10.1.1',
    '10.1.1.1.1',
    '256.1.1.1',
    '1.1.1.999',
    '1.1.1.1000',
    '-1.1.1.1',
    '+1.1.1.1',
    '0x0a.1.1.1',
    '1..1.1',
    '1.1.1.',
    '.1.1.1',
    ' 1.1.1.1',
    '1.1.1.1 ',
    '1.1.1.1\n',
    '1.1.1.1/24',
    '١.١.١.١', // Arabic-Indic digits
    '',
    'localhost',
  ])('rejects %j', (text) => {
    expectError(() => parseAddress(text, 'gateway'), ArgumentError, 'ERR_INVALID_ADDRESS', 'gateway');
  });
});

describe('parseAddress: IPv6', () => {
  it.each([
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:DB8::A', '20010db800000000000000000000000a'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '20010db8000000000000000000000001'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
    ['1::8', '00010000000000000000000000000008'],
    ['fe80::', 'fe800000000000000000000000000000'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
    ['::FFFF:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['::1.2.3.4', '00000000000000000000000001020304'],
    ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
    ['1::5:6:1.2.3.4', '00010000000000000005000601020304'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255', 'ffffffffffffffffffffffffffffffff'],
  ])('%s', (text, bytes) => {
    const r = parseAddress(text, 'address');
    expect(r.family).toBe(6);
    expect(hex(r.bytes)).toBe(bytes);
  });

  it.each([
    ':::',
    '1:::2',
    '1::2::3',
    ':1::',
    '::1:',
    ':1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7::8', // '::' must stand for at least one group
    '::1:2:3:4:5:6:7:8',
    '12345::',
    '00000::',
    'g::',
    '1:2:3:4:5:6:7:1.2.3.4', // 9 groups' worth
    '::1.2.3.4:5', // dotted quad only at the end
    '1.2.3.4::',
    '::01.2.3.4',
    '::1.2.3',
    '::256.1.1.1',
    'fe80::1%eth0', // zone ids are refused, not ignored
    'fe80::1%1',
    '[::1]',
    ' ::1',
    '::1 ',
    '::/0',
    'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  ])('rejects %j', (text) => {
    expectError(() => parseAddress(text, 'address'), ArgumentError, 'ERR_INVALID_ADDRESS', 'address');
  });

  it('says why a zone id is refused', () => {
    expect(() => parseAddress('fe80::1%eth0', 'a')).toThrow(/zone/);
  });
});

describe('parseAddress: types and families', () => {
  it.each([undefined, null, 42, {}, ['1.2.3.4'], Buffer.from([1, 2, 3, 4])])('rejects non-string %j', (v) => {
    expectError(() => parseAddress(v as unknown as string, 'address'), ArgumentError, 'ERR_INVALID_ADDRESS', 'address');
  });

  it('refuses a gateway of the wrong family (RELIABILITY 7)', () => {
    expectError(() => parseAddress('::1', 'gateway', { family: 4 }), ArgumentError, 'ERR_INVALID_ADDRESS', 'gateway');
    expectError(() => parseAddress('10.0.0.1', 'gateway', { family: 6 }), ArgumentError, 'ERR_INVALID_ADDRESS', 'gateway');
    expect(() => parseAddress('::1', 'gateway', { family: 4 })).toThrow(/IPv4/);
    expect(parseAddress('10.0.0.1', 'gateway', { family: 4 }).family).toBe(4);
  });

  it('keeps hostile text short and quoted in messages', () => {
    const text = `${'1'.repeat(1000)}\nforged log line`;
    try {
      parseAddress(text, 'address');
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
      expect((e as Error).message.length).toBeLessThan(200);
    }
  });
});

describe('parsePrefix', () => {
  it.each([
    ['10.0.0.1/24', 4, '0a000001', 24],
    ['10.0.0.0/0', 4, '0a000000', 0],
    ['10.0.0.1/32', 4, '0a000001', 32],
    ['2001:db8::/32', 6, '20010db8000000000000000000000000', 32],
    ['::/0', 6, '00000000000000000000000000000000', 0],
    ['::1/128', 6, '00000000000000000000000000000001', 128],
    ['10.0.0.1', 4, '0a000001', 32],
    ['fe80::1', 6, 'fe800000000000000000000000000001', 128],
  ] as const)('%s', (text, family, bytes, prefixLen) => {
    const r = parsePrefix(text, 'dst');
    expect(r).toMatchObject({ family, prefixLen });
    expect(hex(r.bytes)).toBe(bytes);
  });

  // RELIABILITY 7: out-of-range lengths are range errors, malformed ones type errors; none wraps.
  it.each([
    ['10.0.0.0/-1'],
    ['10.0.0.0/33'],
    ['10.0.0.0/4294967320'], // 2^32 + 24: must not wrap to 24
    ['10.0.0.0/256'],
    ['10.0.0.0/99999999999999999999999'],
    ['2001:db8::/129'],
    ['::/-1'],
    ['::/65664'], // 2^16 + 128
  ])('rejects out-of-range %j with ArgumentRangeError', (text) => {
    expectError(() => parsePrefix(text, 'dst'), ArgumentRangeError, 'ERR_INVALID_PREFIX', 'dst');
  });

  it.each([
    ['10.0.0.0/1.5'],
    ['10.0.0.0/NaN'],
    ['10.0.0.0/'],
    ['10.0.0.0/024'], // iproute2 (strtoul base 0) would read octal 20
    ['10.0.0.0/00'],
    ['10.0.0.0/-0'],
    ['10.0.0.0/ 24'],
    ['10.0.0.0/24 '],
    ['10.0.0.0/+24'],
    ['10.0.0.0/0x18'],
    ['10.0.0.0/1e1'],
    ['10.0.0.0/24/8'],
    ['10.0.0.0/255.255.255.0'],
    ['10.0.0.0/Infinity'],
    ['::/1.5'],
    ['::/'],
  ])('rejects malformed %j with ArgumentError', (text) => {
    expectError(() => parsePrefix(text, 'dst'), ArgumentError, 'ERR_INVALID_PREFIX', 'dst');
  });

  it('accepts a length exactly when it is plain decimal without a leading zero, within 0..32 (fuzzed)', () => {
    const chars = fc.constantFrom(...'0123456789-+ .x'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: chars, maxLength: 5 }), fc.integer({ min: -40, max: 40 }).map(String)), (len) => {
        const plain = /^(?:0|[1-9][0-9]*)$/.test(len);
        const negative = /^-[1-9][0-9]*$/.test(len);
        let got: unknown;
        try {
          got = parsePrefix(`10.0.0.0/${len}`, 'dst').prefixLen;
        } catch (e) {
          expect((e as ArgumentError).code).toBe('ERR_INVALID_PREFIX');
          // Syntax errors and range errors are told apart, as the tables above say.
          expect(e instanceof ArgumentRangeError).toBe((plain || negative) && !(plain && Number(len) <= 32));
          got = undefined;
        }
        expect(got).toBe(plain && Number(len) <= 32 ? Number(len) : undefined);
      }),
      { numRuns: 5000 },
    );
  });

  it('reports a malformed address part as ERR_INVALID_ADDRESS', () => {
    expectError(() => parsePrefix('10.0.0/24', 'dst'), ArgumentError, 'ERR_INVALID_ADDRESS', 'dst');
    expectError(() => parsePrefix('/24', 'dst'), ArgumentError, 'ERR_INVALID_ADDRESS', 'dst');
  });

  it('requires /len when asked', () => {
    expectError(() => parsePrefix('10.0.0.1', 'dst', { requirePrefix: true }), ArgumentError, 'ERR_INVALID_PREFIX', 'dst');
    expect(parsePrefix('10.0.0.1/8', 'dst', { requirePrefix: true }).prefixLen).toBe(8);
  });

  it('checks the family when asked', () => {
    expectError(() => parsePrefix('::/0', 'dst', { family: 4 }), ArgumentError, 'ERR_INVALID_ADDRESS', 'dst');
  });

  it('rejects non-strings', () => {
    expectError(() => parsePrefix(24 as unknown as string, 'dst'), ArgumentError, 'ERR_INVALID_PREFIX', 'dst');
  });
});

describe('validatePrefixLength (numeric prefix fields, RELIABILITY 7)', () => {
  it.each([
    [0, 4],
    [32, 4],
    [0, 6],
    [64, 6],
    [128, 6],
  ] as const)('accepts %d for IPv%d', (n, family) => {
    expect(validatePrefixLength(n, family, 'prefixLen')).toBe(n);
  });

  it.each([
    [-1, 4],
    [33, 4],
    [129, 6],
    [1.5, 4],
    [Number.NaN, 4],
    [Number.POSITIVE_INFINITY, 6],
    [2 ** 32 + 24, 4],
  ] as const)('rejects %d for IPv%d with ArgumentRangeError', (n, family) => {
    expectError(() => validatePrefixLength(n, family, 'prefixLen'), ArgumentRangeError, 'ERR_INVALID_PREFIX', 'prefixLen');
  });

  it.each(['24', null, undefined, 24n, {}])('rejects %s (not a number) with ArgumentError', (v) => {
    expectError(() => validatePrefixLength(v, 4, 'prefixLen'), ArgumentError, 'ERR_INVALID_PREFIX', 'prefixLen');
  });
});

describe('formatAddress', () => {
  it.each([
    ['00000000', '0.0.0.0'],
    ['0a000001', '10.0.0.1'],
    ['ffffffff', '255.255.255.255'],
  ])('IPv4 %s', (bytes, text) => {
    expect(formatAddress(Buffer.from(bytes, 'hex'))).toBe(text);
  });

  // RFC 5952 section 4 examples and edge cases.
  it.each([
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['00010000000000000000000000000000', '1::'],
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000000000000000010001', '2001:db8::1:1'],
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'], // longest run wins
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // equal runs: first one
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // a single 0 is not compressed
    ['20010db800aa00bb00cc00dd00ee00ff', '2001:db8:aa:bb:cc:dd:ee:ff'], // leading zeros dropped
    ['ABCDEF0000000000000000000000000a'.toLowerCase(), 'abcd:ef00::a'],
    ['00010002000300040005000600070008', '1:2:3:4:5:6:7:8'],
    ['00010002000300040005000600070000', '1:2:3:4:5:6:7:0'],
    ['00000002000300040005000600070008', '0:2:3:4:5:6:7:8'],
    ['00000000000000000000ffff01020304', '::ffff:1.2.3.4'], // IPv4-mapped, as iproute2 prints
    ['00000000000000000000ffff00000000', '::ffff:0.0.0.0'],
    ['00000000000000000000000001020304', '::102:304'], // deprecated IPv4-compatible: plain hex
    ['0000000000000000ffff000001020304', '::ffff:0:102:304'],
    ['fe800000000000000000000000000001', 'fe80::1'],
  ])('IPv6 %s → %s', (bytes, text) => {
    expect(formatAddress(Buffer.from(bytes, 'hex'))).toBe(text);
  });

  it('accepts a Uint8Array', () => {
    expect(formatAddress(new Uint8Array([192, 0, 2, 1]))).toBe('192.0.2.1');
  });

  it('rejects what is not bytes', () => {
    expectError(() => formatAddress([10, 0, 0, 1] as unknown as Uint8Array), ArgumentError, 'ERR_INVALID_ADDRESS', 'bytes');
    expectError(() => formatAddress('10.0.0.1' as unknown as Uint8Array), ArgumentError, 'ERR_INVALID_ADDRESS', 'bytes');
  });

  it.each([0, 3, 5, 15, 17])('rejects %d bytes', (n) => {
    expectError(() => formatAddress(Buffer.alloc(n)), ArgumentError, 'ERR_INVALID_ADDRESS', 'bytes');
  });
});

describe('format(parse(x)) round trips', () => {
  it.each([
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8::0:1', '2001:db8::1'],
    ['2001:db8:0:0:0::1', '2001:db8::1'],
    ['2001:db8::1:0:0:0', '2001:db8:0:0:1::'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::0:0', '::'],
    ['fe80:0:0:0:0:0:0:1', 'fe80::1'],
    ['FE80::0001', 'fe80::1'],
    ['::ffff:c000:0201', '::ffff:192.0.2.1'],
    ['0:0:0:0:0:ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::FFFF:10.0.0.1', '::ffff:10.0.0.1'],
    ['::1.2.3.4', '::102:304'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:0:0:2:0:0:3', '1::2:0:0:3'],
    ['ff02::1:ff00:1', 'ff02::1:ff00:1'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['10.0.0.1', '10.0.0.1'],
  ])('%s → %s', (input, canonical) => {
    const out = formatAddress(parseAddress(input, 'a').bytes);
    expect(out).toBe(canonical);
    expect(formatAddress(parseAddress(out, 'a').bytes)).toBe(out);
  });
});

describe('properties (fast-check)', () => {
  const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
  // Many zero words, so compression and tie-breaking are exercised, not just random hex.
  const sparse16 = fc
    .array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0xabc), { minLength: 8, maxLength: 8 })
    .map((words) => {
      const b = Buffer.alloc(16);
      words.forEach((w, i) => b.writeUInt16BE(w, i * 2));
      return new Uint8Array(b);
    });

  /** What the WHATWG URL parser prints: RFC 5952 compression, but never dotted-quad. */
  const urlCanonical = (text: string) => new URL(`http://[${text}]/`).hostname.slice(1, -1);

  it('parseAddress(formatAddress(b)) === b for any 16 bytes, and the text is valid IPv6', () => {
    fc.assert(
      fc.property(fc.oneof(bytes16, sparse16), (b) => {
        const text = formatAddress(b);
        expect(isIPv6(text)).toBe(true);
        expect(text).toBe(text.toLowerCase());
        const back = parseAddress(text, 'a');
        expect(back.family).toBe(6);
        expect(hex(back.bytes)).toBe(hex(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('formatAddress matches the WHATWG URL serializer except for IPv4-mapped', () => {
    fc.assert(
      fc.property(fc.oneof(bytes16, sparse16), (b) => {
        const text = formatAddress(b);
        if (!text.startsWith('::ffff:') || !text.includes('.')) expect(text).toBe(urlCanonical(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('IPv4 round trips for any 4 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => {
        const text = formatAddress(b);
        expect(isIPv4(text)).toBe(true);
        expect(hex(parseAddress(text, 'a').bytes)).toBe(hex(b));
      }),
    );
  });

  it('any text fast-check calls IPv6 parses to the bytes the URL parser finds', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const ours = formatAddress(parseAddress(text, 'a').bytes);
        expect(hex(parseAddress(urlCanonical(text), 'a').bytes)).toBe(hex(parseAddress(ours, 'a').bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts exactly what node:net accepts (zone ids aside) on fuzzed text', () => {
    const chars = fc.constantFrom(...'0123456789abcdefABCDEFg:.'.split(''));
    const fuzz = fc.oneof(
      fc.string({ unit: chars, maxLength: 46 }),
      fc.ipV4Extended(),
      fc.ipV6(),
      fc.ipV4(),
      fc.tuple(fc.ipV6(), fc.string({ unit: chars, maxLength: 4 })).map(([a, b]) => a + b),
    );
    fc.assert(
      fc.property(fuzz, (text) => {
        let ok = true;
        try {
          parseAddress(text, 'a');
        } catch {
          ok = false;
        }
        expect(ok).toBe(isIPv4(text) || isIPv6(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('networkOf clears exactly the host bits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }), (b, len) => {
        const net = networkOf(b, len);
        const bits = (x: Uint8Array) => Array.from(x, (v) => v.toString(2).padStart(8, '0')).join('');
        expect(bits(net)).toBe(bits(b).slice(0, len) + '0'.repeat(128 - len));
      }),
    );
  });
});

describe('networkOf / broadcastOf', () => {
  const v4 = (t: string) => parseAddress(t, 'a').bytes;

  it.each([
    ['10.1.2.3', 24, '10.1.2.0', '10.1.2.255'],
    ['10.1.2.3', 8, '10.0.0.0', '10.255.255.255'],
    ['192.168.1.77', 26, '192.168.1.64', '192.168.1.127'],
    ['192.168.1.77', 30, '192.168.1.76', '192.168.1.79'],
    ['10.1.2.3', 0, '0.0.0.0', '255.255.255.255'],
    ['172.16.5.9', 12, '172.16.0.0', '172.31.255.255'],
  ])('%s/%d', (addr, len, net, brd) => {
    expect(formatAddress(networkOf(v4(addr), len))).toBe(net);
    expect(formatAddress(broadcastOf(v4(addr), len)!)).toBe(brd);
  });

  it('has no broadcast for /31 and /32, as iproute2', () => {
    expect(broadcastOf(v4('10.0.0.1'), 31)).toBeNull();
    expect(broadcastOf(v4('10.0.0.1'), 32)).toBeNull();
    expect(formatAddress(networkOf(v4('10.0.0.1'), 31))).toBe('10.0.0.0');
    expect(formatAddress(networkOf(v4('10.0.0.1'), 32))).toBe('10.0.0.1');
  });

  it('does not modify its input', () => {
    const b = v4('10.1.2.3');
    networkOf(b, 8);
    broadcastOf(b, 8);
    expect(formatAddress(b)).toBe('10.1.2.3');
  });

  it('works for IPv6 networks', () => {
    expect(formatAddress(networkOf(parseAddress('2001:db8:1:2:3:4:5:6', 'a').bytes, 48))).toBe('2001:db8:1::');
    expect(formatAddress(networkOf(parseAddress('2001:db8::1', 'a').bytes, 0))).toBe('::');
    expect(formatAddress(networkOf(parseAddress('2001:db8::1', 'a').bytes, 127))).toBe('2001:db8::');
  });

  it('refuses IPv6 broadcast and bad prefix lengths', () => {
    expectError(() => broadcastOf(Buffer.alloc(16), 64), ArgumentError, 'ERR_INVALID_ADDRESS', 'bytes');
    expectError(() => networkOf(v4('10.0.0.1'), 33), ArgumentRangeError, 'ERR_INVALID_PREFIX', 'prefixLen');
    expectError(() => networkOf(v4('10.0.0.1'), -1), ArgumentRangeError, 'ERR_INVALID_PREFIX', 'prefixLen');
    expectError(() => networkOf(v4('10.0.0.1'), 1.5), ArgumentRangeError, 'ERR_INVALID_PREFIX', 'prefixLen');
    expectError(() => broadcastOf(v4('10.0.0.1'), 33), ArgumentRangeError, 'ERR_INVALID_PREFIX', 'prefixLen');
    expectError(() => networkOf(Buffer.alloc(16), 129), ArgumentRangeError, 'ERR_INVALID_PREFIX', 'prefixLen');
    expectError(() => networkOf(Buffer.alloc(5), 8), ArgumentError, 'ERR_INVALID_ADDRESS', 'bytes');
  });
});

describe('familyOf / sameAddress', () => {
  it('familyOf', () => {
    expect(familyOf('10.0.0.1')).toBe(4);
    expect(familyOf('::1')).toBe(6);
    expect(familyOf(Buffer.alloc(4))).toBe(4);
    expect(familyOf(new Uint8Array(16))).toBe(6);
    expectError(() => familyOf(Buffer.alloc(6)), ArgumentError, 'ERR_INVALID_ADDRESS', 'address');
    expectError(() => familyOf('nope', 'via'), ArgumentError, 'ERR_INVALID_ADDRESS', 'via');
  });

  it('sameAddress compares bytes, across text forms', () => {
    expect(sameAddress('2001:DB8::1', '2001:db8:0:0:0:0:0:1')).toBe(true);
    expect(sameAddress('10.0.0.1', parseAddress('10.0.0.1', 'a').bytes)).toBe(true);
    expect(sameAddress('10.0.0.1', '10.0.0.2')).toBe(false);
    // Distinct to the kernel: an IPv4 address and its IPv4-mapped IPv6 form.
    expect(sameAddress('1.2.3.4', '::ffff:1.2.3.4')).toBe(false);
    expectError(() => sameAddress('10.0.0.1', 'x'), ArgumentError, 'ERR_INVALID_ADDRESS', 'b');
  });
});

describe('parseMac / formatMac', () => {
  it('parses any case', () => {
    expect(hex(parseMac('aa:bb:cc:dd:ee:ff'))).toBe('aabbccddeeff');
    expect(hex(parseMac('AA:Bb:0C:dD:00:01'))).toBe('aabb0cdd0001');
  });

  it.each([
    '',
    'aa:bb:cc:dd:ee',
    'aa:bb:cc:dd:ee:ff:00',
    'a:b:c:d:e:f',
    'aa-bb-cc-dd-ee-ff',
    'aabb.ccdd.eeff',
    'aabbccddeeff',
    'aa:bb:cc:dd:ee:fg',
    'aa:bb:cc:dd:ee:ff ',
    'aa:bb:cc:dd:ee:ff\n',
    ':aa:bb:cc:dd:ee:f',
    'aa::cc:dd:ee:ff',
  ])('rejects %j', (text) => {
    expectError(() => parseMac(text), ArgumentError, 'ERR_INVALID_MAC', 'mac');
  });

  it('rejects non-strings and names the field', () => {
    expectError(() => parseMac(null as unknown as string, 'address'), ArgumentError, 'ERR_INVALID_MAC', 'address');
    expectError(() => parseMac(Buffer.alloc(6) as unknown as string), ArgumentError, 'ERR_INVALID_MAC', 'mac');
  });

  it('formats lowercase, any length', () => {
    expect(formatMac(Buffer.from('AABB0CDD0001', 'hex'))).toBe('aa:bb:0c:dd:00:01');
    expect(formatMac(new Uint8Array([0, 1, 2, 3]))).toBe('00:01:02:03');
    expect(formatMac(new Uint8Array(0))).toBe('');
  });

  it('round trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (b) => {
        expect(hex(parseMac(formatMac(b)))).toBe(hex(b));
      }),
    );
  });
});
