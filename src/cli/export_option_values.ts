/**
 * Parsers for the values of the export flags (`--carbon-intensity`,
 * `--pue`, `--pushgateway`, `--fail-above`). They live apart from the
 * modules that use the values so that the option table, loaded at every
 * start, pulls in nothing else.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/**
 * Checks a carbon intensity given on the command line or in
 * `JOULE_PROFILER_CARBON_INTENSITY`.
 *
 * @param text The value as typed.
 * @param origin Where it came from, for the error message.
 * @returns The intensity, gCO₂e/kWh.
 * @throws {UsageError} Unless it is a finite number > 0 and ≤ 10,000.
 *
 * @example Usage
 * ```ts
 * import { parseCarbonIntensity } from "./export_option_values.ts";
 * console.log(parseCarbonIntensity("385", "--carbon-intensity")); // 385
 * ```
 */
export function parseCarbonIntensity(text: string, origin: string): number {
  const value = Number(text);
  // The dirtiest grids are about 1,000 g/kWh: 10,000 catches a unit mix-up (e.g. g/MWh).
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0 || value > 10_000) {
    throw new UsageError(
      `${origin} must be grams of CO2e per kWh, a number > 0 and ≤ 10000 (e.g. 385), got '${text}'`,
    );
  }
  return value;
}

/**
 * Checks a PUE (power usage effectiveness) factor.
 *
 * @param text The value as typed.
 * @returns The factor.
 * @throws {UsageError} Unless it is a number ≥ 1 and ≤ 10.
 *
 * @example Usage
 * ```ts
 * import { parsePue } from "./export_option_values.ts";
 * console.log(parsePue("1.2")); // 1.2
 * ```
 */
export function parsePue(text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 1 || value > 10) {
    throw new UsageError(
      `--pue must be a number ≥ 1 and ≤ 10 (total facility energy ÷ IT energy, e.g. 1.4), got '${text}'`,
    );
  }
  return value;
}

/**
 * Checks a Pushgateway address given on the command line.
 *
 * @param text The URL as typed, e.g. `http://127.0.0.1:9091`.
 * @returns The URL without a trailing slash.
 * @throws {UsageError} Unless it is an http(s) URL without query or fragment.
 *
 * @example Usage
 * ```ts
 * import { parsePushgatewayUrl } from "./export_option_values.ts";
 * console.log(parsePushgatewayUrl("http://127.0.0.1:9091/")); // http://127.0.0.1:9091
 * ```
 */
export function parsePushgatewayUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(
      `--pushgateway must be an http(s) URL (e.g. http://127.0.0.1:9091), got '${text}'`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(
      `--pushgateway must be an http(s) URL (e.g. http://127.0.0.1:9091), got '${text}' (${
        url.protocol.slice(0, -1)
      })`,
    );
  }
  if (url.search !== "" || url.hash !== "") {
    throw new UsageError(`--pushgateway takes no query or fragment, got '${text}'`);
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * Checks a `--fail-above` value.
 *
 * @param text The value as typed.
 * @returns The threshold in percent.
 * @throws {UsageError} Unless it is a number ≥ 0 and ≤ 10,000.
 *
 * @example Usage
 * ```ts
 * import { parseFailAbove } from "./export_option_values.ts";
 * console.log(parseFailAbove("5")); // 5
 * ```
 */
export function parseFailAbove(text: string): number {
  const value = Number(text.replace(/%$/, ""));
  if (text.trim() === "" || !Number.isFinite(value) || value < 0 || value > 10_000) {
    throw new UsageError(
      `--fail-above must be a percentage ≥ 0 (e.g. 5 for 5 % worse), got '${text}'`,
    );
  }
  return value;
}
