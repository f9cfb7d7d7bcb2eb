import assert from "node:assert/strict";
import { CLI_ENTRY, REPO_ROOT, runCli, skipUnlessNobodyRunsDeno } from "./helpers.ts";
import { buildNvmlStub, stubChildEnv } from "./nvml_stub.ts";
import { twoSocketZones, writeFakePowercap, writeFakePowerPmu } from "./fixtures/fake_powercap.ts";

interface Check {
  source: string;
  status: string;
  summary: string;
  why: string[];
  fixes: string[];
}

async function fakeMachine(): Promise<Record<string, string>> {
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, twoSocketZones());
  await writeFakePowerPmu(root, {
    type: 1,
    cpumask: "0",
    events: [{
      name: "energy-pkg",
      description: "event=0x00",
      scale: "2.3283064365386962890625e-10",
    }],
  });
  return {
    JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
    JOULE_PROFILER_EVENT_SOURCE_PATH: root,
    JOULE_PROFILER_NVML_PATH: await buildNvmlStub(),
    ...stubChildEnv({ NVML_STUB_DEVICES: "2", NVML_STUB_NO_ENERGY: "1" }),
  };
}

Deno.test("doctor --json reports what works, what is partial, and counters that never move", async () => {
  const out = await runCli(["--json", "doctor"], { env: await fakeMachine() });
  assert.equal(out.code, 0, out.stderr);
  const report = JSON.parse(out.stdoutText);
  assert.equal(typeof report.environment.kernel, "string");
  const checks = new Map<string, Check>(report.checks.map((c: Check) => [c.source, c]));
  assert.equal(checks.get("RAPL (perf_event)")?.status, "available");
  assert.match(checks.get("RAPL (perf_event)")!.summary, /PACKAGE-0/);
  // The fake zones' energy_uj never changes: doctor watches them and says so.
  const powercap = checks.get("RAPL (Powercap)")!;
  assert.equal(powercap.status, "unavailable");
  assert.match(powercap.summary, /7 zones/);
  assert.match(powercap.why.join("\n"), /PACKAGE-0 is exposed but did not move in 100 ms/);
  const process = checks.get("process")!;
  assert.notEqual(process.status, "unavailable");
  assert.match(process.why.join("\n"), /needs eBPF/);
  assert.match(checks.get("system")!.summary, /machine-wide CPU time of \d+ logical CPUs/);
  const nvml = checks.get("NVML")!;
  assert.equal(nvml.status, "partial");
  assert.match(nvml.why[0]!, /GPU 1 has no energy counter/);
});

Deno.test("doctor explains missing sources with the fix for each", async () => {
  const empty = await Deno.makeTempDir();
  const out = await runCli(["doctor"], {
    env: {
      JOULE_PROFILER_RAPL_PATH: empty,
      JOULE_PROFILER_EVENT_SOURCE_PATH: empty,
      JOULE_PROFILER_NVML_PATH: `${empty}/libnvidia-ml.so.1`,
    },
  });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdoutText, /RAPL \(perf_event\): ✗ not available — no perf 'power' PMU/);
  assert.match(out.stdoutText, /RAPL \(Powercap\): ✗ not available — no RAPL zones/);
  assert.match(out.stdoutText, /NVML: ✗ not available — libnvidia-ml\.so\.1 not found/);
  assert.match(out.stdoutText, /fix: export JOULE_PROFILER_NVML_PATH=/);
  assert.match(out.stdoutText, /Without RAPL/);
});

Deno.test("profile points to doctor when RAPL is unavailable", async () => {
  const empty = await Deno.makeTempDir();
  const out = await runCli(["--json", "-o", "-", "profile", "--", "true"], {
    env: { JOULE_PROFILER_RAPL_PATH: empty, JOULE_PROFILER_EVENT_SOURCE_PATH: empty },
  });
  assert.match(out.stderr, /'joule-profiler doctor' says how to fix it/);
});

