#!/usr/bin/env node
// rtnl: the library's command line, built on its public API only.
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import {
  applyTopology,
  createNamespace,
  deleteNamespace,
  destroyTopology,
  listAddresses,
  listLinks,
  listMasquerades,
  listNamespaces,
  listRoutes,
  openNamespace,
  spawn,
  type TopologySpec,
} from '../index.js';
import { formatAddresses, formatLinks, formatMasquerades, formatRoutes } from './format.js';

const HELP = `rtnl — Linux container networking without ip, iptables or a shell

Usage:
  rtnl up FILE                 apply the topology in FILE (JSON): namespaces, bridges,
                               veth pairs, addresses, routes, masquerade, sysctls
  rtnl down FILE               remove what 'rtnl up FILE' built
  rtnl ns list [--json]        named network namespaces
  rtnl ns add NAME             create a named namespace (like ip netns add)
  rtnl ns del NAME             delete it
  rtnl link list [-n NS] [--json]
  rtnl addr list [-n NS] [--json]
  rtnl route list [-n NS] [--json]
  rtnl nat list [-n NS] [--json]
  rtnl exec NS -- CMD [ARG...] run CMD inside namespace NS (network namespace only)

Options:
  -n, --netns NS   run inside the named namespace
  -j, --json       print JSON instead of the brief format
  -q, --quiet      print nothing on success (up/down)
  -h, --help       this help

Exit status: 0 on success, 1 on a kernel or system error, 2 on a usage error;
'rtnl exec' exits with the command's status.`;

class UsageError extends Error {
  readonly code = 'ERR_USAGE';
}

function readSpec(file: string | undefined): TopologySpec {
  if (!file) throw new UsageError('missing FILE');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw Object.assign(new Error(`cannot read ${file}: ${(e as Error).message}`), { code: (e as NodeJS.ErrnoException).code });
  }
  try {
    return JSON.parse(text) as TopologySpec;
  } catch (e) {
    throw Object.assign(new Error(`${file} is not valid JSON: ${(e as Error).message}`), { code: 'ERR_INVALID_JSON' });
  }
}

const print = (json: boolean, value: unknown, brief: () => string) => {
  const text = json ? JSON.stringify(value, null, 2) : brief();
  if (text) console.log(text);
};

async function run(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash === -1 ? argv : argv.slice(0, dash);
  const rest = dash === -1 ? [] : argv.slice(dash + 1);
  const { values, positionals } = parseArgs({
    args: own,
    allowPositionals: true,
    options: {
      netns: { type: 'string', short: 'n' },
      json: { type: 'boolean', short: 'j' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [cmd, sub, arg] = positionals;
  if (values.help || !cmd) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }
  const json = values.json ?? false;
  const netns = values.netns;
  const say = (s: string) => values.quiet || console.log(s);

  switch (cmd) {
    case 'up': {
      const spec = readSpec(sub);
      const r = await applyTopology(spec);
      say(`up: ${r.items.length} items in ${r.elapsedMs.toFixed(1)} ms`);
      return 0;
    }
    case 'down': {
      await destroyTopology(readSpec(sub));
      say('down');
      return 0;
    }
    case 'ns':
      if (sub === 'list' || sub === undefined) {
        const list = listNamespaces();
        print(json, list, () => list.map((n) => n.name).join('\n'));
        return 0;
      }
      if (sub === 'add') {
        if (!arg) throw new UsageError('rtnl ns add NAME');
        (await createNamespace(arg)).close();
        return 0;
      }
      if (sub === 'del' || sub === 'delete') {
        if (!arg) throw new UsageError('rtnl ns del NAME');
        await deleteNamespace(arg);
        return 0;
      }
      throw new UsageError(`unknown 'ns' command '${sub}'`);
    case 'link':
    case 'addr':
    case 'address':
    case 'route':
    case 'nat': {
      if (sub !== undefined && sub !== 'list' && sub !== 'show') throw new UsageError(`unknown '${cmd}' command '${sub}'`);
      const where = netns === undefined ? {} : { netns };
      if (cmd === 'link') {
        const links = await listLinks(where);
        print(json, links, () => formatLinks(links));
      } else if (cmd === 'route') {
        const routes = await listRoutes(where);
        print(json, routes, () => formatRoutes(routes));
      } else if (cmd === 'nat') {
        const rules = await listMasquerades(where);
        print(json, rules, () => formatMasquerades(rules));
      } else {
        const [links, addrs] = await Promise.all([listLinks(where), listAddresses(where)]);
        print(json, addrs, () => formatAddresses(links, addrs));
      }
      return 0;
    }
    case 'exec': {
      if (!sub) throw new UsageError('rtnl exec NS -- CMD [ARG...]');
      const command = rest.length > 0 ? rest : positionals.slice(2);
      if (command.length === 0) throw new UsageError('rtnl exec NS -- CMD [ARG...]');
      const ns = await openNamespace(sub);
      const child = spawn(ns, command[0]!, command.slice(1), { stdio: 'inherit' });
      ns.close();
      return await new Promise<number>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (code: number | null, signal: NodeJS.Signals | null) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
      });
    }
    default:
      throw new UsageError(`unknown command '${cmd}' (try rtnl --help)`);
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error & { code?: string }) => {
    // One clear line: the error's code and what it was about; no stack for user errors.
    const usage = e instanceof UsageError || (e.name === 'TypeError' && String(e.code).startsWith('ERR_PARSE_ARGS'));
    const code = typeof e.code === 'string' && !e.message.startsWith(e.code) ? `${e.code}: ` : '';
    console.error(`rtnl: ${code}${e.message}`);
    if (process.env.RTNL_DEBUG) console.error(e.stack);
    process.exitCode = usage || e.name === 'TypeError' || e.name === 'RangeError' ? 2 : 1;
  },
);
