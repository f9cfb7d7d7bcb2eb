/**
 * `joule-profiler completions bash|zsh|fish`: shell completion scripts,
 * generated from the option table, so a new flag completes without touching
 * this file.
 *
 * What they complete: the commands; each command's flags plus the global
 * ones (after `profile`, `-o` is `--stdout-file`); the values of flags
 * (files, folders, commands, fixed choices); `compare`'s files;
 * `completions`' shells; and after `profile`, the program to run (then,
 * in bash with the bash-completion package and in zsh, that program's own
 * completion).
 *
 * @module
 */

import {
  COMMANDS,
  type CommandSpec,
  HELP_OPTION,
  type OptionScope,
  optionsOf,
  type OptionSpec,
  PROGRAM_NAME,
} from "../option_table.ts";
import { writeStdout } from "../command_context.ts";

/** Shells with a completion script. */
export type Shell = "bash" | "zsh" | "fish";

/**
 * The completion script for a shell.
 *
 * @param shell `bash`, `zsh` or `fish`.
 * @returns The script, ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { completionScript } from "./completions.ts";
 * console.log(completionScript("bash").includes("complete -F")); // true
 * ```
 */
export function completionScript(shell: Shell): string {
  switch (shell) {
    case "bash":
      return bashScript();
    case "zsh":
      return zshScript();
    case "fish":
      return fishScript();
  }
}

/**
 * Runs `completions`: prints the script.
 *
 * @param shell The shell (checked by the parser against the table's choices).
 * @returns The exit status (0).
 *
 * @example Usage
 * ```ts ignore
 * import { completionsCommand } from "./completions.ts";
 * completionsCommand("fish");
 * ```
 */
export function completionsCommand(shell: Shell): number {
  writeStdout(completionScript(shell));
  return 0;
}

/** Flags accepted in a scope, spelled as typed; the command's own win over global ones. */
interface Spelled {
  option: OptionSpec;
  /** `-o` unless a command flag has taken that letter. */
  short?: string;
  long: string;
}

function flagsOf(command: CommandSpec | undefined): Spelled[] {
  const own = command === undefined ? [] : optionsOf(command.name);
  const taken = new Set(own.map((option) => option.short).filter((s) => s !== undefined));
  const spelled = (option: OptionSpec, scope: OptionScope): Spelled => ({
    option,
    short: option.short === undefined || (scope === "global" && taken.has(option.short))
      ? undefined
      : `-${option.short}`,
    long: `--${option.long}`,
  });
  return [
    ...own.map((option) => spelled(option, option.scope)),
    ...optionsOf("global").map((option) => spelled(option, "global")),
    spelled(HELP_OPTION, "global"),
  ];
}

/** Names shells may see unquoted: flags, commands, choices. */
function plainWord(word: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(word)) throw new Error(`not a plain word: ${word}`);
  return word;
}

function commandNames(): string[] {
  return COMMANDS.map((command) => command.name);
}

/** A description up to its first "; " outside parentheses, for completion menus. */
function summary(description: string): string {
  let depth = 0;
  for (let i = 0; i < description.length; i++) {
    const char = description[i];
    if (char === "(") depth++;
    else if (char === ")") depth--;
    else if (depth === 0 && description.startsWith("; ", i)) return description.slice(0, i);
  }
  return description;
}

