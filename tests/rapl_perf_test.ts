import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { discoverPowerPmu, parseCpuList, parseEventConfig } from "../sources/rapl/power_pmu.ts";
import { REPO_ROOT, runCli, skipUnlessNobodyRunsDeno } from "./helpers.ts";
import {
  twoSocketZones,
  writeFakePowercap,
  writeFakePowerPmu,
  writeFakeTopology,
} from "./fixtures/fake_powercap.ts";

/** The kernel's RAPL energy unit: 2^-32 J per count. */
const SCALE = 2.3283064365386962890625e-10;

interface JsonMetric {
  name: string;
  value: number;
  source: string;
  details?: Record<string, unknown>;
}
interface JsonPhase {
  start_ns: number;
  end_ns: number;
  duration_ms: number;
  metrics: JsonMetric[];
}

/**
 * A fake `power` PMU whose events are the software cpu-clock (type 1,
 * config 0): the real perf backend opens real system-wide counters on
 * CPU `cpumask`, and they count wall-clock nanoseconds.
 */
async function fakePmu(cpumask = "0", psys = true): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "jp-pmu-" });
  const events = [
    { name: "energy-pkg", description: "event=0x00", scale: String(SCALE) },
    { name: "energy-ram", description: "event=0x00", scale: String(SCALE) },
    { name: "energy-mystery", description: "event=0x00", scale: String(SCALE) },
  ];
  if (psys) events.push({ name: "energy-psys", description: "event=0x00", scale: String(SCALE) });
  await writeFakePowerPmu(root, { type: 1, cpumask, events });
  return root;
}

Deno.test("parseCpuList() and parseEventConfig() read the kernel's formats", async () => {
  assert.deepEqual(parseCpuList("0,28\n"), [0, 28]);
  assert.deepEqual(parseCpuList("0-3,8"), [0, 1, 2, 3, 8]);
  const root = await Deno.makeTempDir();
  await Deno.writeTextFile(`${root}/event`, "config:0-7\n");
  await Deno.writeTextFile(`${root}/umask`, "config:8-15\n");
  assert.equal(parseEventConfig("event=0x02", root), 2n);
  assert.equal(parseEventConfig("event=0x1,umask=0x3", root), 0x301n);
});

Deno.test("discoverPowerPmu() reads type, cpumask and the energy events, skipping others", async () => {
  const root = await fakePmu("0,1");
  const pmu = discoverPowerPmu(root);
  assert.ok(!("missing" in pmu));
  assert.equal(pmu.type, 1);
  assert.deepEqual(pmu.cpus, [0, 1]);
  assert.deepEqual(pmu.events.map((e) => [e.event, e.domain]), [
    ["energy-pkg", "PACKAGE"],
    ["energy-psys", "PSYS"],
    ["energy-ram", "DRAM"],
  ]);
  assert.equal(pmu.events[0]!.scale, SCALE);
  assert.ok(pmu.notes.some((note) => note.includes("energy-mystery")));
  const missing = discoverPowerPmu(await Deno.makeTempDir());
  assert.ok("missing" in missing && /no perf 'power' PMU/.test(missing.missing));
});

Deno.test("perf backend: real counters on the PMU's CPU give energy = counted ns × scale", async () => {
  const out = await runCli(
    ["--json", "-o", "-", "profile", "--", "sh", "-c", "echo __A__; sleep 0.4"],
    { env: { JOULE_PROFILER_EVENT_SOURCE_PATH: await fakePmu() } },
  );
  assert.equal(out.code, 0, out.stderr);
  const phases: JsonPhase[] = JSON.parse(out.stdoutText).phases;
  const work = phases[1]!;
  // The measured values (the process and system sources and attributed shares aside).
  const measured = work.metrics.filter((m) =>
    m.source.startsWith("RAPL") && m.details?.method === "measured"
  );
  assert.deepEqual(measured.map((m) => m.name), ["DRAM-0", "PACKAGE-0", "PSYS"]);
  for (const metric of measured) {
    assert.equal(metric.source, "RAPL (perf_event)");
    // cpu-clock counts the phase's nanoseconds; reads are µs apart from the stamps.
    const expected = (work.end_ns - work.start_ns) * SCALE * 1e6;
    assert.ok(
      Math.abs(metric.value - expected) / expected < 0.01,
      `${metric.name}: ${metric.value} µJ vs ${expected}`,
    );
  }
  assert.equal(work.metrics.find((m) => m.name === "PACKAGE-0")!.details?.total, "cpu");
});

