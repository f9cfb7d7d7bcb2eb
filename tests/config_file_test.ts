import assert from "node:assert/strict";
import { applySettings, readConfigFile } from "../src/cli/config_file.ts";
import { parseCommandLine } from "../src/cli/arg_parser.ts";
import { selectSources } from "../src/cli/sources.ts";
import { SourceError, UsageError } from "../src/errors.ts";
import { JouleProfiler } from "../src/profiler.ts";
import type { Metric, Source } from "../src/source.ts";
import { writeFakePowercap } from "./fixtures/fake_powercap.ts";
import { listDir, runCli } from "./helpers.ts";

/** Parses a command line and applies --config/-D/--output-format, as main.ts does. */
async function settle(args: string[], env: Record<string, string> = {}) {
  const parsed = parseCommandLine(args);
  if (parsed.action !== "run") throw new Error("not a run");
  await applySettings(parsed, (name) => env[name]);
  return parsed;
}

async function configFile(text: string): Promise<string> {
  const path = `${await Deno.makeTempDir()}/joule.toml`;
  await Deno.writeTextFile(path, text);
  return path;
}

Deno.test("precedence: flags > -D > environment > config file > defaults", async () => {
  const file = await configFile(`iterations = 3\nwarmup = 2\n[rapl]\npath = "/from/config"\n`);
  const defaults = await settle(["profile", "--", "true"]);
  assert.equal(defaults.options.iterations, 1);
  const fromFile = await settle(["--config", file, "profile", "--", "true"]);
  assert.deepEqual([fromFile.options.iterations, fromFile.options.warmup], [3, 2]);
  assert.equal(fromFile.global.raplPath, "/from/config");
  const env = { JOULE_PROFILER_RAPL_PATH: "/from/env" };
  const withEnv = await settle(["--config", file, "profile", "--", "true"], env);
  assert.equal(withEnv.global.raplPath, undefined, "the environment variable wins over the file");
  const define = await settle(
    ["--config", file, "-D", "iterations=4", "-D", "rapl.path=/from/define", "profile", "--", "x"],
    env,
  );
  assert.deepEqual([define.options.iterations, define.global.raplPath], [4, "/from/define"]);
  const flags = await settle(
    [
      "--config",
      file,
      "-D",
      "iterations=4",
      "--rapl-path",
      "/from/flag",
      "profile",
      "-n",
      "5",
      "--",
      "x",
    ],
    env,
  );
  assert.deepEqual([flags.options.iterations, flags.global.raplPath], [5, "/from/flag"]);
  assert.equal(flags.options.warmup, 2, "keys the command line leaves alone still apply");
});

Deno.test("the file's source tables and shorthands map to the flags they stand for", async () => {
  const file = await configFile(`
json = true
output_file = "r.json"
sources = ["rapl", "perf"]
verbose = 1
parameter-list = [["N", "1,2"]]

[perf]
events = ["cycles", "task-clock"]

[nvml]
gpus = [0, 2]

[amdsmi]
gpus = [1]

[process]
enabled = false
`);
  const parsed = await settle(["--config", file, "profile", "--", "true"]);
  assert.equal(parsed.global.json, true);
  assert.equal(parsed.global.outputFile, "r.json");
  assert.deepEqual(parsed.global.sources, ["rapl", "perf"]);
  assert.equal(parsed.global.perfEvents, "cycles,task-clock");
  assert.deepEqual(parsed.global.gpus, [0, 2]);
  assert.deepEqual(parsed.global.amdGpus, [1]);
  assert.equal(parsed.global.process, false);
  assert.equal(parsed.global.verbose, 1);
  assert.deepEqual(parsed.options.parameterList, [{ name: "N", values: ["1", "2"] }]);
  // Profile keys are checked for every command, applied only to profile.
  const doctor = await settle(["--config", file, "doctor"]);
  assert.equal(doctor.options.parameterList, undefined);
});

