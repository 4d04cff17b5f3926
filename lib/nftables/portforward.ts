// Port publishing (`docker run -p 8080:80`): DNAT in the library's own nf_tables table, chain
// prerouting for connections from outside and chain output for connections the host makes
// itself, one rule in each per published port. Traffic from outside also needs forwarding on
// (enableForwarding()), as for any container traffic through the host.
import type { Connection } from '../connection.js';
import { ArgumentError, NetlinkError } from '../errors.js';
import { formatAddress, parseAddress, type IpFamily } from '../ip.js';
import { NETLINK_NETFILTER } from '../netlink/message.js';
import { withConnection, netnsLabel, type NetnsOption } from '../target.js';
import { checkNetnsOption } from '../route/links.js';
import { ipAddress, netnsShape, port } from '../fields.js';
import { custom, object, oneOf, optional, type Shape, fieldPath } from '../schema.js';
import { describeValue } from '../validate.js';
import { dnatExprs, endpointText, portForwardTag, recognisePortForward, type DnatHook, type PortForwardMatch, type PortForwardSpec } from './codec.js';
import * as C from './constants.js';
import { TABLE, lockKey, ourRules, removeChains, sendBatch, serialised } from './ours.js';

const HOOKS: Record<DnatHook, { hook: number; priority: number }> = {
  prerouting: { hook: C.NF_INET_PRE_ROUTING, priority: C.NF_IP_PRI_NAT_DST },
  output: { hook: C.NF_INET_LOCAL_OUT, priority: C.NF_IP_PRI_NAT_DST },
};
const CHAINS = Object.keys(HOOKS) as DnatHook[];

/**
 * A published port: connections to the host's `hostPort` go to `to`.
 *
 * @example
 * ```ts
 * // host port 8080 -> pb's port 80
 * await addPortForward({ protocol: 'tcp', hostPort: 8080, to: '192.168.0.56:80' });
 * ```
 */
export interface PortForwardOptions extends NetnsOption {
  protocol: 'tcp' | 'udp';
  /** The port on the host (1-65535). */
  hostPort: number;
  /** Where connections go: 'address:port', IPv6 as '[address]:port'. */
  to: string;
  /** Only connections to this address of the host; default (or '0.0.0.0' / '::'): every local
   *  address but loopback. Same family as `to`. */
  hostAddress?: string;
}

/** A published port as listPortForwards() reports it. */
export interface PortForward {
  family: 4 | 6;
  protocol: 'tcp' | 'udp';
  hostPort: number;
  to: string;
  hostAddress?: string;
  /** The kernel's handles of its two rules (one may be missing if someone deleted it). */
  handles: { prerouting?: string; output?: string };
  netns?: string;
}

/** What removePortForward() removes: the forwards of `protocol` and `hostPort` (only those to
 *  `to` or on `hostAddress` when given; both families unless an address decides). */
export interface RemovePortForwardOptions extends NetnsOption {
  protocol: 'tcp' | 'udp';
  hostPort: number;
  to?: string;
  hostAddress?: string;
}

/** 'address:port' or '[address]:port'. */
function splitEndpoint(v: unknown, path: string): { address: string; port: number } {
  if (typeof v !== 'string') throw new ArgumentError('ERR_INVALID_ARG_TYPE', path, `must be 'address:port' ('[address]:port' for IPv6), received ${describeValue(v)}`);
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([^:[\]]+):(\d+)$/.exec(v);
  if (!m) throw new ArgumentError('ERR_INVALID_ARG_VALUE', path, `must be 'address:port' ('[address]:port' for IPv6), received ${describeValue(v)}`);
  const parsed = parseAddress(m[1]!, path);
  if (v.startsWith('[') !== (parsed.family === 6)) throw new ArgumentError('ERR_INVALID_ARG_VALUE', path, `IPv6 addresses go in brackets ('[fd00::2]:80'), IPv4 ones do not`);
  port.check(Number(m[2]), path);
  if (String(Number(m[2])) !== m[2]) throw new ArgumentError('ERR_INVALID_ARG_VALUE', path, `port ${m[2]} has leading zeros`);
  return { address: m[1]!, port: Number(m[2]) };
}

