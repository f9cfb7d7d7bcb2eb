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
import { PerfEventSource } from "../../sources/perf_event/mod.ts";
import { standInPerfRaplSource, twoSocketPowercapSource } from "./fake_rapl_sources.ts";
import { percentile } from "./figure.ts";

if (import.meta.main) {
  const root = await Deno.makeTempDir();
  try {
    const powercap = await twoSocketPowercapSource(root);
    const sources: Source[] = [
      powercap,
      await standInPerfRaplSource(root),
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
