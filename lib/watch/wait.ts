// Waiting for the kernel to reach a state: waitFor() and its helpers on a watch, and
// waitForLinksGone(), which asks link by link instead of dumping.
import { ArgumentError, NetlinkError, TimeoutError, abortReason } from '../errors.js';
import { NamespaceHandle, openHandle } from '../handle.js';
import { parseAddress, parsePrefix } from '../ip.js';
import * as rt from '../netlink/rtnetlink.js';
import { withConnection, type NetnsOption } from '../target.js';
import { abortSignal, flag, linkRef, netnsShape, timeoutMs } from '../fields.js';
import { array, integer, object, oneOf, optional } from '../schema.js';
import type { AddressInfo } from '../route/addresses.js';
import { getLinkMessage, type LinkInfo, type LinkRef } from '../route/links.js';
import { checkWatchSelection, watchHints, watchShape, type WatchOptions } from './options.js';
import { WatchState } from './state.js';
import { Subscription } from './subscription.js';
import { Watcher } from './watcher.js';

/** Options of waitFor(): what to watch, and for how long. */
export interface WaitForOptions extends Omit<WatchOptions, 'listExisting'> {
  /** Milliseconds (default 30 s); then it rejects with ETIMEDOUT. */
  timeout?: number;
}

const timeoutField = optional(timeoutMs);
const { listExisting: _listExisting, ...watchShapeWithoutList } = watchShape;
const waitForOptions = object<WaitForOptions>('waitFor options', { ...watchShapeWithoutList, timeout: timeoutField }, { hints: { ...watchHints, ms: 'timeout' }, refine: checkWatchSelection });

interface WaitSpec<T> {
  /** `{ value }` when the wait is over. */
  check(state: WatchState): { value: T } | undefined;
  /** At the timeout: the error (from the state as it is then; undefined if never in sync),
   *  or a last look that may still end the wait with a value. */
  timedOut(state: WatchState | undefined, ms: number): Error | Promise<Error | { value: T }>;
}

