/**
 * The published utilisation → power curve `--tdp` scales, and the check of
 * a `--tdp` value (light: the option table loads it at every start).
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/**
 * The curve: CPU utilisation (%) → fraction of TDP drawn, from Benjamin
 * Davy, "Building an AWS EC2 Carbon Emissions Dataset", Teads Engineering,
 * 2021 (fitted on SPECpower results), linearly interpolated between its
 * points.
 */
export const TEADS_CURVE: readonly (readonly [utilisationPercent: number, tdpFraction: number])[] =
  [
    [0, 0.12],
    [10, 0.32],
    [50, 0.75],
    [100, 1.02],
  ];

/**
 * The fraction of TDP drawn at a utilisation, by the Teads curve.
 *
 * @param utilisation CPU utilisation as a fraction of all logical CPUs (clamped to 0…1).
 * @returns Fraction of TDP.
 *
 * @example Usage
 * ```ts
 * import { tdpFraction } from "./tdp_curve.ts";
 * console.log(tdpFraction(0), tdpFraction(0.3), tdpFraction(1)); // 0.12 0.535 1.02
 * ```
 */
export function tdpFraction(utilisation: number): number {
  const percent = Math.min(100, Math.max(0, utilisation * 100));
  for (let i = 1; i < TEADS_CURVE.length; i++) {
    const [x1, y1] = TEADS_CURVE[i]!;
    if (percent <= x1) {
      const [x0, y0] = TEADS_CURVE[i - 1]!;
      return y0 + (y1 - y0) * (percent - x0) / (x1 - x0);
    }
  }
  return TEADS_CURVE.at(-1)![1];
}

/**
 * Checks a `--tdp` value.
 *
 * @param value The flag's text or number.
 * @returns Watts.
 * @throws {UsageError} Unless a finite number > 0.
 *
 * @example Usage
 * ```ts
 * import { parseTdp } from "./tdp_curve.ts";
 * console.log(parseTdp("65")); // 65
 * ```
 */
export function parseTdp(value: string | number): number {
  const watts = typeof value === "number" ? value : value.trim() === "" ? NaN : Number(value);
  if (!Number.isFinite(watts) || watts <= 0) {
    throw new UsageError(`--tdp must be a positive number of watts, got '${value}'`);
  }
  return watts;
}
