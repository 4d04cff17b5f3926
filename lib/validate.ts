// Argument checks that run before any syscall, so a bad name or number never reaches the
// kernel (or the filesystem, for namespace names). Type problems throw ArgumentError
// (a TypeError), values of the right type outside their range throw ArgumentRangeError
// (a RangeError); both carry an ERR_* code and the field name.
import { ArgumentError, ArgumentRangeError } from './errors.js';

/** IFNAMSIZ includes the terminating NUL, so a name has at most 15 bytes. */
export const MAX_IFNAME_BYTES = 15;
/** NAME_MAX: the longest file name, so the longest namespace name under /run/netns. */
const NAME_MAX = 255;
export const MAX_NETNS_NAME_BYTES = NAME_MAX;
export const MIN_MTU = 68;
export const MAX_MTU = 65535;
export const MAX_U32 = 0xffff_ffff;
/** Interface indexes are positive ints in the kernel. */
export const MAX_IFINDEX = 0x7fff_ffff;

// dev_valid_name() refuses '/', ':' and isspace(); '%' it accepts but register_netdevice()
// would expand it as a template ('veth%d' → 'veth0'), so the created name differs from ours.
const IFNAME_FORBIDDEN: ReadonlyMap<string, string> = new Map([
  ['\0', 'NUL'],
  ['/', "'/'"],
  [':', "':'"],
  ['%', "'%' (the kernel would treat the name as a template)"],
  [' ', 'a space'],
  ['\t', 'a tab'],
  ['\n', 'a newline'],
  ['\v', 'a vertical tab'],
  ['\f', 'a form feed'],
  ['\r', 'a carriage return'],
]);

// The kernel's ctype table classes byte 0xA0 (Latin-1 NBSP) as whitespace and applies
// isspace() per byte, so any UTF-8 character with an 0xA0 byte ('à' is C3 A0) is refused.
const KERNEL_SPACE_BYTE = 0xa0;

/** Checks an interface name as the kernel's dev_valid_name() would, and refuses templates. */
export function validateInterfaceName(name: unknown, field = 'name'): string {
  const fail = (why: string) => new ArgumentError('ERR_INVALID_IFNAME', field, why);
  if (typeof name !== 'string') throw fail(`must be a string, received ${describeValue(name)}`);
  const size = utf8Length(name, fail);
  if (size === 0) throw fail('must not be empty');
  if (size > MAX_IFNAME_BYTES) {
    throw fail(`${quoteText(name)} is ${size} bytes in UTF-8, at most ${MAX_IFNAME_BYTES} are allowed`);
  }
  if (name === '.' || name === '..') throw fail(`${quoteText(name)} is not allowed`);
  for (const ch of name) {
    const what = IFNAME_FORBIDDEN.get(ch);
    if (what !== undefined) throw fail(`${quoteText(name)} contains ${what}`);
    if (DECEPTIVE_CHARACTERS.test(ch)) throw fail(`${quoteText(name)} contains ${describeCharacter(ch)}`);
    // 0xa0 is only ever a continuation byte: ASCII cannot contain it.
    if (ch.charCodeAt(0) >= 0x80 && Buffer.from(ch).includes(KERNEL_SPACE_BYTE)) {
      throw fail(`${quoteText(name)} contains ${quoteText(ch)}, whose UTF-8 byte 0xa0 the kernel treats as whitespace`);
    }
  }
  return name;
}

/** Characters that would make a name print as something else: C0 and C1 controls, DEL, the
 *  line and paragraph separators, and the bidirectional controls (U+202E turns text around). */
export const DECEPTIVE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/**
 * Checks a namespace name as iproute2 does (1..255 bytes, no '/', not '.' or '..') and
 * further refuses control characters, line separators and bidirectional controls (they would
 * forge lines in listings and logs, or print reversed) and a leading '-' (the name would read
 * as an option to `ip netns exec`). The name is always one entry under the run directory,
 * never a path.
 */
export function validateNamespaceName(name: unknown, field = 'name'): string {
  const fail = (why: string) => new ArgumentError('ERR_INVALID_NETNS_NAME', field, why);
  if (typeof name !== 'string') throw fail(`must be a string, received ${describeValue(name)}`);
  const size = utf8Length(name, fail);
  if (size === 0) throw fail('must not be empty');
  if (size > MAX_NETNS_NAME_BYTES) throw fail(`is ${size} bytes in UTF-8, at most ${MAX_NETNS_NAME_BYTES} are allowed`);
  if (name === '.' || name === '..') throw fail(`${quoteText(name)} is not allowed`);
  if (name.includes('/')) throw fail(`${quoteText(name)} contains '/': a namespace name is not a path`);
  const odd = DECEPTIVE_CHARACTERS.exec(name);
  if (odd) throw fail(`${quoteText(name)} contains ${describeCharacter(odd[0])}`);
  if (name.startsWith('-')) throw fail(`${quoteText(name)} starts with '-'`);
  return name;
}

function describeCharacter(ch: string): string {
  const code = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  if (/[\u2028\u2029]/.test(ch)) return `a line separator (${code})`;
  if (/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(ch)) return `a bidirectional control (${code})`;
  return `a control character (${code})`;
}

/** An MTU within what any IPv4-capable link accepts; the kernel still checks per device. */
export function validateMtu(value: unknown, field = 'mtu'): number {
  return validateUint(value, field, MIN_MTU, MAX_MTU, 'ERR_INVALID_MTU');
}

/**
 * An integer number min..max. A number that is not an integer (1.5, NaN, Infinity) is a
 * range error, as in Node; a string such as '1500' is a type error, never converted.
 */
