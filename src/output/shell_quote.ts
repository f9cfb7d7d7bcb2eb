/**
 * Quotes argv for a POSIX shell, so a printed command can be pasted back.
 *
 * @module
 */

/** Words made only of these characters need no quotes in any POSIX shell. */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Joins argv into one command line a POSIX shell splits back into the same
 * words: plain words stay as they are, others are single-quoted (a `'`
 * inside becomes `'\''`).
 *
 * @param argv The words.
 * @returns The command line.
 *
 * @example Usage
 * ```ts
 * import { quoteShellWords } from "./shell_quote.ts";
 * console.log(quoteShellWords(["sh", "-c", 'echo "a;b"; echo it\'s'])); // sh -c 'echo "a;b"; echo it'\''s'
 * ```
 */
export function quoteShellWords(argv: readonly string[]): string {
  return argv.map((word) =>
    word !== "" && PLAIN_WORD.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
  ).join(" ");
}
