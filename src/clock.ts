/**
 * `CLOCK_MONOTONIC` and `CLOCK_REALTIME` read through FFI `clock_gettime`.
 *
 * `performance.now()` follows the real-time clock and timers are ~1 ms
 * coarse, so phase boundaries are stamped here instead: the same clock the
 * kernel, perf and other tracers use, at nanosecond resolution.
 *
 * @module
 */

import { libc, unwrap } from "./ffi/libc.ts";

const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;

/** `struct timespec` out-parameter, reused: reading the clock allocates nothing. */
const timespec = new BigInt64Array(2);
/** The same bytes as 32-bit words, so seconds and nanoseconds are read without BigInt. */
const words = new Uint32Array(timespec.buffer);

/**
 * A clock reading split in whole seconds and nanoseconds, so that it stays
 * exact as a pair of JS numbers however long the machine has been up.
 */
export interface ClockReading {
  /** Whole seconds. */
  sec: number;
  /** Nanoseconds within the second, 0 to 999,999,999. */
  nsec: number;
}

function read(clock: number): void {
  unwrap(libc().clock_gettime(clock, timespec), "clock_gettime");
}

/**
 * Writes the current `CLOCK_MONOTONIC` time into `target[offset]` (seconds)
 * and `target[offset + 1]` (nanoseconds). This is the hot-path form: it
 * allocates nothing.
 *
 * @param target Storage for the two numbers.
 * @param offset Index of the seconds slot.
 *
 * @example Usage
 * ```ts
 * import { stampMonotonic } from "./clock.ts";
 * const slots = new Float64Array(2);
 * stampMonotonic(slots, 0);
 * ```
 */
export function stampMonotonic(target: Float64Array, offset: number): void {
  read(CLOCK_MONOTONIC);
  target[offset] = words[1]! * 4294967296 + words[0]!;
  target[offset + 1] = words[2]!;
}

/**
 * The current `CLOCK_MONOTONIC` time in nanoseconds.
 *
 * @returns Nanoseconds since an arbitrary point (boot), exact.
 *
 * @example Usage
 * ```ts
 * import { monotonicNs } from "./clock.ts";
 * const t0 = monotonicNs();
 * const elapsed = monotonicNs() - t0; // bigint nanoseconds
 * ```
 */
export function monotonicNs(): bigint {
  read(CLOCK_MONOTONIC);
  return timespec[0]! * 1_000_000_000n + timespec[1]!;
}

/**
 * The current `CLOCK_REALTIME` time in nanoseconds since the Unix epoch.
 *
 * @returns Nanoseconds since 1970-01-01T00:00:00Z.
 *
 * @example Usage
 * ```ts
 * import { realtimeNs } from "./clock.ts";
 * const msEpoch = Number(realtimeNs() / 1_000_000n);
 * ```
 */
export function realtimeNs(): bigint {
  read(CLOCK_REALTIME);
  return timespec[0]! * 1_000_000_000n + timespec[1]!;
}

/**
 * Maps monotonic times to wall-clock times, from one pair of readings
 * taken back to back. Used after the run to give phases epoch timestamps
 * without a second clock read on the hot path.
 *
 * @example Usage
 * ```ts
 * import { ClockAnchor, monotonicNs } from "./clock.ts";
 * const anchor = ClockAnchor.now();
 * console.log(anchor.toEpochMs(monotonicNs()));
 * ```
 */
export class ClockAnchor {
  readonly #monotonicNs: bigint;
  readonly #realtimeNs: bigint;

  /**
   * Pairs two readings taken at the same moment.
   *
   * @param monotonic A `CLOCK_MONOTONIC` reading in ns.
   * @param realtime A `CLOCK_REALTIME` reading in ns taken at the same moment.
   */
  constructor(monotonic: bigint, realtime: bigint) {
    this.#monotonicNs = monotonic;
    this.#realtimeNs = realtime;
  }

  /**
   * Reads both clocks now.
   *
   * @returns An anchor for the current moment.
   */
  static now(): ClockAnchor {
    const before = monotonicNs();
    const real = realtimeNs();
    const after = monotonicNs();
    return new ClockAnchor((before + after) / 2n, real);
  }

  /**
   * Converts a monotonic time to milliseconds since the Unix epoch.
   *
   * @param monotonic A `CLOCK_MONOTONIC` time in ns.
   * @returns Whole milliseconds since the epoch.
   */
  toEpochMs(monotonic: bigint): number {
    return Number((this.#realtimeNs + monotonic - this.#monotonicNs) / 1_000_000n);
  }
}
