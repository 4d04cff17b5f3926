// The decoder fuzzer shared by test/unit/fuzz-decoders.test.ts (a short run inside `npm test`)
// and scripts/fuzz.ts (the long, seedable run). RELIABILITY.md item 16: whatever bytes arrive,
// a decoder returns a value or throws DecodeError (code ERR_NETLINK_DECODE); a RangeError or
// TypeError from a Buffer read past the end, a stack overflow or a hang is a bug.
//
// Inputs come in four shapes, because each finds what the others miss: real captures from
// test/fixtures mutated in ways a broken or hostile peer would produce (bit flips, truncation,
// corrupted length fields, splicing of two messages); well-formed attribute trees with random
// contents (odd sizes and types: they reach code that random bytes never get past the header
// checks to); captures with one attribute nested into itself thousands of times (what runs a
// recursive decoder out of stack); and plain random bytes.
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { Connection, DumpInterruptedError, type Encoder, type Transport } from '../../lib/connection.js';
import { NetlinkError, TimeoutError } from '../../lib/errors.js';
import { AttrWriter, ByteWriter, DecodeError, align4 } from '../../lib/netlink/attributes.js';
import { decodeAddress, encodeAddress } from '../../lib/netlink/address.js';
import { decodeLink, encodeLink } from '../../lib/netlink/link.js';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  type NetlinkMessage,
  decodeDone,
  decodeError,
  parseMessages,
  writeMessage,
} from '../../lib/netlink/message.js';
import { decodeRoute, encodeRoute } from '../../lib/netlink/route.js';
import { decodeNeighbour, encodeNeighbour } from '../../lib/netlink/neighbour.js';
import { decodeRule as decodeFibRule, encodeRule as encodeFibRule } from '../../lib/netlink/rule.js';
import { decodeNsid, encodeNsid } from '../../lib/netlink/nsid.js';
import { decodeBridgeAfSpec } from '../../lib/netlink/bridge-vlan.js';
import * as rt from '../../lib/netlink/rtnetlink.js';
import {
  decodeChain,
  decodeExprList,
  decodeRule,
  decodeRuleComment,
  decodeRuleRequest,
  decodeTable,
  nftMsgType,
  readNfgenmsg,
  recogniseMasquerade,
} from '../../lib/nftables/codec.js';
import * as C from '../../lib/nftables/constants.js';
import { FakeKernel, message } from './fake-kernel.js';

// ---- corpus ---------------------------------------------------------------------------------

/** One captured message (header included) with what it is. */
export interface Sample {
  /** Fixture file and position, for reports. */
  origin: string;
  type: number;
  bytes: Buffer;
}

export interface Corpus {
  /** Every captured message on its own. */
  messages: Sample[];
  /** What travelled in one sendmsg/recvmsg: several messages back to back. */
  datagrams: Buffer[];
}

const fixtures = new URL('../fixtures/', import.meta.url);

function padded(b: Buffer): Buffer {
  return b.length % 4 === 0 ? b : Buffer.concat([b, Buffer.alloc(align4(b.length) - b.length)]);
}

let cached: Corpus | undefined;

/** The real kernel messages in test/fixtures (rtnetlink JSON captures and nftables .bin files). */
export function loadCorpus(): Corpus {
  if (cached) return cached;
  const messages: Sample[] = [];
  const datagrams: Buffer[] = [];
  const rtDir = new URL('rtnetlink/', fixtures);
  for (const file of readdirSync(rtDir).filter((f) => f.endsWith('.json')).sort()) {
    const raw = JSON.parse(readFileSync(new URL(file, rtDir), 'utf8')) as { messages: { dir: string; datagram: number; hex: string }[] };
    const byDatagram = new Map<string, Buffer[]>();
    raw.messages.forEach((m, i) => {
      const bytes = padded(Buffer.from(m.hex, 'hex'));
      messages.push({ origin: `rtnetlink/${file}#${i}`, type: bytes.readUInt16LE(4), bytes });
      const key = `${m.dir}${m.datagram}`;
      byDatagram.set(key, [...(byDatagram.get(key) ?? []), bytes]);
    });
    for (const parts of byDatagram.values()) datagrams.push(Buffer.concat(parts));
  }
  const nftDir = new URL('nftables/', fixtures);
  for (const file of readdirSync(nftDir).filter((f) => f.endsWith('.bin')).sort()) {
    const bytes = readFileSync(new URL(file, nftDir));
    datagrams.push(bytes);
    parseMessages(bytes).forEach((m, i) => {
      messages.push({ origin: `nftables/${file}#${i}`, type: m.type, bytes: padded(rebuild(m)) });
    });
  }
  cached = { messages, datagrams };
  return cached;
}

