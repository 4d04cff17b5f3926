// applyTopology: the bulk path. Fresh namespaces are configured by addon jobs (lib/provision.ts)
// with every request encoded up front; whatever exists already is adopted only when it carries
// the topology's mark (marks.ts), and every change is journaled so a failed apply can undo
// exactly what it did (journal.ts).
import { readFileSync } from 'node:fs';
import { NetlinkError } from '../errors.js';
import { NamespaceHandle } from '../handle.js';
import { createMarkedNamespace, openNamespace, type Namespace } from '../namespace.js';
import { clearCrashLeftover } from '../run-dir.js';
import { NLM_F_CREATE, NLM_F_REPLACE } from '../netlink/message.js';
import * as rt from '../netlink/rtnetlink.js';
import { addMasquerade, removeMasquerade } from '../nftables/masquerade.js';
import { addPortForward, removePortForward } from '../nftables/portforward.js';
import { provision, type InsideRequest, type ProvisionPlan, type Provisioned } from '../provision.js';
import { addAddress, addressRequest, deleteAddress } from '../route/addresses.js';
import { appendFdb, deleteFdb, listFdb } from '../route/fdb.js';
import { createBridge, createVethPair, createVxlan, deleteLink, getLink, linkUpRequest, setLink, setMaster, setNoMaster, type LinkInfo } from '../route/links.js';
import { addNeighbour, deleteNeighbour, listNeighbours } from '../route/neighbours.js';
import { addRoute, deleteRoute, listRoutes, routeRequest, type RouteInfo } from '../route/routes.js';
import { addRule, deleteRule } from '../route/rules.js';
import { getSysctl, setSysctl } from '../sysctl.js';
import { send, type NetnsRef } from '../target.js';
import { Journal } from './journal.js';
import { LOOPBACK_INDEX, clash, describeKind, namespaceGroup, namespaceMark } from './marks.js';
import {
  TopologyError,
  applyOptions,
  namespaceRoles,
  topologyGroup,
  validateTopologySliced,
  type AddressSpec,
  type ApplyOptions,
  type ApplyResult,
  type BridgeSpec,
  type InterfaceSpec,
  type ItemAction,
  type ItemResult,
  type LinkSpec,
  type NamespaceSpec,
  type TopologyRoute,
  type TopologySpec,
  type VxlanSpec,
} from './spec.js';
import { monotonicMs } from '../clock.js';

const isCode = (e: unknown, code: string) => e instanceof NetlinkError && e.code === code;

function addressArgs(a: AddressSpec): [string, { broadcast?: string }] {
  if (typeof a === 'string') return [a, {}];
  return [a.address, a.broadcast === undefined ? {} : { broadcast: a.broadcast }];
}

interface Context {
  group: number;
  bridgeIndex: Map<string, number>;
  journal: Journal;
  /** The host namespaces (namespaceRoles), once made or adopted: whether this call created
   *  each, and its bridges' indexes. */
  hosts: Map<string, InHost>;
  /** Namespaces built call by call (namespaceRoles). */
  perCall: Set<string>;
}

/** Where a link of a host namespace is, and whether this call created that namespace (then
 *  what is inside goes with it on rollback, and needs no journal entry of its own). */
interface InHost {
  netns: string;
  created: boolean;
  bridgeIndex: Map<string, number>;
}

/** Adds an address unless it is there; journals it when the link existed before this call. */
async function ensureAddress(index: number, a: AddressSpec, journal: Journal | undefined, netns?: NetnsRef): Promise<void> {
  const [cidr, opts] = addressArgs(a);
  try {
    await addAddress(index, cidr, { ...opts, ...(netns ? { netns } : {}) });
    journal?.onRollback(() => deleteAddress(index, cidr, netns ? { netns } : {}));
  } catch (e) {
    if (!isCode(e, 'EEXIST')) throw e;
  }
}

/** Where a sysctl is set: inside a namespace of the spec (the host's when omitted). */
interface SysctlTarget {
  ns: NamespaceHandle;
  /** Its name in the spec (never an anonymous one's: those are always created by the call). */
  name: string;
  created: boolean;
}

/** Sets a sysctl, journaling its value before. Not in a namespace this call created: rollback
 *  deletes that namespace anyway, so there is nothing to read or restore. */
async function setSysctlJournaled(key: string, value: string | number | boolean, journal: Journal, inside?: SysctlTarget): Promise<void> {
  const where = inside ? { netns: inside.ns } : {};
  if (inside?.created) return void (await setSysctl(key, value, where));
  const before = await getSysctl(key, where);
  await setSysctl(key, value, where);
  // By its name: its handle is closed by the time a rollback runs.
  const restoreIn = inside ? { netns: inside.name } : {};
  journal.onRollback(() => setSysctl(key, before, restoreIn));
}

