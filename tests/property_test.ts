/**
 * Property-based tests (fast-check): the token scanner against a plain
 * line-by-line scan for random patterns, outputs and chunkings, and the CSV
 * and JSON writers round-tripping arbitrary strings through real parsers.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { parse } from "csv-parse/sync";
import { TokenScanner } from "../src/phase/token_scanner.ts";
import { compileTokenPattern } from "../src/phase/token_pattern.ts";
import { UsageError } from "../src/errors.ts";
import { formatCsv } from "../src/output/csv.ts";
import { formatJson } from "../src/output/json.ts";
import { result } from "./fixtures.ts";

const encoder = new TextEncoder();

/** Random regex sources from pieces that cover literals, classes, groups and quantifiers. */
const patternArbitrary = fc.array(
  fc.oneof(
    fc.constantFrom(
      "_",
      "__",
      "A",
      "B",
      "x",
      "\\d",
      "[A-Z]",
      "[^ ]",
      ".",
      "\\w",
      "é",
      "\\[",
      "\\]",
    ),
    fc.constantFrom("(A|B)", "(x+)", "(?:__)"),
  ),
  { minLength: 1, maxLength: 5 },
).chain((pieces) =>
  fc.array(fc.constantFrom("", "", "+", "?", "*", "{1,2}"), {
    minLength: pieces.length,
    maxLength: pieces.length,
  }).map((quantifiers) => pieces.map((piece, i) => piece + quantifiers[i]).join(""))
);

/** Output made of fragments that often match, with newlines, CRLF and multibyte text. */
const outputArbitrary = fc.array(
  fc.constantFrom("__", "A", "B", "x", " ", "7", "\n", "\r\n", "é", "[", "]", "_A_", "漢", "\t"),
  { maxLength: 60 },
).map((parts) => parts.join(""));

function reference(text: string, source: string): [string, number][] {
  const pattern = compileTokenPattern(source);
  const found: [string, number][] = [];
  const lines = text.split("\n");
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

function scan(source: string, pieces: Uint8Array[]): [string, number][] {
  const scanner = new TokenScanner(source);
  const found: [string, number][] = [];
  const collect = (count: number) => {
    for (let i = 0; i < count; i++) found.push([scanner.tokens[i]!, scanner.lines[i]!]);
  };
  for (const piece of pieces) collect(scanner.push(piece));
  collect(scanner.finish());
  return found;
}

Deno.test("property: TokenScanner = line-by-line regex for random patterns, outputs and chunk boundaries", () => {
  fc.assert(
    fc.property(
      patternArbitrary,
      outputArbitrary,
      fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }),
      (source, text, sizes) => {
        try {
          compileTokenPattern(source);
        } catch (error) {
          fc.pre(!(error instanceof UsageError)); // patterns matching "" are rejected by design
          throw error;
        }
        const bytes = encoder.encode(text);
        const pieces: Uint8Array[] = [];
        for (let offset = 0, i = 0; offset < bytes.length; i++) {
          const size = sizes[i % sizes.length]!;
          pieces.push(bytes.slice(offset, offset + size));
          offset += size;
        }
        assert.deepEqual(scan(source, pieces), reference(text, source));
      },
    ),
    { numRuns: 2000 },
  );
});

const anyText = fc.string({ unit: "grapheme", maxLength: 40 });

Deno.test("property: CSV rows round-trip arbitrary commands and tokens through a CSV parser", () => {
  fc.assert(
    fc.property(
      fc.array(anyText, { minLength: 1, maxLength: 4 }),
      anyText,
      anyText,
      (command, start, pattern) => {
        const sample = result(1, command);
        sample.tokenPattern = pattern;
        sample.runs[0]!.phases[1]!.startToken = start;
        const rows: string[][] = parse(formatCsv(sample, false, { rawCells: true }), {
          delimiter: ";",
        });
        assert.equal(rows.length, 5);
        for (const row of rows) assert.equal(row.length, 16);
        assert.equal(rows[1]![12], command.join(" "));
        assert.equal(rows[1]![14], pattern);
        assert.equal(rows[3]![7], start);
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("property: neutralised CSV cells never start like a formula and keep the text", () => {
  fc.assert(
    fc.property(anyText, (command) => {
      const rows: string[][] = parse(formatCsv(result(1, [command])), { delimiter: ";" });
      const cell = rows[1]![12]!;
      assert.ok(!/^[=+\-@\t\r]/.test(cell));
      assert.ok(cell === command || cell === `'${command}`);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("property: JSON round-trips arbitrary strings, lone surrogates included", () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: "binary", maxLength: 30 }), { minLength: 1, maxLength: 3 }),
      fc.string({ unit: "binary" }),
      (command, token) => {
        const sample = result(1, command);
        sample.runs[0]!.phases[0]!.endToken = token;
        const document = JSON.parse(formatJson(sample));
        assert.equal(document.command, command.join(" "));
        assert.equal(document.phases[0].end_token, token);
      },
    ),
    { numRuns: 1000 },
  );
});
