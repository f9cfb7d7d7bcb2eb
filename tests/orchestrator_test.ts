import assert from "node:assert/strict";
import { SourceOrchestrator } from "../src/orchestrator.ts";
import type { Metric, Sensor, Source } from "../src/source.ts";

/** A counter source: each phase's raw value is the number of measures in it. */
class CountingSource implements Source<number> {
  readonly name: string;
  measures = 0;
  #last = 0;
  readonly calls: string[] = [];
  constructor(name = "counting", readonly failAt?: number) {
    this.name = name;
  }
  init(pid: number): void {
    this.calls.push(`init ${pid}`);
  }
  measure(): void {
    this.measures++;
    this.calls.push("measure");
    if (this.measures === this.failAt) throw new Error("counter vanished");
  }
  retrieve(): number {
    this.calls.push("retrieve");
    const value = this.measures - this.#last;
    this.#last = this.measures;
    return value;
  }
  join(): void {
    this.calls.push("join");
  }
  sensors(): Sensor[] {
    return [{ name: "N", unit: "count", source: this.name }];
  }
  toMetrics(raw: number): Metric[] {
    return [{ name: "N", value: raw, unit: "count", source: this.name }];
  }
}

class AsyncSource extends CountingSource {
  override measure(): Promise<void> {
    return Promise.resolve().then(() => super.measure());
  }
}

Deno.test("SourceOrchestrator drives sources in lifecycle order", async () => {
  const source = new CountingSource();
  const orchestrator = new SourceOrchestrator([source]);
  await orchestrator.init(42);
  orchestrator.measure();
  for (let i = 0; i < 3; i++) {
    orchestrator.measure();
    orchestrator.retrieve();
  }
  await orchestrator.join();
  assert.deepEqual(source.calls, [
    "init 42",
    "measure",
    "measure",
    "retrieve",
    "measure",
    "retrieve",
    "measure",
    "retrieve",
    "join",
  ]);
  assert.equal(orchestrator.phaseCount, 3);
  assert.equal(orchestrator.toPhaseMetrics().length, 3);
});

Deno.test("SourceOrchestrator adds no promise when every source is synchronous", () => {
  const orchestrator = new SourceOrchestrator([new CountingSource("a"), new CountingSource("b")]);
  assert.equal(orchestrator.measure(), undefined);
  assert.equal(orchestrator.measure(), undefined);
  assert.equal(orchestrator.retrieve(), undefined);
});

Deno.test("SourceOrchestrator awaits asynchronous sources", async () => {
  const orchestrator = new SourceOrchestrator([new AsyncSource("async"), new CountingSource()]);
  const baseline = orchestrator.measure();
  assert.ok(baseline instanceof Promise);
  await baseline;
  await orchestrator.measure();
  await orchestrator.retrieve();
  const [phase] = orchestrator.toPhaseMetrics();
  assert.deepEqual(phase!.metrics.map((m) => [m.source, m.value]), [["async", 2], [
    "counting",
    2,
  ]]);
});

Deno.test("SourceOrchestrator marks the phases a failing source affects and keeps the rest", () => {
  const warnings: string[] = [];
  const failing = new CountingSource("flaky", 3); // fails at boundary 2
  const steady = new CountingSource("steady");
  const orchestrator = new SourceOrchestrator([failing, steady], {
    warn: (m) => warnings.push(m),
  });
  orchestrator.measure();
  for (let i = 0; i < 4; i++) {
    orchestrator.measure();
    orchestrator.retrieve();
  }
  const phases = orchestrator.toPhaseMetrics();
  assert.equal(phases.length, 4);
  // Boundary 2 ends phase 1 and starts phase 2.
  assert.deepEqual(phases.map((p) => p.failures.map((f) => f.source)), [[], ["flaky"], [
    "flaky",
  ], []]);
  assert.ok(phases.every((p) => p.metrics.some((m) => m.source === "steady")));
  assert.equal(phases[0]!.metrics.length, 2);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /flaky: counter vanished/);
});

