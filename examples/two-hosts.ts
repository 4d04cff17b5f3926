// Two hosts, one overlay: flannel's vxlan backend built with nothing but this library.
//
// Two "hosts" (namespaces host-a and host-b) joined by an underlay veth (192.168.100.0/24).
// Each host has its own bridge (cni0) with containers on it (namespaces whose eth0's other
// end lives in the host's namespace, enslaved to the host's bridge), and a vxlan (flannel.1,
// VNI 42, UDP 4789) on the same bridge. Each vxlan's flood list (the all-zeros FDB entry)
// names the other host's underlay address, so broadcast (ARP) and unknown unicast reach the
// other side encapsulated; learning is off, so every frame between the hosts goes through
// those entries. The containers share one L2 overlay, 10.244.0.0/24, across both hosts.
//
//   scripts/sandbox tsx examples/two-hosts.ts            build it, print it, ping across
//   scripts/sandbox tsx examples/two-hosts.ts --down     ... and tear it down
//
// The same overlay as a topology file: examples/two-hosts.json (`rtnl up examples/two-hosts.json`),
// with host namespaces holding their bridges, vxlans and flood entries. This program shows the
// per-call API underneath.
import { spawnSync } from 'node:child_process';
import {
  appendFdb,
  createBridge,
  createNamespace,
  createVethPair,
  createVxlan,
  deleteNamespace,
  listFdb,
  listLinks,
  type Namespace,
} from '../lib/index.js';

export const VNI = 42;
export const VXLAN_PORT = 4789;
/** The vxlan's 50 bytes of headers come out of the underlay's 1500. */
export const OVERLAY_MTU = 1450;

export interface HostPlan {
  name: string;
  /** This host's underlay address. */
  underlay: string;
  containers: { name: string; address: string }[];
}

export const HOSTS: HostPlan[] = [
  { name: 'host-a', underlay: '192.168.100.1', containers: [{ name: 'a1', address: '10.244.0.11/24' }, { name: 'a2', address: '10.244.0.12/24' }] },
  { name: 'host-b', underlay: '192.168.100.2', containers: [{ name: 'b1', address: '10.244.0.21/24' }] },
];

export interface TwoHosts {
  hosts: Map<string, Namespace>;
  containers: Map<string, Namespace>;
  close(): void;
}

/** One host: its bridge, its vxlan on the bridge with a flood entry per other host, its containers. */
async function buildHost(host: Namespace, plan: HostPlan, others: readonly HostPlan[]): Promise<Map<string, Namespace>> {
  await createBridge('cni0', { netns: host, up: true, mtu: OVERLAY_MTU });
  await createVxlan('flannel.1', { netns: host, id: VNI, local: plan.underlay, dev: 'underlay0', port: VXLAN_PORT, learning: false, master: 'cni0', up: true });
  // bridge fdb append 00:00:00:00:00:00 dev flannel.1 dst OTHER
  for (const other of others) await appendFdb({ netns: host, mac: '00:00:00:00:00:00', dev: 'flannel.1', dst: other.underlay });
  const containers = new Map<string, Namespace>();
  for (const c of plan.containers) {
    const ns = await createNamespace(c.name);
    // The host end (veth-a1) is created in the host's namespace, on its bridge; eth0 straight
    // inside the container.
    await createVethPair({ netns: host, name: `veth-${c.name}`, master: 'cni0', up: true, mtu: OVERLAY_MTU, peer: { name: 'eth0', netns: ns, mtu: OVERLAY_MTU } });
    await ns.setLinkUp('lo');
    await ns.setLinkUp('eth0');
    await ns.addAddress('eth0', c.address);
    containers.set(c.name, ns);
  }
  return containers;
}

/** Builds both hosts, the underlay between them and the overlay across it. */
export async function buildTwoHosts(plans: HostPlan[] = HOSTS): Promise<TwoHosts> {
  const [pa, pb] = plans as [HostPlan, HostPlan];
  const a = await createNamespace(pa.name);
  const b = await createNamespace(pb.name);
  // The underlay: one veth between the hosts, as a wire between two machines.
  await createVethPair({ netns: a, name: 'underlay0', up: true, peer: { name: 'underlay0', netns: b } });
  await b.setLinkUp('underlay0');
  await a.addAddress('underlay0', `${pa.underlay}/24`);
  await b.addAddress('underlay0', `${pb.underlay}/24`);
  const containers = new Map<string, Namespace>();
  for (const [host, plan, others] of [[a, pa, [pb]], [b, pb, [pa]]] as const) {
    for (const [name, ns] of await buildHost(host, plan, others)) containers.set(name, ns);
  }
  const hosts = new Map([[pa.name, a], [pb.name, b]]);
  return {
    hosts,
    containers,
    close() {
      for (const ns of [...hosts.values(), ...containers.values()]) ns.close();
    },
  };
}

/** Removes the namespaces (their links go with them). */
export async function teardownTwoHosts(plans: HostPlan[] = HOSTS): Promise<void> {
  for (const name of plans.flatMap((p) => [...p.containers.map((c) => c.name), p.name])) {
    await deleteNamespace(name).catch((e) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
  }
}

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const started = performance.now();
  const built = await buildTwoHosts();
  console.log(`built in ${(performance.now() - started).toFixed(1)} ms`);
  for (const [name, host] of built.hosts) {
    const links = await listLinks({ netns: host });
    console.log(`[${name}] ${links.map((l) => `${l.name}${l.kind ? `(${l.kind})` : ''}${l.master ? `@${l.master}` : ''}`).join(' ')}`);
    const flood = (await listFdb({ netns: host, dev: 'flannel.1' })).filter((e) => e.mac === '00:00:00:00:00:00');
    console.log(`  flannel.1 floods to ${flood.map((e) => e.dst).join(', ')}`);
  }
  // a1 (host-a) -> b1 (host-b), across the overlay.
  const ping = spawnSync('ip', ['netns', 'exec', 'a1', 'ping', '-c', '2', '-W', '2', '10.244.0.21'], { encoding: 'utf8' });
  console.log(ping.stdout.trim());
  built.close();
  if (args.has('--down')) {
    await teardownTwoHosts();
    console.log('torn down');
  }
  if (ping.status !== 0) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(`${e.code ?? e.name}: ${e.message}`);
    process.exitCode = 1;
  });
}
