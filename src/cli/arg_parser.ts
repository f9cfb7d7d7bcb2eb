/**
 * Parses the command line against the option table (`option_table.ts`).
 *
 * Syntax: `joule-profiler [global flags] <command> [flags] [operands]`.
 * Long flags take their value as `--name value` or `--name=value`; short
 * ones as `-n 3`, `-n3`, and switches stack (`-vvv`). A value flag takes
 * the next argument whatever it looks like (`--warmup -1` is then refused
 * by its parser, with its own message). `--` ends the flags. Global flags
 * are also accepted after the command; a command's own flag wins where both
 * have the same name (`profile -o` is `--stdout-file`). Every mistake is a
 * {@linkcode UsageError} (exit status 2) with one line that says what was
 * wrong and, for a flag of another command, where it belongs.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import * as valueParsers from "./value_parsers.ts";
import {
  type CommandName,
  commandNamed,
  COMMANDS,
  HELP_OPTION,
  isNegated,
  optionKey,
  OPTIONS,
  type OptionScope,
  optionsOf,
  type OptionSpec,
  PROGRAM_NAME,
} from "./option_table.ts";

/** Parsed flag values by key (`outputFile`, `iterations`, …). */
export type OptionValues = Record<string, unknown>;

/** What the command line asks for. */
export type ParsedCommandLine =
  | {
    /** Run a command. */
    action: "run";
    /** The command. */
    command: CommandName;
    /** Global flags, defaults applied. */
    global: OptionValues;
    /** The command's own flags, defaults applied. */
    options: OptionValues;
    /** Operands (the profiled program, the files to compare). */
    operands: string[];
    /**
     * `scope:key` of each flag given on the command line (`global:json`,
     * `profile:iterations`): what a config file must not override.
     */
    given: Set<string>;
    /** Warnings about values that are valid but probably not what was meant. */
    warnings: string[];
  }
  | {
    /** Print a help text and exit 0. */
    action: "help";
    /** Whose help; `undefined` for the program's. */
    command?: CommandName;
  }
  | {
    /** Print the version and exit 0. */
    action: "version";
  };

/**
 * Parses `args` (without the executable).
 *
 * @param args The command-line arguments.
 * @returns What to do, with the values.
 * @throws {UsageError} For any mistake in the command line.
 *
 * @example Usage
 * ```ts
 * import { parseCommandLine } from "./arg_parser.ts";
 * const parsed = parseCommandLine(["--json", "profile", "-n", "3", "--", "sleep", "1"]);
 * if (parsed.action === "run") console.log(parsed.options.iterations, parsed.operands); // 3 ["sleep", "1"]
 * ```
 */
export function parseCommandLine(args: readonly string[]): ParsedCommandLine {
  if (args.length === 0) return { action: "help" };
  const global: OptionValues = {};
  const options: OptionValues = {};
  const operands: string[] = [];
  const given: OptionSpec[] = [];
  const warnings: string[] = [];
  let command: CommandName | undefined;
  let flagsEnded = false;
  let i = 0;

  const store = (option: OptionSpec, written: string, text?: string | string[]): void => {
    for (const other of given) {
      if (option.conflicts?.includes(other.long) && other !== option) {
        throw new UsageError(
          `option '--${option.long}' cannot be used with option '--${other.long}'`,
        );
      }
    }
    given.push(option);
    const target = option.scope === "global" ? global : options;
    const key = optionKey(option);
    if (option.counted) {
      target[key] = ((target[key] as number | undefined) ?? 0) + 1;
    } else if (text === undefined) {
      target[key] = !isNegated(option);
    } else if (Array.isArray(text)) {
      const value = option.parseValues === undefined
        ? text
        : option.parseValues(valueParsers)(text);
      if (option.repeatable) {
        target[key] = [...((target[key] as unknown[] | undefined) ?? []), value];
      } else {
        target[key] = value;
      }
    } else {
      if (option.choices !== undefined && !option.choices.includes(text)) {
        throw new UsageError(
          `option '${termOf(option)}' argument '${text}' is invalid. ` +
            `Allowed choices are ${option.choices.join(", ")}.`,
        );
      }
      const value = option.parse === undefined ? text : option.parse(valueParsers)(text);
      const warning = option.warn?.(text, written);
      if (warning !== undefined) warnings.push(warning);
      if (option.repeatable) {
        target[key] = [...((target[key] as unknown[] | undefined) ?? []), value];
      } else {
        target[key] = value;
      }
    }
  };

  const valueAfter = (option: OptionSpec): string => {
    if (i >= args.length) throw new UsageError(`option '${termOf(option)}' argument missing`);
    return args[i++]!;
  };

  /** The separate values of a flag that takes several (`--parameter-scan N 1 5`). */
  const valuesAfter = (option: OptionSpec, count: number): string[] => {
    if (i + count > args.length) {
      throw new UsageError(`option '${termOf(option)}' takes ${count} values`);
    }
    i += count;
    return args.slice(i - count, i);
  };

  while (i < args.length) {
    const arg = args[i++]!;
    if (!flagsEnded && arg === "--") {
      // Before the command there is nothing for it to protect: the command's flags still follow.
      if (command !== undefined) flagsEnded = true;
      continue;
    }
    if (!flagsEnded && arg.startsWith("-") && arg !== "-") {
      const scopes: OptionScope[] = command === undefined ? ["global"] : [command, "global"];
      if (arg.startsWith("--")) {
        const equals = arg.indexOf("=");
        const name = equals < 0 ? arg.slice(2) : arg.slice(2, equals);
        const option = findOption(scopes, (o) => o.long === name);
        if (option === undefined) throw unknownOption(`--${name}`, command);
        if (option.action !== undefined) return finish(option, command);
        if (option.value === undefined) {
          if (equals >= 0) throw new UsageError(`option '--${name}' does not take a value`);
          store(option, `--${name}`);
        } else if ((option.arity ?? 1) > 1) {
          if (equals >= 0) {
            throw new UsageError(
              `option '${termOf(option)}' takes ${option.arity} separate values, not '='`,
            );
          }
          store(option, `--${name}`, valuesAfter(option, option.arity!));
        } else {
          store(option, `--${name}`, equals >= 0 ? arg.slice(equals + 1) : valueAfter(option));
        }
        continue;
      }
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const option = findOption(scopes, (o) => o.short === letter);
        if (option === undefined) throw unknownOption(`-${letter}`, command);
        if (option.action !== undefined) return finish(option, command);
        if (option.value === undefined) {
          store(option, `-${letter}`);
          continue;
        }
        const rest = arg.slice(j + 1);
        store(option, `-${letter}`, rest !== "" ? rest : valueAfter(option));
        break;
      }
      continue;
    }
    if (command === undefined) {
      if (arg === "help") return helpFor(args[i]);
      command = commandNamed(arg)?.name;
      if (command === undefined) throw unknownCommand(arg);
      continue;
    }
    operands.push(arg);
    if (commandNamed(command)!.passThrough) {
      operands.push(...args.slice(i));
      break;
    }
  }

  if (command === undefined) {
    throw new UsageError(
      `missing command: ${commandList()} (see ${PROGRAM_NAME} --help)`,
    );
  }
  const spec = commandNamed(command)!;
  if (spec.operands === undefined && operands.length > 0) {
    throw new UsageError(
      `${command} takes no arguments, got '${
        operands.join(" ")
      }' (see ${PROGRAM_NAME} ${command} --help)`,
    );
  }
  if (spec.operands?.required && operands.length === 0) {
    throw new UsageError(`missing required argument '${spec.operands.name}'`);
  }
  if (spec.operands !== undefined && !spec.operands.variadic && operands.length > 1) {
    throw new UsageError(
      `${command} takes one ${spec.operands.name}, got '${operands.join(" ")}'`,
    );
  }
  const choices = spec.operands?.choices;
  const invalid = operands.find((operand) => choices !== undefined && !choices.includes(operand));
  if (invalid !== undefined) {
    throw new UsageError(
      `${command}: unknown ${spec.operands!.name} '${invalid}' (choices: ${choices!.join(", ")})`,
    );
  }
  applyDefaults("global", global);
  applyDefaults(command, options);
  const explicit = new Set(given.map((option) => `${option.scope}:${optionKey(option)}`));
  return { action: "run", command, global, options, operands, given: explicit, warnings };
}

