// WatchState: what a consumer of a watch holds, applied event by event.
import type { AddressInfo } from '../route/addresses.js';
import type { LinkInfo } from '../route/links.js';
import { KINDS, objectKey, type WatchKind, type WatchObjects } from './kinds.js';
import type { WatchEvent } from './options.js';

type Maps = { [K in WatchKind]: Map<string, WatchObjects[K]> };

/**
 * What a consumer holds after applying a watch's events: every object by namespace, kind and
 * key. Namespaces are given by name; `null` is the caller's own namespace, and leaving it out
 * means every namespace.
 *
 * @example
 * ```ts
 * const state = new WatchState();
 * for await (const e of watch({ listExisting: true })) {
 *   state.apply(e);
 *   if (e.type === 'synced') console.log(state.links().map((l) => l.name));
 * }
 * ```
 */
export class WatchState {
  private readonly spaces = new Map<string | undefined, Maps>();

  /**
   * Applies one event (markers change nothing).
   *
   * @example
   * ```ts
   * for await (const e of watch({ allNamespaces: true, listExisting: true })) state.apply(e);
   * ```
   */
  apply(e: WatchEvent): void {
    if (e.type !== 'added' && e.type !== 'changed' && e.type !== 'removed') return;
    let maps = this.spaces.get(e.netns);
    if (!maps) {
      maps = { link: new Map(), address: new Map(), route: new Map(), neighbour: new Map(), rule: new Map() };
      this.spaces.set(e.netns, maps);
    }
    const map = maps[e.kind] as Map<string, unknown>;
    if (e.type === 'removed') map.delete(e.key);
    else map.set(e.key, e.object);
  }

  /**
   * Objects of one kind, in one namespace (null: the caller's own) or in all.
   *
   * @example
   * ```ts
   * const pbNeighbours = state.get('neighbour', 'pb');
   * const everyRoute = state.get('route');
   * ```
   */
  get<K extends WatchKind>(kind: K, netns?: string | null): WatchObjects[K][] {
    const out: WatchObjects[K][] = [];
    for (const [name, maps] of this.spaces) {
      if (netns !== undefined && name !== (netns ?? undefined)) continue;
      for (const o of (maps[kind] as Map<string, WatchObjects[K]>).values()) out.push(o);
    }
    return out;
  }

  /**
   * The object of `kind` with `key` (from an event) in a namespace (undefined: the caller's).
   *
   * @example
   * ```ts
   * for await (const e of watcher) {
   *   if (e.type === 'removed') console.log('was', state.find(e.kind, e.key, e.netns)); // before apply
   *   state.apply(e);
   * }
   * ```
   */
  find<K extends WatchKind>(kind: K, key: string, netns?: string): WatchObjects[K] | undefined {
    return (this.spaces.get(netns)?.[kind] as Map<string, WatchObjects[K]> | undefined)?.get(key);
  }

  /**
   * The links held: get('link', netns).
   *
   * @example
   * ```ts
   * const names = state.links('pb').map((l) => l.name); // ['lo', 'veth-pb']
   * ```
   */
  links(netns?: string | null): LinkInfo[] {
    return this.get('link', netns);
  }
  /**
   * The addresses held: get('address', netns).
   *
   * @example
   * ```ts
   * const mine = state.addresses(null).filter((a) => a.link === 'brd1');
   * ```
   */
  addresses(netns?: string | null): AddressInfo[] {
    return this.get('address', netns);
  }
  /**
   * The routes held: get('route', netns).
   *
   * @example
   * ```ts
   * const hasDefault = state.routes('pb').some((r) => r.to === 'default');
   * ```
   */
  routes(netns?: string | null): WatchObjects['route'][] {
    return this.get('route', netns);
  }
  /**
   * The neighbours held (needs `neighbours: true` in the watch): get('neighbour', netns).
   *
   * @example
   * ```ts
   * const stale = state.neighbours('jelly').filter((n) => n.state.includes('STALE'));
   * ```
   */
  neighbours(netns?: string | null): WatchObjects['neighbour'][] {
    return this.get('neighbour', netns);
  }
  /**
   * The policy routing rules held (needs `rules: true` in the watch): get('rule', netns).
   *
   * @example
   * ```ts
   * const tables = new Set(state.rules('pb').map((r) => r.table));
   * ```
   */
  rules(netns?: string | null): WatchObjects['rule'][] {
    return this.get('rule', netns);
  }

  /**
   * Namespaces that hold objects (undefined: the caller's own).
   *
   * @example
   * ```ts
   * console.log(state.namespaces()); // e.g. ['jelly', 'pb', undefined]
   * ```
   */
  namespaces(): (string | undefined)[] {
    return [...this.spaces].filter(([, m]) => KINDS.some((k) => m[k].size > 0)).map(([n]) => n);
  }

  /** Number of objects held. */
  get size(): number {
    let n = 0;
    for (const m of this.spaces.values()) for (const k of KINDS) n += m[k].size;
    return n;
  }

  /**
   * The key an object has in events of its kind.
   *
   * @example
   * ```ts
   * const link = await getLink('brd1');
   * const same = state.find('link', WatchState.key('link', link));
   * ```
   */
  static key<K extends WatchKind>(kind: K, object: WatchObjects[K]): string {
    return objectKey(kind, object);
  }
}
