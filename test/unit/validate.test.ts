import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArgumentError, ArgumentRangeError } from '../../lib/errors.js';
import {
  describeValue,
  validateAbortSignal,
  validateBoolean,
  validateFunction,
  validateIfIndex,
  validateInterfaceName,
  validateMtu,
  validateNamespaceName,
  validateObject,
  validateOneOf,
  validateString,
  validateSysctlKey,
  validateU32,
  validateUint,
} from '../../lib/validate.js';
import { expectError } from '../helpers/expect-error.js';


describe('validateInterfaceName', () => {
  it.each([
    'eth0',
    'veth-a_b.1',
    'a',
    'x'.repeat(15),
    'é'.repeat(7), // 14 bytes
    'ab€€€€', // 2 + 4*3 = 14 bytes
    'br@0',
    'lo',
    '...',
    '.a',
    '😀😀😀', // 12 bytes
  ])('accepts %j', (name) => {
    expect(validateInterfaceName(name)).toBe(name);
  });

  // RELIABILITY 5.
  it.each([
    ['16 bytes', 'x'.repeat(16)],
    ['15 characters, 30 bytes', 'é'.repeat(15)],
    ['8 characters, 16 bytes', 'é'.repeat(8)],
    ['15 characters of 3 bytes', '€'.repeat(15)],
    ['4 emoji, 16 bytes', '😀😀😀😀'],
    ['a space', 'a b'],
    ['a slash', 'a/b'],
    ['a colon (alias syntax)', 'a:b'],
    ['a kernel template', 'veth%d'],
    ['a bare percent', '%'],
    ['empty', ''],
    ['dot', '.'],
    ['dot dot', '..'],
    ['embedded NUL', 'a\0b'],
    ['trailing NUL', 'eth0\0'],
    ['tab', 'a\tb'],
    ['newline', 'a\nb'],
    ['vertical tab', 'a\vb'],
    ['form feed', 'a\fb'],
    ['carriage return', 'a\rb'],
    ['leading space', ' eth0'],
    ['NBSP (kernel isspace on byte 0xa0)', 'a\u00a0b'],
    ['à, encoded C3 A0', 'vethà'],
    ['lone surrogate', 'a\ud800b'],
    // The kernel takes these, but a name that prints as something else is refused.
    ['a C0 control', 'a\x01b'],
    ['a C1 control (CSI)', 'a\u009bb'],
    ['DEL', 'a\x7fb'],
    ['a line separator', 'a\u2028b'],
    ['a right-to-left override', 'a\u202eb'],
  ])('rejects %s', (_what, name) => {
    expectError(() => validateInterfaceName(name), ArgumentError, 'ERR_INVALID_IFNAME', 'name');
  });

  it.each([undefined, null, 0, 42, {}, ['eth0'], Buffer.from('eth0'), Symbol('eth0')])('rejects non-string %s', (v) => {
    expectError(() => validateInterfaceName(v), ArgumentError, 'ERR_INVALID_IFNAME', 'name');
  });

  it('names the given field', () => {
    expectError(() => validateInterfaceName('a/b', 'peer.name'), ArgumentError, 'ERR_INVALID_IFNAME', 'peer.name');
  });

  it('counts bytes, not characters, in its message', () => {
    const e = expectError(() => validateInterfaceName('é'.repeat(8)), ArgumentError, 'ERR_INVALID_IFNAME', 'name');
    expect(e.message).toMatch(/16 bytes/);
  });

  it('explains the template refusal', () => {
    expect(() => validateInterfaceName('veth%d')).toThrow(/template/);
  });

  it('agrees with a direct transcription of dev_valid_name() plus the % rule and the deceptive characters', () => {
    const kernelSpace = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0xa0]);
    const deceptive = (cp: number) => cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || [0x61c, 0x200e, 0x200f, 0x2028, 0x2029].includes(cp) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
    const devValidName = (name: string) => {
      const b = Buffer.from(name);
      if (b.toString() !== name) return false;
      if (b.length === 0 || b.length >= 16 || name === '.' || name === '..') return false;
      if ([...name].some((ch) => deceptive(ch.codePointAt(0)!))) return false;
      return !b.some((c) => c === 0 || c === 0x2f || c === 0x3a || c === 0x25 || kernelSpace.has(c));
    };
    const unit = fc.constantFrom(...'ab.é/:% \t\n\0\u00a0à😀-_\u0001\u009b\u2028\u202e'.split(/(?:)/u));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit, maxLength: 18 }), fc.string({ maxLength: 18 }), fc.string({ unit: 'binary', maxLength: 16 })), (name) => {
        let ok = true;
        try {
          validateInterfaceName(name);
        } catch (e) {
          expect(e).toBeInstanceOf(ArgumentError);
          ok = false;
        }
        expect(ok).toBe(devValidName(name));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('validateNamespaceName', () => {
  it.each(['blue', 'ns-1', 'a.b', '...', '.hidden', 'a b', 'x'.repeat(255), 'é'.repeat(127), 'café', 'a%b', 'a:b'])(
    'accepts %j',
    (name) => {
      expect(validateNamespaceName(name)).toBe(name);
    },
  );

  // RELIABILITY 1 (plus the extra refusals this library documents).
  it.each([
    ['parent traversal', '../x'],
    ['absolute path', '/etc/x'],
    ['nested path', 'a/b'],
    ['trailing slash', 'a/'],
    ['dot', '.'],
    ['dot dot', '..'],
    ['empty', ''],
    ['256 bytes', 'x'.repeat(256)],
    ['256 bytes of 2-byte characters', 'é'.repeat(128)],
    ['embedded NUL', 'a\0b'],
    ['trailing NUL', 'blue\0'],
    ['newline', 'a\nb'],
    ['escape', 'a\x1b[31m'],
    ['DEL', 'a\x7f'],
    ['leading dash', '-n'],
    ['lone surrogate', '\udc00'],
    ['a C1 control (CSI, U+009B)', 'a\u009b31m'],
    ['a line separator (U+2028)', 'a\u2028b'],
    ['a paragraph separator (U+2029)', 'a\u2029b'],
    ['a right-to-left override (U+202E)', 'abc\u202etxt.exe'],
    ['a right-to-left isolate (U+2067)', 'a\u2067b'],
    ['an Arabic letter mark (U+061C)', 'a\u061cb'],
  ])('rejects %s', (_what, name) => {
    expectError(() => validateNamespaceName(name), ArgumentError, 'ERR_INVALID_NETNS_NAME', 'name');
  });

  it('quotes refused names with their deceptive characters escaped', () => {
    const e = expectError(() => validateNamespaceName('abc\u202etxt'), ArgumentError, 'ERR_INVALID_NETNS_NAME', 'name');
    expect(e.message).toContain('"abc\\u202etxt"');
    expect(e.message).toMatch(/bidirectional control \(U\+202E\)/);
    expect(e.message).not.toMatch(/\u202e/);
  });

  it.each([undefined, null, 1, {}, ['blue']])('rejects non-string %j', (v) => {
    expectError(() => validateNamespaceName(v, 'netns'), ArgumentError, 'ERR_INVALID_NETNS_NAME', 'netns');
  });

  it('never accepts anything that resolves outside its directory', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('.', '/', 'a', '\0'), maxLength: 8 }), (name) => {
        let ok = true;
        try {
          validateNamespaceName(name);
        } catch {
          ok = false;
        }
        if (ok) {
          expect(name).not.toMatch(/[/\0]/);
          expect(['', '.', '..']).not.toContain(name);
        }
      }),
    );
  });
});

