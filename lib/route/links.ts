// Links: create (veth with its peer straight inside its namespace, bridge, macvlan, vxlan),
// change, enslave, move, delete, list.
import type { Connection } from '../connection.js';
import { ArgumentError, NetlinkError } from '../errors.js';
import { formatMac, parseMac } from '../ip.js';
import { AttrReader, readU16, readU32, readU8, type ByteWriter } from '../netlink/attributes.js';
import { decodeLink, encodeLink, linkIndexes, type LinkMessage } from '../netlink/link.js';
import { NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL } from '../netlink/message.js';
import * as rt from '../netlink/rtnetlink.js';
import { netnsLabel, send, withConnection, withNamespaceFd, type NetnsOption, type NetnsRef, type PreparedRequest } from '../target.js';
import { validateBoolean, validateIfIndex, validateInterfaceName, validateMtu, validateObject, validateU32 } from '../validate.js';

/** A link by name or by index. */
export type LinkRef = string | number;

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
  /** The netns this description was read in (its name), undefined for the caller's own. */
  netns?: string;
}

const IFF_NAMES: [number, string][] = [
  [0x1, 'UP'], [0x2, 'BROADCAST'], [0x8, 'LOOPBACK'], [0x10, 'POINTOPOINT'], [0x40, 'RUNNING'],
  [0x80, 'NOARP'], [0x100, 'PROMISC'], [0x200, 'ALLMULTI'], [0x400, 'MASTER'], [0x800, 'SLAVE'],
  [0x1000, 'MULTICAST'], [0x10000, 'LOWER_UP'], [0x20000, 'DORMANT'],
];
const OPER_STATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

const IFF_UP = 0x1;
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
  if (m.link !== undefined && m.link !== m.index) info.linkIndex = m.link;
  if (m.linkNetnsId !== undefined) info.linkNetnsId = m.linkNetnsId;
  if (netns !== undefined) info.netns = netns;
  return info;
}

/** The ifinfomsg fields that address a link: index, or index 0 and the name (the kernel
 *  resolves IFLA_IFNAME itself, so no lookup round trip is needed). */
export function linkSelector(link: LinkRef, field = 'link'): Partial<LinkMessage> {
  if (typeof link === 'number') return { index: validateIfIndex(link, field) };
  return { index: 0, name: validateInterfaceName(link, field) };
}

