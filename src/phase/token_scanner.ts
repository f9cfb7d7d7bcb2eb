/**
 * Finds phase tokens in a program's stdout, chunk by chunk.
 *
 * @module
 */

import { type ByteSearch, createByteSearch, PlainByteSearch } from "./byte_search.ts";
import { compileTokenPattern, type TokenPattern } from "./token_pattern.ts";

const encoder = new TextEncoder();

/** Options of {@linkcode TokenScanner}. */
export interface TokenScannerOptions {
  /**
   * Longest partial line kept while waiting for its newline, in bytes. Past
   * it, the line is scanned as it streams by so memory stays bounded.
   * Default 1 MiB.
   */
  maxLineLength?: number;
  /**
   * Inside a line longer than `maxLineLength`, how many bytes from a
   * token's first byte are matched at once: longer tokens there may be
   * missed. Default 256 bytes.
   */
  overlap?: number;
}

/**
 * Chunks from this size are searched with SIMD. A token line arriving alone
 * (a short chunk after a quiet spell) is searched in place: no copy into
 * WebAssembly memory and no call into it on the way to its boundary.
 */
const SIMD_FROM_BYTES = 512;
/** Lines up to this long that are plain ASCII are turned into text without the decoder. */
const SHORT_LINE_BYTES = 256;

