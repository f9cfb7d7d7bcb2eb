import assert from "node:assert/strict";
import { PERF_TYPE, PerfCounterGroup, PerfEventOpenError } from "../src/ffi/perf_event.ts";
import { SyscallError } from "../src/ffi/libc.ts";
import { discoverPowerPmu } from "../sources/rapl/power_pmu.ts";
import { PerfRaplSource, planPerfRaplCounters } from "../sources/rapl/perf_rapl_source.ts";
import { writeFakePowerPmu } from "./fixtures/fake_powercap.ts";

/** Descriptors this process holds: a failed open must leave none behind. */
function openDescriptors(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

function spinMs(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* busy */ }
}

/**
 * A fake `power` PMU on CPU 0 whose events are the software cpu-clock (type
 * 1, config 0), with a scale of 1e-6 J per count: a metric's µJ are then the
 * counter's nanoseconds. `bogus` adds an event the kernel refuses (config 99).
 */
async function cpuClockPmu(bogus = false): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "jp-group-" });
  const events = ["energy-pkg", "energy-cores", "energy-ram"].map((name) => ({
    name,
    description: bogus && name === "energy-ram" ? "event=0x63" : "event=0x00",
    scale: "1e-6",
  }));
  await writeFakePowerPmu(root, { type: PERF_TYPE.SOFTWARE, cpumask: "0", events });
  return root;
}

function perfRaplSource(root: string): PerfRaplSource {
  const pmu = discoverPowerPmu(root);
  if ("missing" in pmu) throw new Error(pmu.missing);
  return new PerfRaplSource(pmu, planPerfRaplCounters(pmu, { packageOfCpu: () => 0 }));
}

Deno.test("PerfCounterGroup reads every counter of the group with one read", () => {
  const group = PerfCounterGroup.open([
    { name: "cpu-clock", attr: { type: PERF_TYPE.SOFTWARE, config: 0n } },
    { name: "cpu-clock again", attr: { type: PERF_TYPE.SOFTWARE, config: 0n } },
  ], { pid: 0, cpu: -1 });
  try {
    assert.equal(group.size, 2);
    group.read();
    const before = [group.value(0), group.value(1)];
    spinMs(30);
    group.read();
    for (const index of [0, 1]) {
      const counted = group.value(index) - before[index]!;
      // Both count this process's CPU time: about the 30 ms spun.
      assert.ok(counted > 20e6 && counted < 300e6, `${group.names[index]}: ${counted} ns`);
    }
  } finally {
    group.close();
  }
  assert.throws(() => group.read(), SyscallError);
});

Deno.test("PerfCounterGroup names the event the kernel refuses and leaves no descriptor open", () => {
  const held = openDescriptors();
  assert.throws(
    () =>
      PerfCounterGroup.open([
        { name: "cpu-clock", attr: { type: PERF_TYPE.SOFTWARE, config: 0n } },
        { name: "no-such-software-event", attr: { type: PERF_TYPE.SOFTWARE, config: 99n } },
      ], { pid: 0, cpu: -1 }),
    (error: unknown) =>
      error instanceof PerfEventOpenError && error.event === "no-such-software-event" &&
      error.unsupported,
  );
  assert.equal(openDescriptors(), held);
});

Deno.test("PerfRaplSource reads a package's domains at one instant (one group read)", async () => {
  const source = perfRaplSource(await cpuClockPmu());
  await source.init();
  try {
    const spreads: number[] = [];
    source.measure();
    for (let phase = 0; phase < 200; phase++) {
      spinMs(0.2);
      source.measure();
      const values = source.toMetrics(source.retrieve()).map((metric) => metric.value);
      assert.equal(values.length, 3);
      // Three cpu-clock counters of one CPU: each phase's counts differ only by how far
      // apart the two boundaries read them (µJ = ns here).
      spreads.push(Math.max(...values) - Math.min(...values));
    }
    spreads.sort((a, b) => a - b);
    const median = spreads[spreads.length >> 1]!;
    // One read(2) per group: the kernel reads the three back to back (well under 1 µs
    // apart); three read(2)s took 1–3 µs each here, and about 12 µs each from another CPU.
    assert.ok(median < 1000, `median spread ${median} ns`);
  } finally {
    source.join();
  }
});

Deno.test("PerfRaplSource retries a refused group one counter at a time and names the counter refused", async () => {
  const source = perfRaplSource(await cpuClockPmu(true));
  const held = openDescriptors();
  assert.throws(
    () => source.open(),
    (error: unknown) =>
      error instanceof PerfEventOpenError && error.event === "power/energy-ram/ on CPU 0",
  );
  // The group, and the counters opened one by one before the refused one, are closed.
  assert.equal(openDescriptors(), held);
});
