// Runs inside its own sandbox (scripts/sandbox): attaches two containers with one plugin, the
// reference `bridge` + `host-local` or ours, through the libcni client, and prints the
// resulting kernel and lease state, normalised so that the two plugins can be compared
// (random names and MACs replaced, our ownership markers dropped).
//   scripts/sandbox node --import tsx test/cni/snapshot.ts bridge|rtnetlink WORKDIR CNICLIENT
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { addNetns, client, mountTmpfs, pluginDir, startDaemon, writeConflist } from './harness.js';

/** The config both plugins get; only `type` differs. */
export const SIDE_BY_SIDE_PLUGIN = {
  bridge: 'cni0',
  isGateway: true,
  isDefaultGateway: true,
  ipMasq: true,
  hairpinMode: true,
  mtu: 1400,
  ipam: { type: 'host-local', ranges: [[{ subnet: '10.99.0.0/24' }], [{ subnet: 'fd00:99::/64' }]], routes: [{ dst: '192.0.2.0/24' }] },
};

const ipj = (args: string[], netns?: string): any[] => JSON.parse(execFileSync('ip', ['-json', ...(netns ? ['-n', netns] : []), ...args], { encoding: 'utf8' }) || '[]');
const sysctl = (path: string, netns?: string) =>
  execFileSync(netns ? 'ip' : 'cat', netns ? ['netns', 'exec', netns, 'cat', `/proc/sys/${path}`] : [`/proc/sys/${path}`], { encoding: 'utf8' }).trim();

function normaliseLink(l: any, names: Map<string, string>) {
  const info = l.linkinfo ?? {};
  const data = info.info_data ?? {};
  return {
    name: names.get(l.ifname) ?? l.ifname,
    kind: info.info_kind,
    mtu: l.mtu,
    flags: [...l.flags].sort(),
    operstate: l.operstate,
    master: l.master,
    promiscuity: l.promiscuity,
    ...(info.info_kind === 'bridge' && { stp_state: data.stp_state, vlan_filtering: data.vlan_filtering }),
    ...(info.info_slave_kind === 'bridge' && { port: { hairpin: info.info_slave_data?.hairpin, state: info.info_slave_data?.state, learning: info.info_slave_data?.learning } }),
  };
}

const normaliseAddrs = (addrs: any[], names: Map<string, string>) =>
  addrs
    .flatMap((a: any) =>
      a.addr_info
        .filter((i: any) => i.scope !== 'link')
        .map((i: any) => ({ dev: names.get(a.ifname) ?? a.ifname, local: i.local, prefixlen: i.prefixlen, broadcast: i.broadcast, scope: i.scope })),
    )
    .sort((x: any, y: any) => `${x.dev}${x.local}`.localeCompare(`${y.dev}${y.local}`));

const normaliseRoutes = (routes: any[], names: Map<string, string>) =>
  routes
    .filter((r: any) => !String(r.dst).startsWith('fe80') && r.dst !== 'multicast')
    .map((r: any) => ({ dst: r.dst, gateway: r.gateway, dev: names.get(r.dev) ?? r.dev, protocol: r.protocol, scope: r.scope, metric: r.metric }))
    .sort((x: any, y: any) => JSON.stringify(x).localeCompare(JSON.stringify(y)));

async function main() {
  const [type, work, cniclient] = process.argv.slice(2) as [string, string, string];
  mountTmpfs('/var/lib/cni');
  mountTmpfs('/run/rtnetlink');
  const bin = pluginDir(join('/var/lib/cni', 'plugins'));
  const conflist = writeConflist('/var/lib/cni', 'sbs', { type, ...SIDE_BY_SIDE_PLUGIN });
  const daemon = type === 'rtnetlink' ? await startDaemon() : undefined;
  const results = [];
  for (const id of ['k1', 'k2']) {
    addNetns(id);
    const r = await client(cniclient, 'add', { conflist, bindir: bin, cachedir: '/var/lib/cni/cache', id, netns: `/run/netns/${id}` });
    if (r.status !== 0) throw new Error(`${type} ADD ${id}: ${r.stdout}`);
    results.push(r.json);
  }
  // Random host veth names and MACs differ between runs: name them by container.
  const names = new Map<string, string>();
  results.forEach((r: any, i: number) => names.set(r.interfaces[1].name, `veth-of-k${i + 1}`));
  const hostLinks = ipj(['-d', 'link', 'show']).filter((l: any) => l.ifname !== 'lo');
  const state = {
    result: results.map((r: any) => ({ ...r, interfaces: r.interfaces.map((i: any) => ({ name: names.get(i.name) ?? i.name, sandbox: i.sandbox, hasMac: /^[0-9a-f:]{17}$/.test(i.mac ?? '') })) })),
    host: {
      links: hostLinks.map((l: any) => normaliseLink(l, names)).sort((a: any, b: any) => a.name.localeCompare(b.name)),
      addresses: normaliseAddrs(ipj(['addr', 'show']), names),
      routes4: normaliseRoutes(ipj(['-4', 'route', 'show']), names),
      routes6: normaliseRoutes(ipj(['-6', 'route', 'show']), names),
      bridgePorts: JSON.parse(execFileSync('bridge', ['-json', 'link', 'show'], { encoding: 'utf8' }) || '[]')
        .map((p: any) => ({ name: names.get(p.ifname) ?? p.ifname, master: p.master, state: p.state, mtu: p.mtu }))
        .sort((a: any, b: any) => a.name.localeCompare(b.name)),
      sysctls: {
        ip_forward: sysctl('net/ipv4/ip_forward'),
        ipv6_forwarding: sysctl('net/ipv6/conf/all/forwarding'),
        bridge_accept_ra: sysctl('net/ipv6/conf/cni0/accept_ra'),
        veth_accept_ra: results.map((r: any) => sysctl(`net/ipv6/conf/${r.interfaces[1].name}/accept_ra`)),
      },
    },
    containers: Object.fromEntries(
      ['k1', 'k2'].map((id) => [
        id,
        {
          links: ipj(['-d', 'link', 'show'], id).map((l: any) => normaliseLink(l, names)),
          addresses: normaliseAddrs(ipj(['addr', 'show'], id), names),
          routes4: normaliseRoutes(ipj(['-4', 'route', 'show'], id), names),
          routes6: normaliseRoutes(ipj(['-6', 'route', 'show'], id), names),
          sysctls: Object.fromEntries(
            ['ipv6/conf/eth0/accept_dad', 'ipv4/conf/eth0/arp_notify', 'ipv6/conf/eth0/disable_ipv6', 'ipv6/conf/lo/disable_ipv6', 'ipv4/ip_forward'].map((k) => [k, sysctl(`net/${k}`, id)]),
          ),
        },
      ]),
    ),
    leases: readdirSync('/var/lib/cni/networks/sbs')
      .sort()
      .map((f) => [f, f === 'lock' ? '' : readFileSync(join('/var/lib/cni/networks/sbs', f), 'utf8')]),
  };
  await daemon?.stop();
  process.stdout.write(`${JSON.stringify(state)}\n`);
}

void main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);
