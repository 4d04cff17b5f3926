// The run dir (/run/netns) is shared with iproute2 and every other tool (issue 9, items 1 and 2).
// A name in it that is not a network namespace is somebody else's: apply refuses it, saying
// what it is, and leaves it exactly as it was. Only an empty file with nothing mounted on it
// (a creation that crashed between making the file and mounting on it) is removed and made
// again. Opening never blocks: a FIFO or a device is never opened for reading, so one bad path
// cannot stall the requests behind it.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inSandbox, ipJson, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import { netnsMounts } from '../helpers/w-state.js';

const lib = await import('../../lib/index.js');
const { workload } = await import('../../benchmarks/lib/workload.js');

const path = '/run/netns/c2';
const hostLinks = () => ipJson<{ ifname: string }[]>(['link', 'show']).map((l) => l.ifname).sort();
const mountsOn = (p: string) => netnsMounts().filter((m) => `/run/netns/${m.name}` === p);

/** Settles within `ms`, or says it is still pending (a blocked addon thread never settles). */
function within<T>(p: Promise<T>, ms: number): Promise<{ value?: T; error?: any; pending?: true }> {
  return Promise.race([
    p.then((value) => ({ value }), (error) => ({ error })),
    new Promise<{ pending: true }>((r) => setTimeout(() => r({ pending: true }), ms)),
  ]);
}

/** Unblocks a thread stuck opening the FIFO for reading, if any (the code before the fix). */
function releaseFifoReader(fifo: string): void {
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // ENXIO: nobody is waiting to read it
  }
}

interface Foreign {
  what: string;
  make(): void;
  /** The words the refusal uses for it. */
  says: RegExp;
}

const stash = '/tmp/rtnetlink-run-dir-test';

/** Everything that tells one file from another, read without opening it (except file data). */
function snapshot(p: string): unknown {
  const st = lstatSync(p);
  return {
    mode: st.mode,
    ino: st.ino,
    dev: st.dev,
    rdev: st.rdev,
    size: st.size,
    ...(st.isSymbolicLink() ? { target: readlinkSync(p) } : {}),
    // Through the mount, if any: what it shows (stat does not open).
    shows: (({ ino, dev, mode, size }) => ({ ino, dev, mode, size }))(statSync(p, { throwIfNoEntry: false }) ?? { ino: 0, dev: 0, mode: 0, size: 0 }),
    ...(st.isFile() && mountsOn(p).length === 0 ? { data: readFileSync(p, 'utf8') } : {}),
    mounts: mountsOn(p),
  };
}

/** Binds a namespace of `type` onto the file `p`: a new one for mnt, the process's own otherwise.
 *  The kernel refuses to bind a mount namespace whose id is not above the binder's (a loop guard),
 *  and this kernel hands out namespace ids from per-CPU batches, so a namespace made later on
 *  another CPU can carry a smaller id. The CPU that made ours is always above it: try each CPU. */
function bindNamespace(type: 'mnt' | 'uts', p: string): void {
  writeFileSync(p, '');
  if (type === 'uts') {
    execFileSync('mount', ['--bind', '/proc/self/ns/uts', p]);
    return;
  }
  const script = 'taskset -c "$2" unshare --mount --propagation private sleep 30 & p=$!; ' +
    'while [ "$(readlink /proc/$p/ns/mnt)" = "$(readlink /proc/self/ns/mnt)" ]; do sleep 0.01; done; ' +
    'mount --bind /proc/$p/ns/mnt "$1" 2>/dev/null; r=$?; kill $p; exit $r';
  for (let cpu = 0; cpu < cpus().length; cpu++) {
    try {
      execFileSync('sh', ['-c', script, 'sh', p, String(cpu)]);
      return;
    } catch {
      // This CPU's batch of ids is below ours; the next one may not be.
    }
  }
  throw new Error(`no CPU made a mount namespace the kernel lets us bind onto ${p}`);
}