function finish(option: OptionSpec, command: CommandName | undefined): ParsedCommandLine {
  return option.action === "version" ? { action: "version" } : { action: "help", command };
}

function helpFor(name: string | undefined): ParsedCommandLine {
  if (name === undefined || name === "help") return { action: "help" };
  const command = commandNamed(name)?.name;
  if (command === undefined) throw unknownCommand(name);
  return { action: "help", command };
}

function findOption(
  scopes: readonly OptionScope[],
  matches: (option: OptionSpec) => boolean,
): OptionSpec | undefined {
  for (const scope of scopes) {
    const option = optionsOf(scope).find(matches);
    if (option !== undefined) return option;
  }
  return matches(HELP_OPTION) ? HELP_OPTION : undefined;
}

/** `--name <value>` as help shows it. */
function termOf(option: OptionSpec): string {
  return option.value === undefined
    ? `--${option.long}`
    : `--${option.long} ${option.value.split(" ").map((name) => `<${name}>`).join(" ")}`;
}

function commandList(): string {
  const names = COMMANDS.map((command) => command.name);
  return `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
}

function unknownOption(written: string, command: CommandName | undefined): UsageError {
  const named = (o: OptionSpec) =>
    written.startsWith("--") ? `--${o.long}` === written : `-${o.short}` === written;
  const owners = OPTIONS.filter((o) => o.scope !== "global" && named(o)).map((o) => o.scope);
  if (owners.length > 0) {
    const where = owners.map((owner) => `'${owner}'`).join(" and ");
    const example = `${PROGRAM_NAME} ${owners[0]} ${written} …`;
    return new UsageError(
      command === undefined
        ? `unknown option '${written}' before the command: it belongs to ${where}, after it (${example})`
        : `unknown option '${written}' for '${command}': it belongs to ${where} (${example})`,
    );
  }
  const scopes: OptionScope[] = command === undefined ? ["global"] : [command, "global"];
  const candidates = scopes.flatMap((scope) => optionsOf(scope)).map((o) => `--${o.long}`);
  const suggestion = written.startsWith("--") ? closest(written, candidates) : undefined;
  return new UsageError(
    `unknown option '${written}'` + (suggestion ? ` (did you mean ${suggestion}?)` : ""),
  );
}

function unknownCommand(name: string): UsageError {
  const suggestion = closest(name, [...COMMANDS.map((command) => command.name), "help"]);
  return new UsageError(
    `unknown command '${name}'` +
      (suggestion ? ` (did you mean ${suggestion}?)` : ` (commands: ${commandList()})`),
  );
}

function applyDefaults(scope: OptionScope, target: OptionValues): void {
  for (const option of optionsOf(scope)) {
    const key = optionKey(option);
    if (key in target) continue;
    if (isNegated(option)) target[key] = true;
    else if (option.default !== undefined) target[key] = option.default;
  }
}

/** The candidate within edit distance 2 (and less than half the word), if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.min(2, Math.floor(word.length / 2)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