Deno.test("bad files, keys and values are one-line usage errors naming the key and the file", async () => {
  const cases: [string, RegExp][] = [
    ["iterations = 3\nwarmup = [1,\nx = \n", /joule\.toml:3:\d+: bad TOML: /],
    ['a = "unterminated\n', /joule\.toml:1:\d+: bad TOML: /],
    ["iterations = 2\nbogus = 1\n", /joule\.toml: unknown key 'bogus'/],
    ["[rapl]\nfrequency = 3\n", /joule\.toml: unknown key 'rapl\.frequency'/],
    ["[amd]\nx = 1\n", /joule\.toml: unknown key 'amd'/],
    ["config = 'other.toml'\n", /unknown key 'config'/],
    ['iterations = "many"\n', /joule\.toml: 'iterations': --iterations must be a positive integer/],
    ["iterations = 2.5\n", /'iterations': --iterations must be a positive integer, got '2\.5'/],
    ['json = "yes"\n', /joule\.toml: 'json' must be true or false, got a string/],
    ["token-pattern = true\n", /'token-pattern' must be a string or a number, got a boolean/],
    ["rapl-backend = 'msr'\n", /'rapl-backend': 'msr' is not one of perf, powercap/],
    ["warmup = [1, 2]\n", /'warmup' takes one value, got an array/],
    ["[process]\nenabled = 1\n", /'process\.enabled' must be true or false, got a number/],
    ["json = true\ncsv = true\n", /--json and --csv cannot both be set/],
  ];
  for (const [text, message] of cases) {
    const file = await configFile(text);
    await assert.rejects(
      () => settle(["--config", file, "profile", "--", "true"]),
      (error: Error) => error instanceof UsageError && message.test(error.message),
      `${JSON.stringify(text)}`,
    );
  }
  await assert.rejects(
    () => readConfigFile("/nonexistent/joule.toml"),
    /--config: cannot read '\/nonexistent\/joule\.toml'/,
  );
  await assert.rejects(() => settle(["-D", "bogus=1", "profile", "--", "x"]), /-D: unknown key/);
  await assert.rejects(
    () => settle(["-D", "iterations=zero", "profile", "--", "x"]),
    /-D: 'iterations': --iterations must be a positive integer/,
  );
  assert.throws(() => parseCommandLine(["-D", "iterations", "profile", "--", "x"]), /KEY=VALUE/);
});

Deno.test("-D values are text: switches take true/false, several-value flags take spaces", async () => {
  const parsed = await settle([
    "-D",
    "perf.enabled=true",
    "-D",
    "system.enabled=false",
    "-D",
    "parameter-scan=N 1 3",
    "profile",
    "--",
    "x",
  ]);
  assert.equal(parsed.global.perf, true);
  assert.equal(parsed.global.system, false);
  assert.deepEqual(parsed.options.parameterScan, [{ name: "N", min: 1, max: 3 }]);
  await assert.rejects(() => settle(["-D", "json=maybe", "profile", "--", "x"]), /true or false/);
});

Deno.test("--output-format is --json/--csv by another name; contradictions are refused", async () => {
  assert.equal((await settle(["--output-format", "json", "profile", "--", "x"])).global.json, true);
  assert.equal((await settle(["--output-format", "csv", "profile", "--", "x"])).global.csv, true);
  const terminal = await settle(["--output-format", "terminal", "profile", "--", "x"]);
  assert.equal(terminal.global.json ?? false, false);
  await assert.rejects(
    () => settle(["--output-format", "csv", "--json", "profile", "--", "x"]),
    /--output-format csv contradicts --json/,
  );
  // A format from the file yields to a switch on the command line, and the reverse.
  const file = await configFile(`output-format = "csv"\n`);
  const overridden = await settle(["--config", file, "--json", "profile", "--", "x"]);
  assert.deepEqual([overridden.global.json, overridden.global.csv ?? false], [true, false]);
  const jsonFile = await configFile(`json = true\n`);
  const flagWins = await settle([
    "--config",
    jsonFile,
    "--output-format",
    "csv",
    "profile",
    "--",
    "x",
  ]);
  assert.deepEqual([flagWins.global.json, flagWins.global.csv], [false, true]);
});