function bashScript(): string {
  const fn = `_${PROGRAM_NAME.replaceAll("-", "_")}`;
  const valueCases: string[] = [];
  for (const command of [...COMMANDS, undefined]) {
    for (const { option, short, long } of flagsOf(command)) {
      if (option.value === undefined) continue;
      if (command !== undefined && option.scope === "global") continue;
      const patterns = [long, short].filter((s) => s !== undefined).map((s) =>
        command === undefined
          ? `*" ${plainWord(s!)}"`
          : `"${plainWord(command.name)} ${plainWord(s!)}"`
      );
      const kind = option.choices !== undefined
        ? `kind="words"; words="${option.choices.map(plainWord).join(" ")}"`
        : `kind="${option.complete ?? "none"}"`;
      valueCases.push(`    ${patterns.join("|")}) ${kind} ;;`);
    }
  }
  const flagCases = [...COMMANDS, undefined].map((command) => {
    const words = flagsOf(command).flatMap(({ short, long }) =>
      [short, long].filter((s) => s !== undefined).map((s) => plainWord(s!))
    );
    return `      ${command === undefined ? "*" : command.name}) flags="${words.join(" ")}" ;;`;
  });
  const commandWords = [...commandNames(), "help"].join(" ");
  const operandCases = COMMANDS.filter((c) => c.operands !== undefined && !c.passThrough).map(
    (command) => {
      const operands = command.operands!;
      const action = operands.choices !== undefined
        ? `_${PROGRAM_NAME.replaceAll("-", "_")}_reply -W "${
          operands.choices.map(plainWord).join(" ")
        }"`
        : bashAction(operands.complete ?? "none");
      return `    ${command.name}) ${action} ;;`;
    },
  );
  return `# bash completion for ${PROGRAM_NAME}; generated by \`${PROGRAM_NAME} completions bash\`.
# Load it with: source <(${PROGRAM_NAME} completions bash)

# Sets kind (file, directory, command, words, none) and words for a flag that
# takes a value, given the command ("" before it); fails for other words.
${fn}_value_kind() {
  words=""
  case "$1 $2" in
${valueCases.join("\n")}
    *) return 1 ;;
  esac
}

${fn}_reply() {
  mapfile -t COMPREPLY < <(compgen "$@" -- "$cur")
}

${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" command="" program_at=0 ended=0 i word kind words flags
  COMPREPLY=()
  # Find the command, and where profile's program starts.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if ((!ended)) && [[ "$word" == "--" ]]; then
      ended=1
      [[ "$command" == profile ]] && program_at=$((i + 1)) && break
      continue
    fi
    if ((!ended)) && [[ "$word" == -* ]]; then
      if ${fn}_value_kind "$command" "$word"; then
        ((i++))
        [[ "\${COMP_WORDS[i]}" == "=" ]] && ((i++))
      fi
      continue
    fi
    if [[ -z "$command" ]]; then
      command="$word"
    elif [[ "$command" == profile ]]; then
      program_at=$i
      break
    fi
  done
  if ((program_at > 0)); then
    if ((COMP_CWORD > program_at)) && declare -F _command_offset >/dev/null; then
      _command_offset "$program_at"
    elif ((COMP_CWORD == program_at)); then
      ${fn}_reply -c
    else
      compopt -o filenames 2>/dev/null
      ${fn}_reply -f
    fi
    return 0
  fi
  # The value of a flag: "--flag value" or "--flag=value".
  local flag="\${COMP_WORDS[COMP_CWORD - 1]}"
  if [[ "$flag" == "=" ]] && ((COMP_CWORD > 1)); then flag="\${COMP_WORDS[COMP_CWORD - 2]}"; fi
  if [[ "$cur" == "=" ]]; then flag="\${COMP_WORDS[COMP_CWORD - 1]}"; cur=""; fi
  if ((!ended)) && ((COMP_CWORD > 1)) && ${fn}_value_kind "$command" "$flag"; then
    case "$kind" in
      file) compopt -o filenames 2>/dev/null; ${fn}_reply -f ;;
      directory) compopt -o filenames 2>/dev/null; ${fn}_reply -d ;;
      command) ${fn}_reply -c ;;
      words) ${fn}_reply -W "$words" ;;
    esac
    return 0
  fi
  if ((!ended)) && [[ "$cur" == -* ]]; then
    case "$command" in
${flagCases.join("\n")}
    esac
    ${fn}_reply -W "$flags"
    return 0
  fi
  case "$command" in
    "") ${fn}_reply -W "${commandWords}" ;;
    help) ${fn}_reply -W "${commandNames().join(" ")}" ;;
    profile) ${fn}_reply -c ;;
${operandCases.join("\n")}
  esac
  return 0
}

complete -F ${fn} ${PROGRAM_NAME}
`;
}

