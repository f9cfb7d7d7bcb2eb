/**
 * The sample limit (`--max-samples`): sample buffers stay bounded however
 * long a run samples, keep real samples at a uniform stride (and the last),
 * keep rates exact averages, and leave live intervals (`-I`) untouched.
 */

import assert from "node:assert/strict";
import { monotonicNs } from "../src/clock.ts";
import { LiveIntervals } from "../src/live_intervals.ts";
import { parseResultFile } from "../src/output/json_reader.ts";
import {
  convertTail,
  FINE_TAIL_ROWS,
  SampleBuffer,
  setMaxSamplesPerSeries,
  WIDTH_AT_FULL_LIMIT,
} from "../src/sampling/sample_buffer.ts";
import { DEFAULT_MAX_SAMPLES } from "../src/setting_defaults.ts";
import { runCli } from "./helpers.ts";

/** Profiles with `--json -o` into a temporary folder: the exit, stderr and the JSON document. */
async function profileJson(
  args: string[],
): Promise<{ code: number; stderr: string; document: Record<string, unknown> }> {
  const dir = await Deno.makeTempDir();
  try {
    const json = `${dir}/run.json`;
    const result = await runCli(["--json", "-o", json, "profile", ...args]);
    assert.equal(result.code, 0, result.stderr);
    const text = await Deno.readTextFile(json);
    return { code: result.code, stderr: result.stderr, document: JSON.parse(text) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

interface JsonSeries {
  name: string;
  every?: number;
  values: number[];
  time_ms: number[];
}

/** Runs `body` with a sample limit, then puts the default back (it is process-wide). */
function withLimit<T>(limit: number, body: () => T): T {
  setMaxSamplesPerSeries(limit);
  try {
    return body();
  } finally {
    setMaxSamplesPerSeries(DEFAULT_MAX_SAMPLES);
  }
}

/**
 * Sample `i` of a synthetic run: 1 ms apart from `originS`, column 0 a
 * cumulative counter (µJ) growing by an uneven amount, column 1 a level.
 */
function appendSample(buffer: SampleBuffer, i: number, originS: number): void {
  const offset = buffer.append();
  const ns = originS * 1e9 + i * 1e6;
  buffer.values[offset - 2] = Math.floor(ns / 1e9);
  buffer.values[offset - 1] = ns % 1e9;
  buffer.values[offset] = counterAt(i);
  buffer.values[offset + 1] = i;
}

function counterAt(i: number): number {
  return i * 1000 + (i * i % 97) * 10;
}

Deno.test("SampleBuffer past its limit: the samples numbered by multiples of `every`, and the last", () => {
  withLimit(100, () => {
    for (const taken of [100, 101, 132, 233, 1000, 4097]) {
      const buffer = new SampleBuffer(2);
      let most = 0;
      for (let i = 0; i < taken; i++) {
        appendSample(buffer, i, 1000);
        most = Math.max(most, buffer.rows);
      }
      // While sampling: at most twice the limit and the fine tail.
      assert.ok(most <= 2 * 100 + FINE_TAIL_ROWS, `${taken}: ${most} rows`);
      const { values, every } = buffer.levels(1);
      if (taken <= 100) {
        assert.equal(every, undefined, `${taken}`);
        assert.deepEqual([...values], Array.from({ length: taken }, (_, i) => i));
        continue;
      }
      // A power of two, the smallest that fits the run in the limit.
      assert.ok(every !== undefined && Number.isInteger(Math.log2(every)) && every > 1);
      const last = taken - 1;
      const expected = Array.from({ length: Math.floor(last / every) + 1 }, (_, k) => k * every);
      if (last % every !== 0) expected.push(last);
      assert.deepEqual([...values], expected, `${taken}`);
      assert.ok(values.length <= 100, `${taken}: ${values.length}`);
      const half = every / 2;
      assert.ok(
        Math.floor(last / half) + 1 + (last % half === 0 ? 0 : 1) > 100,
        `${taken}: every ${every} is not the smallest`,
      );
      // The times are those of the samples kept.
      const { timesNs } = buffer.levels(0);
      assert.deepEqual([...timesNs], expected.map((i) => 1000e9 + i * 1e6));
    }
  });
});

Deno.test("SampleBuffer past its limit: rates are the exact averages between the samples kept", () => {
  withLimit(50, () => {
    const buffer = new SampleBuffer(2);
    const taken = 3001;
    for (let i = 0; i < taken; i++) appendSample(buffer, i, 2000);
    const rates = buffer.rates(0, 1e-6);
    const kept = buffer.levels(1).values;
    assert.equal(rates.every, buffer.every);
    assert.equal(rates.values.length, kept.length - 1);
    let joules = 0;
    for (let p = 0; p < rates.values.length; p++) {
      const from = kept[p]!;
      const to = kept[p + 1]!;
      const seconds = (to - from) / 1000;
      const watts = (counterAt(to) - counterAt(from)) * 1e-6 / seconds;
      assert.ok(Math.abs(rates.values[p]! / watts - 1) < 1e-9, `point ${p}`);
      joules += rates.values[p]! * seconds;
    }
    // No energy lost: the whole run's change of the counter.
    assert.ok(Math.abs(joules / ((counterAt(taken - 1) - counterAt(0)) * 1e-6) - 1) < 1e-9);
    // A minimum window longer than the stride changes nothing: each kept interval is longer.
    const windowed = buffer.rates(0, 1e-6, 5e6);
    assert.deepEqual([...windowed.values], [...rates.values]);
  });
});

Deno.test("SampleBuffer: memory stays bounded however long it samples, and clear() starts afresh", () => {
  withLimit(1000, () => {
    const buffer = new SampleBuffer(4);
    let capacity = 0;
    for (let i = 0; i < 300_000; i++) {
      buffer.values[buffer.append()] = i;
      capacity = Math.max(capacity, buffer.values.length);
    }
    // Rows of 6 values, at most 2 × 1000 + the fine tail of them, grown by doubling.
    const width = 6;
    assert.ok(capacity <= 2 * (2 * 1000 + FINE_TAIL_ROWS) * width + width, `${capacity}`);
    assert.ok(buffer.levels(0).values.length <= 1000);
    buffer.clear();
    assert.equal(buffer.every, 1);
    for (let i = 0; i < 10; i++) buffer.values[buffer.append()] = i;
    const again = buffer.levels(0);
    assert.equal(again.every, undefined);
    assert.deepEqual([...again.values], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

Deno.test("SampleBuffer: rows wider than the full-limit width keep proportionally fewer samples", () => {
  withLimit(1000, () => {
    const narrow = new SampleBuffer(WIDTH_AT_FULL_LIMIT - 2);
    const wide = new SampleBuffer(2 * WIDTH_AT_FULL_LIMIT - 2);
    assert.equal(narrow.limit, 1000);
    assert.equal(wide.limit, 500);
    for (let i = 0; i < 5000; i++) {
      narrow.append();
      wide.append();
    }
    assert.ok(narrow.levels(0).values.length <= 1000);
    assert.ok(wide.levels(0).values.length <= 500);
    assert.equal(wide.every, 2 * narrow.every);
  });
  assert.throws(() => setMaxSamplesPerSeries(1), RangeError);
  assert.throws(() => setMaxSamplesPerSeries(2.5), RangeError);
});

Deno.test("SampleBuffer past its limit: live intervals (-I) are the same as with every sample kept", () => {
  const run = (limit: number) =>
    withLimit(limit, () => {
      const lines: string[] = [];
      const intervals = new LiveIntervals({ format: "json", write: (text) => lines.push(text) });
      intervals.started();
      const buffer = new SampleBuffer(2);
      // Stamped from now on, as the run's samples are (live intervals skip older points).
      const originS = Number(monotonicNs()) / 1e9 + 1;
      for (let i = 0; i < 600; i++) {
        appendSample(buffer, i, originS);
        intervals.sampled(() => [
          { name: "PACKAGE-0", unit: "W", source: "fake", ...buffer.rates(0, 1e-6) },
          { name: "LEVEL", unit: "%", source: "fake", ...buffer.levels(1) },
        ]);
      }
      return { lines, every: buffer.every };
    });
  const whole = run(100_000);
  const thinned = run(40);
  assert.equal(whole.every, 1);
  assert.ok(thinned.every >= 8, `every ${thinned.every}`);
  assert.equal(thinned.lines.length, 600);
  // The first two intervals and every `time_s` count from each run's own start.
  const comparable = (lines: string[]) =>
    lines.slice(2).map((line) => {
      const { time_s: _, ...rest } = JSON.parse(line);
      return rest;
    });
  assert.deepEqual(comparable(thinned.lines), comparable(whole.lines));
  // Asked for the newest rows only, a thinned buffer gives consecutive samples and no `every`.
  withLimit(40, () => {
    const buffer = new SampleBuffer(2);
    for (let i = 0; i < 600; i++) appendSample(buffer, i, 3000);
    const tail = convertTail(16, () => buffer.levels(1));
    assert.equal(tail.every, undefined);
    assert.deepEqual([...tail.values], Array.from({ length: 16 }, (_, k) => 584 + k));
  });
});

Deno.test("profile --max-samples: series thinned to the limit say `every`, the JSON reads back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const json = `${dir}/run.json`;
    const page = `${dir}/timeline.html`;
    const thinned = await runCli([
      "--json",
      "-o",
      json,
      "profile",
      "--sample-interval",
      "2",
      "--max-samples",
      "40",
      "--timeline",
      page,
      "--",
      "sleep",
      "0.6",
    ]);
    assert.equal(thinned.code, 0, thinned.stderr);
    const document = JSON.parse(await Deno.readTextFile(json));
    assert.ok(document.sampling.ticks > 80, JSON.stringify(document.sampling));
    const cpu = document.samples.find((series: { name: string }) => series.name === "CPU");
    assert.ok(cpu !== undefined);
    for (const series of document.samples) {
      assert.ok(series.every >= 4, `${series.name}: every ${series.every}`);
      assert.ok(series.values.length <= 40, `${series.name}: ${series.values.length}`);
      assert.equal(series.time_ms.length, series.values.length);
    }
    assert.match(
      thinned.stderr,
      new RegExp(`run 1: 1 sample in ${cpu.every} kept \\(.*CPU.*\\): at most 40 per series`),
    );
    assert.match(
      await Deno.readTextFile(page),
      /past --max-samples, as few as 1 sample in \d+ kept/,
    );
    const [read] = parseResultFile(await Deno.readTextFile(json), json);
    const readCpu = read!.runs[0]!.samples!.find((series) => series.name === "CPU")!;
    assert.equal(readCpu.every, cpu.every);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // Within the default limit nothing is dropped and nothing is said.
  const whole = await profileJson(["--sample-interval", "5", "--", "sleep", "0.2"]);
  const plain = whole.document.samples as JsonSeries[];
  assert.ok(plain.length > 0 && plain.every((series) => series.every === undefined));
  assert.doesNotMatch(whole.stderr, /kept/);
});

Deno.test("profile -a --max-samples: a machine-wide measurement is thinned the same way", async () => {
  const machine = await profileJson(
    ["-a", "--duration", "0.5", "--sample-interval", "2", "--max-samples", "20"],
  );
  const series = machine.document.samples as JsonSeries[];
  assert.ok(series.length > 0);
  for (const entry of series) {
    assert.ok(entry.every !== undefined && entry.every >= 4, `${entry.name}: ${entry.every}`);
    assert.ok(entry.values.length <= 20, `${entry.name}: ${entry.values.length}`);
  }
  assert.match(machine.stderr, /1 sample in \d+ kept \(.*\): at most 20 per series/);
});

Deno.test("profile --max-samples refuses what is not an integer from 2 to 1,000,000", async () => {
  for (
    const [value, message] of [
      ["1", "--max-samples must be an integer from 2 to 1000000, got '1'"],
      ["abc", "--max-samples must be an integer from 2 to 1000000, got 'abc'"],
      ["2000001", "--max-samples must be an integer from 2 to 1000000, got '2000001'"],
    ]
  ) {
    const result = await runCli(["profile", "--max-samples", value!, "--", "true"]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.match(result.stderr, new RegExp(message!.replace(/[()]/g, "\\$&")));
  }
});
