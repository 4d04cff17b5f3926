// rtnl link|addr|route|nat list: what is there, brief like `ip -br` or as JSON.
import { listAddresses, listLinks, listMasquerades, listRoutes } from '../../index.js';
import type { Command, CommandContext } from '../command.js';
import { formatAddresses, formatLinks, formatMasquerades, formatRoutes } from '../format.js';

const where = (ctx: CommandContext) => (typeof ctx.options.netns === 'string' ? { netns: ctx.options.netns } : {});

const list = (words: string[], summary: string, run: (ctx: CommandContext) => Promise<void>): Command => ({
  words,
  aliases: ['show'],
  summary,
  netns: true,
  json: true,
  async run(ctx) {
    await run(ctx);
    return 0;
  },
});

export const listCommands: Command[] = [
  list(['link', 'list'], 'links (like ip -br link)', async (ctx) => {
    const links = await listLinks(where(ctx));
    ctx.print(links, () => formatLinks(links));
  }),
  list(['addr', 'list'], 'addresses (like ip -br address)', async (ctx) => {
    const [links, addrs] = await Promise.all([listLinks(where(ctx)), listAddresses(where(ctx))]);
    ctx.print(addrs, () => formatAddresses(links, addrs));
  }),
  list(['route', 'list'], 'routes of the main table (like ip route)', async (ctx) => {
    const routes = await listRoutes(where(ctx));
    ctx.print(routes, () => formatRoutes(routes));
  }),
  list(['nat', 'list'], "the library's masquerade rules", async (ctx) => {
    const rules = await listMasquerades(where(ctx));
    ctx.print(rules, () => formatMasquerades(rules));
  }),
];
