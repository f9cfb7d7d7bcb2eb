/**
 * What a new user meets first: run totals and recorded sources in every
 * result, the buffered-output warning, progress on long profiles, the
 * program's output on repeated runs, `--idle` without energy, timeline
 * titles.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { JouleProfiler } from "../src/profiler.ts";
import { DiscardSink } from "../src/process/byte_sink.ts";
import { lineBufferedEnv } from "../src/process/line_buffering.ts";
import { reviewMessages } from "../src/stats/run_review.ts";
import { runTotals, totalsStatistics } from "../src/stats/run_totals.ts";
import { tokensBurstAtExit } from "../src/stats/token_burst.ts";
import { ProgressBar } from "../src/output/progress_bar.ts";
import { timelineHtml } from "../src/output/timeline_html.ts";
import { echoesProgramOutput, progressBarFor } from "../src/cli/profile_display.ts";
import type { Source } from "../src/source.ts";
import { energyText, writeFakePowercap } from "./fixtures/fake_powercap.ts";
import { CLI_ENTRY, runCli } from "./helpers.ts";
import { phase, run } from "./fixtures.ts";

/** A powercap tree with one package whose counter the program itself advances. */
async function fakeRapl(): Promise<{ env: Record<string, string>; energyFile: string }> {
  const root = await Deno.makeTempDir({ prefix: "jp-first-use-" });
  const files = await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0" }]);
  return {
    env: {
      JOULE_PROFILER_EVENT_SOURCE_PATH: root,
      JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
    },
    energyFile: files.get("intel-rapl:0")!,
  };
}

/** Prints __A__, then adds 2 J to the fake counter, then __B__, then 3 J more. */
function energyProgram(energyFile: string): string[] {
  const set = (uj: number) => `printf '${energyText(uj).trimEnd()}\\n' > '${energyFile}'`;
  return [
    "sh",
    "-c",
    `echo __A__; sleep 0.03; ${set(2_000_000)}; sleep 0.03; echo __B__; sleep 0.03; ` +
    `${set(5_000_000)}; sleep 0.03`,
  ];
}

Deno.test("JSON: top-level totals sum each energy sensor over the phases; sources say RAPL measured", async () => {
  const { env, energyFile } = await fakeRapl();
  const out = await runCli(
    ["--json", "-o", "-", "profile", "--", ...energyProgram(energyFile)],
    { env },
  );
  assert.equal(out.code, 0, out.stderr);
  const document = JSON.parse(out.stdoutText);
  assert.deepEqual(document.sources, [
    { name: "RAPL (Powercap)", origin: "default", active: true },
    { name: "process", origin: "default", active: true },
    { name: "system", origin: "default", active: true },
  ]);
  const package0 = document.totals.energy.find((entry: { name: string }) =>
    entry.name === "PACKAGE-0"
  );
  assert.equal(package0.unit, "µJ");
  assert.equal(package0.value, 5_000_000);
  const phases = document.phases.map((phase: { metrics: { name: string; value: number }[] }) =>
    phase.metrics.find((metric) => metric.name === "PACKAGE-0")!.value
  );
  assert.equal(phases.reduce((sum: number, value: number) => sum + value, 0), 5_000_000);
  assert.equal(document.totals.duration_ms, document.duration_ms);
});

Deno.test("JSON with -n: totals are per-run mean ± σ; terminal shows the Command block's totals", async () => {
  const { env, energyFile } = await fakeRapl();
  const program = energyProgram(energyFile);
  // Each run starts the counter from where the last one left it: reset it first.
  const prepare = `printf '${energyText(0).trimEnd()}\\n' > '${energyFile}'`;
  const out = await runCli(
    ["--json", "-o", "-", "profile", "-n", "2", "--prepare", prepare, "--", ...program],
    { env },
  );
  assert.equal(out.code, 0, out.stderr);
  const document = JSON.parse(out.stdoutText);
  assert.equal(document.totals.iterations, 2);
  const package0 = document.totals.energy.find((entry: { name: string }) =>
    entry.name === "PACKAGE-0"
  );
  assert.equal(package0.value.mean, 5_000_000);
  assert.equal(package0.value.stddev, 0);
  assert.equal(typeof document.totals.duration_ms.mean, "number");

  const terminal = await runCli(
    ["profile", "-n", "2", "--prepare", prepare, "--", ...program],
    { env },
  );
  assert.equal(terminal.code, 0, terminal.stderr);
  assert.match(terminal.stdoutText, /Per run +Mean ± σ +Min … Max/);
  assert.match(terminal.stdoutText, /PACKAGE-0 +5\.000 ± 0\.000 J +5\.000 … 5\.000 J/);
});

