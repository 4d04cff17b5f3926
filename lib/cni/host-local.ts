// host-local IPAM built into the daemon, in host-local's own on-disk format so leases survive a
// switch between this plugin and the reference one in either direction:
//   <dataDir>/<network>/<ip>                 one file per leased address: "<containerID>\r\n<ifname>"
//   <dataDir>/<network>/last_reserved_ip.<n> the last address taken from range set n
//   <dataDir>/<network>/lock                 flock(2)ed while the folder changes
// Addresses are handed out round robin from the last reserved one, skipping the gateway, as
// host-local does, so both plugins pick the same next address.
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatAddress, parseAddress, type IpFamily } from '../ip.js';
import { native } from '../native.js';
import type { CniAttachment, CniDns, CniRoute, HostLocalIpam, HostLocalRange } from './config.js';
import { CniCode, CniError } from './errors.js';

/** Where host-local keeps leases unless the config says otherwise. */
export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';
const LAST_RESERVED = 'last_reserved_ip.';
const LINE_BREAK = '\r\n';

/** One range, canonicalised: numbers for arithmetic, the family for formatting. */
interface Range {
  family: IpFamily;
  network: bigint;
  prefixLen: number;
  start: bigint;
  end: bigint;
  gateway: bigint;
}

/** An address handed out for a container: the spec's result `ips` entry, without interface. */
export interface IpamIp {
  address: string;
  gateway?: string;
}

/** What IPAM gives the bridge code: addresses, routes, dns. */
export interface IpamResult {
  ips: IpamIp[];
  routes: CniRoute[];
  dns?: CniDns;
}

const bitsOf = (f: IpFamily) => (f === 4 ? 32 : 128);

function toBig(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function fromBig(v: bigint, family: IpFamily): string {
  const n = family === 4 ? 4 : 16;
  const out = Buffer.alloc(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return formatAddress(out);
}

function invalid(details: string): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, 'invalid network config', details);
}

function parseIp(text: string, field: string, family: IpFamily): bigint {
  const p = parseAddress(text, field);
  if (p.family !== family) throw invalid(`${field}: ${text} is not an IPv${family} address`);
  return toBig(p.bytes);
}

/** host-local's Range.Canonicalize: host bits, size, defaults for start, end and gateway. */
function canonicalise(r: HostLocalRange, field: string): Range {
  const slash = r.subnet.lastIndexOf('/');
  const base = parseAddress(r.subnet.slice(0, slash), `${field}.subnet`);
  const family = base.family;
  const bits = bitsOf(family);
  const prefixLen = Number(r.subnet.slice(slash + 1));
  if (prefixLen > bits - 2) throw invalid(`${field}.subnet: network ${r.subnet} is too small to allocate from`);
  const hostMask = (1n << BigInt(bits - prefixLen)) - 1n;
  const network = toBig(base.bytes);
  if ((network & hostMask) !== 0n) {
    throw invalid(`${field}.subnet: network ${r.subnet} has host bits set; for a /${prefixLen} the network address is ${fromBig(network & ~hostMask, family)}`);
  }
  const last = network | hostMask;
  const inside = (v: bigint) => v >= network && v <= last;
  const gateway = r.gateway !== undefined ? parseIp(r.gateway, `${field}.gateway`, family) : network + 1n;
  const start = r.rangeStart !== undefined ? parseIp(r.rangeStart, `${field}.rangeStart`, family) : network + 1n;
  const end = r.rangeEnd !== undefined ? parseIp(r.rangeEnd, `${field}.rangeEnd`, family) : family === 4 ? last - 1n : last;
  if (!inside(start)) throw invalid(`${field}.rangeStart: ${r.rangeStart} is not in network ${r.subnet}`);
  if (!inside(end)) throw invalid(`${field}.rangeEnd: ${r.rangeEnd} is not in network ${r.subnet}`);
  if (start > end) throw invalid(`${field}.rangeStart: ${r.rangeStart} is after rangeEnd`);
  return { family, network, prefixLen, start, end, gateway };
}

/** The range sets of an ipam config (the `subnet` shorthand is one set of one range). */
function rangeSets(ipam: HostLocalIpam): Range[][] {
  const sets: HostLocalRange[][] = ipam.ranges ?? [
    [{ subnet: ipam.subnet!, ...(ipam.rangeStart && { rangeStart: ipam.rangeStart }), ...(ipam.rangeEnd && { rangeEnd: ipam.rangeEnd }), ...(ipam.gateway && { gateway: ipam.gateway }) }],
  ];
  const out = sets.map((set, i) => set.map((r, j) => canonicalise(r, `ipam.ranges[${i}][${j}]`)));
  // Within a set: one family, no overlap (host-local's RangeSet.Canonicalize).
  out.forEach((set, i) => {
    for (let a = 0; a < set.length; a++) {
      if (set[a]!.family !== set[0]!.family) throw invalid(`ipam.ranges[${i}]: mixes IPv4 and IPv6 ranges`);
      for (let b = 0; b < a; b++) {
        if (set[a]!.start <= set[b]!.end && set[b]!.start <= set[a]!.end) throw invalid(`ipam.ranges[${i}]: ranges ${b} and ${a} overlap`);
      }
    }
  });
  return out;
}

