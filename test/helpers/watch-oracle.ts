// The kernel's state read fresh with the public list functions, as a WatchState, and a
// comparison with what a watcher's consumer holds: the check that a watch, after 'synced',
// yields exactly what a dump shows.
import * as lib from '../../lib/index.js';
import { same } from '../../lib/watch/kinds.js';

const KINDS = ['link', 'address', 'route'] as const;

/** Links, addresses and routes (every table) of each namespace (undefined: the caller's). */
export async function dumpedState(namespaces: (string | undefined)[], concurrency = 16): Promise<lib.WatchState> {
  const state = new lib.WatchState();
  let next = 0;
  const one = async (ns: string | undefined) => {
    const opts = ns === undefined ? {} : { netns: ns };
    const [links, addresses, routes] = await Promise.all([lib.listLinks(opts), lib.listAddresses(opts), lib.listRoutes({ ...opts, table: 'all' })]);
    const add = <K extends lib.WatchKind>(kind: K, objects: lib.WatchObjects[K][]) => {
      for (const object of objects) state.apply({ type: 'added', kind, key: lib.WatchState.key(kind, object), object, ...(ns === undefined ? {} : { netns: ns }) } as lib.ObjectEvent);
    };
    // A watched link carries no counters (they change without notifications).
    add('link', links.map(({ stats: _stats, ...l }) => l));
    add('address', addresses);
    add('route', routes);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, namespaces.length) }, async () => {
    while (next < namespaces.length) await one(namespaces[next++]);
  }));
  return state;
}

export interface StateDifference {
  netns: string | undefined;
  kind: string;
  key: string;
  watched?: unknown;
  dumped?: unknown;
}

/** Every object that differs between the two states (for the kinds given), at most `limit`. */
export function differences(watched: lib.WatchState, dumped: lib.WatchState, kinds: readonly lib.WatchKind[] = KINDS, limit = 20): StateDifference[] {
  const out: StateDifference[] = [];
  const spaces = new Set([...watched.namespaces(), ...dumped.namespaces()]);
  for (const netns of spaces) {
    for (const kind of kinds) {
      const a = new Map(watched.get(kind, netns ?? null).map((o) => [lib.WatchState.key(kind, o), o]));
      const b = new Map(dumped.get(kind, netns ?? null).map((o) => [lib.WatchState.key(kind, o), o]));
      for (const key of new Set([...a.keys(), ...b.keys()])) {
        if (!same(a.get(key), b.get(key))) out.push({ netns, kind, key, watched: a.get(key), dumped: b.get(key) });
        if (out.length >= limit) return out;
      }
    }
  }
  return out;
}
