// Bridge ports and vlans: `bridge link set` (port flags) and `bridge vlan add/del/show`
// (per-port vlans, with pvid and untagged). Both speak RTM_SETLINK / RTM_DELLINK with family
// AF_BRIDGE: port flags in IFLA_PROTINFO, vlans in IFLA_AF_SPEC (see netlink/bridge-vlan.ts).
import type { Connection } from '../connection.js';
import { ArgumentError } from '../errors.js';
import { AttrWriter, ByteWriter } from '../netlink/attributes.js';
import { decodeBridgeAfSpec, encodeBridgeAfSpec, type BridgeVlanInfo } from '../netlink/bridge-vlan.js';
import { decodeLink, encodeLink, type LinkMessage } from '../netlink/link.js';
import * as rt from '../netlink/rtnetlink.js';
import { netnsLabel, withConnection, type NetnsOption } from '../target.js';
import { flag, netnsShape } from '../fields.js';
import { integer, object, optional, type OptionalSchema } from '../schema.js';
import { u32 } from '../fields.js';
import { BRPORT_FLAGS, checkNetnsOption, type BridgePortFlags, type BridgeSettings, linkSelector, resolveBridge, resolveIndex, type LinkRef } from './links.js';

/** What setBridgePort changes on a bridge port (`bridge link set dev PORT ...`). */
export interface BridgePortOptions extends NetnsOption, BridgePortFlags {
  /** STP path cost. */
  cost?: number;
  /** STP port priority (0..63). */
  priority?: number;
}

const portHints = {
  mcast_flood: 'mcastFlood', bcast_flood: 'bcastFlood', neigh_suppress: 'neighSuppress', proxy_arp: 'proxyArp',
  unicastFlood: 'flood', hairpinMode: 'hairpin', ns: 'netns',
};

const bridgePortOptions = object<BridgePortOptions>(
  'setBridgePort options',
  {
    ...netnsShape,
    ...(Object.fromEntries(BRPORT_FLAGS.map(([key]) => [key, optional(flag)])) as Record<keyof BridgePortFlags, OptionalSchema<boolean>>),
    cost: optional(integer(1, 65535)),
    priority: optional(integer(0, 63)),
  },
  { hints: portHints },
);

/** @internal the IFLA_PROTINFO payload for the given port options, in bridge(8)'s order. */
export function protinfo(opts: BridgePortOptions): Buffer {
  const a = new AttrWriter(new ByteWriter(64));
  for (const [key, type] of BRPORT_FLAGS) {
    const v = opts[key];
    if (v !== undefined) a.u8(type, v ? 1 : 0);
  }
  if (opts.cost !== undefined) a.u32(rt.IFLA_BRPORT_COST, opts.cost);
  if (opts.priority !== undefined) a.u16(rt.IFLA_BRPORT_PRIORITY, opts.priority);
  return a.w.take();
}

/** @internal RTM_SETLINK/RTM_DELLINK of family AF_BRIDGE on a port with one nested attribute,
 *  queued on `conn` at once. */
export async function setBridgeLink(conn: Connection, type: number, index: number, attr: number, payload: Buffer, label: string): Promise<void> {
  const m: Partial<LinkMessage> = { family: rt.AF_BRIDGE, index, flags: 0, change: 0, unknown: [{ type: attr, nested: true, data: payload }] };
  await conn.request((w, seq) => encodeLink(w, type, 0, seq, m), { operation: rt.rtmName(type), object: label, inline: true });
}

/**
 * Changes a bridge port's flags (`bridge link set dev PORT hairpin on isolated on learning off
 * flood off`). The port must be enslaved to a bridge (EOPNOTSUPP otherwise).
 *
 * @example
 * ```ts
 * await setBridgePort('veth-pb', { hairpin: true, learning: false });
 * ```
 */
export async function setBridgePort(port: LinkRef, opts: BridgePortOptions): Promise<void> {
  linkSelector(port, 'port');
  bridgePortOptions.check(opts, '');
  const payload = protinfo(opts);
  if (payload.length === 0) throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'options', 'nothing to change');
  await withConnection(opts.netns, async (conn) => {
    const index = await resolveIndex(conn, port, 'port');
    await setBridgeLink(conn, rt.RTM_SETLINK, index, rt.IFLA_PROTINFO, payload, String(port));
  });
}

