// The long fuzz run of the netlink and nf_tables decoders and the connection's dispatch
// (RELIABILITY.md item 16); `npm test` runs a short version (test/unit/fuzz-decoders.test.ts).
//
//   npx tsx scripts/fuzz.ts --inputs 1000000            all targets, a random seed (printed)
//   npx tsx scripts/fuzz.ts --inputs 200000 --seed 7    the same inputs as any other run with seed 7
//   npx tsx scripts/fuzz.ts --target decodeLink --seed S --path P   replays one reported failure
//
// Inputs are spread over the targets (the connection scenarios, each a whole exchange, get a
// smaller share) and cut into chunks of fixed size, each with a seed derived from
// the run's seed, so a failure is reproduced from its chunk seed alone, and the result does not
// depend on --jobs. Workers run the chunks; the main thread watches their heartbeat, because a
// decoder stuck in a loop cannot report itself: a worker silent for --stall seconds is stopped
// and its current input printed.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';

const CHUNK = 25_000;
/** Share of a decoder's inputs each connection target gets: a scenario is a whole exchange,
 *  and through the fake kernel an unanswered request waits out its (10 ms) timeout. */
const CONNECTION_TARGETS: Record<string, number> = { 'connection dispatch': 0.1, 'connection (fake kernel)': 0.01 };
/** Bytes of the current input a worker publishes for the watchdog. */
const INPUT_SLOT = 1 << 16;

interface Chunk {
  target: string;
  seed: number;
  runs: number;
  path?: string;
}

interface ChunkResult {
  target: string;
  seed: number;
  runs: number;
  ms: number;
  failure?: string;
}

interface Shared {
  /** [0] heartbeat, [1] current input length. */
  state: Int32Array;
  input: Uint8Array;
}