function rebuild(m: NetlinkMessage): Buffer {
  const b = Buffer.alloc(NLMSG_HDRLEN + m.payload.length);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(m.type, 4);
  b.writeUInt16LE(m.flags, 6);
  b.writeUInt32LE(m.seq, 8);
  b.writeUInt32LE(m.pid, 12);
  m.payload.copy(b, NLMSG_HDRLEN);
  return b;
}

// ---- where the length fields are ------------------------------------------------------------

/** Size of the fixed family header before the attributes, by message type. */
function familyHeaderLength(type: number): number | undefined {
  if (type >= rt.RTM_NEWLINK && type <= rt.RTM_SETLINK) return 16;
  if (type >= rt.RTM_NEWADDR && type <= rt.RTM_GETADDR) return 8;
  if (type >= rt.RTM_NEWROUTE && type <= rt.RTM_GETROUTE) return 12;
  if (type >= rt.RTM_NEWNSID && type <= rt.RTM_GETNSID) return 4;
  if (type >= rt.RTM_NEWNEIGH && type <= rt.RTM_GETNEIGH) return 12;
  if (type >= rt.RTM_NEWRULE && type <= rt.RTM_GETRULE) return 12;
  if (type >> 8 === C.NFNL_SUBSYS_NFTABLES || type === C.NFNL_MSG_BATCH_BEGIN || type === C.NFNL_MSG_BATCH_END) return 4;
  return undefined;
}

/** Offsets of u16 nla_len fields in an attribute stream, recursing into whatever parses as one. */
function attributeLengthFields(b: Buffer, start: number, end: number, out: { at: number; size: 2 | 4 }[], depth = 0): boolean {
  let off = start;
  const found: number[] = [];
  while (off + 4 <= end) {
    const len = b.readUInt16LE(off);
    if (len < 4 || off + len > end) return false;
    found.push(off);
    off += align4(len);
  }
  if (off < end && end - off >= 4) return false;
  for (const at of found) {
    out.push({ at, size: 2 });
    const len = b.readUInt16LE(at);
    // A payload may be attributes, or a family header and attributes (a veth peer starts
    // with an ifinfomsg): the first reading that parses cleanly is taken.
    for (const skip of [0, 16, 8, 4, 12]) {
      if (len < 8 + skip || depth >= 16) break;
      const inner: { at: number; size: 2 | 4 }[] = [];
      if (attributeLengthFields(b, at + 4 + skip, at + len, inner, depth + 1) && inner.length > 0) {
        out.push(...inner);
        break;
      }
    }
  }
  return true;
}

/** Every nlmsg_len and nla_len field in a buffer of messages, as far as it still parses. */
export function lengthFields(b: Buffer): { at: number; size: 2 | 4 }[] {
  const out: { at: number; size: 2 | 4 }[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= b.length) {
    const len = b.readUInt32LE(off);
    out.push({ at: off, size: 4 });
    if (len < NLMSG_HDRLEN || off + len > b.length) break;
    const type = b.readUInt16LE(off + 4);
    let fixed = familyHeaderLength(type);
    if (type === NLMSG_ERROR && len >= NLMSG_HDRLEN + 4 + NLMSG_HDRLEN) {
      // The echoed request is a message of its own, then the ext-ack TLVs.
      out.push({ at: off + NLMSG_HDRLEN + 4, size: 4 });
      const echoed = b.readUInt16LE(off + 6) & NLM_F_CAPPED ? NLMSG_HDRLEN : b.readUInt32LE(off + NLMSG_HDRLEN + 4);
      fixed = 4 + align4(Math.min(echoed, len));
    }
    if (type === NLMSG_DONE) fixed = 4;
    if (fixed !== undefined && NLMSG_HDRLEN + fixed <= len) attributeLengthFields(b, off + NLMSG_HDRLEN + fixed, off + len, out);
    off += align4(len);
  }
  return out;
}

// ---- mutations ------------------------------------------------------------------------------

export type Mutation =
  | { op: 'flip'; pos: number; bit: number }
  | { op: 'set'; pos: number; value: number }
  | { op: 'length'; field: number; choice: number }
  | { op: 'truncate'; pos: number }
  | { op: 'splice'; other: number; from: number; at: number }
  | { op: 'insert'; pos: number; bytes: Uint8Array }
  | { op: 'delete'; pos: number; count: number }
  | { op: 'duplicate'; pos: number; count: number };

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x07, 0x08, 0x0f, 0x10, 0x11, 0x7f, 0x80, 0xfe, 0xff];

/** Values written into a length field: off by one, by an alignment, zero, huge, just past the end. */
function lengthChoice(orig: number, remaining: number, size: 2 | 4, choice: number): number {
  const max = size === 2 ? 0xffff : 0xffffffff;
  const values = [
    0, 1, 3, 4, 5, 7, 8, 15, 16, 17, 20,
    orig - 1, orig + 1, orig - 4, orig + 4, orig - 2, orig + 2, orig * 2, orig >>> 1,
    remaining, remaining + 1, remaining + 4, remaining - 1,
    max, max - 1, max - 3, 0x8000, 0x7fff,
    ...(size === 4 ? [0x7fffffff, 0x80000000, 0x7ffffffd, 0xfffffffc] : []),
  ];
  const v = values[choice % values.length]!;
  return ((v % (max + 1)) + max + 1) % (max + 1);
}

