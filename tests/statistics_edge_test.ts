import assert from "node:assert/strict";
import {
  compareResults,
  comparisonDocument,
  comparisonSentences,
} from "../src/stats/comparison.ts";
import { ratioOfMeans, welchTest } from "../src/stats/student_t.ts";
import { formatComparisonCsv } from "../src/output/csv.ts";
import { comparisonsMarkdown } from "../src/output/markdown.ts";
import type { ProfileResult } from "../src/result.ts";
import { phase, run } from "./fixtures.ts";

/** Runs whose one phase has these energies (µJ) and durations. */
function resultOf(name: string, energies: number[], durations: number[]): ProfileResult {
  return {
    name,
    command: [name],
    tokenPattern: "__[A-Z]+__",
    exitCode: 0,
    durationMs: 0,
    interrupted: false,
    runs: energies.map((energy, index) => ({
      ...run(index),
      phases: [phase(0, "START", "END", {
        durationMs: durations[index]!,
        metrics: [{ name: "PACKAGE-0", value: energy, unit: "µJ", source: "RAPL" }],
      })],
    })),
  };
}

function everyOutput(a: ProfileResult, b: ProfileResult): string {
  const comparison = compareResults(a, b);
  return [
    ...comparisonSentences(comparison),
    JSON.stringify(comparisonDocument(comparison)),
    formatComparisonCsv([comparison]),
    comparisonsMarkdown([comparison]),
  ].join("\n");
}

Deno.test("a zero baseline gives no ratio: n/a with the reason, never Infinity ± NaN", () => {
  assert.ok(Number.isNaN(ratioOfMeans([0, 0, 0], [5, 6, 7]).value));
  const comparison = compareResults(
    resultOf("A", [0, 0, 0], [1, 2, 3]),
    resultOf("B", [5, 6, 7], [1, 2, 3]),
  );
  const energy = comparison.phases[0]!.metrics.find((metric) => metric.name === "PACKAGE-0")!;
  assert.equal(energy.notes?.ratio, "the baseline mean is 0");
  const text = everyOutput(
    resultOf("A", [0, 0, 0], [1, 2, 3]),
    resultOf("B", [5, 6, 7], [1, 2, 3]),
  );
  assert.doesNotMatch(text, /Infinity|NaN/);
  assert.match(text, /ratio n\/a \(the baseline mean is 0\)/);
  const document = comparisonDocument(comparison) as {
    phases: { metrics: { ratio: unknown }[] }[];
  };
  assert.equal(document.phases[0]!.metrics[1]!.ratio, null);
  const both = compareResults(resultOf("A", [0, 0], [1, 2]), resultOf("B", [0, 0], [1, 2]));
  assert.equal(both.phases[0]!.metrics[1]!.notes?.ratio, "both means are 0");
});

Deno.test("a zero candidate mean keeps a finite ratio and uncertainty", () => {
  const ratio = ratioOfMeans([4, 5, 6], [0, 0, 0]);
  assert.equal(ratio.value, 0);
  assert.ok(Number.isFinite(ratio.uncertainty));
  // The usual case is unchanged: r · √((SE_a/m_a)² + (SE_b/m_b)²).
  const usual = ratioOfMeans([10, 12], [20, 22]);
  const expected = (21 / 11) * Math.sqrt(2 / 2 / 121 + 2 / 2 / 441);
  assert.ok(Math.abs(usual.uncertainty - expected) < 1e-12);
});

Deno.test("samples without spread are n/a for the test, never significant with p = 0", () => {
  assert.ok(Number.isNaN(welchTest([3, 3, 3], [4, 4, 4]).p));
  const comparison = compareResults(
    resultOf("A", [3, 3, 3], [1, 1, 1]),
    resultOf("B", [4, 4, 4], [1, 1, 1]),
  );
  for (const metric of comparison.phases[0]!.metrics) {
    assert.equal(metric.pValue, null);
    assert.equal(metric.significant, false);
    assert.equal(metric.notes?.test, "no spread: every run gave the same value on both sides");
  }
  const text = everyOutput(
    resultOf("A", [3, 3, 3], [1, 1, 1]),
    resultOf("B", [4, 4, 4], [1, 1, 1]),
  );
  assert.match(text, /p n\/a: no spread/);
  assert.doesNotMatch(text, /p = 0\.000|p < 0\.001|Infinity|NaN/);
});
