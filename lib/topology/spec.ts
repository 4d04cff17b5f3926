// The topology spec: its types, its schema, and the checks only the whole spec can make.
import { ArgumentError, ArgumentRangeError } from '../errors.js';
import { abortSignal, flag, ifname, ipAddress, ipPrefix, mac, mtu, namespaceName, port, timeoutMs } from '../fields.js';
import { parseAddress, parsePrefix } from '../ip.js';
import type { Namespace } from '../namespace.js';
import { portForwardSpec, type PortForwardSpecOptions } from '../nftables/portforward.js';
import { fdbEntrySpec, type FdbEntrySpec } from '../route/fdb.js';
import { checkVxlan, type CreateVxlanOptions } from '../route/links.js';
import { neighbourSpec, type NeighbourSpec as NeighbourOptions } from '../route/neighbours.js';
import { routeFamily, routeHints, routeShape, type RouteSpec } from '../route/routes.js';
import { ruleSpec, type RuleSpec } from '../route/rules.js';
import { array, byType, custom, fieldPath, integer, object, oneOf, optional, record, type Schema } from '../schema.js';
import { sysctlValue, type SysctlValue } from '../sysctl.js';
import { describeValue, validateFunction, validateSysctlKey } from '../validate.js';
import { monotonicMs } from '../clock.js';

/** An address: 'a.b.c.d/len', or with a broadcast ('auto' is `brd +`). */
export type AddressSpec = string | { address: string; broadcast?: 'auto' | string };

/** A bridge in the host. An existing bridge of that name is used, never owned (see docs/API.md). */
export interface BridgeSpec {
  name: string;
  addresses?: AddressSpec[];
  mtu?: number;
}

/** A veth pair: `name` inside the namespace, `hostName` its other end in the host,
 *  optionally on one of the spec's bridges. */
export interface InterfaceSpec {
  /** The interface inside the namespace, e.g. 'eth0'. */
  name: string;
  /** The other end, in the host. */
  hostName: string;
  /** Bridge (one of the spec's `bridges`) for the host end. */
  master?: string;
  /** The spec namespace the host end lives in, instead of the caller's namespace: a "host"
   *  namespace; `master` then names one of that namespace's `bridges`. */
  hostNamespace?: string;
  addresses?: AddressSpec[];
  mtu?: number;
}

/** A vxlan inside a namespace: createVxlan()'s options, by names of that namespace. It is
 *  created up and carries the topology's link group. */
export interface VxlanSpec extends Omit<CreateVxlanOptions, 'netns' | 'group' | 'up' | 'signal' | 'master' | 'dev'> {
  name: string;
  /** The underlay device: a link of the same namespace (an end of one of the spec's `links`,
   *  an interface). */
  dev?: string;
  /** One of the namespace's `bridges`. */
  master?: string;
  addresses?: AddressSpec[];
}

/** An FDB entry (appendFdb()'s spec without `netns`), appended: `bridge fdb append`. */
export type TopologyFdbEntry = Omit<FdbEntrySpec, 'netns'>;
/** A neighbour entry (addNeighbour()'s spec without `netns`). */
export type TopologyNeighbour = Omit<NeighbourOptions, 'netns'>;
/** A policy routing rule (addRule()'s spec without `netns`). */
export type TopologyRule = Omit<RuleSpec, 'netns'>;

/** One end of a veth between two spec namespaces. */
export interface VethEndSpec {
  /** A named namespace of the spec. */
  netns: string;
  name: string;
  addresses?: AddressSpec[];
  mtu?: number;
}

/** A link between spec namespaces, e.g. the underlay wire between two "hosts". */
export interface LinkSpec {
  kind: 'veth';
  a: VethEndSpec;
  b: VethEndSpec;
}

/** A route: addRoute()'s spec without `netns` (the namespace it is listed in). */
export type TopologyRoute = Omit<RouteSpec, 'netns'>;

/** addMasquerade()'s options without `netns`. */
export interface MasqueradeSpec {
  source: string;
  outInterface?: string;
}

