// The library never starts `ip`, a shell or any other program to do its own work (DESIGN.md):
// the one place that may spawn is lib/exec.ts, which runs the user's commands.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const lib = join(root, 'lib');

// import ... from 'child_process', import('node:child_process'), require("child_process"), export ... from ...
const CHILD_PROCESS = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"`](?:node:)?child_process['"`]/m;

it('imports child_process only in lib/exec.ts', () => {
  const files = readdirSync(lib, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  expect(files.length).toBeGreaterThan(10);
  const users = files
    .filter((f) => CHILD_PROCESS.test(readFileSync(join(lib, f), 'utf8')))
    .map((f) => relative(root, join(lib, f)))
    .sort();
  expect(users).toEqual(['lib/exec.ts']);
});

it('recognises every way of importing it', () => {
  for (const line of [
    "import { spawn } from 'node:child_process';",
    'import * as cp from "child_process";',
    "import 'node:child_process';",
    "const cp = await import('node:child_process');",
    "const cp = require('child_process');",
    "export { spawn } from 'node:child_process';",
  ]) {
    expect(CHILD_PROCESS.test(line), line).toBe(true);
  }
  expect(CHILD_PROCESS.test("// mentions child_process in a comment")).toBe(false);
});
