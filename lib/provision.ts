// The bulk path's fast lane: a fresh namespace of a topology configured by one addon job
// (native/provision.cc). Everything is encoded here beforehand; the job creates the namespace,
// writes its fd into the veth creates, sends them, writes the echoed peer indexes into the
// namespace's own requests and sends those, all on one thread with no trip back to JS in
// between. What the job cannot know (a name already taken, a refused address) comes back as
// the same errors the per-call API gives.
import { encodeForAddon, readAnswers, type RequestOptions } from './connection.js';
import { NetlinkError, capabilityHint } from './errors.js';
import { NLA_HDRLEN, align4, findAttrOffset } from './netlink/attributes.js';
import { IFINFOMSG_LEN, linkIndexes } from './netlink/link.js';
import { NLMSG_HDRLEN, splitMessages } from './netlink/message.js';
import { createLinkOpts, createLinkRequest, vethMessage } from './route/links.js';
import * as rt from './netlink/rtnetlink.js';
import { native, type ProvisionItem, type ProvisionedItem } from './native.js';
import { Namespace, runDir } from './namespace.js';
import { validateInterfaceName, validateNamespaceName } from './validate.js';
import type { PreparedRequest } from './target.js';

/** ifinfomsg and ifaddrmsg both carry the link index at byte 4 of the payload. */
const INDEX_AT = NLMSG_HDRLEN + 4;
const RTMSG_LEN = 12;

export interface VethPlan {
  /** The end in the host. */
  hostName: string;
  /** The end created inside the namespace. */
  name: string;
  master?: number;
  mtu?: number;
  group: number;
  /** How its errors name it (default: the host end). */
  label?: string;
}

/** A request inside the namespace; `veth` says which veth's inside index it names (the
 *  index it was built with is a placeholder, replaced by the one the kernel echoes). */
export interface InsideRequest {
  request: PreparedRequest;
  veth?: number;
}

export interface ProvisionPlan {
  veths: VethPlan[];
  inside: InsideRequest[];
  ipv6Off: boolean;
  /** Requests sent from inside the new namespace before it is mounted (its mark). */
  mark?: Buffer;
}

export interface Provisioned {
  ns: Namespace;
  /** Per veth: undefined when created, else the kernel's refusal (empty when not sent). */
  vethErrors: (Error | undefined)[];
  /** Per veth created: its host end's index (from the kernel's echo). */
  hostIndexes: (number | undefined)[];
  /** Per inside request, when they were sent (all veths created). */
  insideErrors?: (Error | undefined)[];
  /** A syscall failure after the namespace existed. */
  failure?: Error;
}

/** A veth create encoded once, and where its host end's name and its peer's namespace fd sit. */
interface VethShape {
  bytes: Buffer;
  nameAt: number;
  fdAt: number;
}

/** Veth creates by everything but the host end's name (and that name's padded length). */
const vethShapes = new Map<string, VethShape>();
const MAX_VETH_SHAPES = 256;

/**
 * A veth create, encoded for the addon, and where the peer's namespace fd goes in it. The
 * namespaces of a topology tend to differ only by their host end's name: the message is encoded
 * once per shape and copied with the name written in, since encoding the nested message was
 * most of the JS time a new namespace took.
 */
function encodeVeth(v: VethPlan): VethShape {
  validateInterfaceName(v.hostName, 'name');
  const nameLength = Buffer.byteLength(v.hostName);
  // Every field of the plan that reaches the message, the host name by its padded length only
  // (the label names errors, not bytes).
  const key = JSON.stringify({ ...v, hostName: align4(nameLength + 1), label: undefined });
  let shape = vethShapes.get(key);
  if (!shape) {
    const { bytes } = encodeForAddon([vethRequest(v)]);
    shape = { bytes, nameAt: findAttrOffset(bytes, rt.IFLA_IFNAME, NLMSG_HDRLEN + IFINFOMSG_LEN, bytes.readUInt32LE(0)), fdAt: peerNetnsFdOffset(bytes, 0) };
    if (vethShapes.size >= MAX_VETH_SHAPES) vethShapes.clear();
    vethShapes.set(key, shape);
  }
  // Every job gets a copy, the first too: the shape itself is never handed out.
  const bytes = Buffer.from(shape.bytes);
  bytes.writeUInt16LE(NLA_HDRLEN + nameLength + 1, shape.nameAt - NLA_HDRLEN);
  bytes.fill(0, shape.nameAt, shape.nameAt + align4(nameLength + 1));
  bytes.write(v.hostName, shape.nameAt, 'utf8');
  return { bytes, nameAt: shape.nameAt, fdAt: shape.fdAt };
}