/** A namespace and everything inside it. */
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
  /** Ports of this namespace published on its addresses (addPortForward() inside it). */
  portForwards?: PortForwardSpecOptions[];
  sysctls?: Record<string, SysctlValue>;
  /** Bridges inside this namespace (a "host" namespace): other namespaces' interfaces name it
   *  as their `hostNamespace` and one of these as `master`. */
  bridges?: BridgeSpec[];
  vxlans?: VxlanSpec[];
  /** FDB entries, neighbours and rules, added after every namespace's links exist. */
  fdb?: TopologyFdbEntry[];
  neighbours?: TopologyNeighbour[];
  rules?: TopologyRule[];
}

/**
 * Many namespaces on bridges, as applyTopology() builds them.
 *
 * @example
 * ```ts
 * const spec: TopologySpec = {
 *   bridges: [{ name: 'brd1', addresses: [{ address: '192.168.0.60/24', broadcast: 'auto' }] }],
 *   namespaces: [
 *     {
 *       name: 'pb',
 *       interfaces: [{ name: 'veth-pb', hostName: 'bread-pb-veth', master: 'brd1', addresses: ['192.168.0.56/24'] }],
 *       routes: [{ to: 'default', via: '192.168.0.60' }],
 *     },
 *   ],
 *   masquerade: [{ source: '192.168.0.0/24' }],
 *   sysctls: { 'net.ipv4.ip_forward': 1 },
 * };
 * ```
 */
export interface TopologySpec {
  /** The topology's mark: the link group of every link it creates, and of the loopback of
   *  every namespace it creates (teardown is one message). Default: derived from the bridges'
   *  names (topologyGroup). 1..2^31-1, as iproute2 reads groups as signed ints. */
  group?: number;
  bridges?: BridgeSpec[];
  namespaces?: NamespaceSpec[];
  /** Links between spec namespaces (veths whose two ends are in namespaces of the spec). */
  links?: LinkSpec[];
  /** Host routes, masquerade and sysctls, applied last. */
  routes?: TopologyRoute[];
  masquerade?: MasqueradeSpec[];
  /** Host ports published to containers (addPortForward()), applied with the masquerade. */
  portForwards?: PortForwardSpecOptions[];
  sysctls?: Record<string, SysctlValue>;
}

/** What applyTopology() reports as it goes. */
export interface Progress {
  done: number;
  total: number;
  /** The namespace (or 'host') just finished, and its error if it failed. */
  item: string;
  error?: Error;
}

/** Options of validateTopology(). */
export interface ValidateOptions {
  /** The most namespaces a spec may hold (default DEFAULT_MAX_NAMESPACES): a spec with a
   *  million namespaces would start eating the kernel's memory before anything failed. */
  maxNamespaces?: number;
}

/**
 * Options of applyTopology().
 *
 * @example
 * ```ts
 * await applyTopology(spec, {
 *   progress: ({ done, total, item }) => console.log(`${done}/${total} ${item}`),
 *   signal: AbortSignal.timeout(60_000),
 *   rollback: true,
 * });
 * ```
 */
export interface ApplyOptions extends ValidateOptions {
  progress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** Undo what this call created when something fails (default true). */
  rollback?: boolean;
  /** Namespaces configured at once. Default: as many as the open-file limit allows (each
   *  in-flight namespace holds two fds), up to all of them: wider batches measured faster. */
  concurrency?: number;
}

/**
 * What apply did with an item: `created` it; `adopted` it (it carries this topology's mark
 * from an earlier apply, and was brought in line with the spec); or `used` it without owning
 * it (a bridge that existed before: its ports and addresses are added, nothing else changes,
 * and destroy leaves it).
 */
export type ItemAction = 'created' | 'adopted' | 'used';

/** Options of destroyTopology(). */
export interface DestroyOptions extends ValidateOptions {
  /** Resolve only when the kernel has really removed every link (default true). */
  wait?: boolean;
  signal?: AbortSignal;
  /** Milliseconds to wait for the kernel to remove the links (default 30 s). */
  timeout?: number;
}

/**
 * What destroyTopology() removed, and what it left because it was not the topology's.
 *
 * @example
 * ```ts
 * const { deletedNamespaces, deletedLinks, notOurs } = await destroyTopology(spec);
 * if (notOurs.length > 0) console.log('left alone:', notOurs);
 * ```
 */