const AS_NOBODY =
  "doctor, as an unprivileged user, gives the permission fixes (setcap, sysctl, chmod, group rule)";
Deno.test(AS_NOBODY, { ignore: skipUnlessNobodyRunsDeno(AS_NOBODY) }, async () => {
  const root = await Deno.makeTempDir();
  await Deno.chmod(root, 0o755);
  const files = await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0" }]);
  await Deno.chmod(files.get("intel-rapl:0")!, 0o400);
  await writeFakePowerPmu(root, {
    type: 1,
    events: [{ name: "energy-pkg", description: "event=0x00", scale: "1e-9" }],
  });
  const denoDir = await Deno.makeTempDir();
  await Deno.chmod(denoDir, 0o777);
  const script = `
    import { diagnose } from "${REPO_ROOT}src/cli/doctor.ts";
    const report = await diagnose({
      powercapPath: "${root}/intel-rapl",
      eventSourcePath: "${root}",
      binaryPath: "/usr/local/bin/joule-profiler",
    });
    console.log(JSON.stringify(report.checks));
  `;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-lock", script],
    uid: 65534,
    gid: 65534,
    env: { DENO_DIR: denoDir, NO_COLOR: "1", JOULE_PROFILER_NVML_PATH: `${root}/none.so` },
    cwd: denoDir,
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const checks = new Map<string, Check>(
    JSON.parse(new TextDecoder().decode(output.stdout)).map((c: Check) => [c.source, c]),
  );
  // An unprivileged user cannot make cgroups here: /proc only, and the way to get one.
  const process = checks.get("process")!;
  assert.equal(process.status, "partial");
  assert.match(process.why.join("\n"), /no cgroup of the program's own/);
  assert.ok(process.fixes.some((fix) => fix.includes("Delegate=yes")));
  assert.equal(checks.get("system")!.status, "available");
  const powercap = checks.get("RAPL (Powercap)")!;
  assert.equal(powercap.status, "unavailable");
  assert.ok(powercap.fixes.some((fix) => fix.startsWith("sudo chmod -R a+r /sys/class/powercap")));
  assert.ok(powercap.fixes.some((fix) => fix.includes("/etc/tmpfiles.d/joule-profiler.conf")));
  const perf = checks.get("RAPL (perf_event)")!;
  if (Number(Deno.readTextFileSync("/proc/sys/kernel/perf_event_paranoid")) > 0) {
    assert.equal(perf.status, "unavailable");
    assert.ok(
      perf.fixes[0]!.startsWith("sudo setcap cap_perfmon=ep /usr/local/bin/joule-profiler"),
    );
    assert.ok(perf.fixes.some((fix) => fix.startsWith("sudo sysctl kernel.perf_event_paranoid=0")));
  }
});

Deno.test("doctor says whether profile can wake at once on a busy machine (short slices)", async () => {
  const reported = /^se\.slice\s/m.test(await Deno.readTextFile("/proc/self/sched"));
  const out = await runCli(["--json", "doctor"]);
  assert.equal(out.code, 0, out.stderr);
  const { shortSlices } = JSON.parse(out.stdoutText).environment;
  assert.equal(shortSlices.available, reported, shortSlices.reason);
  const text = await runCli(["doctor"]);
  assert.match(
    text.stdoutText,
    reported
      ? /^Scheduler: profile runs its main thread with 0\.1 ms slices \(default \d/m
      : /^Scheduler: default slices \(this kernel keeps no custom slice/m,
  );
  // Under a negative nice the profiler leaves its schedule alone, and doctor says why.
  const niced = await new Deno.Command("nice", {
    args: ["-n", "-4", Deno.execPath(), "run", "-A", `${CLI_ENTRY}`, "doctor"],
    env: { NO_COLOR: "1" },
  }).output();
  assert.match(new TextDecoder().decode(niced.stdout), /^Scheduler: default slices \(nice -4:/m);
});
