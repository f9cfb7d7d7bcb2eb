import assert from "node:assert/strict";
import { Logger } from "../src/logger.ts";
import { DiscardSink } from "../src/process/byte_sink.ts";
import { defaultMaxPhases, JouleProfiler, validateProfileConfig } from "../src/profiler.ts";
import { twoSocketZones, writeFakePowercap } from "./fixtures/fake_powercap.ts";
import { UsageError } from "../src/errors.ts";
import { CLI_ENTRY, compileC, runCli } from "./helpers.ts";

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
  // Two RAPL sockets (7 energy sensors, 8 derived metrics).
  assert.equal(defaultMaxPhases(15), 28_149);
  // Two RAPL sockets with the process and system sources on a 2-CPU machine.
  assert.equal(defaultMaxPhases(38), 11_781);
  // The terminal layout builds every phase's lines at once: as many as before compact storage.
  assert.equal(defaultMaxPhases(38, { terminal: true }), 6_743);
  let previous = Infinity;
  for (let sensors = 0; sensors < 200; sensors++) {
    const limit = defaultMaxPhases(sensors);
    assert.ok(limit <= previous && limit >= 1_000);
    previous = limit;
  }
});

/**
 * The CLI with the runtime flags the binary and `deno task start` use (deno.json), a fake
 * two-socket powercap tree and no perf PMU; `-v`, so it reports its peak RSS.
 */
async function profileWithTwoSockets(
  args: string[],
  cwd?: string,
): Promise<{ code: number; stderr: string; rss: number }> {
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, twoSocketZones());
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--max-semi-space-size=4", `${CLI_ENTRY}`, "-v", ...args],
    cwd: cwd ?? await Deno.makeTempDir(),
    env: {
      NO_COLOR: "1",
      JOULE_PROFILER_EVENT_SOURCE_PATH: await Deno.makeTempDir(),
      JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
    },
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  const rss = Number(/profiler peak RSS ([\d.]+) MiB/.exec(stderr)?.[1]);
  return { code: output.code, stderr, rss };
}

Deno.test("1 M tokens with two fake RAPL sockets (7 sensors) stay under 300 MB in CSV", async () => {
  const { code, stderr, rss } = await profileWithTwoSockets([
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
  ]);
  assert.equal(code, 0, stderr);
  // 7 energy sensors and their 8 derived metrics (an average power each, the energy-delay product).
  assert.match(stderr, /reached 28149 phases/);
  assert.ok(rss * 1.048576 < 300, `peak RSS ${rss} MiB`);
});

Deno.test("10 M tokens with the default sources (RAPL, process, system) stay under 300 MB", async () => {
  const generator = await compileC("tests/fixtures/output_generator.c");
  for (const format of ["json", "csv"]) {
    const { code, stderr, rss } = await profileWithTwoSockets([
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
    ]);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /reached \d+ phases/);
    assert.ok(rss * 1.048576 < 300, `${format}: peak RSS ${rss} MiB`);
  }
});

Deno.test("100,000 phases with the default sources and two RAPL sockets: metrics kept compactly", async () => {
  const generator = await compileC("tests/fixtures/output_generator.c");
  const cwd = await Deno.makeTempDir();
  const { code, stderr, rss } = await profileWithTwoSockets([
    "--csv",
    "-o",
    "r.csv",
    "profile",
    "--max-phases",
    "1000000",
    "--stdout-file",
    "/dev/null",
    "--",
    generator,
    "tokens",
    "100000",
  ], cwd);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /run 1: 100001 phases/);
  // The file is over a gigabyte: its end says the last phases kept their metrics.
  const file = await Deno.open(`${cwd}/r.csv`);
  const tail = new Uint8Array(65_536);
  await file.seek(-tail.length, Deno.SeekMode.End);
  const read = (await file.read(tail)) ?? 0;
  file.close();
  await Deno.remove(cwd, { recursive: true });
  const text = new TextDecoder().decode(tail.subarray(0, read));
  assert.match(text, /\n99999;"__T\d+__ -> __T\d+__";[\d.]+;PACKAGE-1;[\d.]+;µJ;RAPL/);
  assert.match(text, /\n100000;"__T\d+__ -> END";[\d.]+;SYSTEM_CPU_TIME;\d+;ns;system;/);
  // 4.6 million metrics were 870 MiB as objects; kept compactly they are a small part of this.
  // The target is 300 MB (286 MiB): ~205 MiB measured once the post-run steps and the writers
  // stopped turning rebuilt metrics and held CSV pieces into old garbage (354-400 MiB before).
  assert.ok(rss <= 286, `peak RSS ${rss} MiB`);
});