describe('validateMtu', () => {
  it.each([68, 576, 1280, 1500, 9000, 65535])('accepts %d', (v) => {
    expect(validateMtu(v)).toBe(v);
  });

  // RELIABILITY 7: nothing wraps modulo 2^16 or 2^32.
  it.each([0, 67, 65536, 2 ** 32 + 1500, 2 ** 16 + 1500, -1, -1500, 1.5, 1500.5, Number.NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER + 2])(
    'rejects %d with ArgumentRangeError',
    (v) => {
      expectError(() => validateMtu(v), ArgumentRangeError, 'ERR_INVALID_MTU', 'mtu');
    },
  );

  it.each(['1500', null, undefined, true, {}, [1500], 1500n])('rejects %s (not a number) with ArgumentError', (v) => {
    expectError(() => validateMtu(v), ArgumentError, 'ERR_INVALID_MTU', 'mtu');
  });

  it('names the given field', () => {
    expectError(() => validateMtu(0, 'peer.mtu'), ArgumentRangeError, 'ERR_INVALID_MTU', 'peer.mtu');
  });
});

describe('validateUint and friends', () => {
  it('checks bounds inclusively', () => {
    expect(validateUint(5, 'n', 5, 10, 'ERR_X')).toBe(5);
    expect(validateUint(10, 'n', 5, 10, 'ERR_X')).toBe(10);
    expectError(() => validateUint(4, 'n', 5, 10, 'ERR_X'), ArgumentRangeError, 'ERR_X', 'n');
    expectError(() => validateUint(11, 'n', 5, 10, 'ERR_X'), ArgumentRangeError, 'ERR_X', 'n');
    expectError(() => validateUint('5', 'n', 5, 10, 'ERR_X'), ArgumentError, 'ERR_X', 'n');
  });

  it('validateU32 covers 0..2^32-1 without wrap-around', () => {
    expect(validateU32(0, 'table', 'ERR_INVALID_TABLE')).toBe(0);
    expect(validateU32(2 ** 32 - 1, 'table', 'ERR_INVALID_TABLE')).toBe(2 ** 32 - 1);
    expectError(() => validateU32(2 ** 32, 'table', 'ERR_INVALID_TABLE'), ArgumentRangeError, 'ERR_INVALID_TABLE', 'table');
    expectError(() => validateU32(-1, 'table', 'ERR_INVALID_TABLE'), ArgumentRangeError, 'ERR_INVALID_TABLE', 'table');
    expectError(() => validateU32(0.5, 'metric', 'ERR_INVALID_METRIC'), ArgumentRangeError, 'ERR_INVALID_METRIC', 'metric');
  });

  it('validateIfIndex covers 1..2^31-1', () => {
    expect(validateIfIndex(1)).toBe(1);
    expect(validateIfIndex(2 ** 31 - 1)).toBe(2 ** 31 - 1);
    expectError(() => validateIfIndex(0), ArgumentRangeError, 'ERR_INVALID_IFINDEX', 'index');
    expectError(() => validateIfIndex(2 ** 31), ArgumentRangeError, 'ERR_INVALID_IFINDEX', 'index');
    expectError(() => validateIfIndex('1', 'link'), ArgumentError, 'ERR_INVALID_IFINDEX', 'link');
  });

  it('accepts exactly the integers in range', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.double(), fc.constantFrom(2 ** 32, 2 ** 53)), (v) => {
        let ok = true;
        try {
          validateU32(v, 'n', 'ERR_X');
        } catch (e) {
          expect(e).toBeInstanceOf(ArgumentRangeError);
          ok = false;
        }
        expect(ok).toBe(Number.isInteger(v) && v >= 0 && v <= 2 ** 32 - 1);
      }),
    );
  });
});

