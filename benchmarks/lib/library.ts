// Which build of the library a benchmark measures: the shipped one (dist/, what users import),
// or with RTNETLINK_BENCH_SOURCE=1 the TypeScript source through tsx. They differ: tsx's
// transform wraps functions in a naming helper (esbuild's __name) that runs each time a
// closure is made, and encoding a topology's namespaces took about twice as long from lib/
// as from dist/ once warm.
import { staleSources } from '../../scripts/stale-dist.js';

type Library = typeof import('../../lib/index.js');

const measuresSource = process.env.RTNETLINK_BENCH_SOURCE === '1';
/** Checked once per process. */
let distChecked = false;

/** The library to measure; refuses a dist/ that is not the build of the sources. */
export async function loadLibrary(): Promise<Library> {
  return libraryModule<Library>('index');
}

/** One module of the measured build, by its path under lib/ without extension ('provision'):
 *  for benchmarks that take the library apart. */
export async function libraryModule<T>(path: string): Promise<T> {
  if (measuresSource) return (await import(new URL(`../../lib/${path}.ts`, import.meta.url).href)) as T;
  if (!distChecked) {
    assertFreshDist();
    distChecked = true;
  }
  return (await import(new URL(`../../dist/${path}.js`, import.meta.url).href)) as T;
}

/** Throws unless dist/ is the build of lib/: a benchmark of the shipped build must not measure
 *  an older one. */
export function assertFreshDist(): void {
  const stale = staleSources();
  if (stale.length > 0) {
    throw new Error(`dist/ is not the build of lib/ (${stale.length} sources newer, e.g. lib/${stale[0]}): run \`npm run build\` first, or measure lib/ (see this benchmark's options)`);
  }
}
