/**
 * Parsers for option values: each turns the text after a flag into a typed
 * value, or throws a {@linkcode UsageError} naming the flag and what was
 * wrong (exit status 2). The option table (`option_table.ts`) points at them.
 *
 * @module
 */

import { parseCpuList } from "../process/cpu_list.ts";
import { UsageError } from "../errors.ts";
import { MAX_PHASES_LIMIT, MAX_SAMPLES_LIMIT, RUN_SETTING_LIMITS } from "../run_limits.ts";

/**
 * A parser for an integer ≥ 1.
 *
 * @param name The flag, for the message (e.g. `--iterations`).
 * @returns The parser.
 *
 * @example Usage
 * ```ts
 * import { positiveInteger } from "./option_values.ts";
 * console.log(positiveInteger("--iterations")("3")); // 3
 * ```
 */
export function positiveInteger(
  name: string,
  max = Number.MAX_SAFE_INTEGER,
): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < 1) {
      throw new UsageError(`${name} must be a positive integer, got '${value}'`);
    }
    return inRange(name, value, 1, max);
  };
}

/** Refuses a well-formed number of absurd magnitude, naming the valid range. */
function inRange(name: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (!(number <= max && Number.isFinite(number))) {
    throw new UsageError(`${name} must be from ${min} to ${max}, got '${value}'`);
  }
  return number;
}

/**
 * A parser for an integer ≥ 0.
 *
 * @param name The flag, for the message.
 * @returns The parser.
 *
 * @example Usage
 * ```ts
 * import { nonNegativeInteger } from "./option_values.ts";
 * console.log(nonNegativeInteger("--warmup")("0")); // 0
 * ```
 */
export function nonNegativeInteger(
  name: string,
  max = Number.MAX_SAFE_INTEGER,
): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) {
      throw new UsageError(`${name} must be an integer ≥ 0, got '${value}'`);
    }
    return inRange(name, value, 0, max);
  };
}

/**
 * A parser for a number of seconds ≥ 0.
 *
 * @param name The flag, for the message.
 * @returns The parser.
 *
 * @example Usage
 * ```ts
 * import { nonNegativeSeconds } from "./option_values.ts";
 * console.log(nonNegativeSeconds("--min-time")("1.5")); // 1.5
 * ```
 */
export function nonNegativeSeconds(
  name: string,
  max = Number.MAX_VALUE,
): (value: string) => number {
  return (value) => {
    const seconds = Number(value);
    if (value.trim() === "" || Number.isNaN(seconds) || seconds < 0) {
      throw new UsageError(`${name} must be a number of seconds ≥ 0, got '${value}'`);
    }
    return inRange(name, value, 0, max);
  };
}

/**
 * A parser for a number of seconds > 0.
 *
 * @param name The flag, for the message.
 * @returns The parser.
 *
 * @example Usage
 * ```ts
 * import { positiveSeconds } from "./option_values.ts";
 * console.log(positiveSeconds("--idle")("2")); // 2
 * ```
 */
export function positiveSeconds(
  name: string,
  max = Number.MAX_VALUE,
): (value: string) => number {
  return (value) => {
    const seconds = Number(value);
    if (value.trim() === "" || Number.isNaN(seconds) || seconds <= 0) {
      throw new UsageError(`${name} must be a number of seconds > 0, got '${value}'`);
    }
    return inRange(name, value, 0, max);
  };
}

/**
 * Parses `--sample-interval`: milliseconds ≥ 1.
 *
 * @param value The flag's value.
 * @returns The interval in ms.
 *
 * @example Usage
 * ```ts
 * import { sampleInterval } from "./option_values.ts";
 * console.log(sampleInterval("10")); // 10
 * ```
 */
export function sampleInterval(value: string): number {
  const ms = Number(value);
  if (value.trim() === "" || Number.isNaN(ms) || ms < 1) {
    throw new UsageError(`--sample-interval must be a number of milliseconds ≥ 1, got '${value}'`);
  }
  return inRange("--sample-interval", value, 1, RUN_SETTING_LIMITS.maxSampleIntervalMs);
}

/**
 * Parses `--profiler-cpus`: a CPU list (`3`, `2-3,6`); whether this process
 * may use them is checked when the profile starts (`CpuPlacement.plan`).
 *
 * @param value The flag's value.
 * @returns The CPUs, ascending.
 *
 * @example Usage
 * ```ts
 * import { profilerCpus } from "./option_values.ts";
 * console.log(profilerCpus("1,3-4")); // [ 1, 3, 4 ]
 * ```
 */
export function profilerCpus(value: string): number[] {
  try {
    return parseCpuList(value);
  } catch (error) {
    throw new UsageError(`--profiler-cpus: ${(error as Error).message}`);
  }
}

/**
 * Parses `--timeline`: a `.html` or `.svg` file name.
 *
 * @param value The flag's value.
 * @returns The file name.
 *
 * @example Usage
 * ```ts
 * import { timelineFile } from "./option_values.ts";
 * console.log(timelineFile("power.svg")); // "power.svg"
 * ```
 */
export function timelineFile(value: string): string {
  if (!/\.(html?|svg)$/i.test(value)) {
    throw new UsageError(
      `--timeline must name a .html or .svg file (the format follows the extension), got '${value}'`,
    );
  }
  return value;
}

/**
 * Parses `--sockets`: comma-separated package numbers.
 *
 * @param value The flag's value, e.g. `0,1`.
 * @returns The sockets, sorted, without duplicates.
 *
 * @example Usage
 * ```ts
 * import { socketList } from "./option_values.ts";
 * console.log(socketList("1,0")); // [0, 1]
 * ```
 */
