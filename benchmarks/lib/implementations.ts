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
  { id: 'c-sequential', label: 'C, sequential', command: (n, p) => [peer('c/floor'), '--sequential', String(n), p], unavailable: needs(peer('c/floor'), 'C peer not built (benchmarks/peers/install.sh)') },
  { id: 'c-pipelined', label: 'C, pipelined', command: (n, p) => [peer('c/floor'), '--pipelined', String(n), p], unavailable: needs(peer('c/floor'), 'C peer not built (benchmarks/peers/install.sh)') },
];
