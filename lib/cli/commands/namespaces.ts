// rtnl ns list|add|del, rtnl exec.
import { constants } from 'node:os';
import { createNamespace, deleteNamespace, listNamespaces, openNamespace, spawn } from '../../index.js';
import { escapeDeceptive } from '../../validate.js';
import { UsageError, type Command } from '../command.js';

const one = (args: string[], usage: string): string => {
  if (args.length !== 1) throw new UsageError(usage);
  return args[0]!;
};

export const namespaceCommands: Command[] = [
  {
    words: ['ns', 'list'],
    aliases: ['show'],
    summary: 'named network namespaces (like ip netns list)',
    json: true,
    async run({ print }) {
      const list = listNamespaces();
      print(list, () => list.map((n) => escapeDeceptive(n.name)).join('\n'));
      return 0;
    },
  },
  {
    words: ['ns', 'add'],
    synopsis: 'NAME',
    summary: 'create a named namespace (like ip netns add)',
    async run({ args }) {
      (await createNamespace(one(args, 'rtnl ns add NAME'))).close();
      return 0;
    },
  },
  {
    words: ['ns', 'del'],
    aliases: ['delete'],
    synopsis: 'NAME',
    summary: 'delete a named namespace (like ip netns delete)',
    async run({ args }) {
      await deleteNamespace(one(args, 'rtnl ns del NAME'));
      return 0;
    },
  },
  {
    words: ['exec'],
    synopsis: 'NS -- CMD [ARG...]',
    summary: 'run CMD inside namespace NS (its network namespace only); exits with its status',
    async run({ args, rest }) {
      if (args.length === 0) throw new UsageError('rtnl exec NS -- CMD [ARG...]');
      const command = rest.length > 0 ? rest : args.slice(1);
      if (command.length === 0) throw new UsageError('rtnl exec NS -- CMD [ARG...]');
      const ns = await openNamespace(args[0]!);
      let child;
      try {
        child = spawn(ns, command[0]!, command.slice(1), { stdio: 'inherit' });
      } finally {
        ns.close();
      }
      return new Promise<number>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (code: number | null, signal: NodeJS.Signals | null) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
      });
    },
  },
];