/** @internal The veth create of `v`, built and checked the ordinary way (tests compare with it). */
export function vethRequest(v: VethPlan): PreparedRequest {
  const group = { group: v.group, ...(v.mtu !== undefined ? { mtu: v.mtu } : {}) };
  const { m, peer } = vethMessage({ name: v.hostName, up: true, ...group, peer: { name: v.name, ...group } });
  // The addon writes the namespace's fd over this placeholder.
  peer.netnsFd = 0;
  if (v.master !== undefined) m.master = v.master;
  return createLinkRequest(m, v.label);
}

/** Where IFLA_NET_NS_FD of the peer sits in a veth create starting at `at`. */
function peerNetnsFdOffset(b: Buffer, at: number): number {
  const end = at + b.readUInt32LE(at);
  const nest = (type: number, from: number, to: number): [number, number] => {
    const p = findAttrOffset(b, type, from, to);
    if (p < 0) throw new Error(`veth create without attribute ${type}`);
    return [p, p + b.readUInt16LE(p - 4) - 4];
  };
  const [info, infoEnd] = nest(rt.IFLA_LINKINFO, at + NLMSG_HDRLEN + IFINFOMSG_LEN, end);
  const [data, dataEnd] = nest(rt.IFLA_INFO_DATA, info, infoEnd);
  const [peer, peerEnd] = nest(rt.VETH_INFO_PEER, data, dataEnd);
  return nest(rt.IFLA_NET_NS_FD, peer + IFINFOMSG_LEN, peerEnd)[0];
}

/** Where the link index a request names sits: the header's for links and addresses, RTA_OIF
 *  for routes. */
function indexOffset(b: Buffer, at: number): number {
  const type = b.readUInt16LE(at + 4);
  if (type === rt.RTM_NEWLINK || type === rt.RTM_NEWADDR) return at + INDEX_AT;
  if (type === rt.RTM_NEWROUTE) {
    const p = findAttrOffset(b, rt.RTA_OIF, at + NLMSG_HDRLEN + RTMSG_LEN, at + b.readUInt32LE(at));
    if (p >= 0) return p;
  }
  throw new Error(`no link index to fill in a ${rt.rtmName(type)}`);
}

/** Namespaces per addon job: enough to batch the veth creates, small enough that results
 *  flow back to JS while the next job runs. The first jobs of a burst are smaller, so the
 *  kernel starts while JS still encodes the rest. */
const CHUNK = 16;
const FIRST_CHUNK = 4;

interface Waiting {
  name: string | undefined;
  item: ProvisionItem;
  /** How each veth create's and each inside request's answer names it. */
  veths: RequestOptions[];
  inside: RequestOptions[];
  resolve(p: Provisioned): void;
  reject(e: Error): void;
}

let waiting: Waiting[] = [];
let scheduled = false;
/** Size of the next job; grows through a burst, back to FIRST_CHUNK once no job is running. */
let chunk = FIRST_CHUNK;
let running = 0;

/** The addon job's item for a namespace (its requests encoded), and the requests its answers
 *  are read against. Sends nothing. */
