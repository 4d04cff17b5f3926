// One JS measurement of benchmarks/micro/micro.ts, in its own sandbox: plain Node loading the
// shipped build (dist/), as users run it, or lib/ when run with --import tsx (the entry comes
// from RTNETLINK_MICRO_ENTRY). Works on link 2, the bridge m0 the wrapper made, as the C side
// does. Batches are `batch` calls awaited with Promise.all (mode 'calls'), or one ChangeList
// of `batch` changes (mode 'list'); mode 'bare' is the addon alone (below). Prints one JSON line.
const [op, batchText, countText, mode = 'calls'] = process.argv.slice(2);
const entry = process.env.RTNETLINK_MICRO_ENTRY ?? new URL('../../dist/index.js', import.meta.url).href;
const rt = await import(entry);
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
// Wall time per op, and the process's CPU time per op (user + system, all threads), which a
// busy host inflates less: time the VM spends descheduled counts in wall time only.
async function measure(n) {
  const cpu = process.cpuUsage();
  const t = performance.now();
  for (let done = 0; done < n; done += batch) {
    if (bare) bare(done);
    else if (batch === 1) await one(done);
    else if (mode === 'calls') await Promise.all(Array.from({ length: batch }, (_, k) => one(done + k)));
    else await sendList(done);
  }
  const wall = ((performance.now() - t) * 1000) / n;
  const used = process.cpuUsage(cpu);
  return { usPerOp: wall, cpuUsPerOp: (used.user + used.system) / n };
}
// Mode 'bare': the library's own request bytes for the same operations, encoded once and
// numbered here, exchanged through the addon's inline call in a plain loop: no validation,
// encoding, queue, promise or decoding per op. What is left is the addon call and the kernel,
// the least any JS API over this addon can cost.
// A module beside the entry, with the entry's extension (dist/*.js, or lib/*.ts through tsx).
const sibling = (file) => new URL(file + entry.slice(-3), entry).href;
const bare = mode === 'bare' ? await bareExchange() : undefined;
async function bareExchange() {
  const { native } = await import(sibling('./native'));
  const { encodeForAddon } = await import(sibling('./connection'));
  const { linkUpRequest } = await import(sibling('./route/links'));
  const { addressRequest, deleteAddressRequest } = await import(sibling('./route/addresses'));
  const fd = await native.openNetlink(-1, 0, []);
  // Add and delete alternate, as in the other modes: a batch of 64 is 32 of each.
  const ops = op === 'up' ? [linkUpRequest(2)] : [addressRequest(2, '10.9.0.1/24'), deleteAddressRequest(2, '10.9.0.1/24')];
  const requests = Array.from({ length: batch }, (_, k) => ops[k % ops.length]);
  const { bytes, starts } = encodeForAddon(requests);
  const answers = Buffer.alloc(256 * 1024);
  const singles = ops.map((r) => encodeForAddon([r]).bytes);
  let seq = 1;
  return (done) => {
    const request = batch === 1 ? singles[done % singles.length] : bytes;
    const at = batch === 1 ? [0] : starts;
    for (let k = 0; k < at.length; k++) request.writeUInt32LE(seq + k, at[k] + 8);
    const got = native.transactInline(fd, request, seq, at.length, at.length, answers);
    seq += at.length;
    if (typeof got !== 'number') throw new Error('the kernel did not answer within send()');
    for (let off = 0, len; off < got; off += len) {
      len = answers.readUInt32LE(off);
      if (len < 20 || answers.readInt32LE(off + 16) !== 0) throw new Error(`not an ACK at ${off}: length ${len}, error ${answers.readInt32LE(off + 16)}`);
    }
  };
}
// Warm the JIT and the threads with the same loop (a batch's code runs once per 64 changes,
// so a short warm-up would leave it half-optimized).
await measure(Math.max(2000, Math.min(count, 20000)));
console.log(JSON.stringify(await measure(count)));
process.exit(0);
