// The library's own nf_tables table (`rtnetlink`, in families ip and ip6): what masquerade.ts
// and portforward.ts share. Rules other tools own are never touched.
import type { Connection } from '../connection.js';
import { NetlinkError } from '../errors.js';
import { ByteWriter } from '../netlink/attributes.js';
import { parseMessages, writeMessage } from '../netlink/message.js';
import type { NetnsOption } from '../target.js';
import { decodeChain, decodeRule, getChains, getRules, writeBatch, type BatchBuilder, type NftRule } from './codec.js';
import { keyedSerialiser } from '../serialise.js';

/** The table (in families ip and ip6) that holds every rule this library writes. */
export const TABLE = 'rtnetlink';

/** Every rule of our table in one family; none when the table does not exist yet. */
export async function ourRules(conn: Connection, family: number): Promise<NftRule[]> {
  try {
    const msgs = await conn.dump((w, seq) => getRules(w, seq, family, TABLE), { operation: 'NFT_MSG_GETRULE', object: TABLE });
    return msgs.map(decodeRule);
  } catch (e) {
    if (e instanceof NetlinkError && e.code === 'ENOENT') return [];
    throw e;
  }
}

/** The names of our table's chains in one family. */
export async function ourChains(conn: Connection, family: number): Promise<string[]> {
  const msgs = await conn.dump((w, seq) => getChains(w, seq, family), { operation: 'NFT_MSG_GETCHAIN', object: TABLE });
  return msgs.map(decodeChain).filter((c) => c.table === TABLE).map((c) => c.name);
}

/** An nf_tables transaction as the connection's message group: the batch is written once,
 *  then each message is copied out under the seq the connection gives it. */
export function sendBatch(conn: Connection, body: (b: BatchBuilder) => void, opts: { operation: string; object: string }) {
  const w = new ByteWriter(1024);
  const r = writeBatch(w, 1, body);
  const messages = parseMessages(w.take());
  const encoders = messages.map((m) => (out: ByteWriter, seq: number) => {
    writeMessage(out, m.type, m.flags, seq, (x) => x.bytes(m.payload));
  });
  return conn.requestGroup(encoders, r.expectedAcks, opts);
}

/**
 * Removes `chains` of our table in one family, and the table itself when nothing else is
 * left in it. Resolves false when there was nothing to remove.
 */
export async function removeChains(conn: Connection, family: number, chains: readonly string[], operation: string): Promise<boolean> {
  const present = await ourChains(conn, family);
  const mine = present.filter((c) => chains.includes(c));
  if (mine.length === 0) return false;
  const whole = present.every((c) => chains.includes(c));
  await sendBatch(conn, (b) => (whole ? b.delTable(family, TABLE) : mine.forEach((c) => b.delChain(family, TABLE, c))), { operation, object: TABLE }).catch((e) => {
    // Gone meanwhile: nothing to remove.
    if (!(e instanceof NetlinkError && e.code === 'ENOENT')) throw e;
  });
  return true;
}

// One writer at a time per namespace and family, so "list, then add when missing" cannot race.
export const serialised = keyedSerialiser();

export function lockKey(opts: NetnsOption, family: number): string {
  const n = opts.netns;
  return `${n === undefined ? '' : typeof n === 'string' ? `name:${n}` : `fd:${n.fd}`}/${family}`;
}