/** Bytes of text before a token that its match sees in a long line (for `\b`, lookbehinds). */
const LONG_LINE_CONTEXT = 64;

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
 * The scan works on bytes, 16 at a time (see {@linkcode createByteSearch}):
 * lines without the pattern's literal prefix (`__` for the default pattern)
 * are counted but never decoded or matched, so output without tokens costs
 * little more than a copy. A line longer than `maxLineLength` is not kept
 * whole: each place where the prefix occurs is matched on the text around
 * it as the line streams by.
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
  /** The same pattern, matching only where `lastIndex` points (long lines). */
  readonly #sticky: RegExp;
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  readonly #maxLineLength: number;
  readonly #overlap: number;
  readonly #names = new Map<string, string>();
  /** UTF-8 bytes every match starts with (empty: every line is a candidate). */
  readonly #prefix: Uint8Array;
  /** Searches large chunks (a copy in WebAssembly memory, 16 bytes at a time). */
  readonly #simd: ByteSearch = createByteSearch();
  /** Searches small chunks in place: a token line alone is done before SIMD would start. */
  readonly #plain = new PlainByteSearch();
  /** The search with the chunk being pushed loaded. */
  #search: ByteSearch = this.#plain;
  /** Searches the kept part of a long line (made when one first occurs). */
  #carrySearch: ByteSearch | undefined;
  /** Bytes of the current, incomplete line (of a long line: its unscanned end). */
  #carry = new Uint8Array(4096);
  #carryLength = 0;
  /** The current line outgrew `maxLineLength` and is scanned as it streams by. */
  #long = false;
  /** In a long line: where in `#carry` the prefix was not looked for yet. */
  #longFrom = 0;
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
    this.#sticky = new RegExp(this.pattern.regex.source, `${this.pattern.regex.flags}y`);
    this.#prefix = encoder.encode(this.pattern.prefix);
    this.#maxLineLength = options.maxLineLength ?? 1 << 20;
    this.#overlap = Math.max(
      1,
      Math.min(options.overlap ?? 256, (this.#maxLineLength >> 1) - LONG_LINE_CONTEXT),
    );
  }

  /** Bytes of the incomplete line held in memory (at most `maxLineLength` plus one chunk). */
  get pendingLength(): number {
    return this.#carryLength;
  }

  /** Number of complete lines seen so far. */
  get lineCount(): number {
    return this.#line;
  }

  /**
   * Where to read the next chunk: a chunk read into it and given to
   * {@linkcode TokenScanner.push} (as a view from its start) is searched
   * where it lies instead of being copied into the search's memory first.
   * The space is reused by the next `push`: pass the bytes on before that.
   *
   * @param length Bytes to read at most.
   * @returns A view of `length` bytes.
   *
   * @example Usage
   * ```ts
   * import { TokenScanner } from "./token_scanner.ts";
   * const scanner = new TokenScanner("__[A-Z]+__");
   * const space = scanner.inputSpace(1024);
   * const { written } = new TextEncoder().encodeInto("__A__\n", space);
   * console.log(scanner.push(space.subarray(0, written)), scanner.tokens[0]); // 1 "__A__"
   * ```
   */
  inputSpace(length: number): Uint8Array {
    return this.#simd.space(length);
  }

  /**
   * Feeds the next chunk of output.
   *
   * @param bytes Raw stdout bytes, in order.
   * @returns How many tokens completed lines in this chunk held.
   */
  push(bytes: Uint8Array): number {
    this.count = 0;
    const search = this.#search = bytes.length < SIMD_FROM_BYTES ? this.#plain : this.#simd;
    search.load(bytes);
    const firstNewline = search.indexOf(10, 0, bytes.length);
    if (firstNewline === -1) {
      this.#extendLine(bytes);
      return this.count;
    }
    this.#endLine(bytes.subarray(0, firstNewline));
    const lastNewline = bytes.lastIndexOf(10);
    if (lastNewline > firstNewline) this.#scanLines(bytes, firstNewline + 1, lastNewline);
    if (lastNewline + 1 < bytes.length) this.#extendLine(bytes.subarray(lastNewline + 1));
    return this.count;
  }

  /**
   * Ends the output: scans the last line if it had no trailing newline.
   *
   * @returns How many tokens that line held.
   */
  finish(): number {
    this.count = 0;
    if (this.#carryLength > 0 || this.#long) this.#endLine(new Uint8Array(0));
    return this.count;
  }

  /** The line in progress ends with `tail` (its newline is not included). */
  #endLine(tail: Uint8Array): void {
    if (this.#long) {
      this.#appendCarry(tail);
      if (this.#prefix.length === 0) this.#scanLine(this.#carry, 0, this.#carryLength);
      else this.#streamLongLine(true);
    } else if (this.#carryLength === 0) {
      this.#scanLine(tail, 0, tail.length, this.#search);
    } else {
      this.#appendCarry(tail);
      this.#scanLine(this.#carry, 0, this.#carryLength);
    }
    this.#carryLength = 0;
    this.#long = false;
    this.#longFrom = 0;
    this.#line++;
  }

  /** More of the line in progress, without its end. */
  #extendLine(part: Uint8Array): void {
    this.#appendCarry(part);
    if (!this.#long && this.#carryLength <= this.#maxLineLength) return;
    this.#long = true;
    if (this.#prefix.length === 0) this.#cutLongLine();
    else this.#streamLongLine(false);
  }

  /**
   * Scans the complete lines in `bytes[start, end]` (`end` is a newline).
   * With a prefix, only the lines holding it are decoded and matched.
   */
  #scanLines(bytes: Uint8Array, start: number, end: number): void {
    const search = this.#search;
    let counted = start;
    let at = start;
    while (at < end) {
      const hit = this.#prefix.length === 0 ? at : this.#findPrefix(bytes, at, end, search);
      if (hit === -1) break;
      const lineStart = hit === start ? start : Math.max(start, bytes.lastIndexOf(10, hit - 1) + 1);
      const lineEnd = search.indexOf(10, hit, end + 1);
      this.#line += search.count(10, counted, lineStart);
      counted = lineStart;
      this.#scanLine(bytes, lineStart, lineEnd, search);
      at = lineEnd + 1;
    }
    this.#line += search.count(10, counted, end + 1);
  }

  /**
   * First position in `[from, to)` where the whole prefix starts, or -1.
   * `search`, when given, has `bytes` loaded.
   */
  #findPrefix(bytes: Uint8Array, from: number, to: number, search?: ByteSearch): number {
    const prefix = this.#prefix;
    const first = prefix[0]!;
    if (search === undefined) {
      for (
        let at = bytes.indexOf(first, from);
        at !== -1 && at + prefix.length <= to;
        at = bytes.indexOf(first, at + 1)
      ) {
        if (startsWith(bytes, at, prefix)) return at;
      }
      return -1;
    }
    if (prefix.length === 1) return search.indexOf(first, from, to);
    const second = prefix[1]!;
    for (
      let at = search.indexOfPair(first, second, from, to);
      at !== -1;
      at = search.indexOfPair(first, second, at + 1, to)
    ) {
      if (at + prefix.length <= to && startsWith(bytes, at, prefix)) return at;
    }
    return -1;
  }

  /** Matches one line (`bytes[start, end)`, no newline; a final `\r` is ignored). */
  #scanLine(bytes: Uint8Array, start: number, end: number, search?: ByteSearch): void {
    if (end > start && bytes[end - 1] === 13) end--;
    if (this.#prefix.length > 0 && this.#findPrefix(bytes, start, end, search) === -1) return;
    this.#matchText(this.#text(bytes, start, end), Infinity);
  }

  /** `bytes[start, end)` as text: short ASCII lines directly, others through the decoder. */
  #text(bytes: Uint8Array, start: number, end: number): string {
    if (end - start <= SHORT_LINE_BYTES) {
      let ascii = true;
      for (let i = start; i < end; i++) {
        if (bytes[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
      }
    }
    return this.#decoder.decode(bytes.subarray(start, end));
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
   * A line longer than `maxLineLength`, with a prefix: matches every place
   * the prefix starts in the kept bytes, except in the last `overlap` bytes
   * (their text may go on in the next chunk) unless the line has ended; then
   * keeps only what is left plus a little context.
   */
  #streamLongLine(final: boolean): void {
    const carry = this.#carry;
    let end = this.#carryLength;
    if (final && end > 0 && carry[end - 1] === 13) end--;
    const limit = final ? end : this.#carryLength - this.#overlap;
    const search = this.#carrySearch ??= createByteSearch();
    search.load(carry.subarray(0, end));
    let from = this.#longFrom;
    for (;;) {
      const at = this.#findPrefix(carry, from, end, search);
      if (at === -1 || at >= limit) break;
      const matched = this.#matchAt(at, end);
      from = matched > at ? matched : at + 1;
    }
    if (final) return;
    const resume = Math.max(from, limit);
    let drop = Math.max(0, resume - LONG_LINE_CONTEXT);
    while (drop > 0 && (carry[drop]! & 0xc0) === 0x80) drop--; // keep whole characters
    carry.copyWithin(0, drop, this.#carryLength);
    this.#carryLength -= drop;
    this.#longFrom = resume - drop;
  }

  /**
   * Matches the pattern exactly at `#carry[at]`, on `overlap` bytes of text
   * (more when the match reaches their end) after a little context; records
   * the token and returns where it ends, or -1.
   */
  #matchAt(at: number, end: number): number {
    const carry = this.#carry;
    let contextStart = Math.max(0, at - LONG_LINE_CONTEXT);
    while (contextStart < at && (carry[contextStart]! & 0xc0) === 0x80) contextStart++;
    const before = this.#decoder.decode(carry.subarray(contextStart, at));
    let windowEnd = Math.min(end, at + this.#overlap);
    const sticky = this.#sticky;
    for (;;) {
      const text = before + this.#decoder.decode(carry.subarray(at, windowEnd));
      sticky.lastIndex = before.length;
      const match = sticky.exec(text);
      if (match === null || match[0].length === 0) return -1;
      if (sticky.lastIndex === text.length && windowEnd < end) {
        windowEnd = end; // the token may go on past the window: match on all that is kept
        continue;
      }
      this.#record(match, this.#line);
      return at + encoder.encode(match[0]).length;
    }
  }

  /**
   * A partial line without a literal prefix grew past `maxLineLength`: scan
   * it now for the matches that start before its last `overlap` characters,
   * keep only those.
   */
  #cutLongLine(): void {
    // A character split by the chunk's end waits, as bytes, for the rest of it: decoded now,
    // it would become U+FFFD and the token it belongs to would never match.
    const complete = completeCharactersEnd(this.#carry, this.#carryLength);
    const text = this.#decoder.decode(this.#carry.subarray(0, complete));
    const cut = text.length - this.#overlap;
    const end = this.#matchText(text, cut);
    const split = this.#carry.slice(complete, this.#carryLength);
    this.#carryLength = 0;
    this.#appendCarry(encoder.encode(text.slice(Math.max(cut, end))));
    this.#appendCarry(split);
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
    this.tokens[this.count] = this.#intern(raw, match.input.length);
    this.lines[this.count] = line;
    this.count++;
  }

  /**
   * Returns one stored copy per distinct token name. A substring of a large
   * line would otherwise keep the whole line alive for the whole run; from a
   * short line it is kept as it is (copying it was about a quarter of the time a
   * token line takes to scan).
   */
  #intern(name: string, lineLength: number): string {
    let stored = this.#names.get(name);
    if (stored === undefined) {
      stored = lineLength <= SHORT_LINE_BYTES ? name : JSON.parse(JSON.stringify(name)) as string;
      this.#names.set(stored, stored);
    }
    return stored;
  }
}

/** Whether `bytes[at..]` starts with `prefix` (the caller checked the length). */
function startsWith(bytes: Uint8Array, at: number, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

/**
 * Where the last whole UTF-8 character of `bytes[0, length)` ends: `length`,
 * or less when the bytes end inside a multi-byte character (one to three of its
 * bytes). Invalid sequences count as whole (the decoder replaces them anyway).
 */
function completeCharactersEnd(bytes: Uint8Array, length: number): number {
  for (let back = 1; back <= 3 && back <= length; back++) {
    const byte = bytes[length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return size > back ? length - back : length;
  }
  return length;
}
