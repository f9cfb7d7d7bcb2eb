import assert from "node:assert/strict";
import {
  addDerivedMetrics,
  derivedMetricsOf,
  missingDerivedMetrics,
} from "../src/derived_metrics.ts";
import { phaseStatistics } from "../src/stats/phase_statistics.ts";
import { compareResults } from "../src/stats/comparison.ts";
import { formatJson } from "../src/output/json.ts";
import { parseResultFile } from "../src/output/json_reader.ts";
import { mergeTaskResults } from "../src/cluster/merge.ts";
import type { ProfileResult, RunResult } from "../src/result.ts";
import type { Metric } from "../src/source.ts";
import { energyText, writeFakePowercap } from "./fixtures/fake_powercap.ts";
import { runCli } from "./helpers.ts";

/** A run with one 2 s phase holding these metrics. */
function oneRun(metrics: Metric[], index = 0, durationMs = 2000): RunResult {
  const endNs = BigInt(durationMs * 1e6);
  return {
    index,
    exitCode: 0,
    signal: null,
    interrupted: false,
    startNs: 0n,
    endNs,
    timestamp: 0,
    durationMs,
    phases: [{
      index: 0,
      name: "START -> END",
      startToken: "START",
      endToken: "END",
      startNs: 0n,
      endNs,
      timestamp: 0,
      durationMs,
      metrics: metrics.map((metric) => ({ ...metric })),
      failures: [],
    }],
  };
}

function counters(instructions: number, cycles: number): Metric[] {
  return [
    { name: "CPU_CYCLES", value: cycles, unit: "count", source: "perf_event" },
    { name: "INSTRUCTIONS", value: instructions, unit: "count", source: "perf_event" },
  ];
}

const PACKAGE: Metric = {
  name: "PACKAGE-0",
  value: 30_000_000,
  unit: "µJ",
  source: "RAPL (Powercap)",
  details: { method: "measured", total: "cpu" },
};

function find(metrics: readonly Metric[], name: string): Metric {
  const metric = metrics.find((m) => m.name === name);
  assert.ok(metric, `${name} in ${metrics.map((m) => m.name).join(", ")}`);
  return metric;
}

Deno.test("IPC is instructions / cycles, labelled derived, from the perf_event counters", () => {
  const run = oneRun(counters(7_500_000, 2_500_000));
  addDerivedMetrics(run);
  const ipc = find(run.phases[0]!.metrics, "IPC");
  assert.equal(ipc.value, 7_500_000 / 2_500_000);
  assert.equal(ipc.source, "derived");
  assert.equal(ipc.details?.method, "derived");
  assert.equal(ipc.details?.of, "INSTRUCTIONS/CPU_CYCLES");
});

Deno.test("no IPC without cycles, or with zero cycles; counters of another source are not used", () => {
  assert.equal(
    derivedMetricsOf({ durationMs: 1, metrics: counters(10, 0) }).some((m) => m.name === "IPC"),
    false,
  );
  const elsewhere = counters(10, 5).map((metric) => ({ ...metric, source: "other" }));
  assert.deepEqual(derivedMetricsOf({ durationMs: 1, metrics: elsewhere }), []);
  const onlyInstructions = counters(10, 5).filter((m) => m.name === "INSTRUCTIONS");
  assert.equal(
    derivedMetricsOf({ durationMs: 1, metrics: onlyInstructions }).some((m) => m.name === "IPC"),
    false,
  );
});

Deno.test("energy per instruction, average power per domain and EDP say which energy they come from", () => {
  const run = oneRun([
    ...counters(3_000_000_000, 1_000_000_000),
    PACKAGE,
    { name: "CORE-0", value: 20_000_000, unit: "µJ", source: "RAPL (Powercap)" },
    {
      name: "PACKAGE-0_ATTRIBUTED",
      value: 6_000_000,
      unit: "µJ",
      source: "RAPL (Powercap)",
      details: { method: "attributed" },
    },
  ]);
  addDerivedMetrics(run);
  const metrics = run.phases[0]!.metrics;
  // 30 J over 3e9 instructions: 10 nJ each, from the package (cores lie inside it).
  const epi = find(metrics, "ENERGY_PER_INSTRUCTION");
  assert.equal(epi.value, 10);
  assert.equal(epi.unit, "nJ/instruction");
  assert.equal(epi.details?.energy_method, "measured");
  assert.equal(epi.details?.of, "(PACKAGE-0)/INSTRUCTIONS");
  assert.equal(find(metrics, "ATTRIBUTED_ENERGY_PER_INSTRUCTION").value, 2);
  // 30 J over 2 s: 15 W; the core's 20 J: 10 W; each beside its energy, same source.
  const power = find(metrics, "PACKAGE-0_AVERAGE_POWER");
  assert.deepEqual([power.value, power.unit, power.source], [15, "W", "RAPL (Powercap)"]);
  assert.deepEqual(power.details, {
    method: "derived",
    of: "PACKAGE-0",
    energy_method: "measured",
  });
  assert.equal(find(metrics, "CORE-0_AVERAGE_POWER").value, 10);
  assert.equal(
    find(metrics, "PACKAGE-0_ATTRIBUTED_AVERAGE_POWER").details?.energy_method,
    "attributed",
  );
  // 30 J × 2 s.
  const edp = find(metrics, "ENERGY_DELAY_PRODUCT");
  assert.deepEqual([edp.value, edp.unit, edp.details?.method], [60, "J·s", "derived"]);
  assert.equal(find(metrics, "ATTRIBUTED_ENERGY_DELAY_PRODUCT").value, 12);
  // The energies themselves keep their own labels.
  assert.equal(find(metrics, "PACKAGE-0").details?.method, "measured");
  // Running again (after a merge, say) replaces rather than duplicates.
  const count = metrics.length;
  addDerivedMetrics(run);
  assert.equal(run.phases[0]!.metrics.length, count);
});

