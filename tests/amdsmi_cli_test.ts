import assert from "node:assert/strict";
import { listDir, runCli } from "./helpers.ts";
import { amdSmiStubChildEnv, type AmdSmiStubEnv, buildAmdSmiStub } from "./amdsmi_stub.ts";
import { buildNvmlStub, stubChildEnv } from "./nvml_stub.ts";

const NO_NVML = "/nonexistent/libnvidia-ml.so.1";
const NO_AMDSMI = "/nonexistent/libamd_smi.so";

/** Environment pointing the CLI at the AMD SMI stub (and at no NVML), with the given settings. */
async function stubEnv(env: AmdSmiStubEnv = {}): Promise<Record<string, string>> {
  return {
    JOULE_PROFILER_AMDSMI_PATH: await buildAmdSmiStub(),
    JOULE_PROFILER_NVML_PATH: NO_NVML,
    ...amdSmiStubChildEnv(env),
    ...stubChildEnv({}),
  };
}

const PHASED = ["sh", "-c", "echo __A__; sleep 0.4; echo __B__; sleep 0.4"];

/** The stub's power is constant and its clock is CLOCK_MONOTONIC: W × ns / 1e6 = mJ. */
const TOLERANCE = 0.015;

interface JsonMetric {
  name: string;
  value: number;
  unit: string;
  source: string;
  details?: Record<string, unknown>;
}

interface JsonPhase {
  start_token: string;
  end_token: string;
  start_ns: number;
  end_ns: number;
  duration_ms: number;
  metrics: JsonMetric[];
}

function assertPhaseEnergy(phases: JsonPhase[], sensor: string, watts: number): void {
  for (const phase of phases) {
    const metric = phase.metrics.find((m) => m.name === sensor);
    assert.ok(metric, `${sensor} in ${phase.start_token} -> ${phase.end_token}`);
    assert.equal(metric.unit, "mJ");
    assert.equal(metric.source, "AMD SMI");
    assert.equal(metric.details?.method, "measured");
    if (phase.duration_ms < 100) continue;
    const expected = watts * (phase.end_ns - phase.start_ns) / 1e6;
    assert.ok(
      Math.abs(metric.value - expected) <= TOLERANCE * expected,
      `${sensor} ${phase.start_token} -> ${phase.end_token}: ${metric.value} mJ, ` +
        `expected ${expected.toFixed(1)}`,
    );
    const average = Number(metric.details?.average_power_w);
    assert.ok(Math.abs(average - watts) <= TOLERANCE * watts, `${sensor}: ${average} W`);
  }
}

Deno.test("--amd-gpus 0,1 --json: per-phase energy of each AMD GPU within 1.5 %, named by index, product and PCI id", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(
    ["-v", "--amd-gpus", "0,1", "--json", "-o", "out.json", "profile", "--", ...PHASED],
    { cwd, env: await stubEnv({ AMDSMI_STUB_POWER_W: "300,120" }) },
  );
  assert.equal(out.code, 0, out.stderr);
  const phases = JSON.parse(await Deno.readTextFile(`${cwd}/out.json`)).phases as JsonPhase[];
  assert.equal(phases.length, 3);
  assertPhaseEnergy(phases, "AMD-GPU-0", 300);
  assertPhaseEnergy(phases, "AMD-GPU-1", 120);
  const details = phases[1]!.metrics.find((m) => m.name === "AMD-GPU-1")!.details!;
  assert.equal(details.device_name, "AMD Instinct MI300X (stub 1)");
  assert.equal(details.pci_bus_id, "0000:d1:00.0");
  assert.equal(details.via, "energy_counter");
  assert.equal(details.counter_resolution_uj, 15.3);
  assert.match(
    out.stderr,
    /info: AMD SMI: AMD GPU 1 \(AMD Instinct MI300X \(stub 1\), 0000:d1:00\.0\): energy counter \(15\.300 µJ per count\)/,
  );
  // --amd-gpus does not ask for NVIDIA GPUs.
  assert.doesNotMatch(out.stderr, /NVML/);
});

