// Links: create (veth with its peer straight inside its namespace, bridge, macvlan, vxlan),
// change, enslave, move, delete, list.
import type { Connection, RequestOptions } from '../connection.js';
import { ArgumentError, ArgumentRangeError, NetlinkError } from '../errors.js';
import { formatAddress, formatMac, parseAddress, parseMac } from '../ip.js';
import type { BridgeInfoData, MacvlanInfoData, VxlanInfoData } from '../netlink/kinds/index.js';
import { AttrReader, readU16, readU32, readU8, type ByteWriter } from '../netlink/attributes.js';
import { decodeLink, encodeLink, encodeLinkFlags, linkIndexes, readStats64, type LinkMessage, type Stats64 } from '../netlink/link.js';
import { NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL } from '../netlink/message.js';
import * as rt from '../netlink/rtnetlink.js';
import { netnsLabel, promised, send, sendIn, withConnection, withNamespaceFd, type NetnsOption, type NetnsRef, type PreparedRequest } from '../target.js';
import { quoteText, validateIfIndex, validateInterfaceName } from '../validate.js';
import { abortSignal, flag, ifname, ipAddress, linkGroup, linkRef, mac, mtu, netnsRef, netnsShape, port, u32 } from '../fields.js';
import { custom, integer, object, oneOf, optional, fieldPath } from '../schema.js';

/** A link by name or by index. */
export type LinkRef = string | number;

/**
 * A link as listLinks() and getLink() describe it (what `ip -d -s link show` prints).
 *
 * @example
 * ```ts
 * const veth = await getLink('veth-pb', { netns: 'pb' });
 * if (veth.detail?.kind === 'veth') console.log(veth.name, veth.up, veth.lowerUp, veth.detail.peerIndex);
 * ```
 */
export interface LinkInfo {
  index: number;
  name: string;
  /** Link kind from IFLA_INFO_KIND ('veth', 'bridge', ...); undefined for lo and plain devices. */
  kind?: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_LOWER_UP). */
  lowerUp: boolean;
  operState: string;
  flags: string[];
  mtu?: number;
  mac?: string;
  broadcast?: string;
  /** The bridge (or other master) this link is enslaved to, by index and, when known, name. */
  masterIndex?: number;
  master?: string;
  group?: number;
  txqlen?: number;
  /** For a veth or other paired link: the peer's index, and the netnsid it lives in if not here. */
  linkIndex?: number;
  linkNetnsId?: number;
  /** Users of promiscuous mode (a bridge port counts as one). */
  promiscuity?: number;
  /** The root qdisc's kind ('noqueue', 'pfifo_fast', 'noop' while down, ...). */
  qdisc?: string;
  /** IFLA_IFALIAS, the free-text description (`ip link set X alias TEXT`). */
  alias?: string;
  /** Alternative names (`ip link property add dev X altname NAME`). */
  altNames?: string[];
  /** 64-bit counters (IFLA_STATS64). */
  stats?: LinkStats;
  /** What the link's kind reports about itself, for the kinds this library creates. */
  detail?: LinkDetail;
  /** The netns this description was read in (its name), undefined for the caller's own. */
  netns?: string;
}

/** A link's traffic counters, from IFLA_STATS64 (what `ip -s link` prints). */
export interface LinkStats {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  rxOverErrors: number;
  multicast: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
  txCarrierErrors: number;
  collisions: number;
}

/** veth: the peer, by its index in the namespace it lives in (and that namespace's nsid here). */
export interface VethDetail {
  kind: 'veth';
  peerIndex?: number;
  peerNetnsId?: number;
}

/** A bridge's IFLA_BR_* settings that setBridge changes and BridgeDetail reports. Times are
 *  in hundredths of a second, as the kernel keeps them (forward_delay 1500 is 15 s). */
export interface BridgeSettings {
  /** Per-port vlans (`vlan_filtering`); needs CONFIG_BRIDGE_VLAN_FILTERING. */
  vlanFiltering?: boolean;
  forwardDelay?: number;
  helloTime?: number;
  maxAge?: number;
  /** How long learnt FDB entries live (`ageing_time`). */
  ageingTime?: number;
  /** Bridge priority for STP (0..65535). */
  priority?: number;
  mcastSnooping?: boolean;
}

/** bridge: its IFLA_BR_* options (times in hundredths of a second, as the kernel keeps them). */
export interface BridgeDetail extends BridgeSettings {
  kind: 'bridge';
  /** Spanning tree on or off (`stp_state`). */
  stp: boolean;
}

/** macvlan: its mode. */
export interface MacvlanDetail {
  kind: 'macvlan';
  /** IFLA_MACVLAN_MODE by name; the number, as text, for a mode this library does not know. */
  mode: 'private' | 'vepa' | 'bridge' | 'passthru' | 'source' | string;
}

/** vxlan: its IFLA_VXLAN_* options. */
export interface VxlanDetail {
  kind: 'vxlan';
  id?: number;
  /** The unicast remote VTEP (IFLA_VXLAN_GROUP holding a unicast address). */
  remote?: string;
  /** The multicast group (IFLA_VXLAN_GROUP holding a multicast address). */
  group?: string;
  local?: string;
  port?: number;
  ttl?: number;
  learning?: boolean;
  /** The underlay device's index. */
  devIndex?: number;
}

/** Kind-specific detail, tagged by `kind`. */
export type LinkDetail = VethDetail | BridgeDetail | MacvlanDetail | VxlanDetail;

const IFF_NAMES: [number, string][] = [
  [0x1, 'UP'], [0x2, 'BROADCAST'], [0x8, 'LOOPBACK'], [0x10, 'POINTOPOINT'], [0x40, 'RUNNING'],
  [0x80, 'NOARP'], [0x100, 'PROMISC'], [0x200, 'ALLMULTI'], [0x400, 'MASTER'], [0x800, 'SLAVE'],
  [0x1000, 'MULTICAST'], [0x10000, 'LOWER_UP'], [0x20000, 'DORMANT'],
];
const OPER_STATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const IFF_LOWER_UP = 0x10000;

