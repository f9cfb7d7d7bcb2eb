/**
 * Live intervals (`-I`): the line formats, and the tail conversion that
 * keeps each interval's cost independent of the run's length.
 */

import assert from "node:assert/strict";
import { monotonicNs } from "../src/clock.ts";
import { LiveIntervals } from "../src/live_intervals.ts";
import { convertTail, SampleBuffer } from "../src/sampling/sample_buffer.ts";
import type { SampleSeries } from "../src/source.ts";

/** A buffer of cumulative values sampled every 1 ms (times written over the stamps). */
function cumulative(rows: number): SampleBuffer {
  const buffer = new SampleBuffer(2);
  for (let i = 0; i < rows; i++) {
    const offset = buffer.append();
    buffer.values[offset - 2] = 1000 + Math.floor(i / 1000); // seconds
    buffer.values[offset - 1] = (i % 1000) * 1e6 + (i % 3) * 1e4; // nanoseconds, a little jitter
    buffer.values[offset] = i * 1_000_000 + (i % 7) * 1000;
    buffer.values[offset + 1] = i * i;
  }
  return buffer;
}

Deno.test("convertTail: the newest points equal those of the full conversion, windows included", () => {
  const buffer = cumulative(300);
  for (const window of [0, 5e6]) {
    const full = buffer.rates(0, 1e-6, window);
    const tail = convertTail(16, () => buffer.rates(0, 1e-6, window));
    assert.equal(tail.values.length, 15);
    assert.deepEqual([...tail.timesNs], [...full.timesNs.slice(-15)]);
    // Points whose window fits in the tail are exact (all of them without a window; with a
    // 5 ms window over 1 ms samples, all but the first 6); live intervals use the newest.
    const exact = window === 0 ? 15 : 9;
    assert.deepEqual([...tail.values.slice(-exact)], [...full.values.slice(-exact)]);
  }
  const levels = convertTail(4, () => buffer.levels(1));
  assert.deepEqual([...levels.values], [...buffer.levels(1).values.slice(-4)]);
  // Outside convertTail, conversions read every row again.
  assert.equal(buffer.rates(0).values.length, 299);
  // Fewer rows than the tail: everything.
  const small = cumulative(3);
  assert.equal(convertTail(16, () => small.rates(0)).values.length, 2);
});

function series(name: string, unit: string, timeNs: number, value: number): SampleSeries {
  return {
    name,
    unit,
    source: "fake",
    timesNs: Float64Array.of(timeNs - 1e8, timeNs),
    values: Float64Array.of(0, value),
  };
}

Deno.test("LiveIntervals: energy = power × interval, counts from rates, one line per series", async () => {
  const lines: string[] = [];
  const intervals = new LiveIntervals({ format: "json", write: (text) => lines.push(text) });
  intervals.started();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const now = Number(monotonicNs());
  const all = [
    series("PACKAGE-0", "W", now, 20),
    series("TASK_CLOCK", "ns/s", now, 5e8),
    series("NET_RX", "MB/s", now, 2),
    series("CPU", "%", now, 50),
  ];
  intervals.sampled(() => all);
  // The same points again (a source that stopped sampling) make no new interval.
  intervals.sampled(() => all);
  assert.equal(lines.length, 1);
  const interval = JSON.parse(lines[0]!);
  assert.equal(interval.interval, 1);
  const seconds = interval.duration_s;
  assert.ok(seconds >= 0.09 && seconds < 0.5, `${seconds}`);
  const [energy, clock, net, cpu] = interval.values;
  assert.equal(energy.name, "PACKAGE-0");
  assert.ok(Math.abs(energy.energy_j - 20 * seconds) < 1e-9);
  assert.equal(energy.power_w, 20);
  assert.equal(clock.unit, "ns");
  assert.equal(clock.count, Math.round(5e8 * seconds));
  assert.equal(net.unit, "MB");
  assert.ok(Math.abs(net.count - 2 * seconds) < 1e-9);
  assert.deepEqual(cpu, { name: "CPU", source: "fake", value: 50, unit: "%" });
});

Deno.test("LiveIntervals: perf stat columns and CSV rows with a header once", () => {
  for (const format of ["terminal", "csv"] as const) {
    let text = "";
    const intervals = new LiveIntervals({ format, write: (chunk) => void (text += chunk) });
    intervals.started();
    const now = Number(monotonicNs()) + 1e8;
    intervals.sampled(
      () => [series("PACKAGE-0", "W", now, 4), series("PAGE_FAULTS", "count/s", now, 10)],
    );
    intervals.sampled(() => [series("PACKAGE-0", "W", now + 1e8, 4)]);
    const rows = text.trimEnd().split("\n");
    if (format === "terminal") {
      assert.match(rows[0]!, /^# +time +counts unit events$/);
      assert.match(rows[1]!, /^ +0\.1\d{5} +0\.400 J +PACKAGE-0 {2}# {2}4\.00 W$/);
      assert.match(rows[2]!, /^ +0\.1\d{5} +1 +PAGE_FAULTS$/);
      assert.match(rows[3]!, /^ +0\.2\d{5} +0\.400 J +PACKAGE-0/);
      assert.equal(rows.length, 4);
    } else {
      assert.equal(rows[0], "interval;time_s;duration_s;name;value;unit;source");
      assert.match(rows[1]!, /^1;0\.1\d{5};0\.1\d{5};PACKAGE-0;0\.4\d*;J;fake$/);
      assert.match(rows[2]!, /^1;.*;PACKAGE-0;4;W;fake$/);
      assert.match(rows[3]!, /^1;.*;PAGE_FAULTS;1;count;fake$/);
      assert.match(rows[4]!, /^2;0\.2\d{5};0\.1\d{5};PACKAGE-0;/);
      assert.equal(rows.length, 6);
    }
  }
});