function resultOf(name: string, ipcs: number[]): ProfileResult {
  const runs = ipcs.map((ipc, index) => {
    const run = oneRun([...counters(ipc * 1_000_000, 1_000_000), PACKAGE], index);
    addDerivedMetrics(run);
    return run;
  });
  return {
    name,
    command: [name],
    tokenPattern: "__X__",
    exitCode: 0,
    durationMs: 2000 * runs.length,
    interrupted: false,
    runs,
  };
}

Deno.test("statistics and compare treat derived metrics like any metric, also through JSON", () => {
  const a = resultOf("A", [1.0, 1.1, 0.9, 1.0, 1.05]);
  const b = resultOf("B", [2.0, 2.1, 1.9, 2.0, 2.05]);
  const statistics = phaseStatistics(a);
  const ipc = statistics[0]!.metrics.find((metric) => metric.name === "IPC")!;
  assert.ok(Math.abs(ipc.value.mean - 1.01) < 1e-9, `mean IPC ${ipc.value.mean}`);
  assert.equal(ipc.value.n, 5);
  const [readA] = parseResultFile(formatJson(a, true), "a.json");
  const [readB] = parseResultFile(formatJson(b, true), "b.json");
  const compared = compareResults(readA!, readB!).phases[0]!.metrics.find((m) => m.name === "IPC")!;
  assert.ok(Math.abs(compared.ratio - 2.01 / 1.01) < 1e-6, `ratio ${compared.ratio}`);
  assert.equal(compared.significant, true);
});

Deno.test("merge derives again from the summed inputs instead of summing ratios", () => {
  const task = (rank: number, instructions: number, cycles: number) => {
    const run = oneRun(counters(instructions, cycles));
    addDerivedMetrics(run);
    const result: ProfileResult = {
      command: ["x"],
      tokenPattern: "__X__",
      exitCode: 0,
      durationMs: 2000,
      interrupted: false,
      runs: [run],
      placement: {
        launcher: "slurm",
        jobId: "7",
        node: "n1",
        hostname: "n1",
        rank,
        localRank: rank,
        tasks: 2,
        nodeId: 0,
        localTasks: 2,
        pid: 1000 + rank,
        nodeLeader: rank === 0,
        leaderLocalRank: 0,
        leftToLeader: [],
        clockAnchor: { monotonicNs: 0n, realtimeNs: 1_800_000_000_000_000_000n },
      },
    };
    return { file: `t${rank}.json`, result: parseResultFile(formatJson(result), `t${rank}`)[0]! };
  };
  const merged = mergeTaskResults([task(0, 4_000, 1_000), task(1, 2_000, 1_000)]);
  const ipc = find(merged.runs[0]!.phases[0]!.metrics, "IPC");
  assert.equal(ipc.value, 3, "6000 instructions over 2000 cycles, not 4 + 2");
});

Deno.test("missingDerivedMetrics says why IPC is absent when perf_event counted no cycles", () => {
  const result = resultOf("A", []);
  result.runs = [oneRun([{ name: "TASK_CLOCK", value: 5, unit: "ns", source: "perf_event" }])];
  const missing = missingDerivedMetrics([result]);
  assert.deepEqual(missing.map((m) => m.name), ["IPC", "ENERGY_PER_INSTRUCTION"]);
  assert.match(missing[0]!.reason, /no INSTRUCTIONS and no CPU_CYCLES/);
  // Without perf_event counters at all, nothing is claimed missing.
  result.runs = [oneRun([PACKAGE])];
  assert.deepEqual(missingDerivedMetrics([result]), []);
});

Deno.test("CLI: without a hardware PMU, IPC is absent and the reason is printed", async () => {
  const out = await runCli([
    "--json",
    "-o",
    "-",
    "profile",
    "--perf-events",
    "cycles,instructions,task-clock",
    "--",
    "sh",
    "-c",
    "echo __WORK__ >&2; true",
  ]);
  assert.equal(out.code, 0, out.stderr);
  const document = JSON.parse(out.stdoutText);
  const names = document.phases.flatMap((phase: { metrics: Metric[] }) =>
    phase.metrics.map((metric) => metric.name)
  );
  assert.ok(names.includes("TASK_CLOCK"), names.join(","));
  if (names.includes("CPU_CYCLES") && names.includes("INSTRUCTIONS")) {
    // A machine with a PMU: IPC is there and equals the ratio of the counters.
    const metrics: Metric[] = document.phases[0].metrics;
    const ipc = find(metrics, "IPC");
    const ratio = find(metrics, "INSTRUCTIONS").value / find(metrics, "CPU_CYCLES").value;
    assert.ok(Math.abs(ipc.value - ratio) < 1e-6);
  } else {
    assert.equal(names.includes("IPC"), false);
    assert.match(out.stderr, /IPC not derived: perf_event counted no .*CPU_CYCLES/);
  }
});