export function describeLink(m: LinkMessage, names?: Map<number, string>, netns?: string): LinkInfo {
  const info: LinkInfo = {
    index: m.index,
    name: m.name ?? `if${m.index}`,
    up: (m.flags & IFF_UP) !== 0,
    lowerUp: (m.flags & IFF_LOWER_UP) !== 0,
    operState: OPER_STATES[m.operstate ?? 0] ?? `state${m.operstate}`,
    flags: IFF_NAMES.filter(([bit]) => m.flags & bit).map(([, n]) => n),
  };
  if (m.linkInfo?.kind) info.kind = m.linkInfo.kind;
  if (m.mtu !== undefined) info.mtu = m.mtu;
  if (m.address && m.address.length > 0) info.mac = formatMac(m.address);
  if (m.broadcast && m.broadcast.length > 0) info.broadcast = formatMac(m.broadcast);
  if (m.master) {
    info.masterIndex = m.master;
    const masterName = names?.get(m.master);
    if (masterName !== undefined) info.master = masterName;
  }
  if (m.group !== undefined) info.group = m.group;
  if (m.txqlen !== undefined) info.txqlen = m.txqlen;
  const other = otherEnd(m);
  if (other !== undefined) info.linkIndex = other;
  if (m.linkNetnsId !== undefined) info.linkNetnsId = m.linkNetnsId;
  if (m.promiscuity !== undefined) info.promiscuity = m.promiscuity;
  if (m.qdisc !== undefined) info.qdisc = m.qdisc;
  if (m.alias !== undefined) info.alias = m.alias;
  if (m.altNames !== undefined && m.altNames.length > 0) info.altNames = m.altNames;
  if (m.stats64 !== undefined) info.stats = linkStats(readStats64(m.stats64));
  const detail = linkDetail(m);
  if (detail) info.detail = detail;
  if (netns !== undefined) info.netns = netns;
  return info;
}

function linkStats(s: Stats64): LinkStats {
  return {
    rxBytes: s.rxBytes ?? 0,
    rxPackets: s.rxPackets ?? 0,
    rxErrors: s.rxErrors ?? 0,
    rxDropped: s.rxDropped ?? 0,
    rxOverErrors: s.rxOverErrors ?? 0,
    multicast: s.multicast ?? 0,
    txBytes: s.txBytes ?? 0,
    txPackets: s.txPackets ?? 0,
    txErrors: s.txErrors ?? 0,
    txDropped: s.txDropped ?? 0,
    txCarrierErrors: s.txCarrierErrors ?? 0,
    collisions: s.collisions ?? 0,
  };
}

const MACVLAN_MODE_NAMES: Record<number, MacvlanDetail['mode']> = { 1: 'private', 2: 'vepa', 4: 'bridge', 8: 'passthru', 16: 'source' };

/** The link IFLA_LINK names, if another: the same index as this link's own names the link
 *  itself, unless it lives in another namespace (a veth's peer there may have this index). */
function otherEnd(m: LinkMessage): number | undefined {
  return m.link !== undefined && (m.link !== m.index || m.linkNetnsId !== undefined) ? m.link : undefined;
}

function linkDetail(m: LinkMessage): LinkDetail | undefined {
  const kind = m.linkInfo?.kind;
  const data = m.linkInfo?.data;
  if (kind === 'veth') {
    const d: VethDetail = { kind };
    const peer = otherEnd(m);
    if (peer !== undefined) d.peerIndex = peer;
    if (m.linkNetnsId !== undefined) d.peerNetnsId = m.linkNetnsId;
    return d;
  }
  if (data === undefined || Buffer.isBuffer(data)) return undefined;
  if (kind === 'bridge') {
    const b = data as BridgeInfoData;
    const d: BridgeDetail = { kind, stp: (b.stpState ?? 0) !== 0 };
    if (b.vlanFiltering !== undefined) d.vlanFiltering = b.vlanFiltering;
    if (b.forwardDelay !== undefined) d.forwardDelay = b.forwardDelay;
    if (b.helloTime !== undefined) d.helloTime = b.helloTime;
    if (b.maxAge !== undefined) d.maxAge = b.maxAge;
    if (b.ageingTime !== undefined) d.ageingTime = b.ageingTime;
    if (b.priority !== undefined) d.priority = b.priority;
    if (b.mcastSnooping !== undefined) d.mcastSnooping = b.mcastSnooping;
    return d;
  }
  if (kind === 'macvlan') {
    const mode = (data as MacvlanInfoData).mode ?? 0;
    return { kind, mode: MACVLAN_MODE_NAMES[mode] ?? String(mode) };
  }
  if (kind === 'vxlan') {
    const x = data as VxlanInfoData;
    const d: VxlanDetail = { kind };
    if (x.id !== undefined) d.id = x.id;
    if (x.group) {
      const addr = formatAddress(x.group);
      if (isMulticast(x.group)) d.group = addr;
      else d.remote = addr;
    }
    if (x.local) d.local = formatAddress(x.local);
    if (x.port !== undefined) d.port = x.port;
    if (x.ttl !== undefined) d.ttl = x.ttl;
    if (x.learning !== undefined) d.learning = x.learning;
    if (x.link !== undefined) d.devIndex = x.link;
    return d;
  }
  return undefined;
}

const isMulticast = (b: Buffer): boolean => (b.length === 4 ? (b[0]! & 0xf0) === 0xe0 : b[0] === 0xff);

/** The ifinfomsg fields that address a link: index, or index 0 and the name (the kernel
 *  resolves IFLA_IFNAME itself, so no lookup round trip is needed). */
export function linkSelector(link: LinkRef, field = 'link'): Partial<LinkMessage> {
  if (typeof link === 'number') return { index: validateIfIndex(link, field) };
  return { index: 0, name: validateInterfaceName(link, field) };
}

