// The run dir (/run/netns) is shared with iproute2 and every other tool. A name in it that is
// no network namespace is either a crash leftover of a creation (an empty file that never got
// its mount) or somebody else's file; native/netns.cc tells them apart under the run dir's lock,
// which every creation of ours holds (shared) until it has mounted.
import { native } from './native.js';
import { runDir, withObject } from './handle.js';

/**
 * Judges RUN_DIR/NAME, which exists and is no network namespace: removes it if it is a crash
 * leftover ('removed'), or says it became a namespace meanwhile ('network': a creation was in
 * progress) or is gone ('gone'). Anything else rejects with EEXIST, saying what it is, and is
 * left exactly as it was.
 */
export function clearCrashLeftover(name: string): Promise<'removed' | 'network' | 'gone'> {
  return withObject(native.clearNetnsLeftover(runDir(), name), name, 'netns add');
}
