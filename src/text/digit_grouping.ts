/**
 * Thousands separators for counts (`1,234,567`) without `Intl`: the first
 * `toLocaleString` loads ICU data, 6–14 ms of start-up on these machines
 * (see `natural_name_order.ts`).
 *
 * @module
 */

/**
 * Formats an integer with commas between groups of three digits, as
 * `value.toLocaleString("en-US")` does for integers.
 *
 * @param value An integer (other numbers are rounded to one first).
 * @returns The grouped digits; `∞`, `-∞` and `NaN` as `en-US` writes them.
 *
 * @example Usage
 * ```ts
 * import { groupDigits } from "./digit_grouping.ts";
 * console.log(groupDigits(11781)); // "11,781"
 * console.log(groupDigits(-1234567)); // "-1,234,567"
 * ```
 */
export function groupDigits(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "-∞";
  const rounded = Math.round(value);
  const sign = rounded < 0 || Object.is(rounded, -0) ? "-" : "";
  // BigInt writes every digit (String() turns to exponents from 1e21 on).
  const digits = BigInt(Math.abs(rounded)).toString();
  const head = digits.length % 3 === 0 ? 3 : digits.length % 3;
  let out = digits.slice(0, head);
  for (let i = head; i < digits.length; i += 3) out += "," + digits.slice(i, i + 3);
  return sign + out;
}
