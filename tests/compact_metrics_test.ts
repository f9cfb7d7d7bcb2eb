import assert from "node:assert/strict";
import fc from "fast-check";
import { ClockAnchor } from "../src/clock.ts";
import { attributeEnergy } from "../src/energy_attribution.ts";
import { addDerivedMetrics } from "../src/derived_metrics.ts";
import { formatCsv } from "../src/output/csv.ts";
import { formatJson } from "../src/output/json.ts";
import { formatTerminal } from "../src/output/terminal.ts";
import { BoundaryLog } from "../src/phase/boundary_log.ts";
import { CompactMetrics } from "../src/phase/compact_metrics.ts";
import type { PhaseMetrics } from "../src/orchestrator.ts";
import { buildPhases, type ProfileResult, type RunResult } from "../src/result.ts";
import type { Metric } from "../src/source.ts";

const VIA = Object.freeze({ via: "/proc status" });

/** Metrics like the default sources' for phase `i`: shared details, varying numbers and flags. */
function phaseMetrics(i: number): PhaseMetrics {
  const metrics: Metric[] = [
    { name: "CPU_TIME", value: 1000 + i, unit: "ns", source: "process", details: VIA },
    { name: "PACKAGE-0", value: i * 7.25, unit: "µJ", source: "RAPL (Powercap)" },
    {
      name: "PACKAGE-1",
      value: -0,
      unit: "µJ",
      source: "RAPL (Powercap)",
      details: i % 3 === 0 ? { domain: "package", not_updating: true } : { domain: "package" },
    },
    { name: "SYSTEM_CPU_BUSY_TIME", value: 4000 + i, unit: "ns", source: "system" },
    { name: "SYSTEM_CPU_TIME", value: 8000, unit: "ns", source: "system" },
  ];
  return { metrics, failures: i % 5 === 0 ? [{ source: "x", message: "m" }] : [] };
}

function boundaries(phases: number): BoundaryLog {
  const log = new BoundaryLog();
  log.record("START", -1);
  for (let i = 0; i < phases - 1; i++) log.record(`__T${i % 7}__`, i);
  log.record("END", -1);
  return log;
}

function runOf(log: BoundaryLog, compactAfter: number): RunResult {
  const built = buildPhases(log, (i) => phaseMetrics(i), new ClockAnchor(0n, 0n), {
    compactAfter,
  });
  return {
    index: 0,
    exitCode: 0,
    signal: null,
    interrupted: false,
    startNs: built[0]!.startNs,
    endNs: built.at(-1)!.endNs,
    timestamp: 0,
    durationMs: 1,
    phases: built,
  };
}

function resultOf(run: RunResult): ProfileResult {
  return {
    command: ["x"],
    tokenPattern: "__[A-Z0-9_]+__",
    exitCode: 0,
    durationMs: 1,
    interrupted: false,
    runs: [run],
  };
}

Deno.test("compact phases give the same JSON and CSV as plain ones, after attribution and derived metrics", () => {
  const log = boundaries(600);
  const plain = runOf(log, Infinity);
  const compact = runOf(log, 0);
  assert.equal(attributeEnergy(compact), attributeEnergy(plain));
  const derived = addDerivedMetrics(plain);
  assert.ok(derived > 0);
  assert.equal(addDerivedMetrics(compact), derived);
  assert.equal(formatJson(resultOf(compact)), formatJson(resultOf(plain)));
  assert.equal(formatCsv(resultOf(compact)), formatCsv(resultOf(plain)));
  for (const allPhases of [false, true]) {
    const options = { color: false, allPhases };
    assert.equal(
      formatTerminal(resultOf(compact), options),
      formatTerminal(resultOf(plain), options),
    );
  }
  assert.deepEqual(compact.phases, plain.phases);
  // The source's frozen details object comes back as itself, never a copy.
  assert.equal(compact.phases[450]!.metrics.find((m) => m.name === "CPU_TIME")!.details, VIA);
});

