// The network configuration a runtime sends on stdin, and the CNI environment, validated with
// the library's one schema mechanism (lib/schema.ts) before anything touches the kernel.
//
// The config is a superset of the reference `bridge` plugin's: its fields, host-local's `ipam`,
// the spec's own keys (name, type, cniVersion, capabilities, runtimeConfig, args, prevResult,
// dns, and GC's cni.dev/valid-attachments), and two of ours (daemonSocket, fallback). Any other
// key is an error (CNI code 7), naming the key and the nearest known one: the reference
// silently ignores unknown keys, so a misspelt "ipmasq" there leaves NAT off without a word.
import { parseAddress, parsePrefix } from '../ip.js';
import { array, boolean, custom, fieldPath, integer, object, oneOf, optional, passThrough, record, string, type Schema } from '../schema.js';
import { validateInterfaceName } from '../validate.js';
import { ArgumentError } from '../errors.js';
import { CniCode, CniError } from './errors.js';
import type { CniEnvName } from './frame.js';

/** The spec versions this plugin speaks; VERSION reports them. */
export const SUPPORTED_VERSIONS = ['1.0.0', '1.1.0'] as const;

/** DNS settings, as in the spec's network configuration and results. */
export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A route, as host-local's `routes` and the spec's results give it. */
export interface CniRoute {
  /** Destination prefix, e.g. '0.0.0.0/0'. */
  dst: string;
  /** Gateway; when absent the interface's gateway of the same family is used. */
  gw?: string;
  /** Route priority (metric), spec 1.1.0. */
  priority?: number;
}

/** One range of a host-local range set. */
export interface HostLocalRange {
  /** The subnet, e.g. '10.88.0.0/16'. */
  subnet: string;
  /** First address to hand out (default: the one after the network address). */
  rangeStart?: string;
  /** Last address to hand out (default: the subnet's last; for IPv4 the one before broadcast). */
  rangeEnd?: string;
  /** The gateway (default: the one after the network address); never handed out. */
  gateway?: string;
}

/** host-local IPAM, built into the daemon (no exec), with host-local's on-disk format. */
export interface HostLocalIpam {
  type: 'host-local';
  /** Shorthand for one range set of one range (with rangeStart, rangeEnd, gateway). */
  subnet?: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
  /** Range sets: each yields one address per container (e.g. one IPv4 and one IPv6 set). */
  ranges?: HostLocalRange[][];
  routes?: CniRoute[];
  /** Where leases live (default /var/lib/cni/networks); the network's name is a folder in it. */
  dataDir?: string;
  /** A resolv.conf whose nameserver, domain, search and options lines become the result's dns. */
  resolvConf?: string;
}

/** Any other IPAM plugin: run from CNI_PATH with the same config, as the spec says. */
export interface DelegatedIpam {
  /** The plugin's binary name in CNI_PATH, e.g. 'dhcp' or 'static'. */
  type: string;
  /** Whatever else that plugin's config takes, passed on as given. */
  [key: string]: unknown;
}

/** A container attachment, as GC's `cni.dev/valid-attachments` lists them. */
export interface CniAttachment {
  /** CNI_CONTAINERID of the attachment. */
  containerID: string;
  /** CNI_IFNAME: the interface's name in the container. */
  ifname: string;
}

/**
 * The network configuration of a `"type": "rtnetlink"` plugin.
 *
 * @example
 * ```ts
 * const conf: BridgeNetConf = {
 *   cniVersion: '1.1.0',
 *   name: 'pbnet',
 *   type: 'rtnetlink',
 *   bridge: 'brd1',
 *   isGateway: true,
 *   ipMasq: true,
 *   ipam: { type: 'host-local', subnet: '192.168.0.0/24', gateway: '192.168.0.60' },
 * };
 * ```
 */