/** A vlan on a bridge port (`bridge vlan add dev PORT vid VID [pvid] [untagged] [self] [master]`). */
export interface BridgeVlanOptions extends NetnsOption {
  /** 1..4094. */
  vid: number;
  /** Untagged ingress frames belong to this vlan. */
  pvid?: boolean;
  /** Frames of this vlan leave the port untagged. */
  untagged?: boolean;
  /** The bridge device itself (use with `dev` = the bridge). */
  self?: boolean;
  /** The port's bridge (the default). */
  master?: boolean;
}

const bridgeVlanOptions = object<BridgeVlanOptions>(
  'bridge vlan options',
  { ...netnsShape, vid: integer(1, 4094, 'ERR_INVALID_VLAN'), pvid: optional(flag), untagged: optional(flag), self: optional(flag), master: optional(flag) },
  { hints: { vlan: 'vid', id: 'vid', ns: 'netns' } },
);

/** @internal the IFLA_AF_SPEC payload of a vlan change. */
export function vlanSpec(opts: BridgeVlanOptions): Buffer {
  const flags = (opts.pvid ? rt.BRIDGE_VLAN_INFO_PVID : 0) | (opts.untagged ? rt.BRIDGE_VLAN_INFO_UNTAGGED : 0);
  const who = (opts.self ? rt.BRIDGE_FLAGS_SELF : 0) | (opts.master ? rt.BRIDGE_FLAGS_MASTER : 0);
  // As bridge(8): IFLA_BRIDGE_FLAGS only when self or master is asked for.
  return encodeBridgeAfSpec({ ...(who ? { bridgeFlags: who } : {}), vlans: [{ flags, vid: opts.vid }] });
}

async function changeVlan(type: number, dev: LinkRef, opts: BridgeVlanOptions): Promise<void> {
  linkSelector(dev, 'dev');
  bridgeVlanOptions.check(opts, '');
  const payload = vlanSpec(opts);
  await withConnection(opts.netns, async (conn) => {
    const index = await resolveIndex(conn, dev, 'dev');
    await setBridgeLink(conn, type, index, rt.IFLA_AF_SPEC, payload, `${dev} vid ${opts.vid}`);
  });
}

/**
 * Adds a vlan to a bridge port (`bridge vlan add dev PORT vid VID pvid untagged`). The bridge
 * needs vlan filtering (createBridge's `vlanFiltering`); a kernel built without
 * CONFIG_BRIDGE_VLAN_FILTERING answers EOPNOTSUPP.
 *
 * @example
 * ```ts
 * await addBridgeVlan('veth-pb', { vid: 10, pvid: true, untagged: true });
 * ```
 */
export const addBridgeVlan = (dev: LinkRef, opts: BridgeVlanOptions): Promise<void> => changeVlan(rt.RTM_SETLINK, dev, opts);

/**
 * Removes a vlan from a bridge port (`bridge vlan del dev PORT vid VID`).
 *
 * @example
 * ```ts
 * await deleteBridgeVlan('veth-pb', { vid: 10 });
 * ```
 */
export const deleteBridgeVlan = (dev: LinkRef, opts: BridgeVlanOptions): Promise<void> => changeVlan(rt.RTM_DELLINK, dev, opts);

/** A port's vlans as listBridgeVlans describes them (`bridge -json vlan show`). */
export interface BridgeVlans {
  dev: string;
  index: number;
  vlans: { vid: number; pvid: boolean; untagged: boolean }[];
  netns?: string;
}

/**
 * Every bridge port's (and bridge's) vlans: an AF_BRIDGE link dump with RTEXT_FILTER_BRVLAN.
 * Ports without vlans are left out, as bridge(8) does.
 *
 * @example
 * ```ts
 * const vlans = await listBridgeVlans();
 * // [{ dev: 'veth-pb', index: 5, vlans: [{ vid: 1, pvid: true, untagged: true }, { vid: 10, pvid: false, untagged: false }] }]
 * ```
 */
