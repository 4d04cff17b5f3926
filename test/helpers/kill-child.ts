// The victim of test/integration/kill.test.ts (RELIABILITY.md item 19): applies W(N) (one
// bridge, N namespaces with a veth on it each) and is SIGKILLed by the test at some moment of
// the apply. Run as `node --import tsx test/helpers/kill-child.ts N` inside the sandbox.
//
// It loads everything first and then waits for a line on stdin, so the test can start it
// early (node and tsx take longer to start than the apply takes) and time the kill from
// the moment the apply really begins: "start" is written just before applyTopology is called,
// "done <ms>" after it resolved, then it waits for stdin to close.
import { createInterface } from 'node:readline';

const n = Number(process.argv[2] ?? 30);
const lib = await import('../../lib/index.js');
const { workload } = await import('../../benchmarks/lib/workload.js');
const spec = workload(n);

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
process.stdout.write('ready\n');
await lines.next();
process.stdout.write('start\n');
const t0 = performance.now();
await lib.applyTopology(spec);
process.stdout.write(`done ${(performance.now() - t0).toFixed(1)}\n`);
await lines.next();
process.exit(0);
