// IP and MAC address text <-> bytes. Strict on input so that nothing the user typed is
// silently reinterpreted: inet_aton-style shorthand ('10.1'), octal-looking octets ('010')
// and prefix lengths like '024' (strtoul base 0 would read octal 20) are refused.
import { ArgumentError, ArgumentRangeError } from './errors.js';
import { describeValue as describe, quoteText as quote } from './validate.js';

/** An address family: 4 for IPv4, 6 for IPv6. */
export type IpFamily = 4 | 6;

export interface ParsedAddress {
  family: IpFamily;
  bytes: Buffer;
}

export interface ParsedPrefix extends ParsedAddress {
  prefixLen: number;
}

export interface AddressOptions {
  /** Refuse the other family, e.g. an IPv6 gateway for an IPv4 route. */
  family?: IpFamily;
}

export interface PrefixOptions extends AddressOptions {
  /** Refuse a bare address instead of treating it as a host prefix (/32 or /128). */
  requirePrefix?: boolean;
}

/** Anything sameAddress/familyOf accept: address text or its 4/16 bytes. */
export type AddressLike = string | Uint8Array;

// 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255'; longer input is rejected before any regex.
const MAX_ADDRESS_TEXT = 45;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;
const DOT = 0x2e;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const MAC = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;

/** Parses an IPv4 dotted quad or any RFC 4291 IPv6 text form. Throws ERR_INVALID_ADDRESS. */
export function parseAddress(text: string, field: string, opts: AddressOptions = {}): ParsedAddress {
  if (typeof text !== 'string') {
    throw new ArgumentError('ERR_INVALID_ADDRESS', field, `must be an IP address string, received ${describe(text)}`);
  }
  const parsed = parseAddressText(text);
  if (parsed === undefined) {
    const why = text.includes('%') ? ' (zone ids are not supported)' : '';
    throw new ArgumentError('ERR_INVALID_ADDRESS', field, `invalid IP address ${quote(text)}${why}`);
  }
  checkFamily(parsed.family, opts.family, text, field);
  return parsed;
}

/**
 * Parses 'addr/len' (or a bare address, meaning a host prefix, unless requirePrefix).
 * The length must be plain decimal: syntax problems throw ArgumentError, lengths outside
 * 0..32 / 0..128 throw ArgumentRangeError, both with code ERR_INVALID_PREFIX.
 */
export function parsePrefix(text: string, field: string, opts: PrefixOptions = {}): ParsedPrefix {
  if (typeof text !== 'string') {
    throw new ArgumentError('ERR_INVALID_PREFIX', field, `must be an 'address/length' string, received ${describe(text)}`);
  }
  const slash = text.indexOf('/');
  if (slash === -1) {
    if (opts.requirePrefix) {
      throw new ArgumentError('ERR_INVALID_PREFIX', field, `${quote(text)} has no '/length'`);
    }
    const addr = parseAddress(text, field, opts);
    return { family: addr.family, bytes: addr.bytes, prefixLen: addr.bytes.length * 8 };
  }
  const addr = parseAddress(text.slice(0, slash), field, opts);
  return { family: addr.family, bytes: addr.bytes, prefixLen: parsePrefixLength(text.slice(slash + 1), addr.family, field) };
}

/** A prefix length given as a number (e.g. `{ prefixLen: 24 }`): an integer within the family's range. */
export function validatePrefixLength(value: unknown, family: IpFamily, field: string): number {
  if (typeof value !== 'number') {
    throw new ArgumentError('ERR_INVALID_PREFIX', field, `must be a number, received ${describe(value)}`);
  }
  const max = maxPrefixLength(family);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new ArgumentRangeError('ERR_INVALID_PREFIX', field, `must be an integer from 0 to ${max}, received ${String(value)}`);
  }
  return value;
}

/** 4 bytes → dotted quad; 16 bytes → RFC 5952 text, IPv4-mapped as '::ffff:a.b.c.d'. */
export function formatAddress(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw badLength(bytes, 'bytes');
  if (bytes.length === 4) return formatIPv4(bytes);
  if (bytes.length === 16) return formatIPv6(bytes);
  throw badLength(bytes, 'bytes');
}