const foreign: Foreign[] = [
  { what: 'a regular file holding data', make: () => writeFileSync(path, "somebody else's data"), says: /exists and is a regular file of 20 bytes/ },
  { what: 'a FIFO', make: () => execFileSync('mkfifo', [path]), says: /exists and is a FIFO/ },
  { what: 'a character device', make: () => execFileSync('mknod', [path, 'c', '1', '3']), says: /exists and is a character device/ },
  { what: 'a directory', make: () => mkdirSync(path), says: /exists and is a directory/ },
  { what: 'a symbolic link', make: () => symlinkSync('/proc/self/ns/net', path), says: /exists and is a symbolic link/ },
  { what: 'a bind mount of a mount namespace', make: () => bindNamespace('mnt', path), says: /exists and is a mount namespace/ },
  { what: 'a bind mount of a UTS namespace', make: () => bindNamespace('uts', path), says: /exists and is a UTS namespace/ },
  {
    what: 'an empty file with another file mounted on it',
    make: () => {
      writeFileSync(stash, '');
      writeFileSync(path, '');
      execFileSync('mount', ['--bind', stash, path]);
    },
    says: /exists and is an empty file with something mounted on it/,
  },
];

describe.skipIf(!inSandbox)(`the run dir is shared: what is not ours is refused and left alone${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  beforeEach(() => resetSandbox());
  afterEach(() => {
    releaseFifoReader(path);
    for (let i = 0; i < 3; i++) {
      try {
        execFileSync('umount', [path], { stdio: 'ignore' });
      } catch {
        break;
      }
    }
    rmSync(path, { recursive: true, force: true });
    rmSync(stash, { force: true });
    resetSandbox();
  });

  for (const f of foreign) {
    it(`apply refuses ${f.what} where a namespace should be, says what it is, and leaves it untouched`, async () => {
      f.make();
      const before = snapshot(path);
      const r = await within(lib.applyTopology(workload(3)), 5_000);
      expect(r.pending, 'apply still pending after 5 s').toBeUndefined();
      expect(r.error).toBeInstanceOf(lib.TopologyError);
      const failed = r.error.results.filter((x: any) => !x.ok);
      expect(failed.map((x: any) => x.item)).toEqual(['c2']);
      expect(failed[0].error).toMatchObject({ code: 'EEXIST', path, object: 'c2' });
      expect(failed[0].error.message).toMatch(f.says);
      expect(failed[0].error.message).toMatch(/not a network namespace/);
      expect(snapshot(path)).toEqual(before);
      // The rollback removed what the apply made, and only that.
      expect(hostLinks()).toEqual(['lo']);
      expect(netnsMounts().map((m) => m.name)).toEqual(f.what.includes('mounted') || f.what.includes('bind mount') ? ['c2'] : []);
      // Destroy (rtnl down) does not remove it either.
      await expect(lib.deleteNamespace('c2')).rejects.toMatchObject({ path, message: expect.stringMatching(/not a network namespace/) });
      expect(snapshot(path)).toEqual(before);
    });
  }

  it('a FIFO in the run dir or at a path is refused at once, and every other request keeps working', async () => {
    execFileSync('mkfifo', [path]);
    const fifo = `${stash}.fifo`;
    execFileSync('mkfifo', [fifo]);
    try {
      for (const target of ['c2', { path }, { path: fifo }] as const) {
        const r = await within(lib.openNamespace(target), 2_000);
        expect(r.pending, `openNamespace(${JSON.stringify(target)}) still pending after 2 s`).toBeUndefined();
        expect(r.error).toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/is a FIFO, not a network namespace/) });
      }
      const links = await within(lib.listLinks(), 2_000);
      expect(links.pending, 'listLinks pending').toBeUndefined();
      expect(links.value!.map((l) => l.name)).toEqual(['lo']);
      const monitor = await lib.monitorLinks();
      const seen = new Promise((resolve) => monitor.on('link', (e) => e.link.name === 'b9' && resolve(e)));
      const bridge = await within(lib.createBridge('b9', { up: true }), 2_000);
      expect(bridge.pending, 'createBridge pending').toBeUndefined();
      const address = await within(lib.addAddress('b9', '10.9.0.1/24'), 2_000);
      expect(address.pending, 'addAddress pending').toBeUndefined();
      expect(address.error).toBeUndefined();
      expect((await within(seen, 2_000)).pending, 'the monitor saw nothing').toBeUndefined();
      monitor.close();
      expect(ipJson<any[]>(['addr', 'show', 'b9'])[0].addr_info.map((a: any) => a.local)).toContain('10.9.0.1');
      // Both FIFOs are still FIFOs, never opened.
      expect(lstatSync(path).isFIFO() && lstatSync(fifo).isFIFO()).toBe(true);
    } finally {
      releaseFifoReader(path);
      releaseFifoReader(fifo);
      rmSync(fifo, { force: true });
    }
  });

  it('an empty file left by a crash of ours (mode 0400) is removed and the namespace made, at once', async () => {
    writeFileSync(path, '', { mode: 0o400 });
    const r = await lib.applyTopology(workload(3));
    expect(r.items.find((i) => i.item === 'c2')).toMatchObject({ ok: true, existed: false });
    expect(mountsOn(path)).toEqual([expect.objectContaining({ fstype: 'nsfs' })]);
    expect(ipJson<any[]>(['link', 'show'], 'c2').map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
  });

  it('an empty file of another tool (mode 0, as ip netns add makes it) is given time to be mounted, then refused as not ours', async () => {
    // What `ip netns add` does, slowly: the file first, the mount 500 ms later.
    writeFileSync(path, '', { mode: 0 });
    const other = await lib.createNamespace();
    const mounted = new Promise<void>((resolve, reject) =>
      setTimeout(() => {
        try {
          execFileSync('mount', ['--bind', `/proc/${process.pid}/fd/${other.fd}`, path]);
          resolve();
        } catch (e) {
          reject(e);
        }
      }, 500),
    );
    mounted.catch(() => {});
    const err = await lib.applyTopology(workload(3)).catch((e) => e);
    await mounted;
    // Waited for, not deleted: the other tool's mount went through, and its namespace (which
    // does not carry the topology's mark) was left alone.
    expect(err.results.find((i: any) => i.item === 'c2').error).toMatchObject({ code: 'EEXIST', object: 'netns c2' });
    expect(statSync(path).ino).toBe(other.id.ino);
    expect((await other.listLinks()).map((l) => l.name)).toEqual(['lo']);
    // ip(8), through the name the other tool mounted, sees the same untouched namespace.
    expect(ipJson<{ ifname: string }[]>(['link', 'show'], 'c2').map((l) => l.ifname)).toEqual(['lo']);
    other.close();
  });

  it('an empty file of another tool that is never mounted is a crash leftover too, once it is old enough', async () => {
    writeFileSync(path, '', { mode: 0 });
    const r = await lib.applyTopology(workload(3));
    expect(r.items.find((i) => i.item === 'c2')).toMatchObject({ ok: true, existed: false });
    expect(mountsOn(path)).toEqual([expect.objectContaining({ fstype: 'nsfs' })]);
  });

  it('deleteNamespace removes a crash leftover, and still deletes real namespaces', async () => {
    writeFileSync(path, '', { mode: 0o400 });
    await expect(lib.deleteNamespace('c2')).resolves.toMatchObject({ name: 'c2' });
    expect(() => lstatSync(path)).toThrow(/ENOENT/);
    (await lib.createNamespace('c2')).close();
    await lib.deleteNamespace('c2');
    expect(() => lstatSync(path)).toThrow(/ENOENT/);
    expect(mountsOn(path)).toEqual([]);
  });
});
