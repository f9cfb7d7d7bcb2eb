/**
 * The Intl-free name order and digit grouping (src/text/) agree with what
 * `Intl` decides; they exist because `Intl`'s first use costs ~10 ms of
 * start-up.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { compareNaturalNames } from "../src/text/natural_name_order.ts";
import { groupDigits } from "../src/text/digit_grouping.ts";
import { productCodeLines } from "./helpers.ts";

const collator = new Intl.Collator("en", { numeric: true });
const ASCII_NAME_CHARS = " _-.,:;/\\|~$+#%@!?'\"()[]{}*&^`<=>0123456789abcdefxyzABCDEFXYZ";

Deno.test("compareNaturalNames() orders ASCII names as Intl.Collator('en', numeric) does", () => {
  const name = fc.string({
    unit: fc.constantFrom(...ASCII_NAME_CHARS),
    maxLength: 8,
  });
  fc.assert(
    fc.property(name, name, (a, b) => {
      assert.equal(
        Math.sign(compareNaturalNames(a, b)),
        Math.sign(collator.compare(a, b)),
        `${JSON.stringify(a)} vs ${JSON.stringify(b)}`,
      );
    }),
    { numRuns: 20_000 },
  );
});

Deno.test("compareNaturalNames() sorts metric names like the profiler's outputs expect", () => {
  const names = [
    "PACKAGE-10",
    "core-1",
    "PACKAGE-2",
    "CORE-0",
    "GPU-1_ENERGY",
    "GPU-0_ENERGY",
    "a01",
  ];
  assert.deepEqual(
    [...names].sort(compareNaturalNames),
    [...names].sort(collator.compare),
  );
  assert.deepEqual([...names].sort(compareNaturalNames), [
    "a01",
    "CORE-0",
    "core-1",
    "GPU-0_ENERGY",
    "GPU-1_ENERGY",
    "PACKAGE-2",
    "PACKAGE-10",
  ]);
  // Leading zeros do not count, as in Intl.
  assert.equal(compareNaturalNames("x01", "x1"), 0);
  assert.ok(compareNaturalNames("x9", "x10") < 0);
});

Deno.test("groupDigits() writes integers as toLocaleString('en-US') does", () => {
  fc.assert(
    fc.property(fc.maxSafeInteger(), (value) => {
      assert.equal(groupDigits(value), value.toLocaleString("en-US"));
    }),
    { numRuns: 5_000 },
  );
  for (const value of [0, -0, 999, 1000, -1000, 11_781, Infinity, -Infinity, NaN]) {
    assert.equal(groupDigits(value), value.toLocaleString("en-US"), String(value));
  }
  assert.equal(groupDigits(2.5), "3");
});

Deno.test("the CLI's start-up paths never touch Intl", async () => {
  // Intl's first use loads ICU data (~10 ms); a use would show in --version's import graph.
  const uses = (await productCodeLines())
    .filter(({ text }) => /Intl\.|localeCompare|toLocale(String|Upper|Lower)/.test(text))
    .map(({ file, line }) => `${file}:${line}`);
  assert.deepEqual(uses, [], "Intl in the product's code (ICU data costs ~10 ms at its first use)");
});
