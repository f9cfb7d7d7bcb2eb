/**
 * Compiling and validating the `--token-pattern` regular expression.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

export { DEFAULT_TOKEN_PATTERN } from "../setting_defaults.ts";

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
  /**
   * Text every match starts with (possibly empty). Lines without it cannot
   * hold a token, so they are never decoded or matched.
   */
  prefix: string;
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
  return { source, regex, namedByGroup: groups > 0, prefix: requiredPrefix(source) };
}

const SYNTAX = new Set([..."\\^$.|?*+()[]{}"]);
const QUANTIFIERS = new Set([..."?*{"]);

/**
 * The literal text every match of a pattern starts with, read from the
 * pattern's source: plain characters and escaped punctuation up to the
 * first construct that is not literal. A quantifier that makes the last
 * character optional removes it; a top-level alternation means no prefix.
 *
 * @param source A regular expression's source.
 * @returns The prefix, possibly empty.
 *
 * @example Usage
 * ```ts
 * import { requiredPrefix } from "./token_pattern.ts";
 * console.log(requiredPrefix("__[A-Z0-9_]+__"), requiredPrefix("\\[PHASE-\\d+\\]")); // "__" "[PHASE-"
 * ```
 */
export function requiredPrefix(source: string): string {
  if (hasTopLevelAlternation(source)) return "";
  let prefix = "";
  let i = source.startsWith("^") ? 1 : 0;
  while (i < source.length) {
    // Whole code points: a quantifier after 🔥 makes all of it optional.
    const char = String.fromCodePoint(source.codePointAt(i)!);
    let literal: string;
    if (char === "\\") {
      const next = source.codePointAt(i + 1);
      if (next === undefined || /[A-Za-z0-9]/.test(String.fromCodePoint(next))) break; // \d, \w, \b, \1, ...
      literal = String.fromCodePoint(next);
      i += 1 + literal.length;
    } else if (SYNTAX.has(char)) {
      if (char === "+") i = source.length; // the last character stays required, then stop
      else if (QUANTIFIERS.has(char)) prefix = [...prefix].slice(0, -1).join("");
      break;
    } else {
      literal = char;
      i += char.length;
    }
    if (QUANTIFIERS.has(source[i] ?? "")) break; // optional or repeated zero times
    prefix += literal;
    if (source[i] === "+") break; // one or more: required once, then unknown
  }
  return encodable(prefix);
}

/**
 * The part of a prefix the byte prefilter can look for exactly: up to the
 * first lone surrogate (no UTF-8 form; without the `u` flag a quantifier may
 * bind to half a pair) or U+FFFD (what the decoder makes of invalid bytes,
 * which are not those of U+FFFD).
 */
function encodable(prefix: string): string {
  let end = 0;
  for (const char of prefix) {
    const code = char.codePointAt(0)!;
    if ((code >= 0xd800 && code <= 0xdfff) || code === 0xfffd) break;
    end += char.length;
  }
  return prefix.slice(0, end);
}

/** Whether `|` occurs outside any group or class. */
function hasTopLevelAlternation(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (char === "\\") {
      i++;
    } else if (inClass) {
      if (char === "]") inClass = false;
    } else if (char === "[") {
      inClass = true;
    } else if (char === "(") {
      depth++;
    } else if (char === ")") {
      depth--;
    } else if (char === "|" && depth === 0) {
      return true;
    }
  }
  return false;
}
