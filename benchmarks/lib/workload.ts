// W(N), the benchmark workload (README, "Performance"), as this library's topology spec: a bridge br0 with
// 10.200.0.1/16; per container c<i>: veth h<i> (on br0) / eth0 (inside), lo and eth0 up,
// 10.200.<i/250>.<i%250+2>/16, default route via 10.200.0.1.
import type { TopologySpec } from '../../lib/index.js';

export const containerAddress = (i: number) => `10.200.${Math.floor(i / 250)}.${(i % 250) + 2}/16`;

export function workload(n: number, opts: { ipv6?: boolean } = {}): TopologySpec {
  return {
    bridges: [{ name: 'br0', addresses: ['10.200.0.1/16'] }],
    namespaces: Array.from({ length: n }, (_, k) => {
      const i = k + 1;
      return {
        name: `c${i}`,
        ...(opts.ipv6 === false ? { ipv6: false } : {}),
        interfaces: [{ name: 'eth0', hostName: `h${i}`, master: 'br0', addresses: [containerAddress(i)] }],
        routes: [{ to: 'default', via: '10.200.0.1' }],
      };
    }),
  };
}
