// Declarative apply/destroy of many namespaces at once: the bulk path. Requests that do not
// depend on each other are issued together, so each connection sends them in one sendmsg;
// peers are created straight inside their namespaces; nothing is looked up that the kernel
// can tell us (the veth create's echo gives both indexes).
import { readFileSync } from 'node:fs';
import { ArgumentError, ArgumentRangeError, NetlinkError } from './errors.js';
import { parsePrefix } from './ip.js';
import { waitForLinksGone } from './monitor.js';
import { Namespace, createNamespace, deleteNamespace, openNamespace } from './namespace.js';
import { addMasquerade, removeMasquerade } from './nftables/masquerade.js';
import { addAddress, addressRequest } from './route/addresses.js';
import { NLM_F_CREATE, NLM_F_REPLACE } from './netlink/message.js';
import * as rt from './netlink/rtnetlink.js';
import { provision, type InsideRequest, type ProvisionPlan, type Provisioned } from './provision.js';
import { send } from './target.js';
import { createBridge, createVethPair, deleteLink, deleteLinkGroup, getLink, linkUpRequest, setLink, setMaster, type LinkRef } from './route/links.js';
import { replaceRoute, routeRequest, type RouteSpec } from './route/routes.js';
import { setSysctl, type SysctlValue } from './sysctl.js';
import { validateInterfaceName, validateMtu, validateNamespaceName, validateObject, validateU32 } from './validate.js';

/** An address: 'a.b.c.d/len', or with a broadcast ('auto' is `brd +`). */
export type AddressSpec = string | { address: string; broadcast?: 'auto' | string };

export interface BridgeSpec {
  name: string;
  addresses?: AddressSpec[];
  mtu?: number;
}

/** A veth pair: `name` inside the namespace, `peer` in the host, optionally on a bridge. */
export interface InterfaceSpec {
  name: string;
  peer: string;
  /** Bridge (in the host) for the peer. */
  master?: string;
  addresses?: AddressSpec[];
  mtu?: number;
}

export type TopologyRoute = Omit<RouteSpec, 'netns'>;

export interface MasqueradeSpec {
  source: string;
  outInterface?: string;
}

export interface NamespaceSpec {
  /** The name in the run dir; for an anonymous namespace only a key in the result. */
  name: string;
  /** No /run/netns file: the namespace lives as long as the handle in the apply result (for
   *  ephemeral workloads; it saves the file and the mount). */
  anonymous?: boolean;
  /** false: IPv6 off inside the namespace before its links come up (no DAD/MLD flood). */
  ipv6?: boolean;
  /** Bring lo up (default true). */
  loopback?: boolean;
  interfaces?: InterfaceSpec[];
  routes?: TopologyRoute[];
  masquerade?: MasqueradeSpec[];
  sysctls?: Record<string, SysctlValue>;
}

export interface TopologySpec {
  /** Link group for every link this topology creates in the host (teardown is one message).
   *  Default: derived from the spec's link names. */
  group?: number;
  bridges?: BridgeSpec[];
  namespaces?: NamespaceSpec[];
  /** Host routes, masquerade and sysctls, applied last. */
  routes?: TopologyRoute[];
  masquerade?: MasqueradeSpec[];
  sysctls?: Record<string, SysctlValue>;
}

export interface Progress {
  done: number;
  total: number;
  /** The namespace (or 'host') just finished, and its error if it failed. */
  item: string;
  error?: Error;
}

export interface ApplyOptions {
  progress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** Undo what this call created when something fails (default true). */
  rollback?: boolean;
  /** Namespaces configured at once. Default: as many as the open-file limit allows (each
   *  in-flight namespace holds two fds), up to all of them: wider batches measured faster. */
  concurrency?: number;
}

export interface ItemResult {
  item: string;
  ok: boolean;
  /** True when it existed already and was brought in line with the spec. */
  existed?: boolean;
  error?: Error;
}

export interface ApplyResult {
  items: ItemResult[];
  elapsedMs: number;
  /** Handles of the anonymous namespaces, by their spec name: they live while these are open.
   *  Pass this result to destroyTopology(), or close them. */
  namespaces: Map<string, Namespace>;
  spec: TopologySpec;
}

/** Some items failed; `results` says which, with their errors. */
export class TopologyError extends Error {
  readonly code = 'ERR_TOPOLOGY_APPLY';
  constructor(message: string, readonly results: ItemResult[], options?: ErrorOptions) {
    super(message, options);
    this.name = 'TopologyError';
  }
}

export const MAX_BRIDGE_PORTS = 1023;

