// destroyTopology: removes what carries the topology's mark (marks.ts), and only that.
import { NetlinkError } from '../errors.js';
import { waitForLinksGone } from '../monitor.js';
import { deleteNamespace, openNamespace } from '../namespace.js';
import { removeMasquerade } from '../nftables/masquerade.js';
import { removePortForward } from '../nftables/portforward.js';
import { deleteLinkGroup, listLinks } from '../route/links.js';
import { namespaceGroup } from './marks.js';
import { destroyOptions, topologyGroup, validateTopologySliced, type ApplyResult, type DestroyOptions, type DestroyResult, type TopologySpec } from './spec.js';

const isCode = (e: unknown, code: string) => e instanceof NetlinkError && e.code === code;

type Verdict = 'deleted' | 'missing' | 'notOurs';

async function destroyNamespace(name: string, group: number): Promise<Verdict> {
  let ns;
  try {
    ns = await openNamespace(name);
  } catch (e) {
    if (isCode(e, 'ENOENT')) return 'missing';
    if (!isCode(e, 'EINVAL') && !isCode(e, 'ELOOP')) throw e;
    // No network namespace: deleteNamespace removes a crash leftover (judged under the run
    // dir's lock) and refuses anything else.
    try {
      await deleteNamespace(name);
      return 'deleted';
    } catch (e2) {
      if (isCode(e2, 'EINVAL') || isCode(e2, 'ELOOP')) return 'notOurs';
      if (isCode(e2, 'ENOENT')) return 'missing';
      throw e2;
    }
  }
  try {
    if ((await namespaceGroup(ns)) !== group) return 'notOurs';
  } finally {
    ns.close();
  }
  await deleteNamespace(name).catch((e) => (isCode(e, 'ENOENT') ? undefined : Promise.reject(e)));
  return 'deleted';
}

/**
 * Removes what applyTopology(spec) built, and only that: the host links carrying the
 * topology's link group (one RTM_DELLINK for all of them: bridges it created, veth host ends,
 * and so their peers), the named namespaces whose loopback carries the group (with everything
 * inside them: a host namespace's bridges, vxlans, links and entries), and the spec's
 * masquerade rules (the library's own nf_tables table). A bridge that existed before the apply,
 * or anything else of the same name that is not the topology's, is left alone and reported in
 * `notOurs`. Missing parts are fine. Sysctls stay as they are.
 *
 * @example
 * ```ts
 * const { deletedNamespaces, notOurs } = await destroyTopology(spec);
 * ```
 */
export async function destroyTopology(target: TopologySpec | ApplyResult, opts: DestroyOptions = {}): Promise<DestroyResult> {
  const applied = target !== null && typeof target === 'object' && 'items' in target && 'spec' in target ? (target as ApplyResult) : undefined;
  const spec = applied ? applied.spec : (target as TopologySpec);
  const { maxNamespaces, wait, signal, timeout } = destroyOptions.check(opts, 'options');
  await validateTopologySliced(spec, maxNamespaces === undefined ? {} : { maxNamespaces }, 4);
  const group = topologyGroup(spec);
  const result: DestroyResult = { deletedNamespaces: [], deletedLinks: [], removedMasquerades: 0, removedPortForwards: 0, missing: [], notOurs: [] };

  for (const m of spec.masquerade ?? []) if (await removeMasquerade(m)) result.removedMasquerades++;
  for (const f of spec.portForwards ?? []) if (await removePortForward(f)) result.removedPortForwards++;
  // Anonymous namespaces go when their last handle closes; their veths follow.
  for (const ns of applied?.namespaces.values() ?? []) ns.close();

  const links = await listLinks();
  const ours = links.filter((l) => l.group === group);
  const byName = new Map(links.map((l) => [l.name, l]));
  // (A veth end in a host namespace goes with that namespace, or with its container's.)
  const hostEnds = (spec.namespaces ?? []).flatMap((n) => (n.interfaces ?? []).filter((f) => f.hostNamespace === undefined).map((f) => f.hostName));
  const named = [...(spec.bridges ?? []).map((b) => b.name), ...hostEnds];
  for (const name of named) {
    const l = byName.get(name);
    if (l && l.group !== group) result.notOurs.push(name);
  }
  // The whole group in one message: one batched unregister in the kernel, one RCU wait.
  if (ours.length > 0) await deleteLinkGroup(group).catch((e) => (isCode(e, 'ENODEV') ? undefined : Promise.reject(e)));
  result.deletedLinks = ours.map((l) => l.name);

  const names = (spec.namespaces ?? []).filter((n) => !n.anonymous).map((n) => n.name);
  const verdicts = new Array<Verdict>(names.length);
  let next = 0;
  const worker = async () => {
    while (next < names.length && !signal?.aborted) {
      const i = next++;
      verdicts[i] = await destroyNamespace(names[i]!, group);
    }
  };
  await Promise.all(Array.from({ length: Math.min(64, names.length) }, worker));
  signal?.throwIfAborted();
  names.forEach((name, i) => {
    const v = verdicts[i]!;
    if (v === 'deleted') result.deletedNamespaces.push(name);
    else if (v === 'missing') result.missing.push(name);
    else result.notOurs.push(`netns ${name}`);
  });

  // The kernel removes links after the calls return: wait until it really has.
  if (wait !== false && ours.length > 0) {
    await waitForLinksGone(ours.map((l) => l.index), { ...(timeout !== undefined ? { timeout } : {}), ...(signal ? { signal } : {}) });
  }
  return result;
}
