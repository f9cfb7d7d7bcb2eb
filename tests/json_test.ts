import assert from "node:assert/strict";
import {
  formatJson,
  formatSensorsJson,
  jsonChunks,
  jsonValueChunks,
  toJsonDocument,
} from "../src/output/json.ts";
import { result } from "./fixtures.ts";

Deno.test("formatJson() writes the reference layout with plain numbers", () => {
  const document = JSON.parse(formatJson(result()));
  assert.deepEqual(Object.keys(document).slice(0, 3), ["command", "token_pattern", "exit_code"]);
  assert.equal(document.command, 'sh -c echo "a;b"; echo __A__');
  assert.equal(document.duration_ms, 20);
  const [first, second] = document.phases;
  assert.deepEqual(Object.keys(first), [
    "index",
    "start_token",
    "end_token",
    "end_token_line",
    "timestamp",
    "duration_ms",
    "start_ns",
    "end_ns",
    "metrics",
  ]);
  assert.equal(first.start_token_line, undefined);
  assert.equal(second.start_token_line, 0);
  assert.deepEqual(first.metrics[0], {
    name: "CORE-0",
    value: 1000,
    unit: "µJ",
    source: "RAPL (Powercap)",
  });
});

Deno.test("formatJson() writes nanosecond times as exact integers", () => {
  const sample = result();
  sample.runs[0]!.phases[0]!.startNs = 9_007_199_254_740_993n; // 2^53 + 1
  const text = formatJson(sample);
  assert.match(text, /"start_ns": 9007199254740993,/);
});

Deno.test("formatJson() nests runs under iterations[] when iterating", () => {
  const document = JSON.parse(formatJson(result(2)));
  assert.equal(document.nb_iterations, 2);
  assert.equal(document.phases, undefined);
  assert.deepEqual(document.iterations.map((run: { index: number }) => run.index), [0, 1]);
  assert.deepEqual(Object.keys(document.iterations[0]), [
    "index",
    "timestamp",
    "duration_ms",
    "start_ns",
    "end_ns",
    "exit_code",
    "signal",
    "phases",
  ]);
  assert.equal(JSON.parse(formatJson(result(1), true)).nb_iterations, 1);
});

Deno.test("formatJson() reports source failures of a phase", () => {
  const sample = result();
  sample.runs[0]!.phases[1]!.failures = [{ source: "NVML", message: "GPU lost" }];
  const document = JSON.parse(formatJson(sample));
  assert.deepEqual(document.phases[1].failures, [{ source: "NVML", message: "GPU lost" }]);
  assert.equal(document.phases[0].failures, undefined);
});

Deno.test("formatSensorsJson() writes an array of {name, unit, source}", () => {
  assert.deepEqual(JSON.parse(formatSensorsJson([{ name: "GPU-0", unit: "mJ", source: "NVML" }])), [
    { name: "GPU-0", unit: "mJ", source: "NVML" },
  ]);
});

Deno.test("formatSensorsJson() keeps availability when a source reports it", () => {
  assert.deepEqual(
    JSON.parse(formatSensorsJson([
      { name: "CPU_CYCLES", unit: "count", source: "perf_event", available: false, note: "no PMU" },
    ])),
    [{ name: "CPU_CYCLES", unit: "count", source: "perf_event", available: false, note: "no PMU" }],
  );
});

Deno.test("jsonChunks() streams long arrays and joins to exactly JSON.stringify's text", () => {
  const big = result(3);
  const run = big.runs[0]!;
  run.phases = Array.from({ length: 500 }, (_, i) => ({ ...run.phases[0]!, index: i }));
  for (const sample of [result(), result(2), big]) {
    for (const force of [false, true]) {
      const expected = JSON.stringify(
        toJsonDocument(sample, force),
        (_key, value) => typeof value === "bigint" ? JSON.parse(value.toString()) : value,
        2,
      );
      const pieces = [...jsonChunks(sample, force)];
      assert.equal(
        JSON.stringify(JSON.parse(pieces.join(""))),
        JSON.stringify(JSON.parse(expected)),
      );
      assert.equal(pieces.join(""), formatJson(sample, force));
      if (sample === big) assert.ok(pieces.length > 500, "the long phase list came in pieces");
    }
  }
  // Same bytes as a plain JSON.stringify where no bigint loses precision.
  const plain = result(2);
  assert.equal(
    [...jsonChunks(plain, true)].join(""),
    `${
      JSON.stringify(
        toJsonDocument(plain, true),
        (_k, v) => typeof v === "bigint" ? Number(v) : v,
        2,
      )
    }\n`,
  );
});

Deno.test("jsonValueChunks() writes long scalar arrays as JSON.stringify does, at any depth", () => {
  const numbers = Array.from({ length: 9000 }, (_, i) => i % 7 === 0 ? -i / 3 : i * 1e-7);
  numbers[5] = NaN;
  numbers[6] = Infinity;
  numbers[7] = -0;
  const mixed = Array.from({ length: 100 }, (_, i) => [i, `s${i}\n"`, i % 2 === 0, null][i % 4]);
  // Depth 1 to 7: the elements' indent is 4 to 16 characters (JSON.stringify's
  // space argument stops at 10), and a series longer than one native slice.
  let value: unknown = { time_ms: numbers, values: numbers.slice(0, 65), mixed, empty: [] };
  for (let depth = 0; depth < 6; depth++) {
    const pieces = [...jsonValueChunks(value)];
    assert.equal(pieces.join(""), `${JSON.stringify(value, null, 2)}\n`, `depth ${depth}`);
    // Batched, yet each piece stays small: a long series is never one string.
    assert.ok(pieces.length < 400, `${pieces.length} pieces: scalars are batched`);
    assert.ok(Math.max(...pieces.map((piece) => piece.length)) < 4096, "small pieces");
    value = { samples: [value] };
  }
});

Deno.test("jsonValueChunks() writes long arrays of objects as JSON.stringify does, at any depth", () => {
  // Phases as the JSON writer gets them: objects with nested arrays and objects, some with
  // a bigint (written through the replacer), some with none (the runtime's fast path).
  const objects = Array.from({ length: 70 }, (_, i) => ({
    index: i,
    name: `p${i}\n"x"`,
    nested: { deep: [i, { empty: {}, list: [] }], none: null },
    ...(i % 3 === 0 ? { start_ns: 9_007_199_254_740_993n + BigInt(i) } : {}),
    metrics: [{ name: "A", value: i / 3, details: { via: "x" } }],
  }));
  const rawJson = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;
  const exact = (_key: string, value: unknown) =>
    typeof value === "bigint" ? rawJson(value.toString()) : value;
  let value: unknown = { phases: objects };
  for (let depth = 0; depth < 6; depth++) {
    const pieces = [...jsonValueChunks(value)];
    assert.equal(pieces.join(""), `${JSON.stringify(value, exact, 2)}\n`, `depth ${depth}`);
    assert.ok(pieces.length >= objects.length, "an object per piece at most");
    value = depth % 2 === 0 ? [value] : { wrapped: value };
  }
});