/** FNV-1a of the host link names: a stable non-zero group for a spec without one. */
function defaultGroup(spec: TopologySpec): number {
  let h = 0x811c9dc5;
  const names = [...(spec.bridges ?? []).map((b) => b.name), ...(spec.namespaces ?? []).flatMap((n) => (n.interfaces ?? []).map((i) => i.peer))];
  for (const c of names.join('\0')) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h === 0 ? 1 : h;
}

/** Validates the whole spec before anything is sent. */
export function validateTopology(spec: TopologySpec): void {
  validateObject(spec, 'spec');
  if (spec.group !== undefined && validateU32(spec.group, 'group', 'ERR_INVALID_LINK_GROUP') === 0) {
    throw new ArgumentError('ERR_INVALID_LINK_GROUP', 'group', 'must not be 0');
  }
  const hostNames = new Set<string>();
  const claim = (name: string, field: string) => {
    validateInterfaceName(name, field);
    if (hostNames.has(name)) throw new ArgumentError('ERR_TOPOLOGY_DUPLICATE', field, `'${name}' appears twice in the host`);
    hostNames.add(name);
  };
  const ports = new Map<string, number>();
  (spec.bridges ?? []).forEach((b, i) => {
    claim(b.name, `bridges[${i}].name`);
    ports.set(b.name, 0);
    if (b.mtu !== undefined) validateMtu(b.mtu, `bridges[${i}].mtu`);
    (b.addresses ?? []).forEach((a, j) => validateAddress(a, `bridges[${i}].addresses[${j}]`));
  });
  const nsNames = new Set<string>();
  (spec.namespaces ?? []).forEach((n, i) => {
    validateNamespaceName(n.name, `namespaces[${i}].name`);
    if (nsNames.has(n.name)) throw new ArgumentError('ERR_TOPOLOGY_DUPLICATE', `namespaces[${i}].name`, `'${n.name}' appears twice`);
    nsNames.add(n.name);
    const inside = new Set<string>();
    (n.interfaces ?? []).forEach((f, j) => {
      const field = `namespaces[${i}].interfaces[${j}]`;
      validateInterfaceName(f.name, `${field}.name`);
      if (inside.has(f.name)) throw new ArgumentError('ERR_TOPOLOGY_DUPLICATE', `${field}.name`, `'${f.name}' appears twice in ${n.name}`);
      inside.add(f.name);
      claim(f.peer, `${field}.peer`);
      if (f.mtu !== undefined) validateMtu(f.mtu, `${field}.mtu`);
      if (f.master !== undefined) {
        const count = ports.get(f.master);
        if (count === undefined) throw new ArgumentError('ERR_TOPOLOGY_UNKNOWN_BRIDGE', `${field}.master`, `'${f.master}' is not one of the spec's bridges`);
        if (count + 1 > MAX_BRIDGE_PORTS) {
          throw new ArgumentRangeError('ERR_TOPOLOGY_BRIDGE_FULL', `${field}.master`, `bridge '${f.master}' would get more than ${MAX_BRIDGE_PORTS} ports (the kernel's limit): spread the namespaces over more bridges`);
        }
        ports.set(f.master, count + 1);
      }
      (f.addresses ?? []).forEach((a, k) => validateAddress(a, `${field}.addresses[${k}]`));
    });
  });
}

function validateAddress(a: AddressSpec, field: string): void {
  parsePrefix(typeof a === 'string' ? a : a?.address, field);
}

function addressArgs(a: AddressSpec): [string, { broadcast?: string; replace: true }] {
  if (typeof a === 'string') return [a, { replace: true }];
  return [a.address, a.broadcast === undefined ? { replace: true } : { broadcast: a.broadcast, replace: true }];
}

const isCode = (e: unknown, code: string) => e instanceof NetlinkError && e.code === code;

/** Creates a named namespace, or opens it when it exists (a stale file left by a crash between
 *  creating the file and mounting on it is removed and the namespace made anew). */
async function ensureNamespace(name: string): Promise<{ ns: Namespace; existed: boolean }> {
  try {
    return { ns: await createNamespace(name), existed: false };
  } catch (e) {
    if (!isCode(e, 'EEXIST')) throw e;
  }
  try {
    return { ns: await openNamespace(name), existed: true };
  } catch (e) {
    if (!isCode(e, 'EINVAL')) throw e;
    await deleteNamespace(name);
    return { ns: await createNamespace(name), existed: false };
  }
}

