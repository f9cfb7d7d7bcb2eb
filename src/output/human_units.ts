import { groupDigits } from "../text/digit_grouping.ts";
/**
 * Figures for people: energy in µJ/mJ/J/kJ, times in ns/µs/ms/s, power in
 * µW/mW/W/kW and sizes in B/KiB/MiB/GiB, each scaled so the number reads at
 * a glance (`3.914 J`, `372.5 ms`, `19.07 MiB`). Only the terminal uses
 * these: JSON and CSV keep raw units.
 *
 * @module
 */

/** A quantity with its unit ladder, smallest first. */
interface Ladder {
  /** Size of the unit the ladder is expressed in, per rung (`[name, size]`). */
  rungs: readonly (readonly [string, number])[];
}

const ENERGY: Ladder = {
  rungs: [["µJ", 1e-6], ["mJ", 1e-3], ["J", 1], ["kJ", 1e3], ["MJ", 1e6]],
};
const TIME: Ladder = {
  rungs: [["ns", 1e-9], ["µs", 1e-6], ["ms", 1e-3], ["s", 1]],
};
const POWER: Ladder = {
  rungs: [["µW", 1e-6], ["mW", 1e-3], ["W", 1], ["kW", 1e3]],
};
const BYTES: Ladder = {
  rungs: [["B", 1], ["KiB", 1024], ["MiB", 1024 ** 2], ["GiB", 1024 ** 3], ["TiB", 1024 ** 4]],
};

/** Each scalable unit: its ladder and its size in the ladder's base unit. */
const UNITS: Record<string, [Ladder, number]> = {
  "µJ": [ENERGY, 1e-6],
  "uJ": [ENERGY, 1e-6],
  "mJ": [ENERGY, 1e-3],
  "J": [ENERGY, 1],
  "kJ": [ENERGY, 1e3],
  "ns": [TIME, 1e-9],
  "µs": [TIME, 1e-6],
  "us": [TIME, 1e-6],
  "ms": [TIME, 1e-3],
  "s": [TIME, 1],
  "µW": [POWER, 1e-6],
  "mW": [POWER, 1e-3],
  "W": [POWER, 1],
  "kW": [POWER, 1e3],
  "bytes": [BYTES, 1],
  "B": [BYTES, 1],
};

/** A unit chosen for a figure: multiply a raw value by `factor` to express it in `unit`. */
export interface DisplayUnit {
  /** The unit shown, e.g. `ms`. */
  unit: string;
  /** Raw value × factor = value in `unit`. */
  factor: number;
}

/**
 * The unit a value reads best in: the largest rung of its ladder that keeps
 * the number at 1 or more (seconds are the largest time unit). Units
 * without a ladder (`count`, `%`) are kept.
 *
 * @param value A value in `unit` (its magnitude decides).
 * @param unit The raw unit.
 * @returns The unit to show and the factor to convert.
 *
 * @example Usage
 * ```ts
 * import { displayUnit } from "./human_units.ts";
 * console.log(displayUnit(3_914_131, "µJ")); // { unit: "J", factor: 0.000001 }
 * ```
 */
export function displayUnit(value: number, unit: string): DisplayUnit {
  const entry = UNITS[unit];
  if (entry === undefined) return { unit, factor: 1 };
  const [ladder, size] = entry;
  const base = Math.abs(value) * size;
  let chosen = ladder.rungs[0]!;
  for (const rung of ladder.rungs) {
    if (base >= rung[1] * (1 - 5e-13)) chosen = rung;
  }
  if (base === 0 || !Number.isFinite(base)) {
    // Zero reads best in the ladder's everyday unit: "0 J", "0 ms", "0 W".
    chosen = ladder.rungs.find(([name]) => name === unit) ?? chosen;
  }
  return { unit: chosen[0], factor: size / chosen[1] };
}

/** Decimals for four significant digits (at most three decimals). */
function decimalsFor(scaled: number): number {
  const magnitude = Math.abs(scaled);
  if (magnitude >= 1000 || magnitude === 0) return 0;
  if (magnitude >= 100) return 1;
  if (magnitude >= 10) return 2;
  return 3;
}

