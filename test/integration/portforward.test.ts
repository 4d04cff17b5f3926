// Port publishing (DNAT) with real traffic inside the sandbox: a "client" namespace reaches a
// server in a container namespace through the host's published port, and so does the host
// itself (the output hook). Rules cross-checked with `nft -j list ruleset`.
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSandbox, openFds, resetSandbox, sandboxSkipReason } from '../helpers/sandbox.js';
import { expectError } from '../helpers/expect-error.js';

const lib = await import('../../lib/index.js');

const nft = (netns?: string) => {
  const [cmd, ...args] = [...(netns ? ['ip', 'netns', 'exec', netns] : []), 'nft', '-j', 'list', 'ruleset'];
  const out = JSON.parse(execFileSync(cmd!, args, { encoding: 'utf8' })).nftables as any[];
  return { chains: out.filter((o) => o.chain).map((o) => o.chain), rules: out.filter((o) => o.rule).map((o) => o.rule), tables: out.filter((o) => o.table).map((o) => o.table) };
};
const dnatOf = (rule: any) => rule.expr.find((e: any) => e.dnat)?.dnat;

/** A TCP round trip: connects (inside `netns`, or from the host), reads the server's line. */
async function ask(host: string, port: number, netns?: InstanceType<typeof lib.Namespace>): Promise<string> {
  const socket = netns ? await lib.connect(netns, { host, port, timeout: 3000 }) : net.connect({ host, port });
  return new Promise((resolve, reject) => {
    let data = '';
    socket.setTimeout(3000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (d) => (data += d));
    socket.on('end', () => resolve(data.trim()));
    socket.on('error', reject);
  });
}

describe('port forward options are checked before anything is sent', () => {
  it('bad endpoints, families, loopback, unknown keys', async () => {
    const before = openFds().size;
    const bad = (opts: object, code: string, field: string) => expect(lib.addPortForward(opts as never)).rejects.toMatchObject({ code, field });
    await bad({ protocol: 'tcp', hostPort: 8080, to: '192.168.0.2' }, 'ERR_INVALID_ARG_VALUE', 'to');
    await bad({ protocol: 'tcp', hostPort: 8080, to: 'fd00::2:80' }, 'ERR_INVALID_ARG_VALUE', 'to');
    await bad({ protocol: 'tcp', hostPort: 8080, to: '[192.168.0.2]:80' }, 'ERR_INVALID_ARG_VALUE', 'to');
    await bad({ protocol: 'tcp', hostPort: 8080, to: '192.168.0.2:70000' }, 'ERR_INVALID_ARG_VALUE', 'to');
    await bad({ protocol: 'tcp', hostPort: 0, to: '192.168.0.2:80' }, 'ERR_INVALID_ARG_VALUE', 'hostPort');
    await bad({ protocol: 'sctp', hostPort: 1, to: '192.168.0.2:80' }, 'ERR_INVALID_ARG_VALUE', 'protocol');
    await bad({ protocol: 'tcp', hostPort: 1, to: '192.168.0.2:80', hostAddress: 'fd00::1' }, 'ERR_INVALID_ADDRESS', 'hostAddress');
    await bad({ protocol: 'tcp', hostPort: 1, to: '192.168.0.2:80', hostAddress: '127.0.0.1' }, 'ERR_INVALID_ADDRESS', 'hostAddress');
    await bad({ protocol: 'tcp', hostPort: 1, to: '192.168.0.2:80', containerPort: 80 }, 'ERR_UNKNOWN_OPTION', 'containerPort');
    await expect(lib.removePortForward({ protocol: 'tcp', port: 1 } as never)).rejects.toMatchObject({ code: 'ERR_UNKNOWN_OPTION', field: 'port', message: expect.stringContaining("did you mean") });
    expectError(() => lib.validateTopology({ portForwards: [{ protocol: 'tcp', hostPort: 80, to: 'x' }] }), lib.ArgumentError, 'ERR_INVALID_ARG_VALUE', 'portForwards[0].to');
    expectError(() => lib.validateTopology({ namespaces: [{ name: 'a', portForwards: [{ protocol: 'tcp', hostPort: 80, to: '10.0.0.1:80', netns: 'b' } as never] }] }), lib.ArgumentError, 'ERR_UNKNOWN_OPTION', 'namespaces[0].portForwards[0].netns');
    expect(openFds().size).toBe(before);
  });
});