const rangeText = (r: Range) => `${fromBig(r.start, r.family)}-${fromBig(r.end, r.family)}`;

/** The network's lease folder, locked for the duration of fn (flock, as host-local). */
async function withStore<T>(dataDir: string, network: string, fn: (dir: string) => T): Promise<T> {
  const dir = join(dataDir, network);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const fd = openSync(join(dir, 'lock'), 'a+', 0o644);
  try {
    // A reference host-local may hold the lock for a moment; never block the event loop on it.
    for (let waited = 0; !native.tryLock(fd, true); waited += 2) {
      if (waited > 10_000) throw new CniError(CniCode.TryAgainLater, 'lease folder is locked', `${dir}/lock held for more than 10 s`);
      await sleep(2);
    }
    // Everything below is synchronous: no other call of this process runs meanwhile.
    return fn(dir);
  } finally {
    closeSync(fd);
  }
}

/** Every lease file of a folder: address text and its trimmed content. */
function leases(dir: string, locked = true): { ip: string; owner: string }[] {
  const out: { ip: string; owner: string }[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'lock' || name.startsWith(LAST_RESERVED)) continue;
    if (name.startsWith(TMP_PREFIX)) {
      // Only a holder of the lock writes one, and removes it before letting go: seen while
      // holding the lock, it is what a killed daemon left.
      if (locked) unlinkSync(join(dir, name));
      continue;
    }
    try {
      out.push({ ip: name, owner: readFileSync(join(dir, name), 'utf8').trim() });
    } catch {
      // a folder or a file removed meanwhile: not a lease
    }
  }
  return out;
}

const ownerKey = (id: string, ifname: string) => `${id.trim()}${LINE_BREAK}${ifname}`;
// host-local's older format had only the container id in the file.
const ownedBy = (owner: string, id: string, ifname: string) => owner === ownerKey(id, ifname) || owner === id.trim();

function contains(set: Range[], v: bigint, family: IpFamily): Range | undefined {
  return set.find((r) => r.family === family && v >= r.start && v <= r.end);
}

/** host-local's round-robin walk: from the last reserved address + 1 through every range of the
 *  set, wrapping, skipping the gateway, until back at the start. */
function* candidates(set: Range[], last: bigint | undefined): Generator<{ value: bigint; range: Range }> {
  let idx = 0;
  let cur: bigint | undefined;
  if (last !== undefined) {
    const i = set.findIndex((r) => last >= r.start && last <= r.end);
    if (i >= 0) {
      idx = i;
      cur = last;
    }
  }
  let startAt: bigint | undefined;
  for (;;) {
    let r = set[idx]!;
    if (cur === undefined) {
      cur = r.start;
    } else if (cur === r.end) {
      idx = (idx + 1) % set.length;
      r = set[idx]!;
      cur = r.start;
    } else {
      cur += 1n;
    }
    if (startAt === undefined) startAt = cur;
    else if (cur === startAt) return;
    if (cur !== r.gateway) yield { value: cur, range: r };
  }
}

function lastReserved(dir: string, setIndex: number, family: IpFamily): bigint | undefined {
  try {
    const text = readFileSync(join(dir, `${LAST_RESERVED}${setIndex}`), 'utf8').trim();
    const p = parseAddress(text, 'last_reserved_ip');
    return p.family === family ? toBig(p.bytes) : undefined;
  } catch {
    return undefined;
  }
}

/** Takes one address file, owner written in: false when another container has it. The file
 *  appears whole (written to a temporary name, then linked: link(2) refuses an existing name as
 *  O_EXCL does), so a daemon killed mid-ADD never leaves a lease without its owner. */