/** A bridge (of the host, or of a host namespace): created and marked; or, when one exists,
 *  adopted (ours) or used (not ours). */
async function ensureBridge(b: BridgeSpec, ctx: Context, host?: InHost): Promise<ItemResult> {
  let action: ItemAction = 'created';
  let index: number;
  const where = host ? { netns: host.netns } : {};
  const label = host ? `${b.name} in netns ${host.netns}` : b.name;
  try {
    const made = await createBridge(b.name, { ...where, up: true, group: ctx.group, ...(b.mtu !== undefined ? { mtu: b.mtu } : {}) });
    index = made.index!;
    if (!host) ctx.journal.links.push(index);
    else if (!host.created) ctx.journal.onRollback(() => deleteLink(index, where));
  } catch (e) {
    if (!isCode(e, 'EEXIST')) throw e;
    const l = await getLink(b.name, where);
    if (l.kind !== 'bridge') throw clash(label, `exists and is ${describeKind(l)}, not a bridge`);
    index = l.index;
    if (l.group === ctx.group) {
      action = 'adopted';
      await restorable(l, { up: true, ...(b.mtu !== undefined ? { mtu: b.mtu } : {}) }, ctx.journal, host?.netns);
    } else {
      // Someone else's bridge: our ports and addresses go on it, nothing else changes.
      action = 'used';
    }
  }
  (host ? host.bridgeIndex : ctx.bridgeIndex).set(b.name, index);
  await Promise.all((b.addresses ?? []).map((a) => ensureAddress(index, a, action === 'created' ? undefined : ctx.journal, host?.netns)));
  return { item: `bridge ${label}`, ok: true, action, existed: action !== 'created' };
}

/** Brings one of our links in line (up, mtu), journaling how it was. */
async function restorable(l: LinkInfo, want: { up?: boolean; mtu?: number }, journal: Journal, netns?: NetnsRef): Promise<void> {
  const change: { up?: boolean; mtu?: number } = {};
  const back: { up?: boolean; mtu?: number } = {};
  if (want.up !== undefined && want.up !== l.up) [change.up, back.up] = [want.up, l.up];
  if (want.mtu !== undefined && want.mtu !== l.mtu && l.mtu !== undefined) [change.mtu, back.mtu] = [want.mtu, l.mtu];
  if (Object.keys(change).length === 0) return;
  const where = netns ? { netns } : {};
  await setLink(l.index, change, where);
  journal.onRollback(() => setLink(l.index, back, where));
}

/** Puts an adopted link on `master` (when it is elsewhere), journaling where it was. */
async function ensureMaster(l: LinkInfo, master: number | undefined, journal: Journal, where: { netns?: NetnsRef }): Promise<void> {
  if (master === undefined || l.masterIndex === master) return;
  const before = l.masterIndex;
  await setMaster(l.index, master, where);
  journal.onRollback(() => (before === undefined ? setNoMaster(l.index, where) : setMaster(l.index, before, where)));
}

/** A link by name, or undefined when there is none. */
const findLink = (name: string, netns?: NetnsRef) => getLink(name, netns === undefined ? {} : { netns }).catch((e) => (isCode(e, 'ENODEV') ? undefined : Promise.reject(e)));

/** Whether two links found by name are the two ends of one veth of the topology. (A peer's
 *  index in another namespace may equal the link's own, which LinkInfo then leaves out.) */
const vethEnds = (a: LinkInfo, b: LinkInfo, group: number) =>
  a.kind === 'veth' && b.kind === 'veth' && a.group === group && b.group === group && (a.linkIndex ?? a.index) === b.index && (b.linkIndex ?? b.index) === a.index;

/** Which end of a veth is in the way, after its create was refused with EEXIST. */
async function vethClash(f: InterfaceSpec, n: NamespaceSpec, ns: NamespaceHandle, group: number): Promise<{ host: LinkInfo; inside: LinkInfo } | NetlinkError> {
  const host = await findLink(f.hostName, f.hostNamespace);
  const inside = await findLink(f.name, ns);
  if (host && inside && vethEnds(host, inside, group)) return { host, inside };
  if (host) {
    const where = f.hostNamespace === undefined ? 'in the host' : `in netns ${f.hostNamespace}`;
    const why = host.group === group && host.kind === 'veth' ? `is this topology's, but its other end is not '${f.name}' in netns '${n.name}'` : `exists ${where} and is not from this topology (${describeKind(host)}, link group ${host.group ?? 0})`;
    return clash(f.hostNamespace === undefined ? f.hostName : `${f.hostName} in netns ${f.hostNamespace}`, why);
  }
  return clash(`${f.name} in netns ${n.name}`, 'exists inside the namespace and is not the other end of a veth of this topology');
}