describe.skipIf(!inSandbox)(`port forwards (DNAT)${sandboxSkipReason ? ` — skipped: ${sandboxSkipReason}` : ''}`, () => {
  let web: InstanceType<typeof lib.Namespace>;
  let client: InstanceType<typeof lib.Namespace>;
  const servers: { close(): void }[] = [];

  beforeAll(async () => {
    resetSandbox();
    // A container on a bridge, and a client outside, reaching the host through its own link.
    await lib.applyTopology({
      bridges: [{ name: 'br0', addresses: ['192.168.0.60/24'] }],
      namespaces: [
        { name: 'web', interfaces: [{ name: 'eth0', hostName: 'web0', master: 'br0', addresses: ['192.168.0.2/24'] }], routes: [{ to: 'default', via: '192.168.0.60' }] },
        { name: 'client', interfaces: [{ name: 'eth0', hostName: 'cl0', addresses: ['10.250.0.2/24'] }], routes: [{ to: 'default', via: '10.250.0.1' }] },
      ],
    });
    await lib.addAddress('cl0', '10.250.0.1/24');
    await lib.setLinkUp('cl0');
    await lib.enableForwarding();
    web = await lib.openNamespace('web');
    client = await lib.openNamespace('client');
    // The server says who it is and whom it sees.
    servers.push(await lib.listen(web, { host: '0.0.0.0', port: 80 }, (s) => s.end(`web saw ${s.remoteAddress}\n`)));
    const udp = await lib.bindUdp(web, { host: '0.0.0.0', port: 53 });
    udp.on('message', (msg, from) => udp.send(`echo ${msg}`, from.port, from.address));
    servers.push(udp);
  });
  afterAll(() => {
    for (const s of servers) s.close();
    web?.close();
    client?.close();
    resetSandbox();
  });

  it('without a forward, the published port is not there', async () => {
    await expect(ask('10.250.0.1', 8080, client)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('a TCP port published on every host address: from the client namespace and from the host itself', async () => {
    const r = await lib.addPortForward({ protocol: 'tcp', hostPort: 8080, to: '192.168.0.2:80' });
    expect(r).toMatchObject({ added: true, family: 4, protocol: 'tcp', hostPort: 8080, to: '192.168.0.2:80', handles: { prerouting: expect.any(String), output: expect.any(String) } });
    expect(r.hostAddress).toBeUndefined();
    // From outside: the server sees the client's own address (DNAT only).
    expect(await ask('10.250.0.1', 8080, client)).toBe('web saw 10.250.0.2');
    // From the host, to any of its addresses (output hook).
    expect(await ask('10.250.0.1', 8080)).toMatch(/^web saw /);
    expect(await ask('192.168.0.60', 8080)).toMatch(/^web saw /);

    const { chains, rules } = nft();
    expect(chains).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ family: 'ip', table: 'rtnetlink', name: 'prerouting', type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' }),
        expect.objectContaining({ family: 'ip', table: 'rtnetlink', name: 'output', type: 'nat', hook: 'output', prio: -100, policy: 'accept' }),
      ]),
    );
    expect(rules).toHaveLength(2);
    for (const rule of rules) {
      expect(dnatOf(rule)).toEqual({ addr: '192.168.0.2', port: 80 });
      expect(rule.comment).toBe('rtnetlink:dnat:tcp/8080->192.168.0.2:80');
      expect(JSON.stringify(rule.expr)).toContain('"fib"');
    }
    expect(String(rules.find((x) => x.chain === 'prerouting').handle)).toBe(r.handles.prerouting);
  });

  it('is idempotent (adding twice leaves one rule per chain); the same port elsewhere is EEXIST', async () => {
    const again = await lib.addPortForward({ protocol: 'tcp', hostPort: 8080, to: '192.168.0.2:80', hostAddress: '0.0.0.0' });
    expect(again.added).toBe(false);
    expect(nft().rules).toHaveLength(2);
    await expect(lib.addPortForward({ protocol: 'tcp', hostPort: 8080, to: '192.168.0.3:80' })).rejects.toMatchObject({ code: 'EEXIST', message: expect.stringContaining('already forwarded to 192.168.0.2:80') });
    // A rule someone deleted by hand is put back.
    execFileSync('nft', ['delete', 'rule', 'ip', 'rtnetlink', 'output', 'handle', again.handles.output!]);
    const repaired = await lib.addPortForward({ protocol: 'tcp', hostPort: 8080, to: '192.168.0.2:80' });
    expect(repaired).toMatchObject({ added: true, handles: { prerouting: again.handles.prerouting, output: expect.any(String) } });
    expect(nft().rules).toHaveLength(2);
  });

  it('UDP on one host address only', async () => {
    await lib.addPortForward({ protocol: 'udp', hostPort: 5353, hostAddress: '10.250.0.1', to: '192.168.0.2:53' });
    const sock = await lib.bindUdp(client, { host: '10.250.0.2', port: 0 });
    try {
      const answer = new Promise<string>((resolve, reject) => {
        sock.on('message', (m) => resolve(String(m)));
        setTimeout(() => reject(new Error('no answer')), 3000);
      });
      sock.send('ping', 5353, '10.250.0.1');
      expect(await answer).toBe('echo ping');
    } finally {
      sock.close();
    }
    const rule = nft().rules.find((x) => dnatOf(x)?.port === 53 && x.chain === 'prerouting');
    expect(JSON.stringify(rule.expr)).toContain('"daddr"');
    expect(JSON.stringify(rule.expr)).toContain('10.250.0.1');
  });

  it('lists both families; IPv6 rules as nft reads them', async () => {
    await lib.addPortForward({ protocol: 'tcp', hostPort: 8443, to: '[fd00::2]:443' });
    const list = await lib.listPortForwards();
    expect(list).toEqual([
      expect.objectContaining({ family: 4, protocol: 'tcp', hostPort: 8080, to: '192.168.0.2:80' }),
      expect.objectContaining({ family: 4, protocol: 'udp', hostPort: 5353, hostAddress: '10.250.0.1', to: '192.168.0.2:53' }),
      expect.objectContaining({ family: 6, protocol: 'tcp', hostPort: 8443, to: '[fd00::2]:443' }),
    ]);
    const v6 = nft().rules.filter((x) => x.family === 'ip6');
    expect(v6.map((x) => dnatOf(x))).toEqual([{ addr: 'fd00::2', port: 443 }, { addr: 'fd00::2', port: 443 }]);
  });

  it('remove one; remove all port forwards leaves the masquerade rules (and their table)', async () => {
    expect(await lib.removePortForward({ protocol: 'tcp', hostPort: 8080 })).toBe(true);
    expect(await lib.removePortForward({ protocol: 'tcp', hostPort: 8080 })).toBe(false);
    await expect(ask('10.250.0.1', 8080, client)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await lib.listPortForwards()).map((f) => f.hostPort)).toEqual([5353, 8443]);

    await lib.addMasquerade({ source: '192.168.0.0/24' });
    await lib.removeAllPortForwards();
    expect(await lib.listPortForwards()).toEqual([]);
    const left = nft();
    expect(left.chains.map((c) => `${c.family} ${c.name}`)).toEqual(['ip postrouting']);
    expect(left.rules).toHaveLength(1);
    await lib.removeAllMasquerades();
    expect(nft().tables).toEqual([]);
  });

  it('in a topology spec, on the host and inside a namespace; destroy removes the host ones', async () => {
    const spec = {
      namespaces: [{ name: 'router', loopback: true, portForwards: [{ protocol: 'tcp' as const, hostPort: 2222, to: '10.9.0.2:22' }] }],
      portForwards: [{ protocol: 'tcp' as const, hostPort: 9090, to: '192.168.0.2:80' }],
    };
    await lib.applyTopology(spec);
    expect(await ask('10.250.0.1', 9090, client)).toBe('web saw 10.250.0.2');
    expect(await lib.listPortForwards({ netns: 'router' })).toEqual([expect.objectContaining({ hostPort: 2222, to: '10.9.0.2:22', netns: 'router' })]);
    expect(nft('router').rules.map((x) => dnatOf(x))).toEqual([{ addr: '10.9.0.2', port: 22 }, { addr: '10.9.0.2', port: 22 }]);
    // Applying again adds nothing.
    await lib.applyTopology(spec);
    expect(nft().rules).toHaveLength(2);
    await lib.destroyTopology(spec);
    expect(await lib.listPortForwards()).toEqual([]);
    // nft agrees: no DNAT rule is left on the host, to 192.168.0.2:80 or anywhere.
    expect(nft().rules.map((x) => dnatOf(x)).filter((d) => d !== undefined)).toEqual([]);
  });
});
