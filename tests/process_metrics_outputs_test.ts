/**
 * The process and system metrics go through the timeline, the statistics
 * of repeated runs and `compare` like any other metric (through the CLI).
 *
 * @module
 */

import assert from "node:assert/strict";
import { runCli } from "./helpers.ts";

interface JsonStatistic {
  name: string;
  source: string;
  value: { n: number; mean: number };
}

interface JsonComparisonMetric {
  name: string;
  source: string;
  ratio: number;
}

const work = (iterations: number) => ["awk", `BEGIN { for (i = 0; i < ${iterations}; i++); }`];

Deno.test("process and system metrics: timeline series, per-phase statistics and compare", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "jp-process-outputs-" });
  try {
    const light = await runCli([
      "--json",
      "-o",
      "light.json",
      "profile",
      "-n",
      "3",
      "--sample-interval",
      "10",
      "--timeline",
      "light.svg",
      "--",
      ...work(2_000_000),
    ], { cwd });
    assert.equal(light.code, 0, light.stderr);
    const heavy = await runCli(
      ["--json", "-o", "heavy.json", "profile", "-n", "3", "--", ...work(8_000_000)],
      { cwd },
    );
    assert.equal(heavy.code, 0, heavy.stderr);

    const svg = await Deno.readTextFile(`${cwd}/light.svg`);
    for (const series of ["process/CPU", "process/RSS", "system/SYSTEM_CPU_UTILIZATION"]) {
      assert.ok(svg.includes(`data-series="${series}"`), `${series} in the timeline`);
    }

    const document = JSON.parse(await Deno.readTextFile(`${cwd}/light.json`));
    const statistics = document.statistics[0].metrics as JsonStatistic[];
    const statistic = (source: string, name: string) =>
      statistics.find((entry) => entry.source === source && entry.name === name);
    assert.equal(statistic("process", "CPU_TIME")?.value.n, 3);
    assert.ok(statistic("process", "CPU_TIME")!.value.mean > 0);
    assert.equal(statistic("system", "SYSTEM_CPU_BUSY_TIME")?.value.n, 3);
    assert.equal(statistic("process", "RSS_PEAK")?.value.n, 3);

    const compared = await runCli(
      ["--json", "-o", "compare.json", "compare", "light.json", "heavy.json"],
      { cwd },
    );
    assert.equal(compared.code, 0, compared.stderr);
    const comparison = JSON.parse(await Deno.readTextFile(`${cwd}/compare.json`));
    const metrics = comparison.phases[0].metrics as JsonComparisonMetric[];
    const cpu = metrics.find((m) => m.source === "process" && m.name === "CPU_TIME")!;
    // Four times the loop: well above 2× the CPU time, however loaded the machine.
    assert.ok(cpu.ratio > 2, `CPU_TIME ratio ${cpu.ratio}`);
    assert.ok(metrics.some((m) => m.source === "system" && m.name === "SYSTEM_CPU_BUSY_TIME"));
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
