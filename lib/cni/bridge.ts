// The plugin itself: ADD, CHECK, DEL and GC of a container attachment to a bridge, giving the
// kernel the state the reference `bridge` plugin gives it for the same config, over the
// library's own calls (see docs/CNI.md for the few deliberate differences).
//
// Ownership: everything the plugin creates carries a marker naming the network, the container
// and its interface: the host end of the veth in its IFLA_IFALIAS, each NAT rule in its
// comment. DEL and GC delete only what carries the marker of the attachment they remove; a
// bridge that exists is used, and never deleted.
import { createHash } from 'node:crypto';
import type { Connection } from '../connection.js';
import { NetlinkError } from '../errors.js';
import { formatAddress, formatMac, networkOf, parseAddress, parsePrefix } from '../ip.js';
import { openNamespace, type Namespace } from '../namespace.js';
import { addressRequest, deleteAddress, describeAddress, dumpAddressMessages } from '../route/addresses.js';
import { createBridge, createVethPair, dumpLinkMessages, linkUpRequest, setLink } from '../route/links.js';
import { listRoutes, routeRequest } from '../route/routes.js';
import * as rt from '../netlink/rtnetlink.js';
import { NLM_F_CREATE, NLM_F_EXCL } from '../netlink/message.js';
import { getSysctl, setSysctl } from '../sysctl.js';
import { send, withConnection } from '../target.js';
import type { BridgeNetConf, CniAttachment, CniDns, CniEnv, CniRoute, DelegatedIpam, HostLocalIpam } from './config.js';
import { execIpam, ipamResultOf } from './delegate.js';
import { CniCode, CniError } from './errors.js';
import { allocate, leasedTo, release, releaseAllExcept, type IpamResult } from './host-local.js';
import { addPortVlan, deleteLinkIndex, findLink, setHairpin } from './links.js';
import type { LinkMessage } from '../netlink/link.js';
import { addContainerMasquerade, listContainerMasquerades, networkCommentPrefix, removeContainerMasquerade, removeMasqueradesWhere, ruleComment } from './masquerade.js';

/** An interface in a CNI result. */
export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  /** The container's netns path, for interfaces inside it. */
  sandbox?: string;
}

/** An address in a CNI result; `interface` indexes `interfaces`. */
export interface CniIpConfig {
  interface?: number;
  address: string;
  gateway?: string;
}

/** The result of ADD (spec 1.0.0 / 1.1.0), and what CHECK and DEL get as prevResult. */
export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIpConfig[];
  routes: CniRoute[];
  dns: CniDns;
}

/** What a call needs besides the config: the validated environment and the raw call. */
export interface CallContext {
  env: CniEnv;
  /** The CNI_* variables as they came (for a delegated IPAM plugin). */
  rawEnv: Record<string, string | undefined>;
  stdin: Buffer;
}

const DEFAULT_BRIDGE = 'cni0';

/** The marker of an attachment: the host veth's alias and the NAT rules' comment. */
export const attachmentMarker = (network: string, containerId: string, ifname: string) => ruleComment(network, containerId, ifname);

/**
 * The host end's name: `veth` and 8 hex digits, as the reference's, but derived from the
 * attachment instead of random. The alias is set by a second request after the create (the
 * kernel ignores IFLA_IFALIAS when creating), so a daemon killed between the two leaves a veth
 * without its marker; the derived name is how DEL still finds it.
 */
export function hostVethName(network: string, containerId: string, ifname: string): string {
  return `veth${createHash('sha256').update(`${network}\0${containerId}\0${ifname}`).digest('hex').slice(0, 8)}`;
}

/** Whether a host link is this attachment's veth: it carries the marker, or (the create went
 *  through but not the alias) it has the derived name, no alias, and sits on our bridge. */
function isOurVeth(l: LinkMessage, marker: string, derivedName: string, bridgeIndex: number | undefined): boolean {
  if (l.linkInfo?.kind !== 'veth') return false;
  if (l.alias === marker) return true;
  return (l.alias === undefined || l.alias === '') && l.name === derivedName && bridgeIndex !== undefined && l.master === bridgeIndex;
}

