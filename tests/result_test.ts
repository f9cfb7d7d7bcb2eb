import assert from "node:assert/strict";
import { ClockAnchor } from "../src/clock.ts";
import { BoundaryLog } from "../src/phase/boundary_log.ts";
import { buildPhases, spanMs } from "../src/result.ts";
import { SnapshotStore } from "../src/snapshot_store.ts";

Deno.test("buildPhases() makes one window per pair of consecutive boundaries", () => {
  const log = new BoundaryLog();
  log.record("START", -1);
  log.record("__A__", 0);
  log.record("__B__", 3);
  log.record("END", -1);
  const empty = { metrics: [], failures: [] };
  const phases = buildPhases(log, [empty, empty, empty], new ClockAnchor(0n, 0n));
  assert.deepEqual(phases.map((p) => p.name), ["START -> __A__", "__A__ -> __B__", "__B__ -> END"]);
  assert.deepEqual(phases.map((p) => [p.startLine, p.endLine]), [[undefined, 0], [0, 3], [
    3,
    undefined,
  ]]);
  for (const phase of phases) {
    assert.ok(phase.endNs >= phase.startNs);
    assert.equal(phase.durationMs, spanMs(phase.startNs, phase.endNs));
  }
  assert.equal(phases[1]!.startNs, phases[0]!.endNs);
});

Deno.test("buildPhases() gives START -> END when there is no token", () => {
  const log = new BoundaryLog();
  log.record("START", -1);
  log.record("END", -1);
  const phases = buildPhases(log, [{ metrics: [], failures: [] }], ClockAnchor.now());
  assert.equal(phases.length, 1);
  assert.equal(phases[0]!.name, "START -> END");
  assert.ok(Math.abs(phases[0]!.timestamp - Date.now()) < 5000);
});

Deno.test("BoundaryLog grows past its initial capacity and keeps times ordered", () => {
  const log = new BoundaryLog();
  for (let i = 0; i < 10_000; i++) log.record(`__T${i % 7}__`, i);
  assert.equal(log.count, 10_000);
  assert.equal(log.tokenAt(9_999), "__T3__");
  assert.equal(log.lineAt(9_999), 9_999);
  for (let i = 1; i < log.count; i++) assert.ok(log.nsAt(i) >= log.nsAt(i - 1));
});

Deno.test("spanMs() keeps nanosecond precision", () => {
  assert.equal(spanMs(10n, 1_000_010n), 1);
  assert.equal(spanMs(0n, 1n), 0.000001);
});

Deno.test("SnapshotStore keeps rows across growth and gives deltas", () => {
  const store = new SnapshotStore(3, 1);
  for (let i = 0; i < 100; i++) {
    const row = store.append();
    store.values[row] = i;
    store.values[row + 1] = i * 2;
    store.values[row + 2] = i * i;
  }
  assert.equal(store.rows, 100);
  assert.equal(store.at(99, 2), 99 * 99);
  assert.equal(store.delta(10, 20, 1), 20);
  store.clear();
  assert.equal(store.rows, 0);
});