/** How errors name a link: its name, or `#index`. */
export function linkLabel(link: LinkRef): string {
  return typeof link === 'number' ? `#${link}` : link;
}

function request(conn: Connection, type: number, flags: number, m: Partial<LinkMessage>, object: string) {
  // Creating, deleting and moving links can wait for RCU grace periods: never inline those.
  const cheap = type === rt.RTM_GETLINK || (type === rt.RTM_NEWLINK && !(flags & NLM_F_CREATE) && m.netnsFd === undefined);
  return conn.request((w: ByteWriter, seq: number) => encodeLink(w, type, flags, seq, m), {
    operation: rt.rtmName(type),
    object,
    inline: cheap,
  });
}

/** The link's index, from the number itself or one RTM_GETLINK by name. */
export async function resolveIndex(conn: Connection, link: LinkRef, field = 'link'): Promise<number> {
  if (typeof link === 'number') return validateIfIndex(link, field);
  return (await getLinkMessage(conn, link)).index;
}

/** One link's message (RTM_GETLINK by index or name); ENODEV when there is none. */
export async function getLinkMessage(conn: Connection, link: LinkRef): Promise<LinkMessage> {
  return linkMessageBy(conn, linkSelector(link), linkLabel(link));
}

/** @internal getLinkMessage() by a selector it does not check (a name as a runtime gave it). */
export async function linkMessageBy(conn: Connection, sel: Partial<LinkMessage>, label: string): Promise<LinkMessage> {
  const reply = await request(conn, rt.RTM_GETLINK, 0, { family: 0, ...sel }, label);
  const msg = reply.messages.find((m) => m.type === rt.RTM_NEWLINK);
  if (!msg) throw new NetlinkError({ errno: -19, syscall: 'recvmsg', operation: 'RTM_GETLINK', object: label });
  return decodeLink(msg);
}

// ---- creation ----------------------------------------------------------------------------

/** Options every link creation takes. */
export interface CommonLinkOptions extends NetnsOption {
  mtu?: number;
  /** MAC address 'aa:bb:cc:dd:ee:ff'. */
  address?: string;
  /** Bring the link up in the same request. */
  up?: boolean;
  /** Link group (a u32): links sharing one can be deleted with a single request. */
  group?: number;
  /** Enslave to this bridge (by name or index) right away. */
  master?: LinkRef;
  signal?: AbortSignal;
}

const commonShape = {
  ...netnsShape,
  mtu: optional(mtu),
  address: optional(mac),
  up: optional(flag),
  group: optional(linkGroup),
  master: optional(linkRef),
  signal: optional(abortSignal),
};

/** Keys people reach for by another name (iproute2's words, or another library's). */
const linkHints = { bridge: 'master', ns: 'netns', namespace: 'netns', mac: 'address', state: 'up', peerName: "peer: { name }" };

/** The other end of a veth pair. */
export interface VethPeerOptions {
  /** The peer's name (in its own namespace). */
  name: string;
  /** Create the peer directly inside this namespace (no move, no RCU wait). */
  netns?: NetnsRef;
  mtu?: number;
  address?: string;
  group?: number;
}

/**
 * Options of createVethPair(): `name` is the end in `netns` (default: the caller's
 *  namespace), `peer.name` the other end, in `peer.netns`.
 *
 * @example
 * ```ts
 * const opts: CreateVethOptions = { name: 'bread-pb-veth', up: true, master: 'brd1', peer: { name: 'veth-pb', netns: 'pb', mtu: 1400 } };
 * await createVethPair(opts);
 * ```
 */
export interface CreateVethOptions extends CommonLinkOptions {
  /** This end's name, in `netns`. */
  name: string;
  /** The other end. */
  peer: VethPeerOptions;
}

const vethPeerOptions = object<VethPeerOptions>(
  'the veth peer',
  { name: ifname, netns: optional(netnsRef), mtu: optional(mtu), address: optional(mac), group: optional(linkGroup) },
  { hints: { ns: 'netns', namespace: 'netns', mac: 'address' } },
);
const createVethOptions = object<CreateVethOptions>('createVethPair options', { ...commonShape, name: ifname, peer: vethPeerOptions }, { hints: linkHints });

/** A link that was created. */
export interface CreatedLink {
  name: string;
  /** Index of the created link in its namespace. */
  index: number;
  /** The namespace it was created in (its name), when not the caller's. */
  netns?: string;
}

/** What createVethPair() created: this end, and `peer`. */
export interface CreatedVeth extends CreatedLink {
  /** The peer; its index is valid inside its own namespace. */
  peer: { name: string; index: number; netns?: string };
}

/** The attributes of CommonLinkOptions (already checked by their schema). */
function commonAttributes(opts: CommonLinkOptions): Partial<LinkMessage> {
  const m: Partial<LinkMessage> = {};
  if (opts.mtu !== undefined) m.mtu = opts.mtu;
  if (opts.address !== undefined) m.address = parseMac(opts.address, 'address');
  if (opts.group !== undefined) m.group = opts.group;
  if (opts.up) {
    m.flags = IFF_UP;
    m.change = IFF_UP;
  }
  return m;
}

/** A veth pair's create message from createVethPair's options, validated; `peer` is its
 *  VETH_INFO_PEER part (where IFLA_NET_NS_FD goes). The master is left to the caller. */
export function vethMessage(opts: CreateVethOptions): { m: Partial<LinkMessage>; peer: Partial<LinkMessage> } {
  createVethOptions.check(opts, '');
  const peer: Partial<LinkMessage> = { family: 0, index: 0, flags: 0, change: 0, name: opts.peer.name };
  if (opts.peer.mtu !== undefined) peer.mtu = opts.peer.mtu;
  if (opts.peer.address !== undefined) peer.address = parseMac(opts.peer.address, 'peer.address');
  if (opts.peer.group !== undefined) peer.group = opts.peer.group;
  return { m: { name: opts.name, ...commonAttributes(opts), linkInfo: { kind: 'veth', data: { peer } } }, peer };
}