export interface DestroyResult {
  /** Named namespaces deleted (they carried the topology's mark). */
  deletedNamespaces: string[];
  /** Host links deleted with the topology's link group (bridges, veth host ends). */
  deletedLinks: string[];
  /** Masquerade rules removed. */
  removedMasquerades: number;
  /** Host port forwards removed. */
  removedPortForwards: number;
  /** Named in the spec but not there. */
  missing: string[];
  /** Named in the spec, there, but not made by this topology: left alone. */
  notOurs: string[];
}

/** The outcome of one item (a bridge, a namespace, or 'host'). */
export interface ItemResult {
  item: string;
  ok: boolean;
  /** What was done with it, when it succeeded. */
  action?: ItemAction;
  /** True when it existed already (adopted or used). */
  existed?: boolean;
  error?: Error;
}

/**
 * What applyTopology() built.
 *
 * @example
 * ```ts
 * const result = await applyTopology(spec);
 * for (const { item, action } of result.items) console.log(item, action); // pb created ...
 * console.log(`${result.elapsedMs} ms`);
 * await destroyTopology(result);
 * ```
 */
export interface ApplyResult {
  items: ItemResult[];
  elapsedMs: number;
  /** Handles of the anonymous namespaces, by their spec name: they live while these are open.
   *  Pass this result to destroyTopology(), or close them. */
  namespaces: Map<string, Namespace>;
  spec: TopologySpec;
}

/**
 * Some items failed; `results` says which, with their errors.
 *
 * @example
 * ```ts
 * try {
 *   await applyTopology(spec);
 * } catch (err) {
 *   if (!(err instanceof TopologyError)) throw err;
 *   for (const r of err.results) if (!r.ok) console.error(r.item, r.error?.message);
 * }
 * ```
 */
export class TopologyError extends Error {
  /** Always 'ERR_TOPOLOGY_APPLY'. */
  readonly code = 'ERR_TOPOLOGY_APPLY';
  /**
   * @param message What failed, in short.
   * @param results The outcome of every item, failed or not.
   * @param options `cause`: the first failure.
   */
  constructor(message: string, readonly results: ItemResult[], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TopologyError';
  }
}

/** The most ports the kernel lets one bridge have. */
export const MAX_BRIDGE_PORTS = 1023;

/** The most namespaces a spec may hold unless `maxNamespaces` says otherwise. */
export const DEFAULT_MAX_NAMESPACES = 4096;

/**
 * The topology's link group: its mark on everything it creates (see docs/API.md, "What apply
 * adopts and what destroy removes"). `spec.group` when given; else a 31-bit FNV-1a hash of the
 * bridges' names, which stays the same while containers come and go; for a spec without
 * bridges, of its host namespaces' names (namespaceRoles), and without those, of its
 * namespace names. Give a `group` to keep one identity whatever changes.
 *
 * @example
 * ```ts
 * const group = topologyGroup(spec);
 * const ours = (await listLinks()).filter((link) => link.group === group);
 * ```
 */
export function topologyGroup(spec: TopologySpec): number {
  if (spec.group !== undefined) return spec.group;
  const bridges = (spec.bridges ?? []).map((b) => b.name);
  const all = (spec.namespaces ?? []).map((n) => n.name);
  const roles = bridges.length > 0 ? undefined : namespaceRoles(spec);
  const hosts = roles ? all.filter((name) => roles.hosts.has(name)) : [];
  const names = bridges.length > 0 ? bridges : hosts.length > 0 ? hosts : all;
  let h = 0x811c9dc5;
  for (const c of names.join('\0')) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  // 31 bits: iproute2 reads and prints link groups as signed ints (`ip link show group N`).
  const group = h & 0x7fffffff;
  return group === 0 ? 1 : group;
}

// ---- the spec's schema ---------------------------------------------------------------------

const addressObject = object<{ address: string; broadcast?: 'auto' | string }>(
  'an address',
  {
    address: ipPrefix,
    broadcast: optional(custom<'auto' | string>("'auto' or an IPv4 address", (v, path) => (v === 'auto' ? v : (parseAddress(v as string, path, { family: 4 }), v as string)))),
  },
  {
    hints: { brd: 'broadcast', cidr: 'address', prefix: 'address' },
    refine: (a, path) => {
      if (a.broadcast !== undefined && parsePrefix(a.address, fieldPath(path, 'address')).family !== 4) {
        throw new ArgumentError('ERR_INVALID_ARG_VALUE', fieldPath(path, 'broadcast'), 'IPv6 has no broadcast');
      }
    },
  },
);
const addressSpec: Schema<AddressSpec> = byType({ string: ipPrefix, object: addressObject });
const addressList = array(addressSpec);

