// NAT masquerade over nf_tables (the tutorial's `iptables -t nat -A POSTROUTING -s NET
// -j MASQUERADE`), kept in the library's own table so rules other tools own are never touched.
import type { Connection } from '../connection.js';
import { NetlinkError } from '../errors.js';
import { formatAddress, networkOf, parsePrefix } from '../ip.js';
import { withConnection, netnsLabel, type NetnsOption } from '../target.js';
import { ifname, netnsShape } from '../fields.js';
import { custom, object, optional } from '../schema.js';
import { checkNetnsOption } from '../route/links.js';
import { recogniseMasquerade, type MasqueradeMatch } from './codec.js';
import * as C from './constants.js';
import { NETLINK_NETFILTER } from '../netlink/message.js';
import { TABLE, lockKey, ourRules as rulesOfOurTable, removeChains, sendBatch, serialised } from './ours.js';

export { TABLE } from './ours.js';
export const CHAIN = 'postrouting';

/**
 * A masquerade rule: traffic from `source` (leaving through `outInterface`) gets the
 *  outgoing interface's address.
 *
 * @example
 * ```ts
 * await addMasquerade({ source: '192.168.0.0/24', outInterface: 'eth0' });
 * ```
 */
export interface MasqueradeOptions extends NetnsOption {
  /** Source network, e.g. '192.168.0.0/24' (host bits are cleared: '192.168.0.60/24' works too). */
  source: string;
  /** Only traffic leaving through this interface (nft `oifname`). */
  outInterface?: string;
}

const masqueradeOptions = object<MasqueradeOptions>(
  'masquerade options',
  {
    ...netnsShape,
    source: custom<string>("a network 'address/length'", (v, path) => (parsePrefix(v as string, path, { requirePrefix: true }), v as string)),
    outInterface: optional(ifname),
  },
  { hints: { src: 'source', saddr: 'source', oif: 'outInterface', oifname: 'outInterface', outputInterface: 'outInterface', out: 'outInterface' } },
);

/** Checks a masquerade rule's options. */
export const checkMasquerade = (opts: MasqueradeOptions, path = ''): MasqueradeOptions => masqueradeOptions.check(opts, path);

/** A masquerade rule of this library, as listMasquerades() reads it back from nf_tables. */
export interface MasqueradeRule {
  /** The table's family: 4 (ip) or 6 (ip6). */
  family: 4 | 6;
  /** The source network, as a prefix. */
  source: string;
  /** The `oifname` it is limited to, if any. */
  outInterface?: string;
  /** The kernel's rule handle. */
  handle: string;
  /** The namespace's name, when not the caller's. */
  netns?: string;
}

interface Parsed {
  family: number;
  source: { address: Buffer; prefixLen: number };
  outInterface?: string;
}

function parse(opts: MasqueradeOptions): Parsed {
  checkMasquerade(opts);
  const p = parsePrefix(opts.source, 'source', { requirePrefix: true });
  const parsed: Parsed = {
    family: p.family === 4 ? C.NFPROTO_IPV4 : C.NFPROTO_IPV6,
    source: { address: networkOf(p.bytes, p.prefixLen), prefixLen: p.prefixLen },
  };
  if (opts.outInterface !== undefined) parsed.outInterface = opts.outInterface;
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
  const out: MasqueradeMatch[] = [];
  for (const rule of await rulesOfOurTable(conn, family)) {
    const match = recogniseMasquerade(rule);
    if (match && match.chain === CHAIN) out.push(match);
  }
  return out;
}

const same = (m: MasqueradeMatch, p: Parsed) =>
  m.family === p.family && m.source.prefixLen === p.source.prefixLen && m.source.address.equals(p.source.address) && m.outInterface === p.outInterface;

/**
 * Masquerades traffic from `source` (optionally only out of `outInterface`): table
 * `rtnetlink`, chain `postrouting` (nat, hook postrouting, priority srcnat), one rule.
 * Adding the same rule again is not an error and leaves one rule. Resolves to the rule and
 * whether it was added now.
 *
 * @example
 * ```ts
 * // nft add rule ip rtnetlink postrouting ip saddr 192.168.0.0/24 oifname "eth0" masquerade
 * const { added } = await addMasquerade({ source: '192.168.0.0/24', outInterface: 'eth0' });
 * ```
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

/**
 * The library's masquerade rules (both families) in a namespace.
 *
 * @example
 * ```ts
 * for (const rule of await listMasquerades()) console.log(rule.source, rule.outInterface ?? 'any');
 * ```
 */
export async function listMasquerades(opts: NetnsOption = {}): Promise<MasqueradeRule[]> {
  checkNetnsOption(opts);
  return withConnection(
    opts.netns,
    async (conn) => {
      const rules = [...(await ourRules(conn, C.NFPROTO_IPV4)), ...(await ourRules(conn, C.NFPROTO_IPV6))];
      return rules.map((r) => describe(r, netnsLabel(opts.netns)));
    },
    NETLINK_NETFILTER,
  );
}

/**
 * Removes a masquerade rule added by addMasquerade(); resolves false when there was none.
 *
 * @example
 * ```ts
 * const removed = await removeMasquerade({ source: '192.168.0.0/24', outInterface: 'eth0' });
 * ```
 */
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

/**
 * Removes every masquerade rule of the library's table (its postrouting chain) in both
 * families; the table goes too when nothing else (port forwards) is left in it.
 *
 * @example
 * ```ts
 * await removeAllMasquerades({ netns: 'router' });
 * ```
 */
export async function removeAllMasquerades(opts: NetnsOption = {}): Promise<void> {
  checkNetnsOption(opts);
  await withConnection(
    opts.netns,
    async (conn) => {
      for (const family of [C.NFPROTO_IPV4, C.NFPROTO_IPV6]) {
        await serialised(lockKey(opts, family), () => removeChains(conn, family, [CHAIN], 'NFT_MSG_DELCHAIN'));
      }
    },
    NETLINK_NETFILTER,
  );
}
