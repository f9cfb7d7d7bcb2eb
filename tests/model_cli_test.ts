import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { formatJson } from "../src/output/json.ts";
import type { PhaseResult, ProfileResult } from "../src/result.ts";
import { formatModelFile, parseModelFile } from "../src/energy/energy_model.ts";
import { writeFakePowercap } from "./fixtures/fake_powercap.ts";
import { listDir, runCli, startFakeRaplLoadWriter } from "./helpers.ts";

/**
 * A result file of phases following J = 3 W × s + 20 J per CPU second, the CPU time being
 * `--perf`'s TASK_CLOCK (the profiles below count it with `--perf --perf-events task-clock`).
 */
function resultText(
  measured: boolean,
  phases = 12,
  cpuTime = { name: "TASK_CLOCK", source: "perf_event" },
): string {
  const list: PhaseResult[] = Array.from({ length: phases }, (_, i) => {
    const seconds = 0.5 + (i % 4) * 0.5;
    const cpu = ((i * 7) % 5) * 0.3;
    const metrics = [
      { ...cpuTime, value: Math.round(cpu * 1e9), unit: "ns" },
    ];
    if (measured) {
      metrics.push({
        name: "PACKAGE-0",
        value: Math.round((3 * seconds + 20 * cpu) * 1e6),
        unit: "µJ",
        source: "RAPL (Powercap)",
      });
    }
    return {
      index: i,
      name: `__P${i}__ -> __P${i + 1}__`,
      startToken: `__P${i}__`,
      endToken: `__P${i + 1}__`,
      startNs: 0n,
      endNs: BigInt(seconds * 1e9),
      timestamp: 0,
      durationMs: seconds * 1e3,
      metrics,
      failures: [],
    };
  });
  const result: ProfileResult = {
    command: ["./bench"],
    tokenPattern: "__[A-Z0-9_]+__",
    exitCode: 0,
    durationMs: 0,
    interrupted: false,
    runs: [{
      index: 0,
      exitCode: 0,
      signal: null,
      interrupted: false,
      startNs: 0n,
      endNs: 0n,
      timestamp: 0,
      durationMs: 0,
      phases: list,
    }],
  };
  return formatJson(result);
}

/** Environment where no RAPL backend can be found (whatever the machine has). */
async function withoutRapl(): Promise<Record<string, string>> {
  const empty = await Deno.makeTempDir({ prefix: "jp-norapl-" });
  return { JOULE_PROFILER_EVENT_SOURCE_PATH: empty, JOULE_PROFILER_RAPL_PATH: empty };
}

const PROGRAM = ["sh", "-c", "echo __WORK__; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"];
/** The program's CPU time through perf (a source every machine here has). */
const CPU_TIME = ["--perf", "--perf-events", "task-clock"];

Deno.test("model fit writes a model from result files and prints weights, R² and the CV error", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "jp-fit-" });
  await Deno.writeTextFile(`${cwd}/a.json`, resultText(true));
  const out = await runCli(["model", "fit", "a.json", "-o", "model.json"], { cwd });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdoutText, /PACKAGE-0 \(fitted on RAPL \(Powercap\)\): 12 phases/);
  assert.match(out.stdoutText, /R² 1\.0000 +cross-validated error \(MAPE\) 0\.00 %/);
  assert.match(out.stdoutText, /DURATION +3 W \(at rest\)/);
  assert.match(out.stdoutText, /perf_event\/TASK_CLOCK +20 J per second of TASK_CLOCK/);
  const model = parseModelFile(await Deno.readTextFile(`${cwd}/model.json`), "model.json");
  assert.deepEqual(model.training.inputs, ["a.json"]);
  const show = await runCli(["model", "show", "model.json"], { cwd });
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdoutText, /Energy model fitted .* logical CPUs, kernel /);
  assert.match(show.stdoutText, /perf_event\/TASK_CLOCK +20 J per second of TASK_CLOCK/);
});

Deno.test("model fit refuses files without measured energy, and bad arguments, writing nothing", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "jp-fit-" });
  await Deno.writeTextFile(`${cwd}/vm.json`, resultText(false));
  await Deno.writeTextFile(`${cwd}/few.json`, resultText(true, 2));
  const cases: [string[], RegExp][] = [
    [["vm.json", "-o", "m.json"], /no phase in vm\.json has measured energy/],
    [
      ["few.json", "-o", "m.json", "--features", "TASK_CLOCK"],
      /2 phases with measured energy for 2 features/,
    ],
    [["vm.json"], /model fit needs -o FILE/],
    [["missing.json", "-o", "m.json"], /cannot read missing\.json: no such file/],
    [["-o", "m.json"], /model fit needs result files|missing required argument/],
    [["few.json", "-o", "m.json", "--folds", "1"], /--folds must be an integer ≥ 2, got '1'/],
  ];
  for (const [args, pattern] of cases) {
    const out = await runCli(["model", "fit", ...args], { cwd });
    assert.equal(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, pattern);
    assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
    assert.deepEqual(await listDir(cwd), ["few.json", "vm.json"], args.join(" "));
  }
  const show = await runCli(["model", "show", "nothing.json"], { cwd });
  assert.equal(show.code, 2);
  assert.match(show.stderr, /cannot read energy model nothing\.json: no such file/);
});