Deno.test("changes to a compact phase's metrics are kept after many other phases are read", () => {
  const run = runOf(boundaries(300), 0);
  const first = run.phases[3]!.metrics;
  first[1]!.value = 42.5;
  first[2]!.details = { ...first[2]!.details, note: "changed", extra: 1.5 };
  first.push({ name: "ZZ", value: 1, unit: "count", source: "z" });
  run.phases[4]!.metrics = [{ name: "ONLY", value: 3, unit: "count", source: "z" }];
  run.phases[5]!.metrics = [];
  for (const phase of run.phases) void phase.metrics.length;
  const again = run.phases[3]!.metrics;
  assert.notEqual(again, first, "rebuilt from the store");
  assert.deepEqual(again, first);
  assert.deepEqual(run.phases[4]!.metrics, [{
    name: "ONLY",
    value: 3,
    unit: "count",
    source: "z",
  }]);
  assert.deepEqual(run.phases[5]!.metrics, []);
  assert.deepEqual({ ...run.phases[3]! }.metrics, first, "a spread copies the metrics");
});

Deno.test("metrics no shape can describe are kept as they are", () => {
  const store = new CompactMetrics(3);
  const odd = [{ value: 1, name: "B", unit: "x", source: "s" }];
  const extra = [{ name: "A", value: 1, unit: "x", source: "s", details: { a: [1] } }];
  store.write(0, odd);
  store.write(1, extra as unknown as Metric[]);
  assert.equal(store.read(0), odd);
  assert.equal(store.read(1), extra);
  assert.equal(store.read(2).length, 0);
});

Deno.test("any numbers and details round-trip through the store", () => {
  const detail = fc.oneof(fc.double(), fc.string(), fc.boolean());
  const metric = fc.record({
    name: fc.string(),
    value: fc.double(),
    unit: fc.constantFrom("µJ", "ns", "count"),
    source: fc.constantFrom("a", "b"),
    details: fc.option(fc.dictionary(fc.string(), detail), { nil: undefined }),
  }).map((m) => {
    const { details, ...rest } = m;
    return (details === undefined ? rest : { ...rest, details }) as Metric;
  });
  fc.assert(fc.property(fc.array(fc.array(metric, { maxLength: 6 }), { maxLength: 40 }), (all) => {
    const store = new CompactMetrics(all.length);
    all.forEach((metrics, i) => store.write(i, metrics));
    // Read twice around: the second reads are rebuilt once the cache has moved on.
    for (let round = 0; round < 2; round++) {
      all.forEach((metrics, i) => assert.deepEqual(store.read(i), metrics));
    }
  }));
});

Deno.test("phases that repeat a shape, or nearly, round-trip through the store", () => {
  // The store checks a phase against the shape of the one before first: phases built from a
  // few shapes, each metric sometimes changed just enough to need another (a constant, a
  // detail's type, a key more or less, a frozen details object or a copy of it).
  const frozen = Object.freeze({ via: "cgroup", method: "measured" });
  const base = (value: number, variant: number): Metric[] => [
    { name: "CPU", value, unit: "ns", source: "process", details: frozen },
    {
      name: "PKG",
      value: value * 2,
      unit: "µJ",
      source: "rapl",
      details: variant === 1
        ? { method: "attributed", share: value / 3 }
        : variant === 2
        ? { method: "measured", share: "n/a" }
        : variant === 3
        ? { method: "measured" }
        : variant === 4
        ? { ...frozen }
        : { method: "measured", share: value / 7 },
    },
    ...(variant === 5 ? [] : [{ name: "X", value: -value, unit: "count", source: "s" } as Metric]),
  ];
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.double({ noNaN: true }), fc.integer({ min: 0, max: 8 })), {
        maxLength: 60,
      }),
      (phases) => {
        const all = phases.map(([value, variant]) => base(value, variant));
        const store = new CompactMetrics(all.length);
        all.forEach((metrics, i) => store.write(i, metrics));
        for (let round = 0; round < 2; round++) {
          all.forEach((metrics, i) => assert.deepEqual(store.read(i), metrics));
        }
        // Frozen details stay the same object, never a copy.
        all.forEach((_, i) => assert.equal(store.peek(i)[0]!.details, frozen));
      },
    ),
  );
});
