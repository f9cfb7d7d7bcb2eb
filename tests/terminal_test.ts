import assert from "node:assert/strict";
import {
  formatSensorsTerminal,
  formatTerminal,
  PHASE_LIST_LIMIT,
  terminalChunks,
} from "../src/output/terminal.ts";
import { splitShellWords } from "../src/cli/shell_words.ts";
import { quoteShellWords } from "../src/output/shell_quote.ts";
import {
  displayUnit,
  formatMeanSpread,
  formatQuantity,
  formatRange,
} from "../src/output/human_units.ts";
import { textTable } from "../src/output/text_table.ts";
import { phase, result } from "./fixtures.ts";

/** One run: 3.914 J over 372.5 ms, perf counters, a 1-based token line, a quoted command. */
function singleRun() {
  const sample = result(1, ["python3", "-c", "print('__A__')", "two words"]);
  sample.runs[0]!.durationMs = 372.503036;
  sample.runs[0]!.phases[0]!.durationMs = 372.503036;
  sample.runs[0]!.phases[0]!.metrics = [
    {
      name: "PACKAGE-0",
      value: 3_914_131,
      unit: "µJ",
      source: "RAPL (Powercap)",
      details: { average_power_w: 10.507566, total: "cpu" },
    },
    { name: "TASK_CLOCK", value: 372_503_036, unit: "ns", source: "perf_event" },
    {
      name: "INSTRUCTIONS",
      value: 1_234_567,
      unit: "count",
      source: "perf_event",
      details: { scaled: true },
    },
  ];
  sample.runs[0]!.phases[1]!.metrics = [];
  return sample;
}

/** Three runs of 20, 21 and 22 ms; PACKAGE-0 marked as the CPU total. */
function threeRuns() {
  const sample = result(3, ["sleep", "0.02"]);
  sample.runs.forEach((run, i) => {
    run.durationMs = 20 + i;
    run.phases[0]!.durationMs = 10 + i;
    run.phases[0]!.metrics[1]!.details = { average_power_w: 0.2 + i / 100, total: "cpu" };
  });
  return sample;
}

Deno.test("formatTerminal() snapshot: one run, figures scaled, totals, 1-based lines, quoted command", () => {
  assert.equal(
    formatTerminal(singleRun(), { color: false }),
    `╔════════════════════════════════════════════════╗
║ Command                                        ║
╚════════════════════════════════════════════════╝
python3 -c 'print('\\''__A__'\\'')' 'two words'
────────────────────────────────────────────────
  Duration            : 372.5 ms
  Exit code           : 0
  Phases              : 2

  Whole run   Energy    Power  Source           Note
  ─────────  ───────  ───────  ───────────────  ───────────
  PACKAGE-0  3.914 J  10.51 W  RAPL (Powercap)  ← CPU total
╔════════════════════════════════════════════════╗
║ Phase: START -> __A__                          ║
╚════════════════════════════════════════════════╝
  Duration            : 372.5 ms
  Start token         : START
  End token           : __A__ (line 1)
┌────────────────────────────────────────────────┐
│ RAPL (Powercap)                                │
└────────────────────────────────────────────────┘
  Metric       Value    Power  Note
  ─────────  ───────  ───────  ───────────
  PACKAGE-0  3.914 J  10.51 W  ← CPU total
┌────────────────────────────────────────────────┐
│ perf_event                                     │
└────────────────────────────────────────────────┘
  Metric                  Value  Note
  ────────────  ───────────────  ────────
  TASK_CLOCK           372.5 ms
  INSTRUCTIONS  1,234,567 count  (scaled)
╔════════════════════════════════════════════════╗
║ Phase: __A__ -> END                            ║
╚════════════════════════════════════════════════╝
  Duration            : 10.00 ms
  Start token         : __A__ (line 1)
  End token           : END
Note: RAPL domains overlap (PSYS ⊇ PACKAGE ⊇ CORE, UNCORE): never add them up; use the figure marked as total.
`,
  );
});