/** A veth of a namespace that existed: created (peer straight inside), or adopted when both
 *  ends carry the mark and are each other's peer. Returns the inside end's index. */
async function ensureInterface(f: InterfaceSpec, n: NamespaceSpec, ns: NamespaceHandle, ctx: Context): Promise<number> {
  const host = f.hostNamespace === undefined ? undefined : ctx.hosts.get(f.hostNamespace)!;
  const where = f.hostNamespace === undefined ? {} : { netns: f.hostNamespace };
  const master = f.master === undefined ? undefined : (host ? host.bridgeIndex : ctx.bridgeIndex).get(f.master);
  try {
    const made = await createVethPair({
      ...where,
      name: f.hostName,
      up: true,
      group: ctx.group,
      ...(master !== undefined ? { master } : {}),
      ...(f.mtu !== undefined ? { mtu: f.mtu } : {}),
      peer: { name: f.name, netns: ns, group: ctx.group, ...(f.mtu !== undefined ? { mtu: f.mtu } : {}) },
    });
    if (made.index !== undefined) {
      // An end in a host namespace is deleted there (by index: its name could be reused).
      if (!host) ctx.journal.links.push(made.index);
      else if (!host.created) ctx.journal.onRollback(() => deleteLink(made.index!, where));
    }
    return made.peer.index;
  } catch (e) {
    if (!isCode(e, 'EEXIST')) throw e;
    const found = await vethClash(f, n, ns, ctx.group);
    if (found instanceof NetlinkError) throw found;
    await restorable(found.host, { up: true }, ctx.journal, f.hostNamespace);
    await ensureMaster(found.host, master, ctx.journal, where);
    return found.inside.index;
  }
}

/** Link index placeholder in a fresh namespace's requests: the addon writes the echoed one. */
const ECHOED_INDEX = 1;

/** The requests inside a namespace, in the order the kernel must run them: lo up (when it was
 *  not marked up at creation), each veth's inside end up with its addresses, then the routes
 *  (which use them). With `indexes` they name the links; without, each names its veth by
 *  ordinal for the addon to fill in. Errors name the object and its namespace. */
function insideRequests(n: NamespaceSpec, loopbackDone: boolean, indexes?: number[], withRoutes = true): InsideRequest[] {
  const ifaces = n.interfaces ?? [];
  const where = ` in netns ${n.name}`;
  const at = (i: number) => (indexes ? { index: indexes[i]!, veth: undefined } : { index: ECHOED_INDEX, veth: i });
  const inside: InsideRequest[] = [];
  if (n.loopback !== false && !loopbackDone) inside.push({ request: linkUpRequest(LOOPBACK_INDEX, true, `lo${where}`) });
  ifaces.forEach((f, i) => {
    const { index, veth } = at(i);
    inside.push({ request: linkUpRequest(index, true, `${f.name}${where}`), veth });
    for (const a of f.addresses ?? []) {
      const [cidr, opts] = addressArgs(a);
      inside.push({ request: addressRequest(index, cidr, { ...opts, replace: true }, `${f.name}${where}`), veth });
    }
  });
  // validateTopology made sure the namespace has each route's device.
  if (withRoutes) inside.push(...routeRequests(n, (dev) => at(ifaces.findIndex((f) => f.name === dev))));
  return inside;
}

/** A namespace's routes, each through the link `at` names for its device. */
function routeRequests(n: NamespaceSpec, at: (dev: string) => { index: number; veth: number | undefined }): InsideRequest[] {
  const where = ` in netns ${n.name}`;
  return (n.routes ?? []).map((r) => {
    const label = { object: `${routeLabel(r)}${where}` };
    if (r.dev === undefined || typeof r.dev === 'number' || r.dev === 'lo') {
      return { request: withLabel(routeRequest(rt.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r, r.dev === 'lo' ? LOOPBACK_INDEX : r.dev), label) };
    }
    const { index, veth } = at(r.dev);
    return { request: withLabel(routeRequest(rt.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r, index), label), veth };
  });
}

const routeLabel = (r: TopologyRoute) => `${r.to}${r.via ? ` via ${r.via}` : ''}${r.dev !== undefined ? ` dev ${r.dev}` : ''}`;
const withLabel = (r: InsideRequest['request'], o: { object: string }): InsideRequest['request'] => ({ encode: r.encode, opts: { ...r.opts, ...o } });

