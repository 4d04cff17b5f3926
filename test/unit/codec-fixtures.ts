// Loads the byte fixtures captured from this kernel by scripts/capture-fixtures.sh: every
// netlink message `ip` sent or received for one command, in order.
import { readFileSync, readdirSync } from 'node:fs';
import { ByteWriter } from '../../lib/netlink/attributes.js';
import { type NetlinkMessage, parseMessages } from '../../lib/netlink/message.js';

export interface FixtureMessage {
  dir: 'send' | 'recv';
  /** Index of the sendmsg/recvmsg call it travelled in. */
  datagram: number;
  /** 'RTM_NEWLINK', 'NLMSG_ERROR', ... */
  type: string | number;
  bytes: Buffer;
  msg: NetlinkMessage;
}

export interface Fixture {
  name: string;
  command: string;
  messages: FixtureMessage[];
}

const dir = new URL('../fixtures/rtnetlink/', import.meta.url);

export function loadFixture(name: string): Fixture {
  const raw = JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8')) as {
    command: string;
    messages: { dir: 'send' | 'recv'; datagram: number; type: string | number; hex: string }[];
  };
  return {
    name,
    command: raw.command,
    messages: raw.messages.map((m) => {
      const bytes = Buffer.from(m.hex, 'hex');
      const [msg] = parseMessages(bytes);
      return { dir: m.dir, datagram: m.datagram, type: m.type, bytes, msg: msg! };
    }),
  };
}

export function allFixtures(): Fixture[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => loadFixture(f.slice(0, -'.json'.length)));
}

/** The messages of one direction and type, in order. */
export function pick(f: Fixture, dir: 'send' | 'recv', type: string): FixtureMessage[] {
  return f.messages.filter((m) => m.dir === dir && m.type === type);
}

/** The last message of this type `ip` sent: the request under test (ip sends a probe first). */
export function lastSent(f: Fixture, type: string): FixtureMessage {
  const sent = pick(f, 'send', type);
  if (sent.length === 0) throw new Error(`${f.name}: no ${type} sent`);
  return sent[sent.length - 1]!;
}

/** Our encoder's output for one message, with the fixture message's header values. */
export function encodeLike(
  m: FixtureMessage,
  encode: (w: ByteWriter, type: number, flags: number, seq: number) => void,
): Buffer {
  const w = new ByteWriter();
  encode(w, m.msg.type, m.msg.flags, m.msg.seq);
  return w.take();
}

/** The kernel fills nlmsg_pid with our port id; our encoder writes 0. Compare without it. */
export function withoutPid(b: Buffer): Buffer {
  const copy = Buffer.from(b);
  copy.fill(0, 12, 16);
  return copy;
}
