// A test consumer of a watch: applies every event to a WatchState, keeps them, and lets a
// test wait for an event or a state, or for the watcher to be in step with a fresh dump.
import * as lib from '../../lib/index.js';
import { differences, dumpedState, type StateDifference } from './watch-oracle.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Consumer {
  readonly state = new lib.WatchState();
  readonly events: lib.WatchEvent[] = [];
  lastEvent = performance.now();
  resyncing = false;
  error: Error | undefined;
  readonly done: Promise<void>;

  constructor(readonly watcher: lib.Watcher) {
    this.done = (async () => {
      try {
        for await (const e of watcher) {
          this.state.apply(e);
          this.events.push(e);
          this.lastEvent = performance.now();
          if (e.type === 'overrun') this.resyncing = true;
          if (e.type === 'synced') this.resyncing = false;
        }
      } catch (e) {
        this.error = e as Error;
      }
    })();
  }

  /** Resolves with the first event (from `from` on) that `match` accepts. */
  async event(match: (e: lib.WatchEvent) => boolean, timeout = 10_000, from = 0): Promise<lib.WatchEvent> {
    const deadline = performance.now() + timeout;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found) return found;
      if (this.error) throw this.error;
      if (performance.now() > deadline) throw new Error(`no matching event within ${timeout} ms; last: ${JSON.stringify(this.events.slice(-3))}`);
      await sleep(10);
    }
  }

  /** Resolves once `check` accepts the state. */
  async until(check: (s: lib.WatchState) => boolean, timeout = 10_000): Promise<void> {
    const deadline = performance.now() + timeout;
    while (!check(this.state)) {
      if (this.error) throw this.error;
      if (performance.now() > deadline) throw new Error(`state not reached within ${timeout} ms`);
      await sleep(10);
    }
  }

  /** Until the watcher has been quiet for `ms` and is not resyncing. */
  async quiet(ms = 300): Promise<void> {
    while (this.resyncing || performance.now() - this.lastEvent < ms) {
      if (this.error) throw this.error;
      await sleep(20);
    }
  }

  /**
   * The differences between what the events say and a fresh dump of `namespaces`, once they
   * agree or `timeout` ms have passed (the kernel announces IPv6 addresses only when duplicate
   * address detection ends, so a dump may show a tentative one for a second or two first).
   */
  async differencesFromDump(namespaces: (string | undefined)[], timeout = 15_000): Promise<StateDifference[]> {
    const deadline = performance.now() + timeout;
    for (;;) {
      await this.quiet();
      const diff = differences(this.state, await dumpedState(namespaces));
      if (diff.length === 0 || performance.now() > deadline) return diff;
      await sleep(250);
    }
  }

  count(type: lib.WatchEvent['type']): number {
    return this.events.filter((e) => e.type === type).length;
  }
}