Deno.test("--sources picks exactly the listed sources; the shorthands add theirs", () => {
  assert.deepEqual(selectSources({ verbose: 0 }), {
    rapl: "default",
    nvml: false,
    amdsmi: false,
    perf: false,
    process: true,
    system: true,
  });
  assert.deepEqual(selectSources({ verbose: 0, sources: ["process"], perf: true }), {
    rapl: false,
    nvml: false,
    amdsmi: false,
    perf: true,
    process: true,
    system: false,
  });
  const gpus = selectSources({ verbose: 0, sources: ["nvml"], gpu: true });
  assert.deepEqual([gpus.nvml, gpus.amdsmi], ["explicit", "any-gpu"]);
  assert.equal(selectSources({ verbose: 0, sources: ["rapl"] }).rapl, "explicit");
  assert.throws(
    () => selectSources({ verbose: 0, sources: ["process"], process: false }),
    /--sources lists process but --no-process turns it off/,
  );
  assert.throws(
    () => parseCommandLine(["--sources", "rapl,amd", "doctor"]),
    /unknown source 'amd' \(known: rapl, nvml, amdsmi, perf, process, system\)/,
  );
  assert.throws(() => parseCommandLine(["--sources", "rapl,", "doctor"]), /separated by commas/);
});

Deno.test("CLI: --sources process measures only the process tree; a listed source that cannot work stops before any run", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(["--sources", "process", "--json", "-o", "-", "profile", "--", "true"], {
    cwd,
  });
  assert.equal(out.code, 0, out.stderr);
  const sources = new Set(
    JSON.parse(out.stdoutText).phases.flatMap((phase: { metrics: Metric[] }) =>
      phase.metrics.map((metric) => metric.source)
    ),
  );
  assert.deepEqual([...sources], ["process"]);
  assert.doesNotMatch(out.stderr, /RAPL/, "RAPL was not asked for: no warning about it");

  const empty = await Deno.makeTempDir();
  const rapl = await runCli(
    ["--sources", "rapl,process", "profile", "--", "sh", "-c", "touch ran"],
    {
      cwd,
      env: { JOULE_PROFILER_RAPL_PATH: `${empty}/none`, JOULE_PROFILER_EVENT_SOURCE_PATH: empty },
    },
  );
  assert.notEqual(rapl.code, 0);
  assert.match(rapl.stderr, /^error: RAPL: not available on this machine/);
  assert.equal(rapl.stderr.trim().split("\n").length, 1, rapl.stderr);
  assert.deepEqual(await listDir(cwd), []);
});

Deno.test("CLI: a config file sets the run; flags and -D win; bad input exits 2 before any run", async () => {
  const cwd = await Deno.makeTempDir();
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0" }], "intel-rapl");
  const other = await Deno.makeTempDir();
  await writeFakePowercap(other, [{ id: "intel-rapl:0", name: "psys" }], "intel-rapl");
  await Deno.writeTextFile(
    `${cwd}/joule.toml`,
    `output-format = "json"\noutput-file = "-"\niterations = 2\n[rapl]\npath = "${root}/intel-rapl"\n`,
  );
  const env = { JOULE_PROFILER_EVENT_SOURCE_PATH: root };
  const energyNames = (text: string) => {
    const document = JSON.parse(text);
    const phases = document.iterations?.[0]?.phases ?? document.phases;
    return phases[0].metrics.filter((m: Metric) =>
      m.unit === "µJ" && m.details?.method === "measured"
    ).map((m: Metric) => m.name);
  };
  const fromFile = await runCli(["--config", "joule.toml", "profile", "--", "true"], { cwd, env });
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.equal(JSON.parse(fromFile.stdoutText).nb_iterations, 2);
  assert.deepEqual(energyNames(fromFile.stdoutText), ["PACKAGE-0"]);
  const fromEnv = await runCli(["--config", "joule.toml", "profile", "--", "true"], {
    cwd,
    env: { ...env, JOULE_PROFILER_RAPL_PATH: `${other}/intel-rapl` },
  });
  assert.deepEqual(energyNames(fromEnv.stdoutText), ["PSYS"], "environment over file");
  const fromDefine = await runCli(
    [
      "--config",
      "joule.toml",
      "-D",
      `rapl.path=${root}/intel-rapl`,
      "-D",
      "iterations=1",
      "profile",
      "--",
      "true",
    ],
    { cwd, env: { ...env, JOULE_PROFILER_RAPL_PATH: `${other}/intel-rapl` } },
  );
  assert.equal(fromDefine.code, 0, fromDefine.stderr);
  assert.deepEqual(energyNames(fromDefine.stdoutText), ["PACKAGE-0"], "-D over environment");
  assert.equal(JSON.parse(fromDefine.stdoutText).nb_iterations, undefined, "-D iterations=1");
  const fromFlag = await runCli(
    [
      "--config",
      "joule.toml",
      "-D",
      "iterations=1",
      "--rapl-path",
      `${other}/intel-rapl`,
      "profile",
      "-n",
      "3",
      "--",
      "true",
    ],
    { cwd, env },
  );
  assert.deepEqual(energyNames(fromFlag.stdoutText), ["PSYS"], "flag over everything");
  assert.equal(JSON.parse(fromFlag.stdoutText).nb_iterations, 3);

  const work = await Deno.makeTempDir();
  await Deno.writeTextFile(`${work}/bad.toml`, "iterations = 2\n\n[rapl\npath = 1\n");
  await Deno.writeTextFile(`${work}/key.toml`, "itterations = 2\n");
  for (
    const [args, message] of [
      [["--config", "bad.toml"], /^error: bad\.toml:3:\d+: bad TOML: /],
      [["--config", "key.toml"], /^error: key\.toml: unknown key 'itterations'/],
      [["-D", "iterations"], /^error: -D\/--define expects KEY=VALUE/],
      [["--output-format", "yaml"], /argument 'yaml' is invalid/],
    ] as [string[], RegExp][]
  ) {
    const out = await runCli([...args, "profile", "--", "sh", "-c", "touch ran"], { cwd: work });
    assert.equal(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, message);
    assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
    assert.deepEqual((await listDir(work)).sort(), ["bad.toml", "key.toml"], "nothing ran");
  }
});

