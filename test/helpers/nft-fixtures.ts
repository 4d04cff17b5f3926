// What the nf_tables encoder tests share: the captured nft messages (test/fixtures/nftables),
// address bytes, and our batch written the way nft writes its own.
import { readFileSync } from 'node:fs';
import { ByteWriter } from '../../lib/netlink/attributes.js';
import { type BatchBuilder, writeBatch } from '../../lib/nftables/codec.js';

/** A captured fixture's bytes. */
export const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/nftables/${name}`, import.meta.url));

/** '192.168.0.2' as its 4 bytes. */
export const v4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));

/** An IPv6 address from its leading hex digits, zero-filled to 16 bytes. */
export const v6 = (hex: string): Buffer => Buffer.from(hex.padEnd(32, '0'), 'hex');

/** nft sends no NLM_F_ACK and numbers a batch from 0; so do we when asked to. */
export function asNft(body: (b: BatchBuilder) => void): Buffer {
  const w = new ByteWriter();
  writeBatch(w, 0, body, { ack: false });
  return w.take();
}