Deno.test("JSON and the CSV sidecar record a default source that cannot work, with doctor's words", async () => {
  const root = await Deno.makeTempDir({ prefix: "jp-no-rapl-" });
  const env = {
    JOULE_PROFILER_EVENT_SOURCE_PATH: root,
    JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
  };
  const out = await runCli(["--json", "-o", "-", "profile", "--", "true"], { env });
  assert.equal(out.code, 0, out.stderr);
  const document = JSON.parse(out.stdoutText);
  const rapl = document.sources.find((source: { name: string }) => source.name === "RAPL");
  assert.equal(rapl.name, "RAPL");
  assert.equal(rapl.origin, "default");
  assert.equal(rapl.active, false);
  assert.match(rapl.reason, /perf: no perf 'power' PMU/);
  assert.match(rapl.reason, /powercap: no RAPL zones under /);
  assert.deepEqual(document.totals.energy, [], "not measured, and said so in sources");

  const cwd = await Deno.makeTempDir();
  const csv = await runCli(["--csv", "-o", "run.csv", "profile", "--", "true"], { cwd, env });
  assert.equal(csv.code, 0, csv.stderr);
  const results = await Deno.readTextFile(`${cwd}/run.csv`);
  assert.match(results.split("\n")[0]!, /^phase_id;phase_name;/, "the results rows are unchanged");
  const sidecar = parse(await Deno.readTextFile(`${cwd}/run.sources.csv`), { delimiter: ";" });
  assert.deepEqual(sidecar[0], ["source", "origin", "active", "reason"]);
  const raplRow = sidecar.find((row: string[]) => row[0] === "RAPL")!;
  assert.deepEqual(raplRow.slice(0, 3), ["RAPL", "default", "false"]);
  assert.match(raplRow[3]!, /no RAPL zones/);
  assert.deepEqual(
    sidecar.find((row: string[]) => row[0] === "process"),
    ["process", "default", "true", ""],
  );
});

Deno.test("JouleProfiler: sources lists registered ones as active and recorded ones as not", async () => {
  const counter: Source<number> = {
    name: "counter",
    measure() {},
    retrieve: () => 1,
    sensors: () => [{ name: "N", unit: "count", source: "counter" }],
    toMetrics: (raw) => [{ name: "N", value: raw, unit: "count", source: "counter" }],
  };
  const broken: Source<number> = {
    ...counter,
    name: "broken",
    retrieve: () => {
      throw new Error("device gone");
    },
  };
  const profiler = new JouleProfiler()
    .addSource(counter)
    .addSource(broken, { origin: "default" })
    .addUnavailableSource({ name: "NVML", origin: "requested", active: true, reason: "no GPU" });
  const result = await profiler.profile({
    command: ["sh", "-c", "echo __A__"],
    stdout: new DiscardSink(),
    handleSignals: false,
  });
  assert.deepEqual(result.sources!.map(({ name, origin, active }) => [name, origin, active]), [
    ["counter", "requested", true],
    ["broken", "default", false],
    ["NVML", "requested", false],
  ]);
  assert.match(result.sources![1]!.reason!, /failed in every phase: .*device gone/);
});

/** A Python program whose tokens a pipe holds in its buffer until exit. */
const UNFLUSHED_PYTHON = [
  "python3",
  "-c",
  "import time\nprint('__A__')\ntime.sleep(0.15)\nprint('__B__')\ntime.sleep(0.15)",
];