function linkLabel(link: LinkRef): string {
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

async function getLinkMessage(conn: Connection, link: LinkRef): Promise<LinkMessage> {
  const sel = linkSelector(link);
  const reply = await request(conn, rt.RTM_GETLINK, 0, { family: 0, ...sel }, linkLabel(link));
  const msg = reply.messages.find((m) => m.type === rt.RTM_NEWLINK);
  if (!msg) throw new NetlinkError({ errno: -19, syscall: 'recvmsg', operation: 'RTM_GETLINK', object: linkLabel(link) });
  return decodeLink(msg);
}

// ---- creation ----------------------------------------------------------------------------

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

export interface VethPeerOptions {
  name: string;
  /** Create the peer directly inside this namespace (no move, no RCU wait). */
  netns?: NetnsRef;
  mtu?: number;
  address?: string;
  group?: number;
}

export interface CreateVethOptions extends CommonLinkOptions {
  name: string;
  peer: VethPeerOptions;
}

export interface CreatedLink {
  name: string;
  /** Index of the created link in its namespace (from the kernel's echo). */
  index?: number;
  netns?: string;
}

export interface CreatedVeth extends CreatedLink {
  /** The peer; its index is valid inside its own namespace. */
  peer: { name: string; index?: number; netns?: string };
}

function commonAttributes(opts: CommonLinkOptions): Partial<LinkMessage> {
  const m: Partial<LinkMessage> = {};
  if (opts.mtu !== undefined) m.mtu = validateMtu(opts.mtu);
  if (opts.address !== undefined) m.address = parseMac(opts.address, 'address');
  if (opts.group !== undefined) m.group = validateU32(opts.group, 'group', 'ERR_INVALID_LINK_GROUP');
  if (opts.up !== undefined && validateBoolean(opts.up, 'up')) {
    m.flags = IFF_UP;
    m.change = IFF_UP;
  }
  return m;
}

/** A veth pair's create message from createVethPair's options, validated; `peer` is its
 *  VETH_INFO_PEER part (where IFLA_NET_NS_FD goes). The master is left to the caller. */
export function vethMessage(opts: CreateVethOptions): { m: Partial<LinkMessage>; peer: Partial<LinkMessage> } {
  validateObject(opts, 'options');
  const name = validateInterfaceName(opts.name, 'name');
  validateObject(opts.peer, 'peer');
  const peerName = validateInterfaceName(opts.peer.name, 'peer.name');
  const peer: Partial<LinkMessage> = { family: 0, index: 0, flags: 0, change: 0, name: peerName };
  if (opts.peer.mtu !== undefined) peer.mtu = validateMtu(opts.peer.mtu, 'peer.mtu');
  if (opts.peer.address !== undefined) peer.address = parseMac(opts.peer.address, 'peer.address');
  if (opts.peer.group !== undefined) peer.group = validateU32(opts.peer.group, 'peer.group', 'ERR_INVALID_LINK_GROUP');
  return { m: { name, ...commonAttributes(opts), linkInfo: { kind: 'veth', data: { peer } } }, peer };
}

/** The request that creates a link from `m`, with the kernel's echo of it (its index). */
export function createLinkRequest(m: Partial<LinkMessage>): PreparedRequest {
  const full = { family: 0, index: 0, flags: 0, change: 0, ...m };
  return { encode: (w, seq) => encodeLink(w, rt.RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, seq, full), opts: { operation: 'RTM_NEWLINK', object: m.name } };
}

async function createWith(
  conn: Connection,
  m: Partial<LinkMessage>,
  opts: CommonLinkOptions,
): Promise<CreatedLink & { peerIndex?: number }> {
  const name = m.name!;
  if (opts.master !== undefined) m.master = await resolveIndex(conn, opts.master, 'master');
  const reply = await send(conn, createLinkRequest(m));
  const echoed = reply.messages.find((x) => x.type === rt.RTM_NEWLINK);
  const out: CreatedLink & { peerIndex?: number } = { name };
  if (echoed) {
    const l = linkIndexes(echoed);
    out.index = l.index;
    // A veth's echo names its peer (IFLA_LINK, an index in the peer's namespace).
    if (l.link !== undefined && l.link !== l.index) out.peerIndex = l.link;
  }
  const label = netnsLabel(opts.netns);
  if (label !== undefined) out.netns = label;
  return out;
}

/**
 * Creates a veth pair. The peer is created directly inside `peer.netns` by the same request
 * (IFLA_NET_NS_FD in the peer's info): nothing is moved, nothing waits for an RCU grace period.
 * If either name is taken the kernel creates neither end.
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
  const { peerIndex, ...link } = created;
  const out: CreatedVeth = { ...link, peer: { name: peerName } };
  if (peerIndex !== undefined) out.peer.index = peerIndex;
  const peerLabel = netnsLabel(opts.peer.netns);
  if (peerLabel !== undefined) out.peer.netns = peerLabel;
  return out;
}

export interface CreateBridgeOptions extends CommonLinkOptions {
  /** Spanning tree on (1) or off (0, the default). */
  stp?: boolean;
  vlanFiltering?: boolean;
  /** Forward delay in hundredths of a second (kernel default 1500). */
  forwardDelay?: number;
}

export async function createBridge(name: string, opts: CreateBridgeOptions = {}): Promise<CreatedLink> {
  validateInterfaceName(name, 'name');
  validateObject(opts, 'options');
  const data: Record<string, number> = {};
  if (opts.stp !== undefined) data.stpState = validateBoolean(opts.stp, 'stp') ? 1 : 0;
  if (opts.vlanFiltering !== undefined) data.vlanFiltering = validateBoolean(opts.vlanFiltering, 'vlanFiltering') ? 1 : 0;
  if (opts.forwardDelay !== undefined) data.forwardDelay = validateU32(opts.forwardDelay, 'forwardDelay', 'ERR_INVALID_ARG_VALUE');
  const m: Partial<LinkMessage> = { name, ...commonAttributes(opts), linkInfo: { kind: 'bridge', data } };
  return withConnection(opts.netns, (conn) => createWith(conn, m, opts));
}