export function validateUint(value: unknown, field: string, min: number, max: number, code: string): number {
  if (typeof value !== 'number') {
    throw new ArgumentError(code, field, `must be an integer number, received ${describeValue(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ArgumentRangeError(code, field, `must be an integer from ${min} to ${max}, received ${String(value)}`);
  }
  return value;
}

/** Table ids, metrics, link groups, marks: 0..2^32-1. */
export function validateU32(value: unknown, field: string, code: string): number {
  return validateUint(value, field, 0, MAX_U32, code);
}

/** An interface index: 1..2^31-1. */
export function validateIfIndex(value: unknown, field = 'index'): number {
  return validateUint(value, field, 1, MAX_IFINDEX, 'ERR_INVALID_IFINDEX');
}

export interface SysctlKeyOptions {
  /** Allow keys outside net.* (e.g. kernel.*); off because this library only needs net. */
  allowNonNet?: boolean;
}

/**
 * A sysctl key → its path segments under /proc/sys. 'net.ipv4.ip_forward' splits on dots;
 * a key containing '/' splits only on '/', as sysctl(8) does, so dots stay literal there.
 * Interface names may contain dots ('veth.1'), which the dotted form cannot express: use
 * 'net/ipv4/conf/veth.1/forwarding' or an array of segments for those.
 */
export function validateSysctlKey(key: unknown, opts: SysctlKeyOptions = {}): string[] {
  const field = 'key';
  const segments = splitSysctlKey(key, field);
  for (const segment of segments) checkSysctlSegment(segment, key, field);
  if (!opts.allowNonNet && segments[0] !== 'net') {
    throw new ArgumentError('ERR_INVALID_SYSCTL_KEY', field, `${describeKey(key)} is not under net`);
  }
  return segments;
}

/** One of a fixed set of values. */
export function validateOneOf<const T extends readonly unknown[]>(value: unknown, field: string, allowed: T): T[number] {
  if (!allowed.includes(value)) {
    const list = allowed.map((v) => (typeof v === 'string' ? quoteText(v) : String(v))).join(', ');
    throw new ArgumentError('ERR_INVALID_ARG_VALUE', field, `must be one of ${list}, received ${describeValue(value)}`);
  }
  return value as T[number];
}

export function validateBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw typeError(field, 'boolean', value);
  return value;
}

export function validateString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw typeError(field, 'string', value);
  return value;
}

export function validateFunction(value: unknown, field: string): (...args: unknown[]) => unknown {
  if (typeof value !== 'function') throw typeError(field, 'function', value);
  return value as (...args: unknown[]) => unknown;
}

/** A plain options-style object: not null, not an array, not a function. */
export function validateObject(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError(field, 'object', value);
  return value as Record<string, unknown>;
}

/** undefined (no signal) or an AbortSignal; duck-typed like Node so other realms' signals pass. */
export function validateAbortSignal(value: unknown, field = 'signal'): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || !('aborted' in value)) {
    throw typeError(field, 'AbortSignal', value);
  }
  return value as AbortSignal;
}

/** How a received value reads in an error message, after Node's ERR_INVALID_ARG_TYPE. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `type string (${quoteText(value)})`;
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof ctor === 'string' && ctor !== '' ? `an instance of ${ctor}` : 'an object';
  }
  return `type ${typeof value} (${String(value)})`;
}

/** JSON-quoted and cut short, so hostile input cannot flood or forge log lines. */
export function quoteText(text: string): string {
  return escapeDeceptive(JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}...` : text));
}

const DECEPTIVE_GLOBAL = new RegExp(DECEPTIVE_CHARACTERS.source, 'g');

/** Text with every deceptive character (see DECEPTIVE_CHARACTERS) written as a \\uXXXX escape,
 *  so a listing or a log line shows what is really there. */
export function escapeDeceptive(text: string): string {
  return text.replace(DECEPTIVE_GLOBAL, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function typeError(field: string, type: string, value: unknown): ArgumentError {
  return new ArgumentError('ERR_INVALID_ARG_TYPE', field, `must be of type ${type}, received ${describeValue(value)}`);
}

const ASCII = /^[\x00-\x7f]*$/;

/** UTF-8 byte length; lone surrogates are refused because encoding would replace them. */
function utf8Length(text: string, fail: (why: string) => Error): number {
  // The common case without a Buffer: names are validated by the thousand in a bulk apply.
  if (ASCII.test(text)) return text.length;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.toString('utf8') !== text) throw fail(`${quoteText(text)} is not valid Unicode (unpaired surrogate)`);
  return bytes.length;
}

function splitSysctlKey(key: unknown, field: string): string[] {
  if (typeof key === 'string') return key.includes('/') ? key.split('/') : key.split('.');
  if (Array.isArray(key) && key.length > 0 && key.every((s) => typeof s === 'string')) return [...key];
  throw new ArgumentError(
    'ERR_INVALID_SYSCTL_KEY',
    field,
    `must be a string or a non-empty array of strings, received ${describeValue(key)}`,
  );
}

function checkSysctlSegment(segment: string, key: unknown, field: string): void {
  const fail = (why: string) => new ArgumentError('ERR_INVALID_SYSCTL_KEY', field, `${describeKey(key)} ${why}`);
  if (segment === '') throw fail('has an empty segment');
  if (segment === '.' || segment === '..') throw fail(`has a ${quoteText(segment)} segment`);
  if (segment.includes('/')) throw fail(`has a segment containing '/'`);
  if (segment.includes('\0')) throw fail('contains NUL');
  if (utf8Length(segment, fail) > NAME_MAX) throw fail(`has a segment longer than ${NAME_MAX} bytes`);
}

function describeKey(key: unknown): string {
  if (typeof key === 'string') return quoteText(key);
  const json = JSON.stringify(key);
  return json.length > 80 ? `${json.slice(0, 80)}...` : json;
}
