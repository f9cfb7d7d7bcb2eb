/**
 * Settings from outside the command line: `--config FILE.toml`, `-D
 * KEY=VALUE` and `--output-format`, merged into the parsed flags.
 *
 * Precedence, highest first: flags on the command line, `-D`, environment
 * variables (`JOULE_PROFILER_RAPL_PATH`, `JOULE_PROFILER_CARBON_INTENSITY`),
 * the config file, the defaults.
 *
 * The file holds any global or `profile` option under its long name
 * (`iterations = 5`, `output-file = "r.json"`; `_` may stand for `-`), and a
 * table per source:
 *
 * ```toml
 * json = true
 * iterations = 5
 * sources = ["rapl", "perf"]
 *
 * [rapl]
 * path = "/sys/devices/virtual/powercap/intel-rapl"  # --rapl-path
 * backend = "powercap"                               # --rapl-backend
 * sockets = [0, 1]                                   # --sockets
 * polling = 0.5                                      # --rapl-polling
 *
 * [perf]
 * enabled = true                                     # --perf
 * events = ["cycles", "instructions"]                # --perf-events
 *
 * [nvml]
 * enabled = true                                     # --gpu (any vendor's GPUs)
 * gpus = [0, 2]                                      # --gpus
 *
 * [amdsmi]
 * gpus = [0, 1]                                      # --amd-gpus
 *
 * [process]
 * enabled = false                                    # --no-process
 *
 * [system]
 * enabled = false                                    # --no-system
 * ```
 *
 * `-D` takes the same keys (`-D iterations=5`, `-D rapl.path=/x`). Every
 * value goes through the flag's own check; an unknown key, a value of the
 * wrong type and bad TOML (with its line and column) are usage errors
 * (exit status 2) that name the file. The TOML parser loads only when a
 * config file is given.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import * as valueParsers from "./value_parsers.ts";
import type { OptionValues } from "./arg_parser.ts";
import {
  type CommandName,
  isNegated,
  optionKey,
  type OptionScope,
  optionsOf,
  type OptionSpec,
} from "./option_table.ts";

/** Environment variables that stand for a flag: a config value yields to them. */
const ENVIRONMENT: Record<string, string> = {
  raplPath: "JOULE_PROFILER_RAPL_PATH",
  carbonIntensity: "JOULE_PROFILER_CARBON_INTENSITY",
};

/** Flags that a file cannot set: they act on the command line itself. */
const NOT_IN_FILE = new Set(["version", "help", "config", "define"]);

/** Flags whose value is a comma-separated list: a TOML array is joined with commas. */
const COMMA_LISTS = new Set(["sockets", "gpus", "amd-gpus", "sources", "perf-events"]);

/** Per-source tables: key → the flag it sets. */
const SOURCE_TABLES: Record<string, Record<string, string>> = {
  rapl: { path: "rapl-path", backend: "rapl-backend", sockets: "sockets", polling: "rapl-polling" },
  perf: { enabled: "perf", events: "perf-events" },
  nvml: { enabled: "gpu", gpus: "gpus" },
  amdsmi: { gpus: "amd-gpus" },
  process: { enabled: "process" },
  system: { enabled: "system" },
};

/** One setting, before it is checked: where it came from, the flag, the raw value. */
interface Setting {
  /** `FILE.toml` or `-D`, for messages. */
  origin: string;
  /** The key as written (`rapl.path`). */
  key: string;
  /** The flag it sets. */
  option: OptionSpec;
  /** For `[process] enabled`-style keys: the value is the opposite of `--no-…`. */
  positive: boolean;
  /** TOML value, or text from `-D`. */
  value: unknown;
}

/** The flags a file may set, by long name. */
function settableOptions(): Map<string, OptionSpec> {
  const options = new Map<string, OptionSpec>();
  for (const scope of ["global", "profile"] as OptionScope[]) {
    for (const option of optionsOf(scope)) {
      if (option.action !== undefined || NOT_IN_FILE.has(option.long)) continue;
      options.set(option.long, option);
    }
  }
  return options;
}