export interface CreateMacvlanOptions extends CommonLinkOptions {
  /** The lower device. */
  parent: LinkRef;
  mode?: 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';
}

const MACVLAN_MODES = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 } as const;

export async function createMacvlan(name: string, opts: CreateMacvlanOptions): Promise<CreatedLink> {
  validateInterfaceName(name, 'name');
  validateObject(opts, 'options');
  const mode = opts.mode ?? 'bridge';
  if (!(mode in MACVLAN_MODES)) throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'mode', `must be one of ${Object.keys(MACVLAN_MODES).join(', ')}`);
  return withConnection(opts.netns, async (conn) => {
    const m: Partial<LinkMessage> = {
      name,
      ...commonAttributes(opts),
      link: await resolveIndex(conn, opts.parent, 'parent'),
      linkInfo: { kind: 'macvlan', data: { mode: MACVLAN_MODES[mode] } },
    };
    return createWith(conn, m, opts);
  });
}

export interface CreateVxlanOptions extends CommonLinkOptions {
  /** VXLAN network identifier (0..2^24-1). */
  id: number;
  /** UDP destination port (default 4789). */
  port?: number;
  /** Underlying device. */
  dev?: LinkRef;
  learning?: boolean;
}

export async function createVxlan(name: string, opts: CreateVxlanOptions): Promise<CreatedLink> {
  validateInterfaceName(name, 'name');
  validateObject(opts, 'options');
  const id = validateU32(opts.id, 'id', 'ERR_INVALID_ARG_VALUE');
  if (id >= 1 << 24) throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'id', 'must be below 2^24');
  const port = opts.port ?? 4789;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ArgumentError('ERR_INVALID_ARG_VALUE', 'port', 'must be 1..65535');
  return withConnection(opts.netns, async (conn) => {
    const data: Record<string, unknown> = { id, port };
    if (opts.dev !== undefined) data.link = await resolveIndex(conn, opts.dev, 'dev');
    if (opts.learning !== undefined) data.learning = validateBoolean(opts.learning, 'learning') ? 1 : 0;
    const m: Partial<LinkMessage> = { name, ...commonAttributes(opts), linkInfo: { kind: 'vxlan', data } };
    return createWith(conn, m, opts);
  });
}

// ---- changes -----------------------------------------------------------------------------

export interface SetLinkOptions {
  mtu?: number;
  /** MAC address. */
  address?: string;
  /** New name. */
  name?: string;
  up?: boolean;
  group?: number;
}

