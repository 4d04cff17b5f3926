// Every implementation of W(N) the benchmark compares, and how to run each phase.
import { existsSync } from 'node:fs';

export interface Implementation {
  id: string;
  label: string;
  /** argv for one phase; the program prints {"ms": ...} measured inside itself. */
  command(n: number, phase: 'setup' | 'teardown'): string[];
  /** Why it cannot run here, if it cannot. */
  unavailable?(): string | undefined;
  /** Largest N worth running (slow peers at N=1000 take minutes). */
  maxN?: number;
  /** Every namespace made with IPv6 disabled: compared only with the C floor made the same way. */
  ipv6Off?: boolean;
  /** A hand-written C variant: the best of these in a repetition is the floor. */
  floor?: boolean;
}

const node = process.execPath;
const tsx = ['--import', 'tsx'];
const peer = (file: string) => `benchmarks/peers/${file}`;
const needs = (file: string, why: string) => () => (existsSync(file) ? undefined : why);

export const implementations: Implementation[] = [
  { id: 'rtnetlink-bulk', label: 'rtnetlink, bulk path (applyTopology)', command: (n, p) => [node, ...tsx, 'benchmarks/lib-runner.ts', 'bulk', String(n), p] },
  { id: 'rtnetlink-naive', label: 'rtnetlink, one awaited call per step', command: (n, p) => [node, ...tsx, 'benchmarks/lib-runner.ts', 'naive', String(n), p] },
  { id: 'cli-tutorial', label: 'iproute2 CLI, tutorial style', command: (n, p) => [peer('cli-tutorial.sh'), String(n), p], unavailable: needs(peer('cli-tutorial.sh'), 'peer script missing') },
  { id: 'cli-optimized', label: 'iproute2 CLI, optimized', command: (n, p) => [peer('cli-optimized.sh'), String(n), p], unavailable: needs(peer('cli-optimized.sh'), 'peer script missing') },
  { id: 'ip-batch', label: 'ip -batch', command: (n, p) => [peer('ip-batch.sh'), String(n), p], unavailable: needs(peer('ip-batch.sh'), 'peer script missing') },
  {
    id: 'pyroute2',
    label: 'pyroute2',
    command: (n, p) => ['/usr/bin/python3', peer('pyroute2.py'), String(n), p],
    unavailable: () => (existsSync('/usr/lib/python3/dist-packages/pyroute2') ? undefined : 'python3-pyroute2 not installed (benchmarks/peers/install.sh)'),
  },
  { id: 'go-netlink', label: 'Go vishvananda/netlink', command: (n, p) => [peer('go/wbench'), String(n), p], unavailable: needs(peer('go/wbench'), 'Go peer not built (benchmarks/peers/install.sh)') },
  ...cFloor('c-sequential', 'C, sequential', ['--sequential']),
  ...cFloor('c-pipelined', 'C, pipelined', ['--pipelined']),
  ...cFloor('c-pipelined-2t', 'C, pipelined, 2 threads', ['--pipelined', '--threads=2']),
  {
    id: 'rtnetlink-bulk-ipv6off',
    label: 'rtnetlink, bulk path, IPv6 off',
    command: (n, p) => [node, ...tsx, 'benchmarks/lib-runner.ts', 'bulk', String(n), p, '--ipv6=false'],
    ipv6Off: true,
  },
  ...cFloor('c-pipelined-ipv6off', 'C, pipelined, IPv6 off', ['--pipelined', '--ipv6=off'], true),
  ...cFloor('c-pipelined-2t-ipv6off', 'C, pipelined, 2 threads, IPv6 off', ['--pipelined', '--threads=2', '--ipv6=off'], true),
];

function cFloor(id: string, label: string, flags: string[], ipv6Off = false): Implementation[] {
  // Teardown takes no setup flags: the floor's teardown is the same for every variant.
  const command = (n: number, p: 'setup' | 'teardown') => [peer('c/floor'), ...(p === 'setup' ? flags : []), String(n), p];
  return [{ id, label, command, unavailable: needs(peer('c/floor'), 'C peer not built (benchmarks/peers/install.sh)'), floor: true, ...(ipv6Off ? { ipv6Off } : {}) }];
}
