import assert from "node:assert/strict";
import { addCarbon, additiveEnergies, carbonGrams } from "../src/energy/carbon.ts";
import { openMetricsText } from "../src/output/openmetrics.ts";
import { pushMetrics, pushUrl } from "../src/output/pushgateway.ts";
import { parsePushgatewayUrl } from "../src/cli/export_option_values.ts";
import { evaluateGate, gateLines } from "../src/stats/energy_gate.ts";
import { compareResults, totalMetricKeys } from "../src/stats/comparison.ts";
import type { ProfileResult } from "../src/result.ts";
import type { Metric } from "../src/source.ts";
import { phase, result, run } from "./fixtures.ts";
import { normals } from "./random_samples.ts";
import { parseOpenMetrics, startPushgateway } from "./prometheus_tools.ts";

/** `n` runs whose one phase used `joules` ± 2 % (noise) of PACKAGE-0 energy. */
function energyResult(name: string, n: number, joules: number, noise: () => number) {
  return {
    name,
    command: [name],
    tokenPattern: "__[A-Z]+__",
    exitCode: 0,
    durationMs: 0,
    interrupted: false,
    runs: Array.from({ length: n }, (_, index) => ({
      ...run(index),
      phases: [phase(0, "START", "END", {
        durationMs: 100,
        metrics: [{
          name: "PACKAGE-0",
          value: joules * 1e6 * (1 + 0.02 * noise()),
          unit: "µJ",
          source: "RAPL (Powercap)",
          details: { total: "cpu" },
        }],
      })],
    })),
  } satisfies ProfileResult;
}

Deno.test("carbon equals energy × intensity × PUE, per metric and for the non-overlapping total", () => {
  const subject = result(1);
  const metrics: Metric[] = [
    {
      name: "PSYS",
      value: 9e6,
      unit: "µJ",
      source: "RAPL (Powercap)",
      details: { total: "platform" },
    },
    {
      name: "PACKAGE-0",
      value: 5e6,
      unit: "µJ",
      source: "RAPL (Powercap)",
      details: { total: "cpu" },
    },
    { name: "CORE-0", value: 3e6, unit: "µJ", source: "RAPL (Powercap)" },
    { name: "GPU-0", value: 7000, unit: "mJ", source: "NVML" },
    {
      name: "PACKAGE-0",
      value: 1.5,
      unit: "J",
      source: "attributed",
      details: { method: "attributed" },
    },
    { name: "instructions", value: 1e9, unit: "count", source: "perf_event" },
  ];
  subject.runs[0]!.phases[0]!.metrics = metrics;
  subject.runs[0]!.phases[1]!.metrics = [];
  addCarbon(subject, { intensityGPerKwh: 400, pue: 1.5 });
  const added = subject.runs[0]!.phases[0]!.metrics;
  const byName = new Map(added.map((m) => [`${m.source}:${m.name}`, m]));
  const grams = (joules: number) => joules / 3.6e6 * 400 * 1.5;
  for (const [key, joules] of [["RAPL (Powercap):PSYS_CO2E", 9], ["NVML:GPU-0_CO2E", 7]] as const) {
    const metric = byName.get(key)!;
    assert.ok(Math.abs(metric.value - grams(joules)) < 1e-12, key);
    assert.equal(metric.unit, "gCO2e");
    assert.equal(metric.details?.method, "measured");
  }
  // PSYS already holds the packages and cores: the total is PSYS + GPU, not their sum.
  const total = byName.get("carbon:TOTAL_CO2E")!;
  assert.ok(Math.abs(total.value - grams(9 + 7)) < 1e-12, `${total.value}`);
  assert.equal(total.details?.of, "PSYS+GPU-0");
  // An attributed energy keeps its label through the conversion, in a total of its own.
  assert.equal(byName.get("attributed:PACKAGE-0_CO2E")!.details?.method, "attributed");
  assert.ok(Math.abs(byName.get("carbon:TOTAL_CO2E_ATTRIBUTED")!.value - grams(1.5)) < 1e-12);
  assert.equal(byName.has("perf_event:instructions_CO2E"), false);
  // A phase without energy gets nothing (and keeps its shared empty list).
  assert.equal(subject.runs[0]!.phases[1]!.metrics.length, 0);
  assert.equal(carbonGrams(3.6e6, { intensityGPerKwh: 100 }), 100);
});

