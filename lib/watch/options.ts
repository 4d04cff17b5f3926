// watch()'s options, the events it yields and its counters, with the schema that checks the
// options (shared with waitFor()).
import { ArgumentError } from '../errors.js';
import type { NetnsOption } from '../target.js';
import { abortSignal, flag, netnsShape } from '../fields.js';
import { fieldPath, integer, object, optional, type Shape } from '../schema.js';
import { KINDS, type WatchKind, type WatchObjects } from './kinds.js';

/**
 * Options of watch().
 *
 * @example
 * ```ts
 * const watcher = watch({ allNamespaces: true, links: true, addresses: true, listExisting: true, signal: AbortSignal.timeout(60_000) });
 * ```
 */
export interface WatchOptions extends NetnsOption {
  /** Kinds to follow. Without any of these five: links, addresses and routes. */
  links?: boolean;
  addresses?: boolean;
  routes?: boolean;
  /** ARP and NDP entries (busy: every state change is an event). */
  neighbours?: boolean;
  rules?: boolean;
  /** Every namespace: the caller's own and those of the run dir, present and future, through
   *  one socket. Not with `netns`. */
  allNamespaces?: boolean;
  /** Report what exists as 'added' events first (then 'synced'). */
  listExisting?: boolean;
  /** Ends the watch: the iterator rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The socket's receive buffer in bytes (default 32 MiB). Smaller overruns sooner. */
  receiveBuffer?: number;
}

/** An object appeared, changed or went away. `key` identifies it within its namespace. */
export type ObjectEvent = {
  [K in WatchKind]: {
    type: 'added' | 'changed' | 'removed';
    kind: K;
    key: string;
    object: WatchObjects[K];
    /** The namespace's name; absent for the caller's own namespace (or an unnamed one). */
    netns?: string;
  };
}[WatchKind];

/** Everything up to now has been reported: after the initial listing, and after each resync. */
export interface SyncedEvent {
  type: 'synced';
}

/** The kernel dropped notifications; the differences follow as ordinary events, then 'synced'. */
export interface OverrunEvent {
  type: 'overrun';
  /** Notifications the kernel dropped this time. */
  drops: number;
}

/**
 * What a Watcher yields: an object added, changed or removed, or a marker ('synced', 'overrun').
 *
 * @example
 * ```ts
 * for await (const e of watch({ netns: 'pb' })) {
 *   if (e.type === 'overrun') console.log('dropped', e.drops);
 *   else if (e.type !== 'synced' && e.kind === 'address') console.log(e.type, e.object.cidr);
 * }
 * ```
 */
export type WatchEvent = ObjectEvent | SyncedEvent | OverrunEvent;

/** A watcher's counters. */
export interface WatchStats {
  /** Object events delivered so far. */
  events: number;
  overruns: number;
  /** Notifications the kernel dropped, in total. */
  drops: number;
  /** Queued notifications thrown away unread after overruns (the resync covers them). */
  discarded: number;
  /** Resyncs finished after overruns, and how long the last one and all of them took. */
  resyncs: number;
  lastResyncMs: number;
  totalResyncMs: number;
  /** Dumps restarted because the kernel marked them inconsistent. */
  dumpRetries: number;
  /** Namespaces followed now. */
  namespaces: number;
}

export const KIND_OPTIONS: Record<WatchKind, 'links' | 'addresses' | 'routes' | 'neighbours' | 'rules'> = {
  link: 'links',
  address: 'addresses',
  route: 'routes',
  neighbour: 'neighbours',
  rule: 'rules',
};

export const watchHints = {
  link: 'links',
  address: 'addresses',
  route: 'routes',
  neighbors: 'neighbours',
  neighbor: 'neighbours',
  neighbour: 'neighbours',
  neigh: 'neighbours',
  rule: 'rules',
  all: 'allNamespaces',
  allNetns: 'allNamespaces',
  existing: 'listExisting',
  list: 'listExisting',
  dump: 'listExisting',
  rcvbuf: 'receiveBuffer',
  bufferSize: 'receiveBuffer',
  ns: 'netns',
};

const kindShape = { links: optional(flag), addresses: optional(flag), routes: optional(flag), neighbours: optional(flag), rules: optional(flag) };
export const watchShape: Shape<WatchOptions> = {
  ...netnsShape,
  ...kindShape,
  allNamespaces: optional(flag),
  listExisting: optional(flag),
  signal: optional(abortSignal),
  receiveBuffer: optional(integer(1024, 2 ** 31 - 1)),
};

export function checkWatchSelection(o: Pick<WatchOptions, 'netns' | 'allNamespaces' | (typeof KIND_OPTIONS)[WatchKind]>, path: string): void {
  const at = (k: string) => fieldPath(path, k);
  if (o.allNamespaces && o.netns !== undefined) {
    throw new ArgumentError('ERR_INVALID_ARG_VALUE', at('allNamespaces'), 'watches every namespace already: leave out netns, or allNamespaces');
  }
  const given = KINDS.filter((k) => o[KIND_OPTIONS[k]] !== undefined);
  if (given.length > 0 && !given.some((k) => o[KIND_OPTIONS[k]])) {
    throw new ArgumentError('ERR_INVALID_ARG_VALUE', at(KIND_OPTIONS[given[0]!]), 'nothing to watch: set at least one of links, addresses, routes, neighbours, rules to true');
  }
}

export const watchOptions = object<WatchOptions>('watch options', watchShape, { hints: watchHints, refine: checkWatchSelection });

/** The kinds the options ask for. */
export function requestedKinds(o: WatchOptions): Set<WatchKind> {
  const given = KINDS.filter((k) => o[KIND_OPTIONS[k]] !== undefined);
  return new Set(given.length === 0 ? (['link', 'address', 'route'] as WatchKind[]) : given.filter((k) => o[KIND_OPTIONS[k]]));
}
