// IFLA_AF_SPEC of an AF_BRIDGE link message: what `bridge vlan` reads and writes. It holds
// IFLA_BRIDGE_FLAGS (u16: BRIDGE_FLAGS_MASTER / _SELF, who should act) and one
// IFLA_BRIDGE_VLAN_INFO per vlan (struct bridge_vlan_info { u16 flags; u16 vid; }); a range
// is two entries, RANGE_BEGIN then RANGE_END.
import { AttrWriter, ByteWriter, DecodeError, readAttrs, readU16 } from './attributes.js';
import { BRIDGE_VLAN_INFO_RANGE_BEGIN, BRIDGE_VLAN_INFO_RANGE_END, IFLA_BRIDGE_FLAGS, IFLA_BRIDGE_VLAN_INFO } from './rtnetlink.js';

export interface BridgeVlanInfo {
  /** BRIDGE_VLAN_INFO_* bits (PVID, UNTAGGED, MASTER, BRENTRY, RANGE_*). */
  flags: number;
  vid: number;
}

export interface BridgeAfSpec {
  /** IFLA_BRIDGE_FLAGS, if present. */
  bridgeFlags?: number;
  vlans: BridgeVlanInfo[];
}

/** The payload of IFLA_AF_SPEC for a `bridge vlan add/del` request. */
export function encodeBridgeAfSpec(spec: BridgeAfSpec): Buffer {
  const a = new AttrWriter(new ByteWriter(64));
  if (spec.bridgeFlags !== undefined) a.u16(IFLA_BRIDGE_FLAGS, spec.bridgeFlags);
  for (const v of spec.vlans) {
    const b = Buffer.alloc(4);
    b.writeUInt16LE(v.flags, 0);
    b.writeUInt16LE(v.vid, 2);
    a.bytes(IFLA_BRIDGE_VLAN_INFO, b);
  }
  return a.w.take();
}

/** Decodes IFLA_AF_SPEC of an AF_BRIDGE dump; ranges are expanded into one entry per vid. */
export function decodeBridgeAfSpec(buf: Buffer): BridgeAfSpec {
  const out: BridgeAfSpec = { vlans: [] };
  let rangeStart: BridgeVlanInfo | undefined;
  for (const attr of readAttrs(buf, () => true).layout) {
    if (attr.type === IFLA_BRIDGE_FLAGS) out.bridgeFlags = readU16(attr.data);
    if (attr.type !== IFLA_BRIDGE_VLAN_INFO) continue;
    if (attr.data.length < 4) throw new DecodeError(`IFLA_BRIDGE_VLAN_INFO of ${attr.data.length} bytes, need 4`);
    const v = { flags: attr.data.readUInt16LE(0), vid: attr.data.readUInt16LE(2) };
    if (v.flags & BRIDGE_VLAN_INFO_RANGE_BEGIN) {
      rangeStart = v;
    } else if (v.flags & BRIDGE_VLAN_INFO_RANGE_END && rangeStart) {
      const flags = rangeStart.flags & ~BRIDGE_VLAN_INFO_RANGE_BEGIN;
      // A range's vids are bounded by 4094; a corrupt one cannot make this loop long.
      for (let vid = rangeStart.vid; vid <= Math.min(v.vid, 4095); vid++) out.vlans.push({ flags, vid });
      rangeStart = undefined;
    } else {
      out.vlans.push(v);
    }
  }
  return out;
}
