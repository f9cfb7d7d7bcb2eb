import assert from "node:assert/strict";
import { parse as parseCsv } from "csv-parse/sync";
import {
  expandParameterScan,
  MAX_SCAN_COMMANDS,
  parseParameterList,
  parseParameterRange,
  rangeValues,
  scanParameters,
  substituteParameters,
  valueSets,
} from "../src/cli/parameter_scan.ts";
import { UsageError } from "../src/errors.ts";
import { parseResultFile } from "../src/output/json_reader.ts";
import { listDir, runCli } from "./helpers.ts";

Deno.test("a scan's values run from MIN to MAX by the step, without floating-point noise", () => {
  assert.deepEqual(rangeValues({ name: "N", min: 1, max: 3 }).values, ["1", "2", "3"]);
  assert.deepEqual(rangeValues({ name: "N", min: 0, max: 1 }, 0.1).values.at(-1), "1");
  assert.deepEqual(rangeValues({ name: "N", min: 0, max: 0.3 }, 0.1).values, [
    "0",
    "0.1",
    "0.2",
    "0.3",
  ]);
  assert.deepEqual(rangeValues({ name: "N", min: 1, max: 10 }, 4).values, ["1", "5", "9"]);
  assert.deepEqual(rangeValues({ name: "N", min: 2, max: 2 }).values, ["2"]);
  assert.throws(() => rangeValues({ name: "N", min: 0, max: MAX_SCAN_COMMANDS }), /at most/);
});

Deno.test("bad scan values are usage errors naming the flag", () => {
  assert.throws(() => parseParameterRange(["N", "3", "1"]), /MIN \(3\) is greater than MAX \(1\)/);
  assert.throws(() => parseParameterRange(["N", "a", "1"]), /MIN must be a number, got 'a'/);
  assert.throws(() => parseParameterRange(["1N", "1", "2"]), /parameter name/);
  assert.throws(() => parseParameterList(["L", "a,,b"]), /empty value/);
  assert.throws(() => parseParameterList(["L", "a,a"]), /given twice/);
  assert.throws(() => scanParameters({ parameterStepSize: 2 }), /needs a --parameter-scan/);
  assert.throws(
    () =>
      scanParameters({
        parameterScan: [{ name: "N", min: 1, max: 2 }],
        parameterList: [{ name: "N", values: ["a"] }],
      }),
    /'N' is defined twice/,
  );
});

Deno.test("value sets are the Cartesian product, the first parameter varying slowest", () => {
  const sets = valueSets([
    { name: "N", values: ["1", "2", "3"] },
    { name: "M", values: ["a", "b"] },
  ]);
  assert.equal(sets.length, 6);
  assert.deepEqual(sets.slice(0, 3), [{ N: "1", M: "a" }, { N: "1", M: "b" }, { N: "2", M: "a" }]);
});

Deno.test("{VAR} is replaced in every word and name; an undefined one is an error", () => {
  assert.equal(substituteParameters("{A}-{B}-{A}", { A: "x", B: "y" }), "x-y-x");
  assert.equal(substituteParameters("{} { A } $A", { A: "x" }), "{} { A } $A", "only {NAME}");
  assert.throws(() => substituteParameters("{C}", { A: "x" }), UsageError);
  const commands = expandParameterScan(
    [{ command: ["sh", "-c", "sleep {T}"], name: "nap {T}" }, { command: ["echo", "{T}"] }],
    { parameterList: [{ name: "T", values: ["0", "1"] }] },
  );
  assert.deepEqual(commands.map((command) => command.name), [
    "nap 0 (T=0)",
    "echo 0 (T=0)",
    "nap 1 (T=1)",
    "echo 1 (T=1)",
  ]);
  assert.deepEqual(commands[2]!.command, ["sh", "-c", "sleep 1"]);
  assert.deepEqual(commands[2]!.parameters, { T: "1" });
  // Without a scan, braces are left alone (awk programs, find -exec {}).
  const plain = [{ command: ["awk", "{print}"] }];
  assert.deepEqual(expandParameterScan(plain, {}), plain);
});

/** Each run appends its parameters to `log`: what ran, in which order. */
function loggingCommand(log: string): string[] {
  return ["--", "sh", "-c", `echo __WORK__; echo "{N} {M}" >> '${log}'`];
}

