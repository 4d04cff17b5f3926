// rtnl cni-daemon / rtnl cni-plugin: the CNI plugin's daemon and its one-shot fallback
// (lib/cni/), which reads the CNI environment and stdin itself.
import type { Command } from '../command.js';

export const cniCommands: Command[] = [
  {
    words: ['cni-daemon'],
    synopsis: '[--socket PATH] [--verbose] [--print-shim]',
    summary: 'serve the rtnetlink CNI plugin: the shim runtimes exec forwards each call here (docs/CNI.md)',
    details: 'The socket is root only; install the shim as /opt/cni/bin/rtnetlink. SIGTERM lets the calls under way finish, then exits.',
    options: {
      socket: { type: 'string', description: 'the unix socket to listen on (default /run/rtnetlink/cni.sock)', valueName: 'PATH' },
      verbose: { type: 'boolean', short: 'v', description: 'one line per call on stderr' },
      'print-shim': { type: 'boolean', description: 'print the path of the rtnetlink-cni shim, and exit' },
    },
    async run({ options }) {
      const { runCniDaemon } = await import('../../cni/daemon.js');
      return runCniDaemon({
        ...(typeof options.socket === 'string' ? { socket: options.socket } : {}),
        ...(options.verbose === true ? { verbose: true } : {}),
        ...(options['print-shim'] === true ? { printShim: true } : {}),
      });
    },
  },
  {
    words: ['cni-plugin'],
    summary: "one CNI call in this process, from the CNI environment and stdin (the shim's \"fallback\": \"exec\")",
    async run() {
      return (await import('../../cni/daemon.js')).runCniPlugin();
    },
  },
];
