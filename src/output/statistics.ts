/**
 * Summary statistics across iterations.
 *
 * @module
 */

/** Mean, spread and range of a sample. */
export interface Summary {
  /** Number of values. */
  count: number;
  /** Arithmetic mean. */
  mean: number;
  /** Sample standard deviation (n - 1); 0 for a single value. */
  stddev: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
}

/**
 * Summarises a non-empty sample.
 *
 * @param values The sample.
 * @returns Its summary.
 * @throws {RangeError} When `values` is empty.
 *
 * @example Usage
 * ```ts
 * import { summarize } from "./statistics.ts";
 * console.log(summarize([2, 4, 4, 4, 5, 5, 7, 9]).mean); // 5
 * ```
 */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError("cannot summarise an empty sample");
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    sum += value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const mean = sum / values.length;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  const stddev = values.length > 1 ? Math.sqrt(squares / (values.length - 1)) : 0;
  return { count: values.length, mean, stddev, min, max };
}
