// Netlink attributes (struct nlattr): 2-byte length, 2-byte type, payload padded to 4 bytes.
// AttrWriter appends into a growable buffer; AttrReader walks a payload without copying.

export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;
/** The largest payload an attribute can carry: nla_len is 16 bits and includes the header. */
export const NLA_MAX_PAYLOAD = 0xffff - NLA_HDRLEN;

export const align4 = (n: number): number => (n + 3) & ~3;

/**
 * A request that cannot be put into a netlink message (an attribute or nest over 64 KiB).
 * Thrown before anything is sent.
 *
 * @example
 * ```ts
 * await addRoute({ to: 'default', via: '192.168.0.60', netns: 'pb' }).catch((err) => {
 *   if (err instanceof EncodeError) console.error('cannot be encoded:', err.message);
 *   throw err;
 * });
 * ```
 */
export class EncodeError extends RangeError {
  /** Always 'ERR_NETLINK_ENCODE'. */
  readonly code = 'ERR_NETLINK_ENCODE';
}

/**
 * A message from the kernel that does not parse (a length that does not fit, a truncated
 * header): a kernel or library bug rather than a usage error.
 *
 * @example
 * ```ts
 * const links = await listLinks({ netns: 'pb' }).catch((err) => {
 *   if (err instanceof DecodeError) console.error('unreadable kernel reply:', err.message);
 *   throw err;
 * });
 * ```
 */
export class DecodeError extends Error {
  /** Always 'ERR_NETLINK_DECODE'. */
  readonly code = 'ERR_NETLINK_DECODE';
}

/** Little-endian stores of a value the caller checked (or wants taken modulo 2^16 / 2^32). */
export function storeU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
}
export function storeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}
/** Little-endian loads without Buffer's bounds checks (the caller stays within `b`). */
export function loadU16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}
export function loadU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

/** What ByteWriter.u32 accepts: an integer from -2^31 to 2^32-1 (stored modulo 2^32). */
export const fitsU32 = (v: number): boolean => v >= -0x80000000 && v <= 0xffffffff && Math.floor(v) === v;

function outOfRange(what: string, v: number): RangeError {
  return new EncodeError(`${String(v)} does not fit a ${what}`);
}

/** A byte sink with little-endian host integers (netlink's host order on x86/arm64). */
export class ByteWriter {
  buf: Buffer;
  length = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  reserve(n: number): number {
    const need = this.length + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = Buffer.allocUnsafe(size);
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    const at = this.length;
    this.length = need;
    return at;
  }

  // reserve() first, then this.buf: reserve may replace the buffer when it grows, and
  // `this.buf.write(v, this.reserve(n))` would write into the old one. Bytes are stored one by
  // one: Buffer's write*LE check their arguments through wrapped validators that cost more
  // than the store, and the range check below is all they add here.
  u8(v: number): this {
    if ((v & 0xff) !== v) throw outOfRange('u8', v);
    const at = this.reserve(1);
    this.buf[at] = v;
    return this;
  }
  u16(v: number): this {
    if ((v & 0xffff) !== v) throw outOfRange('u16', v);
    const at = this.reserve(2);
    storeU16(this.buf, at, v);
    return this;
  }
  /** Any integer from -2^31 to 2^32-1, stored modulo 2^32. */
  u32(v: number): this {
    if (!fitsU32(v)) throw outOfRange('u32', v);
    const at = this.reserve(4);
    storeU32(this.buf, at, v);
    return this;
  }
  i32(v: number): this {
    if ((v | 0) !== v) throw outOfRange('i32', v);
    const at = this.reserve(4);
    storeU32(this.buf, at, v);
    return this;
  }
  bytes(b: Uint8Array): this { const at = this.reserve(b.length); this.buf.set(b, at); return this; }
  zeros(n: number): this {
    const at = this.reserve(n);
    // Mostly 0 to 3 bytes of padding: Buffer.fill checks its arguments at a cost of its own.
    if (n > 16) this.buf.fill(0, at, this.length);
    else for (let i = at; i < this.length; i++) this.buf[i] = 0;
    return this;
  }
  pad(): this { return this.zeros(align4(this.length) - this.length); }