const endpoint = custom<string>("'address:port'", (v, path) => (splitEndpoint(v, path), v as string));
const protocol = oneOf(['tcp', 'udp']);
const hints = { proto: 'protocol', containerPort: 'to', target: 'to', destination: 'to', dest: 'to', port: 'hostPort', hostIp: 'hostAddress', hostIP: 'hostAddress', address: 'hostAddress', ns: 'netns' };

/** Checks the addresses against each other: one family, and no loopback to publish on. */
function refine(o: { to?: string; hostAddress?: string }, path: string): void {
  const at = (k: string) => fieldPath(path, k);
  if (o.hostAddress === undefined) return;
  const host = parseAddress(o.hostAddress, at('hostAddress'));
  if (host.family === 4 ? host.bytes[0] === 127 : host.bytes.equals(LOOPBACK6)) {
    throw new ArgumentError('ERR_INVALID_ADDRESS', at('hostAddress'), `${o.hostAddress} is a loopback address: the kernel drops loopback-sourced packets it would have to forward`);
  }
  if (o.to !== undefined) {
    const to = parseAddress(splitEndpoint(o.to, at('to')).address, at('to'));
    if (to.family !== host.family) throw new ArgumentError('ERR_INVALID_ADDRESS', at('hostAddress'), `${o.hostAddress} is IPv${host.family}, 'to' is IPv${to.family}`);
  }
}
const LOOPBACK6 = parseAddress('::1', 'hostAddress').bytes;

/** A port forward without `netns`, as a topology spec lists it. */
export type PortForwardSpecOptions = Omit<PortForwardOptions, 'netns'>;

const specShape: Shape<PortForwardSpecOptions> = { protocol, hostPort: port, to: endpoint, hostAddress: optional(ipAddress) };
const portForwardOptions = object<PortForwardOptions>('port forward options', { ...netnsShape, ...specShape }, { hints, refine });
/** The schema of a topology spec's port forward (no netns: where it is listed says where). */
export const portForwardSpec = object<PortForwardSpecOptions>('a port forward', specShape, { hints: { ...hints, netns: 'listing it under its namespace' }, refine });
const removeOptions = object<RemovePortForwardOptions>(
  'removePortForward options',
  { ...netnsShape, protocol, hostPort: port, to: optional(endpoint), hostAddress: optional(ipAddress) },
  { hints, refine },
);

/** A port forward parsed for the codec: its family and wire form. */
interface Parsed {
  family: number;
  spec: PortForwardSpec;
}

const familyOf = (f: IpFamily) => (f === 4 ? C.NFPROTO_IPV4 : C.NFPROTO_IPV6);

/** '0.0.0.0' and '::' mean what leaving hostAddress out means: every local address. */
function hostBytes(hostAddress: string | undefined): Buffer | undefined {
  if (hostAddress === undefined) return undefined;
  const b = parseAddress(hostAddress, 'hostAddress').bytes;
  return b.every((x) => x === 0) ? undefined : b;
}

function parse(opts: PortForwardOptions): Parsed {
  portForwardOptions.check(opts, '');
  const to = splitEndpoint(opts.to, 'to');
  const address = parseAddress(to.address, 'to');
  const spec: PortForwardSpec = { protocol: opts.protocol, hostPort: opts.hostPort, to: { address: address.bytes, port: to.port } };
  const host = hostBytes(opts.hostAddress);
  if (host) spec.hostAddress = host;
  return { family: familyOf(address.family), spec };
}

const sameKey = (a: PortForwardSpec, b: PortForwardSpec) =>
  a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostAddress === undefined ? b.hostAddress === undefined : b.hostAddress !== undefined && a.hostAddress.equals(b.hostAddress));