export function mutate(input: Buffer, mutations: readonly Mutation[], donors: readonly Buffer[]): Buffer {
  let b = Buffer.from(input);
  for (const m of mutations) {
    const n = b.length;
    switch (m.op) {
      case 'flip':
        if (n > 0) b[m.pos % n]! ^= 1 << m.bit;
        break;
      case 'set':
        if (n > 0) b[m.pos % n] = m.value;
        break;
      case 'length': {
        const fields = lengthFields(b);
        if (fields.length === 0) break;
        const f = fields[m.field % fields.length]!;
        if (f.at + f.size > n) break;
        const orig = f.size === 2 ? b.readUInt16LE(f.at) : b.readUInt32LE(f.at);
        const v = lengthChoice(orig, n - f.at, f.size, m.choice);
        if (f.size === 2) b.writeUInt16LE(v, f.at);
        else b.writeUInt32LE(v, f.at);
        break;
      }
      case 'truncate':
        b = b.subarray(0, n === 0 ? 0 : m.pos % n);
        break;
      case 'splice': {
        // Our head, the donor's tail: a message that starts as one kind and ends as another.
        const d = donors[m.other % donors.length]!;
        const cut = n === 0 ? 0 : m.at % (n + 1);
        b = Buffer.concat([b.subarray(0, cut), d.subarray(d.length === 0 ? 0 : m.from % d.length)]);
        break;
      }
      case 'insert': {
        const at = n === 0 ? 0 : m.pos % (n + 1);
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      }
      case 'delete': {
        const at = n === 0 ? 0 : m.pos % n;
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
        break;
      }
      case 'duplicate': {
        const at = n === 0 ? 0 : m.pos % n;
        b = Buffer.concat([b.subarray(0, at + m.count), b.subarray(at, at + m.count), b.subarray(at + m.count)]);
        break;
      }
    }
  }
  return b;
}

/**
 * The message with one of its attributes replaced by the message's own payload, `depth` times
 * over: a veth peer inside a veth peer inside ..., the shape that makes a recursive decoder run
 * out of stack. Enclosing attributes are resized so every level still parses; it stops where a
 * 16-bit nla_len can no longer hold the result.
 */
export function nestInto(message: Buffer, field: number, depth: number): Buffer {
  const fields = lengthFields(message).filter((f) => f.size === 2);
  if (message.length < NLMSG_HDRLEN || fields.length === 0) return message;
  const a = fields[field % fields.length]!.at;
  const aLen = message.readUInt16LE(a);
  const aType = message.readUInt16LE(a + 2);
  const end = Math.min(message.length, NLMSG_HDRLEN + Math.max(0, message.readUInt32LE(0) - NLMSG_HDRLEN));
  // Offsets relative to the payload; the ancestors are the attributes whose range holds A.
  const before = message.subarray(NLMSG_HDRLEN, a);
  const after = message.subarray(Math.min(end, a + align4(aLen)), end);
  const ancestors = fields.filter((f) => f.at < a && f.at + message.readUInt16LE(f.at) >= a + aLen).map((f) => f.at - NLMSG_HDRLEN);
  // Level k is x_k hdr_k [level k-1] pad_k after: collect the parts, copy once at the end.
  const core = message.subarray(NLMSG_HDRLEN, end);
  const heads: Buffer[] = [];
  const tails: Buffer[] = [];
  let innerLength = core.length;
  for (let k = 0; k < depth; k++) {
    const attrLen = 4 + innerLength;
    const grow = align4(attrLen) - align4(aLen);
    const x = Buffer.from(before);
    let fits = attrLen <= 0xffff;
    for (const o of ancestors) {
      const v = x.readUInt16LE(o) + grow;
      if (v > 0xffff) fits = false;
      else x.writeUInt16LE(v, o);
    }
    if (!fits) break;
    const hdr = Buffer.alloc(4);
    hdr.writeUInt16LE(attrLen, 0);
    hdr.writeUInt16LE(aType, 2);
    heads.push(Buffer.concat([x, hdr]));
    tails.push(Buffer.concat([Buffer.alloc(align4(attrLen) - attrLen), after]));
    innerLength = x.length + align4(attrLen) + after.length;
  }
  const inner = Buffer.concat([...heads.reverse(), core, ...tails]);
  const out = Buffer.concat([message.subarray(0, NLMSG_HDRLEN), inner]);
  out.writeUInt32LE(out.length, 0);
  return out;
}

