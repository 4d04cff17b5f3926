// The netlink message header (struct nlmsghdr) and the control messages every family shares:
// NLMSG_ERROR (acks, with the extended-ack TLVs) and NLMSG_DONE.
import { AttrReader, ByteWriter, DecodeError, EncodeError, align4, loadU16, loadU32, readString, readU32, storeU16, storeU32 } from './attributes.js';

export const NLMSG_HDRLEN = 16;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
export const NLM_F_NONREC = 0x100;
export const NLM_F_BULK = 0x200;
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;
export const NLMSGERR_ATTR_COOKIE = 3;
export const NLMSGERR_ATTR_POLICY = 4;
export const NLMSGERR_ATTR_MISS_TYPE = 5;
export const NLMSGERR_ATTR_MISS_NEST = 6;

export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;

/** One netlink message as received: the fields of struct nlmsghdr, then its payload. */
export interface NetlinkMessage {
  /** nlmsg_type, e.g. RTM_NEWLINK (16). */
  type: number;
  /** nlmsg_flags (NLM_F_MULTI, NLM_F_DUMP_INTR, ...). */
  flags: number;
  /** nlmsg_seq: the request it answers. */
  seq: number;
  /** nlmsg_pid: the port the message is addressed to (the asking socket's, for the kernel's
   *  answers). */
  pid: number;
  /** The bytes after the header (the family header and attributes). */
  payload: Buffer;
}

/** Appends one message to `w`: header, then `body` writes the payload. Returns its offset. */
export function writeMessage(
  w: ByteWriter,
  type: number,
  flags: number,
  seq: number,
  body: (w: ByteWriter) => void,
): number {
  const at = w.reserve(NLMSG_HDRLEN);
  try {
    body(w);
  } catch (e) {
    // Leave no half-written message behind in a writer that may hold a batch.
    w.length = at;
    throw e;
  }
  w.pad();
  const len = w.length - at;
  if (len > 0xffffffff) throw new EncodeError(`message of ${len} bytes is too large`);
  if ((type & 0xffff) !== type || (flags & 0xffff) !== flags) throw new EncodeError(`message type ${type} or flags ${flags} do not fit 16 bits`);
  const b = w.buf;
  storeU32(b, at, len);
  storeU16(b, at + 4, type);
  storeU16(b, at + 6, flags);
  storeU32(b, at + 8, seq);
  storeU32(b, at + 12, 0);
  return at;
}

/** The length of a plain ACK: header, error 0, the request's header (capped), no TLVs. */
const PLAIN_ACK_LEN = NLMSG_HDRLEN + 4 + NLMSG_HDRLEN;

/** Splits received datagrams into messages. On a length that does not fit, the messages
 *  before it are still returned (their requests are answered) with the error for the rest.
 *  `takeAck`, when given, is offered each plain ACK's seq first (an NLMSG_ERROR with error 0
 *  and nothing else: most of what a batch of changes gets back); the ones it takes are left
 *  out of `messages`, so no object is made for them. A plain ACK for a seq that a kept answer
 *  (NLMSG_ERROR or NLMSG_DONE) already ended is a repeat: it is kept, not offered, so that the
 *  first answer still decides. Its nlmsg_pid is not looked at: the kernel addresses every
 *  answer to the asking socket's port, not 0. */