function reserve(dir: string, address: string, id: string, ifname: string): boolean {
  const tmp = join(dir, `${TMP_PREFIX}${process.pid}-${address}`);
  writeFileSync(tmp, ownerKey(id, ifname), { mode: 0o644 });
  try {
    linkSync(tmp, join(dir, address));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}

/** Temporary lease files (see reserve): never an address, so host-local reads past them. */
const TMP_PREFIX = '.rtnetlink-tmp-';

/**
 * Leases one address per range set for (containerId, ifname), as host-local's ADD does. A
 * container that already holds an address in a set is refused (the spec forbids a duplicate
 * ADD); an exhausted set is code 101 and gives back what this call took.
 */
export async function allocate(ipam: HostLocalIpam, network: string, containerId: string, ifname: string): Promise<IpamResult> {
  const sets = rangeSets(ipam);
  const ips = await withStore(ipam.dataDir ?? DEFAULT_DATA_DIR, network, (dir) => {
    const held = leases(dir).filter((l) => ownedBy(l.owner, containerId, ifname));
    const taken: string[] = [];
    try {
      return sets.map((set, i) => {
        const family = set[0]!.family;
        for (const l of held) {
          const p = parseAddress(l.ip, 'lease');
          if (p.family === family && contains(set, toBig(p.bytes), family)) {
            throw new CniError(CniCode.InvalidNetworkConfig, 'duplicate allocation', `${l.ip} has been allocated to ${containerId}, duplicate allocation is not allowed`);
          }
        }
        for (const { value, range } of candidates(set, lastReserved(dir, i, family))) {
          const address = fromBig(value, family);
          if (!reserve(dir, address, containerId, ifname)) continue;
          taken.push(address);
          writeFileSync(join(dir, `${LAST_RESERVED}${i}`), address, { mode: 0o644 });
          return { address: `${address}/${range.prefixLen}`, gateway: fromBig(range.gateway, family) };
        }
        throw new CniError(CniCode.RangeExhausted, 'no IP addresses available', `no IP addresses available in range set: ${set.map(rangeText).join(',')}`);
      });
    } catch (e) {
      for (const address of taken) unlinkSync(join(dir, address));
      throw e;
    }
  });
  const out: IpamResult = { ips, routes: ipam.routes ?? [] };
  if (ipam.resolvConf !== undefined) out.dns = readResolvConf(ipam.resolvConf);
  return out;
}

/** Gives back every address (containerId, ifname) holds in the network; none is not an error. */
export async function release(ipam: HostLocalIpam, network: string, containerId: string, ifname: string): Promise<string[]> {
  return withStore(ipam.dataDir ?? DEFAULT_DATA_DIR, network, (dir) => {
    const mine = leases(dir).filter((l) => ownedBy(l.owner, containerId, ifname));
    for (const l of mine) unlinkSync(join(dir, l.ip));
    return mine.map((l) => l.ip);
  });
}

/** The addresses (containerId, ifname) holds, without taking the lock (CHECK). */
export function leasedTo(ipam: HostLocalIpam, network: string, containerId: string, ifname: string): string[] {
  try {
    return leases(join(ipam.dataDir ?? DEFAULT_DATA_DIR, network), false)
      .filter((l) => ownedBy(l.owner, containerId, ifname))
      .map((l) => l.ip);
  } catch {
    return [];
  }
}

/** GC: gives back every lease whose owner is not in `valid`; returns the owners released. */
export async function releaseAllExcept(ipam: HostLocalIpam, network: string, valid: readonly CniAttachment[]): Promise<{ ip: string; containerId: string; ifname: string }[]> {
  const keep = new Set(valid.map((a) => ownerKey(a.containerID, a.ifname)));
  return withStore(ipam.dataDir ?? DEFAULT_DATA_DIR, network, (dir) => {
    const gone: { ip: string; containerId: string; ifname: string }[] = [];
    for (const l of leases(dir)) {
      if (keep.has(l.owner)) continue;
      const [containerId = '', ifname = ''] = l.owner.split(LINE_BREAK);
      // An old-format lease (id only) is kept when any attachment of that container is valid.
      if (ifname === '' && valid.some((a) => a.containerID === containerId)) continue;
      unlinkSync(join(dir, l.ip));
      gone.push({ ip: l.ip, containerId, ifname });
    }
    return gone;
  });
}

/** nameserver, domain, search and options lines of a resolv.conf, as host-local reads them. */
function readResolvConf(path: string): CniDns {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CniError(CniCode.IoFailure, 'cannot read resolvConf', (e as Error).message);
  }
  const dns: CniDns = {};
  for (const line of text.split('\n')) {
    const [key, ...rest] = line.trim().split(/\s+/);
    if (key === 'nameserver' && rest[0]) (dns.nameservers ??= []).push(rest[0]);
    else if (key === 'domain' && rest[0]) dns.domain = rest[0];
    else if (key === 'search') dns.search = rest;
    else if (key === 'options') (dns.options ??= []).push(...rest);
  }
  return dns;
}
