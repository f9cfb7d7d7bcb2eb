import assert from "node:assert/strict";
import { JouleProfiler } from "../src/profiler.ts";
import { Logger } from "../src/logger.ts";
import { DiscardSink } from "../src/process/byte_sink.ts";
import { ProfilerError, UsageError } from "../src/errors.ts";
import { splitShellWords } from "../src/cli/shell_words.ts";
import { idleBaseline, idleWindows } from "../src/idle_measurement.ts";
import { reviewMessages } from "../src/stats/run_review.ts";
import { runCli } from "./helpers.ts";
import { phase, run } from "./fixtures.ts";
import type { Metric, Sensor, Source } from "../src/source.ts";

/** Warnings go to a list instead of stderr. */
function quietLogger(warnings: string[] = []): Logger {
  const logger = new Logger(0);
  logger.warn = (message: string) => void warnings.push(message);
  return logger;
}

Deno.test("warm-up runs, prepare and cleanup hooks, and A B A B interleaving, in order", async () => {
  const cwd = await Deno.makeTempDir();
  const log = `${cwd}/log`;
  const program = (name: string) => ["sh", "-c", `echo ${name} >> "${log}"; echo __W__`];
  const results = await new JouleProfiler().profileCommands({
    commands: [{ command: program("A"), name: "a" }, { command: program("B"), name: "b" }],
    iterations: 2,
    warmup: 1,
    prepare: `echo prepare >> "${log}"; echo 'hook stdout goes to stderr'`,
    cleanup: `echo cleanup >> "${log}"`,
    stdout: new DiscardSink(),
    logger: quietLogger(),
    handleSignals: false,
  });
  const order = (await Deno.readTextFile(log)).trim().split("\n");
  const cycle = (name: string) => ["prepare", name, "cleanup"];
  // Warm-up round, then two measured rounds, each A then B.
  assert.deepEqual(order, [1, 2, 3].flatMap(() => [...cycle("A"), ...cycle("B")]));
  assert.deepEqual(results.map((result) => result.runs.length), [2, 2]);
  assert.deepEqual(results.map((result) => result.name), ["a", "b"]);
  assert.deepEqual(results.map((result) => result.warmupRuns), [1, 1]);
  assert.deepEqual(results[0]!.runs.map((run) => run.index), [0, 1]);
});

Deno.test("--min-runs and --min-time extend the runs until both are met", async () => {
  const profiler = new JouleProfiler();
  const common = { stdout: new DiscardSink(), logger: quietLogger(), handleSignals: false };
  const byRuns = await profiler.profile({ ...common, command: ["true"], minRuns: 4 });
  assert.equal(byRuns.runs.length, 4);
  const byTime = await profiler.profile({
    ...common,
    command: ["sleep", "0.05"],
    minRuns: 2,
    minTimeSeconds: 0.3,
  });
  const measured = byTime.runs.reduce((total, run) => total + run.durationMs, 0);
  assert.ok(measured >= 300, `${measured} ms measured`);
  assert.ok(byTime.runs.length >= 5 && byTime.runs.length <= 8, `${byTime.runs.length} runs`);
  assert.equal(byTime.durationMs, measured);
});

Deno.test("a failing --prepare stops the profile before the program runs", async () => {
  const cwd = await Deno.makeTempDir();
  await assert.rejects(
    new JouleProfiler().profile({
      command: ["sh", "-c", `touch "${cwd}/ran"`],
      prepare: "exit 3",
      stdout: new DiscardSink(),
      logger: quietLogger(),
      handleSignals: false,
    }),
    (error: unknown) =>
      error instanceof ProfilerError &&
      /--prepare 'exit 3' exited with code 3; profile stopped/.test(error.message),
  );
  await assert.rejects(Deno.stat(`${cwd}/ran`), Deno.errors.NotFound);
});

Deno.test("invalid repetition settings are usage errors", async () => {
  const profiler = new JouleProfiler();
  for (
    const settings of [{ warmup: -1 }, { minRuns: 0 }, { minTimeSeconds: NaN }, { idleSeconds: 0 }]
  ) {
    await assert.rejects(
      profiler.profile({ command: ["true"], ...settings }),
      UsageError,
      JSON.stringify(settings),
    );
  }
});