/** Resolves a key (`iterations`, `output_file`, `rapl.path`) to its flag. */
function resolveKey(
  key: string,
  origin: string,
  options: Map<string, OptionSpec>,
): { option: OptionSpec; positive: boolean } {
  const dot = key.indexOf(".");
  const unknown = () =>
    new UsageError(
      `${origin}: unknown key '${key}' (keys are the long names of global and profile flags, ` +
        `e.g. iterations, output-file, and the tables ${Object.keys(SOURCE_TABLES).join(", ")})`,
    );
  if (dot >= 0) {
    const table = SOURCE_TABLES[key.slice(0, dot)];
    const long = table?.[key.slice(dot + 1).replaceAll("_", "-")];
    if (long === undefined) throw unknown();
    const positive = long === "process" || long === "system";
    const option = options.get(positive ? `no-${long}` : long);
    if (option === undefined) throw unknown();
    return { option, positive };
  }
  const option = options.get(key.replaceAll("_", "-"));
  if (option === undefined) throw unknown();
  return { option, positive: false };
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "a table";
  return `a ${typeof value}`;
}

/** Checks one setting against its flag and returns the value the flag would have. */
function settingValue(setting: Setting): unknown {
  const { option, origin, key } = setting;
  let { value } = setting;
  const where = `${origin}: '${key}'`;
  const fromText = typeof value === "string" && origin === "-D";
  if (option.value === undefined && !option.counted) {
    if (fromText && (value === "true" || value === "false")) value = value === "true";
    if (typeof value !== "boolean") {
      throw new UsageError(`${where} must be true or false, got ${typeName(value)}`);
    }
    // `no-process = true` and `[process] enabled = false` both turn the process source off.
    if (isNegated(option)) return setting.positive ? value : !value;
    return value;
  }
  if (option.counted) {
    if (fromText && /^\d+$/.test(value as string)) value = Number(value);
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new UsageError(`${where} must be an integer ≥ 0, got ${JSON.stringify(value)}`);
    }
    return value;
  }
  const one = (item: unknown): unknown => {
    const arity = option.arity ?? 1;
    if (arity > 1) {
      const parts = fromText ? (item as string).trim().split(/\s+/) : item;
      if (!Array.isArray(parts) || parts.length !== arity) {
        throw new UsageError(
          `${where} must be ${arity} values (${option.value}), got ${JSON.stringify(item)}`,
        );
      }
      return checked(() => option.parseValues!(valueParsers)(parts.map(String)));
    }
    if (typeof item !== "string" && typeof item !== "number") {
      throw new UsageError(`${where} must be a string or a number, got ${typeName(item)}`);
    }
    const text = String(item);
    if (option.choices !== undefined && !option.choices.includes(text)) {
      throw new UsageError(
        `${where}: '${text}' is not one of ${option.choices.join(", ")}`,
      );
    }
    return option.parse === undefined ? text : checked(() => option.parse!(valueParsers)(text));
  };
  const checked = (parse: () => unknown): unknown => {
    try {
      return parse();
    } catch (error) {
      if (error instanceof UsageError) throw new UsageError(`${where}: ${error.message}`);
      throw error;
    }
  };
  if (option.repeatable) {
    const items = Array.isArray(value) && !(option.arity! > 1 && !Array.isArray(value[0]))
      ? value
      : [value];
    return items.map(one);
  }
  if (Array.isArray(value)) {
    if (!COMMA_LISTS.has(option.long)) {
      throw new UsageError(`${where} takes one value, got an array`);
    }
    value = value.map((item) => {
      if (typeof item !== "string" && typeof item !== "number") {
        throw new UsageError(`${where} must be an array of strings or numbers`);
      }
      return String(item);
    }).join(",");
  }
  return one(value);
}

/** Flattens a parsed TOML document into settings; unknown keys are errors. */
function fileSettings(
  document: Record<string, unknown>,
  origin: string,
  options: Map<string, OptionSpec>,
): Setting[] {
  const settings: Setting[] = [];
  for (const [key, value] of Object.entries(document)) {
    const isTable = value !== null && typeof value === "object" && !Array.isArray(value) &&
      !(value instanceof Date);
    if (isTable && SOURCE_TABLES[key] !== undefined) {
      for (const [inner, innerValue] of Object.entries(value as Record<string, unknown>)) {
        const path = `${key}.${inner}`;
        settings.push({
          origin,
          key: path,
          value: innerValue,
          ...resolveKey(path, origin, options),
        });
      }
      continue;
    }
    settings.push({ origin, key, value, ...resolveKey(key, origin, options) });
  }
  return settings;
}