export async function listBridgeVlans(opts: NetnsOption = {}): Promise<BridgeVlans[]> {
  checkNetnsOption(opts);
  return withConnection(opts.netns, async (conn) => {
    const msgs = await conn.dump(
      (w, seq) => encodeLink(w, rt.RTM_GETLINK, 0, seq, { family: rt.AF_BRIDGE, index: 0, flags: 0, change: 0, extMask: rt.RTEXT_FILTER_BRVLAN }),
      { operation: 'RTM_GETLINK' },
    );
    const out: BridgeVlans[] = [];
    for (const msg of msgs) {
      if (msg.type !== rt.RTM_NEWLINK) continue;
      const l = decodeLink(msg);
      if (!l.afSpec) continue;
      const vlans = decodeBridgeAfSpec(l.afSpec).vlans.map((v: BridgeVlanInfo) => ({
        vid: v.vid,
        pvid: (v.flags & rt.BRIDGE_VLAN_INFO_PVID) !== 0,
        untagged: (v.flags & rt.BRIDGE_VLAN_INFO_UNTAGGED) !== 0,
      }));
      if (vlans.length === 0) continue;
      const entry: BridgeVlans = { dev: l.name ?? `if${l.index}`, index: l.index, vlans };
      const label = netnsLabel(opts.netns);
      if (label !== undefined) entry.netns = label;
      out.push(entry);
    }
    return out;
  });
}


/** What setBridge changes on a bridge (`ip link set BRIDGE type bridge ...`). Times are in
 *  hundredths of a second, as the kernel keeps them (forward_delay 1500 is 15 s). */
export interface SetBridgeOptions extends NetnsOption, BridgeSettings {
  /** Spanning tree on or off (`stp_state`). */
  stp?: boolean;
}

const setBridgeOptions = object<SetBridgeOptions>(
  'setBridge options',
  {
    ...netnsShape,
    stp: optional(flag),
    vlanFiltering: optional(flag),
    forwardDelay: optional(u32),
    helloTime: optional(u32),
    maxAge: optional(u32),
    ageingTime: optional(u32),
    priority: optional(integer(0, 65535)),
    mcastSnooping: optional(flag),
  },
  {
    hints: {
      stp_state: 'stp', vlan_filtering: 'vlanFiltering', forward_delay: 'forwardDelay', hello_time: 'helloTime', max_age: 'maxAge',
      ageing_time: 'ageingTime', mcast_snooping: 'mcastSnooping', ns: 'netns',
    },
  },
);

/**
 * Changes a bridge's options (`ip link set BRIDGE type bridge stp_state 1 forward_delay 400
 * vlan_filtering 1 ...`). Refuses a link that is not a bridge (ERR_NOT_A_BRIDGE) before
 * anything changes; read the result back with getLink(bridge).detail.
 *
 * @example
 * ```ts
 * await setBridge('br0', { stp: true, forwardDelay: 400, ageingTime: 1000 });
 * ```
 */
export async function setBridge(bridge: LinkRef, opts: SetBridgeOptions): Promise<void> {
  linkSelector(bridge, 'bridge');
  setBridgeOptions.check(opts, '');
  const data: Record<string, number | boolean> = {};
  if (opts.stp !== undefined) data.stpState = opts.stp ? 1 : 0;
  for (const k of ['forwardDelay', 'helloTime', 'maxAge', 'ageingTime', 'priority', 'vlanFiltering', 'mcastSnooping'] as const) {
    if (opts[k] !== undefined) data[k] = opts[k]!;
  }
  if (Object.keys(data).length === 0) throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'options', 'nothing to change');
  await withConnection(opts.netns, async (conn) => {
    const index = await resolveBridge(conn, bridge);
    const m: Partial<LinkMessage> = { family: 0, index, flags: 0, change: 0, linkInfo: { kind: 'bridge', data } };
    await conn.request((w, seq) => encodeLink(w, rt.RTM_NEWLINK, 0, seq, m), { operation: 'RTM_NEWLINK', object: String(bridge), inline: true });
  });
}
