/**
 * `--help` texts, rendered from the option table (`option_table.ts`):
 * a usage line, the description, then aligned "Arguments", "Options" and
 * "Commands" lists whose descriptions wrap at the terminal's width (80
 * columns when stdout is not a terminal).
 *
 * @module
 */

import {
  type CommandName,
  commandNamed,
  COMMANDS,
  type CommandSpec,
  HELP_OPTION,
  optionsOf,
  type OptionSpec,
  PROGRAM_DESCRIPTION,
  PROGRAM_NAME,
  PROGRAM_NOTE,
} from "./option_table.ts";

/** Help width when none is given: stdout's columns on a terminal, else 80. */
export function defaultHelpWidth(): number {
  try {
    if (Deno.stdout.isTerminal()) return Deno.consoleSize().columns;
  } catch {
    // Not a console after all: the fixed width below.
  }
  return 80;
}

/**
 * The help of the program (no command) or of one command.
 *
 * @param command The command, or `undefined` for the program's help.
 * @param width Columns to wrap at.
 * @returns The text, ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { helpText } from "./help_text.ts";
 * console.log(helpText("doctor").split("\n")[0]); // "Usage: joule-profiler doctor [options]"
 * ```
 */
export function helpText(command?: CommandName, width: number = 80): string {
  return command === undefined ? programHelp(width) : commandHelp(commandNamed(command)!, width);
}

function programHelp(width: number): string {
  const options = [...optionsOf("global"), HELP_OPTION];
  const commands: [string, string][] = [
    ...COMMANDS.map((command): [string, string] => [commandTerm(command), command.description]),
    ["help [command]", "display help for command"],
  ];
  const items = [...options.map((o): [string, string] => [optionTerm(o), describe(o)])];
  const termWidth = Math.max(...[...items, ...commands].map(([term]) => term.length));
  return [
    `Usage: ${PROGRAM_NAME} [options] [command]`,
    "",
    wrap(PROGRAM_DESCRIPTION, width),
    "",
    "Options:",
    ...items.map(([term, text]) => item(term, text, termWidth, width)),
    "",
    "Commands:",
    ...commands.map(([term, text]) => item(term, text, termWidth, width)),
    "",
    wrap(PROGRAM_NOTE, width),
    "",
  ].join("\n");
}

function commandHelp(command: CommandSpec, width: number): string {
  const options = [...optionsOf(command.name), HELP_OPTION];
  const items = options.map((o): [string, string] => [optionTerm(o), describe(o)]);
  const operands: [string, string][] = command.operands === undefined
    ? []
    : [[command.operands.name, command.operands.description]];
  const termWidth = Math.max(...[...items, ...operands].map(([term]) => term.length));
  const lines = [
    `Usage: ${PROGRAM_NAME} ${command.name} ${command.usage ?? "[options]"}`,
    "",
    wrap(command.description, width),
    "",
  ];
  if (operands.length > 0) {
    lines.push("Arguments:", ...operands.map(([t, d]) => item(t, d, termWidth, width)), "");
  }
  lines.push("Options:", ...items.map(([t, d]) => item(t, d, termWidth, width)), "");
  if (command.note !== undefined) lines.push(wrap(command.note, width), "");
  return lines.join("\n");
}

/** `profile [options] [command...]`, as the program's help lists a command. */
function commandTerm(command: CommandSpec): string {
  let term = command.name;
  if (optionsOf(command.name).length > 0) term += " [options]";
  const operands = command.operands;
  if (operands !== undefined) {
    const name = operands.variadic ? `${operands.name}...` : operands.name;
    term += operands.required ? ` <${name}>` : ` [${name}]`;
  }
  return term;
}

/** `-o, --output-file <path>`. */
function optionTerm(option: OptionSpec): string {
  const names = option.short === undefined
    ? `--${option.long}`
    : `-${option.short}, --${option.long}`;
  return option.value === undefined ? names : `${names} <${option.value}>`;
}

/** The description with its choices and default, as help shows them. */
function describe(option: OptionSpec): string {
  let text = option.description;
  if (option.choices !== undefined) {
    text += ` (choices: ${option.choices.map((choice) => JSON.stringify(choice)).join(", ")})`;
  }
  if (option.value !== undefined && option.default !== undefined) {
    text += ` (default: ${JSON.stringify(option.default)})`;
  }
  return text;
}

/** One aligned entry: term, two spaces, the description wrapped beside it. */
function item(term: string, description: string, termWidth: number, width: number): string {
  const indent = 2;
  const spacer = 2;
  const room = width - termWidth - spacer - indent;
  // Too narrow to wrap beside the terms: leave lines long rather than one word each.
  const text = room < 40 ? description : wrap(description, room);
  const pad = " ".repeat(indent + termWidth + spacer);
  return " ".repeat(indent) + term.padEnd(termWidth) + " ".repeat(spacer) +
    text.replaceAll("\n", `\n${pad}`);
}

/** Wraps each line of `text` at `width` columns, breaking at spaces; indented lines (examples) stay whole. */
function wrap(text: string, width: number): string {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (line.length <= width || line.startsWith(" ")) {
      out.push(line);
      continue;
    }
    let current = "";
    for (const word of line.split(" ")) {
      if (current === "") current = word;
      else if (current.length + 1 + word.length <= width) current += ` ${word}`;
      else {
        out.push(current);
        current = word;
      }
    }
    out.push(current);
  }
  return out.join("\n");
}
