/**
 * Parameter scans, as hyperfine has them: `--parameter-scan VAR MIN MAX`
 * (with `--parameter-step-size`) and `--parameter-list VAR a,b,c`, both
 * repeatable. Every combination of values (the Cartesian product, the
 * first parameter varying slowest) becomes one compared command, with
 * `{VAR}` replaced in its words and its name.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { NamedCommand } from "../profiler.ts";

/** One scanned parameter and its values, in order. */
export interface ScanParameter {
  /** Its name, as written in `{NAME}`. */
  readonly name: string;
  /** Its values, as text. */
  readonly values: readonly string[];
}

/** A `--parameter-scan` before the step is known. */
export interface ParameterRange {
  /** The name. */
  readonly name: string;
  /** First value. */
  readonly min: number;
  /** Last value (included when the steps land on it). */
  readonly max: number;
}

/** At most this many commands from one scan: each is run, and kept in memory. */
export const MAX_SCAN_COMMANDS = 10_000;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkName(flag: string, name: string): void {
  if (!NAME.test(name)) {
    throw new UsageError(
      `${flag}: the parameter name must be letters, digits and _ (not starting with a digit), ` +
        `got '${name}'`,
    );
  }
}

function number(flag: string, what: string, text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) {
    throw new UsageError(`${flag}: ${what} must be a number, got '${text}'`);
  }
  return value;
}

/**
 * Parses the three values of `--parameter-scan VAR MIN MAX`.
 *
 * @param values `[VAR, MIN, MAX]`.
 * @returns The range.
 * @throws {UsageError} For a bad name, a value that is not a number, or MIN > MAX.
 *
 * @example Usage
 * ```ts
 * import { parseParameterRange } from "./parameter_scan.ts";
 * console.log(parseParameterRange(["N", "1", "3"])); // { name: "N", min: 1, max: 3 }
 * ```
 */
export function parseParameterRange(values: readonly string[]): ParameterRange {
  const [name, minText, maxText] = values as [string, string, string];
  checkName("--parameter-scan", name);
  const min = number("--parameter-scan", "MIN", minText);
  const max = number("--parameter-scan", "MAX", maxText);
  if (min > max) {
    throw new UsageError(
      `--parameter-scan ${name}: MIN (${minText}) is greater than MAX (${maxText})`,
    );
  }
  return { name, min, max };
}

/**
 * Parses the two values of `--parameter-list VAR a,b,c`.
 *
 * @param values `[VAR, "a,b,c"]`.
 * @returns The parameter with its values.
 * @throws {UsageError} For a bad name or an empty value.
 *
 * @example Usage
 * ```ts
 * import { parseParameterList } from "./parameter_scan.ts";
 * console.log(parseParameterList(["OPT", "-O0,-O2"]).values); // ["-O0", "-O2"]
 * ```
 */
export function parseParameterList(values: readonly string[]): ScanParameter {
  const [name, list] = values as [string, string];
  checkName("--parameter-list", name);
  const items = list.split(",");
  if (items.some((item) => item === "")) {
    throw new UsageError(
      `--parameter-list ${name}: empty value in '${list}' (give values separated by commas)`,
    );
  }
  if (new Set(items).size !== items.length) {
    throw new UsageError(`--parameter-list ${name}: a value is given twice in '${list}'`);
  }
  return { name, values: items };
}

/**
 * Parses `--parameter-step-size`: a number > 0.
 *
 * @param text The flag's value.
 * @returns The step.
 * @throws {UsageError} When it is not a number > 0.
 *
 * @example Usage
 * ```ts
 * import { parseStepSize } from "./parameter_scan.ts";
 * console.log(parseStepSize("0.5")); // 0.5
 * ```
 */
export function parseStepSize(text: string): number {
  const step = Number(text);
  if (text.trim() === "" || !Number.isFinite(step) || step <= 0) {
    throw new UsageError(`--parameter-step-size must be a number > 0, got '${text}'`);
  }
  return step;
}

/** Decimal places of a number as written (`0.25` → 2), for exact steps. */
function decimals(value: number): number {
  const text = String(value);
  if (text.includes("e-")) return Number(text.split("e-")[1]);
  return text.split(".")[1]?.length ?? 0;
}

/**
 * The values of a range: MIN, MIN + step, … up to MAX, written without
 * floating-point noise (0.1 steps give `0.3`, not `0.30000000000000004`).
 *
 * @param range The range.
 * @param step The step (> 0; default 1).
 * @returns The parameter with its values.
 * @throws {UsageError} When the range has more than {@linkcode MAX_SCAN_COMMANDS} values.
 *
 * @example Usage
 * ```ts
 * import { rangeValues } from "./parameter_scan.ts";
 * console.log(rangeValues({ name: "X", min: 0, max: 0.3 }, 0.1).values); // ["0", "0.1", "0.2", "0.3"]
 * ```
 */
export function rangeValues(range: ParameterRange, step = 1): ScanParameter {
  if (!(step > 0)) throw new UsageError(`--parameter-step-size must be > 0, got ${step}`);
  const places = Math.max(decimals(range.min), decimals(step));
  const count = Math.floor((range.max - range.min) / step + 1e-9) + 1;
  if (count > MAX_SCAN_COMMANDS) {
    throw new UsageError(
      `--parameter-scan ${range.name}: ${count} values (at most ${MAX_SCAN_COMMANDS}); ` +
        `use a larger --parameter-step-size`,
    );
  }
  const values: string[] = [];
  for (let i = 0; i < count; i++) {
    values.push(String(Number((range.min + i * step).toFixed(places))));
  }
  return { name: range.name, values };
}

