/**
 * Compiling and validating the `--token-pattern` regular expression.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** The default token pattern, as in the reference tool. */
export const DEFAULT_TOKEN_PATTERN = "__[A-Z0-9_]+__";

/**
 * A compiled token pattern: the user's source text, the global multi-line
 * regex used to scan lines, and whether group 1 names the token.
 */
export interface TokenPattern {
  /** The pattern as the user wrote it. */
  source: string;
  /** Scanning regex (flags `gm`, plus `u` when the pattern allows it). */
  regex: RegExp;
  /** `true` when the pattern has a capture group: group 1 is the token name. */
  namedByGroup: boolean;
}

/**
 * Compiles a token pattern, rejecting invalid ones and ones that match the
 * empty string (every line would be a boundary).
 *
 * The pattern is tried with Unicode semantics first (closest to the
 * reference tool's Rust regexes) and without them if that fails, so both
 * `\p{Lu}` and lenient escapes like `\_` work.
 *
 * @param source The regular expression text.
 * @returns The compiled pattern.
 * @throws {UsageError} When the pattern is invalid or matches "".
 *
 * @example Usage
 * ```ts
 * import { compileTokenPattern } from "./token_pattern.ts";
 * const pattern = compileTokenPattern("<<(\\w+)>>");
 * console.log(pattern.namedByGroup); // true
 * ```
 */
export function compileTokenPattern(source: string): TokenPattern {
  let regex: RegExp;
  try {
    regex = new RegExp(source, "gmu");
  } catch {
    try {
      regex = new RegExp(source, "gm");
    } catch (error) {
      const reason = (error as Error).message
        .replace(/^Invalid regular expression: /, "")
        .replace(/^\/.*\/[a-z]*: /s, "");
      throw new UsageError(`invalid --token-pattern '${source}': ${reason}`);
    }
  }
  regex.lastIndex = 0;
  if (regex.test("")) {
    throw new UsageError(
      `invalid --token-pattern '${source}': it matches the empty string, so every line would be a boundary`,
    );
  }
  regex.lastIndex = 0;
  const groups = new RegExp(`${regex.source}|`, regex.flags).exec("")!.length - 1;
  return { source, regex, namedByGroup: groups > 0 };
}