const hostConnection = <T>(fn: (conn: Connection) => Promise<T>) => withConnection(undefined, fn);

/** The container's netns from CNI_NETNS: missing is code 3, not a netns code 4. */
async function openContainerNetns(path: string): Promise<Namespace> {
  try {
    return await openNamespace({ path });
  } catch (e) {
    if (e instanceof NetlinkError && e.code === 'ENOENT') throw new CniError(CniCode.UnknownContainer, 'container netns does not exist', `${path}: no such file`);
    if (e instanceof NetlinkError && (e.code === 'EINVAL' || e.code === 'ENOTDIR' || e.code === 'EISDIR')) {
      throw new CniError(CniCode.InvalidEnvironment, 'CNI_NETNS is not a network namespace', path);
    }
    throw new CniError(CniCode.InvalidEnvironment, `failed to open netns "${path}"`, (e as Error).message);
  }
}

/** A sysctl the reference writes and ignores failure of (IPv6 off, interface gone). */
async function bestEffortSysctl(key: string[], value: string, netns?: Namespace): Promise<void> {
  try {
    await setSysctl(key, value, netns === undefined ? {} : { netns });
  } catch {
    // as the reference: `_, _ = sysctl.Sysctl(...)`
  }
}

/** The bridge: created when missing (MTU, VLAN filtering), a link of another kind is an error;
 *  promiscuous when asked, accept_ra off, up. Resolves to its index. */
async function ensureBridge(conn: Connection, conf: BridgeNetConf): Promise<number> {
  const name = conf.bridge ?? DEFAULT_BRIDGE;
  let link = await findLink(conn, name);
  if (!link) {
    try {
      await createBridge(name, { ...(conf.mtu !== undefined && { mtu: conf.mtu }), ...(conf.vlan ? { vlanFiltering: true } : {}) });
    } catch (e) {
      // Another call created it meanwhile: use it.
      if (!(e instanceof NetlinkError && e.code === 'EEXIST')) throw e;
    }
    link = await findLink(conn, name);
    if (!link) throw new CniError(CniCode.KernelError, `failed to create bridge "${name}"`, 'it vanished after creation');
  }
  if (link.linkInfo?.kind !== 'bridge') throw new CniError(CniCode.InvalidNetworkConfig, `"${name}" already exists but is not a bridge`);
  const index = link.index;
  const pending: Promise<unknown>[] = [bestEffortSysctl(['net', 'ipv6', 'conf', name, 'accept_ra'], '0')];
  if (conf.promiscMode && !(link.flags & rt.IFF_PROMISC)) pending.push(setLink(index, { promisc: true }));
  if (!(link.flags & 1)) pending.push(send(conn, linkUpRequest(index)));
  await Promise.all(pending);
  return index;
}

// ---- IPAM ------------------------------------------------------------------------------------

const isHostLocal = (ipam: BridgeNetConf['ipam']): ipam is HostLocalIpam => ipam?.type === 'host-local';

async function ipamAdd(conf: BridgeNetConf, ctx: CallContext): Promise<IpamResult> {
  const ipam = conf.ipam!;
  if (isHostLocal(ipam)) return allocate(ipam, conf.name, ctx.env.containerId, ctx.env.ifname);
  return ipamResultOf(await execIpam((ipam as DelegatedIpam).type, 'ADD', ctx.env, ctx.rawEnv, ctx.stdin), ipam.type);
}

async function ipamDel(conf: BridgeNetConf, ctx: CallContext): Promise<void> {
  const ipam = conf.ipam;
  if (!ipam) return;
  if (isHostLocal(ipam)) await release(ipam, conf.name, ctx.env.containerId, ctx.env.ifname);
  else await execIpam(ipam.type, 'DEL', ctx.env, ctx.rawEnv, ctx.stdin);
}