/** The address with its host bits cleared, as a new Buffer. */
export function networkOf(bytes: Uint8Array, prefixLen: number): Buffer {
  const out = copyAddress(bytes, prefixLen);
  for (let i = 0; i < out.length; i++) out[i] &= maskByte(prefixLen, i);
  return out;
}

/**
 * What `ip addr add ... brd +` computes: the IPv4 address with every host bit set.
 * null for /31 and /32, where iproute2 (ipaddr_modify: only when bitlen <= 30) adds none.
 */
export function broadcastOf(bytes: Uint8Array, prefixLen: number): Buffer | null {
  if (bytes.length !== 4) {
    throw new ArgumentError('ERR_INVALID_ADDRESS', 'bytes', 'broadcast addresses exist only for IPv4');
  }
  const out = copyAddress(bytes, prefixLen);
  if (prefixLen >= 31) return null;
  for (let i = 0; i < out.length; i++) out[i] |= ~maskByte(prefixLen, i) & 0xff;
  return out;
}

/** 4 or 6, from address text or bytes. */
export function familyOf(address: AddressLike, field = 'address'): IpFamily {
  return toBytes(address, field).length === 4 ? 4 : 6;
}

/** Byte equality. IPv4 and its IPv4-mapped IPv6 form differ, as they do to the kernel. */
export function sameAddress(a: AddressLike, b: AddressLike): boolean {
  return Buffer.from(toBytes(a, 'a')).equals(toBytes(b, 'b'));
}

/** 'aa:bb:cc:dd:ee:ff' (any case, exactly two hex digits per byte) → 6 bytes. */
export function parseMac(text: string, field = 'mac'): Buffer {
  if (typeof text !== 'string' || !MAC.test(text)) {
    const shown = typeof text === 'string' ? quote(text) : describe(text);
    throw new ArgumentError('ERR_INVALID_MAC', field, `invalid MAC address ${shown}, expected 'aa:bb:cc:dd:ee:ff'`);
  }
  return Buffer.from(text.replaceAll(':', ''), 'hex');
}

/** Lowercase colon form. Any length, since link-layer addresses are not always 6 bytes. */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

function parseAddressText(text: string): ParsedAddress | undefined {
  if (text.length === 0 || text.length > MAX_ADDRESS_TEXT) return undefined;
  if (!text.includes(':')) {
    const v4 = parseIPv4(text);
    return v4 && { family: 4, bytes: v4 };
  }
  const v6 = parseIPv6(text);
  return v6 && { family: 6, bytes: v6 };
}

function parseIPv4(text: string): Buffer | undefined {
  // Scanned by hand (no split, no regex): every address a call is given comes through here.
  // Four parts, each '0' or 1-3 digits without a leading zero, at most 255.
  // From Node's pool (Buffer.alloc makes a new ArrayBuffer each time); every byte is set below.
  const out = Buffer.allocUnsafe(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : DOT;
    if (c === DOT) {
      if (digits === 0 || part > 3) return undefined;
      out[part++] = value;
      value = digits = 0;
    } else if (c >= DIGIT_0 && c <= DIGIT_9) {
      if (digits === 3 || (digits === 1 && value === 0)) return undefined;
      value = value * 10 + (c - DIGIT_0);
      if (value > 255) return undefined;
      digits++;
    } else {
      return undefined;
    }
  }
  return part === 4 ? out : undefined;
}

function parseIPv6(text: string): Buffer | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const compressed = halves.length === 2;
  const head = parseGroups(halves[0]!, !compressed);
  const tail = compressed ? parseGroups(halves[1]!, true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const given = head.length + tail.length;
  // '::' stands for at least one zero group, so a compressed address has at most 7 given.
  if (compressed ? given > 7 : given !== 8) return undefined;
  const words = [...head, ...new Array<number>(8 - given).fill(0), ...tail];
  const out = Buffer.allocUnsafe(16);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

/** Colon-separated hextets as 16-bit words; a dotted quad only as the very last group. */
function parseGroups(part: string, isLast: boolean): number[] | undefined {
  if (part === '') return [];
  const groups = part.split(':');
  const words: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i]!;
    if (isLast && i === groups.length - 1 && group.includes('.')) {
      const v4 = parseIPv4(group);
      if (v4 === undefined) return undefined;
      words.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
    } else if (HEXTET.test(group)) {
      words.push(parseInt(group, 16));
    } else {
      return undefined;
    }
  }
  return words;
}

