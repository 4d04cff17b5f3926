// NAT masquerade over nf_tables (the tutorial's `iptables -t nat -A POSTROUTING -s NET
// -j MASQUERADE`), kept in the library's own table so rules other tools own are never touched.
import type { Connection } from '../connection.js';
import { NetlinkError } from '../errors.js';
import { formatAddress, networkOf, parsePrefix } from '../ip.js';
import { withConnection, netnsLabel, type NetnsOption } from '../target.js';
import { validateInterfaceName, validateObject } from '../validate.js';
import { decodeRule, getRules, recogniseMasquerade, writeBatch, type BatchBuilder, type MasqueradeMatch } from './codec.js';
import { ByteWriter } from '../netlink/attributes.js';
import { parseMessages, writeMessage } from '../netlink/message.js';
import * as C from './constants.js';
import { NETLINK_NETFILTER } from '../netlink/message.js';

/** The table (in families ip and ip6) that holds every rule this library writes. */
export const TABLE = 'rtnetlink';
export const CHAIN = 'postrouting';

export interface MasqueradeOptions extends NetnsOption {
  /** Source network, e.g. '192.168.0.0/24' (host bits are cleared: '192.168.0.60/24' works too). */
  source: string;
  /** Only traffic leaving through this interface (nft `oifname`). */
  outInterface?: string;
}

export interface MasqueradeRule {
  family: 4 | 6;
  source: string;
  outInterface?: string;
  /** The kernel's rule handle. */
  handle: string;
  netns?: string;
}

interface Parsed {
  family: number;
  source: { address: Buffer; prefixLen: number };
  outInterface?: string;
}

function parse(opts: MasqueradeOptions): Parsed {
  validateObject(opts, 'options');
  const p = parsePrefix(opts.source, 'source', { requirePrefix: true });
  const parsed: Parsed = {
    family: p.family === 4 ? C.NFPROTO_IPV4 : C.NFPROTO_IPV6,
    source: { address: networkOf(p.bytes, p.prefixLen), prefixLen: p.prefixLen },
  };
  if (opts.outInterface !== undefined) parsed.outInterface = validateInterfaceName(opts.outInterface, 'outInterface');
  return parsed;
}

function describe(m: MasqueradeMatch, netns?: string): MasqueradeRule {
  const r: MasqueradeRule = {
    family: m.family === C.NFPROTO_IPV6 ? 6 : 4,
    source: `${formatAddress(m.source.address)}/${m.source.prefixLen}`,
    handle: m.handle.toString(),
  };
  if (m.outInterface !== undefined) r.outInterface = m.outInterface;
  if (netns !== undefined) r.netns = netns;
  return r;
}

/** Our masquerade rules in one family; none when our table does not exist yet. */
async function ourRules(conn: Connection, family: number): Promise<MasqueradeMatch[]> {
  try {
    const msgs = await conn.dump((w, seq) => getRules(w, seq, family, TABLE), { operation: 'NFT_MSG_GETRULE', object: TABLE });
    const out: MasqueradeMatch[] = [];
    for (const m of msgs) {
      const match = recogniseMasquerade(decodeRule(m));
      if (match && match.chain === CHAIN) out.push(match);
    }
    return out;
  } catch (e) {
    if (e instanceof NetlinkError && e.code === 'ENOENT') return [];
    throw e;
  }
}

/** An nf_tables transaction as the connection's message group: the batch is written once,
 *  then each message is copied out under the seq the connection gives it. */
function sendBatch(conn: Connection, body: (b: BatchBuilder) => void, opts: { operation: string; object: string }) {
  const w = new ByteWriter(1024);
  const r = writeBatch(w, 1, body);
  const messages = parseMessages(w.take());
  const encoders = messages.map((m) => (out: ByteWriter, seq: number) => {
    writeMessage(out, m.type, m.flags, seq, (x) => x.bytes(m.payload));
  });
  return conn.requestGroup(encoders, r.expectedAcks, opts);
}

const same = (m: MasqueradeMatch, p: Parsed) =>
  m.family === p.family && m.source.prefixLen === p.source.prefixLen && m.source.address.equals(p.source.address) && m.outInterface === p.outInterface;