/** The request that creates a link from `m`, with the kernel's echo of it (its index). */
export function createLinkRequest(m: Partial<LinkMessage>, object = m.name): PreparedRequest {
  const full = { family: 0, index: 0, flags: 0, change: 0, ...m };
  return { encode: (w, seq) => encodeLink(w, rt.RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, seq, full), opts: createLinkOpts(object) };
}

/** How a link create's answer names it in errors. */
export const createLinkOpts = (object: string | undefined): RequestOptions => ({ operation: 'RTM_NEWLINK', object });

/** Creates the link `m`; its index comes from the kernel's echo (one lookup for kinds that
 *  are set up before the echo could be sent, such as vxlan). `peerIndex`: a veth's other end. */
async function createWith(conn: Connection, m: Partial<LinkMessage>, opts: CommonLinkOptions): Promise<{ link: CreatedLink; peerIndex?: number }> {
  const name = m.name!;
  if (opts.master !== undefined) m.master = await resolveBridge(conn, opts.master, 'master');
  const reply = await send(conn, createLinkRequest(m));
  const echoed = reply.messages.find((x) => x.type === rt.RTM_NEWLINK);
  const l = echoed ? linkIndexes(echoed) : await getLinkMessage(conn, name);
  const link: CreatedLink = { name, index: l.index };
  const label = netnsLabel(opts.netns);
  if (label !== undefined) link.netns = label;
  // A veth's echo names its peer (IFLA_LINK, an index in the peer's namespace). The peer may
  // have the same index as this end in another namespace: each numbers its own links.
  return m.linkInfo?.kind === 'veth' && l.link !== undefined ? { link, peerIndex: l.link } : { link };
}

/**
 * Creates a veth pair. The peer is created directly inside `peer.netns` by the same request
 * (IFLA_NET_NS_FD in the peer's info): nothing is moved, nothing waits for an RCU grace period.
 * If either name is taken the kernel creates neither end.
 *
 * @example
 * ```ts
 * const pb = await openNamespace('pb');
 * // ip link add bread-pb-veth type veth peer name veth-pb netns pb; ip link set bread-pb-veth master brd1 up
 * const veth = await createVethPair({ name: 'bread-pb-veth', up: true, master: 'brd1', peer: { name: 'veth-pb', netns: pb } });
 * console.log(veth.index, veth.peer.index); // the peer's index is in pb
 * ```
 */
export async function createVethPair(opts: CreateVethOptions): Promise<CreatedVeth> {
  const { m, peer } = vethMessage(opts);
  const peerName = peer.name!;
  const create = (conn: Connection) => createWith(conn, m, opts);
  const created = await withConnection(opts.netns, (conn) =>
    opts.peer.netns === undefined
      ? create(conn)
      : withNamespaceFd(opts.peer.netns, (fd) => {
          peer.netnsFd = fd;
          return create(conn);
        }),
  );
  const { link } = created;
  // The echo names the peer (IFLA_LINK); a kernel that leaves it out (older ones do when it
  // equals this end's index) gets one lookup by name where the peer lives.
  const peerIndex = created.peerIndex ?? (await withConnection(opts.peer.netns ?? opts.netns, (conn) => resolveIndex(conn, peerName)));
  const out: CreatedVeth = { ...link, peer: { name: peerName, index: peerIndex } };
  const peerLabel = netnsLabel(opts.peer.netns);
  if (peerLabel !== undefined) out.peer.netns = peerLabel;
  return out;
}

/** Options of createBridge(). */
export interface CreateBridgeOptions extends CommonLinkOptions {
  /** Spanning tree on (true) or off (false, the default). */
  stp?: boolean;
  vlanFiltering?: boolean;
  /** Forward delay in hundredths of a second (kernel default 1500). */
  forwardDelay?: number;
}

const createBridgeOptions = object<CreateBridgeOptions>(
  'createBridge options',
  { ...commonShape, stp: optional(flag), vlanFiltering: optional(flag), forwardDelay: optional(u32) },
  { hints: { ...linkHints, vlan_filtering: 'vlanFiltering', stp_state: 'stp', forward_delay: 'forwardDelay' } },
);

/**
 * Creates a bridge (`ip link add NAME type bridge`), with its IFLA_BR_* options.
 *
 * @example
 * ```ts
 * await createBridge('brd1', { up: true });
 * await createBridge('brd2', { vlanFiltering: true, stp: false, netns: 'pb' });
 * ```
 */
export async function createBridge(name: string, opts: CreateBridgeOptions = {}): Promise<CreatedLink> {
  validateInterfaceName(name, 'name');
  createBridgeOptions.check(opts, '');
  const data: Record<string, number> = {};
  if (opts.stp !== undefined) data.stpState = opts.stp ? 1 : 0;
  if (opts.vlanFiltering !== undefined) data.vlanFiltering = opts.vlanFiltering ? 1 : 0;
  if (opts.forwardDelay !== undefined) data.forwardDelay = opts.forwardDelay;
  const m: Partial<LinkMessage> = { name, ...commonAttributes(opts), linkInfo: { kind: 'bridge', data } };
  return withConnection(opts.netns, async (conn) => (await createWith(conn, m, opts)).link);
}

/** Options of createMacvlan(). */
export interface CreateMacvlanOptions extends CommonLinkOptions {
  /** The lower device. */
  parent: LinkRef;
  /** How macvlans on the same parent reach each other (default 'bridge': directly). */
  mode?: 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';
}

const MACVLAN_MODES = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 } as const;

const createMacvlanOptions = object<CreateMacvlanOptions>(
  'createMacvlan options',
  { ...commonShape, parent: linkRef, mode: optional(oneOf(['private', 'vepa', 'bridge', 'passthru', 'source'])) },
  { hints: { ...linkHints, link: 'parent', dev: 'parent', lower: 'parent' } },
);

