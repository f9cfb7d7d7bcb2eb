/**
 * Values of the `model` command's flags, checked as they are parsed (the
 * option table loads this at every start: keep it light).
 *
 * @module
 */

import { UsageError } from "../../errors.ts";

/**
 * Parses `--features`: comma-separated names, `NAME` or `source/NAME`.
 *
 * @param value The flag's text.
 * @returns The names.
 * @throws {UsageError} When empty.
 *
 * @example Usage
 * ```ts
 * import { parseFeatureList } from "./model_flags.ts";
 * console.log(parseFeatureList("CPU_TIME, process/DISK_WRITE_BYTES")); // [ "CPU_TIME", "process/DISK_WRITE_BYTES" ]
 * ```
 */
export function parseFeatureList(value: string): string[] {
  const names = value.split(",").map((name) => name.trim()).filter((name) => name !== "");
  if (names.length === 0) throw new UsageError(`--features needs metric names, got '${value}'`);
  return names;
}

/**
 * Parses `--folds`.
 *
 * @param value The flag's text.
 * @returns An integer ≥ 2.
 * @throws {UsageError} Otherwise.
 */
export function parseFolds(value: string): number {
  const folds = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(folds) || folds < 2) {
    throw new UsageError(`--folds must be an integer ≥ 2, got '${value}'`);
  }
  return folds;
}

/**
 * Parses `--seconds` of `model train`.
 *
 * @param value The flag's text.
 * @returns Seconds ≥ 0.2.
 * @throws {UsageError} Otherwise.
 */
export function parseStageSeconds(value: string): number {
  const seconds = Number(value);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds < 0.2) {
    throw new UsageError(`--seconds must be a number of seconds ≥ 0.2, got '${value}'`);
  }
  return seconds;
}

/**
 * Parses `--rounds` of `model train`.
 *
 * @param value The flag's text.
 * @returns A positive integer.
 * @throws {UsageError} Otherwise.
 */
export function parseRounds(value: string): number {
  const rounds = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(rounds) || rounds < 1) {
    throw new UsageError(`--rounds must be a positive integer, got '${value}'`);
  }
  return rounds;
}