// ---- ADD -------------------------------------------------------------------------------------

interface Gateway {
  family: 4 | 6;
  /** gateway/prefix, as it goes on the bridge. */
  cidr: string;
}

/** The reference's calcGateways: the gateway of each address (network + 1 when IPAM gave
 *  none and the bridge is the gateway), the default routes of isDefaultGateway, and the
 *  gateway addresses the bridge gets. */
function gateways(conf: BridgeNetConf, ipam: IpamResult): { ips: CniIpConfig[]; routes: CniRoute[]; bridgeAddresses: Gateway[] } {
  const isGateway = conf.isGateway === true || conf.isDefaultGateway === true;
  const routes = [...ipam.routes];
  const bridgeAddresses: Gateway[] = [];
  const defaultDone = new Set<number>();
  const ips = ipam.ips.map((ip) => {
    const p = parsePrefix(ip.address, 'ipam address', { requirePrefix: true });
    let gateway = ip.gateway;
    if (gateway === undefined && isGateway) {
      const net = networkOf(p.bytes, p.prefixLen);
      net[net.length - 1]! += 1;
      gateway = formatAddress(net);
    }
    const any = p.family === 4 ? '0.0.0.0/0' : '::/0';
    if (conf.isDefaultGateway && !defaultDone.has(p.family)) {
      if (!routes.some((r) => r.gw !== undefined && r.dst === any)) routes.push({ dst: any, ...(gateway !== undefined && { gw: gateway }) });
      defaultDone.add(p.family);
    }
    if (isGateway && gateway !== undefined) bridgeAddresses.push({ family: p.family, cidr: `${gateway}/${p.prefixLen}` });
    return { interface: 2, address: ip.address, ...(gateway !== undefined && { gateway }) };
  });
  return { ips, routes, bridgeAddresses };
}

/** The reference's ensureAddr: the gateway on the bridge; another IPv4 address (or an
 *  overlapping IPv6 one) is an error, or is replaced with forceAddress. After adding one, the
 *  bridge's MAC is pinned to itself so it no longer follows its ports. */
async function ensureBridgeAddresses(conn: Connection, bridgeIndex: number, bridgeName: string, wanted: Gateway[], force: boolean): Promise<void> {
  if (wanted.length === 0) return;
  // Only this bridge's addresses, of the families wanted: one address dump on this connection.
  const families = new Set(wanted.map((g) => g.family));
  const family = families.size > 1 ? 0 : families.has(4) ? rt.AF_INET : rt.AF_INET6;
  const existing = (await dumpAddressMessages(conn, family)).filter((a) => a.index === bridgeIndex).map((a) => describeAddress(a, bridgeName));
  let added = false;
  for (const gw of wanted) {
    const want = parsePrefix(gw.cidr, 'gateway', { requirePrefix: true });
    if (existing.some((a) => a.family === gw.family && `${a.address}/${a.prefixLen}` === `${formatAddress(want.bytes)}/${want.prefixLen}`)) continue;
    for (const a of existing.filter((x) => x.family === gw.family && x.scope !== 'link')) {
      // IPv6 allows several addresses when their subnets do not overlap (the reference's rule).
      const shorter = Math.min(a.prefixLen, want.prefixLen);
      const overlaps = gw.family === 4 || networkOf(parseAddress(a.address, 'address').bytes, shorter).equals(networkOf(want.bytes, shorter));
      if (!overlaps) continue;
      if (!force) throw new CniError(CniCode.InvalidNetworkConfig, `"${bridgeName}" already has an IP address different from ${gw.cidr}`, `${a.address}/${a.prefixLen}`);
      await deleteAddress(bridgeIndex, `${a.address}/${a.prefixLen}`);
    }
    try {
      await send(conn, addressRequest(bridgeIndex, gw.cidr, gw.family === 4 ? { broadcast: 'auto' } : {}));
      added = true;
    } catch (e) {
      if (!(e instanceof NetlinkError && e.code === 'EEXIST')) throw e;
    }
  }
  // As the reference, the MAC is pinned when an address was added (not when all were there).
  if (!added) return;
  const br = await findLink(conn, bridgeIndex);
  if (br?.address) await setLink(bridgeIndex, { address: formatMac(br.address) });
}

