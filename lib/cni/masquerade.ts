// The CNI plugin's NAT: one masquerade rule per container address, in the library's own
// nf_tables table, with a comment naming the network, the container and its interface. DEL and
// GC remove rules by that comment, so they never touch a rule they did not write.
//
//   table ip rtnetlink { chain cni-postrouting { type nat hook postrouting priority srcnat;
//     ip saddr 10.22.0.5 ip daddr != 10.22.0.0/24 ip daddr != 224.0.0.0/4 masquerade
//       comment "rtnetlink-cni ..." } }
// which is what the reference plugin's per-container iptables chain does (accept inside the
// subnet, masquerade everything else but multicast).
import { createHash } from 'node:crypto';
import { NetlinkError } from '../errors.js';
import { networkOf, parseAddress, parsePrefix } from '../ip.js';
import { decodeRule, getRules, type NftExpr } from '../nftables/codec.js';
import * as C from '../nftables/constants.js';
import { TABLE, sendBatch } from '../nftables/ours.js';
import { NETLINK_NETFILTER } from '../netlink/message.js';
import type { Connection } from '../connection.js';
import { withConnection } from '../target.js';

/** The base chain (in table `rtnetlink`, families ip and ip6) that holds the CNI rules. */
export const CNI_CHAIN = 'cni-postrouting';
const TAG = 'rtnetlink-cni';

/** The comment that marks a rule as this attachment's: `rtnetlink-cni net=N id=C if=I`,
 *  with the id hashed when the whole would not fit nft's 127-byte comment. */
export function ruleComment(network: string, containerId: string, ifname: string): string {
  const plain = `${TAG} net=${network} id=${containerId} if=${ifname}`;
  if (Buffer.byteLength(plain) <= 127) return plain;
  const digest = createHash('sha256').update(`${network}\0${containerId}\0${ifname}`).digest('hex').slice(0, 40);
  return `${TAG} sha=${digest}`;
}

/** The comment prefix of every rule of a network (for GC), when it is not hashed. */
export const networkCommentPrefix = (network: string) => `${TAG} net=${network} `;

const LAYOUT = { 4: { saddr: 12, daddr: 16, len: 4 }, 6: { saddr: 8, daddr: 24, len: 16 } } as const;
const MULTICAST = { 4: '224.0.0.0/4', 6: 'ff00::/8' } as const;

function mask(len: number, prefixLen: number): Buffer {
  const m = Buffer.alloc(len);
  for (let i = 0; i < len; i++) m[i] = (0xff << (8 - Math.min(8, Math.max(0, prefixLen - i * 8)))) & 0xff;
  return m;
}

function daddrNot(family: 4 | 6, prefix: string): NftExpr[] {
  const l = LAYOUT[family];
  const p = parsePrefix(prefix, 'subnet', { requirePrefix: true });
  return [
    { kind: 'payload', dreg: C.NFT_REG_1, base: C.NFT_PAYLOAD_NETWORK_HEADER, offset: l.daddr, len: l.len },
    { kind: 'bitwise', sreg: C.NFT_REG_1, dreg: C.NFT_REG_1, len: l.len, mask: mask(l.len, p.prefixLen), xor: Buffer.alloc(l.len) },
    { kind: 'cmp', sreg: C.NFT_REG_1, op: C.NFT_CMP_NEQ, data: networkOf(p.bytes, p.prefixLen) },
  ];
}

function masqueradeExpressions(address: string): { family: number; expressions: NftExpr[] } {
  const [ip, len] = address.split('/');
  const a = parseAddress(ip!, 'address');
  const family = a.family;
  const l = LAYOUT[family];
  const subnet = `${ip}/${len}`;
  return {
    family: family === 4 ? C.NFPROTO_IPV4 : C.NFPROTO_IPV6,
    expressions: [
      { kind: 'payload', dreg: C.NFT_REG_1, base: C.NFT_PAYLOAD_NETWORK_HEADER, offset: l.saddr, len: l.len },
      { kind: 'cmp', sreg: C.NFT_REG_1, op: C.NFT_CMP_EQ, data: a.bytes },
      ...daddrNot(family, subnet),
      ...daddrNot(family, MULTICAST[family]),
      { kind: 'masq' },
    ],
  };
}

// The host's nf_tables connection. Its batches travel alone in their datagrams (the
// connection sees to that: nfnetlink drops what follows a batch).
function withHostNft<T>(fn: (conn: Connection) => Promise<T>): Promise<T> {
  return withConnection(undefined, fn, NETLINK_NETFILTER);
}

/** Adds one rule per address ('10.22.0.5/24'), all in one nf_tables transaction. */
export async function addContainerMasquerade(addresses: readonly string[], comment: string): Promise<void> {
  if (addresses.length === 0) return;
  const rules = addresses.map(masqueradeExpressions);
  await withHostNft((conn) =>
    sendBatch(
      conn,
      (b) => {
        for (const family of new Set(rules.map((r) => r.family))) {
          b.newTable(family, TABLE).newChain(family, TABLE, CNI_CHAIN, { hook: C.NF_INET_POST_ROUTING, priority: C.NF_IP_PRI_NAT_SRC, type: 'nat', policy: 'accept' });
        }
        for (const r of rules) b.newRule(r.family, TABLE, CNI_CHAIN, { expressions: r.expressions, comment });
      },
      { operation: 'NFT_MSG_NEWRULE', object: comment },
    ),
  );
}

/** The CNI rules (both families) whose comment passes `select`, with their handles. */
function findRules(select: (comment: string) => boolean) {
  return withHostNft(async (conn) => {
    const found: { family: number; handle: bigint; comment: string }[] = [];
    for (const family of [C.NFPROTO_IPV4, C.NFPROTO_IPV6]) {
      try {
        const msgs = await conn.dump((w, seq) => getRules(w, seq, family, TABLE, CNI_CHAIN), { operation: 'NFT_MSG_GETRULE', object: `${TABLE} ${CNI_CHAIN}` });
        for (const m of msgs) {
          const r = decodeRule(m);
          if (r.chain === CNI_CHAIN && r.comment !== undefined && r.comment.startsWith(TAG) && select(r.comment)) {
            found.push({ family, handle: r.handle, comment: r.comment });
          }
        }
      } catch (e) {
        // No table or chain in this family: no rules.
        if (!(e instanceof NetlinkError && e.code === 'ENOENT')) throw e;
      }
    }
    return found;
  });
}

async function deleteRules(rules: { family: number; handle: bigint; comment: string }[]): Promise<number> {
  if (rules.length === 0) return 0;
  await withHostNft((conn) =>
    sendBatch(
      conn,
      (b) => {
        for (const r of rules) b.delRule(r.family, TABLE, CNI_CHAIN, r.handle);
      },
      { operation: 'NFT_MSG_DELRULE', object: `${TABLE} ${CNI_CHAIN}` },
    ),
  );
  return rules.length;
}

/** Removes every CNI rule whose comment passes `select` (one dump, one batch when any);
 *  resolves to how many there were. */
export async function removeMasqueradesWhere(select: (comment: string) => boolean): Promise<number> {
  return deleteRules(await findRules(select));
}

/** Removes the rules with exactly this comment; resolves to how many there were. */
export const removeContainerMasquerade = (comment: string): Promise<number> => removeMasqueradesWhere((c) => c === comment);

/** The comments of every CNI rule (CHECK looks for its attachment's). */
export async function listContainerMasquerades(): Promise<string[]> {
  return (await findRules(() => true)).map((r) => r.comment);
}
