import assert from "node:assert/strict";
import { TokenScanner } from "../src/phase/token_scanner.ts";
import {
  compileTokenPattern,
  DEFAULT_TOKEN_PATTERN,
  requiredPrefix,
} from "../src/phase/token_pattern.ts";
import { UsageError } from "../src/errors.ts";

const encoder = new TextEncoder();

/** Small deterministic PRNG (mulberry32) so failures are reproducible. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Feeds `bytes` in the given pieces and collects [token, line] pairs. */
function scanPieces(scanner: TokenScanner, pieces: Uint8Array[]): [string, number][] {
  const found: [string, number][] = [];
  const collect = (count: number) => {
    for (let i = 0; i < count; i++) found.push([scanner.tokens[i]!, scanner.lines[i]!]);
  };
  for (const piece of pieces) collect(scanner.push(piece));
  collect(scanner.finish());
  return found;
}

/** The obvious line-by-line implementation the scanner must agree with. */
function reference(text: string, pattern: string): [string, number][] {
  const compiled = compileTokenPattern(pattern);
  const found: [string, number][] = [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((line, index) => {
    const regex = new RegExp(compiled.regex.source, compiled.regex.flags);
    for (const match of line.matchAll(regex)) {
      if (match[0] === "") continue;
      found.push([compiled.namedByGroup && match[1] !== undefined ? match[1] : match[0], index]);
    }
  });
  return found;
}

function randomSplit(bytes: Uint8Array, next: () => number, maxPiece: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const size = 1 + Math.floor(next() * maxPiece);
    pieces.push(bytes.slice(offset, offset + size));
    offset += size;
  }
  return pieces;
}

function randomOutput(next: () => number): string {
  const words = ["hello", "__WORK__", "x", "__A_1__", "é漢字", "__", "__bad__", "_", "🙂", "\r"];
  let text = "";
  const lines = 1 + Math.floor(next() * 40);
  for (let l = 0; l < lines; l++) {
    const count = Math.floor(next() * 6);
    for (let w = 0; w < count; w++) text += words[Math.floor(next() * words.length)] + " ";
    if (l < lines - 1 || next() < 0.5) text += "\n";
  }
  return text;
}

/** Patterns that take each scanning path: literal prefix, none, capture group, anchors. */
const RANDOM_PATTERNS = [
  DEFAULT_TOKEN_PATTERN,
  "(?:__A_1__|__WORK__|漢)",
  "_(_[A-Z]+)_",
  "^__[A-Z]+__",
  "x $",
];

Deno.test("TokenScanner agrees with a line-by-line scan for random chunk boundaries", () => {
  for (const pattern of RANDOM_PATTERNS) {
    for (let seed = 1; seed <= 150; seed++) {
      const next = random(seed);
      const text = randomOutput(next);
      const bytes = encoder.encode(text);
      const expected = reference(text, pattern);
      for (const maxPiece of [1, 3, 17, 4096]) {
        const scanner = new TokenScanner(pattern);
        const found = scanPieces(scanner, randomSplit(bytes, next, maxPiece));
        assert.deepEqual(
          found,
          expected,
          `${pattern}, seed ${seed}, pieces ≤ ${maxPiece}: ${JSON.stringify(text)}`,
        );
      }
    }
  }
});

Deno.test("TokenScanner finds the same tokens in chunks read into its input space", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const next = random(seed);
    // Long enough that most pieces take the SIMD search (512 bytes and more).
    let text = "";
    while (text.length < 20_000) text += randomOutput(next);
    const bytes = encoder.encode(text);
    const expected = reference(text, DEFAULT_TOKEN_PATTERN);
    for (const maxPiece of [700, 6000, 70_000]) {
      const pieces = randomSplit(bytes, next, maxPiece);
      const scanner = new TokenScanner(DEFAULT_TOKEN_PATTERN);
      const found: [string, number][] = [];
      const collect = (count: number) => {
        for (let i = 0; i < count; i++) found.push([scanner.tokens[i]!, scanner.lines[i]!]);
      };
      for (const piece of pieces) {
        // As the pump does: read into the space, push a view of it from its start.
        const space = scanner.inputSpace(maxPiece);
        space.set(piece);
        collect(scanner.push(space.subarray(0, piece.length)));
        // What is left in the space from this piece must not leak into the next one.
        space.fill(95, 0, piece.length);
      }
      collect(scanner.finish());
      assert.deepEqual(found, expected, `seed ${seed}, pieces ≤ ${maxPiece}`);
    }
  }
});

