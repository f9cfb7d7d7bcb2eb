import assert from "node:assert/strict";
import { monotonicNs } from "../src/clock.ts";
import { libc } from "../src/ffi/libc.ts";
import { startSleepingTree } from "./helpers.ts";
import { Sampler } from "../src/sampling/sampler.ts";
import { ProcessUsageSampler } from "../src/sampling/process_usage.ts";
import { SourceOrchestrator } from "../src/orchestrator.ts";
import { PowercapSource } from "../sources/rapl/powercap_source.ts";
import { discoverPowercapZones } from "../sources/rapl/powercap_zones.ts";
import { PerfRaplSource, planPerfRaplCounters } from "../sources/rapl/perf_rapl_source.ts";
import { discoverPowerPmu } from "../sources/rapl/power_pmu.ts";
import { energyText, writeFakePowercap, writeFakePowerPmu } from "./fixtures/fake_powercap.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("Sampler ticks on absolute deadlines: ticks + missed ≈ duration / interval", async () => {
  const stamps: number[] = [];
  const sampler = new Sampler({
    intervalMs: 10,
    tick: () => void stamps.push(Number(monotonicNs())),
  });
  const start = Number(monotonicNs());
  sampler.start();
  await sleep(500);
  await sampler.stop();
  const elapsedMs = (Number(monotonicNs()) - start) / 1e6;
  assert.equal(sampler.ticks, stamps.length);
  const expected = Math.floor(elapsedMs / 10);
  assert.ok(
    Math.abs(sampler.ticks + sampler.missed - expected) <= 2,
    `${sampler.ticks} ticks + ${sampler.missed} missed over ${elapsedMs.toFixed(1)} ms`,
  );
  // No drift: tick k lands near start + k × 10 ms, not k × (10 ms + timer lateness).
  const last = (stamps.at(-1)! - start) / 1e6;
  const k = sampler.ticks + sampler.missed;
  assert.ok(Math.abs(last - k * 10) < 5, `tick ${k} at ${last.toFixed(2)} ms`);
  const countAfterStop = stamps.length;
  await sleep(30);
  assert.equal(stamps.length, countAfterStop, "no tick after stop()");
});

Deno.test("Sampler skips and counts deadlines a slow tick made it miss", async () => {
  let calls = 0;
  const sampler = new Sampler({
    intervalMs: 5,
    tick: () => {
      calls++;
      if (calls === 2) {
        const until = performance.now() + 32;
        while (performance.now() < until) { /* busy: 6 deadlines pass */ }
      }
    },
  });
  sampler.start();
  await sleep(100);
  await sampler.stop();
  assert.ok(sampler.missed >= 5, `${sampler.missed} missed`);
  assert.ok(sampler.ticks < 100 / 5, `${sampler.ticks} ticks`);
});

Deno.test("Sampler waits for an asynchronous tick and never keeps the process alive", async () => {
  let inFlight = 0;
  let overlap = false;
  const sampler = new Sampler({
    intervalMs: 2,
    tick: async () => {
      if (++inFlight > 1) overlap = true;
      await sleep(5);
      inFlight--;
    },
  });
  sampler.start();
  await sleep(60);
  await sampler.stop();
  assert.equal(overlap, false);
  assert.equal(inFlight, 0, "stop() waited for the tick in flight");
  assert.throws(() => new Sampler({ intervalMs: 0, tick: () => {} }), RangeError);
});

Deno.test("ProcessUsageSampler follows a process tree's CPU and RSS in /proc", async () => {
  // A child that spins 0.3 s under a shell that waits for it: its CPU is the tree's.
  const shell = new Deno.Command("sh", {
    args: ["-c", "sh -c 'i=0; while [ $i -lt 1000000 ]; do i=$((i+1)); done' & sleep 0.3; kill $!"],
  }).spawn();
  const usage = new ProcessUsageSampler(shell.pid);
  for (let i = 0; i < 6; i++) {
    assert.equal(usage.sample(), true);
    await sleep(40);
  }
  await shell.status;
  assert.equal(usage.sample(), false, "no sample once the program is gone");
  usage.close();
  const [cpu, rss] = usage.samples();
  assert.equal(cpu!.name, "CPU");
  assert.equal(cpu!.unit, "%");
  assert.equal(cpu!.values.length, 5);
  // A loaded machine (tests run in parallel) may give the spinning child less than a core.
  const busy = Math.max(...cpu!.values);
  assert.ok(busy > 30, `highest CPU ${busy} %`);
  assert.equal(rss!.unit, "MiB");
  assert.equal(rss!.values.length, 6);
  assert.ok(rss!.values.every((mib) => mib > 0 && mib < 1024));
});