Deno.test("--gpu measures every NVIDIA and AMD GPU found; -v says which vendors were found", async () => {
  const cwd = await Deno.makeTempDir();
  const both = await runCli(
    ["-v", "--gpu", "--json", "-o", "out.json", "profile", "--", ...PHASED],
    {
      cwd,
      env: {
        ...(await stubEnv({ AMDSMI_STUB_POWER_W: "250" })),
        JOULE_PROFILER_NVML_PATH: await buildNvmlStub(),
        ...stubChildEnv({ NVML_STUB_POWER_MW: "50000" }),
      },
    },
  );
  assert.equal(both.code, 0, both.stderr);
  const phases = JSON.parse(await Deno.readTextFile(`${cwd}/out.json`)).phases as JsonPhase[];
  // Energies only: each also gets a derived `<NAME>_AVERAGE_POWER` beside it.
  const gpuMetrics = phases[1]!.metrics.filter((m) =>
    (m.source === "NVML" || m.source === "AMD SMI") && m.details?.method !== "derived"
  );
  assert.deepEqual(gpuMetrics.map((m) => [m.name, m.source]).sort(), [
    ["AMD-GPU-0", "AMD SMI"],
    ["AMD-GPU-1", "AMD SMI"],
    ["GPU-0", "NVML"],
    ["GPU-1", "NVML"],
  ]);
  assertPhaseEnergy(phases, "AMD-GPU-1", 250);
  assert.match(both.stderr, /info: --gpu: GPUs found through NVML and AMD SMI\n/);
  assert.match(both.stderr, /info: NVML: GPU 0 /);
  assert.match(both.stderr, /info: AMD SMI: AMD GPU 0 /);

  // No NVIDIA library: not an error with --gpu, and -v says why NVML was left out.
  const amdOnly = await runCli(["-vv", "--gpu", "--json", "-o", "-", "profile", "--", ...PHASED], {
    cwd,
    env: await stubEnv(),
  });
  assert.equal(amdOnly.code, 0, amdOnly.stderr);
  assert.match(
    amdOnly.stderr,
    /info: --gpu: left out: NVML: cannot load \/nonexistent\/libnvidia-ml\.so\.1: /,
  );
  assert.match(amdOnly.stderr, /info: --gpu: GPUs found through AMD SMI\n/);
  assert.match(
    amdOnly.stderr,
    /debug: AMD SMI: reading 2 energy counter\(s\) at a boundary took mean [\d.]+ µs, max [\d.]+ µs \(4 boundaries\)/,
  );
  assert.match(amdOnly.stderr, /debug: AMD SMI: AMD GPU 0: 0 counter wrap\(s\) this run/);
  const names = (JSON.parse(amdOnly.stdoutText).phases as JsonPhase[])[0]!.metrics
    .filter((m) => m.details?.method !== "derived").map((m) => m.name);
  assert.deepEqual(names.filter((name) => name.includes("GPU")), ["AMD-GPU-0", "AMD-GPU-1"]);
});

Deno.test("--gpu with no GPU library at all: one line naming both, exit 125, nothing spawned", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(["--gpu", "profile", "--", "touch", "spawned"], {
    cwd,
    env: { JOULE_PROFILER_AMDSMI_PATH: NO_AMDSMI, JOULE_PROFILER_NVML_PATH: NO_NVML },
  });
  assert.equal(out.code, 125, out.stderr);
  assert.match(
    out.stderr,
    /^error: --gpu: no GPU found \(NVML: cannot load \/nonexistent\/libnvidia-ml\.so\.1: .*; AMD SMI: cannot load \/nonexistent\/libamd_smi\.so: .*comes with ROCm .*\)\n$/,
  );
  assert.deepEqual(await listDir(cwd), []);
});

Deno.test("--gpu: an AMD SMI that is present but refused is an error, not left out", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(["--gpu", "profile", "--", "touch", "spawned"], {
    cwd,
    env: {
      ...(await stubEnv({ AMDSMI_STUB_FAIL_INIT: "10" })),
      JOULE_PROFILER_NVML_PATH: await buildNvmlStub(),
    },
  });
  assert.equal(out.code, 125, out.stderr);
  assert.match(out.stderr, /^error: AMD SMI: amdsmi_init failed: AMDSMI_STATUS_NO_PERM/);
  assert.deepEqual(await listDir(cwd), []);
});

