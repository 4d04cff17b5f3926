// What each part of the tutorial's bonus costs from Node (median of R runs, inside the sandbox):
//   scripts/sandbox npx tsx benchmarks/parts.ts
import * as rt from '../lib/index.js';
import { buildTutorial, teardownTutorial } from '../examples/pb-and-jelly.js';
import { median } from './lib/stats.js';

const R = 25;
async function time(label: string, fn: (i: number) => Promise<unknown>, before?: () => Promise<unknown>): Promise<void> {
  const xs: number[] = [];
  for (let i = 0; i < R; i++) {
    await before?.();
    const t = performance.now();
    await fn(i);
    xs.push(performance.now() - t);
  }
  console.log(`${label.padEnd(58)} ${median(xs).toFixed(3).padStart(8)} ms`);
}

for (const h of await buildTutorial()) h.close();
const pb = await rt.openNamespace('pb');
const jelly = await rt.openNamespace('jelly');

await time('addMasquerade (new rule: list + one nf_tables batch)', () => rt.addMasquerade({ source: '192.168.0.0/24' }), () => rt.removeAllMasquerades());
await time('addMasquerade (rule exists: one dump)', () => rt.addMasquerade({ source: '192.168.0.0/24' }));
await time('listMasquerades', () => rt.listMasquerades());
await time('setSysctl net.ipv4.ip_forward (host)', () => rt.enableForwarding());
await time('setSysctl net.ipv4.ip_forward (inside pb, by handle)', () => pb.enableForwarding());
await time('setSysctl inside pb, by name (opens the namespace)', () => rt.enableForwarding({ netns: 'pb' }));
await time('execFile(pb, "true") (spawn, setns, exec, exit)', () => pb.execFile('true'));
await time('execFile(jelly, "ping -c1 192.168.0.56")', () => jelly.execFile('ping', ['-c1', '-W1', '192.168.0.56']));
const server = await pb.listen({ host: '192.168.0.56', port: 0 }, (s) => s.pipe(s));
const port = (server.address() as { port: number }).port;
await time('connect from jelly to pb + 1 KiB echoed back', async () => {
  const sock = await jelly.connect({ host: '192.168.0.56', port });
  await new Promise<void>((resolve) => {
    let got = 0;
    sock.on('data', (d) => {
      got += d.length;
      if (got >= 1024) resolve();
    });
    sock.write(Buffer.alloc(1024, 7));
  });
  sock.destroy();
});
server.close();
pb.close();
jelly.close();
await teardownTutorial();
