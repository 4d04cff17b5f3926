// One CNI call, from its environment and stdin to its stdout and exit status: the part of the
// plugin that the daemon and the one-shot fallback share.
import { SUPPORTED_VERSIONS, parseEnv, parseNetConf, type BridgeNetConf } from './config.js';
import { CniCode, CniError, toCniError } from './errors.js';
import type { CniReply, CniRequest } from './frame.js';
import { cmdAdd, cmdCheck, cmdDel, cmdGc, type CallContext } from './bridge.js';

const LATEST: string = SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1]!;

const json = (value: unknown) => Buffer.from(`${JSON.stringify(value)}\n`);

/** The cniVersion an error is reported in: the config's when it is one we speak. */
function versionForError(stdin: Buffer): string {
  try {
    const v = (JSON.parse(stdin.toString('utf8')) as { cniVersion?: unknown }).cniVersion;
    if (typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v)) return v;
  } catch {
    // not JSON: the latest
  }
  return LATEST;
}

/** VERSION: the versions we speak. Cheap on purpose: podman asks dozens of times a run. */
function version(stdin: Buffer): CniReply {
  let requested: unknown;
  try {
    requested = stdin.length === 0 ? undefined : (JSON.parse(stdin.toString('utf8')) as { cniVersion?: unknown }).cniVersion;
  } catch (e) {
    throw new CniError(CniCode.DecodingFailure, 'failed to decode the network config', (e as Error).message);
  }
  const cniVersion = typeof requested === 'string' && requested !== '' ? requested : LATEST;
  return { status: 0, stdout: json({ cniVersion, supportedVersions: SUPPORTED_VERSIONS }) };
}

/**
 * Runs one CNI call and returns what the plugin prints and its exit status; never throws (a
 * failure is the spec's error object on stdout with status 1).
 * @example
 * ```ts
 * const reply = await handleCniRequest({ env: { CNI_COMMAND: 'VERSION' }, stdin: Buffer.from('{"cniVersion":"1.1.0"}') });
 * process.stdout.write(reply.stdout);
 * ```
 */
export async function handleCniRequest(req: CniRequest): Promise<CniReply> {
  try {
    const env = parseEnv(req.env);
    if (env.command === 'VERSION') return version(req.stdin);
    const conf: BridgeNetConf = parseNetConf(req.stdin);
    const ctx: CallContext = { env, rawEnv: req.env, stdin: req.stdin };
    switch (env.command) {
      case 'ADD':
        return { status: 0, stdout: json(await cmdAdd(conf, ctx)) };
      case 'DEL':
        await cmdDel(conf, ctx);
        return { status: 0, stdout: Buffer.alloc(0) };
      case 'CHECK':
        await cmdCheck(conf, ctx);
        return { status: 0, stdout: Buffer.alloc(0) };
      case 'GC':
        await cmdGc(conf, ctx);
        return { status: 0, stdout: Buffer.alloc(0) };
      case 'STATUS':
        // Served by a running daemon over the library: ready whenever we are asked.
        return { status: 0, stdout: Buffer.alloc(0) };
    }
  } catch (e) {
    return errorReply(toCniError(e), versionForError(req.stdin));
  }
}

/** The spec's error object on stdout, exit status 1. */
export function errorReply(e: CniError, cniVersion = LATEST): CniReply {
  return { status: 1, stdout: json(e.toJSON(cniVersion)) };
}

/** A call's key for serialisation: calls for one container run one after another. */
export function serialisationKey(req: CniRequest): string | undefined {
  const cmd = req.env.CNI_COMMAND;
  if (cmd === 'ADD' || cmd === 'DEL' || cmd === 'CHECK') return `c:${req.env.CNI_CONTAINERID ?? ''}`;
  return undefined;
}
