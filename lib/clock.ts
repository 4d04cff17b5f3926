// The library's monotonic clock.

/**
 * Milliseconds on a monotonic clock, for deadlines and durations. Not the global
 * `performance`: Node loads its perf_hooks modules on the first use of that global, about 1 ms
 * that a process's first request would pay.
 */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}