/** What one addon job does for a namespace this call creates (see lib/provision.ts). */
export function freshPlan(n: NamespaceSpec, group: number, bridgeIndex: ReadonlyMap<string, number>): ProvisionPlan {
  return {
    veths: (n.interfaces ?? []).map((f) => {
      const master = f.master === undefined ? undefined : bridgeIndex.get(f.master);
      return {
        hostName: f.hostName,
        name: f.name,
        group,
        label: `${f.hostName} (veth to ${f.name} in netns ${n.name}${f.master !== undefined ? `, on bridge ${f.master}` : ''})`,
        ...(master !== undefined ? { master } : {}),
        ...(f.mtu !== undefined ? { mtu: f.mtu } : {}),
      };
    }),
    inside: insideRequests(n, !n.anonymous),
    ipv6Off: n.ipv6 === false,
    // Anonymous namespaces are never adopted: no mark needed.
    ...(n.anonymous ? {} : { mark: namespaceMark(group, n.loopback !== false) }),
  };
}

/** A namespace this call creates, configured in one addon job; undefined when a named one
 *  exists already. */
async function provisionFresh(n: NamespaceSpec, ctx: Context): Promise<Provisioned | undefined> {
  const plan = freshPlan(n, ctx.group, ctx.bridgeIndex);
  try {
    return await provision(n.anonymous ? undefined : n.name, plan);
  } catch (e) {
    if (!n.anonymous && isCode(e, 'EEXIST')) return undefined;
    throw e;
  }
}

/** Opens a named namespace that exists (`created` false), or makes it, marked, when its name
 *  holds an empty file left by a crash. A name whose file is no network namespace is judged
 *  under the run dir's lock (lib/run-dir.ts): a crash leftover is removed, one another process
 *  is still creating is waited for, anything else is refused (EEXIST, saying what it is). */
async function openExisting(n: NamespaceSpec, ctx: Context): Promise<{ ns: Namespace; created: boolean }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { ns: await openNamespace(n.name), created: false };
    } catch (e) {
      // No network namespace (yet), or gone again: another process may be creating it.
      if (!isCode(e, 'EINVAL') && !isCode(e, 'ELOOP') && !isCode(e, 'ENOENT')) throw e;
      // A file that is no namespace: a crash leftover, a creation under way, or not ours. A
      // missing name needs no judging: a creation that gets there first makes ours EEXIST.
      if (!isCode(e, 'ENOENT') && (await clearCrashLeftover(n.name)) === 'network') continue;
    }
    try {
      return { ns: await createMarkedNamespace(n.name, namespaceMark(ctx.group, n.loopback !== false)), created: true };
    } catch (e) {
      if (!isCode(e, 'EEXIST') || attempt >= 3) throw e;
    }
  }
}

/** Each veth created or adopted, then everything inside in one go. */
async function convergeInside(n: NamespaceSpec, ns: NamespaceHandle, ctx: Context): Promise<void> {
  const indexes = await Promise.all((n.interfaces ?? []).map((f) => ensureInterface(f, n, ns, ctx)));
  // Queued synchronously in this order, sent in one sendmsg, executed by the kernel in order.
  // A host namespace's routes wait for the last phase (hostRoutes): they may go through the
  // host end of a namespace being built meanwhile.
  const conn = await ns.connection();
  await Promise.all(insideRequests(n, false, indexes, !ctx.hosts.has(n.name)).map((r) => send(conn, r.request)));
}

/** A host namespace's routes, once every namespace's links exist: their devices by name. */
async function hostRoutes(n: NamespaceSpec): Promise<void> {
  const ns = await openNamespace(n.name);
  try {
    const byName = new Map<string, number>();
    for (const r of n.routes ?? []) {
      if (typeof r.dev === 'string' && r.dev !== 'lo' && !byName.has(r.dev)) byName.set(r.dev, (await getLink(r.dev, { netns: ns })).index);
    }
    const conn = await ns.connection();
    await Promise.all(routeRequests(n, (dev) => ({ index: byName.get(dev)!, veth: undefined })).map((r) => send(conn, r.request)));
  } finally {
    ns.close();
  }
}

/** A named namespace made (marked, journaled) or, when it exists, adopted only when it carries
 *  the mark; with IPv6 off when the spec says so, before any link arrives. */