Deno.test("TokenScanner ignores a final \\r so CRLF output matches like LF output", () => {
  const scanner = new TokenScanner("^__[A-Z]+__$");
  assert.deepEqual(scanPieces(scanner, [encoder.encode("__A__\r\n__B__\r\nx__C__\r\n")]), [
    ["__A__", 0],
    ["__B__", 1],
  ]);
});

Deno.test("TokenScanner finds every token on a line, in order, with 0-based lines", () => {
  const scanner = new TokenScanner(DEFAULT_TOKEN_PATTERN);
  const found = scanPieces(scanner, [encoder.encode("a\n__X__ b __Y__\n\n__Z__")]);
  assert.deepEqual(found, [["__X__", 1], ["__Y__", 1], ["__Z__", 3]]);
  assert.equal(scanner.lineCount, 4);
});

Deno.test("TokenScanner names tokens by the first capture group", () => {
  const scanner = new TokenScanner("<<(\\w+)>>");
  assert.deepEqual(scanPieces(scanner, [encoder.encode("<<load>> then <<run>>\n")]), [
    ["load", 0],
    ["run", 0],
  ]);
  const optional = new TokenScanner("phase(?:=(\\w+))?");
  assert.deepEqual(scanPieces(optional, [encoder.encode("phase=a phase\n")]), [
    ["a", 0],
    ["phase", 0],
  ]);
});

Deno.test("TokenScanner never lets a match span two lines", () => {
  const scanner = new TokenScanner("A\\s*B");
  // "A\nB" would match across the newline: it must not.
  assert.deepEqual(scanPieces(scanner, [encoder.encode("xA\nB\nA B\n")]), [["A B", 2]]);
  const anchored = new TokenScanner("^go$");
  assert.deepEqual(scanPieces(anchored, [encoder.encode("go\nno go\ngo")]), [["go", 0], [
    "go",
    2,
  ]]);
});

Deno.test("TokenScanner finds tokens in a line longer than its buffer, in bounded memory", () => {
  const scanner = new TokenScanner(DEFAULT_TOKEN_PATTERN, { maxLineLength: 4096, overlap: 64 });
  const filler = "y".repeat(1000);
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < 200; i++) pieces.push(encoder.encode(`${filler}__T${i}__`));
  pieces.push(encoder.encode("\nnext __LAST__\n"));
  let longest = 0;
  const found: [string, number][] = [];
  for (const piece of pieces) {
    const count = scanner.push(piece);
    for (let i = 0; i < count; i++) found.push([scanner.tokens[i]!, scanner.lines[i]!]);
    longest = Math.max(longest, scanner.pendingLength);
  }
  assert.ok(longest <= 4096, `held ${longest} characters of one line`);
  assert.equal(found.length, 201);
  assert.deepEqual(found[0], ["__T0__", 0]);
  assert.deepEqual(found[199], ["__T199__", 0]);
  assert.deepEqual(found[200], ["__LAST__", 1]);
});

Deno.test("TokenScanner tolerates invalid UTF-8 and finds the tokens around it", () => {
  const scanner = new TokenScanner(DEFAULT_TOKEN_PATTERN);
  const bytes = new Uint8Array([0xff, 0xfe, 0x0a, ...encoder.encode("__OK__"), 0x80, 0x0a]);
  assert.deepEqual(scanPieces(scanner, [bytes]), [["__OK__", 1]]);
});

Deno.test("TokenScanner reuses its result arrays and allocates nothing for token-free chunks", () => {
  const scanner = new TokenScanner(DEFAULT_TOKEN_PATTERN);
  scanner.push(encoder.encode("__A__\n"));
  const tokens = scanner.tokens;
  assert.equal(scanner.push(encoder.encode("plain line\n")), 0);
  assert.equal(scanner.count, 0);
  assert.equal(scanner.tokens, tokens);
});

