/**
 * RAPL energy through perf_event: the `power` PMU's 64-bit counters, one
 * per domain and package, system-wide.
 *
 * @module
 */

import { SourceError } from "../../src/errors.ts";
import { PerfCounterGroup, PerfEventOpenError } from "../../src/ffi/perf_event.ts";
import { SnapshotStore } from "../../src/snapshot_store.ts";
import { StaleCounterWatch, staleWarning } from "./stale_counter_watch.ts";
import type { Metric, SampleSeries, Sensor, Source } from "../../src/source.ts";
import { SampleBuffer } from "../../src/sampling/sample_buffer.ts";
import type { PowerPmu, PowerPmuEvent } from "./power_pmu.ts";
import { markTotals, PERF_RAPL_SOURCE_NAME, RAPL_UNIT, type RaplDomain } from "./rapl_domain.ts";

/** One counter to open: a domain of one package, on that package's CPU. */
export interface PerfRaplCounterPlan {
  /** Sensor name (`PACKAGE-0`, `PSYS`, ...). */
  sensor: string;
  /** The domain. */
  domain: RaplDomain;
  /** The PMU event. */
  event: PowerPmuEvent;
  /** CPU the counter is opened on. */
  cpu: number;
  /** Package id (`undefined` for PSYS). */
  packageId: number | undefined;
}

/** Counters read together: one perf group on one CPU, and the columns its values go to. */
interface CounterGroup {
  group: PerfCounterGroup;
  columns: number[];
}

/** 2^64, to undo a (theoretical) wrap of a 64-bit counter. */
const TWO_POW_64 = 18446744073709551616;

/**
 * RAPL energy per phase from the perf `power` PMU. Counters are opened by
 * `init()` (system-wide: pid -1, on the CPU `cpumask` names for each
 * package; PSYS once), as one perf group per CPU, read at each boundary
 * with one `read(2)` per group into a reused buffer (the kernel reads the
 * group's domains in one pass: one system call, and at most one cross-CPU
 * call, per package), and converted with the event's scale after the run.
 * Where the kernel refuses a group, its counters are opened and read one by
 * one.
 *
 * @example Usage
 * ```ts
 * import { discoverPowerPmu } from "./power_pmu.ts";
 * import { PerfRaplSource, planPerfRaplCounters } from "./perf_rapl_source.ts";
 * const pmu = discoverPowerPmu();
 * if (!("missing" in pmu)) {
 *   const source = new PerfRaplSource(pmu, planPerfRaplCounters(pmu, { packageOfCpu: () => 0 }));
 * }
 * ```
 */
export class PerfRaplSource implements Source<number> {
  /** `RAPL (perf_event)`. */
  readonly name: string = PERF_RAPL_SOURCE_NAME;
  /** Machine-wide counters: read by one task per node in a distributed job. */
  readonly scope = "machine" as const;
  /** The counters, in column order. */
  readonly plan: readonly PerfRaplCounterPlan[];
  readonly #pmu: PowerPmu;
  #groups: CounterGroup[] = [];
  readonly #store: SnapshotStore;
  readonly #watch = new StaleCounterWatch();
  readonly #warn: (message: string) => void;
  /** Counters of the last run that never moved. */
  #stale = new Set<number>();
  /** Raw counts at each sample, when sampling is on. */
  readonly #samples: SampleBuffer;

  /**
   * Creates the source; counters are opened by `init()`.
   *
   * @param pmu The PMU.
   * @param plan The counters to open.
   * @param options `warn` receives diagnostics (counters that never move).
   */
  constructor(
    pmu: PowerPmu,
    plan: readonly PerfRaplCounterPlan[],
    options: { warn?: (message: string) => void } = {},
  ) {
    this.#pmu = pmu;
    this.plan = [...plan];
    this.#store = new SnapshotStore(plan.length);
    this.#samples = new SampleBuffer(plan.length);
    this.#warn = options.warn ?? (() => {});
  }

  /**
   * Opens every counter (and closes what it opened if one fails).
   *
   * @throws {PerfEventOpenError} When the kernel refuses a counter.
   */
  open(): void {
    this.#closeCounters();
    const byCpu = new Map<number, number[]>();
    this.plan.forEach((entry, column) => {
      const columns = byCpu.get(entry.cpu);
      if (columns === undefined) byCpu.set(entry.cpu, [column]);
      else columns.push(column);
    });
    try {
      for (const [cpu, columns] of byCpu) {
        try {
          this.#openGroup(cpu, columns);
        } catch (error) {
          if (!(error instanceof PerfEventOpenError) || columns.length === 1) throw error;
          // Refused together (or one of them is refused at all): one by one, so a
          // counter the kernel takes alone is still read, and one it refuses is named.
          for (const column of columns) this.#openGroup(cpu, [column]);
        }
      }
    } catch (error) {
      this.#closeCounters();
      throw error;
    }
  }

  #openGroup(cpu: number, columns: number[]): void {
    const group = PerfCounterGroup.open(
      columns.map((column) => {
        const entry = this.plan[column]!;
        return {
          name: `power/${entry.event.event}/ on CPU ${cpu}`,
          attr: { type: this.#pmu.type, config: entry.event.config },
        };
      }),
      { pid: -1, cpu },
    );
    this.#groups.push({ group, columns });
  }

  /** Opens the counters for this run. */
  init(): void {
    this.open();
    this.#store.clear();
    this.#samples.clear();
    this.#watch.reset();
    this.#stale.clear();
  }

  /** Reads every counter. */
  measure(): void {
    if (this.#groups.length === 0 && this.plan.length > 0) {
      throw new SourceError(this.name, "read before init()");
    }
    this.#watch.stamp();
    const row = this.#store.append();
    this.#readInto(this.#store.values, row);
  }