const position = fc.nat({ max: 1 << 20 });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), pos: position, bit: fc.nat({ max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), pos: position, value: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.nat({ max: 255 })) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('length' as const), field: fc.nat({ max: 1000 }), choice: fc.nat({ max: 100 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), pos: position }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('splice' as const), other: fc.nat({ max: 10_000 }), from: position, at: position }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), pos: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), pos: position, count: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), pos: position, count: fc.integer({ min: 1, max: 32 }) }) },
);

// ---- structured random messages -------------------------------------------------------------

type AttrTree = { type: number; nested: boolean; payload: Uint8Array | AttrTree[] };

const attrTree: fc.Arbitrary<AttrTree[]> = fc.letrec<{ list: AttrTree[]; attr: AttrTree }>((tie) => ({
  list: fc.array(tie('attr'), { maxLength: 5 }),
  attr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({
      type: fc.oneof(fc.nat({ max: 64 }), fc.nat({ max: 0xffff })),
      nested: fc.constant(false),
      payload: fc.oneof(
        fc.uint8Array({ maxLength: 24 }),
        fc.constantFrom(...['veth', 'bridge', 'vxlan', 'macvlan', 'payload', 'cmp', 'bitwise', 'meta', 'masq', 'rtnetlink'].map((s) => Buffer.from(s + '\0'))),
      ),
    }),
    fc.record({ type: fc.nat({ max: 64 }), nested: fc.boolean(), payload: tie('list') }),
  ),
})).list;

function writeTree(a: AttrWriter, tree: readonly AttrTree[]): void {
  for (const t of tree) {
    if (t.payload instanceof Uint8Array) a.bytes(t.type, t.payload);
    else {
      const children = t.payload;
      a.nest(t.type & 0x3fff, () => writeTree(a, children), !t.nested);
    }
  }
}

/** A well-formed message of `type` (or a random type) whose family header and attributes are random. */
function structuredMessage(types: readonly number[]): fc.Arbitrary<Buffer> {
  return fc
    .record({
      type: types.length > 0 ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...types) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }) : fc.nat({ max: 0xffff }),
      flags: fc.oneof(fc.constantFrom(0, NLM_F_MULTI, NLM_F_CAPPED, NLM_F_ACK_TLVS, NLM_F_ACK_TLVS | NLM_F_CAPPED, NLM_F_DUMP_INTR), fc.nat({ max: 0xffff })),
      header: fc.uint8Array({ maxLength: 20 }),
      attrs: attrTree,
    })
    .map(({ type, flags, header, attrs }) => {
      const w = new ByteWriter();
      try {
        writeMessage(w, type, flags, 0, (m) => {
          m.bytes(header).pad();
          writeTree(new AttrWriter(m), attrs);
        });
      } catch {
        // A tree too big for a 16-bit nla_len: the plain header is input enough.
        w.length = 0;
        writeMessage(w, type, flags, 0, (m) => m.bytes(header).pad());
      }
      return w.take();
    });
}

// ---- targets --------------------------------------------------------------------------------

export interface Target {
  name: string;
  /** The message types it decodes; mutations start mostly from captures of these. */
  types: readonly number[];
  /** Whole datagrams rather than single messages. */
  datagram?: boolean;
  run(input: Buffer): void;
}

/** The input as one message of `type`: header fields as found, payload the rest. Its length
 *  field is ignored, so corruption reaches the decoder rather than stopping at parseMessages. */
function asMessage(b: Buffer, type: number): NetlinkMessage {
  if (b.length < NLMSG_HDRLEN) return { type, flags: 0, seq: 0, pid: 0, payload: b.subarray(0, 0) };
  return { type, flags: b.readUInt16LE(6), seq: b.readUInt32LE(8), pid: b.readUInt32LE(12), payload: b.subarray(NLMSG_HDRLEN) };
}

/** Keeps the input's type when the decoder accepts it, else the first it does. */
function typed(types: readonly number[]): (b: Buffer) => number {
  return (b) => {
    const t = b.length >= 6 ? b.readUInt16LE(4) : -1;
    return types.includes(t) ? t : types[0]!;
  };
}

const LINK = [rt.RTM_NEWLINK, rt.RTM_DELLINK, rt.RTM_GETLINK, rt.RTM_SETLINK];
const ADDR = [rt.RTM_NEWADDR, rt.RTM_DELADDR, rt.RTM_GETADDR];
const ROUTE = [rt.RTM_NEWROUTE, rt.RTM_DELROUTE, rt.RTM_GETROUTE];
const NEIGH = [rt.RTM_NEWNEIGH, rt.RTM_DELNEIGH, rt.RTM_GETNEIGH];
const FIB_RULE = [rt.RTM_NEWRULE, rt.RTM_DELRULE, rt.RTM_GETRULE];
const NSID = [rt.RTM_NEWNSID, rt.RTM_DELNSID, rt.RTM_GETNSID];
const TABLE = [C.NFT_MSG_NEWTABLE, C.NFT_MSG_DELTABLE].map(nftMsgType);
const CHAIN = [C.NFT_MSG_NEWCHAIN, C.NFT_MSG_DELCHAIN].map(nftMsgType);
const RULE = [C.NFT_MSG_NEWRULE, C.NFT_MSG_DELRULE].map(nftMsgType);