Deno.test("compileTokenPattern() rejects invalid and empty-matching patterns", () => {
  assert.throws(() => compileTokenPattern("("), UsageError);
  assert.throws(() => compileTokenPattern("x*"), /matches the empty string/);
  assert.throws(() => compileTokenPattern("[z-a]"), /invalid --token-pattern '\[z-a\]'/);
  // Lenient escapes that Unicode mode rejects still compile.
  assert.equal(compileTokenPattern("\\_\\_X\\_\\_").namedByGroup, false);
  assert.equal(compileTokenPattern("\\p{Lu}+_(\\d)").namedByGroup, true);
});

Deno.test("requiredPrefix() finds the literal every match starts with, conservatively", () => {
  const cases: [string, string][] = [
    ["__[A-Z0-9_]+__", "__"],
    ["\\[PHASE-\\d+\\]", "[PHASE-"],
    ["<<(\\w+)>>", "<<"],
    ["^__X__$", "__X__"],
    ["ab?c", "a"],
    ["a+b", "a"],
    ["x{2}y", ""],
    ["INIT|WORK", ""],
    ["(INIT|WORK)", ""],
    ["[ab]c", ""],
    ["(?<=a)b", ""],
  ];
  for (const [pattern, prefix] of cases) assert.equal(requiredPrefix(pattern), prefix, pattern);
});

Deno.test("TokenScanner counts lines exactly whatever bytes surround the newlines", () => {
  // Bytes next to \n that trip naive word-wise zero tests (0x0b, 0x0a, 0x80, 0xff, 0x00).
  const next = random(99);
  const alphabet = [10, 11, 9, 0, 128, 255, 95, 65, 32];
  for (let trial = 0; trial < 200; trial++) {
    const bytes = new Uint8Array(50 + Math.floor(next() * 400));
    for (let i = 0; i < bytes.length; i++) {
      bytes[i] = alphabet[Math.floor(next() * alphabet.length)]!;
    }
    const expected = bytes.filter((byte) => byte === 10).length;
    const scanner = new TokenScanner(DEFAULT_TOKEN_PATTERN);
    const offset = Math.floor(next() * 4);
    const padded = new Uint8Array(bytes.length + offset);
    padded.set(bytes, offset);
    scanner.push(padded.subarray(offset));
    scanner.finish();
    const trailing = bytes.at(-1) === 10 ? 0 : 1;
    assert.equal(scanner.lineCount, expected + trailing, `trial ${trial}`);
  }
});

Deno.test("TokenScanner finds in long lines what a line-by-line scan finds, whatever the chunks", () => {
  // Lines far longer than the scanner keeps, in chunks small and large (in place and in its
  // input space, plain and SIMD search), tokens and multi-byte characters on every boundary.
  // The alternation has no literal prefix: its long lines are decoded piece by piece, and a
  // character split between two chunks (漢 of a token) must wait for its other bytes.
  const patterns = [DEFAULT_TOKEN_PATTERN, "(?:__A_1__|__WORK__|漢)", "_(_[A-Z]+)_"];
  for (const pattern of patterns) {
    for (let seed = 1; seed <= 30; seed++) {
      const next = random(seed * 7919);
      let text = "";
      const lines = 1 + Math.floor(next() * 4);
      for (let l = 0; l < lines; l++) {
        const long = next() < 0.8;
        while (text.length - text.lastIndexOf("\n") < (long ? 2000 + next() * 9000 : 40)) {
          text += randomOutput(next).replaceAll("\n", " ");
        }
        text += "\n";
      }
      const bytes = encoder.encode(text);
      const expected = reference(text, pattern);
      for (const maxPiece of [50, 700, 5000]) {
        for (const intoSpace of [false, true]) {
          const scanner = new TokenScanner(pattern, { maxLineLength: 600, overlap: 40 });
          const found: [string, number][] = [];
          const collect = (count: number) => {
            for (let i = 0; i < count; i++) found.push([scanner.tokens[i]!, scanner.lines[i]!]);
          };
          for (const piece of randomSplit(bytes, next, maxPiece)) {
            if (!intoSpace) {
              collect(scanner.push(piece));
              continue;
            }
            const space = scanner.inputSpace(piece.length);
            space.set(piece);
            collect(scanner.push(space.subarray(0, piece.length)));
            space.fill(95, 0, piece.length);
          }
          collect(scanner.finish());
          assert.ok(scanner.pendingLength <= 600 + maxPiece);
          assert.deepEqual(found, expected, `${pattern}, seed ${seed}, pieces ≤ ${maxPiece}`);
        }
      }
    }
  }
});