Deno.test("formatTerminal() snapshot: iterations share the layout, mean ± σ in one unit, totals per run", () => {
  assert.equal(
    formatTerminal(threeRuns(), { color: false }),
    `╔════════════════════════════════════════════════╗
║ Command                                        ║
╚════════════════════════════════════════════════╝
sleep 0.02
────────────────────────────────────────────────
  Iterations          : 3
  Total duration      : 60.00 ms (all runs)
  Exit code           : 0

  Per run            Mean ± σ         Min … Max  Source           Note
  ─────────  ────────────────  ────────────────  ───────────────  ───────────
  Duration    21.00 ± 1.00 ms  20.00 … 22.00 ms
  CORE-0     2.001 ± 0.000 mJ  2.001 … 2.001 mJ  RAPL (Powercap)
  PACKAGE-0  4.001 ± 0.000 mJ  4.001 … 4.001 mJ  RAPL (Powercap)  ← CPU total
╔════════════════════════════════════════════════╗
║ Phase: START -> __A__                          ║
╚════════════════════════════════════════════════╝
  Duration            : 11.00 ± 1.00 ms  (10.00 … 12.00 ms)
┌────────────────────────────────────────────────┐
│ RAPL (Powercap)                                │
└────────────────────────────────────────────────┘
  Metric             Mean ± σ         Min … Max  Power (mean ± σ)  Note
  ─────────  ────────────────  ────────────────  ────────────────  ───────────
  CORE-0     1.000 ± 0.000 mJ  1.000 … 1.000 mJ
  PACKAGE-0  2.000 ± 0.000 mJ  2.000 … 2.000 mJ   210.0 ± 10.0 mW  ← CPU total
╔════════════════════════════════════════════════╗
║ Phase: __A__ -> END                            ║
╚════════════════════════════════════════════════╝
  Duration            : 10.00 ± 0.00 ms  (10.00 … 10.00 ms)
┌────────────────────────────────────────────────┐
│ RAPL (Powercap)                                │
└────────────────────────────────────────────────┘
  Metric             Mean ± σ         Min … Max  Note
  ─────────  ────────────────  ────────────────  ───────────
  CORE-0     1.001 ± 0.000 mJ  1.001 … 1.001 mJ
  PACKAGE-0  2.001 ± 0.000 mJ  2.001 … 2.001 mJ  ← CPU total
Note: RAPL domains overlap (PSYS ⊇ PACKAGE ⊇ CORE, UNCORE): never add them up; use the figure marked as total.
`,
  );
});

Deno.test("formatTerminal() prints the command so a shell splits it back into the same argv", () => {
  const commands = [
    ["sh", "-c", 'echo "a;b"; echo __A__'],
    ["python3", "-c", "print('it''s')", ""],
    ["./run", "--flag=1", "a b", "$HOME", "*"],
  ];
  for (const command of commands) {
    const sample = result(1, command);
    const printed = formatTerminal(sample, { color: false }).split("\n")[3]!;
    assert.equal(printed, quoteShellWords(command));
    // splitShellWords refuses unquoted shell syntax: quoted, every word comes back intact.
    assert.deepEqual(splitShellWords(printed), command);
  }
});

Deno.test("formatTerminal() has no colour codes when colour is off, and bold headers when on", () => {
  assert.ok(!formatTerminal(singleRun(), { color: false }).includes("\u001b["));
  assert.ok(formatTerminal(singleRun(), { color: true }).includes("\u001b[1mMetric"));
});

Deno.test("formatTerminal() marks phases where a source failed", () => {
  const sample = result();
  sample.runs[0]!.phases[0]!.failures = [{ source: "NVML", message: "GPU lost" }];
  assert.match(
    formatTerminal(sample, { color: false }),
    /NVML: no data for this phase \(GPU lost\)/,
  );
});

Deno.test("formatTerminal() warns not to add overlapping domains only when totals are marked", () => {
  assert.match(formatTerminal(singleRun(), { color: false }), /never add them up/);
  assert.doesNotMatch(formatTerminal(result(), { color: false }), /never add them up/);
});