/** A source whose energy counter advances at a fixed power in real time. */
class ConstantPowerSource implements Source<number> {
  readonly name = "constant";
  #last = 0;
  constructor(readonly watts: number) {}
  #now(): number {
    return performance.now();
  }
  measure(): void {}
  retrieve(): number {
    const now = this.#now();
    const elapsed = this.#last === 0 ? 0 : now - this.#last;
    this.#last = now;
    return elapsed;
  }
  sensors(): Sensor[] {
    return [{ name: "ENERGY", unit: "mJ", source: this.name }];
  }
  toMetrics(elapsedMs: number): Metric[] {
    // W × ms = mJ.
    return [{ name: "ENERGY", value: this.watts * elapsedMs, unit: "mJ", source: this.name }];
  }
}

Deno.test("--idle measures power over windows through the same sources", async () => {
  assert.deepEqual(idleWindows(5), { count: 10, seconds: 0.5 });
  assert.deepEqual(idleWindows(0.1), { count: 2, seconds: 0.05 });
  const profiler = new JouleProfiler().addSource(new ConstantPowerSource(12));
  const result = await profiler.profile({
    command: ["sh", "-c", "echo __W__; sleep 0.05"],
    idleSeconds: 0.4,
    stdout: new DiscardSink(),
    logger: quietLogger(),
    handleSignals: false,
  });
  const idle = result.idle!;
  assert.equal(idle.windows, 4);
  assert.ok(Math.abs(idle.durationMs - 400) < 40, `${idle.durationMs} ms`);
  const power = idle.power.find((entry) => entry.name === "ENERGY")!;
  // Boundary-to-boundary timing differs from the source's own clock by
  // well under a millisecond per 100 ms window.
  assert.ok(Math.abs(power.meanW - 12) < 0.5, `${power.meanW} W`);
  assert.equal(power.n, 4);
});

Deno.test("idleBaseline keeps only the windows between two idle marks", () => {
  const window = (start: string, end: string, ms: number, joules: number) =>
    phase(0, start, end, {
      durationMs: ms,
      metrics: [{ name: "PKG", value: joules * 1e6, unit: "µJ", source: "s" }],
    });
  const mark = "__JOULE_PROFILER_IDLE__";
  const baseline = idleBaseline({
    ...run(0),
    phases: [
      window("START", mark, 5, 100), // shell start-up: excluded
      window(mark, mark, 100, 1), // 10 W
      window(mark, mark, 100, 1.2), // 12 W
      window(mark, "END", 3, 100), // exit: excluded
    ],
  });
  assert.equal(baseline.windows, 2);
  assert.equal(baseline.durationMs, 200);
  const [power] = baseline.power;
  assert.ok(Math.abs(power!.meanW - 11) < 1e-9);
  assert.ok(Math.abs(power!.stddevW - Math.SQRT2) < 1e-9); // s of {10, 12}
});

Deno.test("short phases and outlier runs are warned about", () => {
  const tiny = (index: number, ms: number) => ({
    ...run(index),
    durationMs: ms,
    phases: [phase(0, "START", "__TINY__", {
      durationMs: ms,
      metrics: [{ name: "PACKAGE-0", value: 100 * ms, unit: "µJ", source: "RAPL (Powercap)" }],
    })],
  });
  const messages = reviewMessages({
    command: ["x"],
    tokenPattern: "",
    exitCode: 0,
    durationMs: 0,
    interrupted: false,
    runs: [0.3, 0.31, 0.29, 0.3, 0.3, 3].map((ms, i) => tiny(i, ms)),
  });
  assert.equal(messages.length, 2, messages.join("\n"));
  assert.match(
    messages[0]!,
    /^phase START -> __TINY__ \(0\.750 ms\) lasts less than the ~1 ms update interval of RAPL \(Powercap\) on average/,
  );
  // Many short phases: one message that counts them and names a few.
  const many = reviewMessages({
    command: ["x"],
    tokenPattern: "",
    exitCode: 0,
    durationMs: 0,
    interrupted: false,
    runs: [{
      ...tiny(0, 0.5),
      phases: Array.from({ length: 1000 }, () => tiny(0, 0.5).phases[0]!),
    }],
  });
  assert.equal(many.length, 1, many.join("\n"));
  assert.match(
    many[0]!,
    /^1000 phases \(e\.g\. START -> __TINY__ \(0\.500 ms\), .*\) last less than/,
  );
  assert.match(
    messages[1]!,
    /outliers by median absolute deviation: run 6 \(duration, PACKAGE-0\)/,
  );
});

