/**
 * Statistics of repeated measurements: mean, spread, median, confidence
 * interval of the mean (Student's t), and outliers by median absolute
 * deviation.
 *
 * @module
 */

import { studentTQuantile } from "./student_t.ts";

/** What a sample says about one quantity measured in every run. */
export interface Description {
  /** Number of values. */
  n: number;
  /** Arithmetic mean. */
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single value. */
  stddev: number;
  /** Median. */
  median: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
  /**
   * 95 % confidence interval of the mean: mean ± t(0.975, n − 1) · s / √n.
   * Collapses to [mean, mean] for a single value.
   */
  ci95: [number, number];
  /** Indices of the values flagged as outliers (see {@linkcode madOutliers}). */
  outliers: number[];
}

/**
 * Describes a non-empty sample.
 *
 * @param values The sample.
 * @returns Its description.
 * @throws {RangeError} When `values` is empty.
 *
 * @example Usage
 * ```ts
 * import { describe } from "./descriptive.ts";
 * const d = describe([2, 4, 4, 4, 5, 5, 7, 9]);
 * console.log(d.mean, d.median); // 5 4.5
 * ```
 */
export function describe(values: readonly number[]): Description {
  const n = values.length;
  if (n === 0) throw new RangeError("cannot describe an empty sample");
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    sum += value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const mean = sum / n;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  const stddev = n > 1 ? Math.sqrt(squares / (n - 1)) : 0;
  const half = n > 1 ? studentTQuantile(0.975, n - 1) * stddev / Math.sqrt(n) : 0;
  return {
    n,
    mean,
    stddev,
    median: median(values),
    min,
    max,
    ci95: [mean - half, mean + half],
    outliers: madOutliers(values),
  };
}

/**
 * The median of a non-empty sample.
 *
 * @param values The sample.
 * @returns Its middle value (mean of the two middle ones for even sizes).
 *
 * @example Usage
 * ```ts
 * import { median } from "./descriptive.ts";
 * console.log(median([3, 1, 2, 10])); // 2.5
 * ```
 */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Modified z-score above which a value is an outlier (Iglewicz and Hoaglin). */
export const OUTLIER_Z = 3.5;

/**
 * Outliers by the modified z-score, 0.6745 · |x − median| / MAD > 3.5,
 * where MAD is the median absolute deviation. Robust where mean and
 * standard deviation are not: one wild run cannot hide itself.
 *
 * @param values The sample.
 * @returns Indices of the outliers (none when MAD is 0 or n < 3).
 *
 * @example Usage
 * ```ts
 * import { madOutliers } from "./descriptive.ts";
 * console.log(madOutliers([10, 11, 10, 12, 11, 10, 40])); // [6]
 * ```
 */
export function madOutliers(values: readonly number[]): number[] {
  if (values.length < 3) return [];
  const center = median(values);
  const mad = median(values.map((value) => Math.abs(value - center)));
  if (mad === 0) return [];
  const outliers: number[] = [];
  values.forEach((value, index) => {
    if (0.6745 * Math.abs(value - center) / mad > OUTLIER_Z) outliers.push(index);
  });
  return outliers;
}
