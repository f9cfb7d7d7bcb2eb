/**
 * The cost of one boundary read, for the performance report's "measurement
 * cost" figure: `deno run -A boundary_cost.ts` builds the sources over fake
 * counters, takes 20,000 boundaries (measure + retrieve) and prints
 * `{"names": …, "p50": µs, "p99": µs}`. The report runs it under `taskset`,
 * on the CPU the stand-in RAPL counters are bound to and on another one.
 *
 * @module
 */

import { monotonicNs } from "../../src/clock.ts";
import { SourceOrchestrator } from "../../src/orchestrator.ts";
import type { Source } from "../../src/source.ts";
import { PerfRaplSource, planPerfRaplCounters } from "../../sources/rapl/perf_rapl_source.ts";
import { discoverPowerPmu } from "../../sources/rapl/power_pmu.ts";
import { PerfEventSource } from "../../sources/perf_event/mod.ts";
import { writeFakePowerPmu } from "../fixtures/fake_powercap.ts";
import { twoSocketPowercapSource } from "./fake_rapl_sources.ts";
import { percentile } from "./figure.ts";

/** The CPU the stand-in RAPL PMU's counters are opened on (its `cpumask`). */
export const STAND_IN_PMU_CPU = 0;

if (import.meta.main) {
  const root = await Deno.makeTempDir();
  try {
    const powercap = await twoSocketPowercapSource(root);
    // A software event (cpu-clock) stands in for the RAPL PMU: counters bound to one CPU.
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
    const sources: Source[] = [
      powercap,
      new PerfRaplSource(pmu, planPerfRaplCounters(pmu, { packageOfCpu: () => 0 })),
      // The 8 `--perf` default events on this process (those the machine lacks are left out).
      new PerfEventSource({ warn: () => {} }),
    ];
    const orchestrator = new SourceOrchestrator(sources);
    await orchestrator.init(Deno.pid);
    orchestrator.measure();
    const costs: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const start = monotonicNs();
      orchestrator.measure();
      orchestrator.retrieve();
      costs.push(Number(monotonicNs() - start) / 1000);
    }
    await orchestrator.join();
    console.log(JSON.stringify({
      names: sources.map((source) => source.name),
      p50: percentile(costs, 50),
      p99: percentile(costs, 99),
    }));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}