function parsePrefixLength(text: string, family: IpFamily, field: string): number {
  // Plain decimal, optionally negative (then refused by range): '024' is refused rather than
  // read as decimal, since iproute2's strtoul(base 0) would take it as octal.
  const start = text.charCodeAt(0) === MINUS ? 1 : 0;
  let decimal = text.length > start && !(text.charCodeAt(start) === DIGIT_0 && (text.length > start + 1 || start === 1));
  for (let i = start; decimal && i < text.length; i++) {
    const c = text.charCodeAt(i);
    decimal = c >= DIGIT_0 && c <= DIGIT_9;
  }
  if (!decimal) {
    throw new ArgumentError('ERR_INVALID_PREFIX', field, `prefix length ${quote(text)} is not a decimal integer`);
  }
  const value = Number(text);
  const max = maxPrefixLength(family);
  if (value < 0 || value > max) {
    throw new ArgumentRangeError('ERR_INVALID_PREFIX', field, `prefix length must be from 0 to ${max} for IPv${family}, received ${text}`);
  }
  return value;
}

function formatIPv4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join('.');
}

function formatIPv6(bytes: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, i) => (bytes[i * 2]! << 8) | bytes[i * 2 + 1]!);
  if (isIPv4Mapped(words)) return `::ffff:${formatIPv4(bytes.subarray(12))}`;
  const run = longestZeroRun(words);
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  // RFC 5952 4.2.2: a single zero group is never shortened to '::'.
  if (run.length < 2) return hex(words);
  return `${hex(words.slice(0, run.start))}::${hex(words.slice(run.start + run.length))}`;
}

function isIPv4Mapped(words: number[]): boolean {
  return words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff;
}

/** The first of the longest runs of zero words (RFC 5952 4.2.3 breaks ties to the left). */
function longestZeroRun(words: number[]): { start: number; length: number } {
  let best = { start: 0, length: 0 };
  let start = -1;
  for (let i = 0; i <= words.length; i++) {
    if (i < words.length && words[i] === 0) {
      if (start === -1) start = i;
    } else if (start !== -1) {
      if (i - start > best.length) best = { start, length: i - start };
      start = -1;
    }
  }
  return best;
}

/** Mask bits of byte `index` for a prefix of `prefixLen` bits. */
function maskByte(prefixLen: number, index: number): number {
  const bits = Math.min(8, Math.max(0, prefixLen - index * 8));
  return (0xff00 >> bits) & 0xff;
}

function copyAddress(bytes: Uint8Array, prefixLen: number): Buffer {
  if (bytes.length !== 4 && bytes.length !== 16) throw badLength(bytes, 'bytes');
  validatePrefixLength(prefixLen, bytes.length === 4 ? 4 : 6, 'prefixLen');
  return Buffer.from(bytes);
}

function toBytes(address: AddressLike, field: string): Uint8Array {
  if (typeof address === 'string') return parseAddress(address, field).bytes;
  if (address instanceof Uint8Array && (address.length === 4 || address.length === 16)) return address;
  throw badLength(address, field);
}

function checkFamily(actual: IpFamily, wanted: IpFamily | undefined, text: string, field: string): void {
  if (wanted !== undefined && actual !== wanted) {
    throw new ArgumentError('ERR_INVALID_ADDRESS', field, `expected an IPv${wanted} address, received IPv${actual} ${quote(text)}`);
  }
}

function maxPrefixLength(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

function badLength(value: unknown, field: string): ArgumentError {
  const what = value instanceof Uint8Array ? `${value.length} bytes` : describe(value);
  return new ArgumentError('ERR_INVALID_ADDRESS', field, `an IP address is 4 or 16 bytes, received ${what}`);
}
