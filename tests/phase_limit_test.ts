import assert from "node:assert/strict";
import { Logger } from "../src/logger.ts";
import { DiscardSink } from "../src/process/byte_sink.ts";
import { defaultMaxPhases, JouleProfiler, validateProfileConfig } from "../src/profiler.ts";
import { twoSocketZones, writeFakePowercap } from "./fixtures/fake_powercap.ts";
import { UsageError } from "../src/errors.ts";
import { compileC, REPO_ROOT, runCli } from "./helpers.ts";

class CollectingSink extends DiscardSink {
  text = "";
  override write(bytes: Uint8Array): void {
    super.write(bytes);
    this.text += new TextDecoder().decode(bytes);
  }
}

Deno.test("maxPhases stops measuring new boundaries, warns, and still passes the output on", async () => {
  const lines: string[] = [];
  const sink = new CollectingSink();
  const result = await new JouleProfiler().profile({
    command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do echo __A__; done; echo tail"],
    maxPhases: 3,
    stdout: sink,
    logger: new Logger(0, (line) => lines.push(line)),
  });
  const phases = result.runs[0]!.phases;
  assert.deepEqual(phases.map((phase) => phase.name), [
    "START -> __A__",
    "__A__ -> __A__",
    "__A__ -> END",
  ]);
  assert.equal(sink.text, `${"__A__\n".repeat(8)}tail\n`, "every byte passed on");
  assert.equal(lines.filter((line) => /reached 3 phases \(--max-phases\)/.test(line)).length, 1);
  assert.ok(lines.some((line) => /6 token\(s\) past --max-phases not measured/.test(line)));
});

Deno.test("the phase limit is checked: an integer from 1 to 100,000,000", () => {
  for (const bad of [0, -1, 2.5, 1e9, Number.NaN]) {
    assert.throws(
      () => validateProfileConfig({ command: ["true"], maxPhases: bad }),
      (error: unknown) =>
        error instanceof UsageError && /from 1 to 100000000, got/.test(error.message),
    );
  }
  validateProfileConfig({ command: ["true"], maxPhases: 1 });
});

for (const format of ["json", "csv"]) {
  Deno.test(`2 M tokens in ${format.toUpperCase()} mode stay under 300 MB with the default limit`, async () => {
    const empty = await Deno.makeTempDir();
    const out = await runCli([
      "-v",
      `--${format}`,
      "-o",
      `r.${format}`,
      "profile",
      "--stdout-file",
      "/dev/null",
      "--",
      "sh",
      "-c",
      "yes __A__ | head -n 2000000",
    ], { env: { JOULE_PROFILER_EVENT_SOURCE_PATH: empty, JOULE_PROFILER_RAPL_PATH: empty } });
    assert.equal(out.code, 0, out.stderr);
    const rss = Number(/profiler peak RSS ([\d.]+) MiB/.exec(out.stderr)?.[1]);
    assert.ok(rss * 1.048576 < 300, `peak RSS ${rss} MiB`);
    assert.match(out.stderr, /past --max-phases not measured/);
  });
}

Deno.test("profile --max-phases N stops measuring after N phases, with a warning", async () => {
  const out = await runCli([
    "--json",
    "-o",
    "-",
    "profile",
    "--max-phases",
    "2",
    "--",
    "sh",
    "-c",
    "echo __A__; echo __B__; echo __C__",
  ]);
  assert.equal(out.code, 0, out.stderr);
  const document = JSON.parse(out.stdoutText);
  assert.deepEqual(
    document.phases.map((phase: { start_token: string; end_token: string }) =>
      `${phase.start_token} -> ${phase.end_token}`
    ),
    ["START -> __A__", "__A__ -> END"],
  );
  assert.match(out.stderr, /reached 2 phases \(--max-phases\)/);
  assert.match(out.stderr, /2 token\(s\) past --max-phases not measured/);
});

Deno.test("the default phase limit shrinks with the sensors, never below 1,000", () => {
  assert.equal(defaultMaxPhases(0), 150_000);
  assert.equal(defaultMaxPhases(7), 33_288);
  let previous = Infinity;
  for (let sensors = 0; sensors < 200; sensors++) {
    const limit = defaultMaxPhases(sensors);
    assert.ok(limit <= previous && limit >= 1_000);
    previous = limit;
  }
});

Deno.test("1 M tokens with two fake RAPL sockets (7 sensors) stay under 300 MB in CSV", async () => {
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, twoSocketZones());
  // With the runtime flags the binary and `deno task start` use (deno.json).
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--max-semi-space-size=4",
      `${REPO_ROOT}main.ts`,
      "-v",
      "--no-process",
      "--no-system",
      "--csv",
      "-o",
      "r.csv",
      "profile",
      "--stdout-file",
      "/dev/null",
      "--",
      "sh",
      "-c",
      "yes __A__ | head -n 1000000",
    ],
    cwd: await Deno.makeTempDir(),
    env: {
      NO_COLOR: "1",
      JOULE_PROFILER_EVENT_SOURCE_PATH: await Deno.makeTempDir(),
      JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
    },
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  assert.match(stderr, /reached 33288 phases/);
  const rss = Number(/profiler peak RSS ([\d.]+) MiB/.exec(stderr)?.[1]);
  assert.ok(rss * 1.048576 < 300, `peak RSS ${rss} MiB`);
});

Deno.test("10 M tokens with the default sources (RAPL, process, system) stay under 300 MB", async () => {
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, twoSocketZones());
  const generator = await compileC("tests/fixtures/output_generator.c");
  for (const format of ["json", "csv"]) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--max-semi-space-size=4",
        `${REPO_ROOT}main.ts`,
        "-v",
        `--${format}`,
        "-o",
        `r.${format}`,
        "profile",
        "--stdout-file",
        "/dev/null",
        "--",
        generator,
        "tokens",
        "10000000",
      ],
      cwd: await Deno.makeTempDir(),
      env: {
        NO_COLOR: "1",
        JOULE_PROFILER_EVENT_SOURCE_PATH: await Deno.makeTempDir(),
        JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
      },
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.match(stderr, /reached \d+ phases/);
    const rss = Number(/profiler peak RSS ([\d.]+) MiB/.exec(stderr)?.[1]);
    assert.ok(rss * 1.048576 < 300, `${format}: peak RSS ${rss} MiB`);
  }
});
