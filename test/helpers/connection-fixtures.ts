// What the connection's unit tests share: link requests to send, and connections over the
// in-memory kernel whose preconditions are checked after each test (closeConnections).
import { expect } from 'vitest';
import { Connection, type Encoder, type RequestOptions } from '../../lib/connection.js';
import { AttrWriter } from '../../lib/netlink/attributes.js';
import { NLM_F_CREATE, NLM_F_EXCL, writeMessage } from '../../lib/netlink/message.js';
import { FakeKernel, InlineFakeKernel, type Handler } from './fake-kernel.js';

export const RTM_NEWLINK = 16;
export const RTM_GETLINK = 18;
export const IFLA_IFNAME = 3;
export const IFINFOMSG_LEN = 16;

/** RTM_NEWLINK for `name`: ifinfomsg + IFLA_IFNAME, as the link codec writes it. */
export function link(name: string, type = RTM_NEWLINK, flags = NLM_F_CREATE | NLM_F_EXCL): Encoder {
  return (w, seq) => {
    writeMessage(w, type, flags, seq, (b) => {
      b.zeros(IFINFOMSG_LEN);
      new AttrWriter(b).string(IFLA_IFNAME, name);
    });
  };
}

export const getLinks: Encoder = (w, seq) => {
  writeMessage(w, RTM_GETLINK, 0, seq, (b) => b.zeros(IFINFOMSG_LEN));
};

export const op = (object = 'veth0', extra: Partial<RequestOptions> = {}): RequestOptions => ({ operation: 'RTM_NEWLINK', object, ...extra });

const kernels: FakeKernel[] = [];
const connections: Connection[] = [];

/** A connection whose transport also exchanges inline, as the addon's does. */
export function setupInline(handler?: Handler): { kernel: InlineFakeKernel; conn: Connection } {
  const kernel = new InlineFakeKernel(handler);
  const conn = new Connection(kernel);
  kernels.push(kernel);
  connections.push(conn);
  return { kernel, conn };
}

export function setup(handler?: Handler, defaultTimeout?: number): { kernel: FakeKernel; conn: Connection } {
  const kernel = new FakeKernel(handler);
  const conn = defaultTimeout === undefined ? new Connection(kernel) : new Connection(kernel, defaultTimeout);
  kernels.push(kernel);
  connections.push(conn);
  return { kernel, conn };
}

/** For afterEach: closes the test's connections, then checks that none broke the addon's
 *  preconditions, whatever the test asserted. */
export function closeConnections(): void {
  for (const c of connections.splice(0)) c.close();
  for (const k of kernels.splice(0)) expect(k.violations).toEqual([]);
}
