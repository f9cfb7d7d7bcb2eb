/**
 * Finds phase tokens in a program's stdout, chunk by chunk.
 *
 * @module
 */

import { compileTokenPattern, type TokenPattern } from "./token_pattern.ts";

/** Options of {@linkcode TokenScanner}. */
export interface TokenScannerOptions {
  /**
   * Longest partial line kept while waiting for its newline, in UTF-16 code
   * units. Past it, the line is scanned in pieces so memory stays bounded.
   * Default 1 MiB.
   */
  maxLineLength?: number;
  /**
   * When a long line is cut, how much of its end is kept for matches that
   * straddle the cut. Tokens longer than this inside such a line may be
   * missed. Default 64 KiB.
   */
  overlap?: number;
}

/**
 * Scans stdout bytes for tokens, line by line.
 *
 * Lines are split on `\n`; every match on a line is a token, in order; when
 * the pattern has a capture group, group 1 is the token's name. A line is
 * scanned once its newline (or the end of output) arrives, so tokens split
 * across reads are found. Matches never span two lines. Line numbers are
 * 0-based. Bytes that are not valid UTF-8 are scanned as U+FFFD.
 *
 * The tokens found by the last {@linkcode TokenScanner.push} are left in
 * `tokens[0..count)` and `lines[0..count)`: the arrays are reused so a
 * chunk without tokens allocates nothing for results.
 *
 * @example Usage
 * ```ts
 * import { TokenScanner } from "./token_scanner.ts";
 * const scanner = new TokenScanner("__[A-Z]+__");
 * const bytes = new TextEncoder().encode("hello\n__WO");
 * scanner.push(bytes); // 0: the second line is not complete yet
 * const found = scanner.push(new TextEncoder().encode("RK__ x __END__\n"));
 * console.log(found, scanner.tokens.slice(0, found), scanner.lines.slice(0, found));
 * // 2 [ "__WORK__", "__END__" ] [ 1, 1 ]
 * ```
 */
export class TokenScanner {
  /** Token names found by the last `push`/`finish`, valid in `[0, count)`. */
  readonly tokens: string[] = [];
  /** 0-based line numbers of those tokens. */
  readonly lines: number[] = [];
  /** How many tokens the last `push`/`finish` found. */
  count = 0;
  /** The compiled pattern. */
  readonly pattern: TokenPattern;

  readonly #regex: RegExp;
  readonly #lineRegex: RegExp;
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  readonly #maxLineLength: number;
  readonly #overlap: number;
  readonly #names = new Map<string, string>();
  /** Text of the current, incomplete line. */
  #carry = "";
  /** Line number of the line in `#carry`. */
  #line = 0;

  /**
   * Creates a scanner.
   *
   * @param pattern A regex source string, or an already compiled pattern.
   * @param options Limits for very long lines.
   */
  constructor(pattern: string | TokenPattern, options: TokenScannerOptions = {}) {
    this.pattern = typeof pattern === "string" ? compileTokenPattern(pattern) : pattern;
    this.#regex = new RegExp(this.pattern.regex.source, this.pattern.regex.flags);
    this.#lineRegex = new RegExp(this.pattern.regex.source, this.pattern.regex.flags);
    this.#maxLineLength = options.maxLineLength ?? 1 << 20;
    this.#overlap = Math.min(options.overlap ?? 1 << 16, this.#maxLineLength >> 1);
  }

  /** Length of the incomplete line held in memory (bounded by `maxLineLength`). */
  get pendingLength(): number {
    return this.#carry.length;
  }

  /** Number of complete lines seen so far. */
  get lineCount(): number {
    return this.#line;
  }

  /**
   * Feeds the next chunk of output.
   *
   * @param bytes Raw stdout bytes, in order.
   * @returns How many tokens completed lines in this chunk held.
   */
  push(bytes: Uint8Array): number {
    this.count = 0;
    const decoded = this.#decoder.decode(bytes, { stream: true });
    const text = this.#carry.length === 0 ? decoded : this.#carry + decoded;
    const lastNewline = text.lastIndexOf("\n");
    if (lastNewline === -1) {
      this.#carry = text;
      if (text.length > this.#maxLineLength) this.#cutLongLine();
      return this.count;
    }
    this.#scan(text, lastNewline, this.#line);
    this.#line += countNewlines(text, 0, lastNewline + 1);
    this.#carry = text.slice(lastNewline + 1);
    if (this.#carry.length > this.#maxLineLength) this.#cutLongLine();
    return this.count;
  }

  /**
   * Ends the output: scans the last line if it had no trailing newline.
   *
   * @returns How many tokens that line held.
   */
  finish(): number {
    this.count = 0;
    const text = this.#carry + this.#decoder.decode();
    this.#carry = "";
    if (text.length > 0) {
      this.#scan(text, text.length, this.#line);
      this.#line++;
    }
    return this.count;
  }

  /** Scans a partial line that grew too long, keeping only its tail. */
  #cutLongLine(): void {
    const text = this.#carry;
    const cut = text.length - this.#overlap;
    const end = this.#scan(text, cut, this.#line);
    this.#carry = text.slice(Math.max(cut, end));
  }

  /**
   * Records the matches that start before `end` in `text` (whose line
   * numbers start at `line`). Returns where the last match ended.
   */
  #scan(text: string, end: number, line: number): number {
    const regex = this.#regex;
    regex.lastIndex = 0;
    let counted = 0;
    let lastEnd = 0;
    for (;;) {
      const match = regex.exec(text);
      if (match === null || match.index >= end) break;
      const matched = match[0];
      if (matched.length === 0) {
        regex.lastIndex = match.index + 1;
        continue;
      }
      line += countNewlines(text, counted, match.index);
      counted = match.index;
      if (matched.includes("\n")) {
        // The pattern can match a newline: re-scan this line on its own so
        // a token never spans two lines.
        const lineStart = text.lastIndexOf("\n", match.index - 1) + 1;
        const lineEnd = text.indexOf("\n", match.index);
        lastEnd = this.#scanOneLine(text.slice(lineStart, lineEnd), match.index - lineStart, line) +
          lineStart;
        regex.lastIndex = lineEnd + 1;
        continue;
      }
      this.#record(match, line);
      lastEnd = regex.lastIndex;
    }
    return lastEnd;
  }

  #scanOneLine(lineText: string, from: number, line: number): number {
    const regex = this.#lineRegex;
    regex.lastIndex = from;
    let lastEnd = from;
    for (let match = regex.exec(lineText); match !== null; match = regex.exec(lineText)) {
      if (match[0].length === 0) {
        regex.lastIndex++;
        continue;
      }
      this.#record(match, line);
      lastEnd = regex.lastIndex;
    }
    return lastEnd;
  }

  #record(match: RegExpExecArray, line: number): void {
    const raw = this.pattern.namedByGroup && match[1] !== undefined ? match[1] : match[0];
    this.tokens[this.count] = this.#intern(raw);
    this.lines[this.count] = line;
    this.count++;
  }

  /**
   * Returns one stored copy per distinct token name. A substring of a large
   * chunk would otherwise keep the whole chunk alive for the whole run.
   */
  #intern(name: string): string {
    let stored = this.#names.get(name);
    if (stored === undefined) {
      stored = JSON.parse(JSON.stringify(name)) as string;
      this.#names.set(stored, stored);
    }
    return stored;
  }
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let at = text.indexOf("\n", from); at !== -1 && at < to; at = text.indexOf("\n", at + 1)) {
    count++;
  }
  return count;
}