describe('validateSysctlKey', () => {
  it.each([
    ['net.ipv4.ip_forward', ['net', 'ipv4', 'ip_forward']],
    ['net/ipv4/ip_forward', ['net', 'ipv4', 'ip_forward']],
    ['net/ipv4/conf/veth.1/forwarding', ['net', 'ipv4', 'conf', 'veth.1', 'forwarding']],
    ['net.ipv6.conf.all.disable_ipv6', ['net', 'ipv6', 'conf', 'all', 'disable_ipv6']],
  ])('%s', (key, segments) => {
    expect(validateSysctlKey(key)).toEqual(segments);
  });

  it('splits dotted keys on every dot: the documented ambiguity', () => {
    expect(validateSysctlKey('net.ipv4.conf.veth.1.forwarding')).toEqual(['net', 'ipv4', 'conf', 'veth', '1', 'forwarding']);
  });

  it('accepts an array of segments, keeping dots inside them', () => {
    const key = ['net', 'ipv4', 'conf', 'veth.1', 'forwarding'];
    const out = validateSysctlKey(key);
    expect(out).toEqual(key);
    expect(out).not.toBe(key);
  });

  it.each([
    ['empty', ''],
    ['empty segment', 'net..ipv4'],
    ['leading dot', '.net.ipv4'],
    ['trailing dot', 'net.ipv4.'],
    ['absolute path', '/proc/sys/net/ipv4/ip_forward'],
    ['traversal', 'net/../kernel/core_pattern'],
    ['dot segment', 'net/./ipv4'],
    ['NUL', 'net.ipv4.ip_forward\0'],
    ['not under net', 'kernel.core_pattern'],
    ['netfilter lookalike', 'netfilter.x'],
    ['array with traversal', ['net', '..', 'kernel']],
    ['array with slash', ['net', 'ipv4/conf']],
    ['array with NUL', ['net', 'a\0b']],
    ['array with empty', ['net', '']],
    ['array not under net', ['vm', 'swappiness']],
    ['empty array', []],
    ['array of non-strings', ['net', 1]],
    ['number', 4],
    ['null', null],
    ['long segment', `net.${'x'.repeat(256)}`],
  ])('rejects %s', (_what, key) => {
    expectError(() => validateSysctlKey(key), ArgumentError, 'ERR_INVALID_SYSCTL_KEY', 'key');
  });

  it('allows other trees only when asked', () => {
    expect(validateSysctlKey('kernel.core_pattern', { allowNonNet: true })).toEqual(['kernel', 'core_pattern']);
    expectError(() => validateSysctlKey('kernel/../net', { allowNonNet: true }), ArgumentError, 'ERR_INVALID_SYSCTL_KEY', 'key');
  });
});

