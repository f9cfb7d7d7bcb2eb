import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { discoverPowercapZones } from "../sources/rapl/powercap_zones.ts";
import { defaultPollingPeriod } from "../sources/rapl/powercap_source.ts";
import { markTotals } from "../sources/rapl/rapl_domain.ts";
import { compileC, listDir, REPO_ROOT, runCli, skipUnlessNobodyRunsDeno } from "./helpers.ts";
import { twoSocketZones, writeFakePowercap } from "./fixtures/fake_powercap.ts";

interface JsonMetric {
  name: string;
  value: number;
  unit: string;
  source: string;
  details?: Record<string, unknown>;
}
interface JsonPhase {
  start_token: string;
  end_token: string;
  duration_ms: number;
  metrics: JsonMetric[];
}

/** A root with no perf PMU, so the CLI's automatic choice falls to powercap. */
async function noPmu(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "jp-nopmu-" });
}

function metric(phase: JsonPhase, name: string): JsonMetric {
  const found = phase.metrics.find((m) => m.name === name);
  assert.ok(found, `${name} in ${phase.start_token} -> ${phase.end_token}`);
  return found;
}

Deno.test("discoverPowercapZones() maps zones of two sockets, dedupes mmio, skips unknown names", async () => {
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, [
    ...twoSocketZones(),
    { id: "intel-rapl:3", name: "mystery-domain" },
  ]);
  await writeFakePowercap(
    root,
    [{ id: "intel-rapl-mmio:0", name: "package-0" }],
    "intel-rapl-mmio",
  );
  const { zones, unusable, notes } = discoverPowercapZones(`${root}/intel-rapl`);
  assert.deepEqual(zones.map((zone) => zone.sensor), [
    "PACKAGE-0",
    "CORE-0",
    "DRAM-0",
    "PACKAGE-1",
    "CORE-1",
    "DRAM-1",
    "PSYS",
  ]);
  assert.equal(zones.find((zone) => zone.sensor === "PACKAGE-0")!.controlType, "intel-rapl");
  assert.equal(zones.find((zone) => zone.sensor === "PSYS")!.packageId, undefined);
  assert.equal(zones.find((zone) => zone.sensor === "DRAM-1")!.packageId, 1);
  assert.deepEqual(unusable, []);
  assert.ok(notes.some((note) => /unknown RAPL zone 'mystery-domain'/.test(note)));
  assert.ok(notes.some((note) => /intel-rapl-mmio:0: same domain as .* counted once/.test(note)));
});

Deno.test("discoverPowercapZones() keeps two zones of one domain apart and uses mmio when MSR is unreadable", async () => {
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, [{
    id: "intel-rapl:0",
    name: "package-0",
    subzones: [{ id: "intel-rapl:0:0", name: "dram" }, { id: "intel-rapl:0:1", name: "ram" }],
  }]);
  await writeFakePowercap(
    root,
    [{ id: "intel-rapl-mmio:0", name: "package-0" }],
    "intel-rapl-mmio",
  );
  // The MSR package zone cannot be read: its energy_uj is a folder.
  await Deno.remove(`${root}/intel-rapl/intel-rapl:0/energy_uj`);
  await Deno.mkdir(`${root}/intel-rapl/intel-rapl:0/energy_uj`);
  const { zones, unusable } = discoverPowercapZones(`${root}/intel-rapl`);
  assert.deepEqual(zones.map((zone) => [zone.sensor, zone.controlType]), [
    ["DRAM-0", "intel-rapl"],
    ["DRAM-0_2", "intel-rapl"],
    ["PACKAGE-0", "intel-rapl-mmio"],
  ]);
  assert.equal(unusable.length, 1);
  assert.match(unusable[0]!.problem, /energy_uj is not readable/);
});

