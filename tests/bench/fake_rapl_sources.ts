/**
 * RAPL sources over fake trees, for the benchmarks: the real reading code,
 * on counters that exist on any machine.
 *
 * @module
 */

import { PowercapSource } from "../../sources/rapl/powercap_source.ts";
import { discoverPowercapZones } from "../../sources/rapl/powercap_zones.ts";
import { PerfRaplSource, planPerfRaplCounters } from "../../sources/rapl/perf_rapl_source.ts";
import { discoverPowerPmu } from "../../sources/rapl/power_pmu.ts";
import { twoSocketZones, writeFakePowercap, writeFakePowerPmu } from "../fixtures/fake_powercap.ts";

/** The CPU the stand-in RAPL PMU's counters are opened on (its `cpumask`). */
export const STAND_IN_PMU_CPU = 0;

/**
 * A powercap source over a fresh fake two-socket tree (7 zones) in `root`,
 * polling off, not yet initialised.
 *
 * @param root Folder to create the tree in.
 * @returns The source.
 */
export async function twoSocketPowercapSource(root: string): Promise<PowercapSource> {
  await writeFakePowercap(root, twoSocketZones());
  return new PowercapSource({
    zones: discoverPowercapZones(`${root}/intel-rapl`).zones,
    pollingSeconds: 0,
  });
}

/**
 * A perf_event RAPL source over a stand-in `power` PMU written in `root`:
 * its four events are a software event (cpu-clock) bound to
 * {@linkcode STAND_IN_PMU_CPU}, read through the real code; not yet
 * initialised.
 *
 * @param root Folder to write the PMU's sysfs files in.
 * @returns The source.
 */
export async function standInPerfRaplSource(root: string): Promise<PerfRaplSource> {
  await writeFakePowerPmu(root, {
    type: 1,
    cpumask: String(STAND_IN_PMU_CPU),
    events: ["energy-pkg", "energy-cores", "energy-ram", "energy-psys"].map((name) => ({
      name,
      description: "event=0x00",
      scale: "2.3283064365386962890625e-10",
    })),
  });
  const pmu = discoverPowerPmu(root);
  if ("missing" in pmu) throw new Error(pmu.missing);
  return new PerfRaplSource(pmu, planPerfRaplCounters(pmu, { packageOfCpu: () => 0 }));
}
