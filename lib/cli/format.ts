// Brief, `ip -br`-like text for the CLI's list commands.
import type { AddressInfo } from '../route/addresses.js';
import type { LinkInfo } from '../route/links.js';
import type { RouteInfo } from '../route/routes.js';
import type { MasqueradeRule } from '../nftables/masquerade.js';

const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s.padEnd(n));

export function formatLinks(links: LinkInfo[]): string {
  return links
    .map((l) => `${pad(l.name, 16)}${pad(l.operState.toUpperCase(), 15)}${pad(l.mac ?? '', 18)}<${l.flags.join(',')}>${l.kind ? ` ${l.kind}` : ''}${l.master ? ` master ${l.master}` : ''}`)
    .join('\n');
}

export function formatAddresses(links: LinkInfo[], addrs: AddressInfo[]): string {
  return links
    .map((l) => {
      const mine = addrs.filter((a) => a.index === l.index).map((a) => a.cidr);
      return `${pad(l.name, 16)}${pad(l.operState.toUpperCase(), 15)}${mine.join(' ')}`.trimEnd();
    })
    .join('\n');
}

export function formatRoutes(routes: RouteInfo[]): string {
  return routes
    .map((r) =>
      [
        r.type !== 'unicast' ? r.type : '',
        r.to,
        r.via ? `via ${r.via}` : '',
        r.dev ? `dev ${r.dev}` : '',
        r.protocol !== 'boot' ? `proto ${r.protocol}` : '',
        r.scope !== 'global' ? `scope ${r.scope}` : '',
        r.src ? `src ${r.src}` : '',
        r.metric !== undefined ? `metric ${r.metric}` : '',
        r.table !== 254 ? `table ${r.table}` : '',
      ]
        .filter(Boolean)
        .join(' '),
    )
    .join('\n');
}

export function formatMasquerades(rules: MasqueradeRule[]): string {
  return rules.map((r) => `ip${r.family === 6 ? '6' : ''} saddr ${r.source}${r.outInterface ? ` oifname ${r.outInterface}` : ''} masquerade # handle ${r.handle}`).join('\n');
}
