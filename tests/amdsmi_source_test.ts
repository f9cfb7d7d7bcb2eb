import assert from "node:assert/strict";
import { JouleProfiler, Logger } from "../src/mod.ts";
import type { PhaseResult } from "../src/result.ts";
import { SnapshotStore } from "../src/snapshot_store.ts";
import {
  AmdGpuSelectionError,
  AMDSMI_STATUS,
  AmdSmiError,
  AmdSmiLibrary,
  AmdSmiLoadError,
  AmdSmiSource,
  type AmdSmiSourceOptions,
  countDelta,
  formatBdf,
  integratePowerWatts,
} from "../sources/amdsmi/mod.ts";
import { SourceError } from "../src/errors.ts";
import { type AmdSmiStubEnv, freshAmdSmiStub, setAmdSmiStubEnv } from "./amdsmi_stub.ts";

/** The fix every setup failure ends with. */
const FIX =
  /check that the amdgpu driver is loaded and 'amd-smi list' works, and that this user is in the 'render' and 'video' groups/;

Deno.test("countDelta(): a 32-bit counter wraps at 2^32, a 64-bit one at 2^64", () => {
  assert.equal(countDelta(10, 0, 25, 0), 15);
  assert.equal(countDelta(2 ** 32 - 10, 0, 5, 0), 15);
  // Crossing into the high word is growth, not a wrap.
  assert.equal(countDelta(2 ** 32 - 10, 0, 5, 1), 15);
  assert.equal(countDelta(2 ** 32 - 10, 2 ** 32 - 1, 5, 0), 15);
  assert.equal(countDelta(7, 3, 7, 3), 0);
});

Deno.test("formatBdf() prints domain:bus:device.function", () => {
  assert.equal(formatBdf(0xc100n), "0000:c1:00.0");
  assert.equal(formatBdf((0x1n << 16n) | (0x2an << 8n) | (3n << 3n) | 1n), "0001:2a:03.1");
});

Deno.test("integratePowerWatts() applies the trapezoid rule to stamped W samples", () => {
  const samples = new SnapshotStore(3);
  for (const [sec, nsec, watts] of [[1, 0, 100], [1, 500_000_000, 300], [2, 0, 300]]) {
    samples.values.set([sec!, nsec!, watts!], samples.append());
  }
  // 0.5 s at a mean of 200 W, then 0.5 s at 300 W: 250 J.
  assert.equal(integratePowerWatts(samples, 0, 2, 2), 250e6);
  assert.equal(integratePowerWatts(samples, 1, 1, 2), 0);
});

Deno.test("AmdSmiLibrary loads the stub through dlopen and reads its GPUs", async () => {
  setAmdSmiStubEnv({ AMDSMI_STUB_GPUS: "3", AMDSMI_STUB_POWER_W: "200,450" });
  const amdsmi = AmdSmiLibrary.open({ path: await freshAmdSmiStub() });
  try {
    const gpus = amdsmi.gpus();
    assert.deepEqual(gpus.map((gpu) => gpu.index), [0, 1, 2]);
    const gpu = gpus[2]!;
    assert.equal(gpu.marketName(), "AMD Instinct MI300X (stub 2)");
    assert.equal(gpu.pciBusId(), "0000:e1:00.0");
    assert.equal(gpu.hasEnergyCounter(), true);
    assert.equal(gpu.powerWatts(), 450);
    assert.equal(gpu.gfxActivity(), 42);
    assert.equal(gpu.vramUsedBytes(), 3 * 2 ** 30);
    assert.equal(gpu.temperatureCelsius(1), 52);
    assert.throws(() => gpu.temperatureCelsius(0), (error: unknown) => {
      assert.ok(error instanceof AmdSmiError);
      assert.equal(error.notSupported, true);
      assert.equal(
        error.message,
        "amdsmi_get_temp_metric failed: AMDSMI_STATUS_NOT_SUPPORTED: command not supported",
      );
      return true;
    });
    const reading = new Float64Array(4);
    gpu.readEnergy(reading, 0);
    assert.equal(reading[1], 0);
    assert.ok(Math.abs(reading[2]! - 15.3) < 1e-5, `resolution ${reading[2]}`);
    assert.ok(reading[3]! > 0, "timestamp");
    amdsmi.shutdown();
    assert.throws(
      () => amdsmi.gpus(),
      /amdsmi_get_socket_handles failed: AMDSMI_STATUS_NOT_INIT: library not initialized/,
    );
    amdsmi.init();
    assert.equal(amdsmi.gpus().length, 3);
  } finally {
    amdsmi.close();
  }
});