/** What the library does with a datagram it received: split it, decode each message by type. */
export function decodeByType(m: NetlinkMessage): void {
  if (m.type === NLMSG_ERROR) decodeError(m);
  else if (m.type === NLMSG_DONE) decodeDone(m);
  else if (LINK.includes(m.type)) decodeLink(m);
  else if (ADDR.includes(m.type)) decodeAddress(m);
  else if (ROUTE.includes(m.type)) decodeRoute(m);
  else if (NEIGH.includes(m.type)) decodeNeighbour(m);
  else if (FIB_RULE.includes(m.type)) decodeFibRule(m);
  else if (NSID.includes(m.type)) decodeNsid(m);
  else if (TABLE.includes(m.type)) decodeTable(m);
  else if (CHAIN.includes(m.type)) decodeChain(m);
  else if (RULE.includes(m.type)) {
    const r = decodeRuleRequest(m);
    if (r.handle !== undefined) recogniseMasquerade({ ...r, handle: r.handle });
  }
}

/**
 * Decode, encode again, decode again: the library re-encodes what it decoded (setLink on a
 * dumped link keeps its unknown attributes), so a decodable message must encode without a
 * crash (an EncodeError for what cannot be sent is fine) and decode to the same thing.
 */
function roundTrip<M>(decode: (m: NetlinkMessage) => M, encode: (w: ByteWriter, type: number, flags: number, seq: number, m: M) => number) {
  return (m: NetlinkMessage): void => {
    const first = decode(m);
    const w = new ByteWriter();
    try {
      encode(w, m.type, m.flags, m.seq, first);
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_NETLINK_ENCODE') return;
      throw e;
    }
    const [again] = parseMessages(w.take());
    const second = decode(again!);
    const a = JSON.stringify(strip(first));
    const b = JSON.stringify(strip(second));
    if (a !== b) throw new Error(`decode -> encode -> decode changed the message:\n  ${a}\n  ${b}`);
  };
}

/** The decoded fields without layout (which holds the raw attributes and changes with padding). */
function strip(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (Array.isArray(v)) return v.map(strip);
  if (typeof v === 'bigint') return `${v}n`;
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'layout').map(([k, x]) => [k, strip(x)]));
  }
  return v;
}

