// One JS measurement of benchmarks/micro/micro.ts, in its own sandbox: plain Node loading the
// shipped build (dist/), as users run it, or lib/ when run with --import tsx (the entry comes
// from RTNETLINK_MICRO_ENTRY). Works on link 2, the bridge m0 the wrapper made, as the C side
// does. Prints one JSON line.
const [op, batchText, countText] = process.argv.slice(2);
const rt = await import(process.env.RTNETLINK_MICRO_ENTRY ?? '../../dist/index.js');
const count = Number(countText);
const batch = Number(batchText);
const one = (k) => (op === 'up' ? rt.setLinkUp(2) : k % 2 ? rt.deleteAddress(2, '10.9.0.1/24') : rt.addAddress(2, '10.9.0.1/24'));
for (let k = 0; k < 2000; k++) await one(k); // warm the JIT and the threads
const t = performance.now();
for (let done = 0; done < count; done += batch) {
  if (batch === 1) await one(done);
  else await Promise.all(Array.from({ length: batch }, (_, k) => one(done + k)));
}
console.log(JSON.stringify({ usPerOp: ((performance.now() - t) * 1000) / count }));
process.exit(0);
