import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { UsageError } from "../src/errors.ts";
import { Logger } from "../src/logger.ts";
import { DiscardSink } from "../src/process/byte_sink.ts";
import { JouleProfiler } from "../src/profiler.ts";
import { formatCsv } from "../src/output/csv.ts";
import { formatJson } from "../src/output/json.ts";
import { formatTerminal } from "../src/output/terminal.ts";
import type { Metric } from "../src/source.ts";
import type { EnergyModel } from "../src/energy/energy_model.ts";
import { MODEL_ESTIMATE_SOURCE, ModelEstimator } from "../src/energy/model_estimator.ts";
import {
  parseTdp,
  TDP_ESTIMATE_SOURCE,
  TdpEstimator,
  tdpFraction,
} from "../src/energy/tdp_estimator.ts";
import { ProcessSource } from "../sources/process/mod.ts";

const MODEL: EnergyModel = {
  created: "2026-12-04T12:00:00.000Z",
  machine: { cpuModel: "Test CPU", logicalCpus: 2, kernel: "6.1" },
  features: [
    { name: "DURATION", source: "phase", unit: "s" },
    { name: "CPU_TIME", source: "process", unit: "ns" },
  ],
  domains: [{
    name: "PACKAGE-0",
    source: "RAPL (Powercap)",
    weights: [3, 2e-8],
    r2: 0.99,
    cvMape: 0.04,
    cvRmseJ: 0.2,
    phases: 30,
    meanJ: 12,
  }],
  training: { inputs: ["calibration"], phases: 30, folds: 5 },
};

/**
 * A program with a busy phase and an idle one (and a first phase long enough, 10 ms, to draw
 * no warning about phases shorter than an estimator's ~1 ms update interval).
 */
const PROGRAM = [
  "sh",
  "-c",
  "sleep 0.01; echo __BUSY__; i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; " +
  "echo __IDLE__; sleep 0.2",
];

async function profileWithEstimates() {
  const warnings: string[] = [];
  const profiler = new JouleProfiler().addSource(new ProcessSource());
  const result = await profiler.profile({
    command: PROGRAM,
    stdout: new DiscardSink(),
    logger: new Logger(0, (line) => warnings.push(line)),
    estimators: [
      new TdpEstimator({ tdpWatts: 65, logicalCpus: 2 }),
      new ModelEstimator(MODEL, "m.json"),
    ],
  });
  return { result, warnings };
}

function find(metrics: readonly Metric[], source: string, name: string): Metric {
  const metric = metrics.find((m) => m.source === source && m.name === name);
  assert.ok(
    metric,
    `${source} ${name} in ${metrics.map((m) => `${m.source}/${m.name}`).join(", ")}`,
  );
  return metric;
}

