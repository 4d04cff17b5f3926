// The published package, as a consumer gets it: prebuilds made and packed by `npm pack`, the
// tarball installed into a fresh project with --ignore-scripts (no compiler runs), then used from
// that project's own node_modules: the tutorial by a script that imports 'rtnetlink' by name, the
// CLI through npx, the arm64 prebuild under qemu-user, a platform without a prebuild, and the
// types under five consumer tsconfigs. Everything is built afresh in a temporary directory on
// every run; the checkout's own build/, dist/ and prebuilds/ are not used or touched.
//
// The install is --offline: the sandbox has no network, so `npm test` first runs
// scripts/fetch-test-deps.sh, which puts the dependencies into npm's cache.
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = join(root, 'test/fixtures');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  files: string[];
  devDependencies: Record<string, string>;
};
const execFileP = promisify(execFileCb);
// node-gyp (through prebuildify) builds against the running Node's own headers, and npm
// and npx never try the network (which the sandbox does not have: a try costs a minute of retries).
const env = { ...process.env, npm_config_nodedir: resolve(process.execPath, '../..'), npm_config_offline: 'true' };

/** Runs a command to its end; rejects with its output when it fails. */
async function run(cmd: string, args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileP(cmd, args, { cwd, env, maxBuffer: 64 << 20, encoding: 'utf8' });
  } catch (e) {
    const r = e as { stdout?: string; stderr?: string; message: string };
    const hint = r.stderr?.includes('ENOTCACHED') ? '\n(npm cache lacks a dependency: run scripts/fetch-test-deps.sh, as npm test does)' : '';
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${r.message}\n${r.stdout ?? ''}\n${r.stderr ?? ''}${hint}`);
  }
}

const hostArch = process.arch;
const crossCompiler = hostArch === 'x64' && hasCommand('aarch64-linux-gnu-g++');
const arm64Node = join(root, '.cache/arm64-node/root');
const arm64Problem = hostArch !== 'x64'
  ? `the arm64 smoke runs on x64 machines (this is ${hostArch})`
  : !crossCompiler
    ? 'no aarch64-linux-gnu-g++ (apt-get install g++-aarch64-linux-gnu)'
    : !hasCommand('qemu-aarch64-static')
      ? 'no qemu-aarch64-static (apt-get install qemu-user-static)'
      : !existsSync(join(arm64Node, 'usr/bin/node'))
        ? 'no arm64 node in .cache/arm64-node (scripts/fetch-test-deps.sh, after dpkg --add-architecture arm64)'
        : undefined;
if (inSandbox && arm64Problem && process.env.CI) throw new Error(`arm64 smoke cannot run: ${arm64Problem}`);

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const consumers = readdirSync(join(fixtures, 'consumers'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe.skipIf(!inSandbox)(`the packed package in a consumer's project${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  let work: string;
  let app: string;
  let packed: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };
  /** The consumers' compilations start as soon as the install is done and run beside the rest. */
  const typechecks = new Map<string, Promise<{ stdout: string; stderr: string }>>();

  beforeAll(async () => {
    resetSandbox();
    work = mkdtempSync('/tmp/rtnetlink-package-');
    // A copy of what the package is made from: "files" plus what builds dist.
    const stage = join(work, 'stage');
    mkdirSync(stage);
    for (const entry of [...pkg.files, 'package.json', 'README.md', 'LICENSE', 'lib', 'tsconfig.json']) {
      if (entry === 'dist' || entry === 'prebuilds' || !existsSync(join(root, entry))) continue;
      cpSync(join(root, entry), join(stage, entry), { recursive: true });
    }
    symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'));
    const started = Date.now();
    await Promise.all([
      run(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], stage),
      ...[hostArch, ...(crossCompiler ? ['arm64'] : [])].map((arch) => run(join(root, 'scripts/prebuilds.sh'), ['--out', stage, arch], root)),
    ]);
    console.log(`dist and prebuilds: ${Date.now() - started} ms`);
    // --ignore-scripts: `prepare` would run tsc again.
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], stage);
    packed = (JSON.parse(stdout) as (typeof packed)[])[0]!;
    console.log(`package: ${packed.filename}, ${(packed.size / 1024).toFixed(1)} kB packed, ${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked, ${packed.files.length} files`);

    app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', join(work, packed.filename), `@types/node@${pkg.devDependencies['@types/node']}`], app);

    // One compilation at a time (each checks all of @types/node: ~10 s of CPU), beside the
    // tests below, which then keep the other core.
    let previous: Promise<unknown> = Promise.resolve();
    for (const name of consumers) {
      const dir = join(app, 'consumers', name);
      cpSync(join(fixtures, 'consumers', name), dir, { recursive: true });
      const tsc = join(root, 'node_modules/.bin/tsc');
      const args = existsSync(join(dir, 'tsconfig.json')) ? ['--noEmit', '-p', '.'] : ['--noEmit', '--strict', 'app.ts'];
      const done = previous.then(() => run(tsc, args, dir));
      previous = done.catch(() => {}); // the failure is reported by its own test
      typechecks.set(name, done);
    }
  }, 300_000);

  afterAll(async () => {
    await Promise.allSettled(typechecks.values());
    resetSandbox();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the tarball holds dist, LICENSE, README, and each prebuild with its exec helper', () => {
    const files = packed.files.map((f) => f.path);
    const arches = [hostArch, ...(crossCompiler ? ['arm64'] : [])];
    expect(files).toEqual(expect.arrayContaining([
      'LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js',
      ...arches.flatMap((a) => [`prebuilds/linux-${a}/rtnetlink.glibc.node`, `prebuilds/linux-${a}/rtnl-exec.glibc`]),
    ]));
    // Nothing from the checkout that is not the package.
    expect(files.filter((f) => /^(lib|test|build|scripts|benchmarks|node_modules)\//.test(f))).toEqual([]);
    const installed = join(app, 'node_modules/rtnetlink');
    expect(existsSync(join(installed, 'build'))).toBe(false); // no install script ran
  });

  it("a consumer's script builds the tutorial from its own node_modules/rtnetlink: the x64 prebuild, checked with ip -json", async () => {
    cpSync(join(fixtures, 'package/tutorial.mjs'), join(app, 'tutorial.mjs'));
    const { stdout } = await run(process.execPath, ['tutorial.mjs'], app);
    const out = JSON.parse(stdout) as { addons: string[]; ping: string };
    expect(out.addons).toEqual([join(app, `node_modules/rtnetlink/prebuilds/linux-${hostArch}/rtnetlink.glibc.node`)]);
    expect(out.ping).toMatch(/1 received/);

    expect(readdirSync('/run/netns').sort()).toEqual(['jelly', 'pb']);
    const links = new Map(ipJson<any[]>(['link', 'show']).map((l) => [l.ifname, l]));
    expect(links.get('brd1')).toMatchObject({ operstate: 'UP' });
    expect(links.get('bread-pb')).toMatchObject({ master: 'brd1' });
    expect(links.get('bread-jelly')).toMatchObject({ master: 'brd1' });
    const brd = ipJson<any[]>(['-4', 'addr', 'show', 'brd1'])[0].addr_info[0];
    expect(brd).toMatchObject({ local: '192.168.0.60', prefixlen: 24, broadcast: '192.168.0.255' });
    for (const [ns, address] of [['pb', '192.168.0.56'], ['jelly', '192.168.0.55']] as const) {
      const [veth] = ipJson<any[]>(['-4', 'addr', 'show', `veth-${ns}`], ns);
      expect(veth.operstate).toBe('UP');
      expect(veth.addr_info[0]).toMatchObject({ local: address, prefixlen: 24 });
      expect(ipJson<any[]>(['route'], ns)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '192.168.0.60' }));
    }
  }, 120_000);

  it('the CLI from the package: npx rtnl up / down on the pb-and-jelly example', async () => {
    resetSandbox();
    const example = join(root, 'examples/pb-and-jelly.json');
    const up = await run('npx', ['--no-install', 'rtnl', 'up', example], app);
    expect(up.stdout).toMatch(/^up: /);
    expect(readdirSync('/run/netns').sort()).toEqual(['jelly', 'pb']);
    expect(ipJson<any[]>(['link', 'show', 'master', 'brd1']).map((l) => l.ifname).sort()).toEqual(['bread-j-veth', 'bread-pb-veth']);
    expect(ipJson<any[]>(['-4', 'addr', 'show', 'veth-jelly'], 'jelly')[0].addr_info[0].local).toBe('192.168.0.55');
    const ping = await run('npx', ['--no-install', 'rtnl', 'exec', 'jelly', '--', 'ping', '-c', '1', '-W', '2', '192.168.0.56'], app);
    expect(ping.stdout).toMatch(/1 received/);

    await run('npx', ['--no-install', 'rtnl', 'down', example], app);
    expect(readdirSync('/run/netns')).toEqual([]);
    expect(ipJson<any[]>(['link', 'show']).map((l) => l.ifname)).toEqual(['lo']);
  }, 120_000);

  it.skipIf(arm64Problem !== undefined)(`the arm64 prebuild loads and works under qemu-user (Debian's arm64 Node 18)${arm64Problem ? ` — skipped: ${arm64Problem}` : ''}`, async () => {
    resetSandbox();
    cpSync(join(fixtures, 'package/arm64-smoke.mjs'), join(app, 'arm64-smoke.mjs'));
    const qemu = ['qemu-aarch64-static', '-L', arm64Node];
    const { stdout } = await execFileP(qemu[0]!, [...qemu.slice(1), join(arm64Node, 'usr/bin/node'), 'arm64-smoke.mjs'], {
      cwd: app,
      env: { ...env, RTNETLINK_QEMU: JSON.stringify(qemu) },
      encoding: 'utf8',
    });
    const out = JSON.parse(stdout);
    expect(out.arch).toBe('arm64');
    expect(out.addons).toEqual([join(app, 'node_modules/rtnetlink/prebuilds/linux-arm64/rtnetlink.glibc.node')]);
    expect(out.anonymousLinks).toEqual(['lo']);
    expect(out.armLinks).toEqual(['eth0', 'lo']);
    expect(out.armAddresses).toEqual(['10.64.0.2/24']);
    // What the arm64 library made, read back natively.
    expect(ipJson<any[]>(['link', 'show', 'arm-host'])[0]).toMatchObject({ ifname: 'arm-host', link_netnsid: expect.any(Number) });
    expect(ipJson<any[]>(['-4', 'addr', 'show', 'eth0'], 'arm')[0].addr_info[0]).toMatchObject({ local: '10.64.0.2', prefixlen: 24 });
    // The arm64 exec helper entered the namespace before running ip.
    expect(out.helper.status, out.helper.stderr).toBe(0);
    expect(JSON.parse(out.helper.stdout)[0].addr_info[0].local).toBe('10.64.0.2');
  }, 120_000);

  it('without a prebuild for this machine the error names the machine and says how to build the addon', async () => {
    const bare = join(work, 'bare');
    cpSync(app, bare, { recursive: true, verbatimSymlinks: true });
    rmSync(join(bare, 'node_modules/rtnetlink/prebuilds'), { recursive: true });
    const probe = ['--input-type=module', '-e', "await import('rtnetlink')"];
    const failed = await run(process.execPath, probe, bare).then(() => 'it loaded', (e: Error) => e.message);
    // Ours is the error, node-gyp-build's only its cause.
    expect(failed).toMatch(/^Error: rtnetlink: no native addon/m);
    expect(failed).toContain(`no native addon for linux-${hostArch} (glibc), Node ${process.version}: the package has no prebuilds`);
    expect(failed).toContain('apt-get install g++ make python3');
    expect(failed).toContain('npm rebuild rtnetlink');
    // What `npm rebuild` compiles is in the package: binding.gyp and every native source.
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['binding.gyp', ...readdirSync(join(root, 'native')).map((f) => `native/${f}`)]));
  });

  it.each(consumers)("the types compile in the consumer project '%s' (strict, no skipLibCheck)", async (name) => {
    const { stdout, stderr } = await typechecks.get(name)!;
    expect(stdout + stderr).toBe('');
  }, 300_000);
});
