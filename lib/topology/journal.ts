// What one applyTopology() call did, so that a failed apply can undo exactly that: delete what
// it created, and put back what it changed on objects that existed before (an address added to
// a bridge it used, a port moved, a sysctl written, a rule or route added).
import { NetlinkError } from '../errors.js';
import { deleteNamespace, type Namespace } from '../namespace.js';
import { deleteLink } from '../route/links.js';
import { waitForLinksGone } from '../monitor.js';

const ignoreMissing = (e: unknown) => {
  if (e instanceof NetlinkError && (e.code === 'ENODEV' || e.code === 'ENOENT' || e.code === 'ESRCH' || e.code === 'EADDRNOTAVAIL')) return;
  throw e;
};

export class Journal {
  /** Named namespaces this call created (their veths go with them). */
  readonly namespaces: string[] = [];
  /** Anonymous namespaces this call created: closing the handle lets them go. */
  readonly anonymous = new Map<string, Namespace>();
  /** Host links this call created, by index (a name could meanwhile be someone else's). */
  readonly links: number[] = [];
  /** Host ends (indexes) of veths whose namespace this call created: gone with it, waited for. */
  readonly hostEndsOfCreated: number[] = [];
  private readonly undo: (() => Promise<unknown>)[] = [];

  /** Something to do on rollback to put back a change; run in reverse order. */
  onRollback(fn: () => Promise<unknown>): void {
    this.undo.push(fn);
  }

  /** Undoes everything; resolves when the kernel has removed the links too. Errors of single
   *  steps do not stop the others: the first is rethrown at the end. */
  async rollback(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = (p: Promise<unknown>) => p.catch(ignoreMissing).catch((e) => errors.push(e));
    for (const ns of this.anonymous.values()) ns.close();
    for (const fn of [...this.undo].reverse()) await attempt(fn());
    await Promise.all(this.links.map((index) => attempt(deleteLink(index))));
    await Promise.all(this.namespaces.map((name) => attempt(deleteNamespace(name))));
    const gone = [...this.links, ...this.hostEndsOfCreated];
    if (gone.length > 0) await attempt(waitForLinksGone(gone));
    if (errors.length > 0) throw errors[0];
  }
}