export function splitMessages(buf: Buffer, takeAck?: (seq: number) => boolean): { messages: NetlinkMessage[]; error?: DecodeError } {
  const messages: NetlinkMessage[] = [];
  // Seqs ended by a kept answer: none in a batch the kernel simply acknowledged.
  let ended: number[] | undefined;
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = loadU32(buf, off);
    if (len < NLMSG_HDRLEN || len > buf.length - off) {
      return { messages, error: new DecodeError(`malformed reply: netlink message at offset ${off} has length ${len}, ${buf.length - off} bytes left`) };
    }
    const type = loadU16(buf, off + 4);
    const seq = loadU32(buf, off + 8);
    if (takeAck !== undefined && len === PLAIN_ACK_LEN && type === NLMSG_ERROR && loadU32(buf, off + NLMSG_HDRLEN) === 0 && !ended?.includes(seq) && takeAck(seq)) {
      off += PLAIN_ACK_LEN;
      continue;
    }
    if (takeAck !== undefined && (type === NLMSG_ERROR || type === NLMSG_DONE)) (ended ??= []).push(seq);
    messages.push({
      type,
      flags: buf.readUInt16LE(off + 6),
      seq,
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  if (off < buf.length && buf.subarray(off).some((b) => b !== 0)) {
    return { messages, error: new DecodeError(`malformed reply: ${buf.length - off} bytes after the last netlink message`) };
  }
  return { messages };
}

/** Splits a buffer holding one or more messages. A length that does not fit is a DecodeError. */
export function parseMessages(buf: Buffer): NetlinkMessage[] {
  const { messages, error } = splitMessages(buf);
  if (error) throw error;
  return messages;
}

export interface ErrorPayload {
  /** 0 for an ACK, a negative errno otherwise. */
  error: number;
  /** The header of the request this answers. */
  request: { len: number; type: number; flags: number; seq: number; pid: number };
  /** Extended ack: the kernel's text, the offset of the bad attribute in the request, ... */
  message?: string;
  badAttributeOffset?: number;
  missingAttributeType?: number;
  cookie?: Buffer;
}

/** Decodes an NLMSG_ERROR payload (struct nlmsgerr, then the ext-ack TLVs if flagged). */
export function decodeError(msg: NetlinkMessage): ErrorPayload {
  const p = msg.payload;
  if (p.length < 4 + NLMSG_HDRLEN) {
    throw new DecodeError(`NLMSG_ERROR payload of ${p.length} bytes, need ${4 + NLMSG_HDRLEN}`);
  }
  const error = p.readInt32LE(0);
  const request = {
    len: p.readUInt32LE(4),
    type: p.readUInt16LE(8),
    flags: p.readUInt16LE(10),
    seq: p.readUInt32LE(12),
    pid: p.readUInt32LE(16),
  };
  const out: ErrorPayload = { error, request };
  if (!(msg.flags & NLM_F_ACK_TLVS)) return out;
  // Without NLM_F_CAPPED the whole request is echoed back before the TLVs.
  const echoed = msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : request.len;
  // Compared before align4, whose 32-bit arithmetic turns a corrupt length of 2^31 or more into
  // a negative offset (subarray would then read TLVs from the end). Found by the fuzzer.
  if (echoed > p.length) throw new DecodeError(`NLMSG_ERROR echoes a request of ${echoed} bytes, past the end (${p.length})`);
  const tlvStart = 4 + align4(echoed);
  if (tlvStart > p.length) throw new DecodeError(`NLMSG_ERROR TLVs start at ${tlvStart}, past the end (${p.length})`);
  for (const a of new AttrReader(p.subarray(tlvStart))) {
    if (a.type === NLMSGERR_ATTR_MSG) out.message = readString(a.data);
    else if (a.type === NLMSGERR_ATTR_OFFS) out.badAttributeOffset = readU32(a.data);
    else if (a.type === NLMSGERR_ATTR_MISS_TYPE) out.missingAttributeType = readU32(a.data);
    else if (a.type === NLMSGERR_ATTR_COOKIE) out.cookie = Buffer.from(a.data);
  }
  return out;
}

/** NLMSG_DONE carries an int error (0 or negative errno), and ext-ack TLVs when flagged. */
export function decodeDone(msg: NetlinkMessage): { error: number; message?: string } {
  if (msg.payload.length < 4) return { error: 0 };
  const error = msg.payload.readInt32LE(0);
  let message: string | undefined;
  if (msg.flags & NLM_F_ACK_TLVS) {
    for (const a of new AttrReader(msg.payload.subarray(4))) {
      if (a.type === NLMSGERR_ATTR_MSG) message = readString(a.data);
    }
  }
  return message === undefined ? { error } : { error, message };
}
