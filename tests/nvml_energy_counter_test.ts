/**
 * The NVML energy counter's reader (sources/nvml/energy_counter_reader.ts) on
 * the stub library: where it places the readings it takes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { NvmlLibrary } from "../sources/nvml/mod.ts";
import { EnergyCounterReader } from "../sources/nvml/energy_counter_reader.ts";
import { monotonicNs } from "../src/clock.ts";
import { setMaxSamplesPerSeries } from "../src/sampling/sample_buffer.ts";
import { DEFAULT_MAX_SAMPLES } from "../src/setting_defaults.ts";
import { freshNvmlStub, setStubEnv } from "./nvml_stub.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keeps the main thread busy, as a profiler handling a burst of output or a GC pause does. */
function stall(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Busy: no poll of the reader runs meanwhile.
  }
}

Deno.test("EnergyCounterReader: a counter that moves at every read keeps each reading at its own time, even after a late poll", async () => {
  // The stub's counter is power × CLOCK_MONOTONIC time: it moves at every read.
  setStubEnv({ NVML_STUB_POWER_MW: "50000" });
  const nvml = NvmlLibrary.open({ path: await freshNvmlStub() });
  const reader = new EnergyCounterReader(nvml.device(0));
  try {
    reader.start();
    await sleep(100);
    // Late polls: the main thread busy for 40 ms, five times (before, reads 5 ms apart).
    const windows: [number, number][] = [];
    for (let i = 0; i < 5; i++) {
      const before = Number(monotonicNs());
      stall(40);
      await sleep(160);
      windows.push([before, Number(monotonicNs())]);
    }
    await sleep(50);
    await reader.stop();
    assert.equal(reader.error, undefined);
    for (const [from, to] of windows) {
      // The energy over a window holding a late poll is the power over that window. Each
      // reading keeps the time its read was issued; the runtime's pool thread may start the
      // read later, by up to a few ms on a loaded 2-vCPU machine (3.4 ms once in CI: 4.8 % of
      // a 71 ms window), hence windows of about 200 ms and 5 %. Placing a late poll's reading
      // where the polling rhythm predicts, the fault this test is about, was 10–12 % short on
      // these windows (56 % on 71 ms ones).
      const millijoules = reader.energyAt(to) - reader.energyAt(from);
      const expected = 50000 * (to - from) / 1e9;
      assert.ok(
        Math.abs(millijoules - expected) <= 0.05 * expected,
        `${millijoules.toFixed(1)} mJ over ${((to - from) / 1e6).toFixed(1)} ms, ` +
          `expected ${expected.toFixed(1)}`,
      );
    }
  } finally {
    nvml.close();
  }
});

Deno.test("EnergyCounterReader: past the sample limit it thins its changes, keeping those around pinned times", async () => {
  // A square wave of power: the counter's energy is not linear in time, so an interpolation
  // between farther changes would give another value.
  setStubEnv({ NVML_STUB_POWER_MW: "50000", NVML_STUB_POWER_PERIOD_MS: "40" });
  const nvml = NvmlLibrary.open({ path: await freshNvmlStub() });
  const reader = new EnergyCounterReader(nvml.device(0));
  setMaxSamplesPerSeries(16);
  try {
    reader.start();
    assert.ok(await reader.waitForUpdate(0, 2000));
    // Boundaries, each pinned; its energy taken as soon as a change follows it, before the
    // thinning that comes every 2 × 16 + 32 changes (about every 0.5 s here).
    const pinned: { time: number; energy: number }[] = [];
    for (let i = 0; i < 12; i++) {
      await sleep(23 + i);
      const time = Number(monotonicNs());
      reader.pin(time);
      assert.ok(await reader.waitForUpdate(time, 2000));
      pinned.push({ time, energy: reader.energyAt(time) });
    }
    await sleep(600);
    await reader.stop();
    assert.equal(reader.error, undefined);
    const series = reader.powerSeries();
    assert.ok(series.every !== undefined && series.every >= 2, `every ${series.every}`);
    // The timeline keeps the limit (its changes, less the first that starts the first point),
    // without the changes kept only around the boundaries.
    assert.ok(series.values.length <= 15, `${series.values.length} points`);
    // Between 0 and the wave's 50 W, give or take the reader's own timing of each change (its
    // polls are timers: a change seen 2 ms late on a 40 ms segment moves it by 5 %; the VM's
    // stolen time made one 51.2 W in a CI run).
    assert.ok(series.values.every((watts) => watts >= 0 && watts <= 55), `${series.values}`);
    for (const { time, energy } of pinned) assert.equal(reader.energyAt(time), energy);
    // The rhythm is measured between consecutive changes only: the stub's 5 ms reads.
    assert.ok(reader.updatePeriodMs > 0 && reader.updatePeriodMs < 30, `${reader.updatePeriodMs}`);
  } finally {
    setMaxSamplesPerSeries(DEFAULT_MAX_SAMPLES);
    nvml.close();
  }
});