Deno.test("an unflushed Python program: the burst of tokens at exit is detected and named", async () => {
  // The test's own environment must not make Python unbuffered.
  const saved = Deno.env.get("PYTHONUNBUFFERED");
  Deno.env.delete("PYTHONUNBUFFERED");
  try {
    const out = await runCli(["--json", "-o", "-", "profile", "--", ...UNFLUSHED_PYTHON]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /warning: every token arrived in one burst as the program exited/);
    for (const fix of ["flush=True", "PYTHONUNBUFFERED=1", "stdbuf -oL", "--line-buffered"]) {
      assert.ok(out.stderr.includes(fix), `the warning names ${fix}`);
    }
    assert.match(out.stderr, /phase channel/);
    const document = JSON.parse(out.stdoutText);
    assert.ok(document.phases[0].duration_ms > 250, "the first phase swallowed the whole run");
    assert.ok(document.phases[1].duration_ms < 50, "__A__ -> __B__ shrank to the flush");

    // --line-buffered: the same program's phases are right and nothing is said.
    const fixed = await runCli([
      "--json",
      "-o",
      "-",
      "profile",
      "--line-buffered",
      "--",
      ...UNFLUSHED_PYTHON,
    ]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.doesNotMatch(fixed.stderr, /burst/);
    const phases = JSON.parse(fixed.stdoutText).phases;
    // Buffered, __A__ -> __B__ lasted microseconds; line-buffered, it spans the 150 ms sleep.
    assert.ok(phases[1].duration_ms > 120, `__A__ -> __B__ ${phases[1].duration_ms} ms`);

    // The library does the same.
    const result = await new JouleProfiler().profile({
      command: UNFLUSHED_PYTHON,
      lineBuffered: true,
      stdout: new DiscardSink(),
      handleSignals: false,
    });
    const second = result.runs[0]!.phases[1]!;
    assert.ok(second.durationMs > 120, `__A__ -> __B__ ${second.durationMs} ms`);
    assert.equal(tokensBurstAtExit(result.runs[0]!), false);
    assert.ok(!reviewMessages(result).some((message) => message.includes("burst")));
  } finally {
    if (saved !== undefined) Deno.env.set("PYTHONUNBUFFERED", saved);
  }
});

Deno.test("tokensBurstAtExit(): two tokens or more, together, in the last quarter of a run of 20 ms or more", () => {
  const at = (endNs: bigint[]) => {
    const burst = run(0);
    burst.startNs = 0n;
    burst.endNs = 100_000_000n;
    burst.durationMs = 100;
    burst.phases = [...endNs, burst.endNs].map((end, i) =>
      phase(i, i === 0 ? "START" : "__T__", i === endNs.length ? "END" : "__T__", { endNs: end })
    );
    return tokensBurstAtExit(burst);
  };
  // Flushed at exit: 90 ms of nothing, then tokens 6 ms apart (the sources' reads), END after.
  assert.equal(at([90_000_000n, 96_000_000n]), true);
  assert.equal(at([80_000_000n, 80_500_000n, 81_000_000n]), true);
  // The first token came in time: not a burst.
  assert.equal(at([50_000_000n, 96_000_000n]), false);
  // Tokens spread over the tail, as a program prints them: not a burst.
  assert.equal(at([78_000_000n, 95_000_000n]), false);
  assert.equal(at([95_000_000n]), false, "one token is no burst");
  assert.equal(tokensBurstAtExit(run(0)), false, "a run under 20 ms is not judged");
});

Deno.test("lineBufferedEnv() sets PYTHONUNBUFFERED and stdbuf's preload, keeping LD_PRELOAD", async () => {
  const library = await Deno.makeTempFile({ suffix: "libstdbuf.so" });
  const { env, missing } = lineBufferedEnv({
    libraries: ["/nonexistent/libstdbuf.so", library],
    env: { LD_PRELOAD: "/opt/other.so" },
  });
  assert.equal(missing, undefined);
  assert.deepEqual(env, {
    PYTHONUNBUFFERED: "1",
    LD_PRELOAD: `${library}:/opt/other.so`,
    _STDBUF_O: "L",
  });
  const without = lineBufferedEnv({ libraries: ["/nonexistent/libstdbuf.so"] });
  assert.deepEqual(without.env, { PYTHONUNBUFFERED: "1" });
  assert.match(without.missing!, /no libstdbuf\.so/);
});

Deno.test("progress: shown on a terminal (pseudo-terminal), absent in a pipe", async () => {
  const args = ["profile", "-n", "3", "--", "sh", "-c", "echo __A__; sleep 0.05"];
  const line = [Deno.execPath(), "run", "-A", `${CLI_ENTRY}`, ...args]
    .map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(" ");
  // script(1) gives the CLI a pseudo-terminal for stdin, stdout and stderr.
  const tty = await new Deno.Command("script", {
    args: ["-qec", line, "/dev/null"],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(tty.stdout);
  assert.equal(tty.code, 0, text);
  assert.match(text, /run 3\/3 \[█+\] 100 %/);
  assert.match(text, /ETA /);
  assert.match(text, /elapsed /);
  assert.ok(text.includes("\r\u001b[K╔"), "the bar is erased before the results");

  const piped = await runCli(args);
  assert.equal(piped.code, 0, piped.stderr);
  assert.doesNotMatch(piped.stderr, /ETA|run \d\/3/);

  // --quiet: nothing drawn, even on a terminal.
  const quietLine = line.replace("'profile'", "'profile' '--quiet'");
  const quiet = await new Deno.Command("script", {
    args: ["-qec", quietLine, "/dev/null"],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const quietText = new TextDecoder().decode(quiet.stdout);
  assert.equal(quiet.code, 0, quietText);
  assert.match(quietText, /Iterations +: 3/);
  assert.doesNotMatch(quietText, /ETA|run \d\/3/);
});

Deno.test("progressBarFor(): only for long work, on a terminal, without --quiet", () => {
  const terminal = { isTerminal: () => true, writeSync: (bytes: Uint8Array) => bytes.length };
  const pipe = { ...terminal, isTerminal: () => false };
  const long = { iterations: 5, commands: 1 };
  const bar = progressBarFor({}, long, { stderr: terminal });
  assert.ok(bar instanceof ProgressBar);
  bar.finish();
  assert.equal(progressBarFor({ quiet: true }, long, { stderr: terminal }), undefined);
  assert.equal(progressBarFor({}, long, { stderr: pipe }), undefined);
  assert.equal(progressBarFor({}, { commands: 1 }, { stderr: terminal }), undefined);
  for (const shape of [{ minTimeSeconds: 2 }, { warmup: 1 }, { idleSeconds: 1 }, { commands: 2 }]) {
    const other = progressBarFor({}, { commands: 1, ...shape }, { stderr: terminal });
    assert.ok(other !== undefined, JSON.stringify(shape));
    other.finish();
  }
});

Deno.test("ProgressBar: run i/N, elapsed, ETA from the runs' pace, mean of the CPU total", () => {
  let written = "";
  const bar = new ProgressBar({
    refreshMs: 0,
    columns: 200,
    writer: { writeSync: (bytes) => (written += new TextDecoder().decode(bytes), bytes.length) },
  });
  const done = run(0);
  done.phases[0]!.metrics = [
    { name: "PACKAGE-0", value: 2_000_000, unit: "µJ", source: "R", details: { total: "cpu" } },
  ];
  done.phases[1]!.metrics = [
    { name: "PACKAGE-0", value: 1_000_000, unit: "µJ", source: "R", details: { total: "cpu" } },
  ];
  bar.handle({ stage: "run-start", done: 0, total: 4, elapsedMs: 0 });
  assert.match(bar.text(), /^run 1\/4 \[░{12}\] 0 % · elapsed .* · ETA \?/);
  bar.handle({ stage: "run-end", done: 1, total: 4, elapsedMs: 500, run: done, command: 0 });
  assert.match(bar.text(), /^run 1\/4 \[█{3}░{9}\] 25 % · elapsed 50\d\.\d ms · ETA 1\.\d{3} s/);
  assert.match(bar.text(), /PACKAGE-0 3\.000 J mean$/);
  written = "";
  bar.printAbove("warning: run 2 exited with code 1");
  assert.ok(
    written.startsWith("\r\u001b[Kwarning: run 2 exited with code 1\n\rrun 1/4"),
    "a warning goes above the bar, which is drawn again",
  );
  bar.finish();
  assert.ok(written.endsWith("\r\u001b[K"), "finish() erases the line");
});

Deno.test("a counter that never moved: totals mark it, the progress bar shows a live one instead", () => {
  const frozen = { total: "platform", not_updating: true as const };
  const done = run(0);
  for (const each of done.phases) {
    each.metrics = [
      { name: "PSYS", value: 0, unit: "µJ", source: "A", details: frozen },
      { name: "GPU-0", value: 1_500_000, unit: "µJ", source: "G" },
    ];
  }
  const totals = runTotals(done).energy;
  assert.equal(totals.find((entry) => entry.name === "PSYS")!.notUpdating, true);
  assert.equal(totals.find((entry) => entry.name === "GPU-0")!.notUpdating, undefined);
  // Across runs: frozen in one run is enough for the figure to be no measurement.
  const live = run(1);
  for (const each of live.phases) {
    each.metrics = [{
      name: "PSYS",
      value: 5,
      unit: "µJ",
      source: "A",
      details: { total: "platform" },
    }];
  }
  const statistics = totalsStatistics({
    command: ["x"],
    tokenPattern: "x",
    exitCode: 0,
    durationMs: 40,
    interrupted: false,
    runs: [live, done],
  })!;
  assert.equal(statistics.energy.find((entry) => entry.name === "PSYS")!.notUpdating, true);
  const bar = new ProgressBar({
    refreshMs: 0,
    columns: 200,
    writer: { writeSync: (bytes) => bytes.length },
  });
  bar.handle({ stage: "run-end", done: 1, total: 2, elapsedMs: 100, run: done, command: 0 });
  assert.match(bar.text(), /GPU-0 3\.000 J mean$/);
});

Deno.test("repeated runs do not echo the program's output; a single run does", async () => {
  const program = ["sh", "-c", "echo program-says-hello; echo __A__"];
  const single = await runCli(["profile", "--", ...program]);
  assert.equal(single.code, 0, single.stderr);
  assert.match(single.stdoutText, /^program-says-hello$/m);
  const repeated = await runCli(["profile", "-n", "3", "--", ...program]);
  assert.equal(repeated.code, 0, repeated.stderr);
  assert.doesNotMatch(repeated.stdoutText, /^program-says-hello$/m);
  assert.match(repeated.stdoutText, /Phase: START -> __A__/, "tokens are still found");
  const shown = await runCli(["profile", "-n", "3", "--show-output", "--", ...program]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stdoutText.match(/^program-says-hello$/gm)?.length, 3);
  const quiet = await runCli(["profile", "--quiet-output", "--", ...program]);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stdoutText, /^program-says-hello$/m);
  assert.match(quiet.stdoutText, /Phase: START -> __A__/);
  const both = await runCli(["profile", "--show-output", "--quiet-output", "--", ...program]);
  assert.equal(both.code, 2);
  assert.equal(echoesProgramOutput({ showOutput: true }, { iterations: 3, commands: 1 }), true);
  assert.equal(echoesProgramOutput({ quietOutput: true }, { commands: 1 }), false);
  assert.equal(echoesProgramOutput({}, { warmup: 1, commands: 1 }), false);
});

Deno.test("--idle without an energy source says so before idling, and skips the measurement", async () => {
  const root = await Deno.makeTempDir({ prefix: "jp-no-rapl-" });
  const env = {
    JOULE_PROFILER_EVENT_SOURCE_PATH: root,
    JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
  };
  const out = await runCli(["--json", "-o", "-", "profile", "--idle", "30", "--", "true"], {
    env,
  });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, /--idle 30: no source measures energy.*skipping the idle measurement/);
  const document = JSON.parse(out.stdoutText);
  assert.equal(document.idle, undefined, "30 s of idling were not spent");
});

Deno.test("timeline title says what it shows when there is no power series", () => {
  const sampled = run(0);
  sampled.samples = [{
    name: "CPU",
    unit: "%",
    source: "process",
    timesNs: Float64Array.of(1e9, 1.01e9),
    values: Float64Array.of(10, 20),
  }];
  const base = {
    command: ["true"],
    tokenPattern: "__X__",
    exitCode: 0,
    durationMs: 20,
    interrupted: false,
  };
  const withoutPower = timelineHtml({ ...base, runs: [sampled] });
  assert.match(withoutPower, /<h1>Timeline of phases, CPU and memory<\/h1>/);
  assert.match(withoutPower, /no power was recorded/);
  sampled.samples.push({ ...sampled.samples[0]!, name: "PACKAGE-0", unit: "W" });
  assert.match(timelineHtml({ ...base, runs: [sampled] }), /<h1>Power timeline<\/h1>/);
});

Deno.test("--all-phases lists every phase of a long run; by default it is summarised", async () => {
  const program = ["sh", "-c", "i=0; while [ $i -lt 60 ]; do echo __I__; i=$((i+1)); done"];
  const summary = await runCli(["profile", "--quiet-output", "--", ...program]);
  assert.equal(summary.code, 0, summary.stderr);
  assert.match(summary.stdoutText, /61 phases, more than 50 per run/);
  assert.match(summary.stdoutText, /│ __I__ -> __I__ \(× 59\) +│/);
  const all = await runCli(["profile", "--quiet-output", "--all-phases", "--", ...program]);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.stdoutText.match(/║ Phase: /g)?.length, 61);
});
