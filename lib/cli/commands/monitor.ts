// rtnl monitor: what changes in the kernel, as it happens (like ip monitor), from watch().
import { watch, type WatchEvent, type WatchOptions } from '../../index.js';
import { escapeDeceptive } from '../../validate.js';
import { UsageError, type Command } from '../command.js';
import { formatRoutes } from '../format.js';
import { formatNeighbours, formatRules } from './neighbours.js';

/** Object words, as `ip monitor` takes them. */
const KINDS: Record<string, 'links' | 'addresses' | 'routes' | 'neighbours' | 'rules'> = {
  link: 'links',
  address: 'addresses',
  addr: 'addresses',
  route: 'routes',
  neigh: 'neighbours',
  neighbour: 'neighbours',
  neighbor: 'neighbours',
  rule: 'rules',
};

/** One event as a line of text: `[ns] added link br0 ...`. */
export function formatEvent(e: WatchEvent): string {
  if (e.type === 'synced') return 'synced';
  if (e.type === 'overrun') return `overrun: ${e.drops} notifications dropped by the kernel; resyncing`;
  const where = e.netns !== undefined ? `[${escapeDeceptive(e.netns)}] ` : '';
  let what: string;
  switch (e.kind) {
    case 'link': {
      const l = e.object;
      what = `link ${l.index}: ${l.name} <${l.flags.join(',')}> state ${l.operState.toUpperCase()}${l.kind ? ` ${l.kind}` : ''}${l.master ? ` master ${l.master}` : ''}`;
      break;
    }
    case 'address':
      what = `address ${e.object.cidr} dev ${e.object.link}${e.object.flags.length ? ` ${e.object.flags.join(' ')}` : ''}`;
      break;
    case 'route':
      what = `route ${formatRoutes([e.object])}`;
      break;
    case 'neighbour':
      what = `neighbour ${formatNeighbours([e.object])}`;
      break;
    default:
      what = `rule ${formatRules([e.object])}`;
  }
  return `${where}${e.type} ${escapeDeceptive(what)}`;
}

export const monitorCommands: Command[] = [
  {
    words: ['monitor'],
    synopsis: '[-a] [-e] [OBJECT...]',
    summary: 'print changes until interrupted (like ip monitor); --json: an object a line',
    details:
      'OBJECT: link, addr, route, neigh, rule (default: link addr route). -n NS watches that\n' +
      'namespace, --all the caller\'s and every one in the run dir (events name theirs), through\n' +
      'one socket. After the kernel drops notifications it prints \'overrun\', the differences,\n' +
      'then \'synced\' again.',
    netns: true,
    json: true,
    options: {
      all: { type: 'boolean', short: 'a', description: 'every namespace (not with -n)' },
      existing: { type: 'boolean', short: 'e', description: 'print what exists first, then synced' },
    },
    async run({ args, options }) {
      const opts: WatchOptions = {};
      for (const word of args) {
        const kind = KINDS[word];
        if (!kind) throw new UsageError(`unknown object '${word}' (link, addr, route, neigh, rule)`);
        opts[kind] = true;
      }
      if (typeof options.netns === 'string') opts.netns = options.netns;
      if (options.all) opts.allNamespaces = true;
      if (options.all && opts.netns !== undefined) throw new UsageError('-n and --all exclude each other');
      if (options.existing) opts.listExisting = true;
      const watcher = watch(opts);
      const stop = () => watcher.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      // A closed pipe (rtnl monitor | head) ends it quietly.
      process.stdout.on('error', stop);
      try {
        for await (const e of watcher) {
          process.stdout.write(`${options.json ? JSON.stringify(e) : formatEvent(e)}\n`);
        }
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
      return 0;
    },
  },
];