/** The scan flags of `profile`, as parsed. */
export interface ScanFlags {
  /** `--parameter-scan VAR MIN MAX`, each use. */
  parameterScan?: ParameterRange[];
  /** `--parameter-step-size`. */
  parameterStepSize?: number;
  /** `--parameter-list VAR a,b,c`, each use. */
  parameterList?: ScanParameter[];
}

/**
 * The scanned parameters of the flags, in the order given (scans first,
 * then lists).
 *
 * @param flags The scan flags.
 * @returns The parameters (empty when no scan is asked for).
 * @throws {UsageError} For a name given twice, or a step size without a scan.
 *
 * @example Usage
 * ```ts
 * import { scanParameters } from "./parameter_scan.ts";
 * const parameters = scanParameters({
 *   parameterScan: [{ name: "N", min: 1, max: 3 }],
 *   parameterList: [{ name: "M", values: ["a", "b"] }],
 * });
 * console.log(parameters.map((p) => p.values.length)); // [3, 2]
 * ```
 */
export function scanParameters(flags: ScanFlags): ScanParameter[] {
  if (flags.parameterStepSize !== undefined && flags.parameterScan === undefined) {
    throw new UsageError("--parameter-step-size needs a --parameter-scan");
  }
  const parameters = [
    ...(flags.parameterScan ?? []).map((range) => rangeValues(range, flags.parameterStepSize)),
    ...(flags.parameterList ?? []),
  ];
  const seen = new Set<string>();
  for (const { name } of parameters) {
    if (seen.has(name)) throw new UsageError(`parameter '${name}' is defined twice`);
    seen.add(name);
  }
  return parameters;
}

/**
 * Every combination of the parameters' values, the first parameter varying
 * slowest.
 *
 * @param parameters The parameters.
 * @returns One record per combination (one empty record when there are no parameters).
 * @throws {UsageError} Above {@linkcode MAX_SCAN_COMMANDS} combinations.
 *
 * @example Usage
 * ```ts
 * import { valueSets } from "./parameter_scan.ts";
 * console.log(valueSets([{ name: "A", values: ["1", "2"] }, { name: "B", values: ["x"] }]));
 * // [{ A: "1", B: "x" }, { A: "2", B: "x" }]
 * ```
 */
export function valueSets(parameters: readonly ScanParameter[]): Record<string, string>[] {
  const total = parameters.reduce((product, parameter) => product * parameter.values.length, 1);
  if (total > MAX_SCAN_COMMANDS) {
    throw new UsageError(
      `the parameter scan makes ${total} commands (at most ${MAX_SCAN_COMMANDS})`,
    );
  }
  let sets: Record<string, string>[] = [{}];
  for (const parameter of parameters) {
    sets = sets.flatMap((set) =>
      parameter.values.map((value) => ({ ...set, [parameter.name]: value }))
    );
  }
  return sets;
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replaces every `{NAME}` of a defined parameter in `text`.
 *
 * @param text A word of a command, or a name.
 * @param values The parameter values.
 * @returns The text with the values in.
 * @throws {UsageError} When `{NAME}` names no defined parameter.
 *
 * @example Usage
 * ```ts
 * import { substituteParameters } from "./parameter_scan.ts";
 * console.log(substituteParameters("--size={N}", { N: "4" })); // "--size=4"
 * ```
 */
export function substituteParameters(text: string, values: Record<string, string>): string {
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const value = values[name];
    if (value === undefined) {
      const defined = Object.keys(values).map((key) => `{${key}}`).join(", ");
      throw new UsageError(
        `'{${name}}' in '${text}' is not a defined parameter (defined: ${defined}); ` +
          `define it with --parameter-scan or --parameter-list`,
      );
    }
    return value;
  });
}

/** A command of a scan: its values, besides what to run. */
export interface ScanCommand extends NamedCommand {
  /** The parameter values of this command. */
  parameters?: Record<string, string>;
}

/**
 * Expands the commands over the scan: each command once per value set,
 * `{NAME}` replaced in its words and name, labelled with its parameters
 * (`sleep 0.1 (N=0.1)`, or `<name> (N=0.1)` with `--command-name`).
 * Without parameters the commands are returned as they are (no `{…}` is
 * touched: `awk '{print}'` stays as written).
 *
 * @param commands The commands (from `--` or `--command`).
 * @param flags The scan flags.
 * @returns The commands to profile, the first value set's first.
 * @throws {UsageError} For bad scan flags or an undefined `{NAME}`.
 *
 * @example Usage
 * ```ts
 * import { expandParameterScan } from "./parameter_scan.ts";
 * const commands = expandParameterScan([{ command: ["sleep", "{T}"] }], {
 *   parameterList: [{ name: "T", values: ["0.1", "0.2"] }],
 * });
 * console.log(commands.map((c) => c.name)); // ["sleep 0.1 (T=0.1)", "sleep 0.2 (T=0.2)"]
 * ```
 */
export function expandParameterScan(
  commands: readonly NamedCommand[],
  flags: ScanFlags,
): ScanCommand[] {
  const parameters = scanParameters(flags);
  if (parameters.length === 0) return [...commands];
  const expanded: ScanCommand[] = [];
  for (const values of valueSets(parameters)) {
    const label = Object.entries(values).map(([name, value]) => `${name}=${value}`).join(", ");
    for (const { command, name } of commands) {
      const words = command.map((word) => substituteParameters(word, values));
      const base = name === undefined ? words.join(" ") : substituteParameters(name, values);
      expanded.push({ command: words, name: `${base} (${label})`, parameters: values });
    }
  }
  return expanded;
}
