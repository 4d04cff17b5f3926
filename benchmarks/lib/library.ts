// Which build of the library a benchmark measures: the shipped one (dist/, what users import),
// or with RTNETLINK_BENCH_SOURCE=1 the TypeScript source through tsx. They differ: tsx's
// transform wraps functions in a naming helper (esbuild's __name) that runs each time a
// closure is made, and encoding a topology's namespaces took about twice as long from lib/
// as from dist/ once warm.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Library = typeof import('../../lib/index.js');

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** lib/ sources whose dist/ build is missing or older than they are. */
function staleSources(dir = join(ROOT, 'lib')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = join(dir, e.name);
    if (e.isDirectory()) return staleSources(file);
    if (!e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) return [];
    const built = join(ROOT, 'dist', file.slice(join(ROOT, 'lib').length + 1).replace(/\.ts$/, '.js'));
    try {
      return statSync(built).mtimeMs < statSync(file).mtimeMs ? [file] : [];
    } catch {
      return [file];
    }
  });
}

export const measuresSource = process.env.RTNETLINK_BENCH_SOURCE === '1';

/** The library to measure; refuses a dist/ that is not the build of the sources. */
export async function loadLibrary(): Promise<Library> {
  return libraryModule<Library>('index');
}

/** One module of the measured build, by its path under lib/ without extension ('provision'):
 *  for benchmarks that take the library apart. */
export async function libraryModule<T>(path: string): Promise<T> {
  if (measuresSource) return (await import(new URL(`../../lib/${path}.ts`, import.meta.url).href)) as T;
  const stale = staleSources();
  if (stale.length > 0) {
    throw new Error(`dist/ is not the build of lib/ (${stale.length} sources newer, e.g. ${stale[0]}): run \`npm run build\` first`);
  }
  return (await import(new URL(`../../dist/${path}.js`, import.meta.url).href)) as T;
}