const sysctlMap = record((key, path) => {
  try {
    validateSysctlKey(key);
  } catch (e) {
    if (e instanceof ArgumentError) throw new ArgumentError(e.code, path, e.message.slice(e.field.length + 2));
    throw e;
  }
}, sysctlValue);

const topologyRoute = object<TopologyRoute>('a route', routeShape, { hints: { ...routeHints, netns: 'listing the route under its namespace' }, refine: (r, path) => void routeFamily(r, path) });
const masqueradeSpec = object<MasqueradeSpec>('a masquerade rule', {
  source: custom<string>("a network 'address/length'", (v, path) => (parsePrefix(v as string, path, { requirePrefix: true }), v as string)),
  outInterface: optional(ifname),
}, { hints: { src: 'source', oif: 'outInterface', oifname: 'outInterface' } });

const interfaceSpec = object<InterfaceSpec>(
  'an interface',
  { name: ifname, hostName: ifname, master: optional(ifname), hostNamespace: optional(namespaceName), addresses: optional(addressList), mtu: optional(mtu) },
  { hints: { peer: 'hostName', host: 'hostName', hostname: 'hostName', bridge: 'master', address: 'addresses', adresses: 'addresses', ip: 'addresses', hostNetns: 'hostNamespace', netns: 'hostNamespace' } },
);

const bridgeSpec = object<BridgeSpec>('a bridge', { name: ifname, addresses: optional(addressList), mtu: optional(mtu) }, {
  hints: { address: 'addresses', adresses: 'addresses', ip: 'addresses' },
});

const vxlanSpec = object<VxlanSpec>(
  'a vxlan',
  {
    name: ifname,
    id: integer(0, 2 ** 24 - 1, 'ERR_INVALID_VNI'),
    port: optional(port),
    dev: optional(ifname),
    learning: optional(flag),
    remote: optional(ipAddress),
    multicastGroup: optional(ipAddress),
    local: optional(ipAddress),
    ttl: optional(integer(0, 255)),
    master: optional(ifname),
    addresses: optional(addressList),
    mtu: optional(mtu),
    address: optional(mac),
  },
  {
    hints: { vni: 'id', dstport: 'port', dstPort: 'port', dst: 'remote', src: 'local', group: 'multicastGroup', bridge: 'master', link: 'dev', ip: 'addresses', adresses: 'addresses', netns: 'listing the vxlan under its namespace' },
    refine: checkVxlan,
  },
);

/** A per-call schema (which takes `netns`) for an object listed under its namespace, where
 *  `netns` is refused: the namespace it is listed in is where it goes. */
function underNamespace<T>(schema: { check: (value: unknown, path: string) => unknown }, what: string): Schema<T> {
  return custom<T>(what, (v, path) => {
    if (v !== null && typeof v === 'object' && Object.hasOwn(v, 'netns')) {
      throw new ArgumentError('ERR_UNKNOWN_OPTION', fieldPath(path, 'netns'), `is not an option of ${what} in a topology: it goes in the namespace it is listed under`);
    }
    return schema.check(v, path) as T;
  });
}

const vethEndSpec = object<VethEndSpec>('a veth end', { netns: namespaceName, name: ifname, addresses: optional(addressList), mtu: optional(mtu) }, {
  hints: { namespace: 'netns', ns: 'netns', address: 'addresses', adresses: 'addresses', ip: 'addresses' },
});
const linkSpec = object<LinkSpec>('a link', { kind: oneOf(['veth']), a: vethEndSpec, b: vethEndSpec }, { hints: { type: 'kind', peer: 'b' } });