export interface BridgeNetConf {
  cniVersion: string;
  name: string;
  type: string;
  /** Bridge name (default cni0); created when missing, used as it is when it exists. */
  bridge?: string;
  /** Put the gateway address on the bridge and turn on forwarding. */
  isGateway?: boolean;
  /** Also a default route through the gateway in the container (implies isGateway). */
  isDefaultGateway?: boolean;
  /** Replace another address of the bridge in the same family (IPv4) instead of failing. */
  forceAddress?: boolean;
  /** Masquerade the containers' traffic to destinations outside their subnet. */
  ipMasq?: boolean;
  mtu?: number;
  /** Hairpin mode on the host end of the veth. */
  hairpinMode?: boolean;
  /** Promiscuous mode on the bridge. */
  promiscMode?: boolean;
  /** Leave the container's interface down and without addresses (layer 2 only). */
  disableContainerInterface?: boolean;
  /** VLAN id (1..4094) on the host end; turns on VLAN filtering on the bridge. */
  vlan?: number;
  /** The reference's MAC spoof check; only false is accepted (see docs/CNI.md). */
  macspoofchk?: boolean;
  /** IPv6 duplicate address detection on the container interface (enhanced_dad, accept_dad). */
  enabledad?: boolean;
  ipam?: HostLocalIpam | DelegatedIpam;
  dns?: CniDns;
  capabilities?: Record<string, boolean>;
  runtimeConfig?: Record<string, unknown>;
  args?: Record<string, unknown>;
  prevResult?: unknown;
  /** The daemon's unix socket (read by the native shim; default /run/rtnetlink/cni.sock). */
  daemonSocket?: string;
  /** 'exec': when the daemon cannot be reached, the shim runs `rtnl cni-plugin` instead. */
  fallback?: 'exec';
  /** GC: the attachments to keep. */
  'cni.dev/valid-attachments'?: CniAttachment[];
}

// A name the spec allows for networks and container ids: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
const CNI_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const prefixText: Schema<string> = custom('a prefix such as 10.22.0.0/16', (value, path) => {
  if (typeof value !== 'string') throw new ArgumentError('ERR_INVALID_ARG_TYPE', path, 'must be a string such as 10.22.0.0/16');
  parsePrefix(value, path, { requirePrefix: true });
  return value;
});

const addressText: Schema<string> = custom('an IP address', (value, path) => {
  if (typeof value !== 'string') throw new ArgumentError('ERR_INVALID_ARG_TYPE', path, 'must be an IP address string');
  parseAddress(value, path);
  return value;
});

const ifname: Schema<string> = custom('an interface name', (value, path) => validateInterfaceName(value, path));

const dnsSchema = object<CniDns>('dns', {
  nameservers: optional(array(addressText)),
  domain: optional(string()),
  search: optional(array(string())),
  options: optional(array(string())),
});

const routeSchema = object<CniRoute>('route', {
  dst: prefixText,
  gw: optional(addressText),
  priority: optional(integer(0, 0xffff_ffff)),
});

const rangeSchema = object<HostLocalRange>('range', {
  subnet: prefixText,
  rangeStart: optional(addressText),
  rangeEnd: optional(addressText),
  gateway: optional(addressText),
});

const hostLocalSchema = object<HostLocalIpam>(
  'host-local ipam',
  {
    type: oneOf(['host-local'] as const),
    subnet: optional(prefixText),
    rangeStart: optional(addressText),
    rangeEnd: optional(addressText),
    gateway: optional(addressText),
    ranges: optional(array(array(rangeSchema, { min: 1 }), { min: 1 })),
    routes: optional(array(routeSchema)),
    dataDir: optional(string()),
    resolvConf: optional(string()),
  },
  {
    refine: (v, path) => {
      if (v.subnet === undefined && v.ranges === undefined) {
        throw new ArgumentError('ERR_INVALID_ARG_VALUE', `${path}.ranges`, 'host-local needs ranges or subnet');
      }
      if (v.subnet !== undefined && v.ranges !== undefined) {
        throw new ArgumentError('ERR_INVALID_ARG_VALUE', `${path}.subnet`, 'give either subnet or ranges, not both');
      }
      if (v.subnet === undefined && (v.rangeStart ?? v.rangeEnd ?? v.gateway) !== undefined) {
        throw new ArgumentError('ERR_INVALID_ARG_VALUE', `${path}.rangeStart`, 'rangeStart, rangeEnd and gateway go with subnet (or inside ranges)');
      }
    },
  },
);