export const targets: Target[] = [
  { name: 'parseMessages', types: [], datagram: true, run: (b) => void parseMessages(b) },
  {
    name: 'datagram pipeline',
    types: [],
    datagram: true,
    run: (b) => {
      for (const m of parseMessages(b)) decodeByType(m);
    },
  },
  {
    name: 'decodeError',
    types: [NLMSG_ERROR],
    run: (b) => {
      const m = asMessage(b, NLMSG_ERROR);
      const e = decodeError(m);
      // Ext-ack TLVs follow the echoed request: one whose length runs past the payload is a
      // malformed message, not a place to start reading TLVs from.
      if (m.flags & NLM_F_ACK_TLVS && !(m.flags & NLM_F_CAPPED) && 4 + e.request.len > m.payload.length) {
        throw new Error(`decodeError accepted an echoed request of ${e.request.len} bytes in a ${m.payload.length}-byte payload`);
      }
    },
  },
  { name: 'decodeDone', types: [NLMSG_DONE], run: (b) => void decodeDone(asMessage(b, NLMSG_DONE)) },
  { name: 'decodeLink', types: LINK, run: (b) => void decodeLink(asMessage(b, typed(LINK)(b))) },
  { name: 'decodeAddress', types: ADDR, run: (b) => void decodeAddress(asMessage(b, typed(ADDR)(b))) },
  { name: 'decodeRoute', types: ROUTE, run: (b) => void decodeRoute(asMessage(b, typed(ROUTE)(b))) },
  {
    name: 'link round trip',
    types: LINK,
    run: (b) => roundTrip(decodeLink, encodeLink)(asMessage(b, typed(LINK)(b))),
  },
  {
    name: 'address round trip',
    types: ADDR,
    run: (b) => roundTrip(decodeAddress, encodeAddress)(asMessage(b, typed(ADDR)(b))),
  },
  {
    name: 'route round trip',
    types: ROUTE,
    run: (b) => roundTrip(decodeRoute, encodeRoute)(asMessage(b, typed(ROUTE)(b))),
  },
  { name: 'decodeNeighbour', types: NEIGH, run: (b) => void decodeNeighbour(asMessage(b, typed(NEIGH)(b))) },
  { name: 'decodeRule (fib rules)', types: FIB_RULE, run: (b) => void decodeFibRule(asMessage(b, typed(FIB_RULE)(b))) },
  { name: 'decodeNsid', types: NSID, run: (b) => void decodeNsid(asMessage(b, typed(NSID)(b))) },
  {
    name: 'neighbour round trip',
    types: NEIGH,
    run: (b) => roundTrip(decodeNeighbour, encodeNeighbour)(asMessage(b, typed(NEIGH)(b))),
  },
  {
    name: 'rule round trip',
    types: FIB_RULE,
    run: (b) => roundTrip(decodeFibRule, encodeFibRule)(asMessage(b, typed(FIB_RULE)(b))),
  },
  { name: 'nsid round trip', types: NSID, run: (b) => roundTrip(decodeNsid, encodeNsid)(asMessage(b, typed(NSID)(b))) },
  {
    name: 'decodeBridgeAfSpec',
    types: LINK,
    run: (b) => {
      // IFLA_AF_SPEC of whatever the link decoder accepts, and the raw attribute stream too.
      decodeBridgeAfSpec(b.subarray(Math.min(b.length, NLMSG_HDRLEN + 16)));
      try {
        const l = decodeLink(asMessage(b, typed(LINK)(b)));
        if (l.afSpec) decodeBridgeAfSpec(l.afSpec);
      } catch (e) {
        checkThrown(e);
      }
    },
  },
  { name: 'decodeTable', types: TABLE, run: (b) => void decodeTable(asMessage(b, typed(TABLE)(b))) },
  { name: 'decodeChain', types: CHAIN, run: (b) => void decodeChain(asMessage(b, typed(CHAIN)(b))) },
  {
    name: 'decodeRule',
    types: RULE,
    run: (b) => {
      const m = asMessage(b, typed(RULE)(b));
      const r = decodeRuleRequest(m);
      if (r.handle !== undefined) recogniseMasquerade(decodeRule(m));
    },
  },
  {
    name: 'decodeExprList',
    types: RULE,
    run: (b) => {
      // The rule's attributes start after nlmsghdr + nfgenmsg; the list is the payload of
      // NFTA_RULE_EXPRESSIONS, fed here as whatever follows the first attribute header.
      const { attrs } = readNfgenmsg(asMessage(b, RULE[0]!).payload);
      decodeExprList(attrs.subarray(Math.min(attrs.length, 4)));
      decodeRuleComment(attrs);
    },
  },
];

// ---- the property ---------------------------------------------------------------------------

/** Fails the property unless `e` is the one error a decoder may throw. */
export function checkThrown(e: unknown): void {
  if (e instanceof DecodeError && e.code === 'ERR_NETLINK_DECODE') return;
  throw e;
}

/** How long one decode may take before it counts as a hang (quadratic blow-ups included). */
export const SLOW_MS = 1000;

export function runChecked(target: Target, input: Buffer): void {
  const t0 = performance.now();
  try {
    target.run(input);
  } catch (e) {
    checkThrown(e);
  }
  const ms = performance.now() - t0;
  if (ms > SLOW_MS) throw new Error(`${target.name} took ${ms.toFixed(0)} ms on ${input.length} bytes`);
}

/** The inputs for one target: mutated captures, structured random messages, random bytes. */
export function inputsFor(target: Target, corpus: Corpus = loadCorpus()): fc.Arbitrary<Buffer> {
  const own = target.datagram ? corpus.datagrams : corpus.messages.filter((s) => target.types.includes(s.type)).map((s) => s.bytes);
  const all = target.datagram ? [...corpus.datagrams, ...corpus.messages.map((s) => s.bytes)] : corpus.messages.map((s) => s.bytes);
  const seeds = own.length > 0 ? own : all;
  const mutated = (base: readonly Buffer[]) =>
    fc
      .tuple(fc.nat({ max: base.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 6 }))
      .map(([i, ms]) => mutate(base[i]!, ms, all));
  const structured = target.datagram
    ? fc.array(structuredMessage([...LINK, ...ADDR, ...ROUTE, ...NEIGH, ...FIB_RULE, ...NSID, NLMSG_ERROR, NLMSG_DONE, ...RULE]), { minLength: 1, maxLength: 4 }).map((ms) => Buffer.concat(ms))
    : structuredMessage(target.types);
  return fc.oneof(
    { weight: 6, arbitrary: mutated(seeds) },
    { weight: 1, arbitrary: mutated(all) },
    { weight: 2, arbitrary: structured },
    { weight: 1, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 4 }).chain((ms) => structured.map((s) => mutate(s, ms, all))) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((u) => Buffer.from(u)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.nat({ max: seeds.length - 1 }), fc.nat({ max: 1000 }), fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 100, max: 4000 })))
        .map(([i, field, depth]) => nestInto(seeds[i]!, field, depth)),
    },
  );
}

