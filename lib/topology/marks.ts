// How a topology knows what is its own: its link group (topologyGroup(spec)).
//
// Every link it creates carries the group, set in the creating request itself, and every named
// namespace it creates carries it on its loopback device, set from inside the namespace before
// the namespace is mounted in the run dir. So the mark is atomic with the object: a crash can
// leave an object half configured, but never an object of ours without the mark (which would
// later look foreign) nor a foreign object with it. Apply adopts only what carries the mark,
// destroy removes only that, and the group is what makes teardown one RTM_DELLINK.
import { NetlinkError } from '../errors.js';
import type { NamespaceHandle } from '../handle.js';
import { encodeForAddon } from '../connection.js';
import { getLink, linkUpRequest, type LinkInfo } from '../route/links.js';

/** lo is the first link of every namespace. */
export const LOOPBACK_INDEX = 1;

/** Marks by group and loopback state (see namespaceMark). */
const marks = new Map<number, Buffer>();

/** The request that marks a new namespace (lo gets the group, and comes up unless the spec
 *  says `loopback: false`), encoded for the addon to send from inside it before the mount. */
export function namespaceMark(group: number, loopbackUp: boolean): Buffer {
  // The same bytes for every namespace of a topology: encoded once (the addon copies them).
  // group is a u32: twice it plus one stays an exact integer.
  const key = group * 2 + (loopbackUp ? 1 : 0);
  let mark = marks.get(key);
  if (!mark) {
    if (marks.size >= 64) marks.clear();
    mark = encodeForAddon([linkUpRequest(LOOPBACK_INDEX, loopbackUp, 'lo', group)]).bytes;
    marks.set(key, mark);
  }
  return mark;
}

/** The group a namespace's loopback carries: the topology that made it, or 0. */
export async function namespaceGroup(ns: NamespaceHandle): Promise<number> {
  return (await getLink(LOOPBACK_INDEX, { netns: ns })).group ?? 0;
}

/** How a link that is in the way reads in an error. */
export function describeKind(l: LinkInfo): string {
  if (l.flags.includes('LOOPBACK')) return 'the loopback device';
  return l.kind ? `a ${l.kind}` : 'a device';
}

/** EEXIST for an object that is in the way and is not the topology's: nothing was changed. */
export function clash(object: string, why: string): NetlinkError {
  return new NetlinkError({ errno: -17, syscall: 'sendmsg', operation: 'topology apply', object, hint: why });
}