Deno.test("defaultPollingPeriod() polls four times per shortest wrap at 1 kW, within 1 ms … 60 s", () => {
  assert.equal(defaultPollingPeriod([{ maxEnergyRangeUj: 262143328850 }]), 60);
  assert.equal(defaultPollingPeriod([{ maxEnergyRangeUj: 20_000_000 }]), 0.005);
  assert.equal(defaultPollingPeriod([{ maxEnergyRangeUj: 1000 }]), 0.001);
});

Deno.test("markTotals() marks one whole-CPU figure and PSYS, and sums several packages", () => {
  const one = markTotals([
    { name: "PACKAGE-0", domain: "PACKAGE", microjoules: 10 },
    { name: "CORE-0", domain: "CORE", microjoules: 4 },
    { name: "PSYS", domain: "PSYS", microjoules: 30 },
  ]);
  assert.deepEqual(one.map((m) => [m.name, m.details.total]), [
    ["PACKAGE-0", "cpu"],
    ["CORE-0", undefined],
    ["PSYS", "platform"],
  ]);
  const two = markTotals([
    { name: "PACKAGE-0", domain: "PACKAGE", microjoules: 10 },
    { name: "PACKAGE-1", domain: "PACKAGE", microjoules: 12 },
  ]);
  assert.deepEqual(two.map((m) => [m.name, m.microjoules, m.details.total ?? null]), [
    ["PACKAGE-0", 10, null],
    ["PACKAGE-1", 12, null],
    ["PACKAGE-TOTAL", 22, "cpu"],
  ]);
  assert.equal(two[2]!.details.derived, true);
});

Deno.test("powercap deltas wrap as (end - start) mod (max + 1), exact to the µJ", async () => {
  const root = await Deno.makeTempDir();
  const files = await writeFakePowercap(root, [{
    id: "intel-rapl:0",
    name: "package-0",
    energyUj: 500,
    maxEnergyRangeUj: 999,
  }]);
  const file = files.get("intel-rapl:0")!;
  // The program sets the counter itself before each token: 500 → 900 → (wrap) 100 → 150,
  // and leaves the profiler time to take each boundary before it moves on.
  const script = `w() { printf '%020d\\n' "$1" > '${file}'; }; ` +
    "w 900; echo __A__; sleep 0.2; w 100; echo __B__; sleep 0.2; w 150";
  const out = await runCli([
    "--json",
    "-o",
    "-",
    "--rapl-path",
    `${root}/intel-rapl`,
    "profile",
    "--rapl-polling",
    "0",
    "--",
    "sh",
    "-c",
    script,
  ], { env: { JOULE_PROFILER_EVENT_SOURCE_PATH: await noPmu() } });
  assert.equal(out.code, 0, out.stderr);
  const phases: JsonPhase[] = JSON.parse(out.stdoutText).phases;
  assert.deepEqual(phases.map((p) => metric(p, "PACKAGE-0").value), [400, 200, 50]);
  assert.equal(metric(phases[0]!, "PACKAGE-0").source, "RAPL (Powercap)");
  assert.equal(metric(phases[0]!, "PACKAGE-0").unit, "µJ");
  assert.equal(metric(phases[0]!, "PACKAGE-0").details?.total, "cpu");
});

/** Starts the fake RAPL writer and waits until it has written once. */
async function startWriter(args: string[]): Promise<Deno.ChildProcess> {
  const writer = new Deno.Command(await compileC("tests/fixtures/fake_rapl_writer.c"), {
    args,
    stdout: "piped",
  }).spawn();
  const reader = writer.stdout.getReader();
  await reader.read(); // t0 line: the files are being advanced
  reader.releaseLock();
  return writer;
}