const namespaceSpec = object<NamespaceSpec>(
  'a namespace',
  {
    name: namespaceName,
    anonymous: optional(flag),
    ipv6: optional(flag),
    loopback: optional(flag),
    interfaces: optional(array(interfaceSpec)),
    routes: optional(array(topologyRoute)),
    masquerade: optional(array(masqueradeSpec)),
    portForwards: optional(array(portForwardSpec)),
    sysctls: optional(sysctlMap),
    bridges: optional(array(bridgeSpec)),
    vxlans: optional(array(vxlanSpec)),
    fdb: optional(array(underNamespace<TopologyFdbEntry>(fdbEntrySpec, 'an FDB entry'))),
    neighbours: optional(array(underNamespace<TopologyNeighbour>(neighbourSpec, 'a neighbour'))),
    rules: optional(array(underNamespace<TopologyRule>(ruleSpec, 'a rule'))),
  },
  {
    hints: {
      interface: 'interfaces', links: 'interfaces', veths: 'interfaces', route: 'routes', sysctl: 'sysctls', nat: 'masquerade', lo: 'loopback',
      bridge: 'bridges', vxlan: 'vxlans', fdbs: 'fdb', neighbors: 'neighbours', neighbor: 'neighbours', neigh: 'neighbours', rule: 'rules',
    },
  },
);

const topologySpec = object<TopologySpec>(
  'a topology',
  {
    group: optional(integer(1, 0x7fffffff, 'ERR_INVALID_LINK_GROUP')),
    bridges: optional(array(bridgeSpec)),
    // Each namespace is checked on its own step of validationSteps().
    namespaces: optional(custom<NamespaceSpec[]>('an array of namespaces', (v, path) => {
      if (!Array.isArray(v)) throw new ArgumentError('ERR_INVALID_ARG_TYPE', path, `must be an array of namespaces, received ${describeValue(v)}`);
      return v;
    })),
    links: optional(array(linkSpec)),
    routes: optional(array(topologyRoute)),
    masquerade: optional(array(masqueradeSpec)),
    portForwards: optional(array(portForwardSpec)),
    sysctls: optional(sysctlMap),
  },
  {
    hints: {
      bridge: 'bridges', namespace: 'namespaces', netns: 'namespaces', route: 'routes', sysctl: 'sysctls', nat: 'masquerade', link: 'links', veths: 'links',
      vxlans: 'namespaces[].vxlans', fdb: 'namespaces[].fdb', neighbours: 'namespaces[].neighbours', rules: 'namespaces[].rules',
    },
  },
);

const validateOptionsShape = { maxNamespaces: optional(integer(0, 2 ** 31 - 1)) };
const validateOptions = object<ValidateOptions>('validateTopology options', validateOptionsShape);
export const applyOptions = object<ApplyOptions>('applyTopology options', {
  ...validateOptionsShape,
  progress: optional(custom<(p: Progress) => void>('a function', (v, path) => validateFunction(v, path) as (p: Progress) => void)),
  signal: optional(abortSignal),
  rollback: optional(flag),
  concurrency: optional(integer(1, 2 ** 31 - 1)),
});
export const destroyOptions = object<DestroyOptions>('destroyTopology options', {
  ...validateOptionsShape,
  wait: optional(flag),
  signal: optional(abortSignal),
  timeout: optional(timeoutMs),
});

/**
 * Checks a whole spec before anything is sent to the kernel: every field's type and value
 * (unknown keys are errors, ERR_UNKNOWN_OPTION, naming the path and the nearest known key),
 * then what only the whole spec can tell: names used twice, masters that are not one of the
 * spec's bridges, bridges over MAX_BRIDGE_PORTS, routes through interfaces the namespace does
 * not have, and more namespaces than `maxNamespaces`.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * validateTopology(JSON.parse(readFileSync('examples/pb-and-jelly.json', 'utf8')));
 * ```
 */
export function validateTopology(spec: TopologySpec, options: ValidateOptions = {}): void {
  for (const _ of validationSteps(spec, options));
}

/** validateTopology in steps that hand the event loop back every `sliceMs`: checking thousands
 *  of namespaces takes tens of milliseconds, more when the code is still cold. */
export async function validateTopologySliced(spec: TopologySpec, options: ValidateOptions, sliceMs: number): Promise<void> {
  let sliceStart = monotonicMs();
  for (const _ of validationSteps(spec, options)) {
    if (monotonicMs() - sliceStart > sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = monotonicMs();
    }
  }
}

