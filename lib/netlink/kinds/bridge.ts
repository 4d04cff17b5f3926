// bridge: a few IFLA_BR_* settings worth setting at creation. The kernel reports ~45 of
// them; the rest stay in `unknown`. Times are in centiseconds (clock_t) as the kernel
// takes them: forward_delay 1500 is 15 s.
import { type Attr, type FieldTable, readAttrs, scalar, tableRead, tableWriters, writeAttrs } from '../attributes.js';
import {
  IFLA_BR_AGEING_TIME,
  IFLA_BR_FORWARD_DELAY,
  IFLA_BR_HELLO_TIME,
  IFLA_BR_MAX_AGE,
  IFLA_BR_MCAST_SNOOPING,
  IFLA_BR_PRIORITY,
  IFLA_BR_STP_STATE,
  IFLA_BR_VLAN_FILTERING,
} from '../rtnetlink.js';
import type { LinkKindCodec } from './index.js';

export interface BridgeInfoData {
  /** 0 off, 1 on. */
  stpState?: number;
  forwardDelay?: number;
  helloTime?: number;
  maxAge?: number;
  ageingTime?: number;
  priority?: number;
  vlanFiltering?: boolean;
  mcastSnooping?: boolean;
  unknown?: Attr[];
  /** The attributes as received, for byte-exact re-encoding (see writeAttrs). */
  layout?: readonly Attr[];
}

const fields: FieldTable<BridgeInfoData> = [
  ['stpState', IFLA_BR_STP_STATE, scalar.u32],
  ['forwardDelay', IFLA_BR_FORWARD_DELAY, scalar.u32],
  ['ageingTime', IFLA_BR_AGEING_TIME, scalar.u32],
  ['helloTime', IFLA_BR_HELLO_TIME, scalar.u32],
  ['maxAge', IFLA_BR_MAX_AGE, scalar.u32],
  ['priority', IFLA_BR_PRIORITY, scalar.u16],
  ['mcastSnooping', IFLA_BR_MCAST_SNOOPING, scalar.bool8],
  ['vlanFiltering', IFLA_BR_VLAN_FILTERING, scalar.bool8],
];

export const bridge: LinkKindCodec<BridgeInfoData> = {
  kind: 'bridge',
  encodeData(a, data) {
    writeAttrs(a, tableWriters(fields, data), data.unknown, data.layout);
  },
  decodeData(buf) {
    const out: BridgeInfoData = {};
    return Object.assign(out, readAttrs(buf, (attr) => tableRead(fields, out, attr)));
  },
};