Deno.test("the carbon total never sums nested RAPL domains", () => {
  const unmarked = additiveEnergies([
    { name: "PACKAGE-0", value: 1, unit: "J", source: "RAPL" },
    { name: "PACKAGE-1", value: 1, unit: "J", source: "RAPL" },
    { name: "CORE-0", value: 1, unit: "J", source: "RAPL" },
    { name: "UNCORE-0", value: 1, unit: "J", source: "RAPL" },
    { name: "DRAM-0", value: 1, unit: "J", source: "RAPL" },
  ]);
  assert.deepEqual(unmarked.get("measured")!.map((m) => m.name), [
    "PACKAGE-0",
    "PACKAGE-1",
    "DRAM-0",
  ]);
});

Deno.test("OpenMetrics: a counter that never moved (not_updating) exports no energy", async () => {
  const subject: ProfileResult = energyResult("bench", 2, 2, normals(5));
  for (const r of subject.runs) {
    r.phases[0]!.metrics.push({
      name: "PSYS",
      value: 0,
      unit: "µJ",
      source: "RAPL (perf_event)",
      details: { method: "measured", total: "platform", not_updating: true },
    });
  }
  const samples = await parseOpenMetrics(openMetricsText(subject));
  const domains = samples.filter((s) => s.name === "joule_profiler_energy_joules")
    .map((s) => s.labels.domain);
  assert.deepEqual(domains, ["PACKAGE-0"], "the frozen PSYS's 0 J is not exported as measured");
});