interface Context {
  group: number;
  bridgeIndex: Map<string, number>;
  createdNamespaces: string[];
  createdBridges: string[];
  /** Host ends of the veths this call created, and whether their namespace was created by
   *  this call too (then deleting the namespace takes the veth with it). */
  createdHostEnds: { name: string; namespaceCreated: boolean }[];
  anonymous: Map<string, Namespace>;
}

async function ensureBridge(b: BridgeSpec, ctx: Context): Promise<ItemResult> {
  let existed = false;
  try {
    const made = await createBridge(b.name, { up: true, group: ctx.group, ...(b.mtu !== undefined ? { mtu: b.mtu } : {}) });
    ctx.createdBridges.push(b.name);
    ctx.bridgeIndex.set(b.name, made.index!);
  } catch (e) {
    if (!isCode(e, 'EEXIST')) throw e;
    const l = await getLink(b.name);
    if (l.kind !== 'bridge') throw new NetlinkError({ errno: -17, syscall: 'sendmsg', operation: 'RTM_NEWLINK', object: b.name, hint: `exists and is ${l.kind ?? 'not a bridge'}` });
    await setLink(l.index, { up: true, group: ctx.group, ...(b.mtu !== undefined ? { mtu: b.mtu } : {}) });
    ctx.bridgeIndex.set(b.name, l.index);
    existed = true;
  }
  await Promise.all((b.addresses ?? []).map((a) => addAddress(ctx.bridgeIndex.get(b.name)!, ...addressArgs(a))));
  return { item: `bridge ${b.name}`, ok: true, existed };
}

/** Creates the veth (peer inside `ns`) or, when the host end exists, adopts it. Returns the
 *  index of the inside end within `ns`. */
async function ensureInterface(f: InterfaceSpec, ns: Namespace, ctx: Context, namespaceCreated: boolean): Promise<number> {
  const master: LinkRef | undefined = f.master === undefined ? undefined : ctx.bridgeIndex.get(f.master);
  try {
    const made = await createVethPair({
      name: f.peer,
      up: true,
      group: ctx.group,
      ...(master !== undefined ? { master } : {}),
      ...(f.mtu !== undefined ? { mtu: f.mtu } : {}),
      peer: { name: f.name, netns: ns, group: ctx.group, ...(f.mtu !== undefined ? { mtu: f.mtu } : {}) },
    });
    ctx.createdHostEnds.push({ name: f.peer, namespaceCreated });
    if (made.peer.index !== undefined) return made.peer.index;
  } catch (e) {
    if (!isCode(e, 'EEXIST')) throw e;
    // Converge: the pair exists (an earlier apply); put the host end back in line.
    const host = await getLink(f.peer);
    if (host.kind !== 'veth') throw e;
    await setLink(host.index, { up: true, group: ctx.group });
    if (master !== undefined && host.masterIndex !== master) await setMaster(host.index, master);
  }
  return (await ns.getLink(f.name)).index;
}

/** Link index placeholder in a fresh namespace's requests: the addon writes the echoed one. */
const ECHOED_INDEX = 1;

/** The requests inside a namespace, in the order the kernel must run them: lo up, each veth's
 *  inside end up with its addresses, then the routes (which use them). With `indexes` they
 *  name the links; without, each names its veth by ordinal for the addon to fill in. */
function insideRequests(n: NamespaceSpec, indexes?: number[]): InsideRequest[] {
  const ifaces = n.interfaces ?? [];
  const at = (i: number) => (indexes ? { index: indexes[i]!, veth: undefined } : { index: ECHOED_INDEX, veth: i });
  const inside: InsideRequest[] = [];
  if (n.loopback !== false) inside.push({ request: linkUpRequest(1) });
  ifaces.forEach((f, i) => {
    const { index, veth } = at(i);
    inside.push({ request: linkUpRequest(index), veth });
    for (const a of f.addresses ?? []) inside.push({ request: addressRequest(index, ...addressArgs(a), f.name), veth });
  });
  for (const r of n.routes ?? []) {
    if (r.dev === undefined || typeof r.dev === 'number') {
      inside.push({ request: routeRequest(rt.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r, r.dev) });
      continue;
    }
    const i = ifaces.findIndex((f) => f.name === r.dev);
    if (i < 0) throw new ArgumentError('ERR_TOPOLOGY_UNKNOWN_LINK', 'routes.dev', `'${r.dev}' is not an interface of ${n.name}`);
    const { index, veth } = at(i);
    inside.push({ request: routeRequest(rt.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r, index), veth });
  }
  return inside;
}

/** A namespace this call creates, configured in one addon job; undefined when a named one
 *  exists already (then it is adopted and converged call by call). */