/** `--amd-gpus` asked for and AMD SMI unusable: one line with path, status and fix; nothing spawned. */
const FAILURES: { name: string; env: () => Promise<Record<string, string>>; message: RegExp }[] = [
  {
    name: "amdsmi_init is refused",
    env: () => stubEnv({ AMDSMI_STUB_FAIL_INIT: "10" }),
    message:
      /^error: AMD SMI: amdsmi_init failed: AMDSMI_STATUS_NO_PERM: permission denied \(library \/.*\/libamd_smi\.so\); check that the amdgpu driver is loaded and 'amd-smi list' works, and that this user is in the 'render' and 'video' groups \(sudo usermod -aG render,video \$USER, then log in again\)$/,
  },
  {
    name: "the driver is not loaded",
    env: () => stubEnv({ AMDSMI_STUB_FAIL_INIT: "34" }),
    message:
      /^error: AMD SMI: amdsmi_init failed: AMDSMI_STATUS_DRIVER_NOT_LOADED: driver not loaded \(library .*\); check that the amdgpu driver/,
  },
  {
    name: "the library is missing",
    env: () => Promise.resolve({ JOULE_PROFILER_AMDSMI_PATH: NO_AMDSMI }),
    message:
      /^error: AMD SMI: cannot load \/nonexistent\/libamd_smi\.so: cannot open shared object file: No such file or directory; libamd_smi\.so comes with ROCm \(the amd-smi-lib package, in \/opt\/rocm\/lib; set JOULE_PROFILER_AMDSMI_PATH to load it from elsewhere\)$/,
  },
  {
    name: "one GPU fails",
    env: () => stubEnv({ AMDSMI_STUB_FAIL_GPU: "1:7" }),
    message:
      /^error: AMD SMI: AMD GPU 1: amdsmi_get_energy_count failed: AMDSMI_STATUS_API_FAILED: API call failed \(library .*\); check that the amdgpu driver/,
  },
  {
    name: "there is no AMD GPU",
    env: () => stubEnv({ AMDSMI_STUB_GPUS: "0" }),
    message: /^error: AMD SMI: no AMD GPU found \(library .*\); check that/,
  },
];

for (const failure of FAILURES) {
  for (const command of ["profile", "list-sensors"]) {
    Deno.test(`--amd-gpus ${command} when ${failure.name}: one clear line, exit 125`, async () => {
      const cwd = await Deno.makeTempDir();
      const args = command === "profile"
        ? ["--amd-gpus", "0,1", "--json", "profile", "--", "touch", "spawned"]
        : ["--amd-gpus", "0,1", "list-sensors"];
      const out = await runCli(args, { cwd, env: await failure.env() });
      assert.equal(out.code, 125, out.stderr);
      const lines = out.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, out.stderr);
      assert.match(lines[0]!, failure.message);
      assert.equal(out.stdoutText, "");
      assert.deepEqual(await listDir(cwd), [], "nothing spawned, no results file");
    });
  }
}

Deno.test("--amd-gpus with an index that does not exist lists the valid ones, exit 2", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(["--amd-gpus", "0,5", "profile", "--", "touch", "spawned"], {
    cwd,
    env: await stubEnv(),
  });
  assert.equal(out.code, 2, out.stderr);
  assert.equal(
    out.stderr,
    "error: --amd-gpus 5: no such GPU; this machine has AMD GPU 0, AMD GPU 1\n",
  );
  const malformed = await runCli(["--amd-gpus", "0,x", "profile", "--", "touch", "spawned"], {
    cwd,
  });
  assert.equal(malformed.code, 2);
  assert.equal(
    malformed.stderr,
    "error: --amd-gpus must be comma-separated GPU indices such as 0,2, got '0,x'\n",
  );
  assert.deepEqual(await listDir(cwd), []);
});

Deno.test("AMD GPU without energy counter: integrated power, labelled in the terminal and JSON", async () => {
  const cwd = await Deno.makeTempDir();
  const env = await stubEnv({ AMDSMI_STUB_POWER_W: "200", AMDSMI_STUB_NO_ENERGY: "1" });
  const out = await runCli(["--amd-gpus", "0,1", "profile", "--", ...PHASED], { cwd, env });
  assert.equal(out.code, 0, out.stderr);
  assert.match(
    out.stdoutText,
    /AMD-GPU-1 +[\d.]+ (mJ|J) +[\d.]+ (mW|W) +\[measured\] \(integrated power\)/,
  );
  assert.doesNotMatch(out.stdoutText, /AMD-GPU-0 .*integrated power/);

  const json = await runCli(["--amd-gpus", "1", "--json", "-o", "-", "profile", "--", ...PHASED], {
    cwd,
    env,
  });
  assert.equal(json.code, 0, json.stderr);
  const phases = JSON.parse(json.stdoutText).phases as JsonPhase[];
  assertPhaseEnergy(phases, "AMD-GPU-1", 200);
  const details = phases[1]!.metrics.find((m) => m.name === "AMD-GPU-1")!.details!;
  assert.equal(details.method, "measured");
  assert.equal(details.via, "integrated_power");
  assert.equal(details.sample_period_ms, 20);
});