async function openOwned(n: NamespaceSpec, ctx: Context): Promise<{ ns: Namespace; created: boolean }> {
  const { ns, created } = await openExisting(n, ctx);
  try {
    if (created) ctx.journal.namespaces.push(n.name);
    else {
      const group = await namespaceGroup(ns);
      if (group !== ctx.group) throw clash(`netns ${n.name}`, `exists and was not made by this topology (its loopback's link group is ${group}, not ${ctx.group})`);
    }
    if (n.ipv6 === false) {
      // Before any link arrives: new devices copy `default`.
      for (const key of ['net.ipv6.conf.all.disable_ipv6', 'net.ipv6.conf.default.disable_ipv6']) await setSysctlJournaled(key, 1, ctx.journal, { ns, name: n.name, created });
    }
    return { ns, created };
  } catch (e) {
    ns.close();
    throw e;
  }
}

/** The per-call path for a named namespace that existed, or that is built call by call. */
async function converge(n: NamespaceSpec, ctx: Context): Promise<{ ns: Namespace; action: ItemAction }> {
  const host = ctx.hosts.get(n.name);
  // A host namespace was made or adopted by prepareHost already.
  const { ns, created } = host ? { ns: await openNamespace(n.name), created: host.created } : await openOwned(n, ctx);
  try {
    await convergeInside(n, ns, ctx);
    return { ns, action: created ? 'created' : 'adopted' };
  } catch (e) {
    ns.close();
    throw e;
  }
}

async function configureNamespace(n: NamespaceSpec, ctx: Context): Promise<ItemResult> {
  const fresh = ctx.perCall.has(n.name) ? undefined : await provisionFresh(n, ctx);
  let ns: Namespace;
  let action: ItemAction = 'created';
  if (fresh) {
    ns = fresh.ns;
    if (n.anonymous) ctx.journal.anonymous.set(n.name, ns);
    else ctx.journal.namespaces.push(n.name);
    for (const index of fresh.hostIndexes) if (index !== undefined) ctx.journal.hostEndsOfCreated.push(index);
  } else {
    ({ ns, action } = await converge(n, ctx));
  }
  try {
    if (fresh) {
      if (fresh.failure) throw fresh.failure;
      const refused = fresh.vethErrors.filter((e) => e !== undefined);
      const other = refused.find((e) => !isCode(e, 'EEXIST'));
      if (other) throw other;
      if (refused.length > 0) {
        // A name in the way: someone else's (refused, named), or the veth another process
        // applying this topology made into our new namespace meanwhile (adopted).
        await convergeInside(n, ns, ctx);
      } else {
        const failed = fresh.insideErrors?.find((e) => e !== undefined);
        if (failed) throw failed;
      }
    }
    for (const [key, value] of Object.entries(n.sysctls ?? {})) await setSysctlJournaled(key, value, ctx.journal, { ns, name: n.name, created: action === 'created' });
    for (const m of n.masquerade ?? []) {
      const r = await addMasquerade({ ...m, netns: ns });
      if (r.added && action !== 'created') ctx.journal.onRollback(() => removeMasquerade({ ...m, netns: n.name }));
    }
    for (const f of n.portForwards ?? []) {
      const r = await addPortForward({ ...f, netns: ns });
      if (r.added && action !== 'created') ctx.journal.onRollback(() => removePortForward({ ...f, netns: n.name }));
    }
    return { item: n.name, ok: true, action, existed: action !== 'created' };
  } finally {
    // Named namespaces live on in the run dir; anonymous ones only through their handle.
    if (!n.anonymous) ns.close();
  }
}

/** A host namespace, before every other namespace: made or adopted, then its bridges (which
 *  other namespaces' veths attach to). */
async function prepareHost(n: NamespaceSpec, ctx: Context): Promise<void> {
  const { ns, created } = await openOwned(n, ctx);
  ns.close();
  const host: InHost = { netns: n.name, created, bridgeIndex: new Map() };
  ctx.hosts.set(n.name, host);
  for (const b of n.bridges ?? []) await ensureBridge(b, ctx, host);
}

const endLabel = (e: LinkSpec['a']) => `${e.name} in netns ${e.netns}`;

/** Which end of a link is in the way, after its create was refused with EEXIST. */
function linkClash({ a, b }: LinkSpec, ea: LinkInfo | undefined, eb: LinkInfo | undefined, group: number): NetlinkError {
  for (const [end, l] of [[a, ea], [b, eb]] as const) {
    if (l && !(l.kind === 'veth' && l.group === group)) return clash(endLabel(end), `exists and is not from this topology (${describeKind(l)}, link group ${l.group ?? 0})`);
  }
  const [end, other] = ea ? [a, b] : [b, a];
  return clash(endLabel(end), `is this topology's, but its other end is not ${endLabel(other)}`);
}

/** A veth between two host namespaces: created, or adopted when both ends are the
 *  topology's and each other's peer. */
