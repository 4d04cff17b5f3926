// An IPAM plugin other than host-local, run as the spec says: found in CNI_PATH, given the
// same environment (CNI_COMMAND, CNI_CONTAINERID, ...) and the same config on stdin.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { ExecError, execFile } from '../exec.js';
import { openNamespace } from '../namespace.js';
import type { CniEnv, CniRoute, CniDns } from './config.js';
import { CniCode, CniError } from './errors.js';
import type { IpamResult } from './host-local.js';

/** The plugin's executable: the first CNI_PATH folder that has it. */
function findPlugin(type: string, path: readonly string[]): string {
  for (const dir of path) {
    const file = join(dir, type);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this folder
    }
  }
  throw new CniError(CniCode.IpamPluginFailed, `failed to find plugin "${type}" in path`, `[${path.join(' ')}]`);
}

/** Runs an IPAM plugin for `command`; resolves to its parsed stdout (undefined when empty).
 *  It runs through the library's execFile, in the daemon's own network namespace. */
export async function execIpam(type: string, command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS', env: CniEnv, rawEnv: Record<string, string | undefined>, stdin: Buffer): Promise<unknown> {
  const file = findPlugin(type, env.path);
  const here = await openNamespace({ path: '/proc/self/ns/net' });
  let stdout: string;
  try {
    const r = await execFile(here, file, [], {
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...definedOnly(rawEnv), CNI_COMMAND: command },
      input: stdin,
      timeout: 60_000,
    });
    stdout = r.stdout;
  } catch (e) {
    if (!(e instanceof ExecError)) throw new CniError(CniCode.IpamPluginFailed, `failed to run IPAM plugin "${type}"`, (e as Error).message);
    const out = parse(String(e.stdout), type) as { code?: number; msg?: string; details?: string } | undefined;
    throw new CniError(typeof out?.code === 'number' ? out.code : CniCode.IpamPluginFailed, out?.msg ?? `IPAM plugin "${type}" failed`, out?.details ?? String(e.stderr).trim());
  } finally {
    here.close();
  }
  return parse(stdout, type);
}

function parse(text: string, type: string): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  try {
    return JSON.parse(t);
  } catch {
    throw new CniError(CniCode.IpamPluginFailed, `IPAM plugin "${type}" printed something that is not JSON`, t.slice(0, 200));
  }
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** An IPAM plugin's ADD result (spec 1.0/1.1) as the bridge code needs it. */
export function ipamResultOf(value: unknown, type: string): IpamResult {
  const r = value as { ips?: { address?: unknown; gateway?: unknown }[]; routes?: { dst?: unknown; gw?: unknown }[]; dns?: CniDns } | undefined;
  if (!r || !Array.isArray(r.ips) || r.ips.length === 0) throw new CniError(CniCode.IpamPluginFailed, 'IPAM plugin returned missing IP config', type);
  const ips = r.ips.map((ip) => {
    if (typeof ip.address !== 'string') throw new CniError(CniCode.IpamPluginFailed, 'IPAM plugin returned an ip without address', type);
    return typeof ip.gateway === 'string' ? { address: ip.address, gateway: ip.gateway } : { address: ip.address };
  });
  const routes: CniRoute[] = (r.routes ?? []).map((x) => (typeof x.gw === 'string' ? { dst: String(x.dst), gw: x.gw } : { dst: String(x.dst) }));
  return r.dns ? { ips, routes, dns: r.dns } : { ips, routes };
}
