/**
 * The shortest interval `-I` accepts (a light module: the option table
 * loads it at start-up).
 *
 * @module
 */

/**
 * The shortest interval `-I` accepts, ms. Each interval is a sampling tick
 * and one line; the profiler's CPU grows as the interval shrinks (measured
 * in docs/PERFORMANCE.md), and below 10 ms Deno's ~1 ms timer lateness is
 * over a tenth of the interval, as `perf stat -I` also warns.
 */
export const MIN_LIVE_INTERVAL_MS = 10;
