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
 * Lines are split on `\n` (a final `\r` is ignored); every match on a line
 * is a token, in order; when the pattern has a capture group, group 1 is
 * the token's name. A line is scanned once its newline (or the end of
 * output) arrives, so tokens split across reads are found. Matches never
 * span two lines. Line numbers are 0-based. Bytes that are not valid UTF-8
 * are scanned as U+FFFD.
 *
 * The scan works on bytes: lines without the pattern's literal prefix
 * (`__` for the default pattern) are counted but never decoded or matched,
 * so output without tokens costs little more than a `memchr`.
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
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  readonly #maxLineLength: number;
  readonly #overlap: number;
  readonly #names = new Map<string, string>();
  /** UTF-8 bytes every match starts with (empty: every line is a candidate). */
  readonly #prefix: Uint8Array;
  /** Bytes of the current, incomplete line. */
  #carry = new Uint8Array(4096);
  #carryLength = 0;
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
    this.#prefix = new TextEncoder().encode(this.pattern.prefix);
    this.#maxLineLength = options.maxLineLength ?? 1 << 20;
    this.#overlap = Math.min(options.overlap ?? 1 << 16, this.#maxLineLength >> 1);
  }

  /** Bytes of the incomplete line held in memory (bounded by `maxLineLength`). */
  get pendingLength(): number {
    return this.#carryLength;
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
    const firstNewline = bytes.indexOf(10);
    if (firstNewline === -1) {
      this.#appendCarry(bytes);
      if (this.#carryLength > this.#maxLineLength) this.#cutLongLine();
      return this.count;
    }
    if (this.#carryLength > 0) {
      this.#appendCarry(bytes.subarray(0, firstNewline));
      this.#scanLine(this.#carry, 0, this.#carryLength);
      this.#carryLength = 0;
    } else {
      this.#scanLine(bytes, 0, firstNewline);
    }
    this.#line++;
    const lastNewline = bytes.lastIndexOf(10);
    if (lastNewline > firstNewline) this.#scanLines(bytes, firstNewline + 1, lastNewline);
    this.#appendCarry(bytes.subarray(lastNewline + 1));
    if (this.#carryLength > this.#maxLineLength) this.#cutLongLine();
    return this.count;
  }

  /**
   * Ends the output: scans the last line if it had no trailing newline.
   *
   * @returns How many tokens that line held.
   */
  finish(): number {
    this.count = 0;
    if (this.#carryLength > 0) {
      this.#scanLine(this.#carry, 0, this.#carryLength);
      this.#carryLength = 0;
      this.#line++;
    }
    return this.count;
  }

  /**
   * Scans the complete lines in `bytes[start, end]` (`end` is a newline).
   * With a prefix, only the lines holding it are decoded and matched.
   */
  #scanLines(bytes: Uint8Array, start: number, end: number): void {
    let counted = start;
    let at = start;
    while (at < end) {
      const hit = this.#prefix.length === 0 ? at : this.#findPrefix(bytes, at, end);
      if (hit === -1) break;
      const lineStart = hit === start ? start : Math.max(start, bytes.lastIndexOf(10, hit - 1) + 1);
      const lineEnd = bytes.indexOf(10, hit);
      this.#line += countNewlines(bytes, counted, lineStart);
      counted = lineStart;
      this.#scanLine(bytes, lineStart, lineEnd);
      at = lineEnd + 1;
    }
    this.#line += countNewlines(bytes, counted, end + 1);
  }

  /** First position in `[from, to)` where the prefix starts, or -1. */
  #findPrefix(bytes: Uint8Array, from: number, to: number): number {
    const prefix = this.#prefix;
    const first = prefix[0]!;
    for (
      let at = bytes.indexOf(first, from);
      at !== -1 && at < to;
      at = bytes.indexOf(first, at + 1)
    ) {
      let i = 1;
      while (i < prefix.length && bytes[at + i] === prefix[i]) i++;
      if (i === prefix.length) return at;
    }
    return -1;
  }

  /** Matches one line (`bytes[start, end)`, no newline; a final `\r` is ignored). */
  #scanLine(bytes: Uint8Array, start: number, end: number): void {
    if (end > start && bytes[end - 1] === 13) end--;
    if (this.#prefix.length > 0 && this.#findPrefix(bytes, start, end) === -1) return;
    this.#matchText(this.#decoder.decode(bytes.subarray(start, end)), Infinity);
  }

  /**
   * Records the matches in one line of text that start before `limit`;
   * returns where the last one ended.
   */
  #matchText(text: string, limit: number): number {
    const regex = this.#regex;
    regex.lastIndex = 0;
    let lastEnd = 0;
    for (let match = regex.exec(text); match !== null; match = regex.exec(text)) {
      if (match.index >= limit) break;
      if (match[0].length === 0) {
        regex.lastIndex = match.index + 1;
        continue;
      }
      this.#record(match, this.#line);
      lastEnd = regex.lastIndex;
    }
    return lastEnd;
  }

  /**
   * A partial line grew past `maxLineLength`: scan it now for the matches
   * that start before its last `overlap` characters, keep only those.
   */
  #cutLongLine(): void {
    const text = this.#decoder.decode(this.#carry.subarray(0, this.#carryLength));
    const cut = text.length - this.#overlap;
    const end = this.#matchText(text, cut);
    this.#carryLength = 0;
    this.#appendCarry(new TextEncoder().encode(text.slice(Math.max(cut, end))));
  }

  #appendCarry(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const needed = this.#carryLength + bytes.length;
    if (needed > this.#carry.length) {
      const grown = new Uint8Array(Math.max(needed, this.#carry.length * 2));
      grown.set(this.#carry.subarray(0, this.#carryLength));
      this.#carry = grown;
    }
    this.#carry.set(bytes, this.#carryLength);
    this.#carryLength = needed;
  }

  #record(match: RegExpExecArray, line: number): void {
    const raw = this.pattern.namedByGroup && match[1] !== undefined ? match[1] : match[0];
    this.tokens[this.count] = this.#intern(raw);
    this.lines[this.count] = line;
    this.count++;
  }

  /**
   * Returns one stored copy per distinct token name. A substring of a large
   * line would otherwise keep the whole line alive for the whole run.
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

/** Below this many bytes a plain loop beats setting up the word-wise count. */
const WORDWISE_FROM = 64;

/**
 * Newlines in `bytes[from, to)`. Long ranges are counted four bytes at a
 * time (an exact zero-byte test on `word ^ 0x0a0a0a0a`, no borrow between
 * bytes): about twice as fast as one `indexOf` per line on ~100-byte lines,
 * and counting lines is most of the scan of output without tokens.
 */
function countNewlines(bytes: Uint8Array, from: number, to: number): number {
  let count = 0;
  let i = from;
  if (to - from >= WORDWISE_FROM) {
    while ((bytes.byteOffset + i) % 4 !== 0) if (bytes[i++] === 10) count++;
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + i, (to - i) >>> 2);
    for (let w = 0; w < words.length; w++) {
      const x = words[w]! ^ 0x0a0a0a0a;
      // High bit of each byte set exactly where that byte of x is zero.
      const zero = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x | 0x7f7f7f7f);
      if (zero !== 0) {
        count += ((zero >>> 7) & 1) + ((zero >>> 15) & 1) + ((zero >>> 23) & 1) + (zero >>> 31);
      }
    }
    i += words.length * 4;
  }
  for (; i < to; i++) if (bytes[i] === 10) count++;
  return count;
}
