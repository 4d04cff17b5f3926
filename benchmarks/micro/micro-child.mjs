// One JS measurement of benchmarks/micro/micro.ts, in its own sandbox: plain Node loading the
// shipped build (dist/), as users run it, or lib/ when run with --import tsx (the entry comes
// from RTNETLINK_MICRO_ENTRY). Works on link 2, the bridge m0 the wrapper made, as the C side
// does. Batches are `batch` calls awaited with Promise.all (mode 'calls'), or one ChangeList
// of `batch` changes (mode 'list'). Prints one JSON line.
const [op, batchText, countText, mode = 'calls'] = process.argv.slice(2);
const rt = await import(process.env.RTNETLINK_MICRO_ENTRY ?? '../../dist/index.js');
const count = Number(countText);
const batch = Number(batchText);
const one = (k) => (op === 'up' ? rt.setLinkUp(2) : k % 2 ? rt.deleteAddress(2, '10.9.0.1/24') : rt.addAddress(2, '10.9.0.1/24'));
// A ChangeList of `batch` changes, built anew each time as the calls are; any refusal is a
// failed measurement.
async function sendList(done) {
  const list = rt.changeList();
  for (let k = done; k < done + batch; k++) {
    if (op === 'up') list.setLinkUp(2);
    else if (k % 2) list.deleteAddress(2, '10.9.0.1/24');
    else list.addAddress(2, '10.9.0.1/24');
  }
  const { failed, errors } = await list.send();
  if (failed > 0) throw errors.find(Boolean);
}
async function measure(n) {
  const t = performance.now();
  for (let done = 0; done < n; done += batch) {
    if (batch === 1) await one(done);
    else if (mode === 'calls') await Promise.all(Array.from({ length: batch }, (_, k) => one(done + k)));
    else await sendList(done);
  }
  return ((performance.now() - t) * 1000) / n;
}
// Warm the JIT and the threads with the same loop (a batch's code runs once per 64 changes,
// so a short warm-up would leave it half-optimized).
await measure(Math.max(2000, Math.min(count, 20000)));
console.log(JSON.stringify({ usPerOp: await measure(count) }));
process.exit(0);
