// macvlan: the mode (MACVLAN_MODE_BRIDGE and friends). The parent is IFLA_LINK on the link
// message itself, not in here.
import { type Attr, type FieldTable, readAttrs, scalar, tableRead, tableWriters, writeAttrs } from '../attributes.js';
import { IFLA_MACVLAN_MODE } from '../rtnetlink.js';
import type { LinkKindCodec } from './index.js';

export interface MacvlanInfoData {
  /** MACVLAN_MODE_PRIVATE, _VEPA, _BRIDGE, _PASSTHRU or _SOURCE. */
  mode?: number;
  unknown?: Attr[];
  /** The attributes as received, for byte-exact re-encoding (see writeAttrs). */
  layout?: readonly Attr[];
}

const fields: FieldTable<MacvlanInfoData> = [['mode', IFLA_MACVLAN_MODE, scalar.u32]];

export const macvlan: LinkKindCodec<MacvlanInfoData> = {
  kind: 'macvlan',
  encodeData(a, data) {
    writeAttrs(a, tableWriters(fields, data), data.unknown, data.layout);
  },
  decodeData(buf) {
    const out: MacvlanInfoData = {};
    return Object.assign(out, readAttrs(buf, (attr) => tableRead(fields, out, attr)));
  },
};