/** Every check of a spec; yields after each namespace. */
function* validationSteps(spec: TopologySpec, options: ValidateOptions): Generator<void, void> {
  validateOptions.check(options, 'options');
  const max = options.maxNamespaces ?? DEFAULT_MAX_NAMESPACES;
  // The count first: checking a million namespaces one by one would take a while to refuse.
  const count = (spec as { namespaces?: unknown } | null)?.namespaces;
  if (Array.isArray(count) && count.length > max) {
    throw new ArgumentRangeError(
      'ERR_TOPOLOGY_TOO_LARGE',
      'namespaces',
      `has ${count.length} namespaces, more than the limit of ${max}: raise it with applyTopology(spec, { maxNamespaces }) or rtnl up --max-namespaces N`,
    );
  }
  topologySpec.check(spec, '');
  const hostNames = new Set<string>();
  const claim = (name: string, field: string) => {
    if (hostNames.has(name)) throw new ArgumentError('ERR_TOPOLOGY_DUPLICATE', field, `'${name}' appears twice in the host`);
    hostNames.add(name);
  };
  const ports = new Map<string, number>();
  (spec.bridges ?? []).forEach((b, i) => {
    claim(b.name, `bridges[${i}].name`);
    ports.set(b.name, 0);
  });
  /** One more port on a bridge (of the host, or of a namespace), within the kernel's limit. */
  const addPort = (bridges: Map<string, number> | undefined, master: string, field: string, whose: string) => {
    const count = bridges?.get(master);
    if (count === undefined) throw new ArgumentError('ERR_TOPOLOGY_UNKNOWN_BRIDGE', field, `'${master}' is not one of ${whose} bridges`);
    if (count + 1 > MAX_BRIDGE_PORTS) {
      throw new ArgumentRangeError('ERR_TOPOLOGY_BRIDGE_FULL', field, `bridge '${master}' would get more than ${MAX_BRIDGE_PORTS} ports (the kernel's limit): spread the namespaces over more bridges`);
    }
    bridges!.set(master, count + 1);
  };
  const byName = new Map<string, NamespaceSpec>();
  /** The links of each namespace by name, and the port counts of its bridges. */
  const links = new Map<string, Set<string>>();
  const nsBridges = new Map<string, Map<string, number>>();
  const claimIn = (ns: string, name: string, field: string) => {
    const inside = links.get(ns)!;
    if (name === 'lo') throw new ArgumentError('ERR_TOPOLOGY_DUPLICATE', field, `'lo' is the loopback device every namespace has`);
    if (inside.has(name)) throw new ArgumentError('ERR_TOPOLOGY_DUPLICATE', field, `'${name}' appears twice in ${ns}`);
    inside.add(name);
  };
  const notAnonymous = (n: NamespaceSpec, field: string, why: string) => {
    if (n.anonymous) throw new ArgumentError('ERR_TOPOLOGY_ANONYMOUS', field, `${why}: netns '${n.name}' is anonymous; give it a name in the run dir instead`);
  };
  const namespaces = spec.namespaces ?? [];
  for (let i = 0; i < namespaces.length; i++) {
    const n = namespaceSpec.check(namespaces[i], `namespaces[${i}]`);
    if (byName.has(n.name)) throw new ArgumentError('ERR_TOPOLOGY_DUPLICATE', `namespaces[${i}].name`, `'${n.name}' appears twice`);
    byName.set(n.name, n);
    links.set(n.name, new Set());
    for (const k of HOST_FIELDS) if ((n[k]?.length ?? 0) > 0) notAnonymous(n, `namespaces[${i}].${k}`, 'only a named namespace can hold them');
    (n.interfaces ?? []).forEach((f, j) => {
      const field = `namespaces[${i}].interfaces[${j}]`;
      claimIn(n.name, f.name, `${field}.name`);
      // An end in a host namespace is checked once every namespace is known.
      if (f.hostNamespace !== undefined) return notAnonymous(n, `${field}.hostNamespace`, 'an anonymous namespace\'s veths end in the caller\'s namespace');
      claim(f.hostName, `${field}.hostName`);
      if (f.master !== undefined) addPort(ports, f.master, `${field}.master`, "the spec's");
    });
    const bridges = new Map<string, number>();
    nsBridges.set(n.name, bridges);
    (n.bridges ?? []).forEach((b, j) => {
      claimIn(n.name, b.name, `namespaces[${i}].bridges[${j}].name`);
      bridges.set(b.name, 0);
    });
    (n.vxlans ?? []).forEach((v, j) => {
      const field = `namespaces[${i}].vxlans[${j}]`;
      claimIn(n.name, v.name, `${field}.name`);
      if (v.master !== undefined) addPort(bridges, v.master, `${field}.master`, `netns ${n.name}'s`);
    });
    yield;
  }
  (spec.links ?? []).forEach((l, k) => {
    for (const end of ['a', 'b'] as const) {
      const field = `links[${k}].${end}`;
      const n = byName.get(l[end].netns);
      if (!n) throw new ArgumentError('ERR_TOPOLOGY_UNKNOWN_NAMESPACE', `${field}.netns`, `'${l[end].netns}' is not one of the spec's namespaces`);
      notAnonymous(n, `${field}.netns`, 'a link needs a named namespace at each end');
      claimIn(n.name, l[end].name, `${field}.name`);
    }
  });
  for (let i = 0; i < namespaces.length; i++) {
    const n = namespaces[i]!;
    (n.interfaces ?? []).forEach((f, j) => {
      if (f.hostNamespace === undefined) return;
      const field = `namespaces[${i}].interfaces[${j}]`;
      const host = byName.get(f.hostNamespace);
      if (!host) throw new ArgumentError('ERR_TOPOLOGY_UNKNOWN_NAMESPACE', `${field}.hostNamespace`, `'${f.hostNamespace}' is not one of the spec's namespaces`);
      if (host === n) throw new ArgumentError('ERR_INVALID_ARG_VALUE', `${field}.hostNamespace`, `is the interface's own namespace: a veth joins two namespaces`);
      notAnonymous(host, `${field}.hostNamespace`, 'a host namespace needs a name');
      claimIn(host.name, f.hostName, `${field}.hostName`);
      if (f.master !== undefined) addPort(nsBridges.get(host.name), f.master, `${field}.master`, `netns ${host.name}'s`);
    });
    yield;
  }
  // Devices named by routes, vxlans and entries: now that every namespace's links are known.
  for (let i = 0; i < namespaces.length; i++) {
    const n = namespaces[i]!;
    const inside = links.get(n.name)!;
    const known = (dev: string | number | undefined, field: string) => {
      if (typeof dev === 'string' && dev !== 'lo' && !inside.has(dev)) throw new ArgumentError('ERR_TOPOLOGY_UNKNOWN_LINK', field, `'${dev}' is not an interface of ${n.name}`);
    };
    (n.routes ?? []).forEach((r, j) => known(r.dev, `namespaces[${i}].routes[${j}].dev`));
    (n.vxlans ?? []).forEach((v, j) => known(v.dev, `namespaces[${i}].vxlans[${j}].dev`));
    (n.fdb ?? []).forEach((e, j) => {
      known(e.dev, `namespaces[${i}].fdb[${j}].dev`);
      known(e.via, `namespaces[${i}].fdb[${j}].via`);
    });
    (n.neighbours ?? []).forEach((e, j) => known(e.dev, `namespaces[${i}].neighbours[${j}].dev`));
    yield;
  }
}