async function ensureLink(l: LinkSpec, ctx: Context): Promise<ItemResult> {
  const { a, b } = l;
  const item = `veth ${a.netns}/${a.name} ${b.netns}/${b.name}`;
  const aHost = ctx.hosts.get(a.netns)!;
  const bHost = ctx.hosts.get(b.netns)!;
  let action: ItemAction = 'created';
  let aIndex: number;
  let bIndex: number;
  try {
    const made = await createVethPair({
      netns: a.netns,
      name: a.name,
      up: true,
      group: ctx.group,
      ...(a.mtu !== undefined ? { mtu: a.mtu } : {}),
      peer: { name: b.name, netns: b.netns, group: ctx.group, ...(b.mtu !== undefined ? { mtu: b.mtu } : {}) },
    });
    aIndex = made.index!;
    if (!aHost.created && !bHost.created) ctx.journal.onRollback(() => deleteLink(aIndex, { netns: a.netns }));
    bIndex = made.peer.index;
    await setLink(bIndex, { up: true }, { netns: b.netns });
  } catch (e) {
    if (!isCode(e, 'EEXIST')) throw e;
    const ea = await findLink(a.name, a.netns);
    const eb = await findLink(b.name, b.netns);
    if (!ea || !eb || !vethEnds(ea, eb, ctx.group)) throw linkClash(l, ea, eb, ctx.group);
    action = 'adopted';
    [aIndex, bIndex] = [ea.index, eb.index];
    await restorable(ea, { up: true }, ctx.journal, a.netns);
    await restorable(eb, { up: true }, ctx.journal, b.netns);
  }
  const journal = action === 'created' ? undefined : ctx.journal;
  await Promise.all([
    ...(a.addresses ?? []).map((x) => ensureAddress(aIndex, x, journal, a.netns)),
    ...(b.addresses ?? []).map((x) => ensureAddress(bIndex, x, journal, b.netns)),
  ]);
  return { item, ok: true, action, existed: action !== 'created' };
}

/** A vxlan of a host namespace: created (up, marked, on its bridge), or adopted when it is the
 *  topology's with the same VNI and port. */
async function ensureVxlan(v: VxlanSpec, host: InHost, ctx: Context): Promise<void> {
  const where = { netns: host.netns };
  const master = v.master === undefined ? undefined : host.bridgeIndex.get(v.master)!;
  const label = `${v.name} in netns ${host.netns}`;
  let index: number;
  let created = true;
  try {
    const { name: _name, addresses: _addresses, ...options } = v;
    const made = await createVxlan(v.name, { ...options, ...where, up: true, group: ctx.group, ...(master !== undefined ? { master } : {}) });
    index = made.index!;
    if (!host.created) ctx.journal.onRollback(() => deleteLink(index, where));
  } catch (e) {
    if (!isCode(e, 'EEXIST')) throw e;
    const l = await getLink(v.name, where);
    if (l.kind !== 'vxlan' || l.group !== ctx.group) throw clash(label, `exists and is not from this topology (${describeKind(l)}, link group ${l.group ?? 0})`);
    const d = l.detail?.kind === 'vxlan' ? l.detail : undefined;
    const port = v.port ?? 4789;
    if (d?.id !== v.id || (d.port !== undefined && d.port !== port)) {
      throw clash(label, `is this topology's, but has VNI ${d?.id} and port ${d?.port}, not ${v.id} and ${port}: take the topology down first`);
    }
    created = false;
    index = l.index;
    await restorable(l, { up: true, ...(v.mtu !== undefined ? { mtu: v.mtu } : {}) }, ctx.journal, host.netns);
    await ensureMaster(l, master, ctx.journal, where);
  }
  await Promise.all((v.addresses ?? []).map((a) => ensureAddress(index, a, created ? undefined : ctx.journal, host.netns)));
}

/** A host namespace's routes, FDB entries, neighbours and rules, once every namespace's links
 *  exist. Each entry is journaled when this call added it to a namespace it did not create
 *  (routes are replaced, as in every namespace). */
