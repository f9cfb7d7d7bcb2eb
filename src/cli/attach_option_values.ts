/**
 * Parsers of the attach, system-wide and live-interval flags of `profile`
 * (`-p`, `-a`, `--duration`, `-I`): text → value, or a `UsageError` naming
 * the flag.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { MIN_LIVE_INTERVAL_MS } from "../setting_defaults.ts";

export { parsePidList } from "../attach/pid_list.ts";

/**
 * Parses `-I/--interval-print`: milliseconds, at least
 * {@linkcode MIN_LIVE_INTERVAL_MS}.
 *
 * @param value The flag's value.
 * @returns Milliseconds.
 * @throws {UsageError} Below the minimum or not a number.
 *
 * @example Usage
 * ```ts
 * import { liveInterval } from "./attach_option_values.ts";
 * console.log(liveInterval("100")); // 100
 * ```
 */
export function liveInterval(value: string): number {
  const ms = Number(value);
  if (value.trim() === "" || !Number.isFinite(ms)) {
    throw new UsageError(`-I/--interval-print must be a number of milliseconds, got '${value}'`);
  }
  if (ms < MIN_LIVE_INTERVAL_MS) {
    throw new UsageError(
      `-I/--interval-print ${value}: the minimum is ${MIN_LIVE_INTERVAL_MS} ms ` +
        `(shorter intervals cost more than they show; see docs/PERFORMANCE.md)`,
    );
  }
  return ms;
}

/**
 * Parses `--duration`: seconds > 0.
 *
 * @param value The flag's value.
 * @returns Seconds.
 * @throws {UsageError} When not a positive number.
 *
 * @example Usage
 * ```ts
 * import { durationSeconds } from "./attach_option_values.ts";
 * console.log(durationSeconds("1.5")); // 1.5
 * ```
 */
export function durationSeconds(value: string): number {
  const seconds = Number(value);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`--duration must be a number of seconds > 0, got '${value}'`);
  }
  return seconds;
}
