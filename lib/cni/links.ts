// The plugin's link requests, on the library's own: a missing link is undefined (or false) here
// instead of ENODEV. Each is one netlink message on the connection the caller holds.
import type { Connection } from '../connection.js';
import { NetlinkError } from '../errors.js';
import type { LinkMessage } from '../netlink/link.js';
import * as rt from '../netlink/rtnetlink.js';
import { protinfo, setBridgeLink, vlanSpec } from '../route/bridge.js';
import { deleteLink, linkLabel, linkMessageBy } from '../route/links.js';

const noSuchLink = (e: unknown): boolean => e instanceof NetlinkError && e.code === 'ENODEV';

/** One link by index, or by name as the config or the runtime gave it (CHECK's CNI_IFNAME, a
 *  prevResult's host veth), sent unchecked: a name such as 'eth%d' gets the kernel's answer
 *  ("missing"), not "invalid config". Undefined when there is no such link. */
export const findLink = (conn: Connection, link: string | number): Promise<LinkMessage | undefined> =>
  linkMessageBy(conn, typeof link === 'number' ? { index: link } : { index: 0, name: link }, linkLabel(link)).catch((e: unknown) =>
    noSuchLink(e) ? undefined : Promise.reject(e),
  );

// Bridge port changes queued on the caller's connection at once (setBridgePort() and
// addBridgeVlan() send the same bytes a microtask later, after requests issued next to them).

/** Hairpin mode on for a bridge port (`bridge link set dev X hairpin on`). */
export const setHairpin = (conn: Connection, index: number) => setBridgeLink(conn, rt.RTM_SETLINK, index, rt.IFLA_PROTINFO, protinfo({ hairpin: true }), `#${index} hairpin`);

/** `bridge vlan add dev X vid V pvid untagged master`: the port's access VLAN. */
export const addPortVlan = (conn: Connection, index: number, vid: number) =>
  setBridgeLink(conn, rt.RTM_SETLINK, index, rt.IFLA_AF_SPEC, vlanSpec({ vid, pvid: true, untagged: true, master: true }), `#${index} vlan ${vid}`);

/** Deletes a host link by index (deleteLink); false when it was already gone. */
export const deleteLinkIndex = (index: number): Promise<boolean> =>
  deleteLink(index).then(
    () => true,
    (e: unknown) => (noSuchLink(e) ? false : Promise.reject(e)),
  );
