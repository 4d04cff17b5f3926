// The frame the native shim (native/cni_shim.c) sends to the daemon, and the daemon's answer.
//
// Request: "RCNI", u32 LE (frame version in the low byte, bit 8+i set when environment variable
// i is present), u32 LE body length; the body is seven fields, each a u32 LE length and bytes:
// CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH, then the config
// read from stdin. Presence is kept apart from emptiness because the spec treats a missing
// variable and an empty one alike only for some of them.
// Answer: u32 LE exit status, u32 LE length, then the bytes for the shim's stdout.

/** The CNI environment variables a call carries, in frame order. */
export const CNI_ENV_NAMES = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'] as const;

/** One of the CNI environment variable names (written out, so the API reference lists them). */
export type CniEnvName = 'CNI_COMMAND' | 'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_ARGS' | 'CNI_PATH';

// The union above and the frame's list name the same variables: the build fails otherwise.
type SameNames<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type MustBeTrue<T extends true> = T;
type FrameCarriesEveryCniEnvName = MustBeTrue<SameNames<CniEnvName, (typeof CNI_ENV_NAMES)[number]>>;

/** A CNI call: its environment (only the variables that were set) and its stdin. */
export interface CniRequest {
  env: Partial<Record<CniEnvName, string>>;
  stdin: Buffer;
}

/** What a CNI call produced: its stdout and the plugin's exit status. */
export interface CniReply {
  status: number;
  stdout: Buffer;
}

const MAGIC = 0x494e4352; // "RCNI" read as a little-endian u32
const VERSION = 1;
const HEADER = 12;
/** The largest body accepted (the shim reads at most 16 MiB of stdin). */
const MAX_FRAME_BODY = 17 << 20;

/** Encodes a request frame (the shim's side; tests and the benchmark speak it too). */
export function encodeRequest(req: CniRequest): Buffer {
  let present = 0;
  const parts: Buffer[] = [];
  CNI_ENV_NAMES.forEach((name, i) => {
    const v = req.env[name];
    if (v !== undefined) present |= 1 << i;
    parts.push(Buffer.from(v ?? '', 'utf8'));
  });
  parts.push(req.stdin);
  const body = parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = Buffer.alloc(HEADER + body);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(VERSION | (present << 8), 4);
  out.writeUInt32LE(body, 8);
  let off = HEADER;
  for (const p of parts) {
    out.writeUInt32LE(p.length, off);
    p.copy(out, off + 4);
    off += 4 + p.length;
  }
  return out;
}

/** Result of feeding bytes to a FrameReader. */
export type FrameState = { done: false } | { done: true; request: CniRequest } | { done: true; error: string };

/** Accumulates a request frame from a stream; one frame per connection. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private length = 0;

  /** Adds bytes; says whether a whole frame (or a malformed one) has arrived. */
  push(chunk: Buffer): FrameState {
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length < HEADER) return { done: false };
    const head = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [head];
    if (head.readUInt32LE(0) !== MAGIC) return { done: true, error: 'not a rtnetlink CNI frame' };
    const word = head.readUInt32LE(4);
    if ((word & 0xff) !== VERSION) return { done: true, error: `frame version ${word & 0xff} is not ${VERSION}` };
    const body = head.readUInt32LE(8);
    if (body > MAX_FRAME_BODY) return { done: true, error: `frame of ${body} bytes is too large` };
    if (this.length < HEADER + body) return { done: false };
    if (this.length > HEADER + body) return { done: true, error: 'bytes after the frame' };
    return decodeBody(head.subarray(HEADER), word >>> 8);
  }
}

function decodeBody(body: Buffer, present: number): FrameState {
  const fields: Buffer[] = [];
  let off = 0;
  for (let i = 0; i <= CNI_ENV_NAMES.length; i++) {
    if (off + 4 > body.length) return { done: true, error: 'truncated frame' };
    const len = body.readUInt32LE(off);
    if (off + 4 + len > body.length) return { done: true, error: 'truncated frame' };
    fields.push(body.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  if (off !== body.length) return { done: true, error: 'bytes after the last field' };
  const env: Partial<Record<CniEnvName, string>> = {};
  CNI_ENV_NAMES.forEach((name, i) => {
    if (present & (1 << i)) env[name] = fields[i]!.toString('utf8');
  });
  return { done: true, request: { env, stdin: fields[CNI_ENV_NAMES.length]! } };
}

/** Encodes the daemon's answer. */
export function encodeReply(reply: CniReply): Buffer {
  const out = Buffer.alloc(8 + reply.stdout.length);
  out.writeUInt32LE(reply.status >>> 0, 0);
  out.writeUInt32LE(reply.stdout.length, 4);
  reply.stdout.copy(out, 8);
  return out;
}
