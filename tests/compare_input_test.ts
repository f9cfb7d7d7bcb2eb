import assert from "node:assert/strict";
import { readResultFileText } from "../src/output/json_reader.ts";
import { jsonValueChunks } from "../src/output/json.ts";
import { comparisonCsvChunks, formatComparisonCsv } from "../src/output/csv.ts";
import { compareResults, comparisonDocument } from "../src/stats/comparison.ts";
import { formatJson } from "../src/output/json.ts";
import { UsageError } from "../src/errors.ts";
import type { ProfileResult } from "../src/result.ts";
import { phase, run } from "./fixtures.ts";
import { CLI_ENTRY } from "./helpers.ts";

/** `runs` runs of `phases` phases each, energies varying a little per run. */
function manyPhases(name: string, runs: number, phases: number): ProfileResult {
  return {
    name,
    command: [name],
    tokenPattern: "__[A-Z]+__",
    exitCode: 0,
    durationMs: 0,
    interrupted: false,
    runs: Array.from({ length: runs }, (_, r) => ({
      ...run(r),
      phases: Array.from(
        { length: phases },
        (_, i) =>
          phase(i, i === 0 ? "START" : "__A__", "__A__", {
            durationMs: 1 + r / 10,
            metrics: [{ name: "PACKAGE-0", value: 100 + i + r, unit: "µJ", source: "RAPL" }],
          }),
      ),
    })),
  };
}

/** Runs the CLI, killing it after `limitMs` (a hang is a failure, not a stuck test). */
async function runBounded(args: string[], limitMs = 15_000) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${CLI_ENTRY}`, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, signal: out.signal, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("compare refuses a FIFO or a device at once instead of waiting forever", async () => {
  const directory = await Deno.makeTempDir();
  const good = `${directory}/a.json`;
  await Deno.writeTextFile(good, formatJson(manyPhases("A", 2, 3), true));
  const fifo = `${directory}/b.fifo`;
  assert.ok((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
  const fromFifo = await runBounded(["compare", good, fifo]);
  assert.equal(fromFifo.signal, null, "it did not hang");
  assert.equal(fromFifo.code, 2, fromFifo.stderr);
  assert.match(fromFifo.stderr, /b\.fifo': it is a FIFO; compare reads saved --json result files/);
  const fromZero = await runBounded(["compare", good, "/dev/zero"]);
  assert.equal(fromZero.code, 2, fromZero.stderr);
  assert.match(fromZero.stderr, /'\/dev\/zero': it is a character device/);
});

Deno.test("readResultFileText() reads at most its limit, with a clear error", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeTextFile(path, "x".repeat(2 * 1024 * 1024));
  await assert.rejects(
    () => readResultFileText(path, 1024 * 1024),
    (error: unknown) =>
      error instanceof UsageError &&
      /2 MiB is more than compare reads \(1 MiB\)/.test(error.message),
  );
  assert.equal((await readResultFileText(path)).length, 2 * 1024 * 1024);
  await assert.rejects(() => readResultFileText(`${path}.missing`), /cannot read/);
});

Deno.test("compare output is written in pieces, equal to the one-string form", () => {
  const comparison = compareResults(manyPhases("A", 3, 2000), manyPhases("B", 3, 2000));
  const document = comparisonDocument(comparison);
  const pieces = [...jsonValueChunks(document)];
  assert.ok(pieces.length > 2000, `${pieces.length} pieces`);
  assert.ok(Math.max(...pieces.map((piece) => piece.length)) < 4096, "no piece is the whole");
  assert.equal(pieces.join(""), `${JSON.stringify(document, null, 2)}\n`);
  const csv = [...comparisonCsvChunks([comparison])];
  assert.ok(csv.length > 2);
  assert.equal(csv.join(""), formatComparisonCsv([comparison]));
  const rows = comparison.phases.reduce((sum, phase) => sum + phase.metrics.length, 0);
  assert.ok(comparison.phases.length === 2000 && rows >= 2000);
  assert.equal(csv.join("").trimEnd().split("\n").length, 1 + rows);
});

Deno.test("compare of two 20,000-phase results writes JSON and CSV", async () => {
  const directory = await Deno.makeTempDir();
  await Deno.writeTextFile(`${directory}/a.json`, formatJson(manyPhases("A", 2, 20_000), true));
  await Deno.writeTextFile(`${directory}/b.json`, formatJson(manyPhases("B", 2, 20_000), true));
  for (const format of ["json", "csv"]) {
    const out = await runBounded([
      `--${format}`,
      "-o",
      `${directory}/c.${format}`,
      "compare",
      `${directory}/a.json`,
      `${directory}/b.json`,
    ], 60_000);
    assert.equal(out.code, 0, out.stderr);
  }
  const document = JSON.parse(await Deno.readTextFile(`${directory}/c.json`));
  assert.equal(document.phases.length, 20_000);
  const csv = await Deno.readTextFile(`${directory}/c.csv`);
  assert.ok(csv.trimEnd().split("\n").length > 20_000);
});