/** A source whose `init` takes `delayMs`. */
class SlowSource implements Source<number> {
  readonly name: string;
  readonly #delayMs: number;
  /** `join()` calls: what the run took is released, also after a refusal. */
  joins = 0;
  constructor(name: string, delayMs: number) {
    this.name = name;
    this.#delayMs = delayMs;
  }
  init(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.#delayMs));
  }
  measure(): void {}
  join(): void {
    this.joins++;
  }
  retrieve(): number {
    return 0;
  }
  sensors() {
    return [];
  }
  toMetrics(): Metric[] {
    return [];
  }
}

Deno.test("--init-timeout refuses the run, naming the slow source; the held program never runs", async () => {
  const cwd = await Deno.makeTempDir();
  const quick = new SlowSource("quick", 1);
  const sluggish = new SlowSource("sluggish", 1500);
  const profiler = new JouleProfiler().addSource(quick).addSource(sluggish);
  const started = performance.now();
  await assert.rejects(
    () =>
      profiler.profile({
        command: ["sh", "-c", "touch ran"],
        cwd,
        initTimeoutSeconds: 0.2,
        handleSignals: false,
      }),
    (error: Error) =>
      error instanceof SourceError && error.source === "sluggish" &&
      /sluggish: not initialised after 0\.2 s \(--init-timeout\): run refused/.test(error.message),
  );
  assert.ok(performance.now() - started < 1400, "refused at the timeout, not after the source");
  assert.deepEqual([quick.joins, sluggish.joins], [1, 0], "the ready source released at once");
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(await listDir(cwd), [], "the program never started");
  // Within the limit, the run goes on.
  const fine = await new JouleProfiler().addSource(new SlowSource("quick", 10)).profile({
    command: ["true"],
    initTimeoutSeconds: 2,
    handleSignals: false,
  });
  assert.equal(fine.runs.length, 1);
  // The slow source is released once its init is over (its timer ends inside this test).
  await new Promise((resolve) => setTimeout(resolve, 1300));
  assert.equal(sluggish.joins, 1);
});

Deno.test("CLI: --init-timeout takes seconds > 0", async () => {
  const out = await runCli(["profile", "--init-timeout", "-1", "--", "true"]);
  assert.equal(out.code, 2);
  assert.match(out.stderr, /--init-timeout must be a number of seconds > 0, got '-1'/);
  const ok = await runCli(["--json", "-o", "-", "profile", "--init-timeout", "5", "--", "true"]);
  assert.equal(ok.code, 0, ok.stderr);
});
