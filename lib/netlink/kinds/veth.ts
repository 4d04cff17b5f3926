// veth: IFLA_INFO_DATA holds VETH_INFO_PEER, which is a whole link message (ifinfomsg +
// IFLA_* attributes) describing the peer. Putting IFLA_NET_NS_FD in it creates the peer
// directly inside another namespace, with no move afterwards. The kernel never reports the
// peer back (veth has no fill_info), so decoding it matters for requests only.
import { type Attr, type FieldWriter, readAttrs, writeAttrs, writeNest } from '../attributes.js';
import type { LinkMessage } from '../link.js';
import { VETH_INFO_PEER } from '../rtnetlink.js';
import type { LinkKindCodec } from './index.js';

export interface VethInfoData {
  peer?: Partial<LinkMessage>;
  unknown?: Attr[];
  /** The attributes as received, for byte-exact re-encoding (see writeAttrs). */
  layout?: readonly Attr[];
}

export const veth: LinkKindCodec<VethInfoData> = {
  kind: 'veth',

  encodeData(a, data, link) {
    const fields: [number, FieldWriter][] = [];
    const peer = data.peer;
    if (peer) fields.push([VETH_INFO_PEER, (a, like) => writeNest(a, VETH_INFO_PEER, like, () => link.encode(a.w, peer))]);
    writeAttrs(a, fields, data.unknown, data.layout);
  },

  decodeData(buf, link) {
    const out: VethInfoData = {};
    const rest = readAttrs(buf, (attr) => {
      if (attr.type !== VETH_INFO_PEER) return false;
      out.peer = link.decode(attr.data);
      return true;
    });
    return Object.assign(out, rest);
  },
};
