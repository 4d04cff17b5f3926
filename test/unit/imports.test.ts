// The library's modules import each other without a circle (the operations depend on
// lib/handle.ts, and lib/namespace.ts builds the Namespace methods on top of them). Type-only
// imports are erased and do not count.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { staleSources } from '../../scripts/stale-dist.js';

const LIB = join(dirname(fileURLToPath(import.meta.url)), '../../lib');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The modules `file` imports at run time (not `import type`, not `{ type X }` only). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?([^'";]*?)\s*from\s+'(\.[^']+)'/gm)) {
    if (m[1]) continue;
    const names = /\{([^}]*)\}/.exec(m[2]!)?.[1];
    if (names !== undefined && !/\*|^\s*\w+\s*,/.test(m[2]!) && names.split(',').every((n) => n.trim() === '' || n.trim().startsWith('type '))) continue;
    out.push(normalize(join(dirname(file), m[3]!.replace(/\.js$/, '.ts'))));
  }
  return out;
}

function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'open') found.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return found;
}

describe('module graph', () => {
  it('has no import circle', () => {
    const graph = new Map(sources(LIB).map((f) => [f, runtimeImports(f)]));
    expect(graph.size).toBeGreaterThan(50);
    const rel = (p: string) => p.slice(LIB.length + 1);
    expect(cycles(graph).map((c) => c.map(rel).join(' -> '))).toEqual([]);
  });

  it('would see one: the operations importing the Namespace class would close a circle', () => {
    const graph = new Map(sources(LIB).map((f) => [f, runtimeImports(f)]));
    const links = join(LIB, 'route/links.ts');
    graph.set(links, [...graph.get(links)!, join(LIB, 'namespace.ts')]);
    expect(cycles(graph).length).toBeGreaterThan(0);
  });
});

describe('first-call cost', () => {
  it("no module uses the global `performance` (Node loads perf_hooks on its first use, ~1 ms of a first call): lib/clock.ts's monotonicMs instead", () => {
    const users = sources(LIB).filter((file) => /\bperformance\s*\.\s*now\s*\(/.test(readFileSync(file, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '')));
    expect(users.map((f) => f.slice(LIB.length + 1))).toEqual([]);
  });

  it('importing the library does not load perf_hooks, and neither does a request', async () => {
    const { execFileSync } = await import('node:child_process');
    // The shipped build, as users load it: it must be the build of these sources.
    const dist = join(LIB, '../dist');
    expect(staleSources(), 'dist/ is older than these sources: run `npm run build`').toEqual([]);
    // A fresh process: which of Node's internal modules are loaded after importing the library
    // and a request through the connection (a fake transport: no kernel needed).
    const script = `
      await import(${JSON.stringify(join(dist, 'index.js'))});
      const { Connection } = await import(${JSON.stringify(join(dist, 'connection.js'))});
      const ack = Buffer.alloc(36); ack.writeUInt32LE(36, 0); ack.writeUInt16LE(2, 4);
      const conn = new Connection({ transact: async () => ack, transactInline: (r, seq) => (ack.writeUInt32LE(seq, 8), { replies: ack, complete: true, answered: 1 }), cancel() {}, close() {} });
      await conn.request((w, seq) => { const at = w.reserve(16); w.buf.writeUInt32LE(16, at); w.buf.writeUInt32LE(0, at + 4); w.buf.writeUInt32LE(seq, at + 8); w.buf.writeUInt32LE(0, at + 12); }, { operation: 'TEST', inline: true });
      console.log(JSON.stringify(process.moduleLoadList.filter((m) => m.endsWith(' perf_hooks') || m.endsWith('internal/perf/performance'))));`;
    const loaded = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim());
    expect(loaded).toEqual([]);
  });
});