  /** A copy of what was written (the writer may be reused). */
  take(): Buffer {
    // Buffer.from(view) goes through its generic array-like path; a request is usually a few
    // dozen bytes, which a plain loop copies faster than a call into the runtime.
    const n = this.length;
    const out = Buffer.allocUnsafe(n);
    if (n > 256) this.buf.copy(out, 0, 0, n);
    else for (let i = 0; i < n; i++) out[i] = this.buf[i]!;
    return out;
  }
}

/** Writes attributes, with nesting. All integers host order unless a *BE method is used. */
export class AttrWriter {
  constructor(readonly w: ByteWriter = new ByteWriter()) {}

  private header(type: number, payloadLength: number): void {
    if (payloadLength > NLA_MAX_PAYLOAD) {
      throw new EncodeError(`attribute ${type & NLA_TYPE_MASK} payload of ${payloadLength} bytes exceeds ${NLA_MAX_PAYLOAD}`);
    }
    this.w.u16(NLA_HDRLEN + payloadLength).u16(type);
  }

  bytes(type: number, value: Uint8Array): this {
    this.header(type, value.length);
    this.w.bytes(value).pad();
    return this;
  }

  /** A NUL-terminated string (NLA_NUL_STRING / NLA_STRING as the kernel expects). */
  string(type: number, value: string): this {
    const b = Buffer.from(value + '\0', 'utf8');
    return this.bytes(type, b);
  }

  flag(type: number): this {
    this.header(type, 0);
    return this;
  }

  u8(type: number, v: number): this { this.header(type, 1); this.w.u8(v).pad(); return this; }
  u16(type: number, v: number): this { this.header(type, 2); this.w.u16(v).pad(); return this; }
  u32(type: number, v: number): this { this.header(type, 4); this.w.u32(v); return this; }
  i32(type: number, v: number): this { this.header(type, 4); this.w.i32(v); return this; }
  u64(type: number, v: bigint): this {
    this.header(type, 8);
    const at = this.w.reserve(8);
    this.w.buf.writeBigUInt64LE(v, at);
    return this;
  }
  u16be(type: number, v: number): this {
    this.header(type, 2);
    const at = this.w.reserve(2);
    this.w.buf.writeUInt16BE(v, at);
    this.w.pad();
    return this;
  }
  u32be(type: number, v: number): this {
    this.header(type, 4);
    const at = this.w.reserve(4);
    this.w.buf.writeUInt32BE(v >>> 0, at);
    return this;
  }
  u64be(type: number, v: bigint): this {
    this.header(type, 8);
    const at = this.w.reserve(8);
    this.w.buf.writeBigUInt64BE(v, at);
    return this;
  }

  /** A nested attribute; `body` writes its children. NLA_F_NESTED is set unless `plain`. */
  nest(type: number, body: (a: AttrWriter) => void, plain = false): this {
    const at = this.w.reserve(NLA_HDRLEN);
    body(this);
    const len = this.w.length - at;
    if (len > 0xffff) throw new EncodeError(`nested attribute ${type & NLA_TYPE_MASK} of ${len} bytes exceeds 65535`);
    this.w.buf.writeUInt16LE(len, at);
    this.w.buf.writeUInt16LE(plain ? type : type | NLA_F_NESTED, at + 2);
    return this;
  }
}

export interface Attr {
  /** Type without the NESTED / NET_BYTEORDER flag bits. */
  type: number;
  nested: boolean;
  data: Buffer;
}

/** Reads the attributes in a payload. Throws DecodeError on lengths that do not fit. */
export class AttrReader implements Iterable<Attr> {
  constructor(readonly data: Buffer) {}