/**
 * Creates a macvlan on `parent` (`ip link add NAME link PARENT type macvlan mode MODE`).
 *
 * @example
 * ```ts
 * // a second MAC on the host's eth0, handed to pb
 * await createMacvlan('mv-pb', { parent: 'eth0', mode: 'bridge' });
 * await moveLink('mv-pb', 'pb', { name: 'eth0' });
 * ```
 */
export async function createMacvlan(name: string, opts: CreateMacvlanOptions): Promise<CreatedLink> {
  validateInterfaceName(name, 'name');
  createMacvlanOptions.check(opts, '');
  const mode = opts.mode ?? 'bridge';
  return withConnection(opts.netns, async (conn) => {
    const m: Partial<LinkMessage> = {
      name,
      ...commonAttributes(opts),
      link: await resolveIndex(conn, opts.parent, 'parent'),
      linkInfo: { kind: 'macvlan', data: { mode: MACVLAN_MODES[mode] } },
    };
    return (await createWith(conn, m, opts)).link;
  });
}

/** Options of createVxlan(). */
export interface CreateVxlanOptions extends CommonLinkOptions {
  /** VXLAN network identifier (0..2^24-1). */
  id: number;
  /** UDP destination port (default 4789). */
  port?: number;
  /** Underlying device. */
  dev?: LinkRef;
  /** Learn remote MACs from received packets (the kernel's default: on). */
  learning?: boolean;
  /** The one remote VTEP (unicast); without it, remotes come from FDB entries (appendFdb). */
  remote?: string;
  /** A multicast group for flooding, instead of a remote (`group` in ip; `group` here is the
   *  link group every creation takes). Needs `dev`. */
  multicastGroup?: string;
  /** The source address of the encapsulated packets. */
  local?: string;
  /** TTL of the encapsulated packets (default: the kernel's, 0 = inherit the route's). */
  ttl?: number;
}

export function checkVxlan(o: CreateVxlanOptions, path: string): void {
  const at = (k: string) => fieldPath(path, k);
  if (o.remote !== undefined && o.multicastGroup !== undefined) throw new ArgumentError('ERR_INVALID_ARG_VALUE', at('multicastGroup'), 'a vxlan has a remote or a multicast group, not both');
  const fam = (k: 'remote' | 'multicastGroup' | 'local') => (o[k] === undefined ? undefined : parseAddress(o[k]!, at(k)));
  const remote = fam('remote');
  const group = fam('multicastGroup');
  const local = fam('local');
  if (remote && isMulticast(remote.bytes)) throw new ArgumentError('ERR_INVALID_ADDRESS', at('remote'), `${o.remote} is a multicast address: give it as multicastGroup`);
  if (group && !isMulticast(group.bytes)) throw new ArgumentError('ERR_INVALID_ADDRESS', at('multicastGroup'), `${o.multicastGroup} is not a multicast address: give it as remote`);
  const peer = remote ?? group;
  if (peer && local && peer.family !== local.family) throw new ArgumentError('ERR_INVALID_ADDRESS', at('local'), `local ${o.local} is IPv${local.family}, the remote is IPv${peer.family}`);
}

const createVxlanOptions = object<CreateVxlanOptions>(
  'createVxlan options',
  {
    ...commonShape,
    id: integer(0, 2 ** 24 - 1),
    port: optional(port),
    dev: optional(linkRef),
    learning: optional(flag),
    remote: optional(ipAddress),
    multicastGroup: optional(ipAddress),
    local: optional(ipAddress),
    ttl: optional(integer(0, 255)),
  },
  { hints: { ...linkHints, vni: 'id', dstport: 'port', dstPort: 'port', dst: 'remote', src: 'local' }, refine: checkVxlan },
);

/**
 * Creates a VXLAN tunnel device (`ip link add NAME type vxlan id ID dstport PORT ...`).
 *
 * @example
 * ```ts
 * await createVxlan('vx42', { id: 42, dev: 'eth0', local: '10.0.0.1', remote: '10.0.0.2', up: true });
 * await createVxlan('vx43', { id: 43, dev: 'eth0', learning: false }); // remotes from appendFdb()
 * ```
 */
export async function createVxlan(name: string, opts: CreateVxlanOptions): Promise<CreatedLink> {
  validateInterfaceName(name, 'name');
  createVxlanOptions.check(opts, '');
  return withConnection(opts.netns, async (conn) => {
    const data: Record<string, unknown> = { id: opts.id, port: opts.port ?? 4789 };
    if (opts.dev !== undefined) data.link = await resolveIndex(conn, opts.dev, 'dev');
    if (opts.learning !== undefined) data.learning = opts.learning;
    const peer = opts.remote ?? opts.multicastGroup;
    if (peer !== undefined) data.group = parseAddress(peer, opts.remote !== undefined ? 'remote' : 'multicastGroup').bytes;
    if (opts.local !== undefined) data.local = parseAddress(opts.local, 'local').bytes;
    if (opts.ttl !== undefined) data.ttl = opts.ttl;
    const m: Partial<LinkMessage> = { name, ...commonAttributes(opts), linkInfo: { kind: 'vxlan', data } };
    return (await createWith(conn, m, opts)).link;
  });
}

// ---- changes -----------------------------------------------------------------------------

/** What setLink() changes. */
export interface SetLinkOptions {
  mtu?: number;
  /** MAC address. */
  address?: string;
  /** New name. */
  name?: string;
  up?: boolean;
  group?: number;
  /** Transmit queue length (`txqueuelen`). */
  txqlen?: number;
  /** Promiscuous mode on or off (IFF_PROMISC). */
  promisc?: boolean;
  /** The free-text description (`alias`); '' removes it. */
  alias?: string;
  /** ARP on (true) or off (false: IFF_NOARP). */
  arp?: boolean;
}