Deno.test("ProcessUsageSampler reads a children list longer than its first buffer whole", async () => {
  // 1,200 sleeping children list 6 KB or more of pids in the shell's `children`: past the first 4
  // KiB buffer, and past the page one read of that file gives. Every one of them counts in the
  // RSS (a read cut short left the last ones out).
  const tree = await startSleepingTree(1200);
  try {
    const pids = [tree.shell.pid, ...tree.children()];
    assert.equal(pids.length, 1201);
    assert.ok(pids.join(" ").length > 4096);
    const resident = () =>
      pids.reduce(
        (sum, pid) => sum + Number(Deno.readTextFileSync(`/proc/${pid}/statm`).split(" ")[1]),
        0,
      );
    const before = resident();
    const usage = new ProcessUsageSampler(tree.shell.pid);
    assert.equal(usage.sample(), true);
    usage.close();
    assert.equal(resident(), before, "the tree's memory moved");
    const pageMiB = Number(libc().sysconf(30)) / 1048576; // _SC_PAGESIZE
    assert.equal(usage.samples()[1]!.values[0], before * pageMiB);
  } finally {
    await tree.stop();
  }
});

Deno.test("PowercapSource: samples give power, boundary energies stay exact", async () => {
  const root = await Deno.makeTempDir();
  const files = await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0" }]);
  const file = files.get("intel-rapl:0")!;
  const { zones } = discoverPowercapZones(`${root}/intel-rapl`);
  const withSampling = async (sample: boolean) => {
    await Deno.writeTextFile(file, energyText(1_000));
    const source = new PowercapSource({ zones, pollingSeconds: 0 });
    const orchestrator = new SourceOrchestrator([source]);
    await orchestrator.init(Deno.pid);
    orchestrator.measure();
    for (const energy of [1_500, 4_000, 4_250]) {
      await Deno.writeTextFile(file, energyText(energy));
      if (sample) orchestrator.sample();
    }
    orchestrator.measure();
    orchestrator.retrieve();
    await Deno.writeTextFile(file, energyText(10_000));
    if (sample) orchestrator.sample();
    orchestrator.measure();
    orchestrator.retrieve();
    await orchestrator.join();
    return { phases: orchestrator.toPhaseMetrics(), samples: orchestrator.samples() };
  };
  const plain = await withSampling(false);
  const sampled = await withSampling(true);
  const energies = (phases: typeof plain.phases) => phases.map((p) => p.metrics[0]!.value);
  assert.deepEqual(energies(plain.phases), [3_250, 5_750]);
  assert.deepEqual(sampled.phases, plain.phases);
  assert.deepEqual(plain.samples, [
    {
      name: "PACKAGE-0",
      unit: "W",
      source: "RAPL (Powercap)",
      // A machine-wide source's series say so: `merge` keeps them once per node.
      scope: "machine",
      timesNs: new Float64Array(),
      values: new Float64Array(),
    },
  ]);
  const [series] = sampled.samples;
  assert.equal(series!.values.length, 3);
  // Each point is the energy since the previous sample over the time between them,
  // stamped at the later sample: 4,250 - 4,000 µJ for the second.
  const times = series!.timesNs;
  assert.ok(times[1]! > times[0]!);
  const seconds = (times[1]! - times[0]!) / 1e9;
  assert.ok(Math.abs(series!.values[1]! / (250e-6 / seconds) - 1) < 1e-6);
});

Deno.test("PowercapSource keeps sampling past its preallocated rows", async () => {
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0", energyUj: 5 }]);
  const source = new PowercapSource({
    zones: discoverPowercapZones(`${root}/intel-rapl`).zones,
    pollingSeconds: 0,
  });
  source.init();
  for (let i = 0; i < 5000; i++) source.sample();
  source.join();
  const [series] = source.samples();
  assert.equal(series!.values.length, 4999);
  assert.ok(series!.values.every((watts) => watts === 0));
});

Deno.test("PerfRaplSource samples its counters without touching the boundary rows", async () => {
  // A fake `power` PMU whose event is the software cpu-clock: real counters that move.
  const root = await Deno.makeTempDir();
  await writeFakePowerPmu(root, {
    type: 1,
    cpumask: "0",
    events: [{ name: "energy-pkg", description: "event=0x00", scale: "1e-9" }],
  });
  const pmu = discoverPowerPmu(root);
  if ("missing" in pmu) throw new Error(pmu.missing);
  const source = new PerfRaplSource(pmu, planPerfRaplCounters(pmu, { packageOfCpu: () => 0 }));
  source.init();
  source.measure();
  for (let i = 0; i < 4; i++) {
    source.sample();
    await sleep(10);
  }
  source.measure();
  const row = source.retrieve();
  source.join();
  const [series] = source.samples();
  assert.equal(series!.name, "PACKAGE-0");
  assert.equal(series!.unit, "W");
  assert.equal(series!.values.length, 3);
  // cpu-clock ns × 1e-9 "J" per second of wall time: between 0 and the number of CPUs.
  assert.ok(series!.values.every((w) => w >= 0 && w <= navigator.hardwareConcurrency + 0.1));
  const [metric] = source.toMetrics(row);
  assert.ok(metric!.value > 0, "the phase still has its own energy");
});
