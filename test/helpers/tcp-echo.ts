// One TCP exchange between two namespaces: the server in `serverNs` answers "echo <what it
// read>" once the client has finished sending; resolves with both sides' views.
interface Listening {
  listen(opts: { port: number; host: string }): Promise<import('node:net').Server>;
}
interface Connecting {
  connect(opts: { port: number; host: string }): Promise<import('node:net').Socket>;
}

export async function tcpEcho(serverNs: Listening, clientNs: Connecting, host: string, port: number, text: string): Promise<{ received: string; reply: string }> {
  const server = await serverNs.listen({ port, host });
  try {
    const received = new Promise<string>((resolve) => {
      server.once('connection', (s) => {
        let got = '';
        s.on('data', (d) => (got += d));
        s.on('end', () => {
          s.end(`echo ${got}`);
          resolve(got);
        });
      });
    });
    const socket = await clientNs.connect({ host, port });
    socket.end(text);
    let reply = '';
    socket.on('data', (d) => (reply += d));
    await new Promise((r) => socket.once('close', r));
    return { received: await received, reply };
  } finally {
    server.close();
  }
}
