// Which lib/ sources dist/ is not the build of: tests and benchmarks that load the shipped
// build refuse to run on a stale one (`npm run build` makes it).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** lib/ sources (paths under lib/) whose dist/ build is missing or older than they are. */
export function staleSources(dir = join(ROOT, 'lib')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = join(dir, e.name);
    if (e.isDirectory()) return staleSources(file);
    if (!e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) return [];
    const relative = file.slice(join(ROOT, 'lib').length + 1);
    try {
      return statSync(join(ROOT, 'dist', relative.replace(/\.ts$/, '.js'))).mtimeMs < statSync(file).mtimeMs ? [relative] : [];
    } catch {
      return [relative];
    }
  });
}