Deno.test("perf backend: one counter per package on the cpumask CPUs, PSYS once, --sockets filters", async () => {
  const pmu = await fakePmu("0,1");
  const topology = await Deno.makeTempDir();
  await writeFakeTopology(topology, [0, 1]);
  const env = { JOULE_PROFILER_EVENT_SOURCE_PATH: pmu, JOULE_PROFILER_CPU_SYSFS_PATH: topology };
  const all = await runCli(["--json", "list-sensors"], { env });
  assert.equal(all.code, 0, all.stderr);
  const rapl = (text: string) =>
    JSON.parse(text).filter((s: { source: string }) => s.source === "RAPL (perf_event)")
      .map((s: { name: string }) => s.name);
  assert.deepEqual(rapl(all.stdoutText), [
    "PACKAGE-0",
    "DRAM-0",
    "PACKAGE-1",
    "DRAM-1",
    "PSYS",
  ]);
  const one = await runCli(["--json", "-s", "1", "list-sensors"], { env });
  assert.deepEqual(rapl(one.stdoutText), [
    "PACKAGE-1",
    "DRAM-1",
    "PSYS",
  ]);
  const bad = await runCli(["-s", "2", "list-sensors"], { env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--sockets 2: no such socket; this machine has sockets 0, 1/);
});

Deno.test("perf backend: list-sensors in all three formats", async () => {
  const env = { JOULE_PROFILER_EVENT_SOURCE_PATH: await fakePmu("0", false) };
  const terminal = await runCli(["list-sensors"], { env });
  assert.match(terminal.stdoutText, /│ RAPL \(perf_event\) +│/);
  assert.match(terminal.stdoutText, /PACKAGE-0 +\| µJ/);
  const csv: string[][] = parse((await runCli(["--csv", "list-sensors"], { env })).stdoutText, {
    delimiter: ";",
  });
  assert.deepEqual(csv.filter((row, i) => i === 0 || row[2] === "RAPL (perf_event)"), [
    ["sensor", "unit", "source"],
    ["PACKAGE-0", "µJ", "RAPL (perf_event)"],
    ["DRAM-0", "µJ", "RAPL (perf_event)"],
  ]);
  const json = JSON.parse((await runCli(["--json", "list-sensors"], { env })).stdoutText);
  assert.deepEqual(json[0], { name: "PACKAGE-0", unit: "µJ", source: "RAPL (perf_event)" });
});

Deno.test("without a power PMU the automatic choice falls back to powercap", async () => {
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, twoSocketZones());
  const out = await runCli(["-v", "--json", "list-sensors"], {
    env: {
      JOULE_PROFILER_EVENT_SOURCE_PATH: await Deno.makeTempDir(),
      JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
    },
  });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(JSON.parse(out.stdoutText)[0].source, "RAPL (Powercap)");
  assert.match(out.stderr, /RAPL energy through powercap/);
});

Deno.test("no RAPL at all: a warning saying why for each backend, and the run goes on", async () => {
  const out = await runCli(["--json", "-o", "-", "profile", "--", "true"], {
    env: {
      JOULE_PROFILER_EVENT_SOURCE_PATH: await Deno.makeTempDir(),
      JOULE_PROFILER_RAPL_PATH: await Deno.makeTempDir(),
    },
  });
  assert.equal(out.code, 0);
  assert.match(
    out.stderr,
    /^warning: no RAPL energy on this machine, continuing without it \(perf: no perf 'power' PMU .*; powercap: no RAPL zones under .*\); 'joule-profiler doctor' says how to fix it; without measured energy, --energy-model MODEL.json or --tdp WATTS give estimated energy$/m,
  );
  // No energy at all: only the process and system sources' metrics.
  const sources = JSON.parse(out.stdoutText).phases[0].metrics.map((m: { source: string }) =>
    m.source
  );
  assert.deepEqual([...new Set(sources)], ["process", "system"]);
});

Deno.test("an explicitly requested backend that cannot work stops before the program runs", async () => {
  const pmu = await Deno.makeTempDir();
  await writeFakePowerPmu(pmu, {
    type: 99999, // a PMU type the kernel does not have: perf_event_open fails
    events: [{ name: "energy-pkg", description: "event=0x02", scale: String(SCALE) }],
  });
  const cwd = await Deno.makeTempDir();
  const out = await runCli(["--rapl-backend", "perf", "profile", "--", "touch", "spawned"], {
    cwd,
    env: { JOULE_PROFILER_EVENT_SOURCE_PATH: pmu },
  });
  assert.equal(out.code, 125);
  assert.match(
    out.stderr.trim(),
    /^error: RAPL \(perf_event\): perf_event_open \(power\/energy-pkg\/ on CPU 0\): .*\(E[A-Z]+\)$/,
  );
  assert.equal([...Deno.readDirSync(cwd)].length, 0);
});

