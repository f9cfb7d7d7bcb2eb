/**
 * Unsigned 64-bit counters read as two 32-bit words (GPU energy counters:
 * NVML's millijoules, AMD SMI's counts), subtracted without a bigint.
 *
 * @module
 */

const TWO_POW_32 = 2 ** 32;

/**
 * `(after - before) mod 2^64` of two unsigned 64-bit counter readings given
 * as 32-bit words, exact while the difference stays below 2^53.
 *
 * @param beforeLow Low word of the earlier reading.
 * @param beforeHigh High word of the earlier reading.
 * @param afterLow Low word of the later reading.
 * @param afterHigh High word of the later reading.
 * @returns The increase, with a wrap past 2^64 - 1 counted as an increase.
 *
 * @example Usage
 * ```ts
 * import { wrappingDelta } from "./counter_words.ts";
 * // From 2^64 - 10 to 5: the counter wrapped and grew by 15.
 * console.log(wrappingDelta(2 ** 32 - 10, 2 ** 32 - 1, 5, 0)); // 15
 * ```
 */
export function wrappingDelta(
  beforeLow: number,
  beforeHigh: number,
  afterLow: number,
  afterHigh: number,
): number {
  let low = afterLow - beforeLow;
  let borrow = 0;
  if (low < 0) {
    low += TWO_POW_32;
    borrow = 1;
  }
  let high = afterHigh - beforeHigh - borrow;
  if (high < 0) high += TWO_POW_32;
  return high * TWO_POW_32 + low;
}