// One writer at a time per namespace and family, so "list, then add when missing" cannot race.
const locks = new Map<string, Promise<unknown>>();
function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => {});
  locks.set(key, tail);
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key);
  });
  return next;
}

function lockKey(opts: NetnsOption, family: number): string {
  const n = opts.netns;
  return `${n === undefined ? '' : typeof n === 'string' ? `name:${n}` : `fd:${n.fd}`}/${family}`;
}

/**
 * Masquerades traffic from `source` (optionally only out of `outInterface`): table
 * `rtnetlink`, chain `postrouting` (nat, hook postrouting, priority srcnat), one rule.
 * Adding the same rule again is not an error and leaves one rule. Resolves to the rule and
 * whether it was added now.
 */
export async function addMasquerade(opts: MasqueradeOptions): Promise<MasqueradeRule & { added: boolean }> {
  const p = parse(opts);
  return serialised(lockKey(opts, p.family), () =>
    withConnection(
      opts.netns,
      async (conn) => {
        const existing = (await ourRules(conn, p.family)).find((m) => same(m, p));
        if (existing) return { ...describe(existing, netnsLabel(opts.netns)), added: false };
        await sendBatch(
          conn,
          (b) =>
            b
                .newTable(p.family, TABLE)
                .newChain(p.family, TABLE, CHAIN, { hook: C.NF_INET_POST_ROUTING, priority: C.NF_IP_PRI_NAT_SRC, type: 'nat', policy: 'accept' })
                .newMasqueradeRule(p.family, TABLE, CHAIN, p.outInterface === undefined ? { source: p.source } : { source: p.source, outInterface: p.outInterface }),
          { operation: 'NFT_MSG_NEWRULE', object: `masquerade ${opts.source}` },
        );
        const added = (await ourRules(conn, p.family)).find((m) => same(m, p));
        if (!added) throw new NetlinkError({ errno: -2, syscall: 'recvmsg', operation: 'NFT_MSG_GETRULE', object: `masquerade ${opts.source}` });
        return { ...describe(added, netnsLabel(opts.netns)), added: true };
      },
      NETLINK_NETFILTER,
    ),
  );
}

/** The library's masquerade rules (both families) in a namespace. */
export async function listMasquerades(opts: NetnsOption = {}): Promise<MasqueradeRule[]> {
  return withConnection(
    opts.netns,
    async (conn) => {
      const rules = [...(await ourRules(conn, C.NFPROTO_IPV4)), ...(await ourRules(conn, C.NFPROTO_IPV6))];
      return rules.map((r) => describe(r, netnsLabel(opts.netns)));
    },
    NETLINK_NETFILTER,
  );
}

/** Removes a masquerade rule added by addMasquerade(); resolves false when there was none. */
export async function removeMasquerade(opts: MasqueradeOptions): Promise<boolean> {
  const p = parse(opts);
  return serialised(lockKey(opts, p.family), () =>
    withConnection(
      opts.netns,
      async (conn) => {
        const found = (await ourRules(conn, p.family)).filter((m) => same(m, p));
        if (found.length === 0) return false;
        await sendBatch(
          conn,
          (b) => {
            for (const m of found) b.delRule(p.family, TABLE, CHAIN, m.handle);
          },
          { operation: 'NFT_MSG_DELRULE', object: `masquerade ${opts.source}` },
        );
        return true;
      },
      NETLINK_NETFILTER,
    ),
  );
}

/** Removes the library's whole table (every masquerade rule it wrote) in both families. */
export async function removeAllMasquerades(opts: NetnsOption = {}): Promise<void> {
  await withConnection(
    opts.netns,
    async (conn) => {
      for (const family of [C.NFPROTO_IPV4, C.NFPROTO_IPV6]) {
        await sendBatch(conn, (b) => b.delTable(family, TABLE), { operation: 'NFT_MSG_DELTABLE', object: TABLE }).catch((e) => {
            // No table in this family: nothing to remove.
            if (!(e instanceof NetlinkError && e.code === 'ENOENT')) throw e;
          });
      }
    },
    NETLINK_NETFILTER,
  );
}