Deno.test(`formatTerminal() summarises a run of more than ${PHASE_LIST_LIMIT} phases per phase name`, () => {
  const sample = result();
  const run = sample.runs[0]!;
  const count = PHASE_LIST_LIMIT + 50;
  // Any iterable storage with a length will do: the summary walks the phases once.
  const phases = Array.from(
    { length: count },
    (_, i) => phase(i, i === 0 ? "START" : "__I__", i === count - 1 ? "END" : "__I__"),
  );
  run.phases = phases;
  const text = formatTerminal(sample, { color: false });
  assert.match(text, /Phases: summary per phase name/);
  assert.match(text, /100 phases, more than 50 per run/);
  assert.match(text, /│ __I__ -> __I__ \(× 98\) +│/);
  // 98 phases of 10 ms; CORE-0 is 1000 + index µJ for index 1 … 98.
  assert.match(text, /Duration +980\.0 ms +10\.00 ms/);
  assert.match(text, /CORE-0 +102\.9 mJ +1\.050 mJ +RAPL \(Powercap\)/);
  assert.doesNotMatch(text, /Start token/);
  // Rates and peaks have a mean per phase but no meaningful total.
  for (const [i, p] of phases.entries()) {
    p.metrics = [
      ...p.metrics,
      { name: "CPU0_UTILIZATION", value: 40 + (i % 2) * 20, unit: "%", source: "system" },
      { name: "RSS_PEAK", value: 1 << 20, unit: "B", source: "process" },
    ];
  }
  const rates = formatTerminal(sample, { color: false });
  assert.match(rates, /CPU0_UTILIZATION +— +50(\.0+)? % +system/);
  assert.match(rates, /RSS_PEAK +— +1(\.000)? MiB +process/);
  const all = formatTerminal(sample, { color: false, allPhases: true });
  assert.equal(all.match(/║ Phase: /g)?.length, count);
});

Deno.test("formatTerminal() summary counts phases of every run, and lists at most 30 names", () => {
  const sample = result(2);
  for (const run of sample.runs) {
    run.phases = Array.from({ length: 60 }, (_, i) => phase(i, `__P${i}__`, `__P${i + 1}__`));
  }
  const text = formatTerminal(sample, { color: false });
  assert.match(text, /120 phases in 2 runs/);
  assert.match(text, /… 30 more phase names \(60 phases\)/);
});

Deno.test("formatSensorsTerminal() groups sensors by source", () => {
  const text = formatSensorsTerminal([
    { name: "PACKAGE-0", unit: "µJ", source: "RAPL (perf_event)" },
    { name: "GPU-0", unit: "mJ", source: "NVML" },
  ], { color: false });
  assert.ok(text.indexOf("NVML") < text.indexOf("RAPL"));
  assert.match(text, /PACKAGE-0 +\| µJ/);
});

Deno.test("formatSensorsTerminal() with nothing available points to doctor and --perf", () => {
  const text = formatSensorsTerminal([], { color: false });
  assert.match(text, /No sensors available/);
  assert.match(text, /'joule-profiler doctor' says why/);
  assert.match(text, /--perf list-sensors/);
});

Deno.test("formatSensorsTerminal() says which sensors are not available and why", () => {
  const text = formatSensorsTerminal([
    { name: "CPU_CYCLES", unit: "count", source: "perf_event", available: false, note: "no PMU" },
  ], { color: false });
  assert.match(text, /CPU_CYCLES +\| count +\| not available: no PMU/);
});

Deno.test("formatQuantity() scales energy, time and power; counts keep their unit", () => {
  assert.equal(formatQuantity(3_914_131, "µJ"), "3.914 J");
  assert.equal(formatQuantity(372_503_036, "ns"), "372.5 ms");
  assert.equal(formatQuantity(850, "µJ"), "850.0 µJ");
  assert.equal(formatQuantity(12_345_678_901, "µJ"), "12.35 kJ");
  assert.equal(formatQuantity(1500, "mJ"), "1.500 J");
  assert.equal(formatQuantity(0.0123, "W"), "12.30 mW");
  assert.equal(formatQuantity(125_000, "ms"), "125.0 s");
  assert.equal(formatQuantity(0, "µJ"), "0 µJ");
  assert.equal(formatQuantity(1_234_567, "count"), "1,234,567 count");
  assert.equal(formatQuantity(42.5, "%"), "42.50 %");
  assert.equal(formatQuantity(19_992_576, "bytes"), "19.07 MiB");
  assert.equal(formatQuantity(512, "bytes"), "512 B");
  assert.equal(formatQuantity(0, "bytes"), "0 B");
  assert.equal(formatQuantity(4096, "bytes"), "4.000 KiB");
  assert.deepEqual(displayUnit(999_999, "µJ"), { unit: "mJ", factor: 1e-3 });
});

