/**
 * The energy units sources report, and their size in joules.
 *
 * @module
 */

const JOULES_PER_UNIT: Record<string, number> = { "µJ": 1e-6, "uJ": 1e-6, "mJ": 1e-3, "J": 1 };

/**
 * How many joules one unit is, for energy units (µJ, mJ, J).
 *
 * @param unit A metric's unit.
 * @returns Joules per unit, or `undefined` when the unit is not an energy.
 *
 * @example Usage
 * ```ts
 * import { joulesPerUnit } from "./energy_units.ts";
 * console.log(joulesPerUnit("mJ"), joulesPerUnit("count")); // 0.001 undefined
 * ```
 */
export function joulesPerUnit(unit: string): number | undefined {
  return JOULES_PER_UNIT[unit];
}

/**
 * A metric's value in joules, when it is an energy.
 *
 * @param metric A metric's value and unit.
 * @returns Joules, or `undefined` for non-energy metrics.
 *
 * @example Usage
 * ```ts
 * import { energyJoules } from "./energy_units.ts";
 * console.log(energyJoules({ value: 2_500_000, unit: "µJ" })); // 2.5
 * ```
 */
export function energyJoules(metric: { value: number; unit: string }): number | undefined {
  const perUnit = JOULES_PER_UNIT[metric.unit];
  return perUnit === undefined ? undefined : metric.value * perUnit;
}