/** ADD: bridge, lease, veth (the container end created straight in its netns), container
 *  addresses and routes, gateway on the bridge, forwarding, NAT. Anything that fails undoes
 *  what this call created, in reverse. */
export async function cmdAdd(conf: BridgeNetConf, ctx: CallContext): Promise<CniResult> {
  const { env } = ctx;
  const isGateway = conf.isGateway === true || conf.isDefaultGateway === true;
  if (conf.vlan && isGateway) {
    throw new CniError(CniCode.UnsupportedField, 'unsupported field', 'vlan together with isGateway is not supported (see docs/CNI.md)');
  }
  const marker = attachmentMarker(conf.name, env.containerId, env.ifname);
  const bridgeName = conf.bridge ?? DEFAULT_BRIDGE;
  const undo: (() => Promise<unknown>)[] = [];
  const ns = await openContainerNetns(env.netns);
  try {
    return await hostConnection(async (host) => {
      const [bridgeIndex, ipam] = await Promise.all([
        ensureBridge(host, conf),
        conf.ipam ? ipamAdd(conf, ctx).then((r) => (undo.push(() => ipamDel(conf, ctx)), r)) : Promise.resolve(undefined),
      ]);

      // The veth: host end `veth` + 8 hex digits on the bridge, container end created inside.
      const containerMac = macFromArgs(conf, env);
      const hostName = hostVethName(conf.name, env.containerId, env.ifname);
      const create = () =>
        createVethPair({
          name: hostName,
          up: true,
          master: bridgeIndex,
          ...(conf.mtu !== undefined && { mtu: conf.mtu }),
          peer: { name: env.ifname, netns: ns, ...(conf.mtu !== undefined && { mtu: conf.mtu }), ...(containerMac !== undefined && { address: containerMac }) },
        });
      let created: Awaited<ReturnType<typeof createVethPair>>;
      try {
        created = await create();
      } catch (e) {
        if (!(e instanceof NetlinkError && e.code === 'EEXIST')) throw e;
        if (await withConnection(ns, (c) => findLink(c, env.ifname))) {
          throw new CniError(CniCode.InvalidEnvironment, `container veth name provided (${env.ifname}) already exists`);
        }
        // Our own leftover from an ADD that died before its DEL: replace it. Anything else
        // with that name is not ours to touch.
        const stale = await findLink(host, hostName);
        if (!stale || !isOurVeth(stale, marker, hostName, bridgeIndex)) {
          throw new CniError(CniCode.KernelError, `host veth name ${hostName} is taken by a link this plugin did not create`);
        }
        await deleteLinkIndex(stale.index);
        created = await create();
      }
      const hostIndex = created.index!;
      undo.push(() => deleteLinkIndex(hostIndex));
      const peerIndex = created.peer.index;
      const hostSide: Promise<unknown>[] = [setLink(hostIndex, { alias: marker })];
      if (conf.hairpinMode) hostSide.push(setHairpin(host, hostIndex));
      if (conf.vlan) hostSide.push(addPortVlan(host, hostIndex, conf.vlan));
      const hostLink = findLink(host, hostIndex);
      hostSide.push(bestEffortSysctl(['net', 'ipv6', 'conf', hostName, 'accept_ra'], '0'));

      const result: CniResult = {
        cniVersion: conf.cniVersion,
        interfaces: [{ name: bridgeName }, { name: hostName }, { name: env.ifname, sandbox: env.netns }],
        ips: [],
        routes: [],
        dns: conf.dns ?? {},
      };
      const gw = ipam ? gateways(conf, ipam) : undefined;
      if (gw) {
        result.ips = gw.ips;
        result.routes = gw.routes;
        if (ipam?.dns && Object.keys(result.dns).length === 0) result.dns = ipam.dns;
      }
      const container = conf.disableContainerInterface ? findLink(await ns.connection(), peerIndex) : configureContainer(ns, conf, env.ifname, peerIndex, gw);
      const [, containerLink, link] = await Promise.all([Promise.all(hostSide), container, hostLink]);
      result.interfaces[1]!.mac = macOf(link?.address);
      result.interfaces[2]!.mac = macOf(containerLink?.address);

      if (gw && isGateway) {
        await ensureBridgeAddresses(host, bridgeIndex, bridgeName, gw.bridgeAddresses, conf.forceAddress === true);
        const families = new Set(gw.bridgeAddresses.map((g) => g.family));
        if (families.has(4)) await setSysctl('net.ipv4.ip_forward', 1);
        if (families.has(6)) await setSysctl('net.ipv6.conf.all.forwarding', 1);
      }
      if (gw && conf.ipMasq) {
        await addContainerMasquerade(gw.ips.map((i) => i.address), marker);
        undo.push(() => removeContainerMasquerade(marker));
      }
      const br = await findLink(host, bridgeIndex);
      result.interfaces[0]!.mac = macOf(br?.address);
      return result;
    });
  } catch (e) {
    for (const step of undo.reverse()) await step().catch(() => {});
    throw e;
  } finally {
    ns.close();
  }
}

