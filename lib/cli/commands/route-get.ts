// rtnl route get ADDR: which route a packet takes (like ip route get).
import { getRoute, type RouteLookup } from '../../index.js';
import { UsageError, type Command } from '../command.js';

export function formatLookup(r: RouteLookup): string {
  return [r.type !== 'unicast' ? r.type : '', r.to, r.from ? `from ${r.from}` : '', r.via ? `via ${r.via}` : '', r.dev ? `dev ${r.dev}` : '', r.table !== 254 ? `table ${r.table}` : '', r.src ? `src ${r.src}` : '', r.mark !== undefined ? `mark ${r.mark}` : '']
    .filter(Boolean)
    .join(' ');
}

function markOption(value: string | boolean | undefined): { mark?: number } {
  if (value === undefined) return {};
  if (typeof value !== 'string' || !/^(0x[0-9a-f]+|\d+)$/i.test(value)) throw new UsageError(`--mark: '${String(value)}' is not a number`);
  return { mark: Number(value) };
}

export const routeGetCommands: Command[] = [
  {
    words: ['route', 'get'],
    synopsis: 'ADDR',
    summary: 'the route a packet to ADDR takes (like ip route get)',
    netns: true,
    json: true,
    options: {
      from: { type: 'string', description: 'the source address', valueName: 'ADDR' },
      oif: { type: 'string', description: 'the output device', valueName: 'DEV' },
      iif: { type: 'string', description: 'the input device', valueName: 'DEV' },
      mark: { type: 'string', description: 'the firewall mark', valueName: 'MARK' },
    },
    async run(ctx) {
      if (ctx.args.length !== 1) throw new UsageError('rtnl route get ADDR');
      const o = ctx.options;
      const r = await getRoute(ctx.args[0]!, {
        ...(typeof o.netns === 'string' ? { netns: o.netns } : {}),
        ...(typeof o.from === 'string' ? { from: o.from } : {}),
        ...(typeof o.oif === 'string' ? { oif: o.oif } : {}),
        ...(typeof o.iif === 'string' ? { iif: o.iif } : {}),
        ...markOption(o.mark),
      });
      ctx.print(r, () => formatLookup(r));
      return 0;
    },
  },
];
