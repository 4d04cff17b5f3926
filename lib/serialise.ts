// Calls that must not overlap when they share a key (one namespace's nf_tables rules, one
// container's CNI calls), while calls with other keys run at once.

/** A runner of `fn` after every earlier call with the same key has finished, whatever their
 *  outcome. Each runner has keys of its own. */
export function keyedSerialiser(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return next;
  };
}