  *[Symbol.iterator](): Iterator<Attr> {
    const b = this.data;
    let off = 0;
    while (off + NLA_HDRLEN <= b.length) {
      const len = b.readUInt16LE(off);
      const rawType = b.readUInt16LE(off + 2);
      if (len < NLA_HDRLEN || off + len > b.length) {
        throw new DecodeError(`attribute at offset ${off} has length ${len}, ${b.length - off} bytes left`);
      }
      yield {
        type: rawType & NLA_TYPE_MASK,
        nested: (rawType & NLA_F_NESTED) !== 0,
        data: b.subarray(off + NLA_HDRLEN, off + len),
      };
      off += align4(len);
    }
  }

  /** Attributes by type (the last one wins when a type repeats). */
  toMap(): Map<number, Buffer> {
    const m = new Map<number, Buffer>();
    for (const a of this) m.set(a.type, a.data);
    return m;
  }
}

/** Where the payload of the first attribute of `type` in b[from, to) starts, or -1, without
 *  decoding the others: for hot paths that need one value out of a large message. Same
 *  length checks as AttrReader. */
export function findAttrOffset(b: Buffer, type: number, from = 0, to = b.length): number {
  let off = from;
  while (off + NLA_HDRLEN <= to) {
    const len = b.readUInt16LE(off);
    if (len < NLA_HDRLEN || off + len > to) {
      throw new DecodeError(`attribute at offset ${off - from} has length ${len}, ${to - off} bytes left`);
    }
    if ((b.readUInt16LE(off + 2) & NLA_TYPE_MASK) === type) return off + NLA_HDRLEN;
    off += align4(len);
  }
  return -1;
}

/** The payload of the first attribute of `type` in `b` (see findAttrOffset). */
export function findAttr(b: Buffer, type: number): Buffer | undefined {
  const at = findAttrOffset(b, type);
  return at < 0 ? undefined : b.subarray(at, at + b.readUInt16LE(at - NLA_HDRLEN) - NLA_HDRLEN);
}

// Payload readers with the kernel's length rules: too short is a DecodeError, never a crash.
function need(b: Buffer, n: number, what: string): void {
  if (b.length < n) throw new DecodeError(`${what}: attribute payload of ${b.length} bytes, need ${n}`);
}
export const readU8 = (b: Buffer): number => (need(b, 1, 'u8'), b.readUInt8(0));
export const readU16 = (b: Buffer): number => (need(b, 2, 'u16'), b.readUInt16LE(0));
export const readU32 = (b: Buffer): number => (need(b, 4, 'u32'), b.readUInt32LE(0));
export const readI32 = (b: Buffer): number => (need(b, 4, 'i32'), b.readInt32LE(0));
export const readU64 = (b: Buffer): bigint => (need(b, 8, 'u64'), b.readBigUInt64LE(0));
export const readU16BE = (b: Buffer): number => (need(b, 2, 'u16be'), b.readUInt16BE(0));
export const readU32BE = (b: Buffer): number => (need(b, 4, 'u32be'), b.readUInt32BE(0));
/** A string attribute; the kernel NUL-terminates, but an unterminated one is read to its end. */
export function readString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul === -1 ? b.length : nul);
}

// Re-encoding what was decoded. A decoded message keeps the attributes it was built from
// (`layout`, in wire order); encoders pass it here so modelled fields are written where they
// were and unmodelled ones (`unknown`) are copied back, which makes decode -> encode
// reproduce the kernel's bytes. Modelled values are always re-encoded from the fields, never
// copied, so a changed field is sent as changed.

/** Writes one modelled field. `like` is the attribute it was decoded from, if any. */
export type FieldWriter = (a: AttrWriter, like: Attr | undefined) => void;

/** A kernel struct of u32 fields, in order, carried as one attribute (struct ifa_cacheinfo,
 *  nda_cacheinfo ...): its reader and writer. */
export function u32Struct<K extends string>(what: string, names: readonly K[]) {
  const length = names.length * 4;
  return {
    read(b: Buffer): Record<K, number> {
      if (b.length < length) throw new DecodeError(`${what} of ${b.length} bytes, need ${length}`);
      const out = {} as Record<K, number>;
      names.forEach((name, i) => (out[name] = b.readUInt32LE(i * 4)));
      return out;
    },
    write(type: number, value: Record<K, number>): FieldWriter {
      return (a) => {
        const b = Buffer.alloc(length);
        names.forEach((name, i) => b.writeUInt32LE(value[name] >>> 0, i * 4));
        a.bytes(type, b);
      };
    },
  };
}