const aliasText = custom<string>('an alias of up to 127 bytes', (v, path) => {
  if (typeof v !== 'string') throw new ArgumentError('ERR_INVALID_ARG_TYPE', path, 'must be a string');
  // IFALIASZ is 256 with the NUL, and the kernel refuses one of 128 bytes or more (IFALIASZ - 1 ... nla policy 128).
  if (Buffer.byteLength(v) >= 128 || v.includes('\0')) throw new ArgumentRangeError('ERR_INVALID_ARG_VALUE', path, 'must be under 128 bytes, without NUL');
  return v;
});

const setLinkChanges = object<SetLinkOptions>(
  'setLink changes',
  {
    mtu: optional(mtu),
    address: optional(mac),
    name: optional(ifname),
    up: optional(flag),
    group: optional(linkGroup),
    txqlen: optional(u32),
    promisc: optional(flag),
    alias: optional(aliasText),
    arp: optional(flag),
  },
  { hints: { ...linkHints, master: 'setMaster()', netns: 'the third argument, { netns }', txqueuelen: 'txqlen', qlen: 'txqlen', promiscuous: 'promisc', noarp: 'arp', description: 'alias' } },
);

/** Options of operations that only need to know where: `{ netns }`. */
const netnsOptions = object<NetnsOption>('this operation', netnsShape, { hints: { ns: 'netns', namespace: 'netns' } });

/** Checks an operation's `{ netns }` options object. */
export const checkNetnsOption = (opts: NetnsOption): NetnsOption => netnsOptions.check(opts, '');

/**
 * Changes a link's MTU, MAC, name, up state or group in one request (`ip link set LINK ...`).
 *
 * @example
 * ```ts
 * await setLink('veth-pb', { mtu: 1400, up: true }, { netns: 'pb' });
 * await setLink('brd1', { alias: 'the pb and jelly bridge' });
 * ```
 */
export async function setLink(link: LinkRef, changes: SetLinkOptions, opts: NetnsOption = {}): Promise<void> {
  setLinkChanges.check(changes, 'changes');
  return changeLink(link, changes, opts);
}

/** setLink() once `changes` passed its check. */
async function changeLink(link: LinkRef, changes: SetLinkOptions, opts: NetnsOption): Promise<void> {
  checkNetnsOption(opts);
  const sel = linkSelector(link);
  const m: Partial<LinkMessage> = { family: 0, flags: 0, change: 0, ...sel };
  if (changes.mtu !== undefined) m.mtu = changes.mtu;
  if (changes.address !== undefined) m.address = parseMac(changes.address, 'changes.address');
  if (changes.group !== undefined) m.group = changes.group;
  if (changes.txqlen !== undefined) m.txqlen = changes.txqlen;
  if (changes.alias !== undefined) m.alias = changes.alias;
  const flagChange = (bit: number, on: boolean | undefined) => {
    if (on === undefined) return;
    m.flags = on ? m.flags! | bit : m.flags! & ~bit;
    m.change = m.change! | bit;
  };
  flagChange(IFF_UP, changes.up);
  flagChange(rt.IFF_PROMISC, changes.promisc);
  flagChange(rt.IFF_NOARP, changes.arp === undefined ? undefined : !changes.arp);
  if (changes.name !== undefined) {
    const newName = changes.name;
    // Renaming by name would be ambiguous: address the link by index and name it anew.
    if (sel.name !== undefined) {
      await withConnection(opts.netns, async (conn) => {
        m.index = await resolveIndex(conn, link);
        m.name = newName;
        await request(conn, rt.RTM_NEWLINK, 0, m, linkLabel(link));
      });
      return;
    }
    m.name = newName;
  }
  await withConnection(opts.netns, (conn) => request(conn, rt.RTM_NEWLINK, 0, m, linkLabel(link)));
}

/** @internal IFF_UP on or off for a link, by index or by name (the kernel looks the name up
 *  itself); `object` names it in errors. With `group`, the same request sets the link group. */
export function linkUpRequest(link: LinkRef, up = true, object = linkLabel(link), group?: number): PreparedRequest {
  const { index = 0, name } = linkSelector(link);
  const flags = up ? IFF_UP : 0;
  return { encode: (w, seq) => encodeLinkFlags(w, seq, index, name, flags, IFF_UP, group), opts: { operation: 'RTM_NEWLINK', object, inline: true } };
}

/**
 * `ip link set LINK up`.
 *
 * @example
 * ```ts
 * await setLinkUp('veth-pb', { netns: 'pb' });
 * ```
 */
export const setLinkUp = (link: LinkRef, opts: NetnsOption = {}): Promise<void> => setLinkFlag(link, true, opts);
/**
 * `ip link set LINK down`.
 *
 * @example
 * ```ts
 * await setLinkDown('bread-pb-veth');
 * ```
 */
export const setLinkDown = (link: LinkRef, opts: NetnsOption = {}): Promise<void> => setLinkFlag(link, false, opts);

/** setLink(link, { up }) as linkUpRequest writes it: the commonest call, without the field table. */
function setLinkFlag(link: LinkRef, up: boolean, opts: NetnsOption): Promise<void> {
  return promised(() => {
    checkNetnsOption(opts);
    return sendIn(opts.netns, linkUpRequest(link, up));
  });
}

/** The index of `bridge`, after checking that it is one: the kernel would first detach a link
 *  from its current bridge and only then refuse a master that cannot take ports. */
export async function resolveBridge(conn: Connection, bridge: LinkRef, field = 'bridge'): Promise<number> {
  const m = await getLinkMessage(conn, bridge);
  if (m.linkInfo?.kind !== 'bridge') {
    const what = m.linkInfo?.kind ? `a ${m.linkInfo.kind} link` : m.flags & IFF_LOOPBACK ? 'the loopback device' : 'not a bridge';
    throw new ArgumentError('ERR_NOT_A_BRIDGE', field, `${quoteText(m.name ?? linkLabel(bridge))} is not a bridge (it is ${what})`);
  }
  return m.index;
}