describe('small helpers', () => {
  it('validateOneOf', () => {
    expect(validateOneOf('inet', 'family', ['inet', 'inet6'] as const)).toBe('inet');
    expect(validateOneOf(4, 'family', [4, 6])).toBe(4);
    const e = expectError(() => validateOneOf('ipx', 'family', ['inet', 'inet6']), ArgumentError, 'ERR_INVALID_ARG_VALUE', 'family');
    expect(e.message).toContain('"inet6"');
    expectError(() => validateOneOf('4', 'family', [4, 6]), ArgumentError, 'ERR_INVALID_ARG_VALUE', 'family');
  });

  it('validateBoolean', () => {
    expect(validateBoolean(false, 'up')).toBe(false);
    expectError(() => validateBoolean('true', 'up'), ArgumentError, 'ERR_INVALID_ARG_TYPE', 'up');
    expectError(() => validateBoolean(1, 'up'), ArgumentError, 'ERR_INVALID_ARG_TYPE', 'up');
  });

  it('validateString', () => {
    expect(validateString('', 's')).toBe('');
    expectError(() => validateString(1, 's'), ArgumentError, 'ERR_INVALID_ARG_TYPE', 's');
  });

  it('validateFunction', () => {
    const f = () => 1;
    expect(validateFunction(f, 'cb')).toBe(f);
    expectError(() => validateFunction({}, 'cb'), ArgumentError, 'ERR_INVALID_ARG_TYPE', 'cb');
  });

  it('validateObject', () => {
    const o = { a: 1 };
    expect(validateObject(o, 'options')).toBe(o);
    expect(validateObject(Object.create(null), 'options')).toEqual({});
    for (const bad of [null, undefined, [], 'x', 1, () => {}]) {
      expectError(() => validateObject(bad, 'options'), ArgumentError, 'ERR_INVALID_ARG_TYPE', 'options');
    }
  });

  it('validateAbortSignal', () => {
    const { signal } = new AbortController();
    expect(validateAbortSignal(signal)).toBe(signal);
    expect(validateAbortSignal(AbortSignal.abort())).toBeInstanceOf(AbortSignal);
    expect(validateAbortSignal(undefined)).toBeUndefined();
    for (const bad of [null, {}, 'signal', true]) {
      expectError(() => validateAbortSignal(bad), ArgumentError, 'ERR_INVALID_ARG_TYPE', 'signal');
    }
  });

  it('describeValue reads like Node', () => {
    expect(describeValue('x')).toBe('type string ("x")');
    expect(describeValue(1.5)).toBe('type number (1.5)');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue([])).toBe('an instance of Array');
    expect(describeValue(Object.create(null))).toBe('an object');
    expect(describeValue(function named() {})).toBe('function named');
    expect(describeValue(Symbol('s'))).toBe('type symbol (Symbol(s))');
  });
});