async function profileAgainstWriter(polling: string[]): Promise<JsonPhase[]> {
  const root = await Deno.makeTempDir();
  const max = 2_000_000; // 2 J: wraps every 0.13 s at 15 W
  const files = await writeFakePowercap(root, [{
    id: "intel-rapl:0",
    name: "package-0",
    maxEnergyRangeUj: max,
    subzones: [{ id: "intel-rapl:0:0", name: "dram", maxEnergyRangeUj: max }],
  }]);
  const writer = await startWriter([
    "200",
    "4",
    files.get("intel-rapl:0")!,
    "15",
    String(max),
    files.get("intel-rapl:0:0")!,
    "3",
    String(max),
  ]);
  try {
    const out = await runCli([
      "--json",
      "-o",
      "-",
      "--rapl-path",
      `${root}/intel-rapl`,
      "profile",
      ...polling,
      "--",
      "sh",
      "-c",
      "echo __A__; sleep 0.7; echo __B__; sleep 0.7",
    ], { env: { JOULE_PROFILER_EVENT_SOURCE_PATH: await noPmu() } });
    assert.equal(out.code, 0, out.stderr);
    return JSON.parse(out.stdoutText).phases;
  } finally {
    writer.kill();
    await writer.status;
    await writer.stdout.cancel();
  }
}

Deno.test("powercap polling catches every wrap: energy at a known power within 1 %", async () => {
  const phases = await profileAgainstWriter([]);
  for (const phase of phases.slice(1)) {
    for (const [name, watts] of [["PACKAGE-0", 15], ["DRAM-0", 3]] as const) {
      const expected = watts * phase.duration_ms * 1000; // W × ms → µJ
      const got = metric(phase, name).value;
      assert.ok(
        Math.abs(got - expected) / expected < 0.01,
        `${name} ${phase.start_token} -> ${phase.end_token}: ${got} µJ, expected ${expected}`,
      );
    }
    // Average power is reported next to the energy.
    const power = metric(phase, "PACKAGE-0").details?.average_power_w as number;
    assert.ok(Math.abs(power - 15) < 0.15, `average power ${power} W`);
  }
});

Deno.test("without polling the same run misses wraps (what polling is for)", async () => {
  const phases = await profileAgainstWriter(["--rapl-polling", "0"]);
  const phase = phases[1]!;
  const expected = 15 * phase.duration_ms * 1000;
  assert.ok(metric(phase, "PACKAGE-0").value < expected / 2);
});

Deno.test("--sockets keeps the chosen packages and PSYS; a missing socket is an error listing the real ones", async () => {
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, twoSocketZones());
  const env = { JOULE_PROFILER_EVENT_SOURCE_PATH: await noPmu() };
  const out = await runCli(
    ["--json", "-o", "-", "--rapl-path", `${root}/intel-rapl`, "-s", "1", "profile", "--", "true"],
    { env },
  );
  assert.equal(out.code, 0, out.stderr);
  // The measured RAPL values (the process and system sources and attributed shares aside).
  const names = JSON.parse(out.stdoutText).phases[0].metrics
    .filter((m: JsonMetric) => m.source === "RAPL (Powercap)" && m.details?.method === "measured")
    .map((m: JsonMetric) => m.name);
  assert.deepEqual(names, ["CORE-1", "DRAM-1", "PACKAGE-1", "PSYS"]);

  const cwd = await Deno.makeTempDir();
  const bad = await runCli(
    ["--rapl-path", `${root}/intel-rapl`, "-s", "0,7", "profile", "--", "touch", "spawned"],
    { env, cwd },
  );
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr.trim(),
    "error: --sockets 7: no such socket; this machine has sockets 0, 1",
  );
  assert.deepEqual(await listDir(cwd), []);
});

Deno.test("several packages give a PACKAGE-TOTAL marked as the whole-CPU figure", async () => {
  const root = await Deno.makeTempDir();
  const files = await writeFakePowercap(root, twoSocketZones());
  const script = `printf '%020d\\n' 1000 > '${files.get("intel-rapl:0")}'; ` +
    `printf '%020d\\n' 3000 > '${files.get("intel-rapl:1")}'`;
  const out = await runCli(
    ["--json", "-o", "-", "--rapl-path", `${root}/intel-rapl`, "profile", "--", "sh", "-c", script],
    { env: { JOULE_PROFILER_EVENT_SOURCE_PATH: await noPmu() } },
  );
  const phase: JsonPhase = JSON.parse(out.stdoutText).phases[0];
  assert.equal(metric(phase, "PACKAGE-TOTAL").value, 4000);
  assert.equal(metric(phase, "PACKAGE-TOTAL").details?.total, "cpu");
  assert.equal(metric(phase, "PSYS").details?.total, "platform");
  assert.equal(metric(phase, "PACKAGE-0").details?.total, undefined);
});

