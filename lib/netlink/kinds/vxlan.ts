// vxlan: VNI, endpoints, underlay device. Two things differ from most attributes: the UDP
// port (IFLA_VXLAN_PORT) is big-endian, and an address goes in IFLA_VXLAN_GROUP/LOCAL for
// IPv4 but in IFLA_VXLAN_GROUP6/LOCAL6 for IPv6, chosen here by its length.
import {
  type Attr,
  DecodeError,
  EncodeError,
  type FieldTable,
  type FieldWriter,
  readAttrs,
  scalar,
  tableRead,
  tableWriters,
  writeAttrs,
} from '../attributes.js';
import {
  IFLA_VXLAN_GROUP,
  IFLA_VXLAN_GROUP6,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_LINK,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_LOCAL6,
  IFLA_VXLAN_PORT,
  IFLA_VXLAN_TTL,
} from '../rtnetlink.js';
import type { LinkKindCodec } from './index.js';

export interface VxlanInfoData {
  /** The VNI (24 bits). */
  id?: number;
  /** Multicast group or unicast remote: 4 bytes (IPv4) or 16 (IPv6). */
  group?: Buffer;
  /** Source address: 4 bytes (IPv4) or 16 (IPv6). */
  local?: Buffer;
  /** Destination UDP port, host order here (big-endian on the wire). */
  port?: number;
  /** Underlay ifindex. */
  link?: number;
  ttl?: number;
  learning?: boolean;
  unknown?: Attr[];
  /** The attributes as received, for byte-exact re-encoding (see writeAttrs). */
  layout?: readonly Attr[];
}

// Table order is the default wire order; it follows iproute2's so requests match ip's bytes.
const before: FieldTable<VxlanInfoData> = [
  ['link', IFLA_VXLAN_LINK, scalar.u32],
  ['ttl', IFLA_VXLAN_TTL, scalar.u8],
  ['id', IFLA_VXLAN_ID, scalar.u32],
];
const after: FieldTable<VxlanInfoData> = [
  ['learning', IFLA_VXLAN_LEARNING, scalar.bool8],
  ['port', IFLA_VXLAN_PORT, scalar.u16be],
];

function address(field: string, v4: number, v6: number, value: Buffer | undefined): [number, FieldWriter][] {
  if (value === undefined) return [];
  if (value.length !== 4 && value.length !== 16) {
    throw new EncodeError(`vxlan ${field} must be 4 (IPv4) or 16 (IPv6) bytes, got ${value.length}`);
  }
  const type = value.length === 4 ? v4 : v6;
  return [[type, (a) => a.bytes(type, value)]];
}

function readAddress(attr: Attr, length: number): Buffer {
  if (attr.data.length !== length) {
    throw new DecodeError(`vxlan attribute ${attr.type}: address of ${attr.data.length} bytes, expected ${length}`);
  }
  return Buffer.from(attr.data);
}

export const vxlan: LinkKindCodec<VxlanInfoData> = {
  kind: 'vxlan',

  encodeData(a, data) {
    const fields = [
      ...tableWriters(before, data),
      ...address('local', IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6, data.local),
      ...address('group', IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6, data.group),
      ...tableWriters(after, data),
    ];
    writeAttrs(a, fields, data.unknown, data.layout);
  },

  decodeData(buf) {
    const out: VxlanInfoData = {};
    const rest = readAttrs(buf, (attr) => {
      switch (attr.type) {
        case IFLA_VXLAN_GROUP:
          out.group = readAddress(attr, 4);
          return true;
        case IFLA_VXLAN_GROUP6:
          out.group = readAddress(attr, 16);
          return true;
        case IFLA_VXLAN_LOCAL:
          out.local = readAddress(attr, 4);
          return true;
        case IFLA_VXLAN_LOCAL6:
          out.local = readAddress(attr, 16);
          return true;
        default:
          return tableRead(before, out, attr) || tableRead(after, out, attr);
      }
    });
    return Object.assign(out, rest);
  },
};
