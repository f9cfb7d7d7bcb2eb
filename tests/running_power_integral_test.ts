/**
 * The running power integral that GPUs without an energy counter (NVML
 * before Volta, AMD SMI) are measured with: a phase's energy, the difference
 * of two boundaries' running totals, equals the trapezoid over the phase's
 * stored samples that the sources integrated before, while memory no
 * longer grows with the run.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { RunningPowerIntegral } from "../src/energy/running_power_integral.ts";
import { SnapshotStore } from "../src/snapshot_store.ts";
import { integratePower } from "../sources/nvml/nvml_source.ts";
import { integratePowerWatts } from "../sources/amdsmi/amdsmi_source.ts";

/**
 * Equal up to rounding: relative to the value, and to the running total it is the difference
 * of (each addition to a total rounds to its last bit: 2^-52 of it, at most once per sample).
 */
function close(actual: number, expected: number, total = 0, additions = 0): boolean {
  const rounding = (additions + 2) * 2 ** -52 * Math.abs(total);
  return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)) + rounding;
}

Deno.test("RunningPowerIntegral: totals between two samples are the trapezoid over the samples between", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          gapNs: fc.integer({ min: 0, max: 2e9 }),
          first: fc.double({ min: 0, max: 700_000, noNaN: true }),
          second: fc.double({ min: 0, max: 700_000, noNaN: true }),
        }),
        { minLength: 2, maxLength: 200 },
      ),
      fc.nat(),
      fc.nat(),
      (samples, a, b) => {
        const integral = new RunningPowerIntegral(2);
        const stored = new SnapshotStore(4);
        const totals: number[][] = [];
        const counts: number[] = [];
        // Uptime of days: times past 2^43 ns, as on a long-running node.
        let timeNs = 3e14;
        for (const sample of samples) {
          timeNs += sample.gapNs;
          integral.add(timeNs, [sample.first, sample.second]);
          const row = stored.append();
          stored.values.set(
            [Math.floor(timeNs / 1e9), timeNs % 1e9, sample.first, sample.second],
            row,
          );
          totals.push([integral.total(0), integral.total(1)]);
          counts.push(integral.count);
        }
        const from = Math.min(a, b) % samples.length;
        const to = Math.max(from, Math.max(a, b) % samples.length);
        // NVML: mW × ns / 1e9 = mJ; AMD SMI: W × ns / 1e3 = µJ.
        const added = to - from;
        const nvml = (totals[to]![0]! - totals[from]![0]!) / 1e9;
        const nvmlTotal = totals[to]![0]! / 1e9;
        assert.ok(close(nvml, integratePower(stored, from, to, 2), nvmlTotal, added), `${nvml}`);
        const amd = (totals[to]![1]! - totals[from]![1]!) / 1e3;
        const amdTotal = totals[to]![1]! / 1e3;
        assert.ok(
          close(amd, integratePowerWatts(stored, from, to, 3), amdTotal, added),
          `${amd}`,
        );
        assert.equal(counts[to]! - counts[from]! + 1, to - from + 1);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("RunningPowerIntegral: the longest gap, and clear() starts again at 0", () => {
  const integral = new RunningPowerIntegral(1);
  integral.add(1e9, [10]);
  integral.add(1.02e9, [10]);
  integral.add(1.07e9, [30]);
  assert.equal(integral.count, 3);
  assert.ok(close(integral.total(0), 10 * 0.02e9 + 20 * 0.05e9));
  assert.ok(close(integral.longestGapMs, 50));
  assert.equal(integral.lastNs, 1.07e9);
  integral.clear();
  assert.equal(integral.count, 0);
  assert.equal(integral.total(0), 0);
  integral.add(5e9, [100]);
  assert.equal(integral.total(0), 0);
});
