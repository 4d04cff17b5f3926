// Turns an strace log (-e write=all -e read=all) of one `ip` command into a fixture:
// every netlink message sent or received, in order, as hex. See capture-fixtures.sh.
//   node scripts/capture-fixtures.mjs TRACE 'ip link show' > fixture.json
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';

const [tracePath, command] = process.argv.slice(2);

// Type names for readers of the fixture; the numbers come from our own constants file.
const names = new Map([[1, 'NLMSG_NOOP'], [2, 'NLMSG_ERROR'], [3, 'NLMSG_DONE'], [4, 'NLMSG_OVERRUN']]);
const consts = readFileSync(new URL('../lib/netlink/rtnetlink.ts', import.meta.url), 'utf8');
for (const [, name, value] of consts.matchAll(/export const (RTM_\w+) = (\d+);/g)) names.set(Number(value), name);

// Each sendmsg/recvmsg line is followed by hex dump lines of what it moved:
//   " | 00000  34 00 00 00 02 00 00 00  00 00 00 00 4e 0d 00 00  4...........N... |"
const datagrams = [];
let current = null;
for (const line of readFileSync(tracePath, 'utf8').split('\n')) {
  const call = /^(?:\d+\s+)?(sendmsg|sendto|recvmsg|recvfrom)\(/.exec(line);
  if (call) {
    // A MSG_PEEK read is repeated by the real read that follows it.
    current = line.includes('MSG_PEEK') ? null : { dir: call[1].startsWith('send') ? 'send' : 'recv', bytes: [] };
    if (current) datagrams.push(current);
    continue;
  }
  const dump = /^(?:\d+\s+)? \| [0-9a-f]{5,}  (.{48})/.exec(line);
  if (dump && current) current.bytes.push(...(dump[1].match(/[0-9a-f]{2}/g) ?? []));
}

const messages = [];
datagrams.forEach((d, datagram) => {
  const buf = Buffer.from(d.bytes.join(''), 'hex');
  for (let off = 0; off + 16 <= buf.length; ) {
    const len = buf.readUInt32LE(off);
    // ip sends some requests with its whole zeroed request buffer after the message.
    if (len === 0 && buf.subarray(off).every((b) => b === 0)) break;
    if (len < 16 || off + len > buf.length) throw new Error(`bad nlmsg_len ${len} at ${off} in datagram ${datagram}`);
    const type = buf.readUInt16LE(off + 4);
    messages.push({
      dir: d.dir,
      datagram,
      type: names.get(type) ?? type,
      flags: '0x' + buf.readUInt16LE(off + 6).toString(16),
      hex: buf.subarray(off, off + len).toString('hex'),
    });
    off += (len + 3) & ~3;
  }
});

const iproute2 = execFileSync('ip', ['-V'], { encoding: 'utf8' }).trim();
process.stdout.write(JSON.stringify({ command, kernel: release(), iproute2, messages }, null, 1) + '\n');