Deno.test("SourceOrchestrator.init() fails when a source cannot attach", async () => {
  const broken: Source = {
    name: "broken",
    init: () => Promise.reject(new Error("no such device")),
    measure: () => {},
    retrieve: () => 0,
    sensors: () => [],
    toMetrics: () => [],
  };
  await assert.rejects(new SourceOrchestrator([broken]).init(1), /broken: no such device/);
});

Deno.test("SourceOrchestrator reports the spread between the first and last read in debug", async () => {
  const debug: string[] = [];
  const orchestrator = new SourceOrchestrator([new CountingSource("a"), new AsyncSource("b")], {
    debug: (m) => debug.push(m),
  });
  await orchestrator.measure();
  for (let i = 0; i < 100; i++) {
    await orchestrator.measure();
    await orchestrator.retrieve();
  }
  await orchestrator.join();
  assert.equal(debug.length, 1);
  assert.match(
    debug[0]!,
    /reading all 2 sources at a boundary took median [\d.]+ µs, max [\d.]+ µs \(first to last read, 101 boundaries\)/,
  );
});

class PreparingSource extends CountingSource {
  prepare(): void {
    this.calls.push("prepare");
    if (this.failAt === 0) throw new Error("cannot prepare");
  }
}

Deno.test("SourceOrchestrator.prepare() calls every source's prepare(), errors ignored", () => {
  const failing = new PreparingSource("failing", 0);
  const plain = new CountingSource("plain");
  const preparing = new PreparingSource("preparing");
  new SourceOrchestrator([failing, plain, preparing]).prepare();
  assert.deepEqual(failing.calls, ["prepare"]);
  assert.deepEqual(plain.calls, []);
  assert.deepEqual(preparing.calls, ["prepare"]);
});

Deno.test("a run calls prepare() before the program is spawned, then init(pid)", async () => {
  const { JouleProfiler } = await import("../src/profiler.ts");
  const { Logger } = await import("../src/logger.ts");
  const source = new PreparingSource("preparing");
  const result = await new JouleProfiler().addSource(source).profile({
    command: ["true"],
    logger: new Logger(0, () => {}),
    stdout: { write: () => {}, close: () => {}, broken: false, atLineStart: true },
  });
  assert.equal(result.runs.length, 1);
  assert.equal(source.calls[0], "prepare");
  assert.match(source.calls[1]!, /^init \d+$/);
});

/** A counter source that can record its last reading again without reading. */
class RepeatingSource extends CountingSource {
  repeats = 0;
  repeat(): void {
    this.repeats++;
    this.calls.push("repeat");
  }
}

Deno.test("SourceOrchestrator.repeat() reuses a source's last reading, or reads one without repeat()", () => {
  const repeating = new RepeatingSource("repeating");
  const plain = new CountingSource("plain");
  const orchestrator = new SourceOrchestrator([repeating, plain]);
  orchestrator.measure(); // baseline
  orchestrator.measure();
  orchestrator.retrieve();
  assert.equal(orchestrator.repeat(), undefined);
  orchestrator.retrieve();
  assert.equal(orchestrator.phaseCount, 2);
  assert.deepEqual(repeating.calls, ["measure", "measure", "retrieve", "repeat", "retrieve"]);
  // Without repeat() the source is read again (a user-defined source keeps working).
  assert.deepEqual(plain.calls, ["measure", "measure", "retrieve", "measure", "retrieve"]);
  const phases = orchestrator.toPhaseMetrics();
  assert.deepEqual(phases[1]!.metrics.map((m) => [m.source, m.value]), [
    ["plain", 1],
    ["repeating", 0],
  ]);
});

Deno.test("SourceOrchestrator.repeat() of a boundary whose source failed fails it too", () => {
  const failing = new RepeatingSource("flaky", 2); // fails at boundary 1
  const orchestrator = new SourceOrchestrator([failing], { warn: () => {} });
  orchestrator.measure();
  orchestrator.measure();
  orchestrator.retrieve();
  orchestrator.repeat();
  orchestrator.retrieve();
  orchestrator.measure();
  orchestrator.retrieve();
  const phases = orchestrator.toPhaseMetrics();
  assert.deepEqual(phases.map((p) => p.failures.length), [1, 1, 1]);
});
