// The plugin's link requests, on the library's own: a missing link is undefined (or false) here
// instead of ENODEV. Each is one netlink message on the connection the caller holds.
import type { Connection } from '../connection.js';
import { NetlinkError } from '../errors.js';
import { decodeLink, encodeLink, type LinkMessage } from '../netlink/link.js';
import * as rt from '../netlink/rtnetlink.js';
import { protinfo, vlanSpec } from '../route/bridge.js';
import { deleteLink, getLinkMessage } from '../route/links.js';

const noSuchLink = (e: unknown): boolean => e instanceof NetlinkError && e.code === 'ENODEV';

/** One link by index or (valid) name; undefined when there is no such link. */
export const findLink = (conn: Connection, link: string | number): Promise<LinkMessage | undefined> =>
  getLinkMessage(conn, link).catch((e: unknown) => (noSuchLink(e) ? undefined : Promise.reject(e)));

/** RTM_GETLINK by a name the runtime gave (CHECK's CNI_IFNAME, a prevResult's host veth), sent
 *  as it is: getLinkMessage() would refuse a name such as 'eth%d' before asking, so CHECK would
 *  answer "invalid config" instead of "missing" (or the kernel's error). */
export async function findLinkByGivenName(conn: Connection, name: string): Promise<LinkMessage | undefined> {
  try {
    const reply = await conn.request((w, seq) => encodeLink(w, rt.RTM_GETLINK, 0, seq, { family: 0, index: 0, flags: 0, change: 0, name }), {
      operation: 'RTM_GETLINK',
      object: name,
      inline: true,
    });
    const m = reply.messages.find((x) => x.type === rt.RTM_NEWLINK);
    return m ? decodeLink(m) : undefined;
  } catch (e) {
    if (noSuchLink(e)) return undefined;
    throw e;
  }
}

/** RTM_SETLINK of family AF_BRIDGE on a port with one nested attribute. setBridgePort() and
 *  addBridgeVlan() send the same bytes, but queue them a microtask later (after requests issued
 *  next to them) and name the port '#N' only: these stay on the caller's connection at once. */
function bridgePortChange(conn: Connection, index: number, attr: number, payload: Buffer, object: string) {
  const m: Partial<LinkMessage> = { family: rt.AF_BRIDGE, index, flags: 0, change: 0, unknown: [{ type: attr, nested: true, data: payload }] };
  return conn.request((w, seq) => encodeLink(w, rt.RTM_SETLINK, 0, seq, m), { operation: 'RTM_SETLINK', object, inline: true });
}

/** Hairpin mode on for a bridge port (`bridge link set dev X hairpin on`). */
export const setHairpin = (conn: Connection, index: number) => bridgePortChange(conn, index, rt.IFLA_PROTINFO, protinfo({ hairpin: true }), `#${index} hairpin`);

/** `bridge vlan add dev X vid V pvid untagged master`: the port's access VLAN. */
export const addPortVlan = (conn: Connection, index: number, vid: number) =>
  bridgePortChange(conn, index, rt.IFLA_AF_SPEC, vlanSpec({ vid, pvid: true, untagged: true, master: true }), `#${index} vlan ${vid}`);

/** Deletes a host link by index (deleteLink); false when it was already gone. */
export const deleteLinkIndex = (index: number): Promise<boolean> =>
  deleteLink(index).then(
    () => true,
    (e: unknown) => (noSuchLink(e) ? false : Promise.reject(e)),
  );
