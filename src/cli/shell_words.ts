/**
 * Splits a `--command "…"` string into argv the way a POSIX shell splits
 * words, without running a shell (which would itself be measured).
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** Characters that need a real shell: pipes, lists, redirections, expansions. */
const SHELL_SYNTAX = new Set(["|", "&", ";", "<", ">", "(", ")", "$", "`", "*", "?", "[", "~"]);

/**
 * Splits a command line into words: blanks separate words; single quotes
 * keep everything literally; double quotes keep everything but `\`, `"`,
 * `$` and `` ` `` escapes; a backslash outside quotes escapes the next
 * character. Shell syntax outside quotes (pipes, redirections, variables,
 * globs) is refused: wrap such a command in `sh -c '…'` so it is explicit
 * that a shell is part of what is measured.
 *
 * @param line The command line.
 * @returns The words (argv).
 * @throws {UsageError} For unbalanced quotes, shell syntax, or no words.
 *
 * @example Usage
 * ```ts
 * import { splitShellWords } from "./shell_words.ts";
 * console.log(splitShellWords(`python3 -c 'print("__A__")' "two words"`));
 * // [ "python3", "-c", 'print("__A__")', "two words" ]
 * ```
 */
export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === " " || char === "\t" || char === "\n") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      continue;
    }
    inWord = true;
    if (char === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new UsageError(`unbalanced ' in command: ${line}`);
      word += line.slice(i + 1, end);
      i = end;
    } else if (char === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        const inner = line[j]!;
        if (inner === "\\" && j + 1 < line.length && '\\"$`'.includes(line[j + 1]!)) {
          word += line[++j];
        } else if (inner === "$" || inner === "`") {
          throw shellSyntax(line, inner);
        } else {
          word += inner;
        }
      }
      if (j >= line.length) throw new UsageError(`unbalanced " in command: ${line}`);
      i = j;
    } else if (char === "\\") {
      if (i + 1 < line.length) word += line[++i];
    } else if (SHELL_SYNTAX.has(char)) {
      throw shellSyntax(line, char);
    } else {
      word += char;
    }
  }
  if (inWord) words.push(word);
  if (words.length === 0) throw new UsageError("empty --command");
  return words;
}

function shellSyntax(line: string, char: string): UsageError {
  return new UsageError(
    `--command '${line}' uses shell syntax (${char}); quote it, or give ` +
      `--command "sh -c '…'" so the shell is measured on purpose`,
  );
}