Deno.test("estimated energy is labelled 'estimated' in JSON, CSV and the terminal", async () => {
  const { result, warnings } = await profileWithEstimates();
  assert.deepEqual(warnings, []);
  const phases = result.runs[0]!.phases;
  const busy = phases.find((phase) => phase.startToken === "__BUSY__")!;
  const idle = phases.find((phase) => phase.startToken === "__IDLE__")!;

  // Values follow the formulas from the measured CPU time and duration.
  for (const phase of [busy, idle]) {
    const cpuNs = find(phase.metrics, "process", "CPU_TIME").value;
    const seconds = phase.durationMs / 1e3;
    const tdp = find(phase.metrics, TDP_ESTIMATE_SOURCE, "CPU");
    const utilisation = Math.min(1, cpuNs / 1e9 / (seconds * 2));
    assert.ok(Math.abs(tdp.value - 65 * tdpFraction(utilisation) * seconds * 1e6) <= 1);
    const model = find(phase.metrics, MODEL_ESTIMATE_SOURCE, "PACKAGE-0");
    const joules = 3 * seconds + 2e-8 * cpuNs;
    assert.ok(Math.abs(model.value - joules * 1e6) <= 1);
    assert.ok(Math.abs((model.details!.uncertainty as number) - joules * 0.04 * 1e6) <= 1);
  }
  assert.ok(
    find(busy.metrics, TDP_ESTIMATE_SOURCE, "CPU").details!.cpu_utilisation! >
      find(idle.metrics, TDP_ESTIMATE_SOURCE, "CPU").details!.cpu_utilisation!,
  );

  // JSON: details.method.
  const json = JSON.parse(formatJson(result));
  const estimates = json.phases.flatMap((phase: { metrics: Metric[] }) =>
    phase.metrics.filter((m) => m.source.endsWith("(estimated)") && m.details?.method !== "derived")
  );
  assert.equal(estimates.length, 2 * phases.length);
  for (const metric of estimates) assert.equal(metric.details.method, "estimated");

  // CSV: the metric_method column.
  const rows: Record<string, string>[] = parse(formatCsv(result), {
    delimiter: ";",
    columns: true,
  });
  const estimatedRows = rows.filter((row) =>
    row.metric_source!.endsWith("(estimated)") && row.metric_method !== "derived"
  );
  assert.equal(estimatedRows.length, 2 * phases.length);
  for (const row of estimatedRows) assert.equal(row.metric_method, "estimated");

  // Terminal: the source box says "(estimated)", every line "[estimated]", the model's ± too.
  const text = formatTerminal(result, { color: false });
  assert.match(text, /TDP curve \(estimated\)/);
  assert.match(text, /energy model \(estimated\)/);
  // Phase tables only (the Command block's whole-run table lists the same sensors once more);
  // figures are scaled (µJ → mJ, J), an estimate's ± in its value's unit.
  const phaseText = text.slice(text.indexOf("║ Phase:"));
  const lines = phaseText.split("\n").filter((line) => /^\s+(CPU|PACKAGE-0)\s+[\d.]/.test(line));
  assert.equal(lines.length, 2 * phases.length);
  for (const line of lines) assert.match(line, /\[estimated\]/);
  assert.ok(lines.filter((line) => / ± [\d.]+ [µm]?J/.test(line)).length === phases.length);
  assert.doesNotMatch(text, /\[measured\]/);
});

Deno.test("estimators are checked before the program runs: nothing runs when they cannot work", async () => {
  const dir = await Deno.makeTempDir();
  const marker = `${dir}/ran`;
  const profile = (estimators: (TdpEstimator | ModelEstimator)[]) =>
    new JouleProfiler().profile({
      command: ["sh", "-c", `touch ${marker}`],
      estimators,
      logger: new Logger(0, () => {}),
    });
  await assert.rejects(
    profile([new TdpEstimator({ tdpWatts: 65 })]),
    /--tdp needs the program's CPU time: the process source/,
  );
  await assert.rejects(
    profile([new ModelEstimator(MODEL, "m.json")]),
    /energy model m\.json was fitted on features this profile does not measure: process\/CPU_TIME/,
  );
  await assert.rejects(Deno.stat(marker), Deno.errors.NotFound);
});

Deno.test("--tdp must be a positive number of watts; the curve is the published one", () => {
  for (const bad of ["0", "-5", "abc", "", " ", "NaN", "Infinity", "1e999", "-0"]) {
    assert.throws(() => parseTdp(bad), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.exitCode, 2);
      assert.match(error.message, /^--tdp must be a positive number of watts, got '.*'$/);
      return true;
    }, bad);
  }
  assert.throws(() => new TdpEstimator({ tdpWatts: 0 }), UsageError);
  assert.equal(parseTdp("65"), 65);
  assert.equal(parseTdp(" 12.5 "), 12.5);
  // Teads (Davy, 2021): 0 % → 0.12, 10 % → 0.32, 50 % → 0.75, 100 % → 1.02 × TDP.
  assert.equal(tdpFraction(0), 0.12);
  assert.equal(tdpFraction(0.1), 0.32);
  assert.equal(tdpFraction(0.5), 0.75);
  assert.equal(tdpFraction(1), 1.02);
  assert.equal(tdpFraction(3), 1.02);
  assert.ok(Math.abs(tdpFraction(0.05) - 0.22) < 1e-12);
  assert.ok(Math.abs(tdpFraction(0.75) - 0.885) < 1e-12);
});