const ipamSchema: Schema<HostLocalIpam | DelegatedIpam> = custom('an ipam object with a type', (value, path) => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ArgumentError('ERR_INVALID_ARG_TYPE', path, 'must be an object');
  }
  const type = (value as { type?: unknown }).type;
  if (type === 'host-local') return hostLocalSchema.check(value, path);
  if (typeof type !== 'string' || !CNI_NAME.test(type)) {
    throw new ArgumentError('ERR_INVALID_ARG_VALUE', `${path}.type`, 'must name an IPAM plugin (e.g. host-local)');
  }
  // Another plugin checks its own config.
  return value as DelegatedIpam;
});

const cniName = (what: string): Schema<string> =>
  custom(`a ${what} of letters, digits, _ . -`, (value, path) => {
    if (typeof value !== 'string' || !CNI_NAME.test(value)) {
      throw new ArgumentError('ERR_INVALID_ARG_VALUE', path, `must be a ${what} of letters, digits, '_', '.' and '-', starting with a letter or digit`);
    }
    return value;
  });

const attachmentSchema = object<CniAttachment>('attachment', { containerID: string(), ifname: string() });

const anyRecord = record(() => {}, passThrough<unknown>());

/** The schema of the whole network configuration. */
const netConfSchema = object<BridgeNetConf>(
  'the rtnetlink network config',
  {
    cniVersion: string(),
    name: cniName('network name'),
    type: string(),
    bridge: optional(ifname),
    isGateway: optional(boolean()),
    isDefaultGateway: optional(boolean()),
    forceAddress: optional(boolean()),
    ipMasq: optional(boolean()),
    mtu: optional(integer(68, 65535)),
    hairpinMode: optional(boolean()),
    promiscMode: optional(boolean()),
    disableContainerInterface: optional(boolean()),
    vlan: optional(integer(0, 4094)),
    macspoofchk: optional(boolean()),
    enabledad: optional(boolean()),
    ipam: optional(ipamSchema),
    dns: optional(dnsSchema),
    capabilities: optional(record(() => {}, boolean())),
    runtimeConfig: optional(anyRecord),
    args: optional(anyRecord),
    prevResult: optional(passThrough<unknown>()),
    daemonSocket: optional(string()),
    fallback: optional(oneOf(['exec'] as const)),
    'cni.dev/valid-attachments': optional(array(attachmentSchema)),
  },
  {
    hints: { ipmasq: 'ipMasq', isgateway: 'isGateway', hairpin: 'hairpinMode', ipMasqBackend: 'ipMasq' },
    refine: (v, path) => {
      if (v.hairpinMode && v.promiscMode) {
        throw new ArgumentError('ERR_INVALID_ARG_VALUE', fieldPath(path, 'hairpinMode'), 'cannot be set together with promiscMode');
      }
      if (v.macspoofchk) {
        throw new CniError(CniCode.UnsupportedField, 'unsupported field', 'macspoofchk: true is not supported by the rtnetlink plugin');
      }
    },
  },
);

/** Parses stdin: malformed JSON is code 6, a config the schema refuses code 7, and a
 *  cniVersion we do not speak code 1 (checked first, as libcni's skel does). */
export function parseNetConf(stdin: Buffer | string): BridgeNetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof stdin === 'string' ? stdin : stdin.toString('utf8'));
  } catch (e) {
    throw new CniError(CniCode.DecodingFailure, 'failed to decode the network config', (e as Error).message);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CniError(CniCode.DecodingFailure, 'failed to decode the network config', 'it must be a JSON object');
  }
  checkVersion((raw as { cniVersion?: unknown }).cniVersion);
  try {
    return netConfSchema.check(raw, '');
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw new CniError(CniCode.InvalidNetworkConfig, 'invalid network config', (e as Error).message);
  }
}