Deno.test("OpenMetrics text parses with prometheus_client's strict parser, labels escaped", async () => {
  const subject: ProfileResult = energyResult("bench", 3, 2, normals(5));
  // A hostile phase name: quotes, a backslash and a newline must come back intact.
  for (const r of subject.runs) {
    r.phases[0]!.name = 'START -> "x"\\y\nz';
    r.phases[0]!.metrics.push(
      { name: "CPU_TIME", value: 2.5e8, unit: "ns", source: "process" },
      { name: "RSS_PEAK", value: 1 << 20, unit: "bytes", source: "process" },
      { name: "instructions", value: 1e6, unit: "count", source: "perf_event" },
      {
        name: "PACKAGE-0",
        value: 1e6,
        unit: "µJ",
        source: "estimated",
        details: { method: "estimated" },
      },
    );
  }
  addCarbon(subject, { intensityGPerKwh: 300 });
  const text = openMetricsText(subject);
  assert.ok(text.endsWith("# EOF\n"));
  const samples = await parseOpenMetrics(text);
  const energy = samples.filter((s) => s.name === "joule_profiler_energy_joules");
  assert.equal(energy.length, 2);
  const measured = energy.find((s) => s.labels.method === "measured")!;
  assert.equal(measured.labels.phase, 'START -> "x"\\y\nz');
  assert.equal(measured.labels.domain, "PACKAGE-0");
  const mean = subject.runs.reduce((sum, r) => sum + r.phases[0]!.metrics[0]!.value, 0) / 3 / 1e6;
  assert.ok(Math.abs(measured.value - mean) < 1e-9);
  assert.equal(energy.find((s) => s.labels.method === "estimated")!.value, 1);
  const cpu = samples.find((s) => s.name === "joule_profiler_process_cpu_time_seconds")!;
  assert.ok(Math.abs(cpu.value - 0.25) < 1e-12);
  assert.ok(samples.some((s) => s.name === "joule_profiler_process_rss_peak_bytes"));
  assert.ok(samples.some((s) => s.name === "joule_profiler_perf_event_instructions"));
  const carbon = samples.find((s) =>
    s.name === "joule_profiler_carbon_grams" && s.labels.domain === "TOTAL" &&
    s.labels.method === "measured"
  )!;
  assert.ok(Math.abs(carbon.value - mean / 3.6e6 * 300) < 1e-12);
  assert.equal(samples.find((s) => s.name === "joule_profiler_runs")!.value, 3);
  assert.ok(
    samples.some((s) => s.name === "joule_profiler_phase_duration_seconds" && s.value === 0.1),
  );
  // The Prometheus 0.0.4 variant (for the Pushgateway) has no EOF or UNIT lines.
  const plain = openMetricsText(subject, { openMetrics: false });
  assert.doesNotMatch(plain, /^# (EOF|UNIT)/m);
});

Deno.test("the Pushgateway keeps what was pushed (real prometheus-pushgateway on 127.0.0.1)", async () => {
  const gateway = await startPushgateway();
  try {
    const subject = energyResult("bench", 2, 3, normals(7));
    await pushMetrics(
      { url: gateway.url, job: "joule profiler/test", grouping: { instance: "node-1" } },
      openMetricsText(subject, { openMetrics: false }),
    );
    const response = await fetch(`${gateway.url}/metrics`);
    const exposition = await response.text();
    const line = exposition.split("\n").find((l) =>
      l.startsWith("joule_profiler_energy_joules{") && l.includes('job="joule profiler/test"')
    );
    assert.ok(line, exposition.slice(0, 2000));
    assert.match(line!, /instance="node-1"/);
    assert.match(line!, /method="measured"/);
    const value = Number(line!.slice(line!.lastIndexOf(" ") + 1));
    const mean = (subject.runs[0]!.phases[0]!.metrics[0]!.value +
      subject.runs[1]!.phases[0]!.metrics[0]!.value) / 2 / 1e6;
    assert.ok(Math.abs(value - mean) < 1e-9, `${value} vs ${mean}`);
    // A gateway that refuses (bad body) is a clear error naming the HTTP status.
    await assert.rejects(
      () => pushMetrics({ url: gateway.url, job: "bad" }, "this is not { metrics\n"),
      /refused the metrics: HTTP 400/,
    );
  } finally {
    await gateway.stop();
  }
  // Nobody listening: the error says so (the CLI turns it into a warning).
  await assert.rejects(
    () => pushMetrics({ url: gateway.url, job: "x", timeoutMs: 2000 }, "x 1\n"),
    /cannot push to http:\/\/127\.0\.0\.1:\d+\/metrics\/job\/x/,
  );
});

Deno.test("Pushgateway URLs: http(s) only; awkward job names are base64-encoded", () => {
  assert.equal(parsePushgatewayUrl("https://pg.example:9091/"), "https://pg.example:9091");
  for (const bad of ["ftp://x", "127.0.0.1:9091", "", "http://x/?a=1"]) {
    assert.throws(() => parsePushgatewayUrl(bad), /--pushgateway/);
  }
  assert.equal(
    pushUrl({ url: "http://h", job: "a/b" }),
    `http://h/metrics/job@base64/${btoa("a/b").replace(/\//g, "_")}`,
  );
});

Deno.test("the gate passes equal runs and fails a 2× energy regression, significance required", () => {
  const noise = normals(11);
  const a = energyResult("A", 10, 1, noise);
  const same = energyResult("B", 10, 1, noise);
  const double = energyResult("B", 10, 2, noise);
  const totals = totalMetricKeys([a, same, double]);
  const pass = evaluateGate([compareResults(a, same)], totals, { failAbovePct: 5 });
  assert.equal(pass.failed, false);
  assert.equal(pass.checks.length, 1);
  const fail = evaluateGate([compareResults(a, double)], totals, { failAbovePct: 5 });
  assert.equal(fail.failed, true);
  assert.equal(fail.checks[0]!.verdict, "regression");
  const lines = gateLines(fail, 0.05);
  assert.match(
    lines[0]!,
    /^FAIL regression: phase START -> END, PACKAGE-0 \(RAPL \(Powercap\)\): B \/ A = 2\.\d{3} ± 0\.\d{3} \(\+\d+\.\d %\), p < 0\.001$/,
  );
  assert.match(lines.at(-1)!, /^gate FAILED: 1 of 1 checks more than 5 % worse and significant/);
  // Above the threshold but within the noise: not significant, the gate passes.
  const noisy = energyResult("N", 3, 1, () => 0);
  noisy.runs.forEach((r, i) => r.phases[0]!.metrics[0]!.value = [0.5e6, 1.5e6, 1.3e6][i]!);
  const vague = evaluateGate([compareResults(a, noisy)], totals, { failAbovePct: 5 });
  assert.equal(vague.checks[0]!.verdict, "not significant");
  assert.equal(vague.failed, false);
  // Duration and a named metric.
  const duration = evaluateGate([compareResults(a, double)], totals, {
    failAbovePct: 5,
    metric: "duration",
  });
  assert.equal(duration.failed, false);
  assert.equal(duration.checks[0]!.metric.source, "");
});

Deno.test("the gate on single runs judges the ratio alone and says so", () => {
  const a = energyResult("A", 1, 1, () => 0);
  const b = energyResult("B", 1, 1.2, () => 0);
  const report = evaluateGate([compareResults(a, b)], new Set(), { failAbovePct: 10 });
  assert.equal(report.failed, true);
  assert.equal(report.checks[0]!.ratioOnly, true);
  const lines = gateLines(report, 0.05);
  assert.match(lines[0]!, /no significance can be computed: the gate judges on the ratio alone/);
  assert.match(lines[1]!, /p n\/a \(single run\)/);
  assert.equal(evaluateGate([compareResults(a, b)], new Set(), { failAbovePct: 25 }).failed, false);
});

Deno.test("a gate with nothing to compare is an error, not a pass", () => {
  const a = energyResult("A", 3, 1, normals(1));
  const b = energyResult("B", 3, 1, normals(2));
  const comparisons = [compareResults(a, b)];
  assert.throws(
    () => evaluateGate(comparisons, new Set(), { failAbovePct: 5, metric: "GPU-9" }),
    /nothing to compare: no GPU-9 metric in both results; metrics in both files: Duration, PACKAGE-0/,
  );
  assert.throws(
    () => evaluateGate(comparisons, new Set(), { failAbovePct: 5, phase: "__X__ -> END" }),
    /in phase '__X__ -> END'.*phases in both files: START -> END/,
  );
  const bare = energyResult("A", 3, 1, normals(3));
  bare.runs.forEach((r) => r.phases[0]!.metrics = []);
  assert.throws(
    () => evaluateGate([compareResults(bare, bare)], new Set(), { failAbovePct: 5 }),
    /no energy metric: was an energy source active/,
  );
});

// ---------------------------------------------------------------- through the CLI

import { runCli } from "./helpers.ts";
import { formatJson } from "../src/output/json.ts";
import { writeFakePowercap } from "./fixtures/fake_powercap.ts";

async function resultFiles(baseJoules: number, prJoules: number, n = 8): Promise<string> {
  const cwd = await Deno.makeTempDir({ prefix: "jp-gate-" });
  const noise = normals(31);
  await Deno.writeTextFile(
    `${cwd}/a.json`,
    formatJson(energyResult("A", n, baseJoules, noise), true),
  );
  await Deno.writeTextFile(
    `${cwd}/b.json`,
    formatJson(energyResult("B", n, prJoules, noise), true),
  );
  return cwd;
}

Deno.test("compare --fail-above: exit 0 on equal runs, 3 on a 2× regression, one line per check", async () => {
  const equal = await resultFiles(1, 1);
  const pass = await runCli(["compare", "a.json", "b.json", "--fail-above", "5"], { cwd: equal });
  assert.equal(pass.code, 0, pass.stderr);
  assert.match(pass.stdoutText, /^ok {3}within threshold: phase START -> END, PACKAGE-0 .*p = /m);
  assert.match(pass.stdoutText, /gate passed: no phase is more than 5 % worse/);
  const worse = await resultFiles(1, 2);
  const fail = await runCli(["compare", "a.json", "b.json", "--fail-above", "5"], { cwd: worse });
  assert.equal(fail.code, 3, fail.stderr);
  assert.match(
    fail.stdoutText,
    /^FAIL regression: .* = 2\.\d{3} ± 0\.\d{3} \(\+\d+\.\d %\), p < 0\.001$/m,
  );
  // JSON keeps stdout machine-readable: the gate is in the document, its lines on stderr.
  const json = await runCli(
    ["--json", "compare", "a.json", "b.json", "--fail-above", "5", "--metric", "PACKAGE-0"],
    { cwd: worse },
  );
  assert.equal(json.code, 3);
  const document = JSON.parse(json.stdoutText);
  assert.equal(document.gate.failed, true);
  assert.equal(document.gate.exit_status, 3);
  assert.equal(document.gate.checks[0].verdict, "regression");
  assert.match(json.stderr, /^FAIL regression/m);
  // The duration did not change: a gate on it passes.
  const duration = await runCli(
    ["compare", "a.json", "b.json", "--fail-above", "5", "--metric", "duration"],
    { cwd: worse },
  );
  assert.equal(duration.code, 0, duration.stdoutText);
});

Deno.test("compare --fail-above on single runs gates on the ratio and says so", async () => {
  const cwd = await resultFiles(1, 1.5, 1);
  const out = await runCli(["compare", "a.json", "b.json", "--fail-above", "10"], { cwd });
  assert.equal(out.code, 3, out.stderr);
  assert.match(
    out.stdoutText,
    /no significance can be computed: the gate judges on the ratio alone/,
  );
  assert.match(out.stdoutText, /gate FAILED: 1 of 1 checks more than 10 % worse \(ratio alone\)/);
});

Deno.test("the gate's bad input: one line, exit 2", async () => {
  const cwd = await resultFiles(1, 1);
  const cases: [string[], RegExp][] = [
    [["--fail-above", "-3"], /--fail-above must be a percentage ≥ 0/],
    [["--fail-above", "lots"], /--fail-above must be a percentage ≥ 0/],
    [
      ["--fail-above", "5", "--metric", "GPU-7"],
      /nothing to compare: no GPU-7 metric in both results/,
    ],
    [
      ["--fail-above", "5", "--phase", "__NOPE__ -> END"],
      /nothing to compare: .*phases in both files: START -> END/,
    ],
    [
      ["--metric", "PACKAGE-0"],
      /--metric chooses what --fail-above checks: give --fail-above PCT too/,
    ],
  ];
  for (const [flags, message] of cases) {
    const out = await runCli(["compare", "a.json", "b.json", ...flags], { cwd });
    assert.equal(out.code, 2, `${flags.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, message);
    assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
  }
});

/** A fake RAPL package whose counter the program advances by `joules` in one phase. */
async function raplProgram(joules: number) {
  const root = await Deno.makeTempDir({ prefix: "jp-carbon-" });
  const files = await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0" }]);
  const energyFile = files.get("intel-rapl:0")!;
  const env = {
    JOULE_PROFILER_EVENT_SOURCE_PATH: root,
    JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
  };
  const program = [
    "python3",
    "-c",
    "import time\nprint('__WORK__', flush=True)\ntime.sleep(0.02)\n" +
    `with open(${JSON.stringify(energyFile)}, 'r+') as f:\n` +
    "    value = int(f.read())\n    f.seek(0)\n" +
    `    f.write('%020d\\n' % (value + ${Math.round(joules * 1e6)}))\n` +
    "print('__DONE__', flush=True)",
  ];
  return { env, program };
}

Deno.test("profile --carbon-intensity --pue: carbon = energy × intensity × PUE in JSON, CSV and Markdown", async () => {
  const { env, program } = await raplProgram(36);
  const cwd = await Deno.makeTempDir();
  const out = await runCli(
    [
      "--json",
      "-o",
      "r.json",
      "profile",
      "--carbon-intensity",
      "400",
      "--pue",
      "1.5",
      "--export-markdown",
      "r.md",
      "--",
      ...program,
    ],
    { cwd, env },
  );
  assert.equal(out.code, 0, out.stderr);
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  assert.deepEqual(document.carbon, { intensity_g_per_kwh: 400, pue: 1.5, unit: "gCO2e" });
  const work = document.phases.find((p: { start_token: string }) => p.start_token === "__WORK__");
  const metric = (name: string) => work.metrics.find((m: { name: string }) => m.name === name);
  const joules = metric("PACKAGE-0").value / 1e6;
  assert.ok(Math.abs(joules - 36) < 1e-6, `${joules} J`);
  const expected = joules / 3.6e6 * 400 * 1.5;
  assert.ok(Math.abs(metric("PACKAGE-0_CO2E").value - expected) < 1e-12);
  assert.equal(metric("PACKAGE-0_CO2E").details.method, "measured");
  assert.ok(Math.abs(metric("TOTAL_CO2E").value - expected) < 1e-12);
  assert.match(await Deno.readTextFile(`${cwd}/r.md`), /TOTAL_CO2E/);
  // CSV: the same figure as a row of its own.
  const csv = await runCli(
    ["--csv", "-o", "-", "profile", "--carbon-intensity", "400", "--pue", "1.5", "--", ...program],
    { cwd, env },
  );
  assert.equal(csv.code, 0, csv.stderr);
  const row = csv.stdoutText.split("\n").find((l) =>
    l.includes("__WORK__ -> __DONE__") && l.includes(";TOTAL_CO2E;")
  );
  assert.ok(row, csv.stdoutText);
  assert.match(row!, /;TOTAL_CO2E;0\.006;gCO2e;carbon;/);
  // The environment variable stands in for the flag.
  const viaEnv = await runCli(["--json", "-o", "e.json", "profile", "--", ...program], {
    cwd,
    env: { ...env, JOULE_PROFILER_CARBON_INTENSITY: "100" },
  });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.equal(
    JSON.parse(await Deno.readTextFile(`${cwd}/e.json`)).carbon.intensity_g_per_kwh,
    100,
  );
});

Deno.test("profile --openmetrics writes a file a real parser reads; --pushgateway round-trips", async () => {
  const { env, program } = await raplProgram(2);
  const cwd = await Deno.makeTempDir();
  const gateway = await startPushgateway();
  try {
    const out = await runCli(
      [
        "--json",
        "-o",
        "r.json",
        "profile",
        "-n",
        "2",
        "--openmetrics",
        "bench.prom",
        "--pushgateway",
        gateway.url,
        "--job",
        "nightly",
        "--carbon-intensity",
        "250",
        "--",
        ...program,
      ],
      { cwd, env },
    );
    assert.equal(out.code, 0, out.stderr);
    assert.match(
      out.stderr,
      /Metrics pushed to: http:\/\/127\.0\.0\.1:\d+\/metrics\/job\/nightly\/instance\//,
    );
    const samples = await parseOpenMetrics(await Deno.readTextFile(`${cwd}/bench.prom`));
    const energy = samples.find((s) =>
      s.name === "joule_profiler_energy_joules" && s.labels.phase === "__WORK__ -> __DONE__"
    )!;
    assert.ok(Math.abs(energy.value - 2) < 1e-6, `${energy.value}`);
    assert.equal(energy.labels.method, "measured");
    assert.equal(samples.find((s) => s.name === "joule_profiler_runs")!.value, 2);
    const pushed = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.match(
      pushed,
      /joule_profiler_energy_joules\{.*job="nightly".*phase="__WORK__ -> __DONE__".*\} 2(\.0+\d*)?(e\+00)?\n/,
    );
    assert.match(pushed, /joule_profiler_carbon_grams\{/);
  } finally {
    await gateway.stop();
  }
  // A push nobody answers: a warning, and the results are still written.
  const lost = await runCli(
    ["--json", "-o", "r2.json", "profile", "--pushgateway", gateway.url, "--", ...program],
    { cwd, env },
  );
  assert.equal(lost.code, 0, lost.stderr);
  assert.match(lost.stderr, /warning: cannot push to .*; the results were written all the same/);
  JSON.parse(await Deno.readTextFile(`${cwd}/r2.json`));
});

Deno.test("export flags' bad input: one line, exit 2, the program never runs", async () => {
  const cwd = await Deno.makeTempDir();
  const marker = `${cwd}/ran`;
  const cases: [string[], RegExp][] = [
    [["--carbon-intensity", "0"], /--carbon-intensity must be grams of CO2e per kWh, a number > 0/],
    [["--carbon-intensity", "-20"], /--carbon-intensity must be grams/],
    [["--carbon-intensity", "coal"], /--carbon-intensity must be grams/],
    [["--carbon-intensity", "300", "--pue", "0.9"], /--pue must be a number ≥ 1/],
    [["--pue", "1.2"], /--pue goes with --carbon-intensity/],
    [["--pushgateway", "ftp://127.0.0.1:9091"], /--pushgateway must be an http\(s\) URL/],
    [["--pushgateway", "localhost:9091"], /--pushgateway must be an http\(s\) URL/],
    [["--job", "x"], /--job names the Pushgateway group: give --pushgateway URL too/],
  ];
  for (const [flags, message] of cases) {
    const out = await runCli(["profile", ...flags, "--", "touch", marker], { cwd });
    assert.equal(out.code, 2, `${flags.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, message);
    assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
  }
  const env = await runCli(["profile", "--", "touch", marker], {
    cwd,
    env: { JOULE_PROFILER_CARBON_INTENSITY: "-1" },
  });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /JOULE_PROFILER_CARBON_INTENSITY must be grams/);
  await assert.rejects(() => Deno.stat(marker), Deno.errors.NotFound);
});
