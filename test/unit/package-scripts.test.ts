// npm runs a script named preX before X and postX after it, for every script X and for its own
// lifecycle events: a helper script whose name only happens to start with pre/post becomes a
// hook. (`prebuild` was one: every `npm run build` made prebuilds.) Intended hooks go in HOOKS.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const scripts = Object.keys((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts);
const LIFECYCLE = ['install', 'uninstall', 'publish', 'pack', 'version', 'test', 'start', 'stop', 'restart', 'shrinkwrap', 'prepare', 'dependencies'];
const HOOKS: string[] = [];

describe('package.json scripts', () => {
  it('no script is a pre/post hook of another script or of an npm lifecycle event by accident', () => {
    const hooks = scripts.filter((name) => {
      const m = /^(pre|post)(.+)$/.exec(name);
      return m !== null && (scripts.includes(m[2]!) || LIFECYCLE.includes(m[2]!));
    });
    expect(hooks).toEqual(HOOKS);
  });
});
