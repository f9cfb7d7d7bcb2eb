/**
 * Cost of one boundary's RAPL read: every powercap zone of a two-socket
 * fake tree, and the perf backend's counters on a fake PMU (real
 * perf_event_open counters). Run with `deno task bench`.
 *
 * @module
 */

import { PerfRaplSource, planPerfRaplCounters } from "../../sources/rapl/perf_rapl_source.ts";
import { discoverPowerPmu } from "../../sources/rapl/power_pmu.ts";
import { writeFakePowerPmu } from "../fixtures/fake_powercap.ts";
import { twoSocketPowercapSource } from "./fake_rapl_sources.ts";

const root = await Deno.makeTempDir();
const powercap = await twoSocketPowercapSource(root);
powercap.init();

await writeFakePowerPmu(root, {
  type: 1,
  cpumask: "0",
  events: ["energy-pkg", "energy-cores", "energy-ram", "energy-psys"].map((name) => ({
    name,
    description: "event=0x00",
    scale: "2.3283064365386962890625e-10",
  })),
});
const pmu = discoverPowerPmu(root);
if ("missing" in pmu) throw new Error(pmu.missing);
const perf = new PerfRaplSource(pmu, planPerfRaplCounters(pmu, { packageOfCpu: () => 0 }));
perf.init();

Deno.bench("RAPL powercap: measure 7 zones (2 sockets + psys)", { group: "rapl" }, () => {
  powercap.measure();
});

Deno.bench("RAPL perf_event: measure 4 counters", { group: "rapl" }, () => {
  perf.measure();
});