/** What makes a namespace a "host": objects of its own that others' veths attach to or that
 *  its entries name. */
const HOST_FIELDS = ['bridges', 'vxlans', 'fdb', 'neighbours', 'rules'] as const;

/**
 * How apply builds each namespace of a (valid) spec. `hosts`: namespaces built before all the
 * others, as other namespaces' veths, the spec's links or their own vxlans need them (they have
 * bridges, vxlans, entries, or are a `hostNamespace` or a link's end). `perCall`: those built
 * call by call rather than by the bulk path, which knows only veths to the caller's namespace
 * (the hosts, and namespaces with an interface in a host namespace).
 */
export function namespaceRoles(spec: TopologySpec): { hosts: Set<string>; perCall: Set<string> } {
  const hosts = new Set<string>();
  const perCall = new Set<string>();
  for (const l of spec.links ?? []) hosts.add(l.a.netns).add(l.b.netns);
  for (const n of spec.namespaces ?? []) {
    if (HOST_FIELDS.some((k) => (n[k]?.length ?? 0) > 0)) hosts.add(n.name);
    for (const f of n.interfaces ?? []) {
      if (f.hostNamespace === undefined) continue;
      hosts.add(f.hostNamespace);
      perCall.add(n.name);
    }
  }
  for (const h of hosts) perCall.add(h);
  return { hosts, perCall };
}
