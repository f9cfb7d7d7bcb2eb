import assert from "node:assert/strict";
import { runCli } from "./helpers.ts";
import { writeFakePowercap } from "./fixtures/fake_powercap.ts";
import { compareResults, comparisonSentences } from "../src/stats/comparison.ts";
import { parseResultFile } from "../src/output/json_reader.ts";
import { formatJson } from "../src/output/json.ts";
import type { ProfileResult } from "../src/result.ts";
import { normals } from "./random_samples.ts";
import { phase, run } from "./fixtures.ts";

/** A result of `n` runs whose __WORK__ phase draws power × duration with noise. */
function syntheticResult(
  name: string,
  n: number,
  watts: number,
  noise: () => number,
): ProfileResult {
  return {
    name,
    command: [name],
    tokenPattern: "__[A-Z]+__",
    exitCode: 0,
    durationMs: 0,
    interrupted: false,
    runs: Array.from({ length: n }, (_, index) => {
      const durationMs = 50 * (1 + 0.02 * noise());
      const energy = watts * (1 + 0.03 * noise()) * durationMs * 1000;
      return {
        ...run(index),
        durationMs,
        phases: [phase(0, "__WORK__", "__DONE__", {
          durationMs,
          metrics: [{ name: "PACKAGE-0", value: energy, unit: "µJ", source: "RAPL (Powercap)" }],
        })],
      };
    }),
  };
}

Deno.test("compare calls a zero difference significant no more often than α says", () => {
  const noise = normals(2024);
  let significant = 0;
  const trials = 600;
  for (let trial = 0; trial < trials; trial++) {
    // Through the JSON files `compare` reads, as a user's results would be.
    const [a] = parseResultFile(formatJson(syntheticResult("A", 10, 20, noise), true), "a.json");
    const [b] = parseResultFile(formatJson(syntheticResult("B", 10, 20, noise), true), "b.json");
    const energy = compareResults(a!, b!).phases[0]!.metrics.find((m) => m.name === "PACKAGE-0")!;
    if (energy.significant) significant++;
  }
  const rate = significant / trials;
  // Binomial(600, 0.05): mean 30, σ ≈ 5.3; 0.08 is more than 3 σ above.
  assert.ok(rate <= 0.08, `false-positive rate ${rate}`);
  assert.ok(rate >= 0.02, `not trivially conservative: ${rate}`);
});

