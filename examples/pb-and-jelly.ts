// "A container is a Linux namespace", the tutorial, with rtnetlink and no subprocess:
// two namespaces (pb, jelly) on a bridge (brd1), the host reaching both, default routes.
//
//   scripts/sandbox tsx examples/pb-and-jelly.ts            build it and print it
//   scripts/sandbox tsx examples/pb-and-jelly.ts --down     build, print, tear down
//   tsx examples/pb-and-jelly.ts --only-down                tear down what an earlier run left
import {
  addAddress,
  addRoute,
  createBridge,
  createNamespace,
  createVethPair,
  deleteLink,
  deleteNamespace,
  listAddresses,
  listBridgePorts,
  listLinks,
  listNamespaces,
  listRoutes,
  waitForLinksGone,
  type Namespace,
} from '../lib/index.js';

const BRIDGE = 'brd1';
const BRIDGE_ADDRESS = '192.168.0.60/24';
const CONTAINERS = [
  { netns: 'pb', inside: 'veth-pb', outside: 'bread-pb-veth', address: '192.168.0.56/24' },
  { netns: 'jelly', inside: 'veth-jelly', outside: 'bread-j-veth', address: '192.168.0.55/24' },
];

/** Builds the tutorial's topology; returns the namespace handles. */
export async function buildTutorial(): Promise<Namespace[]> {
  // ip link add name brd1 type bridge; ip link set brd1 up
  await createBridge(BRIDGE, { up: true });
  return Promise.all(
    CONTAINERS.map(async (c) => {
      // ip netns add pb
      const ns = await createNamespace(c.netns);
      // ip link add veth-pb type veth peer name bread-pb-veth; ip link set veth-pb netns pb;
      // ip link set bread-pb-veth up; ip link set bread-pb-veth master brd1 — in one request,
      // with veth-pb created directly inside pb.
      await createVethPair({ name: c.outside, up: true, master: BRIDGE, peer: { name: c.inside, netns: ns } });
      // ip netns exec pb ip address add 192.168.0.56/24 dev veth-pb; ... ip link set veth-pb up
      await ns.addAddress(c.inside, c.address);
      await ns.setLinkUp(c.inside);
      return ns;
    }),
  ).then(async (namespaces) => {
    // ip addr add 192.168.0.60/24 brd + dev brd1
    await addAddress(BRIDGE, BRIDGE_ADDRESS, { broadcast: 'auto' });
    // ip -all netns exec ip route add default via 192.168.0.60
    await Promise.all(namespaces.map((ns) => addRoute({ to: 'default', via: '192.168.0.60', netns: ns })));
    return namespaces;
  });
}

export async function teardownTutorial(): Promise<void> {
  // Deleting a namespace destroys veth-pb, and with it its peer bread-pb-veth on the host.
  for (const c of CONTAINERS) await deleteNamespace(c.netns).catch((e) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
  // The kernel removes them in its own time; wait until it has, so nothing is left behind.
  await waitForLinksGone(CONTAINERS.map((c) => c.outside));
  await deleteLink(BRIDGE).catch((e) => (e.code === 'ENODEV' ? undefined : Promise.reject(e)));
}

export async function describeTutorial(): Promise<string> {
  const lines: string[] = [];
  lines.push(`namespaces: ${listNamespaces().map((n) => n.name).join(', ')}`);
  for (const netns of [undefined, ...CONTAINERS.map((c) => c.netns)]) {
    const where = netns ?? 'host';
    const [links, addrs, routes] = await Promise.all([listLinks({ netns }), listAddresses({ netns, family: 4 }), listRoutes({ netns, family: 4 })]);
    lines.push(`[${where}]`);
    for (const l of links) {
      const a = addrs.filter((x) => x.index === l.index).map((x) => `${x.cidr}${x.broadcast ? ` brd ${x.broadcast}` : ''}`);
      lines.push(`  ${l.name.padEnd(15)} ${(l.up ? 'UP' : 'DOWN').padEnd(5)} ${l.kind ?? ''}${l.master ? ` master ${l.master}` : ''} ${a.join(' ')}`.trimEnd());
    }
    for (const r of routes) lines.push(`  route ${r.to}${r.via ? ` via ${r.via}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`);
  }
  const ports = await listBridgePorts(BRIDGE);
  lines.push(`bridge ${BRIDGE} ports: ${ports.map((p) => `${p.name} (${p.state})`).join(', ')}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  if (args.has('--only-down')) return teardownTutorial();
  const started = performance.now();
  const namespaces = await buildTutorial();
  const ms = performance.now() - started;
  console.log(await describeTutorial());
  console.log(`built in ${ms.toFixed(1)} ms`);
  for (const ns of namespaces) ns.close();
  if (args.has('--down')) {
    await teardownTutorial();
    console.log('torn down');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(`${e.code ?? e.name}: ${e.message}`);
    process.exitCode = 1;
  });
}
