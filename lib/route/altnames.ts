// Alternative link names (`ip link property add/del dev LINK altname NAME`): RTM_NEWLINKPROP /
// RTM_DELLINKPROP with IFLA_PROP_LIST. A link can be found by any of its altnames wherever a
// name is taken (getLink, setLink, ...); listLinks and getLink report them as `altNames`.
import { encodeLink, type LinkMessage } from '../netlink/link.js';
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL } from '../netlink/message.js';
import * as rt from '../netlink/rtnetlink.js';
import { withConnection, type NetnsOption } from '../target.js';
import { ifname } from '../fields.js';
import { checkNetnsOption, linkSelector, resolveIndex, type LinkRef } from './links.js';

async function changeAltName(type: number, flags: number, link: LinkRef, name: string, opts: NetnsOption): Promise<void> {
  linkSelector(link);
  ifname.check(name, 'name');
  checkNetnsOption(opts);
  await withConnection(opts.netns, async (conn) => {
    const m: Partial<LinkMessage> = { family: 0, index: await resolveIndex(conn, link), flags: 0, change: 0, altNames: [name] };
    await conn.request((w, seq) => encodeLink(w, type, flags, seq, m), { operation: rt.rtmName(type), object: `${link} altname ${name}`, inline: true });
  });
}

/**
 * Gives a link an alternative name (`ip link property add dev LINK altname NAME`). EEXIST if
 * any link has that name or altname already.
 *
 * @example
 * ```ts
 * await addAltName('eth0', 'uplink');
 * await getLink('uplink');   // eth0
 * ```
 */
export const addAltName = (link: LinkRef, name: string, opts: NetnsOption = {}): Promise<void> =>
  changeAltName(rt.RTM_NEWLINKPROP, NLM_F_CREATE | NLM_F_EXCL | NLM_F_APPEND, link, name, opts);

/**
 * Removes an alternative name (`ip link property del dev LINK altname NAME`).
 *
 * @example
 * ```ts
 * await deleteAltName('eth0', 'uplink');
 * ```
 */
export const deleteAltName = (link: LinkRef, name: string, opts: NetnsOption = {}): Promise<void> => changeAltName(rt.RTM_DELLINKPROP, 0, link, name, opts);
