#!/usr/bin/env node
// rtnl: the library's command line, built on its public API only. This file finds the
// command, parses its options, prints help and turns errors into one line and an exit status;
// the commands themselves are in commands/.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, type Command, type OptionSpec } from './command.js';
import { commands, groupAliases } from './commands/index.js';

const GLOBAL: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', description: 'help for the command' },
  quiet: { type: 'boolean', short: 'q', description: 'print nothing on success' },
};
const NETNS: Record<string, OptionSpec> = { netns: { type: 'string', short: 'n', description: 'run inside the named namespace', valueName: 'NS' } };
const JSON_OPTION: Record<string, OptionSpec> = { json: { type: 'boolean', short: 'j', description: 'print JSON instead of the brief format' } };

const usageLine = (c: Command) =>
  ['rtnl', ...c.words, ...(c.netns ? ['[-n NS]'] : []), ...(c.json ? ['[--json]'] : []), ...(c.synopsis ? [c.synopsis] : [])].join(' ');

function optionsOf(c: Command): Record<string, OptionSpec> {
  return { ...GLOBAL, ...(c.netns ? NETNS : {}), ...(c.json ? JSON_OPTION : {}), ...(c.options ?? {}) };
}

function generalHelp(): string {
  const width = Math.max(...commands.map((c) => usageLine(c).length - 5));
  const lines = commands.map((c) => `  ${usageLine(c).slice(5).padEnd(width)}  ${c.summary}`);
  return [
    'rtnl — Linux container networking without ip, iptables or a shell',
    '',
    'Usage:',
    ...lines,
    '',
    'Options:',
    '  -n, --netns NS   run inside the named namespace (list commands)',
    '  -j, --json       print JSON instead of the brief format (list commands)',
    '  -q, --quiet      print nothing on success',
    '  -h, --help       this help; rtnl help CMD or rtnl CMD --help for one command',
    '',
    "Exit status: 0 on success, 1 on a kernel or system error, 2 on a usage or spec error;",
    "'rtnl exec' exits with the command's status.",
  ].join('\n');
}

function commandHelp(list: Command[]): string {
  return list
    .map((c) => {
      const opts = Object.entries(optionsOf(c)).map(([name, o]) => {
        const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : ''}`;
        return `  ${flag.padEnd(26)} ${o.description}`;
      });
      return [`Usage: ${usageLine(c)}`, '', c.summary, ...(c.details ? ['', c.details] : []), '', 'Options:', ...opts].join('\n');
    })
    .join('\n\n');
}

/** The command the words name: two words ('link list'), one ('up'), or a group alone
 *  ('link' is 'link list', as `ip link` is `ip link show`). */
function findCommand(words: string[]): { command?: Command; group?: Command[]; used: number } {
  const [first, second] = words;
  if (first === undefined) return { used: 0 };
  const group = groupAliases[first] ?? first;
  const members = commands.filter((c) => c.words[0] === group);
  if (second !== undefined) {
    const exact = members.find((c) => c.words.length === 2 && (c.words[1] === second || c.aliases?.includes(second)));
    if (exact) return { command: exact, used: 2 };
  }
  const single = members.find((c) => c.words.length === 1);
  if (single) return { command: single, used: 1 };
  if (members.length === 0) return { used: 0 };
  if (second === undefined) {
    const list = members.find((c) => c.words[1] === 'list');
    return list ? { command: list, group: members, used: 1 } : { group: members, used: 1 };
  }
  return { group: members, used: 1 };
}

// Options any command may take: enough to tell option values from the command's words.
const ANY_OPTION: ParseArgsConfig['options'] = Object.fromEntries(
  commands.flatMap((c) => Object.entries(optionsOf(c))).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }]),
);

async function run(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash === -1 ? argv : argv.slice(0, dash);
  const rest = dash === -1 ? [] : argv.slice(dash + 1);
  const loose = parseArgs({ args: own, allowPositionals: true, strict: false, options: ANY_OPTION });
  const words = loose.positionals;

  if (words[0] === 'help') {
    if (words.length === 1) return console.log(generalHelp()), 0;
    const found = findCommand(words.slice(1));
    if (!found.command && !found.group) throw new UsageError(`no command '${words.slice(1).join(' ')}' (try rtnl --help)`);
    console.log(commandHelp(found.used === 2 || !found.group ? [found.command!] : found.group));
    return 0;
  }
  const found = findCommand(words);
  if (!found.command) {
    if (loose.values.help && found.group) return console.log(commandHelp(found.group)), 0;
    if (loose.values.help || words.length === 0) {
      console.log(generalHelp());
      return loose.values.help ? 0 : 2;
    }
    if (found.group) throw new UsageError(`unknown '${words[0]}' command '${words[1]}' (try rtnl ${words[0]} --help)`);
    throw new UsageError(`unknown command '${words[0]}' (try rtnl --help)`);
  }
  const command = found.command;
  if (loose.values.help) {
    console.log(commandHelp(found.group && found.used === 1 && command.words.length === 2 ? found.group : [command]));
    return 0;
  }
  const options = optionsOf(command);
  let parsed;
  try {
    parsed = parseArgs({
      args: own,
      allowPositionals: true,
      options: Object.fromEntries(Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }])),
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]}\nusage: ${usageLine(command)}`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const quiet = values.quiet === true;
  return command
    .run({
      args: parsed.positionals.slice(found.used),
      rest,
      options: values,
      print: (value, brief) => {
        const text = values.json ? JSON.stringify(value, null, 2) : brief();
        if (text) console.log(text);
      },
      say: (line) => {
        if (!quiet) console.log(line);
      },
    })
    .catch((e: unknown) => {
      if (e instanceof UsageError && !e.message.includes('\nusage: ')) e.message += `\nusage: ${usageLine(command)}`;
      throw e;
    });
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error & { code?: string }) => {
    // One clear line: the error's code and what it was about; no stack for user errors.
    const usage = e instanceof UsageError;
    const argument = (e.name === 'TypeError' || e.name === 'RangeError') && typeof e.code === 'string' && e.code.startsWith('ERR_');
    const code = !usage && typeof e.code === 'string' && !e.message.startsWith(e.code) ? `${e.code}: ` : '';
    console.error(`rtnl: ${code}${e.message}`);
    if (process.env.RTNL_DEBUG) console.error(e.stack);
    process.exitCode = usage || argument ? 2 : 1;
  },
);