export function socketList(value: string): number[] {
  const parts = value.split(",").map((part) => part.trim());
  if (parts.some((part) => !/^\d+$/.test(part))) {
    throw new UsageError(
      `--sockets expects socket numbers separated by commas (e.g. 0,1), got '${value}'`,
    );
  }
  const sockets = [...new Set(parts.map(Number))];
  return sockets.sort((a, b) => a - b);
}

/**
 * Parses `--alpha`: a significance level strictly between 0 and 1.
 *
 * @param value The flag's value.
 * @returns The level.
 *
 * @example Usage
 * ```ts
 * import { significanceLevel } from "./option_values.ts";
 * console.log(significanceLevel("0.01")); // 0.01
 * ```
 */
export function significanceLevel(value: string): number {
  const alpha = Number(value);
  if (value.trim() === "" || !(alpha > 0 && alpha < 1)) {
    throw new UsageError(`--alpha must be a number between 0 and 1 (e.g. 0.05), got '${value}'`);
  }
  return alpha;
}

/**
 * Parses `--gpus`: comma-separated NVML indices.
 *
 * @param value The flag's value, e.g. `0,2`.
 * @returns The indices, in order, without duplicates.
 * @throws {UsageError} When an entry is not a non-negative integer.
 *
 * @example Usage
 * ```ts
 * import { parseGpuList } from "./option_values.ts";
 * console.log(parseGpuList("0,2")); // [0, 2]
 * ```
 */
export function parseGpuList(value: string): number[] {
  return gpuIndices("--gpus", value);
}

/**
 * Parses `--amd-gpus`: comma-separated AMD GPU indices (AMD SMI's order).
 *
 * @param value The flag's value, e.g. `0,1`.
 * @returns The indices, in order, without duplicates.
 * @throws {UsageError} When an entry is not a non-negative integer.
 *
 * @example Usage
 * ```ts
 * import { parseAmdGpuList } from "./option_values.ts";
 * console.log(parseAmdGpuList("1,0")); // [1, 0]
 * ```
 */
export function parseAmdGpuList(value: string): number[] {
  return gpuIndices("--amd-gpus", value);
}

function gpuIndices(flag: string, value: string): number[] {
  const entries = value.split(",").map((entry) => entry.trim());
  if (entries.some((entry) => !/^\d+$/.test(entry) || !Number.isSafeInteger(Number(entry)))) {
    throw new UsageError(
      `${flag} must be comma-separated GPU indices such as 0,2, got '${value}'`,
    );
  }
  return [...new Set(entries.map(Number))];
}

/**
 * Parses `--max-phases`: a positive integer up to {@linkcode MAX_PHASES_LIMIT}.
 *
 * @param value The text given.
 * @returns The limit.
 * @throws {UsageError} When it is not one.
 *
 * @example Usage
 * ```ts
 * import { maxPhases } from "./option_values.ts";
 * console.log(maxPhases("500000")); // 500000
 * ```
 */
export function maxPhases(value: string): number {
  return positiveInteger("--max-phases", MAX_PHASES_LIMIT)(value);
}

/**
 * Parses `--max-samples`: an integer from 2 (START's sample and the last)
 * up to {@linkcode MAX_SAMPLES_LIMIT}.
 *
 * @param value The text given.
 * @returns The limit.
 * @throws {UsageError} When it is not one.
 *
 * @example Usage
 * ```ts
 * import { maxSamples } from "./option_values.ts";
 * console.log(maxSamples("20000")); // 20000
 * ```
 */
export function maxSamples(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || !(count >= 2 && count <= MAX_SAMPLES_LIMIT)) {
    throw new UsageError(
      `--max-samples must be an integer from 2 to ${MAX_SAMPLES_LIMIT}, got '${value}'`,
    );
  }
  return count;
}

/** The names `--sources` accepts, in reading order. */
export const SOURCE_NAMES: readonly string[] = [
  "rapl",
  "nvml",
  "amdsmi",
  "perf",
  "process",
  "system",
];

/**
 * Parses `--sources`: comma-separated names from {@linkcode SOURCE_NAMES}.
 *
 * @param value The flag's value, e.g. `rapl,perf`.
 * @returns The names, without duplicates.
 * @throws {UsageError} For an unknown name (the known ones are listed) or an empty list.
 *
 * @example Usage
 * ```ts
 * import { parseSourceList } from "./option_values.ts";
 * console.log(parseSourceList("rapl,perf")); // ["rapl", "perf"]
 * ```
 */
export function parseSourceList(value: string): string[] {
  const names = value.split(",").map((name) => name.trim().toLowerCase());
  if (names.length === 0 || names.some((name) => name === "")) {
    throw new UsageError(
      `--sources expects source names separated by commas (known: ${SOURCE_NAMES.join(", ")}), ` +
        `got '${value}'`,
    );
  }
  for (const name of names) {
    if (!SOURCE_NAMES.includes(name)) {
      throw new UsageError(
        `--sources: unknown source '${name}' (known: ${SOURCE_NAMES.join(", ")})`,
      );
    }
  }
  return [...new Set(names)];
}

/**
 * Parses one `-D KEY=VALUE` (a config key and its value, see `config_file.ts`).
 *
 * @param text The flag's value.
 * @returns `[KEY, VALUE]`.
 * @throws {UsageError} Without `=` or without a key.
 *
 * @example Usage
 * ```ts
 * import { parseDefine } from "./option_values.ts";
 * console.log(parseDefine("rapl.path=/tmp/rapl")); // ["rapl.path", "/tmp/rapl"]
 * ```
 */
export function parseDefine(text: string): [string, string] {
  const equals = text.indexOf("=");
  if (equals <= 0) {
    throw new UsageError(`-D/--define expects KEY=VALUE (e.g. -D iterations=5), got '${text}'`);
  }
  return [text.slice(0, equals).trim(), text.slice(equals + 1)];
}
