// Namespace ids (`ip netns set NAME NSID`, `ip netns list-id`): the numbers one namespace
// gives others, which link messages use (IFLA_LINK_NETNSID: where a veth's peer lives).
import { NetlinkError } from '../errors.js';
import { listNamespaces, openHandle, NamespaceHandle } from '../handle.js';
import { decodeNsid, encodeNsid, type NsidMessage } from '../netlink/nsid.js';
import * as rt from '../netlink/rtnetlink.js';
import { netnsLabel, withConnection, withNamespaceFd, type NetnsOption, type NetnsRef } from '../target.js';
import { netnsRef } from '../fields.js';
import { integer } from '../schema.js';
import { checkNetnsOption } from './links.js';

const nsidValue = integer(0, 2 ** 31 - 1, 'ERR_INVALID_NSID');

/**
 * Gives namespace `target` the id `nsid` as seen from `netns` (`ip netns set TARGET NSID`,
 * run in netns). EEXIST if the namespace has an id already or the id is taken.
 *
 * @example
 * ```ts
 * await setNsid('pb', 5);                  // in the caller's namespace, 'pb' is nsid 5
 * const host = await openNamespace({ pid: process.pid });
 * await setNsid(host, 1, { netns: 'pb' });  // inside pb, the host is nsid 1
 * ```
 */
export async function setNsid(target: NetnsRef, nsid: number, opts: NetnsOption = {}): Promise<void> {
  netnsRef.check(target, 'target');
  nsidValue.check(nsid, 'nsid');
  checkNetnsOption(opts);
  await withConnection(opts.netns, (conn) =>
    withNamespaceFd(target, (fd) =>
      conn.request((w, seq) => encodeNsid(w, rt.RTM_NEWNSID, 0, seq, { family: 0, nsid, fd }), { operation: 'RTM_NEWNSID', object: `${label(target)} ${nsid}`, inline: true }),
    ),
  );
}

/**
 * The id namespace `target` has as seen from `netns` (`ip netns list-id` for one), or
 * undefined when it has none.
 *
 * @example
 * ```ts
 * const id = await getNsid('pb');   // 5, or undefined
 * ```
 */
export async function getNsid(target: NetnsRef, opts: NetnsOption = {}): Promise<number | undefined> {
  netnsRef.check(target, 'target');
  checkNetnsOption(opts);
  return withConnection(opts.netns, (conn) =>
    withNamespaceFd(target, async (fd) => {
      const reply = await conn.request((w, seq) => encodeNsid(w, rt.RTM_GETNSID, 0, seq, { family: 0, fd }), { operation: 'RTM_GETNSID', object: label(target), inline: true });
      const msg = reply.messages.find((m) => m.type === rt.RTM_NEWNSID);
      if (!msg) throw new NetlinkError({ errno: -61, syscall: 'recvmsg', operation: 'RTM_GETNSID', object: label(target) });
      const nsid = decodeNsid(msg).nsid;
      return nsid === undefined || nsid < 0 ? undefined : nsid;
    }),
  );
}

/** An nsid as listNsids describes it. */
export interface NsidInfo {
  nsid: number;
  /** The named namespace (in the run dir) it is, when one is. */
  name?: string;
  netns?: string;
}

/**
 * Every id `netns` has given (`ip netns list-id`), with the names of those that are named
 * namespaces in the run dir.
 *
 * @example
 * ```ts
 * const ids = await listNsids();   // [{ nsid: 5, name: 'pb' }]
 * ```
 */
export async function listNsids(opts: NetnsOption = {}): Promise<NsidInfo[]> {
  checkNetnsOption(opts);
  return withConnection(opts.netns, async (conn) => {
    const msgs = await conn.dump((w, seq) => encodeNsid(w, rt.RTM_GETNSID, 0, seq, { family: 0 }), { operation: 'RTM_GETNSID' });
    const ids = msgs.filter((m) => m.type === rt.RTM_NEWNSID).map((m): NsidMessage => decodeNsid(m));
    const names = new Map<number, string>();
    if (ids.length > 0) {
      // As ip: ask for the id of each named namespace, to put names to the numbers.
      for (const entry of listNamespaces()) {
        const ns = await openHandle(entry.name, NamespaceHandle).catch(() => undefined);
        if (!ns) continue;
        try {
          const reply = await conn.request((w, seq) => encodeNsid(w, rt.RTM_GETNSID, 0, seq, { family: 0, fd: ns.fd }), { operation: 'RTM_GETNSID', object: entry.name });
          const msg = reply.messages.find((m) => m.type === rt.RTM_NEWNSID);
          const nsid = msg ? decodeNsid(msg).nsid : undefined;
          if (nsid !== undefined && nsid >= 0) names.set(nsid, entry.name);
        } finally {
          ns.close();
        }
      }
    }
    const where = netnsLabel(opts.netns);
    return ids
      .filter((m) => m.nsid !== undefined && m.nsid >= 0)
      .map((m) => {
        const info: NsidInfo = { nsid: m.nsid! };
        const name = names.get(m.nsid!);
        if (name !== undefined) info.name = name;
        if (where !== undefined) info.netns = where;
        return info;
      });
  });
}

const label = (ns: NetnsRef): string => (typeof ns === 'string' ? ns : ns.name ?? 'namespace');