const macOf = (address: Buffer | undefined) => (address && address.length > 0 ? formatMac(address) : '');

/** The container MAC the reference honours: CNI_ARGS MAC=, args.cni.mac, runtimeConfig.mac. */
function macFromArgs(conf: BridgeNetConf, env: CniEnv): string | undefined {
  const fromConf = (conf.runtimeConfig?.mac ?? (conf.args?.cni as { mac?: unknown } | undefined)?.mac) as unknown;
  const mac = typeof fromConf === 'string' && fromConf !== '' ? fromConf : env.args.get('MAC');
  return mac === undefined || mac === '' ? undefined : mac;
}

/** Inside the container: the sysctls the reference sets, addresses, link up, routes; all
 *  queued at once on the namespace's connection. Resolves to the link, read back. */
async function configureContainer(ns: Namespace, conf: BridgeNetConf, ifname: string, index: number, gw: ReturnType<typeof gateways> | undefined) {
  const conn = await ns.connection();
  if (!gw) {
    await send(conn, linkUpRequest(index));
    return findLink(conn, index);
  }
  const sysctls: Promise<unknown>[] = [];
  if (conf.enabledad) {
    sysctls.push(bestEffortSysctl(['net', 'ipv6', 'conf', ifname, 'enhanced_dad'], '1', ns), bestEffortSysctl(['net', 'ipv6', 'conf', ifname, 'accept_dad'], '1', ns));
  } else {
    sysctls.push(bestEffortSysctl(['net', 'ipv6', 'conf', ifname, 'accept_dad'], '0', ns));
  }
  sysctls.push(bestEffortSysctl(['net', 'ipv4', 'conf', ifname, 'arp_notify'], '1', ns));
  if (gw.ips.some((i) => i.address.includes(':'))) {
    for (const dev of ['lo', ifname]) {
      sysctls.push(
        getSysctl(['net', 'ipv6', 'conf', dev, 'disable_ipv6'], { netns: ns }).then(
          (v) => (v === '0' ? undefined : setSysctl(['net', 'ipv6', 'conf', dev, 'disable_ipv6'], '0', { netns: ns })),
          () => undefined,
        ),
      );
    }
  }
  await Promise.all(sysctls);
  const requests: Promise<unknown>[] = gw.ips.map((ip) => send(conn, addressRequest(index, ip.address, ip.address.includes(':') ? {} : { broadcast: 'auto' })));
  requests.push(send(conn, linkUpRequest(index)));
  const firstGateway = (family: 4 | 6) => gw.ips.find((i) => (i.address.includes(':') ? 6 : 4) === family)?.gateway;
  for (const r of gw.routes) {
    const family = r.dst.includes(':') ? 6 : 4;
    const via = r.gw ?? firstGateway(family);
    requests.push(send(conn, routeRequest(rt.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, { to: r.dst, ...(via !== undefined && { via }), ...(r.priority !== undefined && { metric: r.priority }) }, index)));
  }
  const link = findLink(conn, index);
  await Promise.all(requests);
  return link;
}