/** Changes a link's MTU, MAC, name, up state or group in one request. */
export async function setLink(link: LinkRef, changes: SetLinkOptions, opts: NetnsOption = {}): Promise<void> {
  validateObject(changes, 'changes');
  const sel = linkSelector(link);
  const m: Partial<LinkMessage> = { family: 0, flags: 0, change: 0, ...sel };
  if (changes.mtu !== undefined) m.mtu = validateMtu(changes.mtu);
  if (changes.address !== undefined) m.address = parseMac(changes.address, 'address');
  if (changes.group !== undefined) m.group = validateU32(changes.group, 'group', 'ERR_INVALID_LINK_GROUP');
  if (changes.up !== undefined) {
    m.flags = validateBoolean(changes.up, 'up') ? IFF_UP : 0;
    m.change = IFF_UP;
  }
  if (changes.name !== undefined) {
    const newName = validateInterfaceName(changes.name, 'changes.name');
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

/** @internal IFF_UP on or off for a link index. */
export function linkUpRequest(index: number, up = true): PreparedRequest {
  const m: Partial<LinkMessage> = { family: 0, index: validateIfIndex(index), flags: up ? IFF_UP : 0, change: IFF_UP };
  return { encode: (w, seq) => encodeLink(w, rt.RTM_NEWLINK, 0, seq, m), opts: { operation: 'RTM_NEWLINK', object: `#${index}`, inline: true } };
}

export const setLinkUp = (link: LinkRef, opts: NetnsOption = {}): Promise<void> => setLink(link, { up: true }, opts);
export const setLinkDown = (link: LinkRef, opts: NetnsOption = {}): Promise<void> => setLink(link, { up: false }, opts);

/** Enslaves `link` to `bridge` (`ip link set LINK master BRIDGE`). */
export async function setMaster(link: LinkRef, bridge: LinkRef, opts: NetnsOption = {}): Promise<void> {
  const sel = linkSelector(link);
  if (typeof bridge !== 'number') validateInterfaceName(bridge, 'bridge');
  await withConnection(opts.netns, async (conn) => {
    const master = await resolveIndex(conn, bridge, 'bridge');
    await request(conn, rt.RTM_NEWLINK, 0, { family: 0, flags: 0, change: 0, ...sel, master }, linkLabel(link));
  });
}

/** Releases `link` from its bridge (`ip link set LINK nomaster`). */
export async function setNoMaster(link: LinkRef, opts: NetnsOption = {}): Promise<void> {
  const sel = linkSelector(link);
  await withConnection(opts.netns, (conn) =>
    request(conn, rt.RTM_NEWLINK, 0, { family: 0, flags: 0, change: 0, ...sel, master: 0 }, linkLabel(link)),
  );
}

/**
 * Moves a link into another namespace (`ip link set LINK netns NS`). This waits for an RCU
 * grace period in the kernel (~20 ms): prefer creating links where they belong.
 */
export async function moveLink(link: LinkRef, to: NetnsRef, opts: NetnsOption & { name?: string } = {}): Promise<void> {
  const sel = linkSelector(link);
  const m: Partial<LinkMessage> = { family: 0, flags: 0, change: 0, ...sel };
  await withConnection(opts.netns, async (conn) => {
    if (opts.name !== undefined) {
      m.index = await resolveIndex(conn, link);
      m.name = validateInterfaceName(opts.name, 'name');
    }
    await withNamespaceFd(to, async (fd) => {
      m.netnsFd = fd;
      await request(conn, rt.RTM_NEWLINK, 0, m, linkLabel(link));
    });
  });
}

/** Deletes a link (for a veth, both ends go). */
export async function deleteLink(link: LinkRef, opts: NetnsOption = {}): Promise<void> {
  const sel = linkSelector(link);
  await withConnection(opts.netns, (conn) => request(conn, rt.RTM_DELLINK, 0, { family: 0, flags: 0, change: 0, ...sel }, linkLabel(link)));
}

/** Deletes every link of a group with one request (what bulk teardown uses). */
export async function deleteLinkGroup(group: number, opts: NetnsOption = {}): Promise<void> {
  const g = validateU32(group, 'group', 'ERR_INVALID_LINK_GROUP');
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

export async function listLinks(opts: NetnsOption = {}): Promise<LinkInfo[]> {
  return withConnection(opts.netns, async (conn) => {
    const links = await dumpLinkMessages(conn);
    const names = new Map(links.map((l) => [l.index, l.name ?? '']));
    return links.map((l) => describeLink(l, names, netnsLabel(opts.netns)));
  });
}

/** One link by name or index; ENODEV when there is none. */
export async function getLink(link: LinkRef, opts: NetnsOption = {}): Promise<LinkInfo> {
  linkSelector(link);
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

export interface BridgePort {
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

/** The ports of a bridge (what `bridge link show BRIDGE` shows). */
export async function listBridgePorts(bridge: LinkRef, opts: NetnsOption = {}): Promise<BridgePort[]> {
  if (typeof bridge !== 'number') validateInterfaceName(bridge, 'bridge');
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
        if (port.priority !== undefined) out.priority = port.priority;
        if (port.cost !== undefined) out.cost = port.cost;
        return out;
      });
  });
}

// IFLA_INFO_SLAVE_DATA of a bridge port: IFLA_BRPORT_STATE (u8), _PRIORITY (u16), _COST (u32).
function bridgePortData(l: LinkMessage): { state?: number; priority?: number; cost?: number } {
  const raw = l.linkInfo?.slaveKind === 'bridge' ? l.linkInfo.slaveData : undefined;
  const out: { state?: number; priority?: number; cost?: number } = {};
  if (!raw) return out;
  for (const a of new AttrReader(raw)) {
    if (a.type === rt.IFLA_BRPORT_STATE) out.state = readU8(a.data);
    else if (a.type === rt.IFLA_BRPORT_PRIORITY) out.priority = readU16(a.data);
    else if (a.type === rt.IFLA_BRPORT_COST) out.cost = readU32(a.data);
  }
  return out;
}