function waitWith<T>(spec: WaitSpec<T>, options: WaitForOptions): Promise<T> {
  const { timeout = 30_000, signal, ...rest } = options;
  return new Promise<T>((resolve, reject) => {
    const state = new WatchState();
    let live = false;
    let synced = false;
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (err: Error | undefined, value?: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      watcher.close();
      if (err) reject(err);
      else resolve(value as T);
    };
    const onAbort = () => finish(abortReason(signal!));
    const evaluate = () => {
      if (!live || done) return;
      try {
        const r = spec.check(state);
        if (r) finish(undefined, r.value);
      } catch (e) {
        finish(e as Error);
      }
    };
    const watcher = new Watcher({ ...rest, listExisting: true }, {
      event: (e) => {
        state.apply(e);
        if (e.type === 'overrun') live = false;
        if (e.type === 'synced') live = synced = true;
      },
      batchEnd: evaluate,
      error: (err) => finish(err),
    });
    timer = setTimeout(() => {
      void Promise.resolve()
        .then(() => spec.timedOut(synced ? state : undefined, timeout))
        .then(
          (r) => (r instanceof Error ? finish(r) : finish(undefined, r.value)),
          (e: unknown) => finish(e as Error),
        );
    }, timeout);
    if (signal) {
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

/**
 * Resolves once `predicate`, given the current state (kept by a watch with the options'
 * kinds and namespaces), returns something other than undefined, null or false; resolves to
 * that. The predicate sees only complete states: after the initial listing and after each
 * resync, then after each batch of changes.
 *
 * @example
 * ```ts
 * const eth0 = await waitFor((s) => s.links().find((l) => l.name === 'eth0' && l.lowerUp), { netns: 'pb', links: true, timeout: 5000 });
 * ```
 */
export function waitFor<T>(predicate: (state: WatchState) => T | undefined | null | false, options: WaitForOptions = {}): Promise<T> {
  if (typeof predicate !== 'function') throw new ArgumentError('ERR_INVALID_ARG_TYPE', 'predicate', 'must be a function');
  waitForOptions.check(options, '');
  return waitWith(
    {
      check: (s) => {
        const v = predicate(s);
        return v === undefined || v === null || v === false ? undefined : { value: v as T };
      },
      timedOut: (_s, ms) => new TimeoutError('waiting for the predicate', ms),
    },
    options,
  );
}

/** Options of the wait helpers: where, and for how long. */
export interface WaitOptions extends NetnsOption {
  /** Milliseconds (default 30 s). */
  timeout?: number;
  signal?: AbortSignal;
}

const waitOptionsShape = { ...netnsShape, timeout: timeoutField, signal: optional(abortSignal) };
const waitOptions = object<WaitOptions>('wait options', waitOptionsShape, { hints: { ns: 'netns', ms: 'timeout' } });

function linkMatches(l: LinkInfo, ref: LinkRef): boolean {
  return typeof ref === 'number' ? l.index === ref : l.name === ref;
}

const linkList = array(linkRef);

/** Which of `links` exist right now, asked one by one (RTM_GETLINK is never interrupted the way
 *  a dump is, so this is exact even while thousands of links change). */
async function linksPresent(links: LinkRef[], netns: NamespaceHandle | undefined): Promise<{ index: number; name: string }[]> {
  // Index and name only: getLink would also look up each link's master.
  const found = await withConnection(netns, (conn) =>
    Promise.all(
      links.map((l) =>
        getLinkMessage(conn, l).then(
          (m) => ({ index: m.index, name: m.name ?? `if${m.index}` }),
          (e: unknown) => (e instanceof NetlinkError && e.code === 'ENODEV' ? undefined : Promise.reject(e)),
        ),
      ),
    ),
  );
  return found.filter((l) => l !== undefined);
}

/**
 * Resolves once none of `links` (names or indexes) exists any more: the kernel removes a
 * deleted namespace's veths after the delete call returned. It subscribes to link
 * notifications, then asks for each link (RTM_GETLINK, which unlike a dump is never
 * interrupted by other changes: another process deleting thousands of links does not disturb
 * it), and counts the removals; after an overrun it asks again. Only the timeout ends the wait,
 * with an ETIMEDOUT error that lists the links still present (`present`, their names).
 *
 * @example
 * ```ts
 * await deleteNamespace('pb');
 * await waitForLinksGone(['bread-pb-veth'], { timeout: 10_000 });
 * ```
 */
export async function waitForLinksGone(links: LinkRef[], opts: WaitOptions = {}): Promise<void> {
  linkList.check(links, 'links');
  waitOptions.check(opts, '');
  const { timeout = 30_000, signal } = opts;
  signal?.throwIfAborted();
  const handle = typeof opts.netns === 'string' ? await openHandle(opts.netns, NamespaceHandle) : opts.netns;
  const owned = typeof opts.netns === 'string';
  try {
    await new Promise<void>((resolve, reject) => {
      /** The links found by the last look (index → name); undefined while a look runs. */
      let present: Map<number, string> | undefined;
      /** Removals heard while a look runs: its answers may predate them. */
      let removedDuringLook = new Set<number>();
      let looks = 0;
      let done = false;
      let sub: Subscription | undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        sub?.close();
        if (err) reject(err);
        else resolve();
      };
      const onAbort = () => finish(abortReason(signal!));
      const settleIfGone = () => {
        if (present && present.size === 0) finish();
      };
      const look = () => {
        const mine = ++looks;
        present = undefined;
        removedDuringLook = new Set();
        linksPresent(links, handle).then((found) => {
          if (done || mine !== looks) return;
          present = new Map(found.filter((l) => !removedDuringLook.has(l.index)).map((l) => [l.index, l.name]));
          settleIfGone();
        }, (e: unknown) => finish(e as Error));
      };
      Subscription.open(handle, { groups: [rt.RTNLGRP_LINK] }, {
        messages: (list) => {
          for (const { message: m } of list) {
            // ifinfomsg: family (u8, AF_UNSPEC for links themselves), pad, type, index.
            if (m.type !== rt.RTM_DELLINK || m.payload.length < 8 || m.payload[0] !== 0) continue;
            const index = m.payload.readInt32LE(4);
            if (present) present.delete(index);
            else removedDuringLook.add(index);
          }
          settleIfGone();
        },
        overrun: () => look(), // removals may have been lost: ask again
        error: (e) => finish(e),
      }).then((s) => {
        if (done) return s.close();
        sub = s;
        look(); // subscribed first, then asked: no removal falls in between
      }, (e: unknown) => finish(e as Error));
      timer = setTimeout(() => {
        // A last look, so that the error names exactly what is still there.
        linksPresent(links, handle).then((found) => {
          if (found.length === 0) return finish();
          const names = found.map((l) => l.name);
          const list = `${names.slice(0, 20).join(', ')}${names.length > 20 ? ` and ${names.length - 20} more` : ''}`;
          finish(Object.assign(new TimeoutError(`waiting for links to go; still present: ${list}`, timeout), { present: names }));
        }, (e: unknown) => finish(e as Error));
      }, timeout);
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
    });
  } finally {
    if (owned) (handle as NamespaceHandle).close();
  }
}

/** Options of waitForAddress(). */
export interface WaitForAddressOptions extends WaitOptions {
  /** Resolve while IPv6 duplicate address detection still runs (default false: wait for it). */
  tentative?: boolean;
}

const waitForAddressOptions = object<WaitForAddressOptions>('waitForAddress options', { ...waitOptionsShape, tentative: optional(flag) }, { hints: { dad: 'tentative', ns: 'netns' } });

/**
 * Resolves with the address once it is on `link` and usable: for IPv6, once duplicate address
 * detection has finished (unless `tentative: true`). Rejects with ERR_DAD_FAILED when DAD finds
 * the address in use elsewhere. `address` may carry a prefix length, which must then match.
 *
 * @example
 * ```ts
 * await pb.addAddress('veth-pb', 'fd00::56/64');
 * await pb.waitForAddress('veth-pb', 'fd00::56');  // DAD done: the address can be bound
 * ```
 */
export async function waitForAddress(link: LinkRef, address: string, opts: WaitForAddressOptions = {}): Promise<AddressInfo> {
  linkRef.check(link, 'link');
  const wanted = address.includes('/') ? parsePrefix(address, 'address') : { ...parseAddress(address, 'address'), prefixLen: undefined };
  waitForAddressOptions.check(opts, '');
  const { tentative, ...rest } = opts;
  const text = parseAddress(address.split('/')[0]!, 'address');
  return waitWith<AddressInfo>(
    {
      check: (s) => {
        const l = s.links().find((x) => linkMatches(x, link));
        if (!l) return undefined;
        const a = s.addresses().find((x) => x.index === l.index && x.family === text.family && parseAddress(x.address, 'address').bytes.equals(text.bytes) && (wanted.prefixLen === undefined || x.prefixLen === wanted.prefixLen));
        if (!a) return undefined;
        if (a.flags.includes('dadfailed')) {
          throw Object.assign(new Error(`duplicate address detection failed for ${a.cidr} on ${a.link}: the address is in use on the link`), { code: 'ERR_DAD_FAILED', address: a });
        }
        return !tentative && a.flags.includes('tentative') ? undefined : { value: a };
      },
      timedOut: (_s, ms) => new TimeoutError(`waiting for address ${address} on ${link}`, ms),
    },
    { ...rest, links: true, addresses: true },
  );
}

/** What waitForLinkState() waits for: 'up' is administratively up with carrier (IFF_UP and
 *  IFF_LOWER_UP), 'down' administratively down, 'present' / 'absent' whether it exists. */
export type LinkState = 'up' | 'down' | 'present' | 'absent';

const linkState = oneOf(['up', 'down', 'present', 'absent']);

/**
 * Resolves once `link` is in `state`: with the link, or undefined for 'absent'.
 *
 * @example
 * ```ts
 * await pb.setLinkUp('veth-pb');
 * await pb.waitForLinkState('veth-pb', 'up', { timeout: 5000 });  // carrier: the peer is up too
 * ```
 */
export async function waitForLinkState(link: LinkRef, state: LinkState, opts: WaitOptions = {}): Promise<LinkInfo | undefined> {
  linkRef.check(link, 'link');
  linkState.check(state, 'state');
  waitOptions.check(opts, '');
  return waitWith<LinkInfo | undefined>(
    {
      check: (s) => {
        const l = s.links().find((x) => linkMatches(x, link));
        const reached = state === 'absent' ? !l : state === 'present' ? !!l : state === 'up' ? !!l && l.up && l.lowerUp : !!l && !l.up;
        return reached ? { value: l } : undefined;
      },
      timedOut: (_s, ms) => new TimeoutError(`waiting for link ${link} to be ${state}`, ms),
    },
    { ...opts, links: true },
  );
}
