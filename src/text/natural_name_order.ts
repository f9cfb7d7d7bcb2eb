/**
 * Orders names as people expect (`CORE-2` before `CORE-10`) without `Intl`.
 *
 * The first use of any `Intl` service (a collator, `localeCompare`,
 * `toLocaleString`) loads ICU data: 6–14 ms of start-up on these machines,
 * more than all of the CLI's own modules. Every run sorts its metrics, so
 * this comparison reproduces, for ASCII names, what
 * `new Intl.Collator("en", { numeric: true })` decides:
 *
 * - runs of digits compare by value, leading zeros ignored (`01` = `1`);
 * - otherwise characters compare by ICU's root order: space, then
 *   punctuation and symbols in the order of {@linkcode PUNCTUATION_ORDER},
 *   then numbers, then letters, case ignored (`a` = `A`);
 * - names equal so far: the shorter first; then the first difference of
 *   case decides, lower case first (`ab` < `aB`).
 *
 * Characters outside ASCII compare by code point after every ASCII letter
 * (ICU would place `é` with `e`): metric, sensor and host names are ASCII.
 * `tests/natural_name_order_test.ts` checks the agreement with `Intl`.
 *
 * @module
 */

/** Space, punctuation and symbols of ASCII in ICU root collation order (first = lowest). */
export const PUNCTUATION_ORDER = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";

const NUMBER_WEIGHT = 0x100;
const LETTER_WEIGHT = 0x200;
const OTHER_WEIGHT = 0x300;

/** Primary weight of each ASCII code (letters share one weight per case pair). */
const ASCII_WEIGHTS: Uint16Array = (() => {
  const weights = new Uint16Array(128);
  // Control characters come before everything (ICU ignores them; none occur in names).
  for (let i = 0; i < PUNCTUATION_ORDER.length; i++) {
    weights[PUNCTUATION_ORDER.charCodeAt(i)] = 1 + i;
  }
  for (let code = 0x30; code <= 0x39; code++) weights[code] = NUMBER_WEIGHT;
  for (let letter = 0; letter < 26; letter++) {
    weights[0x41 + letter] = LETTER_WEIGHT + letter;
    weights[0x61 + letter] = LETTER_WEIGHT + letter;
  }
  return weights;
})();

function weightOf(code: number): number {
  return code < 128 ? ASCII_WEIGHTS[code]! : OTHER_WEIGHT + code;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isUpper(code: number): boolean {
  return code >= 0x41 && code <= 0x5a;
}

/**
 * Compares two names in natural order (numbers by value, case ignored
 * until everything else is equal), as a sort callback.
 *
 * @param a One name.
 * @param b The other name.
 * @returns Negative when `a` comes first, positive when `b` does, 0 when
 * they are equivalent (`x01` and `x1`).
 *
 * @example Usage
 * ```ts
 * import { compareNaturalNames } from "./natural_name_order.ts";
 * console.log(["CORE-10", "core-2", "CORE-1"].sort(compareNaturalNames));
 * // [ "CORE-1", "core-2", "CORE-10" ]
 * ```
 */
export function compareNaturalNames(a: string, b: string): number {
  let i = 0;
  let j = 0;
  let caseOrder = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      let endA = i;
      while (endA < a.length && isDigit(a.charCodeAt(endA))) endA++;
      let endB = j;
      while (endB < b.length && isDigit(b.charCodeAt(endB))) endB++;
      while (i < endA - 1 && a.charCodeAt(i) === 0x30) i++;
      while (j < endB - 1 && b.charCodeAt(j) === 0x30) j++;
      // Without leading zeros, the longer run is the larger number.
      if (endA - i !== endB - j) return endA - i < endB - j ? -1 : 1;
      for (; i < endA; i++, j++) {
        const da = a.charCodeAt(i);
        const db = b.charCodeAt(j);
        if (da !== db) return da < db ? -1 : 1;
      }
      continue;
    }
    const wa = weightOf(ca);
    const wb = weightOf(cb);
    if (wa !== wb) return wa < wb ? -1 : 1;
    if (caseOrder === 0 && ca !== cb) caseOrder = isUpper(ca) ? 1 : -1;
    i++;
    j++;
  }
  if (i < a.length) return 1;
  if (j < b.length) return -1;
  return caseOrder;
}
