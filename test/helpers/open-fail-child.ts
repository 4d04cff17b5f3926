// A fresh process whose first host socket cannot be opened (the addon's open fails once with
// EMFILE): the first call must reject with that error, and the next call open a socket anew.
// Prints one JSON line. Run by test/integration/errors.test.ts.
import { native } from '../../lib/native.js';
import { NetlinkError } from '../../lib/errors.js';

const lib = await import('../../lib/index.js');
const realOpen = native.openNetlink;
let opens = 0;
native.openNetlink = ((...args: Parameters<typeof realOpen>) => {
  opens++;
  return opens === 1 ? Promise.reject(new NetlinkError({ errno: -24, syscall: 'socket' })) : realOpen(...args);
}) as typeof realOpen;
const first = await lib.listLinks().then(
  () => ({ ok: true }),
  (e: NetlinkError) => ({ ok: false, code: e.code, syscall: e.syscall, operation: e.operation }),
);
const second = await lib.listLinks().then((links) => links.map((l) => l.name));
console.log(JSON.stringify({ first, second, opens }));
process.exit(0);