  /** One read per group, each value into its column after `offset`. */
  #readInto(values: Float64Array, offset: number): void {
    for (let g = 0; g < this.#groups.length; g++) {
      const { group, columns } = this.#groups[g]!;
      group.read();
      for (let j = 0; j < columns.length; j++) values[offset + columns[j]!] = group.value(j);
    }
  }

  /** Reads every counter into the sample buffer (the boundary rows are untouched). */
  sample(): void {
    if (this.#groups.length === 0 && this.plan.length > 0) {
      throw new SourceError(this.name, "sampled before init()");
    }
    // append() first: it may move the values to a larger buffer.
    const offset = this.#samples.append();
    this.#readInto(this.#samples.values, offset);
  }

  /**
   * Power per domain between consecutive samples.
   *
   * @returns One `W` series per counter.
   */
  samples(): SampleSeries[] {
    return this.plan.map((entry, i) => ({
      name: entry.sensor,
      unit: "W",
      source: this.name,
      ...this.#samples.rates(i, entry.event.scale),
    }));
  }

  /** A boundary at the instant of the previous one: its readings again, nothing read. */
  repeat(): void {
    this.#store.appendCopy();
  }

  /**
   * Closes the phase that ended at the last `measure()`.
   *
   * @returns The row of the boundary that closed the phase.
   */
  retrieve(): number {
    return this.#store.rows - 1;
  }

  /** Closes the counters; warns about counters that never moved. */
  join(): void {
    this.#stale = new Set(this.#watch.staleColumns(this.#store));
    if (this.#stale.size > 0) {
      this.#warn(staleWarning(this.name, [...this.#stale].map((i) => this.plan[i]!.sensor)));
    }
    this.#closeCounters();
  }

  /** Closes the counters without the end-of-run checks (after a probe). */
  close(): void {
    this.#closeCounters();
  }

  #closeCounters(): void {
    for (const { group } of this.#groups) group.close();
    this.#groups = [];
  }

  /** One µJ sensor per counter. */
  sensors(): Sensor[] {
    return this.plan.map((entry) => ({ name: entry.sensor, unit: RAPL_UNIT, source: this.name }));
  }

  /**
   * The energy of each domain over one phase.
   *
   * @param row The row `retrieve()` returned for the phase's end.
   * @returns µJ per domain (to the nJ), totals marked.
   */
  toMetrics(row: number): Metric[] {
    const energies = this.plan.map((entry, i) => {
      let counts = this.#store.delta(row - 1, row, i);
      if (counts < 0) counts += TWO_POW_64;
      const microjoules = Math.round(counts * entry.event.scale * 1e9) / 1e3;
      return { name: entry.sensor, domain: entry.domain, microjoules };
    });
    const stale = new Set([...this.#stale].map((i) => this.plan[i]!.sensor));
    return markTotals(energies).map(({ name, microjoules, details }) => ({
      name,
      value: microjoules,
      unit: RAPL_UNIT,
      source: this.name,
      details: stale.has(name) ? { ...details, not_updating: true } : details,
    }));
  }
}

/** How to plan counters. */
export interface PerfRaplPlanOptions {
  /** Package (and die) of a CPU. */
  packageOfCpu: (cpu: number) => { packageId: number; dieId?: number | undefined } | number;
  /** Keep only these packages (PSYS is kept whatever this says). */
  sockets?: readonly number[];
}

/**
 * Decides the counters: each domain once per package, on the CPU the PMU's
 * `cpumask` names for that package; PSYS once, on the first such CPU,
 * whatever `sockets` says. Sensor names follow the package (and die, when
 * two cpumask CPUs share a package).
 *
 * @param pmu The PMU.
 * @param options Topology lookup and socket filter.
 * @returns The counters to open.
 *
 * @example Usage
 * ```ts
 * import { planPerfRaplCounters } from "./perf_rapl_source.ts";
 * const plan = planPerfRaplCounters({
 *   path: "", type: 1, cpus: [0], notes: [],
 *   events: [{ event: "energy-pkg", domain: "PACKAGE", config: 2n, scale: 1e-9 }],
 * }, { packageOfCpu: () => 0 });
 * console.log(plan[0]!.sensor); // "PACKAGE-0"
 * ```
 */
export function planPerfRaplCounters(
  pmu: PowerPmu,
  options: PerfRaplPlanOptions,
): PerfRaplCounterPlan[] {
  const places = pmu.cpus.map((cpu, index) => {
    const found = options.packageOfCpu(cpu);
    const topology = typeof found === "number" ? { packageId: found, dieId: undefined } : found;
    return { cpu, index, packageId: topology.packageId, dieId: topology.dieId };
  });
  const shared = (packageId: number) => places.filter((p) => p.packageId === packageId).length > 1;
  const plan: PerfRaplCounterPlan[] = [];
  for (const place of places) {
    if (options.sockets && !options.sockets.includes(place.packageId)) continue;
    for (const event of pmu.events) {
      if (event.domain === "PSYS") continue;
      let sensor = `${event.domain}-${place.packageId}`;
      if (shared(place.packageId)) {
        sensor += place.dieId === undefined ? `_${place.index}` : `-DIE-${place.dieId}`;
      }
      plan.push({
        sensor,
        domain: event.domain,
        event,
        cpu: place.cpu,
        packageId: place.packageId,
      });
    }
  }
  const psys = pmu.events.find((event) => event.domain === "PSYS");
  const first = places[0];
  if (psys !== undefined && first !== undefined) {
    plan.push({
      sensor: "PSYS",
      domain: "PSYS",
      event: psys,
      cpu: first.cpu,
      packageId: undefined,
    });
  }
  return plan;
}