async function ensureEntries(n: NamespaceSpec, ctx: Context): Promise<ItemResult> {
  const where = { netns: n.name };
  await hostRoutes(n);
  const journal = ctx.hosts.get(n.name)!.created ? undefined : ctx.journal;
  for (const e of n.fdb ?? []) {
    const mac = e.mac.toLowerCase();
    const had = journal && (await listFdb({ ...where, dev: e.dev })).some((x) => x.mac === mac && x.dst === e.dst && x.vlan === e.vlan);
    // Appended (`bridge fdb append`): a vxlan's flood entry lists one remote per entry.
    await appendFdb({ ...e, ...where });
    if (journal && !had) journal.onRollback(() => deleteFdb({ ...e, ...where }));
  }
  for (const x of n.neighbours ?? []) {
    try {
      await addNeighbour({ ...x, ...where });
      journal?.onRollback(() => deleteNeighbour({ address: x.address, dev: x.dev, ...(x.proxy ? { proxy: true } : {}), ...where }));
    } catch (e) {
      if (!isCode(e, 'EEXIST')) throw e;
      const same = (await listNeighbours({ ...where, dev: x.dev, ...(x.proxy ? { proxy: true } : {}) })).find((y) => y.address === x.address);
      if (!same || same.lladdr?.toLowerCase() !== x.lladdr?.toLowerCase()) throw clash(`neighbour ${x.address} dev ${x.dev} in netns ${n.name}`, `exists with another MAC (${same?.lladdr ?? 'none'}); it is not replaced`);
    }
  }
  for (const r of n.rules ?? []) {
    try {
      await addRule({ ...r, ...where });
      journal?.onRollback(() => deleteRule({ ...r, ...where }));
    } catch (e) {
      // EEXIST: the very same rule is there.
      if (!isCode(e, 'EEXIST')) throw e;
    }
  }
  return { item: `entries ${n.name}`, ok: true, action: journal ? 'adopted' : 'created', existed: journal !== undefined };
}

/** A host route: added, or left when the same route is there; any other route to the same
 *  destination is someone else's and is not replaced. */
async function ensureHostRoute(r: TopologyRoute, journal: Journal): Promise<void> {
  try {
    await addRoute(r);
    journal.onRollback(() => deleteRoute(r));
  } catch (e) {
    if (!isCode(e, 'EEXIST')) throw e;
    const same = (await listRoutes({ table: r.table ?? 'all' })).find((x) => sameRoute(x, r));
    if (!same) throw clash(`route ${routeLabel(r)}`, 'another route to that destination exists; it is not replaced');
  }
}

function sameRoute(x: RouteInfo, r: TopologyRoute): boolean {
  if (x.to !== (r.to === 'default' ? 'default' : normalizePrefix(r.to))) return false;
  if ((r.metric ?? undefined) !== x.metric && !(r.metric === undefined && x.metric === undefined)) return false;
  if (r.via !== undefined && x.via !== r.via) return false;
  if (typeof r.dev === 'string' && x.dev !== r.dev) return false;
  return true;
}

/** 'a.b.c.d' is 'a.b.c.d/32', as listRoutes prints it. */
const normalizePrefix = (p: string) => (p.includes('/') ? p : `${p}/${p.includes(':') ? 128 : 32}`);

/** Namespaces in flight by default: two fds each, a quarter of the open-file limit's headroom. */
function defaultConcurrency(): number {
  let limit = 1024;
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    if (Number.isFinite(soft) && soft > 0) limit = soft;
  } catch {
    // keep the conservative default
  }
  return Math.max(16, Math.floor((limit - 256) / 4));
}

/** JS work per turn of the event loop while items are started: encoding thousands of
 *  namespaces in one go blocked the loop for most of a second. */
const SLICE_MS = 4;

/** Runs `fn` over `items` with at most `limit` in flight, stopping new work on abort. Items
 *  are started from one loop that hands the event loop back every SLICE_MS. */
async function pool<T, R>(items: T[], limit: number, signal: AbortSignal | undefined, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const running: Promise<void>[] = [];
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let sliceStart = monotonicMs();
  for (let i = 0; i < items.length && !signal?.aborted; ) {
    if (inFlight >= limit) {
      await new Promise<void>((resolve) => (wake = resolve));
      continue;
    }
    const k = i++;
    inFlight++;
    running.push(
      fn(items[k]!).then((r) => {
        results[k] = r;
        inFlight--;
        const w = wake;
        wake = undefined;
        w?.();
      }),
    );
    if (monotonicMs() - sliceStart > SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = monotonicMs();
    }
  }
  await Promise.all(running);
  return results;
}

/**
 * Builds a topology. Idempotent: applying the same spec again converges to it.
 *
 * What exists already is adopted only when it carries this topology's mark (its link group,
 * see docs/API.md); any other object in the way is an EEXIST naming it, with nothing changed,
 * except a bridge that existed before, which is used (ports and addresses added) but never
 * owned. On failure, everything this call did is undone (unless `rollback: false`): what it
 * created is deleted, what it changed is put back; then a TopologyError lists every item.
 *
 * @example
 * ```ts
 * const result = await applyTopology({
 *   bridges: [{ name: 'br0', addresses: ['10.0.0.1/24'] }],
 *   namespaces: [{ name: 'c1', interfaces: [{ name: 'eth0', hostName: 'h1', master: 'br0', addresses: ['10.0.0.2/24'] }],
 *                  routes: [{ to: 'default', via: '10.0.0.1' }] }],
 * });
 * ```
 */
