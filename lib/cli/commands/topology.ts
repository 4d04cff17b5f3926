// rtnl up / rtnl down: a topology spec from a JSON file.
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { applyTopology, destroyTopology, type ItemResult, type TopologySpec } from '../../index.js';
import { escapeDeceptive } from '../../validate.js';
import { UsageError, type Command } from '../command.js';

/** Reads and parses a spec file; a file that cannot be read or parsed is a usage error. */
export function readSpec(file: string | undefined): TopologySpec {
  if (!file) throw new UsageError('missing FILE');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as TopologySpec;
  } catch (e) {
    throw new UsageError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

const maxNamespaces = {
  'max-namespaces': { type: 'string', description: 'accept a spec with up to N namespaces (default 4096)', valueName: 'N' },
} as const;

function limit(value: string | boolean | undefined): { maxNamespaces?: number } {
  if (value === undefined) return {};
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`--max-namespaces: '${String(value)}' is not a number`);
  return { maxNamespaces: n };
}

/** SIGINT and SIGTERM while `fn` runs: the first aborts it (apply rolls back), a second
 *  exits at once. Resolves to fn's result, or to the signal that stopped it. */
async function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<{ value: T } | { stoppedBy: NodeJS.Signals }> {
  const ac = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stoppedBy) process.exit(128 + constants.signals[sig]);
    stoppedBy = sig;
    process.stderr.write(`rtnl: ${sig}: stopping and undoing what was done (${sig} again to exit at once)\n`);
    ac.abort(Object.assign(new Error(`stopped by ${sig}`), { name: 'AbortError', code: 'ABORT_ERR' }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return { value: await fn(ac.signal) };
  } catch (e) {
    if (stoppedBy) return { stoppedBy };
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** One line per kind of item: what was created, adopted, or used without being owned. */
function describeApply(items: ItemResult[]): string[] {
  // Items are 'bridge NAME', 'veth NS/NAME NS/NAME' (a link between namespaces), 'entries NS'
  // (a namespace's fdb, neighbours and rules), 'host', or a namespace's name.
  const namespaces = items.filter((i) => i.item !== 'host' && !/^(bridge|veth|entries) /.test(i.item));
  const count = (a: string) => namespaces.filter((i) => i.action === a).length;
  const lines = [`namespaces: ${count('created')} created, ${count('adopted')} adopted`];
  for (const b of items.filter((i) => i.item.startsWith('bridge '))) {
    lines.push(b.action === 'used' ? `${b.item}: used, not owned (it existed before; down leaves it)` : `${b.item}: ${b.action}`);
  }
  for (const l of items.filter((i) => i.item.startsWith('veth '))) lines.push(`${l.item}: ${l.action}`);
  return lines;
}

export const topologyCommands: Command[] = [
  {
    words: ['up'],
    synopsis: 'FILE',
    summary: 'apply the topology in FILE (JSON): namespaces, bridges, veth pairs, vxlans, addresses, routes, fdb, neighbours, rules, masquerade, port forwards, sysctls',
    details: [
      'Applying the same FILE again converges to it: what an earlier run made is adopted.',
      'Anything else in the way (a link, a namespace of the same name) is an error, and left as',
      'it was; a bridge that existed before is used, never owned. On failure, what this run did',
      'is undone and the exit status is 1. SIGINT or SIGTERM stops the apply and undoes it the',
      'same way (exit status 130 or 143); a second signal exits at once.',
      'A spec error (unknown or mistyped field) exits with 2 before anything is changed.',
    ].join('\n'),
    options: maxNamespaces,
    async run({ args, options, say }) {
      const spec = readSpec(args[0]);
      const r = await interruptible((signal) => applyTopology(spec, { ...limit(options['max-namespaces']), signal }));
      if ('stoppedBy' in r) {
        console.error(`rtnl: up stopped by ${r.stoppedBy}; what it had done was undone`);
        return 128 + constants.signals[r.stoppedBy];
      }
      say(`up: ${r.value.items.length} items in ${r.value.elapsedMs.toFixed(1)} ms`);
      for (const line of describeApply(r.value.items)) say(`  ${line}`);
      return 0;
    },
  },
  {
    words: ['down'],
    synopsis: 'FILE',
    summary: "remove what 'rtnl up FILE' built (only what it built)",
    details: [
      'Removes the namespaces and links that carry the topology\'s mark, and its masquerade',
      'rules. Objects of the same names that the topology did not make are left alone, and',
      'listed. Nothing to remove is not an error.',
    ].join('\n'),
    options: maxNamespaces,
    async run({ args, options, say }) {
      const file = args[0];
      const spec = readSpec(file);
      const r = await interruptible((signal) => destroyTopology(spec, { ...limit(options['max-namespaces']), signal }));
      if ('stoppedBy' in r) {
        console.error(`rtnl: down stopped by ${r.stoppedBy}; run it again to finish`);
        return 128 + constants.signals[r.stoppedBy];
      }
      const d = r.value;
      if (d.deletedNamespaces.length === 0 && d.deletedLinks.length === 0 && d.removedMasquerades === 0) {
        say(`down: nothing to remove: ${file} is not up`);
      } else {
        say(`down: removed ${plural(d.deletedNamespaces.length, 'namespace')}, ${plural(d.deletedLinks.length, 'link')}, ${plural(d.removedMasquerades, 'masquerade rule')}`);
      }
      if (d.notOurs.length > 0) say(`  left alone (not made by this topology): ${d.notOurs.map(escapeDeceptive).join(', ')}`);
      return 0;
    },
  },
];