export function decoderProperty(target: Target, corpus?: Corpus): fc.IPropertyWithHooks<[Buffer]> {
  return fc.property(inputsFor(target, corpus), (input) => runChecked(target, input));
}

// ---- the connection's dispatch --------------------------------------------------------------

/** One piece of a fuzzed kernel answer, aimed at one of the request's seqs (or beside them). */
type Piece =
  | { kind: 'ack'; seq: number; errno: number; text: boolean; offset: number; capped: boolean }
  | { kind: 'done'; seq: number; errno: number; intr: boolean }
  | { kind: 'entry'; seq: number; sample: number }
  | { kind: 'capture'; seq: number; sample: number }
  | { kind: 'random'; bytes: Uint8Array };

export interface ConnectionScenario {
  requests: ('request' | 'dump' | 'group')[];
  /** One answer per transact call; calls past the end are answered properly. */
  answers: { pieces: Piece[]; mutations: Mutation[]; fail: boolean }[];
  timeoutMs: number;
}

const seqRef = fc.integer({ min: -2, max: 8 });

const pieceArb: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('ack' as const), seq: seqRef, errno: fc.oneof(fc.constant(0), fc.constantFrom(-1, -2, -17, -19, -22, -95, -105), fc.integer()), text: fc.boolean(), offset: fc.oneof(fc.constant(-1), fc.nat({ max: 200 }), fc.nat()), capped: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('done' as const), seq: seqRef, errno: fc.oneof(fc.constant(0), fc.integer({ min: -200, max: 0 })), intr: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('entry' as const), seq: seqRef, sample: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('capture' as const), seq: seqRef, sample: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 64 }) }) },
);

export const connectionScenarioArb: fc.Arbitrary<ConnectionScenario> = fc.record({
  requests: fc.array(fc.constantFrom('request' as const, 'dump' as const, 'group' as const), { minLength: 1, maxLength: 4 }),
  answers: fc.array(
    fc.record({ pieces: fc.array(pieceArb, { maxLength: 8 }), mutations: fc.array(mutationArb, { maxLength: 3 }), fail: fc.nat({ max: 9 }).map((n) => n === 0) }),
    { minLength: 1, maxLength: 4 },
  ),
  timeoutMs: fc.constantFrom(1, 50, 30_000),
});

const header = (type: number, flags: number, seq: number, payload: Uint8Array): Buffer => message(type, flags, seq, payload);

function pieceBytes(p: Piece, firstSeq: number, requests: NetlinkMessage[], corpus: Corpus): Buffer {
  if (p.kind === 'random') return Buffer.from(p.bytes);
  const seq = (firstSeq + p.seq) >>> 0;
  const req = requests[p.seq];
  if (p.kind === 'ack') {
    const echoed = req && !p.capped ? rebuild({ ...req, seq }) : header(req?.type ?? 16, req?.flags ?? 5, seq, Buffer.alloc(0));
    const e = Buffer.alloc(4);
    e.writeInt32LE(p.errno | 0, 0);
    const a = new AttrWriter();
    if (p.text) a.string(1, 'fuzzed ext-ack text');
    if (p.offset >= 0) a.u32(2, p.offset);
    const tlvs = a.w.take();
    const flags = (p.capped ? NLM_F_CAPPED : 0) | (tlvs.length > 0 ? NLM_F_ACK_TLVS : 0);
    return header(NLMSG_ERROR, flags, seq, Buffer.concat([e, padded(echoed.subarray(0, p.capped ? NLMSG_HDRLEN : echoed.length)), tlvs]));
  }
  if (p.kind === 'done') {
    const e = Buffer.alloc(4);
    e.writeInt32LE(p.errno, 0);
    return header(NLMSG_DONE, NLM_F_MULTI | (p.intr ? NLM_F_DUMP_INTR : 0), seq, e);
  }
  const samples = p.kind === 'entry' ? corpus.messages.filter((s) => LINK.includes(s.type) || ROUTE.includes(s.type) || ADDR.includes(s.type)) : corpus.messages;
  const s = Buffer.from(samples[p.sample % samples.length]!.bytes);
  s.writeUInt32LE(seq, 8);
  if (p.kind === 'entry') s.writeUInt16LE(s.readUInt16LE(6) | NLM_F_MULTI, 6);
  return s;
}

function properAnswer(requests: NetlinkMessage[]): Buffer {
  return Buffer.concat(
    requests.map((r) => {
      if ((r.flags & 0x300) === 0x300) return header(NLMSG_DONE, NLM_F_MULTI, r.seq, Buffer.alloc(4));
      const e = Buffer.alloc(4);
      return header(NLMSG_ERROR, NLM_F_CAPPED, r.seq, Buffer.concat([e, header(r.type, r.flags, r.seq, Buffer.alloc(0))]));
    }),
  );
}

