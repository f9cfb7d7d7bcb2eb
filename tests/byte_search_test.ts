import assert from "node:assert/strict";
import { createByteSearch, PlainByteSearch, SIMD_MODULE_BASE64 } from "../src/phase/byte_search.ts";
import { assembleByteSearchModule } from "../src/phase/byte_search_assembly.ts";
import { TokenScanner } from "../src/phase/token_scanner.ts";
import { DEFAULT_TOKEN_PATTERN } from "../src/phase/token_pattern.ts";

/** Small deterministic PRNG (mulberry32) so failures are reproducible. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("the shipped SIMD module is the assembly's output", () => {
  const assembled = assembleByteSearchModule().toBase64();
  assert.equal(
    SIMD_MODULE_BASE64,
    assembled,
    `src/phase/byte_search.ts holds other bytes than byte_search_assembly.ts makes: set ` +
      `SIMD_MODULE_BASE64 to "${assembled}"`,
  );
});

Deno.test("createByteSearch() compiles the SIMD module on this runtime", () => {
  assert.notEqual(createByteSearch().constructor, PlainByteSearch);
});

Deno.test("SIMD byte search agrees with the plain one on every range, at every alignment", () => {
  const simd = createByteSearch();
  const plain = new PlainByteSearch();
  const next = random(7);
  const alphabet = [10, 95, 95, 0, 255, 65];
  for (let trial = 0; trial < 3000; trial++) {
    const bytes = new Uint8Array(Math.floor(next() * 120));
    for (let i = 0; i < bytes.length; i++) bytes[i] = alphabet[Math.floor(next() * 6)]!;
    simd.load(bytes);
    plain.load(bytes);
    const from = Math.floor(next() * (bytes.length + 1));
    const to = from + Math.floor(next() * (bytes.length - from + 1));
    const label = `trial ${trial}: [${from}, ${to}) of ${bytes.length}`;
    for (const byte of [10, 95, 7]) {
      assert.equal(simd.count(byte, from, to), plain.count(byte, from, to), label);
      assert.equal(simd.indexOf(byte, from, to), plain.indexOf(byte, from, to), label);
      assert.equal(
        simd.indexOfPair(byte, 95, from, to),
        plain.indexOfPair(byte, 95, from, to),
        label,
      );
    }
  }
});

Deno.test("SIMD count agrees with the plain one over long ranges", () => {
  const simd = createByteSearch();
  const plain = new PlainByteSearch();
  const next = random(5);
  // Sizes around multiples of the 16-byte vector, all newlines and mixed bytes.
  for (const size of [4079, 4080, 4081, 4096, 8160, 8177, 20_000, 65_539]) {
    for (const density of [1, 0.5, 0.01]) {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = next() < density ? 10 : 65;
      simd.load(bytes);
      plain.load(bytes);
      for (const [from, to] of [[0, size], [1, size - 1], [15, size], [size >> 1, size]]) {
        assert.equal(
          simd.count(10, from!, to!),
          plain.count(10, from!, to!),
          `${size} bytes, density ${density}, [${from}, ${to})`,
        );
      }
    }
  }
});

Deno.test("SIMD byte search grows its memory and never reports a byte of an earlier chunk", () => {
  const search = createByteSearch();
  const big = new Uint8Array(3 << 20).fill(10);
  search.load(big);
  assert.equal(search.count(10, 0, big.length), big.length);
  const small = new Uint8Array([1, 2, 3]);
  search.load(small);
  assert.equal(search.indexOf(10, 0, 3), -1);
  assert.equal(search.count(10, 0, 3), 0);
});

Deno.test("a chunk put in space() is searched where it lies, like a loaded copy", () => {
  for (const search of [createByteSearch(), new PlainByteSearch()]) {
    const next = random(11);
    const copy = createByteSearch();
    for (const size of [40, 5000, 3 << 20, 100]) {
      const space = search.space(size);
      assert.ok(space.length >= size, `${search.constructor.name}: space(${size})`);
      for (let i = 0; i < size; i++) space[i] = [10, 95, 65][Math.floor(next() * 3)]!;
      const chunk = space.subarray(0, size);
      copy.load(chunk.slice());
      search.load(chunk);
      const label = `${search.constructor.name}, ${size} bytes`;
      assert.equal(search.count(10, 0, size), copy.count(10, 0, size), label);
      assert.equal(search.indexOfPair(95, 95, 1, size), copy.indexOfPair(95, 95, 1, size), label);
      assert.equal(search.indexOf(65, size >> 1, size), copy.indexOf(65, size >> 1, size), label);
    }
  }
});

Deno.test("TokenScanner finds every token in a long line of binary data, across cuts and chunks", () => {
  const encoder = new TextEncoder();
  const next = random(3);
  const parts: Uint8Array[] = [];
  const expected: string[] = [];
  for (let i = 0; i < 300; i++) {
    const junk = new Uint8Array(Math.floor(next() * 3000));
    // Random bytes but no newline: invalid UTF-8, lone "_" and "__" pairs included.
    for (let j = 0; j < junk.length; j++) {
      const byte = Math.floor(next() * 256);
      junk[j] = byte === 10 ? 95 : byte;
    }
    parts.push(junk);
    const token = `__T${i}__`;
    parts.push(encoder.encode(` ${token} `));
    expected.push(token);
  }
  const line = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    line.set(part, offset);
    offset += part.length;
  }
  // Junk may itself hold token-like text: the reference is a scan of the whole line.
  const reference = [...new TextDecoder().decode(line).matchAll(/__[A-Z0-9_]+__/g)].map((m) =>
    m[0]
  );
  assert.ok(expected.every((token) => reference.includes(token)));
  for (const chunk of [1000, 4093, 65536]) {
    const scanner = new TokenScanner(DEFAULT_TOKEN_PATTERN, { maxLineLength: 16384 });
    const found: string[] = [];
    let longest = 0;
    for (let at = 0; at < line.length; at += chunk) {
      const count = scanner.push(line.subarray(at, at + chunk));
      for (let i = 0; i < count; i++) found.push(scanner.tokens[i]!);
      longest = Math.max(longest, scanner.pendingLength);
    }
    const count = scanner.push(encoder.encode("\r\nafter __NEXT__\n"));
    for (let i = 0; i < count; i++) found.push(scanner.tokens[i]!);
    assert.deepEqual(found, [...reference, "__NEXT__"], `chunks of ${chunk}`);
    assert.equal(scanner.lines[count - 1], 1);
    assert.ok(longest <= 16384 + chunk, `kept ${longest} bytes of one line`);
  }
});

Deno.test("TokenScanner in a long line: a match reaching the end of its window is matched on more", () => {
  // Greedy: on the first 64 bytes the match would stop at the window's edge.
  const scanner = new TokenScanner("<<[a-z]+", { maxLineLength: 4096, overlap: 64 });
  const encoder = new TextEncoder();
  const long = `<<${"a".repeat(500)}`;
  const found: string[] = [];
  for (const piece of ["y".repeat(5000), long, "!", "y".repeat(5000), "\n"]) {
    const count = scanner.push(encoder.encode(piece));
    for (let i = 0; i < count; i++) found.push(scanner.tokens[i]!);
  }
  assert.deepEqual(found, [long]);
});

Deno.test("TokenScanner agrees with a line-by-line scan on large chunks (the SIMD path)", () => {
  const encoder = new TextEncoder();
  const words = ["plain", "__WORK__", "__A_1__", "_", "__", "é漢字", "\r", "x"];
  const next = random(11);
  for (let trial = 0; trial < 20; trial++) {
    let text = "";
    while (text.length < 20_000) {
      const count = Math.floor(next() * 8);
      for (let w = 0; w < count; w++) text += words[Math.floor(next() * words.length)] + " ";
      text += "\n";
    }
    const expected: [string, number][] = [];
    text.split("\n").forEach((line, index) => {
      for (const match of line.replace(/\r$/, "").matchAll(/__[A-Z0-9_]+__/gu)) {
        expected.push([match[0], index]);
      }
    });
    const bytes = encoder.encode(text);
    for (const size of [512, 1000, 4096, 65536]) {
      const scanner = new TokenScanner(DEFAULT_TOKEN_PATTERN);
      const found: [string, number][] = [];
      for (let at = 0; at < bytes.length; at += size) {
        const count = scanner.push(bytes.subarray(at, at + size));
        for (let i = 0; i < count; i++) found.push([scanner.tokens[i]!, scanner.lines[i]!]);
      }
      scanner.finish();
      assert.deepEqual(found, expected, `trial ${trial}, chunks of ${size}`);
      assert.equal(scanner.lineCount, text.split("\n").length - 1);
    }
  }
});