// ---- DEL -------------------------------------------------------------------------------------

/** The host end's name in a prevResult: the interface without a sandbox that is not the bridge. */
function hostInterfaceOf(prev: unknown, bridge: string): string | undefined {
  const ifs = (prev as { interfaces?: { name?: unknown; sandbox?: unknown }[] } | undefined)?.interfaces;
  if (!Array.isArray(ifs)) return undefined;
  const host = ifs.find((i) => typeof i?.name === 'string' && i.name !== bridge && (i.sandbox === undefined || i.sandbox === '') && i.name.startsWith('veth'));
  return host?.name as string | undefined;
}

/** Deletes this attachment's host veth (the container end goes with it); resolves to whether
 *  there was one. One lookup by its derived name. */
async function deleteAttachmentVeth(host: Connection, marker: string, name: string, bridge: string): Promise<boolean> {
  const l = await findLink(host, name);
  if (!l) return false;
  const needsBridge = l.alias === undefined || l.alias === '';
  const bridgeIndex = needsBridge ? (await findLink(host, bridge))?.index : undefined;
  if (!isOurVeth(l, marker, name, bridgeIndex)) return false;
  return deleteLinkIndex(l.index);
}

/** DEL: idempotent, and needs neither the netns nor a prevResult. */
export async function cmdDel(conf: BridgeNetConf, ctx: CallContext): Promise<void> {
  const { containerId, ifname } = ctx.env;
  const marker = attachmentMarker(conf.name, containerId, ifname);
  await hostConnection((host) => deleteAttachmentVeth(host, marker, hostVethName(conf.name, containerId, ifname), conf.bridge ?? DEFAULT_BRIDGE));
  await ipamDel(conf, ctx);
  if (conf.ipMasq) await removeContainerMasquerade(marker);
}

// ---- CHECK -----------------------------------------------------------------------------------

function checkFailed(details: string): CniError {
  return new CniError(CniCode.CheckFailed, 'CHECK failed', details);
}

/** CHECK: the container's interface, addresses and routes, the host end and its bridge, the
 *  lease and the NAT rule are all as the prevResult says. */
