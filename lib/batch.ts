// An explicit group of calls: all are issued in the same tick, so the requests for one
// namespace share a sendmsg, and each call gets its own result (one failure fails only itself).

/**
 * Runs the calls together and resolves with each one's outcome, in order (as
 * Promise.allSettled). Requests to one connection are sent in the order of the calls, in one
 * sendmsg as far as the kernel allows (one dump per sendmsg). Never rejects as a whole.
 *
 * @example
 * ```ts
 * const pb = await openNamespace('pb');
 * const results = await batch([
 *   () => pb.setLinkUp('veth-pb'),
 *   () => pb.addAddress('veth-pb', '192.168.0.56/24'),
 *   () => pb.addRoute({ to: 'default', via: '192.168.0.60' }),
 * ]);
 * for (const r of results) if (r.status === 'rejected') console.error(r.reason);
 * ```
 */
export function batch<T extends readonly (() => Promise<unknown>)[]>(
  calls: T,
): Promise<{ [K in keyof T]: PromiseSettledResult<Awaited<ReturnType<T[K]>>> }> {
  // new Promise(...) also catches a call that throws before returning its promise.
  return Promise.allSettled(calls.map((call) => new Promise((resolve) => resolve(call())))) as never;
}
