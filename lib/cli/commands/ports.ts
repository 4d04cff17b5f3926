// rtnl port list|add|del: published ports (DNAT), like `docker port`.
import { addPortForward, listPortForwards, removePortForward, type PortForward } from '../../index.js';
import { UsageError, type Command, type CommandContext } from '../command.js';

const where = (ctx: CommandContext) => (typeof ctx.options.netns === 'string' ? { netns: ctx.options.netns } : {});
const hostAddress = (ctx: CommandContext) => (typeof ctx.options.address === 'string' ? { hostAddress: ctx.options.address } : {});

function protocolOf(word: string | undefined): 'tcp' | 'udp' {
  if (word !== 'tcp' && word !== 'udp') throw new UsageError(`protocol must be tcp or udp, not '${word ?? ''}'`);
  return word;
}

function portOf(word: string | undefined): number {
  if (word === undefined || !/^\d{1,5}$/.test(word)) throw new UsageError(`'${word ?? ''}' is not a port number`);
  return Number(word);
}

/** `tcp 0.0.0.0:8080 -> 192.168.0.2:80`, as docker port prints them. */
export function formatPortForwards(list: PortForward[]): string {
  return list
    .map((f) => {
      const host = f.hostAddress ?? (f.family === 6 ? '::' : '0.0.0.0');
      return `${f.protocol} ${f.family === 6 ? `[${host}]` : host}:${f.hostPort} -> ${f.to}`;
    })
    .join('\n');
}

const addressOption = { address: { type: 'string' as const, description: 'only this address of the host', valueName: 'ADDR' } };

export const portCommands: Command[] = [
  {
    words: ['port', 'list'],
    aliases: ['show'],
    summary: "the library's published ports (DNAT)",
    netns: true,
    json: true,
    async run(ctx) {
      const list = await listPortForwards(where(ctx));
      ctx.print(list, () => formatPortForwards(list));
      return 0;
    },
  },
  {
    words: ['port', 'add'],
    synopsis: 'tcp|udp HOSTPORT ADDR:PORT [--address ADDR]',
    summary: 'publish a port: connections to HOSTPORT go to ADDR:PORT ([ADDR]:PORT for IPv6)',
    netns: true,
    options: addressOption,
    async run(ctx) {
      if (ctx.args.length !== 3) throw new UsageError('rtnl port add tcp|udp HOSTPORT ADDR:PORT');
      const r = await addPortForward({ protocol: protocolOf(ctx.args[0]), hostPort: portOf(ctx.args[1]), to: ctx.args[2]!, ...hostAddress(ctx), ...where(ctx) });
      ctx.say(`${r.added ? 'added' : 'exists'}: ${formatPortForwards([r])}`);
      return 0;
    },
  },
  {
    words: ['port', 'del'],
    aliases: ['delete', 'remove'],
    synopsis: 'tcp|udp HOSTPORT [--address ADDR]',
    summary: 'remove a published port',
    netns: true,
    options: addressOption,
    async run(ctx) {
      if (ctx.args.length !== 2) throw new UsageError('rtnl port del tcp|udp HOSTPORT');
      const removed = await removePortForward({ protocol: protocolOf(ctx.args[0]), hostPort: portOf(ctx.args[1]), ...hostAddress(ctx), ...where(ctx) });
      ctx.say(removed ? 'removed' : 'none');
      return removed ? 0 : 1;
    },
  },
];
