import assert from "node:assert/strict";
import { CLI_ENTRY, runCli } from "./helpers.ts";
import { validateProfileConfig, validateRunSettings } from "../src/profiler.ts";
import { writeFakePowercap } from "./fixtures/fake_powercap.ts";
import { NumericFile } from "../src/ffi/numeric_file.ts";
import { SyscallError } from "../src/ffi/libc.ts";
import { discoverPowercapZones } from "../sources/rapl/powercap_zones.ts";
import { PowercapSource } from "../sources/rapl/powercap_source.ts";

Deno.test("a failing --cleanup keeps the completed runs, warns and exits 125", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli([
    "--json",
    "-o",
    "r.json",
    "profile",
    "-n",
    "5",
    "--cleanup",
    "test -e stop && exit 3; touch stop",
    "--",
    "sh",
    "-c",
    "echo __A__",
  ], { cwd });
  assert.equal(out.code, 125, out.stderr);
  assert.match(
    out.stderr,
    /--cleanup '.*' exited with code 3; profile stopped; the completed runs are kept/,
  );
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  assert.equal(document.iterations.length, 2, "run 2 completed before its cleanup failed");
  assert.ok(document.iterations.every((run: { phases: unknown[] }) => run.phases.length === 2));
});

Deno.test("a failing --cleanup in a warm-up run (nothing to keep) stops with 125 and writes nothing", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(
    ["--json", "-o", "r.json", "profile", "--warmup", "1", "--cleanup", "exit 4", "--", "true"],
    { cwd },
  );
  assert.equal(out.code, 125, out.stderr);
  assert.match(out.stderr, /--cleanup 'exit 4' exited with code 4; profile stopped/);
  assert.equal(await Deno.stat(`${cwd}/r.json`).then(() => true, () => false), false);
});

/** Runs the CLI, killing it after `limitMs`: on a build that accepts absurd values it would run on. */
async function runBounded(args: string[], env: Record<string, string> = {}, limitMs = 20_000) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${CLI_ENTRY}`, ...args],
    cwd: await Deno.makeTempDir(),
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("library run settings of absurd magnitude are refused with their valid range", () => {
  const cases: [() => void, RegExp][] = [
    [
      () => validateRunSettings({ warmup: 2 ** 53 }),
      /warm-up runs must be an integer from 0 to 1000000/,
    ],
    [() => validateRunSettings({ idleSeconds: 1e300 }), /at most 3600 seconds/],
    [() => validateRunSettings({ minTimeSeconds: Infinity }), /from 0 to 604800 seconds/],
    [() => validateProfileConfig({ command: ["true"], iterations: 1e7 }), /from 1 to 1000000/],
    [
      () => validateProfileConfig({ command: ["true"], sampleIntervalMs: 1e300 }),
      /from 1 to 3600000/,
    ],
  ];
  for (const [call, message] of cases) assert.throws(call, message);
});

Deno.test("command-line values of absurd magnitude are refused with their valid range", async () => {
  const rapl = await Deno.makeTempDir();
  await writeFakePowercap(rapl, [{ id: "intel-rapl:0", name: "package-0" }]);
  const raplEnv = {
    JOULE_PROFILER_RAPL_PATH: `${rapl}/intel-rapl`,
    JOULE_PROFILER_EVENT_SOURCE_PATH: await Deno.makeTempDir(),
  };
  const cases: [string[], RegExp, Record<string, string>?][] = [
    [["-n", "9007199254740991"], /--iterations must be from 1 to 1000000, got '9007199254740991'/],
    [["-n", "99999999999999999999"], /--iterations must be from 1 to 1000000/],
    [["--warmup", "9007199254740991"], /--warmup must be from 0 to 1000000/],
    [["--min-runs", "5000000"], /--min-runs must be from 1 to 1000000/],
    [["--min-time", "1e300"], /--min-time must be from 0 to 604800/],
    [["--idle", "1e300"], /--idle must be from 0 to 3600/],
    [["--sample-interval", "1e12"], /--sample-interval must be from 1 to 3600000/],
    [["--rapl-polling", "1e300"], /--rapl-polling must be from 0 to 3600/, raplEnv],
    [
      ["--rapl-polling", "0.00001"],
      /--rapl-polling must be 0 \(off\) or from 0.001 to 3600/,
      raplEnv,
    ],
    [["--max-phases", "1000000000"], /--max-phases must be from 1 to 100000000/],
  ];
  for (const [flags, message, env] of cases) {
    const out = await runBounded(["--json", "-o", "-", "profile", ...flags, "--", "true"], env);
    assert.equal(out.code, 2, `${flags.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, message);
  }
});

Deno.test("NumericFile reads only a plain non-negative decimal integer, exactly", async () => {
  const directory = await Deno.makeTempDir();
  const open = async (content: string) => {
    const path = `${directory}/counter`;
    await Deno.writeTextFile(path, content);
    return NumericFile.open(path);
  };
  for (const bad of ["123abc\n", "12 34\n", "-5\n", "", "\n", "1e3\n", "0x10\n", " 7\n", "7\n\n"]) {
    const file = await open(bad);
    assert.throws(
      () => file.read(),
      (error: unknown) => error instanceof SyscallError && error.code === "EINVAL",
      JSON.stringify(bad),
    );
    file.close();
  }
  const long = await open(`${"9".repeat(40)}\n`);
  assert.throws(() => long.read(), /not a plain non-negative decimal integer/);
  long.close();
  const padded = await open("00012\n");
  assert.equal(padded.read(), 12);
  padded.close();
  const big = await open("18446744073709551615\n");
  assert.equal(big.readExact(), 18446744073709551615n);
  assert.throws(() => big.read(), (error: unknown) => (error as SyscallError).code === "ERANGE");
  big.close();
  const safe = await open(`${Number.MAX_SAFE_INTEGER}`);
  assert.equal(safe.readExact(), Number.MAX_SAFE_INTEGER);
  safe.close();
});

Deno.test("powercap deltas stay exact for counters past 2^53 (BigInt), across a wrap too", async () => {
  const root = await Deno.makeTempDir();
  const range = 2n ** 62n;
  const start = 2n ** 60n + 1n;
  const files = await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0" }]);
  await Deno.writeTextFile(`${root}/intel-rapl/intel-rapl:0/max_energy_range_uj`, `${range}\n`);
  const counter = files.get("intel-rapl:0")!;
  await Deno.writeTextFile(counter, `${start}\n`);
  const { zones } = discoverPowercapZones(`${root}/intel-rapl`);
  assert.equal(zones[0]!.maxEnergyRange, range);
  const source = new PowercapSource({ zones, pollingSeconds: 0 });
  await source.init();
  source.measure();
  await Deno.writeTextFile(counter, `${start + 1001n}\n`);
  source.measure();
  const energy = (row: number) => source.toMetrics(row).find((m) => m.name === "PACKAGE-0")!.value;
  assert.equal(energy(1), 1001, "2^60 + 1 → 2^60 + 1002");
  source.join();
  await Deno.writeTextFile(counter, `${range - 400n}\n`);
  source.init(); // a new run, close to the end of the range
  source.measure();
  await Deno.writeTextFile(counter, `${range - 300n}\n`);
  source.measure();
  // The counter wraps after `range` (range + 1 values): from range - 300 to 5 is 306 µJ.
  await Deno.writeTextFile(counter, "5\n");
  source.measure();
  assert.equal(energy(1), 100, "2^62 - 400 → 2^62 - 300");
  assert.equal(energy(2), 306, "across the wrap");
  source.join();
});
