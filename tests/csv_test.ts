import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { CSV_COLUMNS, formatCsv, formatSensorsCsv } from "../src/output/csv.ts";
import { result } from "./fixtures.ts";

const HEADER =
  "phase_id;phase_name;phase_duration_ms;metric_name;metric_value;metric_unit;metric_source;start_token;end_token;start_line;end_line;timestamp;command;exit_code;token_pattern;metric_method";

function rows(text: string): string[][] {
  return parse(text, { delimiter: ";", relax_column_count: false });
}

Deno.test("formatCsv() writes the reference header and one row per metric", () => {
  const text = formatCsv(result());
  const lines = text.trimEnd().split("\n");
  assert.equal(lines[0], HEADER);
  assert.equal(CSV_COLUMNS.join(";"), HEADER);
  assert.equal(lines.length, 1 + 2 * 2);
  assert.equal(
    lines[1],
    '0;"START -> __A__";10;CORE-0;1000;µJ;RAPL (Powercap);START;__A__;;0;1769987854341;"sh -c echo ""a;b""; echo __A__";0;"__[A-Z0-9_]+__";',
  );
});

Deno.test("formatCsv() quotes a command with ';', '\"' and newlines so rows stay intact", () => {
  const command = ["python3", "-c", 'print("x;y")\nprint(1)', "=1+2"];
  const parsed = rows(formatCsv(result(1, command)));
  assert.equal(parsed.length, 5);
  for (const row of parsed) assert.equal(row.length, 16);
  assert.equal(parsed[1]![12], command.join(" "));
  assert.equal(parsed[1]![14], "__[A-Z0-9_]+__");
});

Deno.test("formatCsv() adds iteration_id first when iterating", () => {
  const parsed = rows(formatCsv(result(3)));
  assert.equal(parsed[0]![0], "iteration_id");
  assert.equal(parsed[0]!.length, 17);
  assert.deepEqual(parsed.slice(1).map((row) => row[0]), [
    "0",
    "0",
    "0",
    "0",
    "1",
    "1",
    "1",
    "1",
    "2",
    "2",
    "2",
    "2",
  ]);
  assert.equal(rows(formatCsv(result(1), true))[0]![0], "iteration_id");
});

Deno.test("formatCsv() keeps a phase without metrics as one row", () => {
  const bare = result();
  for (const phase of bare.runs[0]!.phases) phase.metrics = [];
  const parsed = rows(formatCsv(bare));
  assert.equal(parsed.length, 3);
  assert.deepEqual(parsed[1]!.slice(3, 7), ["", "", "", ""]);
});

Deno.test("formatSensorsCsv() writes sensor;unit;source", () => {
  assert.equal(
    formatSensorsCsv([{ name: "PSYS", unit: "µJ", source: "RAPL (Powercap)" }]),
    "sensor;unit;source\nPSYS;µJ;RAPL (Powercap)\n",
  );
});

Deno.test("formatSensorsCsv() leaves out sensors that cannot be read", () => {
  assert.equal(
    formatSensorsCsv([
      { name: "TASK_CLOCK", unit: "ns", source: "perf_event" },
      { name: "CPU_CYCLES", unit: "count", source: "perf_event", available: false },
    ]),
    "sensor;unit;source\nTASK_CLOCK;ns;perf_event\n",
  );
});
