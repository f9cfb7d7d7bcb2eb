/**
 * Attributed energy and method labels: the formula on known numbers, and
 * end to end on a fake powercap tree whose counter the program itself
 * advances, through the CLI's JSON, CSV and terminal outputs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { attributeEnergy } from "../src/energy_attribution.ts";
import type { Metric } from "../src/source.ts";
import type { RunResult } from "../src/result.ts";
import { energyText, writeFakePowercap } from "./fixtures/fake_powercap.ts";
import { runCli } from "./helpers.ts";

function oneRun(metrics: Metric[], durationMs = 1000): RunResult {
  const endNs = BigInt(durationMs * 1e6);
  return {
    index: 0,
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
      metrics,
      failures: [],
    }],
  };
}

const RAPL = "RAPL (Powercap)";
const energy = (name: string, value: number): Metric => ({
  name,
  value,
  unit: "µJ",
  source: RAPL,
  details: { method: "measured" },
});
const cpu = (program: number, busy: number, capacity: number): Metric[] => [
  { name: "CPU_TIME", value: program, unit: "ns", source: "process" },
  { name: "SYSTEM_CPU_BUSY_TIME", value: busy, unit: "ns", source: "system" },
  { name: "SYSTEM_CPU_TIME", value: capacity, unit: "ns", source: "system" },
];

function attributed(run: RunResult, name: string): Metric {
  const metric = run.phases[0]!.metrics.find((m) => m.name === `${name}_ATTRIBUTED`);
  assert.ok(metric, `no ${name}_ATTRIBUTED`);
  return metric;
}

Deno.test("attributeEnergy(): raw × program CPU ÷ machine busy CPU, labelled attributed", () => {
  const run = oneRun([energy("PACKAGE-0", 10e6), energy("DRAM-0", 2e6), ...cpu(0.25e9, 1e9, 2e9)]);
  assert.equal(attributeEnergy(run), 2);
  const package0 = attributed(run, "PACKAGE-0");
  assert.equal(package0.value, 2.5e6);
  assert.equal(package0.source, RAPL);
  assert.equal(package0.unit, "µJ");
  assert.equal(package0.details?.method, "attributed");
  assert.equal(package0.details?.raw, 10e6);
  assert.equal(package0.details?.average_power_w, 2.5);
  assert.equal(attributed(run, "DRAM-0").value, 0.5e6);
  // Sorted next to the raw value.
  const names = run.phases[0]!.metrics.filter((m) => m.source === RAPL).map((m) => m.name);
  assert.deepEqual(names, ["DRAM-0", "DRAM-0_ATTRIBUTED", "PACKAGE-0", "PACKAGE-0_ATTRIBUTED"]);
});

Deno.test("attributeEnergy(): with an idle baseline, idle by capacity share, the rest by busy share", () => {
  // 1 s, 10 J raw, 4 W idle: 4 J idle × (0.5 s ÷ 2 s) + 6 J × (0.5 s ÷ 1 s) = 1 + 3 = 4 J.
  const run = oneRun([energy("PACKAGE-0", 10e6), ...cpu(0.5e9, 1e9, 2e9)]);
  attributeEnergy(run, {
    durationMs: 1000,
    windows: 5,
    power: [{ name: "PACKAGE-0", source: RAPL, meanW: 4, stddevW: 0.1, n: 5 }],
  });
  const metric = attributed(run, "PACKAGE-0");
  assert.equal(metric.value, 4e6);
  assert.equal(metric.details?.idle_energy, 4e6);
});

Deno.test("attributeEnergy(): never above raw, whatever the inputs", () => {
  const seeds = [[0, 0, 0], [1e9, 0, 0], [3e9, 1e9, 2e9], [1e9, 1e9, 1e9], [5e8, 2e9, 1e9]];
  for (const [program, busy, capacity] of seeds) {
    for (const idleW of [undefined, 0, 3, 1000]) {
      const run = oneRun([energy("PACKAGE-0", 7e6), ...cpu(program!, busy!, capacity!)]);
      const idle = idleW === undefined ? undefined : {
        durationMs: 1000,
        windows: 2,
        power: [{ name: "PACKAGE-0", source: RAPL, meanW: idleW, stddevW: 0, n: 2 }],
      };
      attributeEnergy(run, idle);
      const value = attributed(run, "PACKAGE-0").value;
      assert.ok(value >= 0 && value <= 7e6, `${value} for ${[program, busy, capacity, idleW]}`);
    }
  }
});

Deno.test("attributeEnergy(): nothing without both CPU figures, nor for estimated or GPU energy", () => {
  const noSystem = oneRun([energy("PACKAGE-0", 1e6), cpu(1, 1, 1)[0]!]);
  assert.equal(attributeEnergy(noSystem), 0);
  const estimated = oneRun([
    { ...energy("PACKAGE-0", 1e6), details: { method: "estimated" } },
    { name: "GPU-0", value: 1e3, unit: "mJ", source: "NVML", details: { method: "measured" } },
    ...cpu(1, 1, 1),
  ]);
  assert.equal(attributeEnergy(estimated), 0);
});

/** A fake powercap tree; the program moves the package counter by known amounts. */
async function fakeRapl(): Promise<{ env: Record<string, string>; file: string; root: string }> {
  const root = await Deno.makeTempDir({ prefix: "jp-attribution-" });
  const files = await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0" }]);
  return {
    root,
    file: files.get("intel-rapl:0")!,
    env: { JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`, JOULE_PROFILER_EVENT_SOURCE_PATH: root },
  };
}

/** Busy phase then idle phase; each adds 5 J to the counter. */
function script(file: string): string[] {
  const set = (uj: number) => `printf '${energyText(uj).trimEnd()}\\n' > '${file}'`;
  return [
    "sh",
    "-c",
    `${set(1_000_000)}; echo __BUSY__; awk 'BEGIN { for (i = 0; i < 8000000; i++); }'; ` +
    `${set(6_000_000)}; echo __IDLE__; sleep 0.1; ${set(11_000_000)}`,
  ];
}

Deno.test("CLI: measured and attributed energy carry their method in JSON, CSV and terminal", async () => {
  const { env, file, root } = await fakeRapl();
  try {
    const json = await runCli(["--json", "-o", "out.json", "profile", "--", ...script(file)], {
      env,
      cwd: root,
    });
    assert.equal(json.code, 0, json.stderr);
    const document = JSON.parse(await Deno.readTextFile(`${root}/out.json`));
    const phases = document.phases as { start_token: string; metrics: Metric[] }[];
    let attributedCount = 0;
    for (const phase of phases) {
      for (const metric of phase.metrics.filter((m) => m.unit === "µJ")) {
        if (metric.name.endsWith("_ATTRIBUTED")) {
          attributedCount++;
          assert.equal(metric.details?.method, "attributed");
          const raw = phase.metrics.find((m) =>
            m.name === metric.name.replace("_ATTRIBUTED", "") && m.source === metric.source
          )!;
          assert.equal(raw.details?.method, "measured");
          assert.ok(
            metric.value <= raw.value,
            `${phase.start_token}: ${metric.value} > ${raw.value}`,
          );
          assert.equal(metric.details?.raw, raw.value);
        }
      }
    }
    assert.ok(attributedCount >= 2, `attributed metrics: ${attributedCount}`);
    const busy = phases.find((phase) => phase.start_token === "__BUSY__")!;
    const value = (name: string) => busy.metrics.find((m) => m.name === name)!.value;
    assert.equal(value("PACKAGE-0"), 5_000_000);

    const csv = await runCli(["--csv", "-o", "out.csv", "profile", "--", ...script(file)], {
      env,
      cwd: root,
    });
    assert.equal(csv.code, 0, csv.stderr);
    const rows: string[][] = parse(await Deno.readTextFile(`${root}/out.csv`), { delimiter: ";" });
    const column = rows[0]!.indexOf("metric_method");
    assert.equal(column, rows[0]!.length - 1, "metric_method comes after the reference columns");
    const methodOf = (name: string) => rows.find((row) => row[3] === name)?.[column];
    assert.equal(methodOf("PACKAGE-0"), "measured");
    assert.equal(methodOf("PACKAGE-0_ATTRIBUTED"), "attributed");
    assert.equal(methodOf("CPU_TIME"), "");

    const terminal = await runCli(["profile", "--", ...script(file)], { env });
    assert.equal(terminal.code, 0, terminal.stderr);
    // The terminal scales figures (µJ → mJ, J…) and labels each energy's method.
    assert.match(terminal.stdoutText, /PACKAGE-0 +[\d.]+ [µm]?J .*\[measured\]/);
    assert.match(terminal.stdoutText, /PACKAGE-0_ATTRIBUTED +[\d.]+ [µm]?J .*\[attributed\]/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("CLI: with --idle, attributed energy stays at or below raw", async () => {
  const { env, file, root } = await fakeRapl();
  try {
    const out = await runCli(
      ["--json", "-o", "out.json", "profile", "--idle", "0.2", "--", ...script(file)],
      { env, cwd: root },
    );
    assert.equal(out.code, 0, out.stderr);
    const document = JSON.parse(await Deno.readTextFile(`${root}/out.json`));
    const phases = (document.phases ?? document.iterations?.[0]?.phases) as {
      metrics: Metric[];
    }[];
    let seen = 0;
    for (const phase of phases) {
      for (const metric of phase.metrics.filter((m) => m.name.endsWith("_ATTRIBUTED"))) {
        seen++;
        const raw = phase.metrics.find((m) => m.name === "PACKAGE-0")!;
        assert.ok(metric.value <= raw.value);
        assert.equal(typeof metric.details?.idle_energy, "number");
      }
    }
    assert.ok(seen >= 2);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