/**
 * Reads and parses a TOML config file.
 *
 * @param path The file.
 * @returns The document.
 * @throws {UsageError} When the file cannot be read, or is not TOML (with line and column).
 *
 * @example Usage
 * ```ts ignore
 * import { readConfigFile } from "./config_file.ts";
 * const document = await readConfigFile("joule.toml");
 * ```
 */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`--config: cannot read '${path}': ${(error as Error).message}`);
  }
  const { parse, TomlError } = await import("smol-toml");
  try {
    return parse(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
      throw new UsageError(`${path}:${error.line}:${error.column}: bad TOML: ${reason}`);
    }
    throw error;
  }
}

/** What {@linkcode applySettings} changes: the parsed command line. */
export interface ParsedSettings {
  /** The command being run. */
  command: CommandName;
  /** Global flag values (changed in place). */
  global: OptionValues;
  /** The command's flag values (changed in place). */
  options: OptionValues;
  /** `scope:key` of every flag given on the command line. */
  given: ReadonlySet<string>;
}

/**
 * Merges `--config`, `-D` and `--output-format` into the parsed flags, in
 * the precedence the module describes. Keys of `profile` flags are checked
 * for every command but set only when the command is `profile`.
 *
 * @param parsed The parsed command line (changed in place).
 * @param env Environment variables (default: the process's).
 * @throws {UsageError} For a bad file, key, value or combination.
 *
 * @example Usage
 * ```ts
 * import { applySettings } from "./config_file.ts";
 * const parsed = {
 *   command: "profile" as const, global: { define: [["iterations", "4"]] },
 *   options: { iterations: 1 }, given: new Set<string>(),
 * };
 * await applySettings(parsed);
 * console.log(parsed.options.iterations); // 4
 * ```
 */
export async function applySettings(
  parsed: ParsedSettings,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Promise<void> {
  const { global, options, given } = parsed;
  const settable = settableOptions();
  const settings: Setting[] = [];
  const file = global.config as string | undefined;
  if (file !== undefined) {
    settings.push(...fileSettings(await readConfigFile(file), file, settable));
  }
  const defines = (global.define as [string, string][] | undefined) ?? [];
  settings.push(
    ...defines.map(([key, value]): Setting => ({
      origin: "-D",
      key,
      value,
      ...resolveKey(key, "-D", settable),
    })),
  );
  for (const setting of settings) {
    const value = settingValue(setting);
    const scope = setting.option.scope;
    const key = optionKey(setting.option);
    if (given.has(`${scope}:${key}`)) continue; // The command line wins.
    if (scope !== "global" && scope !== parsed.command) continue;
    // An environment variable outranks the file, not -D.
    if (setting.origin !== "-D" && ENVIRONMENT[key] !== undefined && env(ENVIRONMENT[key]!)) {
      continue;
    }
    const target = scope === "global" ? global : options;
    target[key] = value;
  }
  applyOutputFormat(global, given);
}

/** `--output-format terminal|json|csv` is `--json`/`--csv` (or neither) by another name. */
function applyOutputFormat(global: OptionValues, given: ReadonlySet<string>): void {
  const format = global.outputFormat as string | undefined;
  const switches = (["json", "csv"] as const).filter((name) => global[name] === true);
  if (switches.length > 1) {
    throw new UsageError("--json and --csv cannot both be set (check the config file and -D)");
  }
  if (format === undefined) return;
  const fromCommandLine = given.has("global:outputFormat");
  const switchGiven = switches.some((name) => given.has(`global:${name}`));
  if (switches.length > 0 && switches[0] !== format) {
    // A format from the file or -D yields to --json/--csv on the command line.
    if (!fromCommandLine && switchGiven) return;
    if (fromCommandLine && !switchGiven) {
      global.json = false;
      global.csv = false;
    } else {
      throw new UsageError(
        `--output-format ${format} contradicts --${switches[0]}: give one of them`,
      );
    }
  }
  if (format === "json") global.json = true;
  if (format === "csv") global.csv = true;
}
