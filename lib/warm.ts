// The commonest calls' code, run once on canned data when the caller asks (warmUp()). V8
// compiles a function the first time it runs, and that compiling is most of what a process's
// first call costs (a first listLinks() takes ~6 ms more than the next one, the kernel's part
// being 0.3 ms). A service can pay it while it starts instead of inside its first request.
// Nothing here reaches the kernel: the connection below talks to an in-memory transport that
// answers with messages this module encodes itself.
import { Connection, type Transport } from './connection.js';
import { ByteWriter } from './netlink/attributes.js';
import { encodeLink, type LinkMessage } from './netlink/link.js';
import { NLMSG_DONE, NLMSG_ERROR, NLM_F_MULTI, NLMSG_HDRLEN, splitMessages, writeMessage } from './netlink/message.js';
import * as rt from './netlink/rtnetlink.js';
import { send } from './target.js';
import { linkInfos, linkUpRequest } from './route/links.js';
import { addressRequest, deleteAddressRequest } from './route/addresses.js';
import { routeRequest } from './route/routes.js';
import { topologyGroup, validateTopology, type TopologySpec } from './topology/spec.js';
import { freshPlan } from './topology/apply.js';
import { encodeProvision } from './provision.js';

const { IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_RUNNING, IFF_MULTICAST, IFF_LOWER_UP } = rt;

/** What a namespace of the tutorial holds: lo, a veth in a bridge, the bridge. */
const CANNED_LINKS: Partial<LinkMessage>[] = [
  { index: 1, type: 772, flags: IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP, name: 'lo', mtu: 65536, txqlen: 1000, operstate: 0, group: 0, promiscuity: 0, qdisc: 'noqueue', address: Buffer.alloc(6), broadcast: Buffer.alloc(6), stats64: Buffer.alloc(200) },
  {
    index: 2,
    type: 1,
    flags: IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST | IFF_LOWER_UP,
    name: 'veth0',
    mtu: 1500,
    txqlen: 1000,
    operstate: 6,
    group: 0,
    master: 3,
    link: 4,
    linkNetnsId: 0,
    promiscuity: 1,
    qdisc: 'noqueue',
    address: Buffer.from([2, 0, 0, 0, 0, 1]),
    broadcast: Buffer.alloc(6, 0xff),
    stats64: Buffer.alloc(200),
    linkInfo: { kind: 'veth', slaveKind: 'bridge', slaveData: Buffer.alloc(8) },
  },
  {
    index: 3,
    type: 1,
    flags: IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST | IFF_LOWER_UP,
    name: 'br0',
    mtu: 1500,
    txqlen: 1000,
    operstate: 6,
    group: 0,
    promiscuity: 0,
    qdisc: 'noqueue',
    address: Buffer.from([2, 0, 0, 0, 0, 2]),
    broadcast: Buffer.alloc(6, 0xff),
    stats64: Buffer.alloc(200),
    linkInfo: { kind: 'bridge', data: { stpState: 0, forwardDelay: 1500, helloTime: 200, maxAge: 2000, ageingTime: 30000, priority: 32768, vlanFiltering: false, mcastSnooping: true } },
  },
];

/** The kernel's side of the canned exchanges: a dump gets the links above, anything else an
 *  ACK, answered at once as the kernel answers small requests within send(). */
class CannedKernel implements Transport {
  readonly ready = true;

  transactInline(request: Buffer, firstSeq: number, count: number, expected: number) {
    const w = new ByteWriter(4096);
    const { messages } = splitMessages(request);
    for (const m of messages) {
      if (m.type === rt.RTM_GETLINK) {
        for (const l of CANNED_LINKS) encodeLink(w, rt.RTM_NEWLINK, NLM_F_MULTI, m.seq, { family: 0, change: 0, unknown: [], ...l });
        writeMessage(w, NLMSG_DONE, NLM_F_MULTI, m.seq, (b) => b.u32(0));
      } else {
        writeMessage(w, NLMSG_ERROR, 0x100, m.seq, (b) => {
          b.u32(0).u32(NLMSG_HDRLEN).u16(m.type).u16(m.flags).u32(m.seq).u32(0);
        });
      }
    }
    return { replies: w.take(), complete: true, answered: expected };
  }

  transact(request: Buffer, firstSeq: number, count: number, expected: number): Promise<Buffer> {
    return Promise.resolve(this.transactInline(request, firstSeq, count, expected).replies);
  }

  cancel(): void {}
  close(): void {}
}

/**
 * Compiles the code of the commonest calls (listing links, links up, addresses, routes, a
 * topology's checks and the encoding of its namespaces) by running it once on canned data,
 * without any syscall, so that the process's first real call does not pay for it. Takes about
 * twice what it saves (it runs more code than one call does); worth it where the first call's
 * latency matters more than start-up time (a service's first request), not in a short-lived
 * script. Resolves when done; never rejects.
 *
 * @example
 * ```ts
 * await warmUp(); // while the service starts, before its first request
 * const links = await listLinks(); // now without the compile cost
 * ```
 */
export function warmUp(): Promise<void> {
  return run().catch(() => {
    // A warm-up that fails leaves only a slower first call behind: never an error of its own.
  });
}

async function run(): Promise<void> {
  const spec: TopologySpec = {
    bridges: [{ name: 'br0', addresses: ['10.200.0.1/16'] }],
    namespaces: [{ name: 'c1', interfaces: [{ name: 'eth0', hostName: 'h1', master: 'br0', addresses: ['10.200.0.2/16'] }], routes: [{ to: 'default', via: '10.200.0.1' }] }],
  };
  validateTopology(spec);
  // What an apply encodes for each new namespace's addon job (encoding only: nothing is sent).
  const group = topologyGroup(spec);
  for (const n of spec.namespaces!) encodeProvision(n.name, freshPlan(n, group, new Map([['br0', 3]])));
  const conn = new Connection(new CannedKernel());
  try {
    await Promise.all([
      linkInfos(conn, undefined),
      send(conn, linkUpRequest(2)),
      send(conn, addressRequest(2, '10.0.0.1/24', { broadcast: 'auto' })),
      send(conn, deleteAddressRequest(2, '10.0.0.1/24')),
      send(conn, routeRequest(rt.RTM_NEWROUTE, 0, { to: 'default', via: '10.0.0.254' })),
    ]);
  } finally {
    conn.close();
  }
}
