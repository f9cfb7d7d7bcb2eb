import assert from "node:assert/strict";
import { formatSensorsTerminal, formatTerminal } from "../src/output/terminal.ts";
import { result } from "./fixtures.ts";

Deno.test("formatTerminal() draws the Command box, one box per phase and per source", () => {
  const text = formatTerminal(result(), { color: false });
  assert.match(text, /║ Command +║/);
  assert.match(text, /Exit code +: 0/);
  assert.match(text, /║ Phase: START -> __A__ +║/);
  assert.match(text, /End token +: __A__ \(line 0\)/);
  assert.match(text, /│ RAPL \(Powercap\) +│/);
  assert.match(text, / {2}CORE-0 +: +1000 µJ/);
  assert.ok(!text.includes("\u001b["), "no colour codes");
});

Deno.test("formatTerminal() shows per-phase mean, spread and range across iterations", () => {
  const sample = result(3);
  sample.runs.forEach((run, i) => {
    run.phases[0]!.durationMs = 10 + i; // 10, 11, 12
  });
  const text = formatTerminal(sample, { color: false });
  assert.match(text, /Iterations +: 3/);
  assert.match(text, /Duration +│ +11 ± 1 │ +10 … 12 │ ms/);
  assert.match(text, /CORE-0 +│ +1000 ± 0 │ +1000 … 1000 │ µJ/);
});

Deno.test("formatTerminal() marks phases where a source failed", () => {
  const sample = result();
  sample.runs[0]!.phases[0]!.failures = [{ source: "NVML", message: "GPU lost" }];
  assert.match(
    formatTerminal(sample, { color: false }),
    /NVML: no data for this phase \(GPU lost\)/,
  );
});

Deno.test("formatSensorsTerminal() groups sensors by source", () => {
  const text = formatSensorsTerminal([
    { name: "PACKAGE-0", unit: "µJ", source: "RAPL (perf_event)" },
    { name: "GPU-0", unit: "mJ", source: "NVML" },
  ], { color: false });
  assert.ok(text.indexOf("NVML") < text.indexOf("RAPL"));
  assert.match(text, /PACKAGE-0 +\| µJ/);
  assert.match(formatSensorsTerminal([], { color: false }), /No sensors available/);
});

Deno.test("formatSensorsTerminal() says which sensors are not available and why", () => {
  const text = formatSensorsTerminal([
    { name: "CPU_CYCLES", unit: "count", source: "perf_event", available: false, note: "no PMU" },
  ], { color: false });
  assert.match(text, /CPU_CYCLES +\| count +\| not available: no PMU/);
});

Deno.test("formatTerminal() shows average power, marks totals and warns not to add domains up", () => {
  const sample = result();
  sample.runs[0]!.phases[0]!.metrics = [
    {
      name: "PACKAGE-0",
      value: 2000,
      unit: "µJ",
      source: "RAPL (Powercap)",
      details: { average_power_w: 0.2, total: "cpu" },
    },
    {
      name: "PSYS",
      value: 5000,
      unit: "µJ",
      source: "RAPL (Powercap)",
      details: { total: "platform" },
    },
  ];
  const text = formatTerminal(sample, { color: false });
  assert.match(text, /PACKAGE-0 +: +2000 µJ +0\.200 W +← CPU total/);
  assert.match(text, /PSYS +: +5000 µJ +← platform total/);
  assert.match(text, /never add them up/);
  assert.doesNotMatch(formatTerminal(result(), { color: false }), /never add them up/);
});