/** Refuses a cniVersion we do not speak with code 1 (the spec's "incompatible CNI version"). */
function checkVersion(version: unknown): string {
  if (typeof version !== 'string' || version === '') {
    throw new CniError(CniCode.InvalidNetworkConfig, 'invalid network config', 'cniVersion: must be a version string such as 1.0.0');
  }
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
    throw new CniError(CniCode.IncompatibleVersion, 'incompatible CNI version', `config version "${version}" is not supported; supported: ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  return version;
}

/** The CNI environment of an ADD, CHECK, DEL, GC or STATUS call, validated. */
export interface CniEnv {
  command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS as key/value pairs. */
  args: Map<string, string>;
  /** CNI_PATH split on ':'. */
  path: string[];
}

const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;

/** Which variables each command needs, as libcni's skel checks them. */
const REQUIRED: Record<CniEnv['command'], readonly CniEnvName[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: [],
  VERSION: [],
};

/**
 * Validates the CNI environment as libcni's skel does: the command is known, the variables it
 * needs are set, the container id and interface name follow the spec's rules (code 4, or 3
 * for a missing container id), and CNI_NETNS is an absolute path.
 * @example
 * const env = parseEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/c1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' });
 */
export function parseEnv(vars: Partial<Record<CniEnvName, string>>): CniEnv {
  const command = vars.CNI_COMMAND;
  if (command === undefined || command === '') throw new CniError(CniCode.InvalidEnvironment, 'required env variables [CNI_COMMAND] missing');
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new CniError(CniCode.InvalidEnvironment, `unknown CNI_COMMAND: ${command}`);
  }
  const cmd = command as CniEnv['command'];
  // VERSION needs nothing else (libcni sends placeholder values such as CNI_NETNS=dummy).
  if (cmd === 'VERSION') return { command: cmd, containerId: '', netns: '', ifname: '', args: new Map(), path: [] };
  const missing = REQUIRED[cmd].filter((n) => vars[n] === undefined || (n !== 'CNI_PATH' && vars[n] === ''));
  if (missing.includes('CNI_CONTAINERID')) throw new CniError(CniCode.UnknownContainer, 'missing containerID');
  if (missing.length > 0) throw new CniError(CniCode.InvalidEnvironment, `required env variables [${missing.join(',')}] missing`);
  const containerId = vars.CNI_CONTAINERID ?? '';
  if (containerId !== '' && !CNI_NAME.test(containerId)) {
    throw new CniError(CniCode.InvalidEnvironment, 'invalid characters in containerID', containerId);
  }
  const name = vars.CNI_IFNAME ?? '';
  if (REQUIRED[cmd].includes('CNI_IFNAME')) checkIfname(name);
  const netns = cmd === 'ADD' || cmd === 'CHECK' || cmd === 'DEL' ? vars.CNI_NETNS ?? '' : '';
  if (netns !== '' && (!netns.startsWith('/') || netns.includes('\0'))) {
    throw new CniError(CniCode.InvalidEnvironment, 'invalid CNI_NETNS', `${netns} is not an absolute path`);
  }
  return { command: cmd, containerId, netns, ifname: name, args: parseArgsVar(vars.CNI_ARGS ?? ''), path: (vars.CNI_PATH ?? '').split(':').filter(Boolean) };
}

function checkIfname(name: string): void {
  if (name.length === 0) throw new CniError(CniCode.InvalidEnvironment, 'interface name is empty');
  if (Buffer.byteLength(name) > 15) throw new CniError(CniCode.InvalidEnvironment, 'interface name is too long', 'interface name should be less than 16 characters');
  if (name === '.' || name === '..') throw new CniError(CniCode.InvalidEnvironment, 'interface name is . or ..');
  if (/[/:\s]/u.test(name)) throw new CniError(CniCode.InvalidEnvironment, 'interface name contains / or : or whitespace characters');
}

/** CNI_ARGS: 'K1=V1;K2=V2'. A pair without '=' is code 4. */
function parseArgsVar(text: string): Map<string, string> {
  const out = new Map<string, string>();
  if (text === '') return out;
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniError(CniCode.InvalidEnvironment, 'invalid CNI_ARGS', `pair "${pair}" is not KEY=VALUE`);
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}