Deno.test("profile --tdp labels its estimate in the terminal, JSON and CSV", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "jp-tdp-" });
  const env = await withoutRapl();
  const terminal = await runCli([...CPU_TIME, "profile", "--tdp", "65", "--", ...PROGRAM], {
    cwd,
    env,
  });
  assert.equal(terminal.code, 0, terminal.stderr);
  assert.match(terminal.stdoutText, /TDP curve \(estimated\)/);
  assert.match(terminal.stdoutText, /CPU +[\d.]+ [µm]?J .*\[estimated\]/);
  const json = await runCli([
    "--json",
    "-o",
    "-",
    ...CPU_TIME,
    "profile",
    "--tdp",
    "65",
    "--",
    ...PROGRAM,
  ], {
    cwd,
    env,
  });
  assert.equal(json.code, 0, json.stderr);
  const estimates = JSON.parse(json.stdoutText).phases.flatMap((
    p: { metrics: { source: string; details?: { method?: string } }[] },
  ) =>
    // Energies: their derived average power sits beside them, labelled `derived`.
    p.metrics.filter((m) => m.source === "TDP curve (estimated)" && m.details?.method !== "derived")
  );
  assert.equal(estimates.length, 2);
  for (const metric of estimates) assert.equal(metric.details.method, "estimated");
  const csv = await runCli([
    "--csv",
    "-o",
    "-",
    ...CPU_TIME,
    "profile",
    "--tdp",
    "65",
    "--",
    ...PROGRAM,
  ], {
    cwd,
    env,
  });
  assert.equal(csv.code, 0, csv.stderr);
  const rows: Record<string, string>[] = parse(csv.stdoutText, { delimiter: ";", columns: true });
  const tdpRows = rows.filter((row) =>
    row.metric_source === "TDP curve (estimated)" && row.metric_method !== "derived"
  );
  assert.equal(tdpRows.length, 2);
  for (const row of tdpRows) assert.equal(row.metric_method, "estimated");
});