Deno.test("CLI: measured energy gets its average power and EDP as derived metrics in JSON and CSV", async () => {
  const root = await Deno.makeTempDir();
  const files = await writeFakePowercap(root, [{
    id: "intel-rapl:0",
    name: "package-0",
    energyUj: 1_000_000,
  }]);
  const file = files.get("intel-rapl:0")!;
  const env = {
    JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
    JOULE_PROFILER_EVENT_SOURCE_PATH: root,
  };
  const bump = `printf '${energyText(5_000_000).trimEnd()}\\n' > '${file}'`;
  const json = await runCli(
    ["--json", "-o", "-", "profile", "--", "sh", "-c", `sleep 0.2; ${bump}`],
    { env },
  );
  assert.equal(json.code, 0, json.stderr);
  const metrics: Metric[] = JSON.parse(json.stdoutText).phases[0].metrics;
  const energy = find(metrics, "PACKAGE-0");
  const power = find(metrics, "PACKAGE-0_AVERAGE_POWER");
  assert.equal(power.details?.method, "derived");
  assert.equal(power.details?.energy_method, "measured");
  assert.ok(Math.abs(power.value - (energy.details!.average_power_w as number)) < 1e-3);
  assert.equal(find(metrics, "ENERGY_DELAY_PRODUCT").details?.of, "(PACKAGE-0)×duration");
  // The counter must move again: a frozen one is flagged not_updating and derives nothing.
  const bumpAgain = `printf '${energyText(9_000_000).trimEnd()}\\n' > '${file}'`;
  const csv = await runCli(
    ["--csv", "-o", "-", "profile", "--", "sh", "-c", `sleep 0.2; ${bumpAgain}`],
    { env },
  );
  assert.equal(csv.code, 0, csv.stderr);
  assert.match(csv.stdoutText, /;PACKAGE-0_AVERAGE_POWER;[0-9.]+;W;RAPL \(Powercap\);.*;derived\n/);
  assert.match(csv.stdoutText, /;ENERGY_DELAY_PRODUCT;[0-9.e-]+;J·s;derived;.*;derived\n/);
});

Deno.test("a counter marked not_updating (a VM's frozen RAPL) gets no attributed, derived or carbon figure", async () => {
  const { attributeEnergy } = await import("../src/energy_attribution.ts");
  const { addCarbon } = await import("../src/energy/carbon.ts");
  const { derivedMetricsOf } = await import("../src/derived_metrics.ts");
  const frozen = {
    name: "PSYS",
    value: 0,
    unit: "µJ",
    source: "RAPL (perf_event)",
    details: { total: "platform", not_updating: true, method: "measured" },
  };
  const metrics: Metric[] = [
    frozen,
    { name: "GPU-0", value: 2000, unit: "mJ", source: "NVML", details: { method: "measured" } },
    { name: "CPU_TIME", value: 5e8, unit: "ns", source: "process" },
    { name: "SYSTEM_CPU_BUSY_TIME", value: 1e9, unit: "ns", source: "system" },
    { name: "SYSTEM_CPU_TIME", value: 2e9, unit: "ns", source: "system" },
  ];
  const derived = derivedMetricsOf({ metrics, durationMs: 1000 });
  assert.ok(!derived.some((m) => m.name.startsWith("PSYS")), JSON.stringify(derived));
  const edp = derived.find((m) => m.name === "ENERGY_DELAY_PRODUCT")!;
  assert.equal(edp.details?.of, "(GPU-0)×duration");
  const phase = {
    index: 0,
    name: "START -> END",
    startToken: "START",
    endToken: "END",
    startNs: 0n,
    endNs: 1_000_000_000n,
    timestamp: 0,
    durationMs: 1000,
    metrics: [...metrics],
    failures: [],
  };
  const result = {
    command: ["x"],
    tokenPattern: "",
    exitCode: 0,
    durationMs: 1000,
    interrupted: false,
    runs: [{
      index: 0,
      exitCode: 0,
      signal: null,
      interrupted: false,
      startNs: 0n,
      endNs: 1_000_000_000n,
      timestamp: 0,
      durationMs: 1000,
      phases: [phase],
    }],
  };
  assert.equal(attributeEnergy(result.runs[0]!), 0);
  assert.ok(!phase.metrics.some((m) => m.name === "PSYS_ATTRIBUTED"));
  addCarbon(result, { intensityGPerKwh: 100 });
  const names = phase.metrics.map((m) => m.name);
  assert.ok(!names.includes("PSYS_CO2E"), names.join(","));
  assert.equal(phase.metrics.find((m) => m.name === "TOTAL_CO2E")!.details?.of, "GPU-0");
});