Deno.test("CLI: a 3×2 scan gives 6 labelled results, with parameter columns in JSON, CSV and Markdown", async () => {
  const cwd = await Deno.makeTempDir();
  const scan = ["--parameter-scan", "N", "1", "3", "--parameter-list", "M", "a,b"];
  const json = await runCli(
    [
      "--json",
      "-o",
      "r.json",
      "profile",
      ...scan,
      "--export-markdown",
      "r.md",
      ...loggingCommand(`${cwd}/log`),
    ],
    { cwd },
  );
  assert.equal(json.code, 0, json.stderr);
  const ran = (await Deno.readTextFile(`${cwd}/log`)).trim().split("\n");
  assert.deepEqual(ran, ["1 a", "1 b", "2 a", "2 b", "3 a", "3 b"]);
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  assert.equal(document.commands.length, 6);
  assert.deepEqual(document.commands[3].parameters, { N: "2", M: "b" });
  assert.match(document.commands[3].name, /\(N=2, M=b\)$/);
  assert.equal(new Set(document.commands.map((c: { name: string }) => c.name)).size, 6);
  assert.equal(document.comparisons.length, 5, "each compared to the first");
  // `compare` reads them back with their parameters.
  const read = parseResultFile(await Deno.readTextFile(`${cwd}/r.json`), "r.json");
  assert.deepEqual(read[5]!.parameters, { N: "3", M: "b" });
  const markdown = await Deno.readTextFile(`${cwd}/r.md`);
  assert.match(markdown, /\| Command \| N \| M \| Runs \| Exit codes \|/);
  assert.match(markdown, /\| 3 \| b \| 1 \| 0 \|/);

  const csv = await runCli(
    ["--csv", "-o", "-", "profile", ...scan, ...loggingCommand(`${cwd}/log2`)],
    { cwd },
  );
  assert.equal(csv.code, 0, csv.stderr);
  const rows = parseCsv(csv.stdoutText, { delimiter: ";", columns: true }) as Record<
    string,
    string
  >[];
  const header = csv.stdoutText.split("\n")[0]!.split(";");
  assert.deepEqual(header.slice(0, 4), [
    "command_name",
    "parameter_N",
    "parameter_M",
    "iteration_id",
  ]);
  assert.ok(header.includes("metric_method"), "the existing columns stay");
  const sets = new Set(rows.map((row) => `${row.parameter_N}${row.parameter_M}`));
  assert.deepEqual([...sets], ["1a", "1b", "2a", "2b", "3a", "3b"]);
});

Deno.test("CLI: a failing run stops a scan unless --ignore-failure keeps it with its exit code", async () => {
  const cwd = await Deno.makeTempDir();
  const command = ["--", "sh", "-c", "echo __WORK__; exit {CODE}"];
  const stopped = await runCli(
    ["--json", "-o", "r.json", "profile", "--parameter-list", "CODE", "0,3,1", ...command],
    { cwd },
  );
  assert.equal(stopped.code, 3, "the failing run's status");
  assert.match(
    stopped.stderr,
    /run 1 of 'sh -c echo __WORK__; exit 3 \(CODE=3\)' exited with code 3/,
  );
  assert.match(stopped.stderr, /--ignore-failure/);
  assert.deepEqual(await listDir(cwd), [], "no half-written results");

  const kept = await runCli(
    [
      "--json",
      "-o",
      "r.json",
      "profile",
      "--ignore-failure",
      "--parameter-list",
      "CODE",
      "0,3,5",
      ...command,
    ],
    { cwd },
  );
  assert.equal(kept.code, 0, kept.stderr);
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  assert.deepEqual(document.commands.map((c: { exit_code: number }) => c.exit_code), [0, 3, 5]);
  assert.equal(document.commands[2].iterations[0].exit_code, 5);

  // One command: the program's status passes through, as before; --ignore-failure exits 0.
  const single = await runCli(["--json", "-o", "-", "profile", "--", "sh", "-c", "exit 4"]);
  assert.equal(single.code, 4);
  assert.equal(JSON.parse(single.stdoutText).exit_code, 4);
  const ignored = await runCli(
    ["--json", "-o", "-", "profile", "--ignore-failure", "--", "sh", "-c", "exit 4"],
  );
  assert.equal(ignored.code, 0);
  assert.equal(JSON.parse(ignored.stdoutText).exit_code, 4);
});

Deno.test("CLI: each bad scan is one line and exit 2 before anything runs", async () => {
  const cwd = await Deno.makeTempDir();
  const marker = ["--", "sh", "-c", "touch ran"];
  const cases: [string[], RegExp][] = [
    [["--parameter-scan", "N", "5", "1"], /MIN \(5\) is greater than MAX \(1\)/],
    [
      ["--parameter-scan", "N", "1", "5", "--parameter-step-size", "0"],
      /step-size must be a number > 0/,
    ],
    [
      ["--parameter-scan", "N", "1", "5", "--parameter-step-size", "-1"],
      /step-size must be a number > 0/,
    ],
    [["--parameter-scan", "N", "1"], /takes 3 values|MAX must be a number/],
    [
      ["--parameter-list", "N", "1,2", "--", "sh", "-c", "touch {M}"],
      /'\{M\}' .* not a defined parameter/,
    ],
    [["--parameter-scan=N", "1", "2"], /takes 3 separate values/],
  ];
  for (const [flags, message] of cases) {
    const args = ["profile", ...flags, ...(flags.includes("--") ? [] : marker)];
    const out = await runCli(args, { cwd });
    assert.equal(out.code, 2, `${flags.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, message);
    assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
    assert.deepEqual(await listDir(cwd), [], `${flags.join(" ")} ran something`);
  }
});

Deno.test("CLI: --command templates are scanned, and --command-name is labelled with the values", async () => {
  const out = await runCli([
    "--json",
    "-o",
    "-",
    "profile",
    "--parameter-list",
    "W",
    "x,y",
    "--command",
    "echo {W}",
    "--command",
    "printf '%s\\n' {W}",
    "--command-name",
    "echo-{W}",
    "--command-name",
    "printf",
  ]);
  assert.equal(out.code, 0, out.stderr);
  const document = JSON.parse(out.stdoutText);
  assert.deepEqual(document.commands.map((c: { name: string }) => c.name), [
    "echo-x (W=x)",
    "printf (W=x)",
    "echo-y (W=y)",
    "printf (W=y)",
  ]);
  assert.equal(document.commands[3].command, "printf %s\\n y");
});
