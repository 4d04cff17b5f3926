// Watching the kernel: links, addresses, routes, neighbours and rules as a stream of typed
// events, in one namespace or in all of them through a single socket, with the current state
// first and a resync after the kernel drops notifications. A consumer that applies every
// event (WatchState does) holds the kernel's state: after 'synced', and again after each
// overrun's 'synced'.
//
// The pieces: lib/watch/watcher.ts (the watch), kinds.ts (per-kind state and the kernel's
// silent flushes), subscription.ts (the socket), nsid.ts, state.ts (WatchState), wait.ts
// (waitFor and the helpers), options.ts; neighbours.ts and rules.ts are minimal decoders.
export type { WatchKind, WatchObjects } from './watch/kinds.js';
export type { WatchOptions, ObjectEvent, SyncedEvent, OverrunEvent, WatchEvent, WatchStats } from './watch/options.js';
export { Watcher, watch, type WatchSink } from './watch/watcher.js';
export { WatchState } from './watch/state.js';
export {
  waitFor,
  waitForAddress,
  waitForLinkState,
  waitForLinksGone,
  type WaitForOptions,
  type WaitOptions,
  type WaitForAddressOptions,
  type LinkState,
} from './watch/wait.js';