/** A 32-bit seed per target and chunk, from the run's seed: FNV-1a over both. */
function deriveSeed(seed: number, target: string, index: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (const c of `${target}\0${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return h | 0;
}

async function runChunk(chunk: Chunk, shared: Shared): Promise<ChunkResult> {
  const f = await import('../test/helpers/decoder-fuzz.js');
  const publish = (input: Uint8Array) => {
    const n = Math.min(input.length, INPUT_SLOT);
    shared.input.set(input.subarray(0, n));
    Atomics.store(shared.state, 1, input.length);
    Atomics.add(shared.state, 0, 1);
  };
  const params = <T>(): fc.Parameters<T> => ({ numRuns: chunk.runs, seed: chunk.seed, ...(chunk.path ? { path: chunk.path } : {}) });
  const t0 = performance.now();
  let details: fc.RunDetails<[unknown]>;
  if (chunk.target in CONNECTION_TARGETS) {
    const fakeKernel = chunk.target === 'connection (fake kernel)';
    details = (await fc.check(
      fc.asyncProperty(f.connectionScenarioArb, async (s) => {
        publish(Buffer.from(JSON.stringify(s)));
        await f.runConnectionScenario(s, undefined, { fakeKernel });
      }),
      params(),
    )) as fc.RunDetails<[unknown]>;
  } else {
    const target = f.targets.find((t) => t.name === chunk.target);
    if (!target) throw new Error(`no target '${chunk.target}'`);
    details = fc.check(
      fc.property(f.inputsFor(target), (input) => {
        publish(input);
        f.runChecked(target, input);
      }),
      params(),
    ) as fc.RunDetails<[unknown]>;
  }
  const ms = performance.now() - t0;
  if (!details.failed) return { target: chunk.target, seed: chunk.seed, runs: details.numRuns, ms };
  const input = details.counterexample?.[0];
  const shown = Buffer.isBuffer(input) ? `input (${input.length} bytes): ${shownBytes(input, chunk)}` : `scenario: ${JSON.stringify(input)}`;
  const failure = [
    `${chunk.target}: ${describeError(details.errorInstance)}`,
    shown,
    `seed ${details.seed}, path ${details.counterexamplePath}, after ${details.numRuns} inputs (${details.numShrinks} shrinks)`,
    `replay: npx tsx scripts/fuzz.ts --target '${chunk.target}' --seed ${details.seed} --path '${details.counterexamplePath}'`,
  ].join('\n  ');
  return { target: chunk.target, seed: chunk.seed, runs: details.numRuns, ms, failure };
}

/** Hex of a small input; a big one goes to a file (a 64 KiB message is 128 KiB of hex). */
function shownBytes(input: Buffer, chunk: Chunk): string {
  if (input.length <= 512) return input.toString('hex');
  const file = join(tmpdir(), `rtnetlink-fuzz-${chunk.target.replace(/\W+/g, '-')}-${chunk.seed}.bin`);
  writeFileSync(file, input);
  return `${input.subarray(0, 64).toString('hex')}... (all of it in ${file})`;
}

function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  const stack = e.stack?.split('\n').slice(1, 6).join('\n    ') ?? '';
  return `${e.constructor.name}${code ? ` [${String(code)}]` : ''}: ${e.message}\n    ${stack}`;
}

// ---- worker ---------------------------------------------------------------------------------

if (!isMainThread) {
  const shared = workerData as Shared;
  parentPort!.on('message', (chunk: Chunk) => {
    runChunk(chunk, shared).then(
      (r) => parentPort!.postMessage(r),
      (e: unknown) => parentPort!.postMessage({ target: chunk.target, seed: chunk.seed, runs: 0, ms: 0, failure: `${chunk.target}: ${describeError(e)}` }),
    );
  });
}

// ---- main -----------------------------------------------------------------------------------

function parseArgs(argv: string[]) {
  const opts = {
    inputs: 1_000_000,
    seed: (Math.random() * 2 ** 31) | 0,
    targets: [] as string[],
    path: undefined as string | undefined,
    jobs: Math.min(2, availableParallelism()),
    stall: 30,
    list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (v: string) => {
      const n = Number(v.replace(/_/g, ''));
      if (!Number.isSafeInteger(n)) throw new Error(`${a}: not an integer: ${v}`);
      return n;
    };
    if (a === '--inputs') opts.inputs = int(value());
    else if (a === '--seed') opts.seed = int(value()) | 0;
    else if (a === '--target') opts.targets.push(value());
    else if (a === '--path') opts.path = value();
    else if (a === '--jobs') opts.jobs = Math.max(1, int(value()));
    else if (a === '--stall') opts.stall = int(value());
    else if (a === '--list') opts.list = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: tsx scripts/fuzz.ts [--inputs N] [--seed S] [--target NAME]... [--path P] [--jobs J] [--stall SECONDS] [--list]');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return opts;
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const { targets, loadCorpus } = await import('../test/helpers/decoder-fuzz.js');
  const names = [...targets.map((t) => t.name), ...Object.keys(CONNECTION_TARGETS)];
  if (opts.list) {
    console.log(names.join('\n'));
    return 0;
  }
  const chosen = opts.targets.length > 0 ? opts.targets : names;
  for (const t of chosen) if (!names.includes(t)) throw new Error(`no target '${t}'; --list shows them`);

  const chunks: Chunk[] = [];
  if (opts.path !== undefined) {
    // A replay: exactly the reported seed and path, one target.
    if (chosen.length !== 1) throw new Error('--path replays one --target');
    chunks.push({ target: chosen[0]!, seed: opts.seed, runs: CHUNK, path: opts.path });
  } else {
    const shares = chosen.map((t) => CONNECTION_TARGETS[t] ?? 1);
    const unit = opts.inputs / shares.reduce((a, b) => a + b, 0);
    chosen.forEach((target, k) => {
      let left = Math.max(1, Math.round(unit * shares[k]!));
      for (let i = 0; left > 0; i++) {
        const runs = Math.min(CHUNK, left);
        chunks.push({ target, seed: deriveSeed(opts.seed, target, i), runs });
        left -= runs;
      }
    });
  }
  const corpus = loadCorpus();
  console.log(
    `fuzz: seed ${opts.seed}, ${opts.inputs.toLocaleString('en')} inputs over ${chosen.length} targets in ${chunks.length} chunks, ` +
      `${opts.jobs} workers; corpus ${corpus.messages.length} captured messages, ${corpus.datagrams.length} datagrams`,
  );

  const started = performance.now();
  const perTarget = new Map<string, { runs: number; ms: number }>(chosen.map((t) => [t, { runs: 0, ms: 0 }]));
  const failures: string[] = [];
  let next = 0;
  let lastReport = started;

  const runWorker = () =>
    new Promise<void>((resolve) => {
      const shared: Shared = { state: new Int32Array(new SharedArrayBuffer(8)), input: new Uint8Array(new SharedArrayBuffer(INPUT_SLOT)) };
      // A worker does not inherit tsx's loader hooks, and Node checks a .ts entry's extension
      // before --import hooks apply: a JS stub registers tsx, then loads this file.
      const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(import.meta.url)}); })`;
      // The main thread's stack (V8's ~1 MB default), not a worker's 4 MB: a recursion that
      // overflows in an application must overflow here too.
      const worker = new Worker(boot, { eval: true, workerData: shared, resourceLimits: { stackSizeMb: 1 } });
      let current: Chunk | undefined;
      let beat = -1;
      let still = 0;
      const watchdog = setInterval(() => {
        const now = Atomics.load(shared.state, 0);
        if (now !== beat) {
          beat = now;
          still = 0;
          return;
        }
        if (++still < opts.stall || !current) return;
        const len = Atomics.load(shared.state, 1);
        const input = Buffer.from(shared.input.subarray(0, Math.min(len, INPUT_SLOT)));
        failures.push(
          `${current.target}: no progress for ${opts.stall} s (a hang) in the chunk with seed ${current.seed}\n  ` +
            `current input (${len} bytes): ${shownBytes(input, current)}`,
        );
        clearInterval(watchdog);
        void worker.terminate().then(() => resolve());
      }, 1000);
      const feed = () => {
        current = chunks[next++];
        if (!current) {
          clearInterval(watchdog);
          void worker.terminate().then(() => resolve());
          return;
        }
        worker.postMessage(current);
      };
      worker.on('message', (r: ChunkResult) => {
        const t = perTarget.get(r.target)!;
        t.runs += r.runs;
        t.ms += r.ms;
        if (r.failure) failures.push(r.failure);
        const now = performance.now();
        if (now - lastReport > 10_000) {
          lastReport = now;
          const total = [...perTarget.values()].reduce((a, b) => a + b.runs, 0);
          console.log(`  ${total.toLocaleString('en')} inputs, ${((now - started) / 1000).toFixed(0)} s`);
        }
        feed();
      });
      worker.on('error', (e) => {
        failures.push(`${current?.target ?? '?'}: worker died: ${describeError(e)}`);
        clearInterval(watchdog);
        resolve();
      });
      feed();
    });

  await Promise.all(Array.from({ length: Math.min(opts.jobs, chunks.length) }, runWorker));
  const elapsed = (performance.now() - started) / 1000;

  const width = Math.max(...chosen.map((t) => t.length));
  let total = 0;
  for (const [name, t] of perTarget) {
    total += t.runs;
    const rate = t.ms > 0 ? Math.round((t.runs / t.ms) * 1000) : 0;
    console.log(`  ${name.padEnd(width)}  ${t.runs.toLocaleString('en').padStart(10)} inputs  ${(t.ms / 1000).toFixed(1).padStart(6)} s  ${rate.toLocaleString('en').padStart(8)}/s`);
  }
  console.log(`fuzz: ${total.toLocaleString('en')} inputs in ${elapsed.toFixed(1)} s (seed ${opts.seed}): ${failures.length === 0 ? 'no failures' : `${failures.length} FAILED`}`);
  for (const f of failures) console.log(`\nFAILURE ${f}`);
  return failures.length === 0 ? 0 : 1;
}

if (isMainThread) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`fuzz: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(2);
    },
  );
}
