// rtnl neigh list, rtnl fdb list, rtnl rule list: brief like `ip neigh`, `bridge fdb`, `ip rule`.
import { listFdb, listNeighbours, listRules, type FdbEntry, type NeighbourInfo, type RuleInfo } from '../../index.js';
import { UsageError, type Command, type CommandContext } from '../command.js';

const where = (ctx: CommandContext) => (typeof ctx.options.netns === 'string' ? { netns: ctx.options.netns } : {});

function family(ctx: CommandContext): { family?: 4 | 6 } {
  if (ctx.options.ipv4 && ctx.options.ipv6) throw new UsageError('-4 and -6 together');
  return ctx.options.ipv6 ? { family: 6 } : ctx.options.ipv4 ? { family: 4 } : {};
}

const familyOptions = {
  ipv4: { type: 'boolean', short: '4', description: 'IPv4 only' },
  ipv6: { type: 'boolean', short: '6', description: 'IPv6 only' },
} as const;

export function formatNeighbours(list: NeighbourInfo[]): string {
  return list
    .map((n) => [n.address, `dev ${n.dev}`, n.lladdr ? `lladdr ${n.lladdr}` : '', n.router ? 'router' : '', n.proxy ? 'proxy' : '', n.state.join(',')].filter(Boolean).join(' '))
    .join('\n');
}

export function formatFdb(list: FdbEntry[]): string {
  return list
    .map((e) =>
      [e.mac, `dev ${e.dev}`, e.vlan !== undefined ? `vlan ${e.vlan}` : '', e.dst ? `dst ${e.dst}` : '', e.port !== undefined ? `port ${e.port}` : '', e.vni !== undefined ? `vni ${e.vni}` : '', e.master ? `master ${e.master}` : '', ...e.flags.filter((f) => f !== 'master'), e.state === 'dynamic' ? '' : e.state]
        .filter(Boolean)
        .join(' '),
    )
    .join('\n');
}

export function formatRules(list: RuleInfo[]): string {
  return list
    .map((r) =>
      `${r.priority}:\t${[
        r.invert ? 'not' : '',
        `from ${r.from}`,
        r.to ? `to ${r.to}` : '',
        r.fwmark !== undefined ? `fwmark 0x${r.fwmark.toString(16)}${r.fwmask !== undefined && r.fwmask !== 0xffffffff ? `/0x${r.fwmask.toString(16)}` : ''}` : '',
        r.iif ? `iif ${r.iif}` : '',
        r.oif ? `oif ${r.oif}` : '',
        r.action === 'table' ? `lookup ${r.table === 255 ? 'local' : r.table === 254 ? 'main' : r.table === 253 ? 'default' : r.table}` : r.action,
      ]
        .filter(Boolean)
        .join(' ')}`,
    )
    .join('\n');
}

export const neighbourCommands: Command[] = [
  {
    words: ['neigh', 'list'],
    aliases: ['show'],
    summary: 'ARP and NDP entries (like ip neigh show nud all)',
    netns: true,
    json: true,
    options: { ...familyOptions, proxy: { type: 'boolean', description: 'the proxy entries (like ip neigh show proxy)' }, dev: { type: 'string', description: 'only this device', valueName: 'DEV' } },
    async run(ctx) {
      const list = await listNeighbours({
        ...where(ctx),
        ...family(ctx),
        ...(ctx.options.proxy ? { proxy: true } : {}),
        ...(typeof ctx.options.dev === 'string' ? { dev: ctx.options.dev } : {}),
      });
      ctx.print(list, () => formatNeighbours(list));
      return 0;
    },
  },
  {
    words: ['fdb', 'list'],
    aliases: ['show'],
    summary: 'bridge forwarding database entries (like bridge fdb show)',
    netns: true,
    json: true,
    options: { dev: { type: 'string', description: 'only this device', valueName: 'DEV' }, br: { type: 'string', description: "only this bridge's ports", valueName: 'BRIDGE' } },
    async run(ctx) {
      const list = await listFdb({
        ...where(ctx),
        ...(typeof ctx.options.dev === 'string' ? { dev: ctx.options.dev } : {}),
        ...(typeof ctx.options.br === 'string' ? { bridge: ctx.options.br } : {}),
      });
      ctx.print(list, () => formatFdb(list));
      return 0;
    },
  },
  {
    words: ['rule', 'list'],
    aliases: ['show'],
    summary: 'policy routing rules (like ip rule show; -6 for IPv6)',
    netns: true,
    json: true,
    options: familyOptions,
    async run(ctx) {
      const list = await listRules({ ...where(ctx), ...family(ctx) });
      ctx.print(list, () => formatRules(list));
      return 0;
    },
  },
];