Deno.test("--tdp that is not positive, and bad model files, are errors before the program runs", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "jp-bad-" });
  const good = parseModelFile(
    await (async () => {
      const dir = await Deno.makeTempDir();
      await Deno.writeTextFile(`${dir}/a.json`, resultText(true));
      const out = await runCli(["model", "fit", "a.json", "-o", "m.json"], { cwd: dir });
      assert.equal(out.code, 0, out.stderr);
      return await Deno.readTextFile(`${dir}/m.json`);
    })(),
    "m.json",
  );
  const text = formatModelFile(good);
  await Deno.writeTextFile(`${cwd}/truncated.json`, text.slice(0, 100));
  await Deno.writeTextFile(`${cwd}/result.json`, resultText(true));
  const perfModel = structuredClone(JSON.parse(text));
  perfModel.features.push({ name: "INSTRUCTIONS", source: "perf_event", unit: "count" });
  perfModel.domains[0].weights["perf_event/INSTRUCTIONS"] = 1e-9;
  await Deno.writeTextFile(`${cwd}/perf.json`, JSON.stringify(perfModel));
  const marker = `${cwd}/ran`;
  const cases: [string[], RegExp][] = [
    [["--tdp", "0"], /--tdp must be a positive number of watts, got '0'/],
    [["--tdp", "-65"], /--tdp must be a positive number of watts, got '-65'/],
    [["--tdp", "lots"], /--tdp must be a positive number of watts, got 'lots'/],
    [["--energy-model", "missing.json"], /cannot read energy model missing\.json: no such file/],
    [
      ["--energy-model", "truncated.json"],
      /truncated\.json is not a complete JSON document \(truncated\?\)/,
    ],
    [["--energy-model", "result.json"], /result\.json is not a joule-profiler energy model/],
    [
      ["--energy-model", "perf.json"],
      /does not measure: perf_event\/TASK_CLOCK, perf_event\/INSTRUCTIONS \(add --perf/,
    ],
  ];
  for (const [flags, pattern] of cases) {
    const out = await runCli(
      ["--json", "profile", ...flags, "--", "sh", "-c", `touch ${marker}`],
      { cwd, env: await withoutRapl() },
    );
    assert.equal(out.code, 2, `${flags.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, pattern);
    assert.ok(!(await listDir(cwd)).some((name) => name.startsWith("data")), "no result file");
    await assert.rejects(Deno.stat(marker), Deno.errors.NotFound, "the program never ran");
  }
});

Deno.test("profile --energy-model estimates each phase; a model of another CPU only warns", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "jp-model-" });
  await Deno.writeTextFile(`${cwd}/a.json`, resultText(true));
  assert.equal((await runCli(["model", "fit", "a.json", "-o", "m.json"], { cwd })).code, 0);
  const model = JSON.parse(await Deno.readTextFile(`${cwd}/m.json`));
  model.machine.cpu_model = "Imaginary CPU 9000";
  await Deno.writeTextFile(`${cwd}/other.json`, JSON.stringify(model));
  const out = await runCli(
    ["--json", "-o", "-", ...CPU_TIME, "profile", "--energy-model", "other.json", "--", ...PROGRAM],
    { cwd, env: await withoutRapl() },
  );
  assert.equal(out.code, 0, out.stderr);
  assert.match(
    out.stderr,
    /energy model other\.json was fitted on another machine \(CPU 'Imaginary CPU 9000'/,
  );
  const phases = JSON.parse(out.stdoutText).phases;
  for (const phase of phases) {
    const estimate = phase.metrics.find((m: { source: string }) =>
      m.source === "energy model (estimated)"
    );
    const cpu = phase.metrics.find((m: { name: string; source: string }) =>
      m.name === "TASK_CLOCK" && m.source === "perf_event"
    );
    const joules = 3 * phase.duration_ms / 1e3 + 20 * cpu.value / 1e9;
    assert.ok(
      Math.abs(estimate.value / 1e6 - joules) < 1e-3 * joules + 1e-6,
      JSON.stringify(estimate),
    );
    assert.equal(estimate.details.method, "estimated");
    assert.equal(typeof estimate.details.uncertainty, "number");
  }
});

Deno.test("model train: a clear failure without energy counters, and a model from a fake RAPL counter", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "jp-train-" });
  const none = await runCli(["model", "train", "-o", "m.json"], { cwd, env: await withoutRapl() });
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /model train needs measured energy, and no energy source works/);
  assert.deepEqual(await listDir(cwd), []);

  const root = await Deno.makeTempDir({ prefix: "jp-train-rapl-" });
  const files = await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0" }]);
  // The counter follows the CPU time of everything the test starts: the CLI and its workloads.
  const writer = await startFakeRaplLoadWriter(files.get("intel-rapl:0")!, Deno.pid, 5, 20);
  try {
    const out = await runCli(
      ["--rapl-path", `${root}/intel-rapl`, "model", "train", "-o", "m.json", "--seconds", "0.5"],
      { cwd, env: { JOULE_PROFILER_EVENT_SOURCE_PATH: root } },
    );
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdoutText, /PACKAGE-0 \(fitted on RAPL \(Powercap\)\)/);
    const model = parseModelFile(await Deno.readTextFile(`${cwd}/m.json`), "m.json");
    assert.equal(model.features[1]?.name, "CPU_TIME");
    assert.ok(model.domains[0]!.r2 > 0.8, `R² ${model.domains[0]!.r2}`);
  } finally {
    writer.kill();
    await writer.status;
    await writer.stdout.cancel();
  }
});

Deno.test("by default (process source on) --tdp and --energy-model read the process tree's CPU time", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "jp-default-" });
  await Deno.writeTextFile(
    `${cwd}/a.json`,
    resultText(true, 12, { name: "CPU_TIME", source: "process" }),
  );
  assert.equal((await runCli(["model", "fit", "a.json", "-o", "m.json"], { cwd })).code, 0);
  const out = await runCli(
    ["--json", "-o", "-", "profile", "--tdp", "65", "--energy-model", "m.json", "--", ...PROGRAM],
    { cwd, env: await withoutRapl() },
  );
  assert.equal(out.code, 0, out.stderr);
  for (const phase of JSON.parse(out.stdoutText).phases) {
    const cpu = phase.metrics.find((m: { name: string; source: string }) =>
      m.name === "CPU_TIME" && m.source === "process"
    );
    const tdp = phase.metrics.find((m: { source: string }) => m.source === "TDP curve (estimated)");
    const model = phase.metrics.find((m: { source: string }) =>
      m.source === "energy model (estimated)"
    );
    assert.ok(
      cpu && tdp && model,
      JSON.stringify(phase.metrics.map((m: { name: string }) => m.name)),
    );
    const seconds = phase.duration_ms / 1e3;
    assert.ok(Math.abs(model.value / 1e6 - (3 * seconds + 20 * cpu.value / 1e9)) < 1e-3);
    assert.equal(tdp.details.method, "estimated");
    assert.equal(model.details.method, "estimated");
    assert.ok(
      !phase.metrics.some((m: { unit: string; details?: { method?: string } }) =>
        m.unit === "µJ" && m.details?.method === "measured"
      ),
      "no measured energy on this machine",
    );
  }
});