async function provisionFresh(n: NamespaceSpec, ctx: Context): Promise<Provisioned | undefined> {
  const plan: ProvisionPlan = {
    veths: (n.interfaces ?? []).map((f) => {
      const master = f.master === undefined ? undefined : ctx.bridgeIndex.get(f.master);
      return { hostName: f.peer, name: f.name, group: ctx.group, ...(master !== undefined ? { master } : {}), ...(f.mtu !== undefined ? { mtu: f.mtu } : {}) };
    }),
    inside: insideRequests(n),
    ipv6Off: n.ipv6 === false,
  };
  try {
    return await provision(n.anonymous ? undefined : n.name, plan);
  } catch (e) {
    if (!n.anonymous && isCode(e, 'EEXIST')) return undefined;
    throw e;
  }
}

/** The per-call path for a namespace that existed (or whose veth's host end did): create or
 *  adopt each veth, then everything inside in one go. */
async function convergeLinks(n: NamespaceSpec, ns: Namespace, ctx: Context, namespaceCreated: boolean, ipv6Done: boolean): Promise<void> {
  if (n.ipv6 === false && !ipv6Done) {
    // Before any link arrives: new devices copy `default`.
    await Promise.all([ns.setSysctl('net.ipv6.conf.all.disable_ipv6', 1), ns.setSysctl('net.ipv6.conf.default.disable_ipv6', 1)]);
  }
  const indexes = await Promise.all((n.interfaces ?? []).map((f) => ensureInterface(f, ns, ctx, namespaceCreated)));
  // Queued synchronously in this order, sent in one sendmsg, executed by the kernel in order.
  const conn = await ns.connection();
  await Promise.all(insideRequests(n, indexes).map((r) => send(conn, r.request)));
}

async function configureNamespace(n: NamespaceSpec, ctx: Context, signal?: AbortSignal): Promise<ItemResult> {
  signal?.throwIfAborted();
  const fresh = await provisionFresh(n, ctx);
  const { ns, existed } = fresh ? { ns: fresh.ns, existed: false } : await ensureNamespace(n.name);
  if (n.anonymous) ctx.anonymous.set(n.name, ns);
  else if (!existed) ctx.createdNamespaces.push(n.name);
  try {
    if (fresh) {
      const ifaces = n.interfaces ?? [];
      fresh.vethErrors.forEach((e, i) => e === undefined && ctx.createdHostEnds.push({ name: ifaces[i]!.peer, namespaceCreated: true }));
      const vethError = fresh.failure ?? fresh.vethErrors.find((e) => e !== undefined && !isCode(e, 'EEXIST'));
      if (vethError) throw vethError;
      if (fresh.vethErrors.some((e) => e !== undefined)) {
        // A host end left by an earlier apply: adopt it call by call.
        await convergeLinks(n, ns, ctx, true, true);
      } else {
        const failed = fresh.insideErrors?.find((e) => e !== undefined);
        if (failed) throw failed;
      }
    } else {
      await convergeLinks(n, ns, ctx, !existed, false);
    }
    for (const [key, value] of Object.entries(n.sysctls ?? {})) await ns.setSysctl(key, value);
    for (const m of n.masquerade ?? []) await addMasquerade({ ...m, netns: ns });
    return { item: n.name, ok: true, existed };
  } finally {
    // Named namespaces live on in the run dir; anonymous ones only through their handle.
    if (!n.anonymous) ns.close();
  }
}

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

/** Runs `fn` over `items` with at most `limit` in flight, stopping new work on abort. */
async function pool<T, R>(items: T[], limit: number, signal: AbortSignal | undefined, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal?.aborted) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Builds a topology. Idempotent: applying the same spec again converges to it (existing
 * namespaces and links are adopted and brought in line; addresses and routes are replaced).
 * On failure, what this call created is removed again (unless `rollback: false`) and a
 * TopologyError lists every item's result.
 */