export async function cmdCheck(conf: BridgeNetConf, ctx: CallContext): Promise<void> {
  const { env } = ctx;
  const prev = conf.prevResult as CniResult | undefined;
  if (!prev || !Array.isArray(prev.interfaces)) throw new CniError(CniCode.InvalidNetworkConfig, 'invalid network config', 'CHECK needs a prevResult');
  const marker = attachmentMarker(conf.name, env.containerId, env.ifname);
  const bridgeName = conf.bridge ?? DEFAULT_BRIDGE;
  const containerIdx = prev.interfaces.findIndex((i) => i.name === env.ifname && typeof i.sandbox === 'string' && i.sandbox !== '');
  if (containerIdx < 0) throw checkFailed(`prevResult has no interface ${env.ifname} in a sandbox`);
  const ns = await openContainerNetns(env.netns);
  try {
    const conn = await ns.connection();
    const link = await findLink(conn, env.ifname);
    if (!link) throw checkFailed(`interface ${env.ifname} is missing in ${env.netns}`);
    const want = prev.interfaces[containerIdx]!;
    if (want.mac && macOf(link.address) !== want.mac.toLowerCase()) throw checkFailed(`interface ${env.ifname} has MAC ${macOf(link.address)}, expected ${want.mac}`);
    const addrs = (await dumpAddressMessages(conn)).filter((a) => a.index === link.index).map((a) => describeAddress(a, env.ifname));
    for (const ip of prev.ips ?? []) {
      if (ip.interface !== containerIdx) continue;
      const p = parsePrefix(ip.address, 'address', { requirePrefix: true });
      const text = `${formatAddress(p.bytes)}/${p.prefixLen}`;
      if (!addrs.some((a) => `${a.address}/${a.prefixLen}` === text)) throw checkFailed(`address ${ip.address} is missing on ${env.ifname}`);
    }
    const routes = await listRoutes({ netns: ns });
    for (const r of prev.routes ?? []) {
      const dst = r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst;
      const found = routes.some((x) => (x.to === dst || `${x.to}` === r.dst) && (r.gw === undefined || x.via === r.gw));
      if (!found) throw checkFailed(`route ${r.dst}${r.gw ? ` via ${r.gw}` : ''} is missing`);
    }
    await hostConnection(async (host) => {
      const hostName = hostInterfaceOf(prev, bridgeName) ?? hostVethName(conf.name, env.containerId, env.ifname);
      const hostLink = await findLink(host, hostName);
      if (!hostLink || hostLink.alias !== marker) throw checkFailed(`host veth ${hostName} is missing or not this attachment's`);
      const bridge = await findLink(host, bridgeName);
      if (!bridge || hostLink.master !== bridge.index) throw checkFailed(`host veth ${hostName} is not on bridge ${bridgeName}`);
    });
    if (isHostLocal(conf.ipam)) {
      const leased = leasedTo(conf.ipam, conf.name, env.containerId, env.ifname);
      for (const ip of prev.ips ?? []) {
        const addr = ip.address.split('/')[0]!;
        if (!leased.includes(addr)) throw checkFailed(`address ${addr} is not leased to ${env.containerId}`);
      }
    } else if (conf.ipam) {
      await execIpam(conf.ipam.type, 'CHECK', env, ctx.rawEnv, ctx.stdin);
    }
    if (conf.ipMasq && !(await listContainerMasquerades()).includes(marker)) throw checkFailed('the NAT rule of this container is missing');
  } finally {
    ns.close();
  }
}

// ---- GC --------------------------------------------------------------------------------------

const MARKER = /^rtnetlink-cni net=(\S+) id=(\S+) if=(\S+)$/;

/** GC: removes every attachment of this network that is not in cni.dev/valid-attachments:
 *  leases, marked veths, marked NAT rules. */
export async function cmdGc(conf: BridgeNetConf, ctx: CallContext): Promise<void> {
  const valid: CniAttachment[] = conf['cni.dev/valid-attachments'] ?? [];
  const keep = new Set(valid.map((a) => attachmentMarker(conf.name, a.containerID, a.ifname)));
  const ours = (marker: string | undefined) => {
    const m = marker === undefined ? null : MARKER.exec(marker);
    return m !== null && m[1] === conf.name && !keep.has(marker!);
  };
  const released = isHostLocal(conf.ipam) ? await releaseAllExcept(conf.ipam, conf.name, valid) : [];
  if (conf.ipam && !isHostLocal(conf.ipam)) await execIpam(conf.ipam.type, 'GC', ctx.env, ctx.rawEnv, ctx.stdin).catch(() => {});
  await hostConnection(async (host) => {
    for (const l of await dumpLinkMessages(host)) {
      if (l.linkInfo?.kind === 'veth' && ours(l.alias)) await deleteLinkIndex(l.index);
    }
    // Attachments whose ADD died before the veth got its marker: found by their derived name.
    for (const r of released) {
      if (r.ifname === '') continue;
      await deleteAttachmentVeth(host, attachmentMarker(conf.name, r.containerId, r.ifname), hostVethName(conf.name, r.containerId, r.ifname), conf.bridge ?? DEFAULT_BRIDGE);
    }
  });
  const prefix = networkCommentPrefix(conf.name);
  await removeMasqueradesWhere((c) => c.startsWith(prefix) && ours(c));
}