/** Copies an attribute as received (its nested flag included). */
export function writeRawAttr(a: AttrWriter, attr: Attr): void {
  a.bytes(attr.nested ? attr.type | NLA_F_NESTED : attr.type, attr.data);
}

/**
 * Writes `fields` (type -> writer, for the fields that are set) and `unknown` attributes.
 * With a `layout`, attributes come out in its order; fields and unknown attributes it does
 * not mention follow, fields first. Without one, fields are written in the order given.
 */
export function writeAttrs(
  a: AttrWriter,
  fields: Iterable<readonly [number, FieldWriter]>,
  unknown: readonly Attr[] = [],
  layout?: readonly Attr[],
): void {
  // A new request (nothing decoded to follow): the writers in order, without the Map and Set.
  if (layout === undefined && unknown.length === 0 && Array.isArray(fields) && distinctTypes(fields)) {
    for (let i = 0; i < fields.length; i++) (fields[i] as readonly [number, FieldWriter])[1](a, undefined);
    return;
  }
  const pending = new Map(fields);
  const rest = new Set(unknown);
  for (const like of layout ?? []) {
    const write = pending.get(like.type);
    if (write) {
      pending.delete(like.type);
      write(a, like);
    } else if (rest.delete(like)) {
      writeRawAttr(a, like);
    }
  }
  for (const write of pending.values()) write(a, undefined);
  for (const attr of rest) writeRawAttr(a, attr);
}

/** Whether no two writers share a type (the Map above keeps the last one's writer). */
function distinctTypes(fields: readonly (readonly [number, FieldWriter])[]): boolean {
  for (let i = 1; i < fields.length; i++) {
    for (let j = 0; j < i; j++) if (fields[i]![0] === fields[j]![0]) return false;
  }
  return true;
}

/**
 * A string attribute, NUL-terminated or not. The kernel accepts both (NLA_STRING), sends
 * the terminated form, and iproute2 sends some (IFLA_INFO_KIND) without it; a re-encode
 * follows the attribute it was decoded from.
 */
export function writeString(a: AttrWriter, type: number, value: string, like: Attr | undefined, terminated = true): void {
  const nul = like ? like.data.length > 0 && like.data[like.data.length - 1] === 0 : terminated;
  a.bytes(type, Buffer.from(nul ? value + '\0' : value, 'utf8'));
}

/** A nested attribute without NLA_F_NESTED unless the one it was decoded from had it. */
export function writeNest(a: AttrWriter, type: number, like: Attr | undefined, body: (a: AttrWriter) => void): void {
  a.nest(type, body, !like?.nested);
}

/** Walks a payload's attributes; `take` returns false for the ones it does not model. */
export function readAttrs(buf: Buffer, take: (attr: Attr) => boolean): { unknown: Attr[]; layout: Attr[] } {
  const unknown: Attr[] = [];
  const layout: Attr[] = [];
  for (const attr of new AttrReader(buf)) {
    layout.push(attr);
    if (!take(attr)) unknown.push(attr);
  }
  return { unknown, layout };
}

// Declarative fields: a codec lists its scalar attributes as [field, attribute type, scalar]
// and gets encoding and decoding from the two functions below.

/** How one value sits in an attribute payload. */
export interface Scalar<T> {
  read(b: Buffer): T;
  write(a: AttrWriter, type: number, value: T, like: Attr | undefined): void;
}