const AS_NOBODY =
  "perf backend refused by perf_event_paranoid explains the sysctl and setcap fixes";
Deno.test(AS_NOBODY, { ignore: skipUnlessNobodyRunsDeno(AS_NOBODY) }, async () => {
  const pmu = await fakePmu();
  await Deno.chmod(pmu, 0o755);
  const denoDir = await Deno.makeTempDir();
  await Deno.chmod(denoDir, 0o777);
  const script = `
    import { setupRapl } from "${REPO_ROOT}sources/rapl/rapl_setup.ts";
    const setup = setupRapl({ eventSourcePath: "${pmu}", powercapPath: "${pmu}/none" });
    console.log(JSON.stringify(setup.source === undefined ? setup.reasons : "source"));
  `;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-lock", script],
    uid: 65534,
    gid: 65534,
    env: { DENO_DIR: denoDir, NO_COLOR: "1" },
    cwd: denoDir,
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const reasons = JSON.parse(new TextDecoder().decode(output.stdout));
  const paranoid = Number(Deno.readTextFileSync("/proc/sys/kernel/perf_event_paranoid"));
  const perf = reasons.find((r: { backend: string }) => r.backend === "perf");
  if (paranoid <= 0) {
    // Unprivileged system-wide counting is allowed here: nothing to explain.
    assert.equal(perf, undefined);
    return;
  }
  assert.match(perf.reason, /refused \(EACCES\)/);
  assert.match(perf.reason, new RegExp(`perf_event_paranoid is ${paranoid}`));
  assert.match(perf.reason, /sysctl kernel\.perf_event_paranoid=0/);
  assert.match(perf.reason, /setcap cap_perfmon=ep/);
});

Deno.test("a counter that exists but never moves is flagged, not reported as a measurement", async () => {
  const root = await Deno.makeTempDir();
  await writeFakePowerPmu(root, {
    type: 1,
    events: [
      { name: "energy-pkg", description: "event=0x00", scale: String(SCALE) }, // cpu-clock: moves
      { name: "energy-psys", description: "event=0x09", scale: String(SCALE) }, // dummy: never moves
    ],
  });
  const out = await runCli(["--json", "-o", "-", "profile", "--", "sleep", "0.2"], {
    env: { JOULE_PROFILER_EVENT_SOURCE_PATH: root },
  });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, /warning: RAPL \(perf_event\): PSYS did not change during the run/);
  const metrics: JsonMetric[] = JSON.parse(out.stdoutText).phases[0].metrics;
  const psys = metrics.find((m) => m.name === "PSYS")!;
  assert.equal(psys.value, 0);
  assert.equal(psys.details?.not_updating, true);
  assert.equal(metrics.find((m) => m.name === "PACKAGE-0")!.details?.not_updating, undefined);
  // The run's totals say so too, for scripts that read only them.
  const totals: { name: string; not_updating?: boolean }[] =
    JSON.parse(out.stdoutText).totals.energy;
  assert.equal(totals.find((entry) => entry.name === "PSYS")!.not_updating, true);
  assert.equal(totals.find((entry) => entry.name === "PACKAGE-0")!.not_updating, undefined);
  // And the terminal's whole-run table, the first figures a user reads.
  const terminal = await runCli(["profile", "--", "sleep", "0.2"], {
    env: { JOULE_PROFILER_EVENT_SOURCE_PATH: root },
  });
  assert.equal(terminal.code, 0, terminal.stderr);
  const wholeRun = terminal.stdoutText.split("\n");
  const header = wholeRun.findIndex((line) => line.trimStart().startsWith("Whole run"));
  assert.ok(header >= 0, terminal.stdoutText);
  const psysRow = wholeRun.slice(header).find((line) => line.trimStart().startsWith("PSYS"));
  assert.match(psysRow ?? "", /\(counter not updating: not a measurement\)/);
  assert.doesNotMatch(psysRow ?? "", /\[measured\]/, "a frozen 0 is labelled as no measurement");
  const packageRow = wholeRun.slice(header).find((line) =>
    line.trimStart().startsWith("PACKAGE-0")
  );
  assert.doesNotMatch(packageRow ?? "", /not updating/);
});