export async function applyTopology(spec: TopologySpec, opts: ApplyOptions = {}): Promise<ApplyResult> {
  validateTopology(spec);
  const started = performance.now();
  const ctx: Context = { group: spec.group ?? defaultGroup(spec), bridgeIndex: new Map(), createdNamespaces: [], createdBridges: [], createdHostEnds: [], anonymous: new Map() };
  const namespaces = spec.namespaces ?? [];
  const total = (spec.bridges?.length ?? 0) + namespaces.length + 1;
  let done = 0;
  const items: ItemResult[] = [];
  const record = (r: ItemResult) => {
    items.push(r);
    done++;
    opts.progress?.(r.error ? { done, total, item: r.item, error: r.error } : { done, total, item: r.item });
  };
  const attempt = async (item: string, fn: () => Promise<ItemResult>) => {
    try {
      record(await fn());
    } catch (e) {
      record({ item, ok: false, error: e as Error });
    }
  };
  try {
    for (const b of spec.bridges ?? []) await attempt(`bridge ${b.name}`, () => ensureBridge(b, ctx));
    if (items.every((r) => r.ok)) {
      await pool(namespaces, opts.concurrency ?? defaultConcurrency(), opts.signal, (n) => attempt(n.name, () => configureNamespace(n, ctx, opts.signal)));
    }
    if (items.every((r) => r.ok) && !opts.signal?.aborted) {
      await attempt('host', async () => {
        await Promise.all((spec.routes ?? []).map((r) => replaceRoute(r)));
        for (const m of spec.masquerade ?? []) await addMasquerade(m);
        for (const [key, value] of Object.entries(spec.sysctls ?? {})) await setSysctl(key, value);
        return { item: 'host', ok: true };
      });
    }
  } catch (e) {
    items.push({ item: 'apply', ok: false, error: e as Error });
  }
  const failed = items.filter((r) => !r.ok);
  if (failed.length === 0 && !opts.signal?.aborted) return { items, elapsedMs: performance.now() - started, namespaces: ctx.anonymous, spec };
  if (opts.rollback !== false) await rollback(ctx);
  if (opts.signal?.aborted && failed.length === 0) throw opts.signal.reason;
  const first = failed[0]!;
  throw new TopologyError(`${failed.length} of ${items.length} items failed; first: ${first.item}: ${first.error?.message}`, items, { cause: first.error });
}

async function rollback(ctx: Context): Promise<void> {
  for (const ns of ctx.anonymous.values()) ns.close();
  // Veths we added to namespaces that existed before must be deleted one by one.
  await Promise.all(
    ctx.createdHostEnds.filter((e) => !e.namespaceCreated).map((e) => deleteLink(e.name).catch((err) => (isCode(err, 'ENODEV') ? undefined : Promise.reject(err)))),
  );
  await destroyParts(ctx.createdNamespaces, ctx.createdBridges, ctx.createdHostEnds.map((e) => e.name), { wait: true });
}

export interface DestroyOptions {
  /** Resolve only when the kernel has really removed every link (default true). */
  wait?: boolean;
  signal?: AbortSignal;
  timeout?: number;
}

/**
 * Removes what applyTopology(spec) built: the namespaces (their veths go with them),
 * the host links of the spec's link group, the masquerade rules. Missing parts are fine.
 * Sysctls are left as they are (their earlier values are not known).
 */
export async function destroyTopology(target: TopologySpec | ApplyResult, opts: DestroyOptions = {}): Promise<void> {
  const applied = 'items' in target && 'spec' in target ? (target as ApplyResult) : undefined;
  const spec = applied ? applied.spec : (target as TopologySpec);
  validateTopology(spec);
  const hostEnds = (spec.namespaces ?? []).flatMap((n) => (n.interfaces ?? []).map((f) => f.peer));
  for (const m of spec.masquerade ?? []) await removeMasquerade(m);
  // Anonymous namespaces go when their last handle closes; their veths follow.
  for (const ns of applied?.namespaces.values() ?? []) ns.close();
  await destroyParts(
    (spec.namespaces ?? []).filter((n) => !n.anonymous).map((n) => n.name),
    (spec.bridges ?? []).map((b) => b.name),
    hostEnds,
    opts,
    spec.group ?? defaultGroup(spec),
  );
}

async function destroyParts(namespaces: string[], bridges: string[], hostEnds: string[], opts: DestroyOptions, group?: number): Promise<void> {
  // One RTM_DELLINK for the whole link group first: the kernel unregisters every host end
  // (and so every peer) and the bridges in one batch, with one RCU wait instead of one each.
  if (group !== undefined) {
    await deleteLinkGroup(group).catch((e) => (isCode(e, 'ENODEV') || isCode(e, 'EINVAL') ? undefined : Promise.reject(e)));
  }
  await pool(namespaces, 64, opts.signal, (name) => deleteNamespace(name).catch((e) => (isCode(e, 'ENOENT') ? undefined : Promise.reject(e))));
  // Links outside the group (an older apply, or a rollback) go with their namespace, in the
  // kernel's own time: wait for them (it subscribes, then looks, so nothing is missed).
  if (opts.wait !== false && hostEnds.length > 0) {
    await waitForLinksGone(hostEnds, { ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  }
  for (const b of bridges) {
    await deleteLink(b).catch((e) => (isCode(e, 'ENODEV') ? undefined : Promise.reject(e)));
  }
}