export function encodeProvision(name: string | undefined, plan: ProvisionPlan): { item: ProvisionItem; veths: RequestOptions[]; inside: RequestOptions[] } {
  if (name !== undefined) validateNamespaceName(name);
  const encoded = plan.veths.map(encodeVeth);
  const nsFdOffsets: number[] = [];
  let at = 0;
  for (const v of encoded) {
    nsFdOffsets.push(at + v.fdAt);
    at += v.bytes.length;
  }
  const inside = plan.inside.map((r) => r.request);
  const insideBytes = encodeForAddon(inside);
  const item: ProvisionItem = {
    name: name ?? '',
    ipv6Off: plan.ipv6Off,
    ...(plan.mark ? { mark: plan.mark } : {}),
    host: encoded.length === 1 ? encoded[0]!.bytes : Buffer.concat(encoded.map((v) => v.bytes)),
    nsFdOffsets,
    inside: insideBytes.bytes,
    peerIndexPatches: plan.inside.flatMap((r, k) => (r.veth === undefined ? [] : [indexOffset(insideBytes.bytes, insideBytes.starts[k]!), r.veth])),
  };
  return { item, veths: plan.veths.map((v) => createLinkOpts(v.label ?? v.hostName)), inside: inside.map((r) => r.opts) };
}

/**
 * Creates the namespace `name` (anonymous when undefined) and configures it by the plan.
 * Calls made in the same tick share addon jobs (phase by phase, see native/provision.cc).
 * Rejects as createNamespace() does when the namespace cannot be created; after that,
 * failures are reported in the result, with the namespace handle.
 */
export function provision(name: string | undefined, plan: ProvisionPlan): Promise<Provisioned> {
  const { item, veths, inside } = encodeProvision(name, plan);
  return new Promise((resolve, reject) => {
    waiting.push({ name, item, veths, inside, resolve, reject });
    if (waiting.length >= chunk) {
      submit();
      chunk = Math.min(chunk * 2, CHUNK);
    }
    if (scheduled) return;
    scheduled = true;
    // The rest of this tick's calls go together once it ends.
    queueMicrotask(() => {
      scheduled = false;
      if (waiting.length > 0) submit();
    });
  });
}

function submit(): void {
  const items = waiting;
  waiting = [];
  const dir = runDir();
  running++;
  const finished = () => {
    // A burst spans several turns of the event loop (applyTopology slices its starts): jobs
    // stay big until it is over.
    if (--running === 0) chunk = FIRST_CHUNK;
  };
  native.provisionNetns(dir, items.map((w) => w.item)).then(
    (result) => {
      finished();
      const hostAnswers = splitMessages(result.hostReplies);
      items.forEach((w, i) => settle(w, hostAnswers, result.items[i]!, dir));
    },
    (e: unknown) => {
      finished();
      items.forEach((w) => w.reject(e as Error));
    },
  );
}

function settle(w: Waiting, hostAnswers: ReturnType<typeof splitMessages>, r: ProvisionedItem, dir: string): void {
  const object = w.name ?? 'anonymous netns';
  if (r.nsFd < 0) {
    return w.reject(
      new NetlinkError({
        errno: r.createErrno,
        syscall: r.createSyscall,
        operation: 'netns add',
        object,
        ...(r.createPath ? { path: r.createPath } : {}),
        ...(r.createDetail ? { hint: r.createDetail } : r.createErrno === 1 ? { hint: capabilityHint(r.createSyscall) } : {}),
      }),
    );
  }
  const ns = w.name === undefined ? new Namespace(r.nsFd, undefined, undefined, r.routeFd) : new Namespace(r.nsFd, w.name, `${dir}/${w.name}`, r.routeFd);
  const out: Provisioned = { ns, vethErrors: [], hostIndexes: [] };
  if (r.errno !== 0) out.failure = new NetlinkError({ errno: r.errno, syscall: r.syscall, operation: 'provision', object });
  // Not sent (hostFirstSeq 0) only after a failure, which is reported instead.
  if (r.hostFirstSeq !== 0) {
    const answers = readAnswers(hostAnswers, r.hostFirstSeq, w.veths);
    out.vethErrors = answers.map((a) => a.error);
    out.hostIndexes = answers.map((a) => {
      const echo = a.messages.find((m) => m.type === rt.RTM_NEWLINK);
      return echo ? linkIndexes(echo).index : undefined;
    });
  }
  if (r.insideSent) out.insideErrors = readAnswers(splitMessages(r.insideReplies), r.insideFirstSeq, w.inside).map((a) => a.error);
  w.resolve(out);
}

