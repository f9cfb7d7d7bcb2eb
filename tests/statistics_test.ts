import assert from "node:assert/strict";
import { describe, madOutliers, median } from "../src/stats/descriptive.ts";
import {
  ratioOfMeans,
  regularizedBeta,
  studentTCdf,
  studentTQuantile,
  welchTest,
} from "../src/stats/student_t.ts";
import { normals } from "./random_samples.ts";

const close = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);

Deno.test("describe() matches a hand-computed sample", () => {
  // 2 4 4 4 5 5 7 9: mean 40/8 = 5; squared deviations 9+1+1+1+0+0+4+16 = 32;
  // s = √(32/7) = 2.13809; median (4+5)/2 = 4.5; t(0.975, 7) = 2.36462;
  // half-width 2.36462 · 2.13809 / √8 = 1.78750.
  const d = describe([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(d.n, 8);
  assert.equal(d.mean, 5);
  close(d.stddev, 2.138090, 1e-6, "stddev");
  assert.equal(d.median, 4.5);
  assert.equal(d.min, 2);
  assert.equal(d.max, 9);
  close(d.ci95[0], 5 - 1.78750, 1e-4, "ci low");
  close(d.ci95[1], 5 + 1.78750, 1e-4, "ci high");
  // |x − 4.5| = 2.5 .5 .5 .5 .5 .5 2.5 4.5 → MAD 0.5; z(9) = 0.6745 · 4.5 / 0.5 = 6.07 > 3.5.
  assert.deepEqual(d.outliers, [7]);
  const single = describe([3]);
  assert.deepEqual([single.stddev, single.ci95], [0, [3, 3]]);
  assert.throws(() => describe([]), RangeError);
});

Deno.test("median() and madOutliers() on hand-computed samples", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([3, 1, 2, 10]), 2.5);
  // median 11; |deviations| 1 0 1 1 0 1 29 → MAD 1; z(40) = 0.6745 · 29 = 19.6 > 3.5.
  assert.deepEqual(madOutliers([10, 11, 10, 12, 11, 10, 40]), [6]);
  assert.deepEqual(madOutliers([5, 5, 5, 9]), [], "MAD 0: nothing can be called an outlier");
});

Deno.test("Student's t quantiles and CDF match the tables", () => {
  // Two-sided 95 % critical values: df 1 → 12.706, 2 → 4.303, 9 → 2.262, 30 → 2.042,
  // 1000 → 1.962; one-sided 99 % at df 5 → 3.365.
  for (const [df, t] of [[1, 12.706], [2, 4.303], [9, 2.262], [30, 2.042], [1000, 1.962]]) {
    close(studentTQuantile(0.975, df!), t!, 1e-3, `t(0.975, ${df})`);
  }
  close(studentTQuantile(0.99, 5), 3.365, 1e-3, "t(0.99, 5)");
  close(studentTQuantile(0.025, 9), -2.262, 1e-3, "t(0.025, 9)");
  close(studentTCdf(0, 4), 0.5, 1e-12, "cdf(0)");
  close(studentTCdf(2.262, 9), 0.975, 1e-4, "cdf(2.262, 9)");
  close(regularizedBeta(0.5, 2, 2), 0.5, 1e-12, "I_0.5(2,2)");
  // I_0.3(2, 5) = 1 − Σ_{j<2} C(6,j) 0.3^j 0.7^(6−j) = 1 − (0.117649 + 0.302526) = 0.579825.
  close(regularizedBeta(0.3, 2, 5), 0.579825, 1e-6, "I_0.3(2,5)");
});

Deno.test("welchTest() matches a hand-computed example", () => {
  // a = 1 2 3 4 (mean 2.5, var 5/3), b = 3 4 5 6 (mean 4.5, var 5/3):
  // se² = 5/12 + 5/12 = 0.83333; t = 2 / 0.912871 = 2.19089; df = 6 (equal sizes and
  // variances); two-sided p = 0.0710.
  const result = welchTest([1, 2, 3, 4], [3, 4, 5, 6]);
  close(result.t, 2.19089, 1e-5, "t");
  close(result.df, 6, 1e-9, "df");
  close(result.p, 0.0710, 5e-4, "p");
  // Unequal variances: a = 10 12 14 (var 4), b = 20 21 22 23 (var 5/3):
  // sa = 4/3, sb = 5/12; t = 9.5 / √1.75 = 7.18133;
  // df = 1.75² / ((4/3)²/2 + (5/12)²/3) = 3.0625 / 0.946759 = 3.2347.
  const unequal = welchTest([10, 12, 14], [20, 21, 22, 23]);
  close(unequal.t, 7.18133, 1e-4, "t");
  close(unequal.df, 3.2347, 1e-4, "df");
  assert.ok(unequal.p < 0.01);
  assert.throws(() => welchTest([1], [2, 3]), RangeError);
});

Deno.test("ratioOfMeans() propagates the standard errors of both means", () => {
  // a = 9 10 11 (mean 10, SE² = 1/3), b = 18 20 22 (mean 20, SE² = 4/3):
  // r = 2; σ_r = 2 · √((1/3)/100 + (4/3)/400) = 2 · √0.0066667 = 0.163299.
  const ratio = ratioOfMeans([9, 10, 11], [18, 20, 22]);
  assert.equal(ratio.value, 2);
  close(ratio.uncertainty, 0.163299, 1e-6, "uncertainty");
});

Deno.test("Welch's test at α = 0.05 rejects equal means about 5 % of the time, not more", () => {
  const normal = normals(7);
  let rejected = 0;
  const trials = 2000;
  for (let trial = 0; trial < trials; trial++) {
    const a = Array.from({ length: 10 }, () => 100 + 5 * normal());
    const b = Array.from({ length: 10 }, () => 100 + 5 * normal());
    if (welchTest(a, b).p < 0.05) rejected++;
  }
  const rate = rejected / trials;
  assert.ok(rate <= 0.07, `false positives ${rate}`);
  assert.ok(rate >= 0.03, `the test is not trivially conservative: ${rate}`);
});

Deno.test("Welch's test finds a 10 % difference at n = 10 with 3 % noise", () => {
  const normal = normals(11);
  let found = 0;
  for (let trial = 0; trial < 500; trial++) {
    const a = Array.from({ length: 10 }, () => 100 * (1 + 0.03 * normal()));
    const b = Array.from({ length: 10 }, () => 110 * (1 + 0.03 * normal()));
    if (welchTest(a, b).p < 0.05) found++;
  }
  assert.ok(found / 500 > 0.99, `power ${found / 500}`);
});