const sameTarget = (a: PortForwardSpec, b: PortForwardSpec) => a.to.port === b.to.port && a.to.address.equals(b.to.address);


/** Our port-forward rules in one family, grouped into forwards (one rule per chain). */
async function forwards(conn: Connection, family: number): Promise<{ spec: PortForwardSpec; rules: PortForwardMatch[] }[]> {
  const out: { spec: PortForwardSpec; rules: PortForwardMatch[] }[] = [];
  for (const rule of await ourRules(conn, family)) {
    const m = recognisePortForward(rule);
    if (!m) continue;
    const group = out.find((f) => sameKey(f.spec, m) && sameTarget(f.spec, m));
    if (group) group.rules.push(m);
    else out.push({ spec: m, rules: [m] });
  }
  return out;
}

function describe(family: number, f: { spec: PortForwardSpec; rules: PortForwardMatch[] }, netns?: string): PortForward {
  const r: PortForward = {
    family: family === C.NFPROTO_IPV6 ? 6 : 4,
    protocol: f.spec.protocol,
    hostPort: f.spec.hostPort,
    to: endpointText(f.spec.to.address, f.spec.to.port),
    handles: {},
  };
  if (f.spec.hostAddress !== undefined) r.hostAddress = formatAddress(f.spec.hostAddress);
  for (const m of f.rules) r.handles[m.chain as DnatHook] = m.handle.toString();
  if (netns !== undefined) r.netns = netns;
  return r;
}

/**
 * Publishes a port: connections to the host's `hostPort` (on `hostAddress`, or on any of its
 * addresses but loopback) go to `to`, from outside (prerouting) and from the host itself
 * (output). nf_tables table `rtnetlink`, chains `prerouting` and `output` (nat, priority
 * dstnat). Adding the same forward again leaves one (`added: false`); the same port forwarded
 * elsewhere is refused with EEXIST. Traffic from outside also needs forwarding on.
 *
 * @example
 * ```ts
 * await enableForwarding();
 * await addPortForward({ protocol: 'tcp', hostPort: 8080, to: '192.168.0.2:80' });   // -p 8080:80
 * await addPortForward({ protocol: 'udp', hostPort: 5353, hostAddress: '10.0.0.1', to: '192.168.0.2:53' });
 * ```
 */
export async function addPortForward(opts: PortForwardOptions): Promise<PortForward & { added: boolean }> {
  const p = parse(opts);
  const label = netnsLabel(opts.netns);
  return serialised(lockKey(opts, p.family), () =>
    withConnection(
      opts.netns,
      async (conn) => {
        const existing = (await forwards(conn, p.family)).filter((f) => sameKey(f.spec, p.spec));
        const other = existing.find((f) => !sameTarget(f.spec, p.spec));
        if (other) {
          throw new NetlinkError({
            errno: -17,
            syscall: 'sendmsg',
            operation: 'NFT_MSG_NEWRULE',
            object: portForwardTag(p.spec),
            hint: `${p.spec.protocol} port ${p.spec.hostPort} is already forwarded to ${endpointText(other.spec.to.address, other.spec.to.port)}`,
          });
        }
        const have = new Set(existing.flatMap((f) => f.rules.map((r) => r.chain)));
        const missing = CHAINS.filter((c) => !have.has(c));
        if (missing.length > 0) {
          // One transaction: the table, both chains (existing ones are left as they are), the rules.
          await sendBatch(
            conn,
            (b) => {
              b.newTable(p.family, TABLE);
              for (const c of CHAINS) b.newChain(p.family, TABLE, c, { ...HOOKS[c], type: 'nat', policy: 'accept' });
              for (const c of missing) b.newRule(p.family, TABLE, c, { expressions: dnatExprs(p.family, c, p.spec), comment: portForwardTag(p.spec) });
            },
            { operation: 'NFT_MSG_NEWRULE', object: portForwardTag(p.spec) },
          );
        }
        const now = (await forwards(conn, p.family)).find((f) => sameKey(f.spec, p.spec) && sameTarget(f.spec, p.spec));
        if (!now) throw new NetlinkError({ errno: -2, syscall: 'recvmsg', operation: 'NFT_MSG_GETRULE', object: portForwardTag(p.spec) });
        return { ...describe(p.family, now, label), added: missing.length > 0 };
      },
      NETLINK_NETFILTER,
    ),
  );
}