Deno.test("list-sensors shows powercap sensors in all three formats", async () => {
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, twoSocketZones());
  const env = {
    JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
    JOULE_PROFILER_EVENT_SOURCE_PATH: await noPmu(),
  };
  const terminal = await runCli(["list-sensors"], { env });
  assert.equal(terminal.code, 0, terminal.stderr);
  assert.match(terminal.stdoutText, /│ RAPL \(Powercap\) +│/);
  assert.match(terminal.stdoutText, /PACKAGE-1 +\| µJ/);
  const json = JSON.parse((await runCli(["--json", "list-sensors"], { env })).stdoutText)
    .filter((sensor: { source: string }) => sensor.source === "RAPL (Powercap)");
  assert.equal(json.length, 7);
  assert.deepEqual(json[0], { name: "PACKAGE-0", unit: "µJ", source: "RAPL (Powercap)" });
  const csv: string[][] = parse((await runCli(["--csv", "list-sensors"], { env })).stdoutText, {
    delimiter: ";",
  });
  assert.deepEqual(csv[0], ["sensor", "unit", "source"]);
  assert.deepEqual(csv.filter((row) => row[2] === "RAPL (Powercap)").at(-1), [
    "PSYS",
    "µJ",
    "RAPL (Powercap)",
  ]);
});

const AS_NOBODY = "an energy_uj readable by root only is explained with the chmod/group fix";
Deno.test(AS_NOBODY, { ignore: skipUnlessNobodyRunsDeno(AS_NOBODY) }, async () => {
  const root = await Deno.makeTempDir();
  await Deno.chmod(root, 0o755);
  const files = await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0" }]);
  await Deno.chmod(files.get("intel-rapl:0")!, 0o400);
  const denoDir = await Deno.makeTempDir();
  await Deno.chmod(denoDir, 0o777);
  const script = `
    import { setupRapl } from "${REPO_ROOT}sources/rapl/rapl_setup.ts";
    const setup = setupRapl({ powercapPath: "${root}/intel-rapl", eventSourcePath: "${root}/none" });
    console.log(JSON.stringify(setup.source === undefined ? setup.reasons : "source"));
  `;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-lock", script],
    uid: 65534,
    gid: 65534,
    env: { DENO_DIR: denoDir, NO_COLOR: "1" },
    cwd: denoDir,
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const reasons = JSON.parse(new TextDecoder().decode(output.stdout));
  const powercap = reasons.find((r: { backend: string }) => r.backend === "powercap");
  assert.match(powercap.reason, /energy_uj is readable by root only/);
  assert.match(powercap.reason, /chmod -R a\+r \/sys\/class\/powercap\/intel-rapl/);
});

Deno.test("powercap zones that never move during a run are flagged", async () => {
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0", energyUj: 1234 }]);
  const out = await runCli(
    ["--json", "-o", "-", "--rapl-path", `${root}/intel-rapl`, "profile", "--", "sleep", "0.2"],
    { env: { JOULE_PROFILER_EVENT_SOURCE_PATH: await noPmu() } },
  );
  assert.match(out.stderr, /warning: RAPL \(Powercap\): PACKAGE-0 did not change during the run/);
  const metric = JSON.parse(out.stdoutText).phases[0].metrics[0];
  assert.equal(metric.details.not_updating, true);
  // A run too short to tell is not flagged.
  const quick = await runCli(
    ["--json", "-o", "-", "--rapl-path", `${root}/intel-rapl`, "profile", "--", "true"],
    { env: { JOULE_PROFILER_EVENT_SOURCE_PATH: await noPmu() } },
  );
  assert.doesNotMatch(quick.stderr, /did not change/);
});
