import assert from "node:assert/strict";
import fc from "fast-check";
import { TokenScanner } from "../src/phase/token_scanner.ts";
import { compileTokenPattern, requiredPrefix } from "../src/phase/token_pattern.ts";
import { UsageError } from "../src/errors.ts";

// The byte prefilter (lines without the pattern's literal prefix are skipped
// undecoded) must never change what RegExp finds, for patterns of any Unicode.

const decoder = new TextDecoder();

/** What RegExp finds, line by line, in the decoded output. */
function reference(bytes: Uint8Array, source: string): [string, number][] {
  const pattern = compileTokenPattern(source);
  const found: [string, number][] = [];
  const lines = decoder.decode(bytes).split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((raw, index) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const regex = new RegExp(pattern.regex.source, pattern.regex.flags);
    for (const match of line.matchAll(regex)) {
      if (match[0] === "") continue;
      found.push([pattern.namedByGroup && match[1] !== undefined ? match[1] : match[0], index]);
    }
  });
  return found;
}

function scan(source: string, bytes: Uint8Array, size: number): [string, number][] {
  const scanner = new TokenScanner(source);
  const found: [string, number][] = [];
  const collect = (count: number) => {
    for (let i = 0; i < count; i++) found.push([scanner.tokens[i]!, scanner.lines[i]!]);
  };
  for (let offset = 0; offset < bytes.length; offset += size) {
    collect(scanner.push(bytes.slice(offset, offset + size)));
  }
  collect(scanner.finish());
  return found;
}

const PIECES = [
  "🔥",
  "😀",
  "𝔸",
  "é",
  "日",
  "\uFFFD",
  "__",
  "A",
  "\\u{1F525}",
  "[🔥😀]",
  "(🔥|A)",
  ".",
];
const patternArbitrary = fc.array(
  fc.tuple(fc.constantFrom(...PIECES), fc.constantFrom("", "", "?", "+", "*", "{0,1}")),
  { minLength: 1, maxLength: 4 },
).map((pieces) => pieces.map(([piece, quantifier]) => piece + quantifier).join(""));

/** Output bytes: the same characters, newlines, and invalid UTF-8 (a lone lead byte, a stray continuation). */
const outputArbitrary = fc.array(
  fc.constantFrom(
    "🔥",
    "😀",
    "𝔸",
    "é",
    "日",
    "\uFFFD",
    "__",
    "A",
    "x",
    "\n",
    "\r\n",
    "\xff",
    "\x80",
  ),
  { maxLength: 40 },
).map((parts) => {
  const chunks = parts.map((part) =>
    part === "\xff"
      ? new Uint8Array([0xff])
      : part === "\x80"
      ? new Uint8Array([0x80])
      : new TextEncoder().encode(part)
  );
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
});

Deno.test("property: tokens of Unicode patterns (astral, optional, escapes, U+FFFD) are what RegExp finds", () => {
  fc.assert(
    fc.property(
      patternArbitrary,
      outputArbitrary,
      fc.integer({ min: 1, max: 9 }),
      (source, bytes, size) => {
        try {
          compileTokenPattern(source);
        } catch (error) {
          fc.pre(!(error instanceof UsageError));
          throw error;
        }
        assert.deepEqual(scan(source, bytes, size), reference(bytes, source), source);
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("requiredPrefix() never holds half a character or U+FFFD", () => {
  const cases: [string, string][] = [
    ["🔥?__X__", ""],
    ["x🔥?", "x"],
    ["x🔥*y", "x"],
    ["__🔥__", "__🔥__"],
    ["a🔥+", "a🔥"],
    ["\\🔥?", ""],
    ["ab\uFFFDc", "ab"],
    ["é?x", ""],
  ];
  for (const [source, prefix] of cases) assert.equal(requiredPrefix(source), prefix, source);
  const line = new TextEncoder().encode("__X__\n");
  assert.deepEqual(scan("🔥?__X__", line, 64), [["__X__", 0]], "an optional astral character");
  assert.deepEqual(scan("x🔥?", new TextEncoder().encode("x\n"), 64), [["x", 0]]);
});