/**
 * The library's port forwards (both families) in a namespace.
 *
 * @example
 * ```ts
 * for (const f of await listPortForwards()) console.log(`${f.protocol} ${f.hostPort} -> ${f.to}`);
 * ```
 */
export async function listPortForwards(opts: NetnsOption = {}): Promise<PortForward[]> {
  checkNetnsOption(opts);
  return withConnection(
    opts.netns,
    async (conn) => {
      const out: PortForward[] = [];
      for (const family of [C.NFPROTO_IPV4, C.NFPROTO_IPV6]) for (const f of await forwards(conn, family)) out.push(describe(family, f, netnsLabel(opts.netns)));
      return out;
    },
    NETLINK_NETFILTER,
  );
}

/**
 * Removes the port forwards of `protocol` and `hostPort` (narrowed by `to` and `hostAddress`
 * when given); resolves false when there was none.
 *
 * @example
 * ```ts
 * await removePortForward({ protocol: 'tcp', hostPort: 8080 });
 * ```
 */
export async function removePortForward(opts: RemovePortForwardOptions): Promise<boolean> {
  removeOptions.check(opts, '');
  const to = opts.to !== undefined ? splitEndpoint(opts.to, 'to') : undefined;
  const toAddress = to ? parseAddress(to.address, 'to') : undefined;
  const hostAddress = hostBytes(opts.hostAddress);
  const explicitFamily = toAddress?.family ?? (hostAddress ? parseAddress(opts.hostAddress!, 'hostAddress').family : undefined);
  const families = explicitFamily !== undefined ? [familyOf(explicitFamily)] : [C.NFPROTO_IPV4, C.NFPROTO_IPV6];
  let removed = false;
  await withConnection(
    opts.netns,
    async (conn) => {
      for (const family of families) {
        await serialised(lockKey(opts, family), async () => {
          const key: PortForwardSpec = { protocol: opts.protocol, hostPort: opts.hostPort, to: { address: Buffer.alloc(0), port: 0 }, ...(hostAddress ? { hostAddress } : {}) };
          const found = (await forwards(conn, family)).filter((f) => sameKey(f.spec, key) && (!to || (f.spec.to.port === to.port && f.spec.to.address.equals(toAddress!.bytes))));
          if (found.length === 0) return;
          await sendBatch(conn, (b) => found.forEach((f) => f.rules.forEach((r) => b.delRule(family, TABLE, r.chain, r.handle))), {
            operation: 'NFT_MSG_DELRULE',
            object: portForwardTag(found[0]!.spec),
          });
          removed = true;
        });
      }
    },
    NETLINK_NETFILTER,
  );
  return removed;
}

/**
 * Removes every port forward of the library's table (its prerouting and output chains) in
 * both families; the table goes too when nothing else (masquerade rules) is left in it.
 *
 * @example
 * ```ts
 * await removeAllPortForwards({ netns: 'router' });
 * ```
 */
export async function removeAllPortForwards(opts: NetnsOption = {}): Promise<void> {
  checkNetnsOption(opts);
  await withConnection(
    opts.netns,
    async (conn) => {
      for (const family of [C.NFPROTO_IPV4, C.NFPROTO_IPV6]) {
        await serialised(lockKey(opts, family), () => removeChains(conn, family, CHAINS, 'NFT_MSG_DELCHAIN'));
      }
    },
    NETLINK_NETFILTER,
  );
}
