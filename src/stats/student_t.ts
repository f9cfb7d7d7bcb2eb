/**
 * Student's t distribution (CDF and quantile), Welch's two-sample t-test,
 * and the uncertainty of a ratio of means: what comparisons of repeated
 * energy measurements need.
 *
 * @module
 */

/** Lanczos approximation coefficients (g = 7, n = 9), published constants. */
const LANCZOS = [
  0.99999999999980993,
  676.5203681218851,
  -1259.1392167224028,
  771.32342877765313,
  -176.61502916214059,
  12.507343278686905,
  -0.13857109526572012,
  9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * The continued fraction of the incomplete beta function, evaluated with
 * the modified Lentz method.
 */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - (a + b) * x / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let result = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    // Even step.
    let term = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + term * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + term / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    result *= d * c;
    // Odd step.
    term = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + term * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + term / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    result *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return result;
}

/**
 * The regularized incomplete beta function I_x(a, b).
 *
 * @param x In [0, 1].
 * @param a > 0.
 * @param b > 0.
 * @returns I_x(a, b).
 *
 * @example Usage
 * ```ts
 * import { regularizedBeta } from "./student_t.ts";
 * console.log(regularizedBeta(0.5, 2, 2)); // 0.5
 * ```
 */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  // The fraction converges fast for x below the mean a / (a + b); use symmetry above it.
  return x < (a + 1) / (a + b + 2)
    ? front * betaFraction(a, b, x) / a
    : 1 - front * betaFraction(b, a, 1 - x) / b;
}

/**
 * The CDF of Student's t distribution.
 *
 * @param t The value.
 * @param df Degrees of freedom (> 0, not necessarily whole).
 * @returns P(T ≤ t).
 *
 * @example Usage
 * ```ts
 * import { studentTCdf } from "./student_t.ts";
 * console.log(studentTCdf(2.262, 9).toFixed(3)); // "0.975"
 * ```
 */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The quantile of Student's t distribution (inverse CDF), by bisection.
 *
 * @param p Probability in (0, 1).
 * @param df Degrees of freedom (> 0).
 * @returns t such that P(T ≤ t) = p.
 *
 * @example Usage
 * ```ts
 * import { studentTQuantile } from "./student_t.ts";
 * console.log(studentTQuantile(0.975, 9).toFixed(3)); // "2.262"
 * ```
 */
export function studentTQuantile(p: number, df: number): number {
  if (p <= 0 || p >= 1) throw new RangeError(`probability must be in (0, 1), got ${p}`);
  if (p === 0.5) return 0;
  let low = -1;
  let high = 1;
  while (studentTCdf(low, df) > p) low *= 2;
  while (studentTCdf(high, df) < p) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-12 * Math.max(1, Math.abs(high)); i++) {
    const middle = (low + high) / 2;
    if (studentTCdf(middle, df) < p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

/** What Welch's test says about two samples. */
export interface WelchResult {
  /** The t statistic of mean(b) − mean(a). */
  t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  df: number;
  /** Two-sided p-value (1 when the difference is exactly 0 with no variance). */
  p: number;
}

function meanAndVariance(values: readonly number[]): [number, number] {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) /
    (values.length - 1);
  return [mean, variance];
}

/**
 * Welch's two-sample t-test (unequal variances), two-sided.
 *
 * @param a First sample (at least 2 values).
 * @param b Second sample (at least 2 values).
 * @returns t, degrees of freedom and p-value; t and p are `NaN` when
 * neither sample has any spread (the test is not defined then: a p of 0
 * would call any difference, even one of rounding, certain).
 * @throws {RangeError} When a sample has fewer than 2 values.
 *
 * @example Usage
 * ```ts
 * import { welchTest } from "./student_t.ts";
 * console.log(welchTest([1, 2, 3, 4], [3, 4, 5, 6]).p.toFixed(3)); // "0.045"
 * ```
 */
export function welchTest(a: readonly number[], b: readonly number[]): WelchResult {
  if (a.length < 2 || b.length < 2) {
    throw new RangeError("Welch's test needs at least 2 values in each sample");
  }
  const [meanA, varA] = meanAndVariance(a);
  const [meanB, varB] = meanAndVariance(b);
  const sa = varA / a.length;
  const sb = varB / b.length;
  if (sa + sb === 0) return { t: Number.NaN, df: a.length + b.length - 2, p: Number.NaN };
  const t = (meanB - meanA) / Math.sqrt(sa + sb);
  const df = (sa + sb) ** 2 / (sa ** 2 / (a.length - 1) + sb ** 2 / (b.length - 1));
  const p = Math.min(1, 2 * (1 - studentTCdf(Math.abs(t), df)));
  return { t, df, p };
}

/** A ratio of means with its standard uncertainty. */
export interface Ratio {
  /** mean(b) / mean(a). */
  value: number;
  /** Standard uncertainty of the ratio, from the standard errors of both means. */
  uncertainty: number;
}

/**
 * mean(b) / mean(a) and its uncertainty by first-order error propagation:
 * σ_r = r · √((SE_a / mean_a)² + (SE_b / mean_b)²), with SE = s / √n.
 *
 * @param a Reference sample.
 * @param b Compared sample.
 * @returns The ratio and its uncertainty; both `NaN` when mean(a) is 0
 * (no ratio to a zero baseline).
 *
 * @example Usage
 * ```ts
 * import { ratioOfMeans } from "./student_t.ts";
 * const r = ratioOfMeans([10, 10, 10], [12, 12, 12]);
 * console.log(r.value, r.uncertainty); // 1.2 0
 * ```
 */
export function ratioOfMeans(a: readonly number[], b: readonly number[]): Ratio {
  const [meanA, varA] = a.length > 1 ? meanAndVariance(a) : [a[0]!, 0];
  const [meanB, varB] = b.length > 1 ? meanAndVariance(b) : [b[0]!, 0];
  if (meanA === 0 || !Number.isFinite(meanA) || !Number.isFinite(meanB)) {
    return { value: Number.NaN, uncertainty: Number.NaN };
  }
  const value = meanB / meanA;
  // σ_r² = SE_b² / mean_a² + mean_b² · SE_a² / mean_a⁴: the same as the
  // relative form, and still defined when mean_b is 0.
  const uncertainty = Math.sqrt(
    varB / b.length / (meanA * meanA) + (meanB * meanB) * (varA / a.length) / meanA ** 4,
  );
  return { value, uncertainty };
}