Deno.test("--command strings are split like a shell would, without one", () => {
  assert.deepEqual(splitShellWords(`python3 -c 'print("__A__")' "two words" a\\ b`), [
    "python3",
    "-c",
    'print("__A__")',
    "two words",
    "a b",
  ]);
  assert.deepEqual(splitShellWords(`say "a \\"quoted\\" word"`), ["say", 'a "quoted" word']);
  assert.throws(() => splitShellWords("a | b"), /uses shell syntax \(\|\)/);
  assert.throws(() => splitShellWords("echo $HOME"), /shell syntax \(\$\)/);
  assert.throws(() => splitShellWords("echo 'open"), /unbalanced '/);
  assert.throws(() => splitShellWords("   "), /empty --command/);
});

Deno.test("profile with several --command: interleaved runs, labelled JSON, CSV and Markdown", async () => {
  const cwd = await Deno.makeTempDir();
  const program = (name: string, seconds: number) =>
    `sh -c 'echo ${name} >> order; echo __W__; sleep ${seconds}'`;
  const out = await runCli([
    "--json",
    "-o",
    "both.json",
    "profile",
    "-n",
    "3",
    "--command",
    program("A", 0.01),
    "--command",
    program("B", 0.04),
    "--command-name",
    "quick",
    "--command-name",
    "slow",
    "--export-markdown",
    "both.md",
  ], { cwd });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(await Deno.readTextFile(`${cwd}/order`), "A\nB\nA\nB\nA\nB\n");
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/both.json`));
  assert.deepEqual(document.commands.map((c: { name: string }) => c.name), ["quick", "slow"]);
  assert.equal(document.commands[0].nb_iterations, 3);
  assert.equal(document.commands[0].statistics[1].duration_ms.n, 3);
  const [comparison] = document.comparisons;
  assert.equal(comparison.baseline, "quick");
  assert.equal(comparison.candidate, "slow");
  const work = comparison.phases.find((p: { name: string }) => p.name === "__W__ -> END");
  const duration = work.metrics.find((m: { name: string }) => m.name === "Duration");
  assert.ok(duration.ratio > 2, `ratio ${duration.ratio}`);
  assert.ok(duration.significant);
  const markdown = await Deno.readTextFile(`${cwd}/both.md`);
  assert.match(markdown, /## `quick`/);
  assert.match(markdown, /## `slow` compared with `quick`/);
  assert.match(
    markdown,
    /- slow took \d\.\d\d ± \d\.\d\d × the time of quick in phase __W__ -> END/,
  );

  const csv = await runCli([
    "--csv",
    "-o",
    "-",
    "profile",
    "--command",
    "true",
    "--command",
    "sh -c 'echo __X__'",
  ], { cwd });
  assert.equal(csv.code, 0, csv.stderr);
  const lines = csv.stdoutText.trim().split("\n");
  assert.match(lines[0]!, /^command_name;iteration_id;phase_id;phase_name;/);
  assert.equal(lines.filter((line) => line.startsWith("command_name")).length, 1, "one header");
  assert.ok(lines.some((line) => line.startsWith("true;0;")));
  assert.ok(lines.some((line) => line.startsWith("sh -c echo __X__;0;")));
});

Deno.test("profile -n prints mean ± σ and min … max; JSON carries per-run values and statistics", async () => {
  const cwd = await Deno.makeTempDir();
  const terminal = await runCli(
    ["profile", "-n", "3", "--warmup", "1", "--", "sh", "-c", "echo __W__; sleep 0.01"],
    { cwd },
  );
  assert.equal(terminal.code, 0, terminal.stderr);
  assert.match(terminal.stdoutText, /Warm-up runs\s+: 1 \(discarded\)/);
  assert.match(terminal.stdoutText, /Per run\s+Mean ± σ\s+Min … Max/);
  assert.match(terminal.stdoutText, /Duration\s+[\d.]+ ± [\d.]+ [µm]?s\s+[\d.]+ … [\d.]+ [µm]?s/);
  assert.match(
    terminal.stdoutText,
    /Duration +: [\d.]+ ± [\d.]+ [µm]?s {2}\([\d.]+ … [\d.]+ [µm]?s\)/,
  );
  const json = await runCli(
    ["--json", "-o", "-", "profile", "-n", "3", "--warmup", "2", "--", "sh", "-c", "echo __W__"],
    { cwd },
  );
  assert.equal(json.code, 0, json.stderr);
  const document = JSON.parse(json.stdoutText);
  assert.equal(document.warmup_runs, 2);
  assert.equal(document.iterations.length, 3);
  const [first] = document.statistics;
  assert.deepEqual(Object.keys(first.duration_ms), [
    "n",
    "mean",
    "stddev",
    "median",
    "min",
    "max",
    "ci95",
    "outlier_iterations",
  ]);
  const durations = document.iterations.map((run: { phases: { duration_ms: number }[] }) =>
    run.phases[0]!.duration_ms
  );
  assert.equal(first.duration_ms.min, Math.min(...durations));
});

Deno.test("bad repetition flags get one line and exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["profile", "--warmup", "-1", "--", "true"], /--warmup must be an integer ≥ 0/],
    [["profile", "--min-runs", "0", "--", "true"], /--min-runs must be a positive integer/],
    [["profile", "--min-time", "soon", "--", "true"], /--min-time must be a number of seconds/],
    [["profile", "--idle", "0", "--", "true"], /--idle must be a number of seconds > 0/],
    [["profile", "--command", "true", "--", "true"], /either after -- or with --command/],
    [
      ["profile", "--command", "true", "--command", "false", "--command-name", "x"],
      /1 --command-name for 2 --command/,
    ],
    [["profile", "--command", "a | b"], /uses shell syntax/],
    [
      ["profile", "--command", "true", "--command", "false", "--timeline", "t.html"],
      /--timeline and --samples-csv take one command/,
    ],
    [["profile"], /missing command/],
  ];
  for (const [args, message] of cases) {
    const out = await runCli(args);
    assert.equal(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, message);
    assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
  }
});

Deno.test("whileHeld: the caller's set-up runs while each run's program is held, before START", async () => {
  const cwd = await Deno.makeTempDir();
  const log = `${cwd}/log`;
  await Deno.writeTextFile(log, "");
  const linesSeen: number[] = [];
  const results = await new JouleProfiler().profileCommands({
    commands: [{ command: ["sh", "-c", `echo ran >> "${log}"; echo __W__`] }],
    iterations: 2,
    stdout: new DiscardSink(),
    logger: quietLogger(),
    handleSignals: false,
    whileHeld: async () => {
      // Long enough for a program that was not held to have run.
      await new Promise((resolve) => setTimeout(resolve, 100));
      linesSeen.push((await Deno.readTextFile(log)).split("\n").length - 1);
    },
  });
  // Each run's set-up settled before that run's program wrote its line.
  assert.deepEqual(linesSeen, [0, 1]);
  assert.equal(results[0]!.runs.length, 2);
  // A failing set-up is the caller's to report: the run itself goes on.
  const after = await new JouleProfiler().profile({
    command: ["true"],
    stdout: new DiscardSink(),
    logger: quietLogger(),
    handleSignals: false,
    whileHeld: () => Promise.reject(new Error("not loaded")),
  });
  assert.equal(after.runs.length, 1);
  await Deno.remove(cwd, { recursive: true });
});