Deno.test("AmdSmiLibrary.open(): a missing library names every path tried", () => {
  assert.throws(
    () => AmdSmiLibrary.open({ path: "/nonexistent/libamd_smi.so" }),
    (error: unknown) => {
      assert.ok(error instanceof AmdSmiLoadError);
      assert.deepEqual(error.paths, ["/nonexistent/libamd_smi.so"]);
      assert.equal(
        error.message,
        "cannot load /nonexistent/libamd_smi.so: cannot open shared object file: No such file " +
          "or directory; libamd_smi.so comes with ROCm (the amd-smi-lib package, in " +
          "/opt/rocm/lib; set JOULE_PROFILER_AMDSMI_PATH to load it from elsewhere)",
      );
      return true;
    },
  );
});

Deno.test("AmdSmiSource.open() turns every setup failure into one clear error", async (t) => {
  await t.step("init refused: path, AMD SMI's status string, the fix", async () => {
    setAmdSmiStubEnv({ AMDSMI_STUB_FAIL_INIT: String(AMDSMI_STATUS.NO_PERM) });
    const path = await freshAmdSmiStub();
    assert.throws(() => AmdSmiSource.open({ path }), (error: unknown) => {
      assert.ok(error instanceof SourceError);
      assert.ok(
        error.message.startsWith(
          `AMD SMI: amdsmi_init failed: AMDSMI_STATUS_NO_PERM: permission denied ` +
            `(library ${path}); `,
        ),
        error.message,
      );
      assert.match(error.message, FIX);
      return true;
    });
  });
  await t.step("driver not loaded", async () => {
    setAmdSmiStubEnv({ AMDSMI_STUB_FAIL_INIT: String(AMDSMI_STATUS.DRIVER_NOT_LOADED) });
    const path = await freshAmdSmiStub();
    assert.throws(
      () => AmdSmiSource.open({ path }),
      /^SourceError: AMD SMI: amdsmi_init failed: AMDSMI_STATUS_DRIVER_NOT_LOADED: driver not loaded \(library .*libamd_smi\.so\); check that the amdgpu driver/,
    );
  });
  await t.step("the library is missing", () => {
    assert.throws(
      () => AmdSmiSource.open({ path: "/nonexistent/libamd_smi.so" }),
      /^SourceError: AMD SMI: cannot load \/nonexistent\/libamd_smi.so: .*comes with ROCm/,
    );
  });
  await t.step("no GPU", async () => {
    setAmdSmiStubEnv({ AMDSMI_STUB_GPUS: "0" });
    const path = await freshAmdSmiStub();
    assert.throws(() => AmdSmiSource.open({ path }), /AMD SMI: no AMD GPU found \(library /);
  });
  await t.step("an index that does not exist", async () => {
    setAmdSmiStubEnv({ AMDSMI_STUB_GPUS: "2" });
    const path = await freshAmdSmiStub();
    assert.throws(() => AmdSmiSource.open({ path, indices: [0, 4] }), (error: unknown) => {
      assert.ok(error instanceof AmdGpuSelectionError);
      assert.deepEqual(error.invalid, [4]);
      assert.equal(
        error.message,
        "AMD GPU 4: no such GPU; this machine has AMD GPU 0, AMD GPU 1",
      );
      return true;
    });
  });
  await t.step("one GPU that fails: named, with AMD SMI's string and the fix", async () => {
    setAmdSmiStubEnv({ AMDSMI_STUB_FAIL_GPU: `1:${AMDSMI_STATUS.NO_PERM}` });
    const path = await freshAmdSmiStub();
    assert.throws(() => AmdSmiSource.open({ path }), (error: unknown) => {
      assert.ok(error instanceof SourceError);
      assert.ok(
        error.message.startsWith(
          "AMD SMI: AMD GPU 1: amdsmi_get_energy_count failed: AMDSMI_STATUS_NO_PERM: " +
            `permission denied (library ${path}); `,
        ),
        error.message,
      );
      assert.match(error.message, FIX);
      return true;
    });
    // The other GPU alone is fine.
    AmdSmiSource.open({ path, indices: [0] }).close();
  });
  await t.step("a GPU with neither energy counter nor power", async () => {
    setAmdSmiStubEnv({
      AMDSMI_STUB_NO_ENERGY: "0",
      AMDSMI_STUB_FAIL_GPU: `0:${AMDSMI_STATUS.NOT_SUPPORTED}`,
    });
    const path = await freshAmdSmiStub();
    assert.throws(
      () => AmdSmiSource.open({ path }),
      /^SourceError: AMD SMI: AMD GPU 0 \(AMD Instinct MI300X \(stub 0\), 0000:c1:00.0\) has no energy counter and its power cannot be read: amdsmi_get_power_info failed: AMDSMI_STATUS_NOT_SUPPORTED: command not supported; check that/,
    );
  });
});

/** Energy a stub GPU of `watts` reports over a phase: W × ns / 1e6 = mJ. */
function expectedMj(phase: PhaseResult, watts: number): number {
  return watts * Number(phase.endNs - phase.startNs) / 1e6;
}

const PHASED = ["sh", "-c", "echo __A__; sleep 0.4; echo __B__; sleep 0.4"];

async function profileWithStub(source: AmdSmiSource, sampleIntervalMs?: number) {
  const result = await new JouleProfiler().addSource(source).profile({
    command: PHASED,
    stdout: "stderr",
    handleSignals: false,
    sampleIntervalMs,
  });
  return result.runs[0]!;
}

/** Per-phase energy within 1.5 % of power × phase duration, for phases long enough. */
function assertEnergyMatches(phases: PhaseResult[], gpu: string, watts: number): void {
  const tolerance = 0.015;
  let total = 0;
  let expectedTotal = 0;
  for (const phase of phases) {
    const metric = phase.metrics.find((m) => m.name === gpu);
    assert.ok(metric, `${gpu} in ${phase.name}: ${JSON.stringify(phase.failures)}`);
    assert.equal(metric.unit, "mJ");
    assert.equal(metric.source, "AMD SMI");
    assert.equal(metric.details?.method, "measured");
    total += metric.value;
    expectedTotal += expectedMj(phase, watts);
    if (phase.durationMs < 100) continue;
    const expected = expectedMj(phase, watts);
    assert.ok(
      Math.abs(metric.value - expected) <= tolerance * expected,
      `${gpu} ${phase.name}: ${metric.value} mJ, expected ${expected.toFixed(1)} mJ`,
    );
  }
  assert.ok(
    Math.abs(total - expectedTotal) <= tolerance * expectedTotal,
    `${gpu} whole run: ${total} mJ, expected ${expectedTotal.toFixed(1)} mJ`,
  );
}

async function openStub(env: AmdSmiStubEnv, options: AmdSmiSourceOptions = {}) {
  setAmdSmiStubEnv(env);
  return AmdSmiSource.open({ path: await freshAmdSmiStub(), ...options });
}

Deno.test("AmdSmiSource: per-phase energy of two GPUs within 1.5 % of power × phase time", async () => {
  const log = await Deno.makeTempFile();
  const source = await openStub({ AMDSMI_STUB_POWER_W: "300,120", AMDSMI_STUB_LOG: log });
  try {
    assert.equal(source.scope, "machine");
    assert.deepEqual(source.sensors().map((s) => [s.name, s.unit, s.source, s.note]), [
      [
        "AMD-GPU-0",
        "mJ",
        "AMD SMI",
        "AMD Instinct MI300X (stub 0), 0000:c1:00.0, energy counter (15.300 µJ per count)",
      ],
      [
        "AMD-GPU-1",
        "mJ",
        "AMD SMI",
        "AMD Instinct MI300X (stub 1), 0000:d1:00.0, energy counter (15.300 µJ per count)",
      ],
    ]);
    const run = await profileWithStub(source);
    assert.deepEqual(run.phases.map((p) => p.name), [
      "START -> __A__",
      "__A__ -> __B__",
      "__B__ -> END",
    ]);
    assertEnergyMatches(run.phases, "AMD-GPU-0", 300);
    assertEnergyMatches(run.phases, "AMD-GPU-1", 120);
    const metric = run.phases[1]!.metrics.find((m) => m.name === "AMD-GPU-1")!;
    const { average_power_w: watts, counter_interval_ms: intervalMs, ...details } =
      metric.details ?? {};
    assert.deepEqual(details, {
      method: "measured",
      via: "energy_counter",
      device_name: "AMD Instinct MI300X (stub 1)",
      pci_bus_id: "0000:d1:00.0",
      counter_resolution_uj: 15.3,
      counter_wraps: 0,
    });
    assert.ok(Math.abs(Number(watts) - 120) <= 1.8, `${watts} W`);
    // The counter's own timestamps span the phase, to the stub's 1 ms update period.
    assert.ok(
      Math.abs(Number(intervalMs) - run.phases[1]!.durationMs) <= 2,
      `${intervalMs} ms of counter time for a ${run.phases[1]!.durationMs} ms phase`,
    );
    // join() shut AMD SMI down; a second run initialises it again.
    assert.equal(await Deno.readTextFile(log), "init\nshutdown\n");
    assertEnergyMatches((await profileWithStub(source)).phases, "AMD-GPU-0", 300);
    assert.equal(await Deno.readTextFile(log), "init\nshutdown\ninit\nshutdown\n");
  } finally {
    source.close();
  }
});

Deno.test("AmdSmiSource: a 32-bit counter that wraps during a phase is caught", async () => {
  // 300 W at 15.3 µJ per count: 2^32 - 2,000,000 counts wrap about 100 ms into the run.
  const source = await openStub({
    AMDSMI_STUB_GPUS: "1",
    AMDSMI_STUB_COUNTER_BITS: "32",
    AMDSMI_STUB_START_COUNTS: String(2 ** 32 - 2_000_000),
  });
  try {
    const run = await profileWithStub(source);
    assertEnergyMatches(run.phases, "AMD-GPU-0", 300);
    const wraps = run.phases.map((phase) => phase.metrics[0]!.details?.counter_wraps);
    assert.equal(wraps.reduce((sum, n) => Number(sum) + Number(n), 0), 1, `wraps ${wraps}`);
  } finally {
    source.close();
  }
});

Deno.test("AmdSmiSource: wraps between boundaries on a long phase are caught by the periodic read", async () => {
  // 0.01 µJ per count: a 32-bit counter wraps every 143 ms at 300 W, ~3 times per phase.
  const env: AmdSmiStubEnv = {
    AMDSMI_STUB_GPUS: "1",
    AMDSMI_STUB_COUNTER_BITS: "32",
    AMDSMI_STUB_RESOLUTION_UJ: "0.01",
  };
  const source = await openStub(env, { wrapCheckMs: 25 });
  try {
    const run = await profileWithStub(source);
    assertEnergyMatches(run.phases, "AMD-GPU-0", 300);
    const middle = run.phases[1]!;
    const expectedWraps = expectedMj(middle, 300) * 1e3 / 0.01 / 2 ** 32;
    const wraps = Number(middle.metrics[0]!.details?.counter_wraps);
    assert.ok(Math.abs(wraps - expectedWraps) <= 1, `${wraps} wraps, ~${expectedWraps} expected`);
  } finally {
    source.close();
  }
  // Without the periodic read, the wraps between boundaries would be lost: the check matters.
  const blind = await openStub(env, { wrapCheckMs: 60_000 });
  try {
    const middle = (await profileWithStub(blind)).phases[1]!;
    const expected = expectedMj(middle, 300);
    assert.ok(
      middle.metrics[0]!.value < 0.5 * expected,
      `${middle.metrics[0]!.value} mJ of ${expected} without wrap checks`,
    );
  } finally {
    blind.close();
  }
});

Deno.test("AmdSmiSource: a GPU without energy counter gets integrated power, labelled as such", async () => {
  const source = await openStub(
    { AMDSMI_STUB_POWER_W: "300,120", AMDSMI_STUB_NO_ENERGY: "1" },
    { powerSamplePeriodMs: 20 },
  );
  try {
    assert.deepEqual(source.gpus.map((gpu) => gpu.reading), [
      "energy_counter",
      "integrated_power",
    ]);
    assert.match(source.sensors()[1]!.note!, /no energy counter: power integrated every 20 ms/);
    const run = await profileWithStub(source);
    assertEnergyMatches(run.phases, "AMD-GPU-0", 300);
    assertEnergyMatches(run.phases, "AMD-GPU-1", 120);
    const middle = run.phases[1]!.metrics.find((m) => m.name === "AMD-GPU-1")!;
    assert.equal(middle.details?.method, "measured");
    assert.equal(middle.details?.via, "integrated_power");
    assert.equal(middle.details?.sample_period_ms, 20);
    // 400 ms at 20 ms: about 20 samples; a loaded machine's timers may skip some.
    assert.ok(Number(middle.details?.samples) >= 5, `samples: ${middle.details?.samples}`);
  } finally {
    source.close();
  }
});

for (const noEnergy of [undefined, "all"]) {
  const reading = noEnergy === undefined ? "energy counter" : "power sampling";
  Deno.test(`AmdSmiSource: a GPU failing mid-run (${reading}) fails the phases it affects, with AMD SMI's string`, async () => {
    // Boundaries come at about 0, 400 and 800 ms after opening; the GPU fails at 600 ms.
    const source = await openStub({
      AMDSMI_STUB_GPUS: "1",
      AMDSMI_STUB_FAIL_GPU: `0:${AMDSMI_STATUS.NO_PERM}:600`,
      AMDSMI_STUB_NO_ENERGY: noEnergy,
    });
    const warnings: string[] = [];
    try {
      const result = await new JouleProfiler().addSource(source).profile({
        command: PHASED,
        stdout: "stderr",
        handleSignals: false,
        logger: new Logger(0, (line) => warnings.push(line)),
      });
      const [first, second, last] = result.runs[0]!.phases;
      assert.equal(result.exitCode, 0);
      assert.equal(first!.metrics.length, 1);
      assert.equal(second!.metrics.length, 1);
      assert.deepEqual(last!.metrics, []);
      const call = noEnergy === undefined ? "amdsmi_get_energy_count" : "amdsmi_get_power_info";
      assert.deepEqual(last!.failures, [{
        source: "AMD SMI",
        message: `AMD SMI: ${call} failed: AMDSMI_STATUS_NO_PERM: permission denied`,
      }]);
      // One warning for the failure (a short first phase may add a quantisation warning).
      const failures = warnings.filter((line) => /permission denied/.test(line));
      assert.equal(failures.length, 1, warnings.join("\n"));
    } finally {
      source.close();
    }
  });
}

Deno.test("AmdSmiSource: sampling gives power, activity, VRAM and temperature per GPU", async () => {
  const source = await openStub({ AMDSMI_STUB_POWER_W: "300,120", AMDSMI_STUB_NO_ENERGY: "1" });
  try {
    const run = await profileWithStub(source, 10);
    const series = run.samples ?? [];
    const byName = new Map(series.map((entry) => [entry.name, entry]));
    assert.deepEqual(
      series.filter((entry) => entry.source === "AMD SMI").map((entry) => [entry.name, entry.unit]),
      [
        ["AMD-GPU-0", "W"],
        ["AMD-GPU-0-GFX", "%"],
        ["AMD-GPU-0-VRAM", "MiB"],
        ["AMD-GPU-0-TEMP", "°C"],
        ["AMD-GPU-1", "W"],
        ["AMD-GPU-1-GFX", "%"],
        ["AMD-GPU-1-VRAM", "MiB"],
        ["AMD-GPU-1-TEMP", "°C"],
      ],
    );
    const median = (name: string) => {
      const values = [...byName.get(name)!.values].sort((a, b) => a - b);
      assert.ok(values.length >= 4, `${name}: ${values.length} points over 0.8 s`);
      return values[values.length >> 1]!;
    };
    assert.ok(Math.abs(median("AMD-GPU-0") - 300) <= 3, `counter power ${median("AMD-GPU-0")}`);
    assert.equal(median("AMD-GPU-1"), 120);
    assert.equal(median("AMD-GPU-1-GFX"), 41);
    assert.equal(median("AMD-GPU-1-VRAM"), 2048);
    assert.equal(median("AMD-GPU-1-TEMP"), 51);
    // Sampling leaves the phase energies exact.
    assertEnergyMatches(run.phases, "AMD-GPU-0", 300);
  } finally {
    source.close();
  }
});