/** A plain count with thousands separators (`1,234,567`); other numbers to four digits. */
function plainNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return groupDigits(value);
  const decimals = decimalsFor(value);
  return decimals === 0 ? groupDigits(value) : value.toFixed(decimals);
}

/**
 * Formats a value with its unit for people: energy, time, power and bytes
 * are scaled (`3.914 J`, `372.5 ms`, `12.30 W`, `19.07 MiB`); counts get
 * thousands separators (`1,234,567 count`).
 *
 * @param value The raw value.
 * @param unit Its unit.
 * @returns The display text.
 *
 * @example Usage
 * ```ts
 * import { formatQuantity } from "./human_units.ts";
 * console.log(formatQuantity(372_503_036, "ns")); // "372.5 ms"
 * console.log(formatQuantity(3_914_131, "µJ")); // "3.914 J"
 * ```
 */
export function formatQuantity(value: number, unit: string): string {
  if (!Number.isFinite(value)) return `${value} ${unit}`;
  const display = displayUnit(value, unit);
  if (display.factor === 1 && UNITS[unit] === undefined) return `${plainNumber(value)} ${unit}`;
  const scaled = value * display.factor;
  // Whole bytes read as counts: "512 B", not "512.0 B".
  if (display.unit === "B" && Number.isInteger(scaled)) return `${scaled} B`;
  return `${scaled.toFixed(decimalsFor(scaled))} ${display.unit}`;
}

/**
 * Formats a mean and its standard deviation in one unit, the mean's:
 * `1.234 ± 0.056 mJ`. σ gets the mean's decimals, or two significant
 * digits when those would show a non-zero σ as 0.
 *
 * @param mean The mean, raw unit.
 * @param stddev The standard deviation, raw unit.
 * @param unit The raw unit.
 * @returns The display text.
 *
 * @example Usage
 * ```ts
 * import { formatMeanSpread } from "./human_units.ts";
 * console.log(formatMeanSpread(11e6, 1e6, "ns")); // "11.00 ± 1.00 ms"
 * ```
 */
export function formatMeanSpread(mean: number, stddev: number, unit: string): string {
  const [meanText, stddevText, shown] = sameUnit([mean, stddev], unit);
  return `${meanText} ± ${stddevText} ${shown}`;
}

/**
 * Formats a range in the unit of its larger end: `10.00 … 12.00 ms`.
 *
 * @param min The smallest value, raw unit.
 * @param max The largest value, raw unit.
 * @param unit The raw unit.
 * @returns The display text.
 *
 * @example Usage
 * ```ts
 * import { formatRange } from "./human_units.ts";
 * console.log(formatRange(10e6, 12e6, "ns")); // "10.00 … 12.00 ms"
 * ```
 */
export function formatRange(min: number, max: number, unit: string): string {
  const [high, low, shown] = sameUnit([max, min], unit);
  return `${low} … ${high} ${shown}`;
}

/** Two values in the unit and decimals the first calls for. */
function sameUnit(values: [number, number], unit: string): [string, string, string] {
  if (!values.every(Number.isFinite)) return [String(values[0]), String(values[1]), unit];
  const display = displayUnit(values[0], unit);
  const scaledUnit = UNITS[unit] !== undefined;
  const first = values[0] * display.factor;
  const second = values[1] * display.factor;
  if (!scaledUnit) return [plainNumber(first), plainNumber(second), unit];
  const decimals = decimalsFor(first === 0 ? second : first);
  let secondText = second.toFixed(decimals);
  if (second !== 0 && Number(secondText) === 0) {
    secondText = Number(second.toPrecision(2)).toString();
  }
  return [first.toFixed(decimals), secondText, display.unit];
}

/**
 * A duration in milliseconds, scaled for people.
 *
 * @param ms Milliseconds.
 * @returns E.g. `372.5 ms`, `1.200 s`, `850.0 µs`.
 *
 * @example Usage
 * ```ts
 * import { formatDurationMs } from "./human_units.ts";
 * console.log(formatDurationMs(1200)); // "1.200 s"
 * ```
 */
export function formatDurationMs(ms: number): string {
  return formatQuantity(ms, "ms");
}