function bashAction(kind: string): string {
  const fn = `_${PROGRAM_NAME.replaceAll("-", "_")}_reply`;
  switch (kind) {
    case "file":
      return `compopt -o filenames 2>/dev/null; ${fn} -f`;
    case "directory":
      return `compopt -o filenames 2>/dev/null; ${fn} -d`;
    case "command":
      return `${fn} -c`;
    default:
      return ":";
  }
}

/** Quotes text for a zsh or fish single-quoted string (zsh: '\'' closes and reopens). */
function zshQuoted(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function zshSpecs(command: CommandSpec | undefined): string[] {
  return flagsOf(command).map(({ option, short, long }) => {
    const names = [short, long].filter((s) => s !== undefined) as string[];
    const exclusive = option.action !== undefined
      ? "(- *)"
      : option.repeatable || option.counted
      ? "*"
      : `(${[...names, ...(option.conflicts ?? []).map((c) => `--${c}`)].join(" ")})`;
    const description = `[${summary(option.description).replace(/([[\]\\])/g, "\\$1")}]`;
    let value = "";
    if (option.value !== undefined) {
      const action = option.choices !== undefined
        ? `(${option.choices.join(" ")})`
        : { file: "_files", directory: "_files -/", command: "_command_names -e" }[
          option.complete ?? "file"
        ] ?? "";
      value = `:${option.value}:${option.complete === undefined && !option.choices ? " " : action}`;
    }
    const spelled = names.map((name) =>
      option.value === undefined ? name : name.startsWith("--") ? `${name}=` : `${name}+`
    );
    const head = spelled.length === 1 ? spelled[0]! : `{${spelled.join(",")}}`;
    // The brace form must stay outside quotes for zsh to expand it.
    return `${zshQuoted(exclusive)}${head}${zshQuoted(`${description}${value}`)}`;
  });
}

function zshScript(): string {
  const fn = `_${PROGRAM_NAME.replaceAll("-", "_")}`;
  const commandDescriptions = [
    ...COMMANDS.map((command) => `${command.name}:${summary(command.description)}`),
    "help:display help for command",
  ].map(zshQuoted);
  const cases = COMMANDS.map((command) => {
    const operands = command.operands;
    let positional = "";
    // The program and its arguments: its own completion, after any "--".
    if (command.passThrough) positional = ` ${zshQuoted("*:: :->program")}`;
    else if (operands?.choices !== undefined) {
      positional = ` ${zshQuoted(`1:${operands.name}:(${operands.choices.join(" ")})`)}`;
    } else if (operands !== undefined) {
      positional = ` ${zshQuoted(`*:${operands.name}:_files`)}`;
    }
    return `        ${command.name})\n          _arguments -s -S : \\\n            ${
      zshSpecs(command).join(" \\\n            ")
    }${positional} && ret=0${
      command.passThrough
        ? `\n          if [[ $state == program ]]; then\n` +
          `            if [[ $words[1] == -- ]]; then shift words; (( CURRENT-- )); fi\n` +
          `            _normal && ret=0\n          fi`
        : ""
    }\n          ;;`;
  });
  return `#compdef ${PROGRAM_NAME}
# zsh completion for ${PROGRAM_NAME}; generated by \`${PROGRAM_NAME} completions zsh\`.
# Load it with: source <(${PROGRAM_NAME} completions zsh)   (after compinit), or save it as
# _${PROGRAM_NAME} in a folder of $fpath.

${fn}() {
  local curcontext="$curcontext" state state_descr line ret=1
  typeset -A opt_args
  _arguments -C -s -S : \\
    ${zshSpecs(undefined).join(" \\\n    ")} \\
    '1:command:->command' \\
    '*:: :->argument' && ret=0
  case $state in
    command)
      local -a commands
      commands=(
        ${commandDescriptions.join("\n        ")}
      )
      _describe -t commands command commands && ret=0
      ;;
    argument)
      curcontext="\${curcontext%:*:*}:${PROGRAM_NAME}-$words[1]:"
      case $words[1] in
${cases.join("\n")}
        help)
          _arguments ${zshQuoted(`1:command:(${COMMANDS.map((c) => c.name).join(" ")})`)} && ret=0
          ;;
      esac
      ;;
  esac
  return ret
}

if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${PROGRAM_NAME}
fi
`;
}

/** Quotes text for fish (single quotes; \\ and \\' are the escapes). */
function fishQuoted(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

function fishScript(): string {
  const c = `complete -c ${PROGRAM_NAME}`;
  const names = [...COMMANDS.map((command) => command.name), "help"].join(" ");
  const lines = [
    `# fish completion for ${PROGRAM_NAME}; generated by \`${PROGRAM_NAME} completions fish\`.`,
    `# Load it with: ${PROGRAM_NAME} completions fish | source`,
    "",
    `${c} -f`,
  ];
  const noCommand = `-n ${fishQuoted(`not __fish_seen_subcommand_from ${names}`)}`;
  for (const command of COMMANDS) {
    lines.push(
      `${c} ${noCommand} -a ${command.name} -d ${fishQuoted(summary(command.description))}`,
    );
  }
  lines.push(`${c} ${noCommand} -a help -d 'display help for command'`);
  const flagLine = (option: OptionSpec, condition: string, short?: string, long?: string) => {
    const parts = [c];
    if (condition !== "") parts.push(`-n ${fishQuoted(condition)}`);
    if (short !== undefined) parts.push(`-s ${short}`);
    if (long !== undefined) parts.push(`-l ${long}`);
    if (option.value !== undefined) {
      if (option.choices !== undefined) parts.push(`-x -a ${fishQuoted(option.choices.join(" "))}`);
      else if (option.complete === "file") parts.push("-r -F");
      else if (option.complete === "directory") {
        parts.push(`-x -a ${fishQuoted("(__fish_complete_directories)")}`);
      } else if (option.complete === "command") {
        parts.push(`-x -a ${fishQuoted("(__fish_complete_command)")}`);
      } else parts.push("-x");
    }
    parts.push(`-d ${fishQuoted(summary(option.description))}`);
    return parts.join(" ");
  };
  for (const option of [...optionsOf("global"), HELP_OPTION]) {
    // A command's own flag of the same letter wins after that command.
    const owners = COMMANDS.filter((command) =>
      optionsOf(command.name).some((own) => own.short !== undefined && own.short === option.short)
    ).map((command) => command.name);
    if (owners.length === 0) {
      lines.push(flagLine(option, "", option.short, option.long));
    } else {
      lines.push(flagLine(option, "", undefined, option.long));
      lines.push(
        flagLine(option, `not __fish_seen_subcommand_from ${owners.join(" ")}`, option.short),
      );
    }
  }
  for (const command of COMMANDS) {
    const seen = `__fish_seen_subcommand_from ${command.name}`;
    for (const option of optionsOf(command.name)) {
      lines.push(flagLine(option, seen, option.short, option.long));
    }
    const operands = command.operands;
    if (operands === undefined) continue;
    if (command.passThrough) {
      // Skips the program name and the command, then flags and the values of value flags.
      const valueFlags = flagsOf(command).filter(({ option }) => option.value !== undefined)
        .flatMap(({ short, long }) => [short, long].filter((s) => s !== undefined));
      const subcommand = `(__fish_complete_subcommand --fcs-skip=2 ${valueFlags.join(" ")})`;
      lines.push(`${c} -n ${fishQuoted(seen)} -a ${fishQuoted(subcommand)}`);
    } else if (operands.choices !== undefined) {
      lines.push(`${c} -n ${fishQuoted(seen)} -a ${fishQuoted(operands.choices.join(" "))}`);
    } else {
      lines.push(`${c} -n ${fishQuoted(seen)} -F`);
    }
  }
  lines.push(
    `${c} -n ${fishQuoted("__fish_seen_subcommand_from help")} -a ${
      fishQuoted(COMMANDS.map((command) => command.name).join(" "))
    }`,
  );
  return `${lines.join("\n")}\n`;
}
