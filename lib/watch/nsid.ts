// Namespace ids for the watch over every namespace: the kernel delivers a namespace's
// notifications to a NETLINK_LISTEN_ALL_NSID socket only when the socket's namespace has an id
// for it. On an open connection (the watch's own), with the nsid codec (lib/netlink/nsid.ts).
import type { Connection } from '../connection.js';
import { decodeNsid, encodeNsid, type NsidMessage } from '../netlink/nsid.js';
import type { NetlinkMessage } from '../netlink/message.js';
import * as rt from '../netlink/rtnetlink.js';

/** The kernel's "no id" (NETNSA_NSID_NOT_ASSIGNED). */
export const NSID_NOT_ASSIGNED = -1;

/** Which namespace a request is about: an fd of it, or a process inside it. */
export type NamespaceSelector = { fd: number } | { pid: number };

// Not inline (see RequestOptions.inline): these take the RTNL lock, which a bulk apply holds
// for milliseconds at a time, and an inline request would wait for it on the JS thread.
const request = (conn: Connection, type: number, m: Partial<NsidMessage>) =>
  conn.request((w, seq) => encodeNsid(w, type, 0, seq, { family: 0, ...m }), { operation: rt.rtmName(type) });

/** The id the connection's namespace has for `which`; NSID_NOT_ASSIGNED when none. */
export async function getNsid(conn: Connection, which: NamespaceSelector): Promise<number> {
  const reply = await request(conn, rt.RTM_GETNSID, which);
  const msg = reply.messages.find((m) => m.type === rt.RTM_NEWNSID);
  return (msg && decodeNsid(msg).nsid) ?? NSID_NOT_ASSIGNED;
}

/** The id for `which`, assigning the next free one first if it has none. */
export async function ensureNsid(conn: Connection, which: NamespaceSelector): Promise<number> {
  const nsid = await getNsid(conn, which);
  if (nsid !== NSID_NOT_ASSIGNED) return nsid;
  try {
    // NETNSA_NSID -1: the kernel picks a free id.
    await request(conn, rt.RTM_NEWNSID, { ...which, nsid: NSID_NOT_ASSIGNED });
  } catch (e) {
    // Someone (a veth's creation, another watcher) assigned one meanwhile: read it below.
    if ((e as { code?: string }).code !== 'EEXIST') throw e;
  }
  return getNsid(conn, which);
}

/** The nsid a RTM_NEWNSID / RTM_DELNSID notification is about. */
export const notifiedNsid = (msg: NetlinkMessage): number | undefined => decodeNsid(msg).nsid;
