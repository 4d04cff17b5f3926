// A list of small changes (links up or down, addresses, routes) checked and built as they are
// added, then sent together as independent requests that resolve once for all: no promise or
// queue entry per change, which is most of what the same calls made one by one cost in JS.
import { ArgumentError } from './errors.js';
import { abortSignal, timeoutMs } from './fields.js';
import { object, optional } from './schema.js';
import { refuseNetns, withConnection, type NetnsOption, type NetnsRef, type PreparedRequest } from './target.js';
import { addressRequest, deleteAddressRequest, type AddAddressOptions } from './route/addresses.js';
import { checkNetnsOption, linkSelector, linkUpRequest, resolveIndex, type LinkRef } from './route/links.js';
import { routeRequest, type RouteSpec } from './route/routes.js';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from './netlink/message.js';
import * as rt from './netlink/rtnetlink.js';

/** Options of ChangeList.send(). */
export interface SendChangesOptions {
  /** Milliseconds to wait for the kernel's answers (default 30 s); a change the kernel left
   *  unanswered gets a TimeoutError of its own. Changes that could not even be sent in time
   *  (the connection busy with other requests until then) reject the whole send with it. */
  timeout?: number;
  /** Aborting rejects the whole send (what the kernel already did stays done). */
  signal?: AbortSignal;
}

const sendChangesOptions = object<SendChangesOptions>('send options', { timeout: optional(timeoutMs), signal: optional(abortSignal) });

/** What ChangeList.send() resolves with. */
export interface ChangeListResult {
  /** How many changes failed. */
  failed: number;
  /** Each change's outcome, in the order they were added: undefined when the kernel
   *  acknowledged it, else its error (a NetlinkError with errno, operation and object, as the
   *  single call would have thrown). */
  errors: (Error | undefined)[];
}

/** A change whose links are named: built again once their indexes are known. */
interface NamedChange {
  /** Position of the change in the list. */
  at: number;
  links: readonly (LinkRef | undefined)[];
  build(indexes: readonly (number | undefined)[]): PreparedRequest;
}

/** The list's namespace is the only one its changes apply to. */
const NOT_PER_CHANGE = 'is not an option of a change: the list is made for one namespace';

/** A stand-in index to check a change by name before the name is resolved. */
const PLACEHOLDER_INDEX = 1;

/**
 * Changes to one namespace, sent together: one promise for all, and each change's own outcome
 * (one refusal fails only itself). Each method checks its
 * arguments as the single call does (a bad one throws at once and adds nothing) and returns
 * the list, so calls chain. Links may be given by index, or by name: names are resolved once
 * each when the list is sent. A list is sent once.
 *
 * Up to 64 changes are exchanged in one `sendmsg` on the calling thread (the kernel answers
 * them within the send); a longer list goes to the addon's I/O thread.
 *
 * @example
 * ```ts
 * const result = await changeList({ netns: 'pb' })
 *   .setLinkUp('lo')
 *   .setLinkUp('veth-pb')
 *   .addAddress('veth-pb', '192.168.0.56/24', { broadcast: 'auto' })
 *   .addRoute({ to: 'default', via: '192.168.0.60' })
 *   .send();
 * if (result.failed > 0) console.error(result.errors.filter(Boolean));
 * ```
 */
export class ChangeList {
  private readonly netns: NetnsRef | undefined;
  private readonly requests: PreparedRequest[] = [];
  private readonly named: NamedChange[] = [];
  private sent = false;

  constructor(opts: NetnsOption = {}) {
    this.netns = checkNetnsOption(opts).netns;
  }

  /** How many changes the list holds. */
  get size(): number {
    return this.requests.length;
  }

  /**
   * `ip link set LINK up`.
   *
   * @example
   * ```ts
   * await changeList({ netns: 'pb' }).setLinkUp('lo').setLinkUp('veth-pb').send();
   * ```
   */
  setLinkUp(link: LinkRef): this {
    // By name too: the kernel finds the link itself, no lookup needed.
    return this.add([], () => linkUpRequest(link, true));
  }

  /**
   * `ip link set LINK down`.
   *
   * @example
   * ```ts
   * await changeList().setLinkDown('bread-pb-veth').setLinkDown('bread-jelly-veth').send();
   * ```
   */
  setLinkDown(link: LinkRef): this {
    return this.add([], () => linkUpRequest(link, false));
  }

  /**
   * `ip address add CIDR dev LINK`, with addAddress()'s options.
   *
   * @example
   * ```ts
   * await changeList().addAddress('brd1', '192.168.0.60/24', { broadcast: 'auto' }).send();
   * ```
   */
  addAddress(link: LinkRef, cidr: string, opts: Omit<AddAddressOptions, 'netns'> = {}): this {
    linkSelector(link);
    refuseNetns(opts, 'opts.netns', NOT_PER_CHANGE);
    return this.add([link], ([index]) => addressRequest(index!, cidr, opts, link));
  }

  /**
   * `ip address del CIDR dev LINK`.
   *
   * @example
   * ```ts
   * await changeList({ netns: 'pb' }).deleteAddress('veth-pb', '192.168.0.56/24').send();
   * ```
   */
  deleteAddress(link: LinkRef, cidr: string): this {
    linkSelector(link);
    return this.add([link], ([index]) => deleteAddressRequest(index!, cidr, link));
  }