const linkRequest = (name: string): Encoder => (w, seq) => encodeLink(w, rt.RTM_NEWLINK, 0x600, seq, { name, linkInfo: { kind: 'bridge' } });
const linkDump: Encoder = (w, seq) => encodeLink(w, rt.RTM_GETLINK, 0, seq, {});
const batchPart = (type: number): Encoder => (w, seq) => writeMessage(w, type, 0, seq, (m) => m.u8(0).u8(0).u16(0));

/** Errors a request may end with when the kernel's answer is garbage. */
export function allowedConnectionError(e: unknown): boolean {
  return e instanceof DecodeError || e instanceof NetlinkError || e instanceof TimeoutError || e instanceof DumpInterruptedError;
}

/**
 * Runs one scenario through a Connection whose transport answers with the fuzzed bytes.
 * Every request must settle (no hang) with a result or an allowed error, the dump entries
 * must decode or throw DecodeError, and the connection must still work afterwards.
 */
export async function runConnectionScenario(s: ConnectionScenario, corpus: Corpus = loadCorpus(), opts: { fakeKernel?: boolean } = {}): Promise<void> {
  let call = 0;
  let proper = false;
  let transport: Transport;
  let fake: FakeKernel | undefined;
  if (opts.fakeKernel) {
    // Datagram by datagram through the fake's model of the addon (seq counting, forged
    // senders dropped, a bad length ending the wait); an unanswered request waits for its
    // timeout, so those are kept short.
    fake = new FakeKernel((requests, c) => {
      const plan = proper ? undefined : s.answers[call++];
      if (!plan) return [properAnswer(requests)];
      if (plan.fail) return new NetlinkError({ errno: -105, syscall: 'recvmsg' });
      return plan.pieces.map((p, i) => {
        const bytes = mutate(padded(pieceBytes(p, c.firstSeq, requests, corpus)), i === 0 ? plan.mutations : [], corpus.datagrams);
        return p.kind === 'random' && bytes.length % 2 === 1 ? { data: bytes, port: 4242 } : bytes;
      });
    });
    transport = fake;
  } else {
    transport = {
      transact(request, firstSeq) {
        const requests = parseMessages(request);
        const plan = proper ? undefined : s.answers[call++];
        if (!plan) return Promise.resolve(properAnswer(requests));
        if (plan.fail) return Promise.reject(new NetlinkError({ errno: -105, syscall: 'recvmsg' }));
        const bytes = Buffer.concat(plan.pieces.map((p) => padded(pieceBytes(p, firstSeq, requests, corpus))));
        return Promise.resolve(mutate(bytes, plan.mutations, corpus.datagrams));
      },
      cancel() {},
      close() {},
    };
  }
  const conn = new Connection(transport, opts.fakeKernel ? Math.min(s.timeoutMs, 10) : s.timeoutMs);
  const pending = s.requests.map((kind, i) => {
    if (kind === 'request') return conn.request(linkRequest(`fz${i}`), { operation: 'RTM_NEWLINK', object: `fz${i}` });
    if (kind === 'group') {
      return conn.requestGroup([batchPart(C.NFNL_MSG_BATCH_BEGIN), batchPart(nftMsgType(C.NFT_MSG_NEWTABLE)), batchPart(C.NFNL_MSG_BATCH_END)], 1, { operation: 'nft batch' });
    }
    return conn.dump(linkDump, { operation: 'RTM_GETLINK', retries: 2 }).then((msgs) => {
      for (const m of msgs) {
        try {
          decodeByType(m);
        } catch (e) {
          checkThrown(e);
        }
      }
      return { messages: msgs };
    });
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), 5_000);
  });
  const settled = await Promise.race([Promise.allSettled(pending), hang]);
  clearTimeout(timer);
  if (settled === 'hang') throw new Error('a request never settled');
  for (const r of settled) {
    if (r.status === 'rejected' && !allowedConnectionError(r.reason)) throw r.reason;
  }
  // The connection must not be wedged by what it saw. A few more failures are allowed: garbage
  // the fake kernel sent after the last answer waits in the socket and comes first in the next
  // transact (datagrams are concatenated, so a runt one shifts the framing of the rest: the
  // answer is there but unreadable, and the request ends as unanswered), and a fuzzed seq may
  // name a request not sent yet. No real kernel sends either.
  proper = true;
  for (let attempt = 1; ; attempt++) {
    try {
      await conn.request(linkRequest('after'), { operation: 'RTM_NEWLINK', object: 'after', timeout: 5_000 });
      break;
    } catch (e) {
      if (attempt >= 4 || !allowedConnectionError(e)) throw e;
    }
  }
  conn.close();
  if (fake && fake.violations.length > 0) throw new Error(`the connection broke the addon's preconditions: ${fake.violations.join('; ')}`);
}