Deno.test("compare finds 10 % more power significant at n = 10 and states it", () => {
  const noise = normals(99);
  const a = syntheticResult("A", 10, 20, noise);
  const b = syntheticResult("B", 10, 22, noise);
  const comparison = compareResults(a, b);
  const energy = comparison.phases[0]!.metrics.find((m) => m.name === "PACKAGE-0")!;
  assert.ok(energy.significant, `p = ${energy.pValue}`);
  assert.ok(Math.abs(energy.ratio - 1.1) < 0.04, `ratio ${energy.ratio}`);
  const duration = comparison.phases[0]!.metrics.find((m) => m.name === "Duration")!;
  assert.equal(duration.source, "");
  const sentences = comparisonSentences(comparison);
  assert.ok(
    sentences.some((line) =>
      /^B used 1\.\d\d ± 0\.\d\d × the energy of A in phase __WORK__ -> __DONE__ \(PACKAGE-0; p/
        .test(line)
    ),
    sentences.join("\n"),
  );
  assert.ok(sentences.some((line) => line.startsWith("B took ")), "duration line");
});

Deno.test("parseResultFile reads every layout and refuses what is not a result", () => {
  const single = syntheticResult("one", 1, 10, normals(1));
  const [fromSingle] = parseResultFile(formatJson(single), "single.json");
  assert.equal(fromSingle!.runs.length, 1);
  assert.equal(fromSingle!.runs[0]!.phases[0]!.name, "__WORK__ -> __DONE__");
  const [fromIterations] = parseResultFile(formatJson(single, true), "it.json");
  assert.equal(fromIterations!.name, "one");
  const multi = JSON.stringify({
    commands: [JSON.parse(formatJson(single, true)), JSON.parse(formatJson(single, true))],
    comparisons: [],
  });
  assert.equal(parseResultFile(multi, "multi.json").length, 2);
  assert.throws(() => parseResultFile("{", "bad.json"), /bad\.json is not JSON/);
  assert.throws(
    () => parseResultFile('{"hello": 1}', "other.json"),
    /other\.json is not a joule-profiler --json result/,
  );
});

/**
 * A program that adds `joules` ± 3 % (uniform) to a fake `energy_uj` during
 * its __WORK__ phase: the true energy of each command is known, whatever
 * the machine's load does to timing (short of delaying the profiler's read
 * of __WORK__ by 50 ms).
 */
function workProgram(energyFile: string, joules: number): string[] {
  return [
    "python3",
    "-c",
    "import random, time\n" +
    "print('__WORK__', flush=True)\n" +
    // The profiler takes the boundary when it reads the token: let it, first.
    "time.sleep(0.05)\n" +
    `with open(${JSON.stringify(energyFile)}, 'r+') as f:\n` +
    "    value = int(f.read())\n" +
    "    f.seek(0)\n" +
    `    f.write('%020d\\n' % (value + int(${joules} * 1e6 * random.uniform(0.97, 1.03))))\n` +
    "print('__DONE__', flush=True)",
  ];
}

Deno.test("profile -n 10 then compare: a phase using 10 % more energy is found significant", async () => {
  const root = await Deno.makeTempDir({ prefix: "jp-compare-" });
  const files = await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0" }]);
  const energyFile = files.get("intel-rapl:0")!;
  const cwd = await Deno.makeTempDir();
  const env = {
    JOULE_PROFILER_EVENT_SOURCE_PATH: root,
    JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
  };
  const a = await runCli(
    [
      "--json",
      "-o",
      "a.json",
      "profile",
      "-n",
      "10",
      "--idle",
      "0.3",
      "--",
      ...workProgram(energyFile, 1),
    ],
    { cwd, env },
  );
  assert.equal(a.code, 0, a.stderr);
  const b = await runCli(
    ["--json", "-o", "b.json", "profile", "-n", "10", "--", ...workProgram(energyFile, 1.1)],
    { cwd, env },
  );
  assert.equal(b.code, 0, b.stderr);

  // A's file carries per-run values, statistics and the idle baseline.
  const documentA = JSON.parse(await Deno.readTextFile(`${cwd}/a.json`));
  assert.equal(documentA.nb_iterations, 10);
  const idle = documentA.idle.power.find((p: { name: string }) => p.name === "PACKAGE-0");
  assert.equal(idle.mean_w, 0, "nothing moves the counter while idle");
  const work = documentA.statistics.find((p: { name: string }) =>
    p.name === "__WORK__ -> __DONE__"
  );
  const energy = work.metrics.find((m: { name: string }) => m.name === "PACKAGE-0");
  assert.equal(energy.value.n, 10);
  assert.ok(Math.abs(energy.value.mean - 1e6) < 0.03e6, `${energy.value.mean} µJ`);
  assert.ok(energy.value.ci95[0] <= energy.value.mean && energy.value.mean <= energy.value.ci95[1]);
  const perRun = documentA.iterations.map((
    run: { phases: { metrics: { name: string; value: number }[] }[] },
  ) => run.phases[1]!.metrics.find((m) => m.name === "PACKAGE-0")!.value);
  assert.equal(energy.value.min, Math.min(...perRun));
  assert.ok(typeof energy.average_power_w.mean === "number");
  // A zero idle power leaves the raw energy as the energy above idle.
  assert.ok(Math.abs(energy.above_idle.mean - energy.value.mean) < 1e-6);

  const out = await runCli(
    ["--json", "compare", "a.json", "b.json", "--export-markdown", "cmp.md"],
    { cwd },
  );
  assert.equal(out.code, 0, out.stderr);
  const comparison = JSON.parse(out.stdoutText);
  assert.equal(comparison.test, "welch");
  const phase = comparison.phases.find((p: { name: string }) => p.name === "__WORK__ -> __DONE__");
  const compared = phase.metrics.find((m: { name: string }) => m.name === "PACKAGE-0");
  assert.ok(compared.significant, `p = ${compared.p_value}`);
  assert.ok(compared.p_value < 0.05);
  assert.ok(Math.abs(compared.ratio - 1.1) < 0.03, `ratio ${compared.ratio}`);
  assert.ok(
    comparison.summary.some((line: string) =>
      line.startsWith("b.json used 1.") && line.includes("the energy of a.json in phase __WORK__")
    ),
    comparison.summary.join("\n"),
  );
  const markdown = await Deno.readTextFile(`${cwd}/cmp.md`);
  assert.match(markdown, /\| PACKAGE-0 \| .* \| µJ \| 1\.\d{3} ± 0\.\d{3} \| .* \| higher \|/);

  const terminal = await runCli(["compare", "a.json", "b.json"], { cwd });
  assert.equal(terminal.code, 0, terminal.stderr);
  assert.match(terminal.stdoutText, /b\.json used 1\.\d\d ± 0\.\d\d × the energy of a\.json/);
});

Deno.test("compare refuses what it cannot compare, in one line", async () => {
  const cwd = await Deno.makeTempDir();
  await Deno.writeTextFile(`${cwd}/x.txt`, "not json");
  const cases: [string[], RegExp][] = [
    [["compare", "missing.json", "x.txt"], /cannot read 'missing\.json'/],
    [["compare", "x.txt", "x.txt"], /x\.txt is not JSON/],
    [["compare", "--alpha", "2", "x.txt", "x.txt"], /--alpha must be a number between 0 and 1/],
  ];
  for (const [args, message] of cases) {
    const out = await runCli(args, { cwd });
    assert.equal(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, message);
    assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
  }
  await Deno.writeTextFile(
    `${cwd}/one.json`,
    formatJson(syntheticResult("only", 3, 10, normals(3)), true),
  );
  const alone = await runCli(["compare", "one.json"], { cwd });
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /compare needs two results/);
});