export async function applyTopology(spec: TopologySpec, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const { maxNamespaces } = applyOptions.check(opts, 'options');
  await validateTopologySliced(spec, maxNamespaces === undefined ? {} : { maxNamespaces }, SLICE_MS);
  const started = monotonicMs();
  const { hosts, perCall } = namespaceRoles(spec);
  const ctx: Context = { group: topologyGroup(spec), bridgeIndex: new Map(), journal: new Journal(), hosts: new Map(), perCall };
  const namespaces = spec.namespaces ?? [];
  const hostSpecs = namespaces.filter((n) => hosts.has(n.name));
  const withEntries = hostSpecs.filter((n) => (n.routes?.length ?? 0) + (n.fdb?.length ?? 0) + (n.neighbours?.length ?? 0) + (n.rules?.length ?? 0) > 0);
  const total = (spec.bridges?.length ?? 0) + (spec.links?.length ?? 0) + namespaces.length + withEntries.length + 1;
  let done = 0;
  const items: ItemResult[] = [];
  const record = (r: ItemResult) => {
    items.push(r);
    done++;
    opts.progress?.(r.error ? { done, total, item: r.item, error: r.error } : { done, total, item: r.item });
  };
  const attempt = async (item: string, fn: () => Promise<ItemResult>) => {
    try {
      opts.signal?.throwIfAborted();
      record(await fn());
    } catch (e) {
      record({ item, ok: false, error: e as Error });
    }
  };
  try {
    for (const b of spec.bridges ?? []) await attempt(`bridge ${b.name}`, () => ensureBridge(b, ctx));
    // Host namespaces first: their bridges, the links between them, their vxlans (on those
    // links and bridges), all before any namespace attaches to them. A failure is the host's
    // item; the namespace's item is recorded when its interfaces are done, with the others.
    const ok = () => items.every((r) => r.ok) && !opts.signal?.aborted;
    for (const n of hostSpecs) {
      if (!ok()) break;
      await prepareHost(n, ctx).catch((e: Error) => record({ item: n.name, ok: false, error: e }));
    }
    for (const l of spec.links ?? []) if (ok()) await attempt(`veth ${l.a.netns}/${l.a.name} ${l.b.netns}/${l.b.name}`, () => ensureLink(l, ctx));
    for (const n of hostSpecs) {
      if (!ok()) break;
      try {
        for (const v of n.vxlans ?? []) await ensureVxlan(v, ctx.hosts.get(n.name)!, ctx);
      } catch (e) {
        record({ item: n.name, ok: false, error: e as Error });
      }
    }
    if (items.every((r) => r.ok)) {
      await pool(namespaces, opts.concurrency ?? defaultConcurrency(), opts.signal, (n) => attempt(n.name, () => configureNamespace(n, ctx)));
    }
    // Hosts' routes and entries last: they may name any link of their namespace, a container's
    // host end too.
    for (const n of withEntries) if (ok()) await attempt(`entries ${n.name}`, () => ensureEntries(n, ctx));
    if (items.every((r) => r.ok) && !opts.signal?.aborted) {
      await attempt('host', async () => {
        for (const r of spec.routes ?? []) await ensureHostRoute(r, ctx.journal);
        for (const m of spec.masquerade ?? []) {
          if ((await addMasquerade(m)).added) ctx.journal.onRollback(() => removeMasquerade(m));
        }
        for (const f of spec.portForwards ?? []) {
          if ((await addPortForward(f)).added) ctx.journal.onRollback(() => removePortForward(f));
        }
        for (const [key, value] of Object.entries(spec.sysctls ?? {})) await setSysctlJournaled(key, value, ctx.journal);
        return { item: 'host', ok: true, action: 'created' };
      });
    }
  } catch (e) {
    items.push({ item: 'apply', ok: false, error: e as Error });
  }
  const failed = items.filter((r) => !r.ok);
  const aborted = opts.signal?.aborted === true;
  if (failed.length === 0 && !aborted) return { items, elapsedMs: monotonicMs() - started, namespaces: ctx.journal.anonymous, spec };
  if (opts.rollback !== false) await ctx.journal.rollback();
  if (aborted && failed.every((r) => r.error === opts.signal?.reason || (r.error as Error)?.name === 'AbortError')) throw opts.signal!.reason;
  const first = failed.find((r) => r.error !== opts.signal?.reason) ?? failed[0]!;
  throw new TopologyError(`${failed.length} of ${items.length} items failed; first: ${first.item}: ${first.error?.message}`, items, { cause: first.error });
}