/**
 * Enslaves `link` to `bridge` (`ip link set LINK master BRIDGE`). Refuses a `bridge` that is
 *  not one (ERR_NOT_A_BRIDGE) before anything changes.
 *
 * @example
 * ```ts
 * await setMaster('bread-pb-veth', 'brd1');
 * ```
 */
export async function setMaster(link: LinkRef, bridge: LinkRef, opts: NetnsOption = {}): Promise<void> {
  const sel = linkSelector(link);
  linkRef.check(bridge, 'bridge');
  checkNetnsOption(opts);
  await withConnection(opts.netns, async (conn) => {
    const master = await resolveBridge(conn, bridge);
    await request(conn, rt.RTM_NEWLINK, 0, { family: 0, flags: 0, change: 0, ...sel, master }, linkLabel(link));
  });
}

/**
 * Releases `link` from its bridge (`ip link set LINK nomaster`).
 *
 * @example
 * ```ts
 * await setNoMaster('bread-pb-veth');
 * ```
 */
export async function setNoMaster(link: LinkRef, opts: NetnsOption = {}): Promise<void> {
  const sel = linkSelector(link);
  checkNetnsOption(opts);
  await withConnection(opts.netns, (conn) =>
    request(conn, rt.RTM_NEWLINK, 0, { family: 0, flags: 0, change: 0, ...sel, master: 0 }, linkLabel(link)),
  );
}

/** Options of moveLink(). */
export interface MoveLinkOptions extends NetnsOption {
  /** A new name for the link in its new namespace. */
  name?: string;
}

const moveLinkOptions = object<MoveLinkOptions>('moveLink options', { ...netnsShape, name: optional(ifname) });

/**
 * Moves a link into another namespace (`ip link set LINK netns NS`). This waits for an RCU
 * grace period in the kernel (~20 ms): prefer creating links where they belong.
 *
 * @example
 * ```ts
 * await createVethPair({ name: 'bread-j-veth', peer: { name: 'tmp-jelly' } });
 * await moveLink('tmp-jelly', 'jelly', { name: 'veth-jelly' }); // arrives in jelly renamed
 * ```
 */
export async function moveLink(link: LinkRef, to: NetnsRef, opts: MoveLinkOptions = {}): Promise<void> {
  const sel = linkSelector(link);
  netnsRef.check(to, 'to');
  moveLinkOptions.check(opts, '');
  const m: Partial<LinkMessage> = { family: 0, flags: 0, change: 0, ...sel };
  await withConnection(opts.netns, async (conn) => {
    if (opts.name !== undefined) {
      m.index = await resolveIndex(conn, link);
      m.name = opts.name;
    }
    await withNamespaceFd(to, async (fd) => {
      m.netnsFd = fd;
      await request(conn, rt.RTM_NEWLINK, 0, m, linkLabel(link));
    });
  });
}

/**
 * Deletes a link (for a veth, both ends go).
 *
 * @example
 * ```ts
 * await deleteLink('bread-pb-veth'); // veth-pb in pb goes with it
 * ```
 */
export async function deleteLink(link: LinkRef, opts: NetnsOption = {}): Promise<void> {
  const sel = linkSelector(link);
  checkNetnsOption(opts);
  await withConnection(opts.netns, (conn) => request(conn, rt.RTM_DELLINK, 0, { family: 0, flags: 0, change: 0, ...sel }, linkLabel(link)));
}

/**
 * Deletes every link of a group with one request (what bulk teardown uses).
 *
 * @example
 * ```ts
 * const group = topologyGroup(spec);
 * await deleteLinkGroup(group); // every host link the topology made
 * ```
 */
export async function deleteLinkGroup(group: number, opts: NetnsOption = {}): Promise<void> {
  const g = linkGroup.check(group, 'group');
  checkNetnsOption(opts);
  if (g === 0) throw new ArgumentError('ERR_INVALID_LINK_GROUP', 'group', 'group 0 is every ordinary link; refusing to delete it');
  await withConnection(opts.netns, (conn) => request(conn, rt.RTM_DELLINK, 0, { family: 0, index: 0, flags: 0, change: 0, group: g }, `group ${g}`));
}

// ---- reading -----------------------------------------------------------------------------

export async function dumpLinkMessages(conn: Connection): Promise<LinkMessage[]> {
  const msgs = await conn.dump((w, seq) => encodeLink(w, rt.RTM_GETLINK, 0, seq, { family: 0, index: 0, flags: 0, change: 0 }), {
    operation: 'RTM_GETLINK',
  });
  return msgs.filter((m) => m.type === rt.RTM_NEWLINK).map(decodeLink);
}

/**
 * Every link (`ip link show`).
 *
 * @example
 * ```ts
 * for (const link of await listLinks({ netns: 'pb' })) console.log(link.index, link.name, link.operState);
 * ```
 */
export async function listLinks(opts: NetnsOption = {}): Promise<LinkInfo[]> {
  checkNetnsOption(opts);
  return withConnection(opts.netns, (conn) => linkInfos(conn, netnsLabel(opts.netns)));
}

/** @internal listLinks() on a connection; `netns` labels the results. */
export async function linkInfos(conn: Connection, netns: string | undefined): Promise<LinkInfo[]> {
  const links = await dumpLinkMessages(conn);
  const names = new Map(links.map((l) => [l.index, l.name ?? '']));
  return links.map((l) => describeLink(l, names, netns));
}

/**
 * One link by name or index; ENODEV when there is none.
 *
 * @example
 * ```ts
 * const { mtu, master, up } = await getLink('bread-pb-veth');
 * ```
 */
export async function getLink(link: LinkRef, opts: NetnsOption = {}): Promise<LinkInfo> {
  linkSelector(link);
  checkNetnsOption(opts);
  return withConnection(opts.netns, async (conn) => {
    const m = await getLinkMessage(conn, link);
    const names = new Map<number, string>();
    if (m.master) {
      const master = await getLinkMessage(conn, m.master).catch(() => undefined);
      if (master?.name) names.set(master.index, master.name);
    }
    return describeLink(m, names, netnsLabel(opts.netns));
  });
}