Deno.test("formatMeanSpread() and formatRange() keep σ and both ends in the mean's unit", () => {
  assert.equal(formatMeanSpread(11e6, 1e6, "ns"), "11.00 ± 1.00 ms");
  assert.equal(formatMeanSpread(3_914_131, 1_200, "µJ"), "3.914 ± 0.001 J");
  // A σ too small for the mean's decimals keeps two significant digits rather than reading 0.
  assert.equal(formatMeanSpread(3_914_131, 12, "µJ"), "3.914 ± 0.000012 J");
  assert.equal(formatRange(900, 1_200_000, "µJ"), "0.001 … 1.200 J");
  assert.equal(formatMeanSpread(5, 0, "count"), "5 ± 0 count");
});

Deno.test("textTable() pads every column under its header and trims trailing blanks", () => {
  assert.deepEqual(
    textTable(
      [{ header: "Metric" }, { header: "Value", align: "right" }, { header: "Note" }],
      [["PACKAGE-0", "3.914 J", ""], ["µ", "1 J", "← CPU total"]],
    ),
    [
      "  Metric       Value  Note",
      "  ─────────  ───────  ───────────",
      "  PACKAGE-0  3.914 J",
      "  µ              1 J  ← CPU total",
    ],
  );
});

Deno.test("terminalChunks() writes a long --all-phases listing in pieces equal to formatTerminal()", () => {
  const sample = result();
  sample.runs[0]!.phases = Array.from({ length: 1000 }, (_, i) => phase(i, "__I__", "__I__"));
  const pieces = [...terminalChunks(sample, { color: false, allPhases: true })];
  assert.ok(pieces.length >= 4, `${pieces.length} pieces`);
  assert.equal(pieces.join(""), formatTerminal(sample, { color: false, allPhases: true }));
  assert.equal(pieces.join("").match(/║ Phase: /g)?.length, 1000);
});

Deno.test("formatTerminal() says energy was not measured rather than showing nothing", () => {
  const sample = result();
  for (const phase of sample.runs[0]!.phases) phase.metrics = [];
  assert.match(
    formatTerminal(sample, { color: false }),
    /Energy +: not measured: no energy source \('joule-profiler doctor' says why\)/,
  );
  const repeated = result(2);
  for (const run of repeated.runs) for (const phase of run.phases) phase.metrics = [];
  assert.match(formatTerminal(repeated, { color: false }), /Energy +not measured/);
});

Deno.test("formatTerminal() folds per-CPU figures past four CPUs into one row with their range", () => {
  const sample = result();
  sample.runs[0]!.phases[0]!.metrics = [
    { name: "SYSTEM_CPU_UTILIZATION", value: 50, unit: "%", source: "system" },
    ...Array.from({ length: 8 }, (_, cpu) => ({
      name: `CPU${cpu}_UTILIZATION`,
      value: 10 * cpu,
      unit: "%",
      source: "system",
    })),
  ];
  const text = formatTerminal(sample, { color: false });
  assert.match(text, /CPU\*_UTILIZATION \(8 CPUs\) +0 … 70 %/);
  assert.doesNotMatch(text, /CPU3_UTILIZATION/);
  assert.match(text, /SYSTEM_CPU_UTILIZATION +50 %/);
  const few = result();
  few.runs[0]!.phases[0]!.metrics = [
    { name: "CPU0_UTILIZATION", value: 5, unit: "%", source: "system" },
    { name: "CPU1_UTILIZATION", value: 7, unit: "%", source: "system" },
  ];
  assert.match(formatTerminal(few, { color: false }), /CPU1_UTILIZATION +7 %/);
});