Deno.test("--amd-gpus with --sample-interval: power, activity, VRAM and temperature in the timeline", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(
    [
      "--amd-gpus",
      "0",
      "--json",
      "-o",
      "out.json",
      "profile",
      "--sample-interval",
      "10",
      "--",
      ...PHASED,
    ],
    { cwd, env: await stubEnv({ AMDSMI_STUB_POWER_W: "300" }) },
  );
  assert.equal(out.code, 0, out.stderr);
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/out.json`));
  const series = (document.samples as { name: string; unit: string; values: number[] }[])
    .filter((entry) => entry.name.startsWith("AMD-GPU-0"));
  assert.deepEqual(series.map((entry) => [entry.name, entry.unit]), [
    ["AMD-GPU-0", "W"],
    ["AMD-GPU-0-GFX", "%"],
    ["AMD-GPU-0-VRAM", "MiB"],
    ["AMD-GPU-0-TEMP", "°C"],
  ]);
  const power = [...series[0]!.values].sort((a, b) => a - b);
  assert.ok(power.length >= 4, `${power.length} points`);
  const median = power[power.length >> 1]!;
  assert.ok(Math.abs(median - 300) <= 3, `${median} W`);
  assert.equal(series[3]!.values[0], 50);
});

Deno.test("list-sensors --amd-gpus names each GPU in the terminal and JSON; AMD SMI is shut down", async () => {
  const log = `${await Deno.makeTempDir()}/amdsmi.log`;
  const env = await stubEnv({ AMDSMI_STUB_NO_ENERGY: "1", AMDSMI_STUB_LOG: log });
  const terminal = await runCli(["--amd-gpus", "0,1", "list-sensors"], { env });
  assert.equal(terminal.code, 0, terminal.stderr);
  assert.match(
    terminal.stdoutText,
    /AMD-GPU-0 +\| mJ +\| AMD Instinct MI300X \(stub 0\), 0000:c1:00\.0, energy counter \(15\.300 µJ per count\)/,
  );
  assert.match(
    terminal.stdoutText,
    /AMD-GPU-1 +\| mJ +\| AMD Instinct MI300X \(stub 1\), 0000:d1:00\.0, no energy counter: power integrated every 20 ms/,
  );
  assert.equal(await Deno.readTextFile(log), "init\nshutdown\n");

  const json = await runCli(["--gpu", "--json", "-o", "-", "list-sensors"], { env });
  assert.equal(json.code, 0, json.stderr);
  const sensors = JSON.parse(json.stdoutText) as Record<string, string>[];
  assert.deepEqual(
    sensors.filter((s) => s.source === "AMD SMI").map((s) => [s.name, s.unit]),
    [["AMD-GPU-0", "mJ"], ["AMD-GPU-1", "mJ"]],
  );
});

Deno.test("doctor covers AMD GPUs: what is there, what is partial, and the fixes", async () => {
  const env = await stubEnv({ AMDSMI_STUB_NO_ENERGY: "1" });
  const json = await runCli(["--json", "doctor"], { env });
  assert.equal(json.code, 0, json.stderr);
  const checks = JSON.parse(json.stdoutText).checks as {
    source: string;
    status: string;
    summary: string;
    why: string[];
  }[];
  const amd = checks.find((check) => check.source === "AMD SMI")!;
  assert.equal(amd.status, "partial");
  assert.equal(
    amd.summary,
    "AMD GPU 0: AMD Instinct MI300X (stub 0) (0000:c1:00.0); " +
      "AMD GPU 1: AMD Instinct MI300X (stub 1) (0000:d1:00.0)",
  );
  assert.match(amd.why[0]!, /AMD GPU 1 has no energy counter/);

  const missing = await runCli(["doctor"], { env: { JOULE_PROFILER_AMDSMI_PATH: NO_AMDSMI } });
  assert.equal(missing.code, 0, missing.stderr);
  assert.match(missing.stdoutText, /AMD SMI: ✗ not available — libamd_smi\.so not found/);
  assert.match(missing.stdoutText, /fix: export JOULE_PROFILER_AMDSMI_PATH=/);

  const refused = await runCli(["doctor"], { env: await stubEnv({ AMDSMI_STUB_FAIL_INIT: "10" }) });
  assert.match(refused.stdoutText, /AMD SMI: ✗ not available — AMD SMI cannot be used/);
  assert.match(refused.stdoutText, /why: AMD SMI: amdsmi_init failed: AMDSMI_STATUS_NO_PERM/);
  assert.match(refused.stdoutText, /fix: add the user to the render and video groups/);
});