/** The on/off settings of a bridge port: what setBridgePort sets and listBridgePorts reports
 *  (`bridge link set dev PORT hairpin on ...`, `bridge -d link show`). */
export interface BridgePortFlags {
  /** Frames may go back out of the port they came in on (`hairpin`, IFLA_BRPORT_MODE). */
  hairpin?: boolean;
  /** Isolated ports forward only to non-isolated ones (`isolated`). */
  isolated?: boolean;
  /** Source MACs are learnt into the FDB (`learning`). */
  learning?: boolean;
  /** Unknown unicast is flooded to this port (`flood`). */
  flood?: boolean;
  /** Multicast is flooded to this port (`mcast_flood`). */
  mcastFlood?: boolean;
  /** Broadcast is flooded to this port (`bcast_flood`). */
  bcastFlood?: boolean;
  /** ARP and neighbour discovery are suppressed on this port (`neigh_suppress`). */
  neighSuppress?: boolean;
  /** The bridge answers ARP for this port (`proxy_arp`). */
  proxyArp?: boolean;
}

/** A bridge port, as listBridgePorts() describes it (what `bridge -d link show` prints). */
export interface BridgePort extends BridgePortFlags {
  index: number;
  name: string;
  /** Port state as `bridge link show` prints it: disabled, listening, learning, forwarding, blocking. */
  state: string;
  up: boolean;
  mtu?: number;
  master: string;
  priority?: number;
  cost?: number;
}

const PORT_STATES = ['disabled', 'listening', 'learning', 'forwarding', 'blocking'];

/**
 * The ports of a bridge (what `bridge link show BRIDGE` shows).
 *
 * @example
 * ```ts
 * for (const port of await listBridgePorts('brd1')) console.log(port.name, port.state);
 * ```
 */
export async function listBridgePorts(bridge: LinkRef, opts: NetnsOption = {}): Promise<BridgePort[]> {
  linkRef.check(bridge, 'bridge');
  checkNetnsOption(opts);
  return withConnection(opts.netns, async (conn) => {
    const links = await dumpLinkMessages(conn);
    const br = links.find((l) => (typeof bridge === 'number' ? l.index === bridge : l.name === bridge));
    if (!br) throw new NetlinkError({ errno: -19, syscall: 'recvmsg', operation: 'RTM_GETLINK', object: linkLabel(bridge) });
    return links
      .filter((l) => l.master === br.index)
      .map((l) => {
        const port = bridgePortData(l);
        const out: BridgePort = {
          index: l.index,
          name: l.name ?? '',
          state: PORT_STATES[port.state ?? 0] ?? `state${port.state}`,
          up: (l.flags & IFF_UP) !== 0,
          master: br.name ?? '',
        };
        if (l.mtu !== undefined) out.mtu = l.mtu;
        for (const k of ['priority', 'cost', 'hairpin', 'isolated', 'learning', 'flood', 'mcastFlood', 'bcastFlood', 'neighSuppress', 'proxyArp'] as const) {
          if (port[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = port[k];
        }
        return out;
      });
  });
}

type PortData = Partial<Pick<BridgePort, 'priority' | 'cost' | 'hairpin' | 'isolated' | 'learning' | 'flood' | 'mcastFlood' | 'bcastFlood' | 'neighSuppress' | 'proxyArp'>> & { state?: number };

/** IFLA_BRPORT_* flags that are a u8 0/1, by the BridgePort field they fill. */
export const BRPORT_FLAGS = [
  ['hairpin', rt.IFLA_BRPORT_MODE],
  ['flood', rt.IFLA_BRPORT_UNICAST_FLOOD],
  ['learning', rt.IFLA_BRPORT_LEARNING],
  ['isolated', rt.IFLA_BRPORT_ISOLATED],
  ['mcastFlood', rt.IFLA_BRPORT_MCAST_FLOOD],
  ['bcastFlood', rt.IFLA_BRPORT_BCAST_FLOOD],
  ['neighSuppress', rt.IFLA_BRPORT_NEIGH_SUPPRESS],
  ['proxyArp', rt.IFLA_BRPORT_PROXYARP],
] as const satisfies readonly (readonly [keyof BridgePortFlags, number])[];

// IFLA_INFO_SLAVE_DATA of a bridge port: IFLA_BRPORT_STATE (u8), _PRIORITY (u16), _COST (u32),
// and the u8 flags above.
function bridgePortData(l: LinkMessage): PortData {
  const raw = l.linkInfo?.slaveKind === 'bridge' ? l.linkInfo.slaveData : undefined;
  const out: PortData = {};
  if (!raw) return out;
  for (const a of new AttrReader(raw)) {
    if (a.type === rt.IFLA_BRPORT_STATE) out.state = readU8(a.data);
    else if (a.type === rt.IFLA_BRPORT_PRIORITY) out.priority = readU16(a.data);
    else if (a.type === rt.IFLA_BRPORT_COST) out.cost = readU32(a.data);
    else {
      const known = BRPORT_FLAGS.find(([, type]) => type === a.type);
      if (known) out[known[0]] = readU8(a.data) !== 0;
    }
  }
  return out;
}

/**
 * A link's 64-bit traffic counters (`ip -s link show LINK`).
 *
 * @example
 * ```ts
 * const { rxPackets, txBytes } = await getLinkStats('eth0');
 * ```
 */
export async function getLinkStats(link: LinkRef, opts: NetnsOption = {}): Promise<LinkStats> {
  linkSelector(link);
  checkNetnsOption(opts);
  return withConnection(opts.netns, async (conn) => {
    const m = await getLinkMessage(conn, link);
    return linkStats(m.stats64 ? readStats64(m.stats64) : {});
  });
}
