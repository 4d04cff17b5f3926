// podman (Debian's 4.3, CNI backend) inside the sandbox: every folder it writes is a tmpfs or a
// temporary folder of this test, cgroups are off, the image is made offline from
// busybox-static, and the network's conflist uses our plugin.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountTmpfs, unmount } from './harness.js';

/** The folders podman and libcni write outside their config: each gets a tmpfs. */
export const PODMAN_STATE_DIRS = ['/run/containers', '/run/libpod', '/run/cni', '/run/crun', '/var/lib/containers', '/var/lib/cni', '/etc/cni/net.d'];

/** Why podman cannot run here, or undefined. */
export function podmanMissing(): string | undefined {
  for (const tool of ['podman', 'crun', 'conmon']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install podman crun conmon)`;
  }
  if (spawnSync('sh', ['-c', 'test -x /bin/busybox']).status !== 0) return 'busybox-static is not installed';
  return undefined;
}

/** A podman set up in `dir`, with our shim as the plugin `type` of the network `net`. */
export interface Podman {
  env: NodeJS.ProcessEnv;
  image: string;
  run(args: string[], opts?: { allowFailure?: boolean }): { status: number; stdout: string; stderr: string };
  cleanup(): void;
}

/** Sets podman up: mounts, configs, the plugin folder, the busybox image. */
export function setUpPodman(dir: string, shim: string, plugin: Record<string, unknown>, net = 'rtnet', type = 'rtnetlink', extraPlugins: Record<string, string> = {}): Podman {
  // The sandbox's fresh sysfs has no cgroup mount; crun wants to see one even with cgroups off.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  let cgroupMounted = false;
  if (!/ \/sys\/fs\/cgroup .* - cgroup2 /.test(mounts)) {
    execFileSync('mount', ['-t', 'cgroup2', 'none', '/sys/fs/cgroup']);
    cgroupMounted = true;
  }
  for (const d of PODMAN_STATE_DIRS) mountTmpfs(d);
  const bin = join(dir, 'bin');
  const netd = join(dir, 'net.d');
  const rootfs = join(dir, 'rootfs');
  for (const d of [bin, netd, join(rootfs, 'bin'), join(rootfs, 'www'), join(dir, 'storage'), join(dir, 'run'), join(dir, 'tmp')]) mkdirSync(d, { recursive: true });
  copyFileSync(shim, join(bin, type));
  for (const [name, file] of Object.entries(extraPlugins)) symlinkSync(file, join(bin, name));
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  for (const a of ['sh', 'httpd', 'ping', 'ip', 'sleep', 'cat', 'wget', 'true']) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'www/index.html'), 'hello from a podman container\n');
  execFileSync('tar', ['-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.']);
  writeFileSync(
    join(dir, 'containers.conf'),
    `[containers]\nnetns = "private"\n[network]\nnetwork_backend = "cni"\ncni_plugin_dirs = ["${bin}"]\nnetwork_config_dir = "${netd}"\n` +
      `[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\nruntime = "crun"\ntmp_dir = "${join(dir, 'tmp')}"\n`,
  );
  writeFileSync(join(dir, 'storage.conf'), `[storage]\ndriver = "vfs"\nrunroot = "${join(dir, 'run')}"\ngraphroot = "${join(dir, 'storage')}"\n`);
  writeFileSync(join(dir, 'registries.conf'), 'unqualified-search-registries = []\n');
  writeFileSync(join(netd, `${net}.conflist`), JSON.stringify({ cniVersion: '1.0.0', name: net, plugins: [{ type, ...plugin }] }, null, 2));
  const env = {
    ...process.env,
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
    CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
  };
  const run = (args: string[], opts: { allowFailure?: boolean } = {}) => {
    const r = spawnSync('podman', args, { env, encoding: 'utf8', timeout: 60_000 });
    const out = { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    if (out.status !== 0 && !opts.allowFailure) throw new Error(`podman ${args.join(' ')}: ${out.stderr}`);
    return out;
  };
  const image = 'localhost/rtnetlink-busybox:latest';
  run(['import', join(dir, 'rootfs.tar'), image]);
  return {
    env,
    image,
    run,
    cleanup() {
      run(['rm', '-af', '-t', '0'], { allowFailure: true });
      for (const d of PODMAN_STATE_DIRS) unmount(d);
      if (cgroupMounted) unmount('/sys/fs/cgroup');
    },
  };
}