export const scalar = {
  u8: { read: readU8, write: (a, t, v) => a.u8(t, v) } as Scalar<number>,
  u16: { read: readU16, write: (a, t, v) => a.u16(t, v) } as Scalar<number>,
  u32: { read: readU32, write: (a, t, v) => a.u32(t, v) } as Scalar<number>,
  i32: { read: readI32, write: (a, t, v) => a.i32(t, v) } as Scalar<number>,
  u16be: { read: readU16BE, write: (a, t, v) => a.u16be(t, v) } as Scalar<number>,
  /** A u8 that is 0 or 1. */
  bool8: { read: (b) => readU8(b) !== 0, write: (a, t, v) => a.u8(t, v ? 1 : 0) } as Scalar<boolean>,
  /** Raw bytes (addresses); copied out so a decoded message does not pin the receive buffer. */
  bytes: { read: (b) => Buffer.from(b), write: (a, t, v) => a.bytes(t, v) } as Scalar<Buffer>,
  string: { read: readString, write: (a, t, v, like) => writeString(a, t, v, like) } as Scalar<string>,
};

/** [field of M, attribute type, how its value is carried], type-checked against M. */
export type FieldTable<M> = ReadonlyArray<
  { [K in keyof M]-?: readonly [K, number, Scalar<NonNullable<M[K]>>] }[keyof M]
>;

/** Up to this many fields, reading each by name costs less than walking the object's keys. */
const SHORT_TABLE = 8;

function shortTableWriters<M>(table: FieldTable<M>, m: Partial<M>): [number, FieldWriter][] {
  const out: [number, FieldWriter][] = [];
  for (let i = 0; i < table.length; i++) {
    const entry = table[i]!;
    const value = m[entry[0]];
    if (value === undefined || value === null) continue;
    out.push(writerOf(entry, value));
  }
  return out;
}

function writerOf<T>(entry: readonly [unknown, number, Scalar<T>], value: T): [number, FieldWriter] {
  const type = entry[1];
  const codec = entry[2];
  return [type, (a, like) => codec.write(a, type, value, like)];
}

/** Each table's field names and their positions in it, made on first use. */
const tablePositions = new WeakMap<object, Map<PropertyKey, number>>();

function positionsOf<M>(table: FieldTable<M>): Map<PropertyKey, number> {
  let positions = tablePositions.get(table);
  if (!positions) {
    positions = new Map();
    for (let i = 0; i < table.length; i++) {
      const key = table[i]![0];
      // One attribute per field: tableWriters finds a field by its name.
      if (positions.has(key)) throw new Error(`field table lists '${String(key)}' twice`);
      positions.set(key, i);
    }
    tablePositions.set(table, positions);
  }
  return positions;
}

/** Writers for the fields of `m` that are set, in table order (the default wire order). */
export function tableWriters<M>(table: FieldTable<M>, m: Partial<M>): [number, FieldWriter][] {
  if (table.length <= SHORT_TABLE) return shortTableWriters(table, m);
  // Walks the keys `m` has rather than every field of the table: a request sets a few of a
  // table's twenty-odd fields, and reading each absent one by its name was a fifth of
  // encoding a small request (keyed loads on objects of many shapes are slow in V8).
  const positions = positionsOf(table);
  const present: number[] = [];
  for (const key in m) {
    const at = positions.get(key);
    if (at === undefined) continue;
    const value = m[key as keyof M];
    if (value === undefined || value === null) continue;
    // Kept sorted as they come (a request sets a handful).
    let k = present.length;
    present.push(at);
    while (k > 0 && present[k - 1]! > at) {
      present[k] = present[k - 1]!;
      present[--k] = at;
    }
  }
  const out: [number, FieldWriter][] = [];
  for (let i = 0; i < present.length; i++) {
    const entry = table[present[i]!]!;
    out.push(writerOf(entry, m[entry[0]]!));
  }
  return out;
}

/** Decodes `attr` into `m` if the table models its type. Returns whether it did. */
export function tableRead<M>(table: FieldTable<M>, m: Partial<M>, attr: Attr): boolean {
  for (let i = 0; i < table.length; i++) {
    const entry = table[i]!;
    if (entry[1] === attr.type) {
      m[entry[0]] = entry[2].read(attr.data) as M[typeof entry[0]];
      return true;
    }
  }
  return false;
}
