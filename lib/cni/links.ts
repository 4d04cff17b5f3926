// The few link requests the CNI plugin needs that the public API does not have: read a link
// with its alias, set the alias that marks our veths, hairpin and VLAN on a bridge port,
// promiscuous mode. Each is one netlink message on an existing connection.
import type { Connection } from '../connection.js';
import { NetlinkError } from '../errors.js';
import { AttrWriter, type ByteWriter } from '../netlink/attributes.js';
import { decodeLink, encodeLink, type LinkMessage } from '../netlink/link.js';
import { writeMessage } from '../netlink/message.js';
import * as rt from '../netlink/rtnetlink.js';

/** RTM_GETLINK by name or index; undefined when there is no such link. */
export async function findLink(conn: Connection, link: string | number): Promise<LinkMessage | undefined> {
  const sel = typeof link === 'number' ? { index: link } : { index: 0, name: link };
  try {
    const reply = await conn.request((w, seq) => encodeLink(w, rt.RTM_GETLINK, 0, seq, { family: 0, flags: 0, change: 0, ...sel }), {
      operation: 'RTM_GETLINK',
      object: String(link),
      inline: true,
    });
    const m = reply.messages.find((x) => x.type === rt.RTM_NEWLINK);
    return m ? decodeLink(m) : undefined;
  } catch (e) {
    if (e instanceof NetlinkError && e.code === 'ENODEV') return undefined;
    throw e;
  }
}

/** Every link of the connection's namespace, decoded (aliases included). */
export async function dumpLinks(conn: Connection): Promise<LinkMessage[]> {
  const msgs = await conn.dump((w, seq) => encodeLink(w, rt.RTM_GETLINK, 0, seq, { family: 0, index: 0, flags: 0, change: 0 }), { operation: 'RTM_GETLINK' });
  return msgs.filter((m) => m.type === rt.RTM_NEWLINK).map(decodeLink);
}

/** Changes attributes of a link by index (alias, MAC, flags). */
export function changeLink(conn: Connection, index: number, m: Partial<LinkMessage>) {
  return conn.request((w, seq) => encodeLink(w, rt.RTM_NEWLINK, 0, seq, { family: 0, flags: 0, change: 0, ...m, index }), {
    operation: 'RTM_NEWLINK',
    object: `#${index}`,
    inline: true,
  });
}

/** IFF_PROMISC on a link. */
export const setPromisc = (conn: Connection, index: number) => changeLink(conn, index, { flags: rt.IFF_PROMISC, change: rt.IFF_PROMISC });

function bridgeSetlink(w: ByteWriter, seq: number, index: number, attrs: (a: AttrWriter) => void): void {
  writeMessage(w, rt.RTM_SETLINK, 0, seq, (b) => {
    b.u8(rt.AF_BRIDGE).u8(0).u16(0).i32(index).u32(0).u32(0);
    attrs(new AttrWriter(b));
  });
}

/** Hairpin mode of a bridge port (`bridge link set dev X hairpin on|off`): IFLA_PROTINFO with
 *  IFLA_BRPORT_MODE, the message the reference plugin sends. */
export function setHairpin(conn: Connection, index: number, on: boolean) {
  return conn.request((w, seq) => bridgeSetlink(w, seq, index, (a) => a.nest(rt.IFLA_PROTINFO, (p) => p.u8(rt.IFLA_BRPORT_MODE, on ? 1 : 0))), {
    operation: 'RTM_SETLINK',
    object: `#${index} hairpin`,
    inline: true,
  });
}

const IFLA_BRIDGE_FLAGS = 0;
const IFLA_BRIDGE_VLAN_INFO = 2;
const BRIDGE_FLAGS_MASTER = 1;
const BRIDGE_VLAN_INFO_PVID = 2;
const BRIDGE_VLAN_INFO_UNTAGGED = 4;

/** `bridge vlan add dev X vid V pvid untagged master`: the port's access VLAN. */
export function addPortVlan(conn: Connection, index: number, vid: number) {
  return conn.request(
    (w, seq) =>
      bridgeSetlink(w, seq, index, (a) =>
        a.nest(rt.IFLA_AF_SPEC, (s) => {
          s.u16(IFLA_BRIDGE_FLAGS, BRIDGE_FLAGS_MASTER);
          const info = Buffer.alloc(4);
          info.writeUInt16LE(BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED, 0);
          info.writeUInt16LE(vid, 2);
          s.bytes(IFLA_BRIDGE_VLAN_INFO, info);
        }),
      ),
    { operation: 'RTM_SETLINK', object: `#${index} vlan ${vid}`, inline: true },
  );
}

/** Deletes a link by index; false when it was already gone. */
export async function deleteLinkIndex(conn: Connection, index: number): Promise<boolean> {
  try {
    await conn.request((w, seq) => encodeLink(w, rt.RTM_DELLINK, 0, seq, { family: 0, flags: 0, change: 0, index }), { operation: 'RTM_DELLINK', object: `#${index}` });
    return true;
  } catch (e) {
    if (e instanceof NetlinkError && e.code === 'ENODEV') return false;
    throw e;
  }
}