  /**
   * `ip route add` (EEXIST if it exists), with addRoute()'s spec.
   *
   * @example
   * ```ts
   * await changeList({ netns: 'pb' }).addRoute({ to: 'default', via: '192.168.0.60' }).send();
   * ```
   */
  addRoute(spec: Omit<RouteSpec, 'netns'>): this {
    return this.route(rt.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, spec);
  }

  /**
   * `ip route replace`.
   *
   * @example
   * ```ts
   * await changeList({ netns: 'pb' }).replaceRoute({ to: 'default', via: '192.168.0.61' }).send();
   * ```
   */
  replaceRoute(spec: Omit<RouteSpec, 'netns'>): this {
    return this.route(rt.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, spec);
  }

  /**
   * `ip route del` (ESRCH if there is no such route).
   *
   * @example
   * ```ts
   * await changeList({ netns: 'pb' }).deleteRoute({ to: 'default' }).send();
   * ```
   */
  deleteRoute(spec: Omit<RouteSpec, 'netns'>): this {
    return this.route(rt.RTM_DELROUTE, 0, spec);
  }

  /**
   * Sends every change, in the order they were added, and resolves once the kernel answered
   * them all. Rejects only when the exchange itself fails (the namespace cannot be opened,
   * the signal aborts, the connection closes, or the timeout passes before the changes could
   * be sent); a refused change or an unknown link name is that change's error in the result.
   *
   * @example
   * ```ts
   * const { failed, errors } = await changeList().addAddress('brd1', '192.168.0.60/24').send({ timeout: 5000 });
   * if (failed > 0) throw errors.find(Boolean);
   * ```
   */
  async send(opts: SendChangesOptions = {}): Promise<ChangeListResult> {
    sendChangesOptions.check(opts, '');
    this.checkNotSent();
    this.sent = true;
    const requests = this.requests;
    const errors = new Array<Error | undefined>(requests.length).fill(undefined);
    if (requests.length === 0) return { failed: 0, errors };
    const exchangeOpts = { operation: 'change list', ...opts };
    return withConnection(this.netns, async (conn) => {
      let toSend: PreparedRequest[] = requests;
      let positions: number[] | undefined;
      if (this.named.length > 0) {
        // Each name once, all in the same tick (one sendmsg), then the changes that named
        // them are built with the real indexes.
        const indexes = new Map<LinkRef, Promise<number>>();
        for (const c of this.named) for (const l of c.links) if (typeof l === 'string' && !indexes.has(l)) indexes.set(l, resolveIndex(conn, l));
        const resolved = new Map<LinkRef, number | Error>();
        await Promise.all([...indexes].map(([name, p]) => p.then((i) => resolved.set(name, i), (e: unknown) => resolved.set(name, e as Error))));
        for (const c of this.named) {
          const ixs = c.links.map((l) => (typeof l === 'string' ? resolved.get(l) : l));
          const failed = ixs.find((i) => i instanceof Error);
          if (failed) {
            errors[c.at] = failed;
            continue;
          }
          try {
            requests[c.at] = c.build(ixs as (number | undefined)[]);
          } catch (e) {
            errors[c.at] = e as Error;
          }
        }
        positions = [];
        toSend = [];
        for (let k = 0; k < requests.length; k++) {
          if (errors[k]) continue;
          positions.push(k);
          toSend.push(requests[k]!);
        }
      }
      const outcomes = toSend.length === 0 ? [] : await conn.requestEach(toSend, exchangeOpts);
      let failed = 0;
      for (let j = 0; j < outcomes.length; j++) if (outcomes[j]) errors[positions ? positions[j]! : j] = outcomes[j];
      for (const e of errors) if (e) failed++;
      return { failed, errors };
    });
  }

  private route(type: number, flags: number, spec: Omit<RouteSpec, 'netns'>): this {
    refuseNetns(spec, 'spec.netns', NOT_PER_CHANGE);
    const links = [spec.dev, ...(spec.nexthops ?? []).map((h) => h.dev)];
    return this.add(links, ([oif, ...hops]) => routeRequest(type, flags, spec, oif, hops));
  }

  /** Builds a change now, which checks it (with a stand-in index for each name; the caller
   *  checked the names), and keeps the builder when a name must be resolved at send. */
  private add(links: readonly (LinkRef | undefined)[], build: (indexes: readonly (number | undefined)[]) => PreparedRequest): this {
    this.checkNotSent();
    let named = false;
    for (const l of links) if (typeof l === 'string') named = true;
    const indexes = named ? links.map((l) => (typeof l === 'string' ? PLACEHOLDER_INDEX : l)) : (links as (number | undefined)[]);
    const request = build(indexes);
    if (named) this.named.push({ at: this.requests.length, links, build });
    this.requests.push(request);
    return this;
  }

  private checkNotSent(): void {
    if (this.sent) throw new ArgumentError('ERR_CHANGE_LIST_SENT', 'changeList', 'this list was sent already: make a new one');
  }
}

/**
 * A new, empty ChangeList for `netns` (default: the caller's namespace).
 *
 * @example
 * ```ts
 * const { failed } = await changeList().setLinkUp('brd1').addAddress('brd1', '192.168.0.60/24').send();
 * ```
 */
export function changeList(opts: NetnsOption = {}): ChangeList {
  return new ChangeList(opts);
}

