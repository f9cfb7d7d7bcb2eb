/**
 * Results in the OpenMetrics text format, for Prometheus: node_exporter's
 * textfile collector reads the file, a Pushgateway takes the same text.
 *
 * Every value is a gauge of one phase (`phase` and `phase_index` labels),
 * the mean over the runs with `-n` (`joule_profiler_runs` says how many).
 * Energies are in joules and carry their `method` label (`measured`,
 * `attributed`, `estimated`); durations in seconds; other metrics keep
 * their unit in the metric name, as the format asks.
 *
 * @module
 */

import { joulesPerUnit } from "../energy_units.ts";
import type { ProfileResult } from "../result.ts";
import { phaseStatistics } from "../stats/phase_statistics.ts";
import { CARBON_UNIT } from "../energy/carbon.ts";

/** Options of {@linkcode openMetricsText}. */
export interface OpenMetricsOptions {
  /**
   * End with `# EOF` and write `# UNIT` lines (OpenMetrics). `false` gives
   * the Prometheus text format 0.0.4, which a Pushgateway takes.
   */
  openMetrics?: boolean;
  /** Labels added to every sample (e.g. `{ command: "bench" }`). */
  constLabels?: Record<string, string>;
}

interface Family {
  name: string;
  help: string;
  unit: string;
  samples: string[];
}

/**
 * Escapes a label value: backslash, double quote and line feed, as the
 * format defines.
 *
 * @param value Any string.
 * @returns The escaped value (without the surrounding quotes).
 *
 * @example Usage
 * ```ts
 * import { escapeLabelValue } from "./openmetrics.ts";
 * console.log(escapeLabelValue('a "b"\\c\n')); // a \"b\"\\c\n
 * ```
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(pairs: Record<string, string>): string {
  const entries = Object.entries(pairs);
  if (entries.length === 0) return "";
  return `{${entries.map(([key, value]) => `${key}="${escapeLabelValue(value)}"`).join(",")}}`;
}

/** A name part made of `[a-z0-9_]`, as metric names need. */
function namePart(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "") || "x";
}

function number(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Base unit and factor for a metric's unit; `undefined` keeps the value as it is. */
function baseUnit(unit: string): { unit: string; factor: number } {
  const joules = joulesPerUnit(unit);
  if (joules !== undefined) return { unit: "joules", factor: joules };
  switch (unit) {
    case "ns":
      return { unit: "seconds", factor: 1e-9 };
    case "µs":
    case "us":
      return { unit: "seconds", factor: 1e-6 };
    case "ms":
      return { unit: "seconds", factor: 1e-3 };
    case "s":
      return { unit: "seconds", factor: 1 };
    case "B":
    case "bytes":
      return { unit: "bytes", factor: 1 };
    case "KiB":
      return { unit: "bytes", factor: 1024 };
    case "MiB":
      return { unit: "bytes", factor: 1024 * 1024 };
    case "W":
      return { unit: "watts", factor: 1 };
    case "%":
      return { unit: "percent", factor: 1 };
    case CARBON_UNIT:
      return { unit: "grams", factor: 1 };
    default:
      return { unit: "", factor: 1 };
  }
}

/**
 * The result as OpenMetrics (or Prometheus 0.0.4) text: `HELP`, `TYPE`
 * (and `UNIT`) lines, one gauge family per kind of figure.
 *
 * Families: `joule_profiler_energy_joules{phase,phase_index,domain,source,method}`,
 * `joule_profiler_phase_duration_seconds{phase,phase_index}`,
 * `joule_profiler_carbon_grams{phase,phase_index,domain,source,method}`,
 * `joule_profiler_<source>_<metric>[_<unit>]{phase,phase_index}` for every
 * other metric (process, perf counters…), `joule_profiler_runs` and
 * `joule_profiler_exit_code`.
 *
 * @param result A profile result, or several (a `--command` comparison: each sample gets a
 * `command` label).
 * @param options Format and constant labels.
 * @returns The text, ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { openMetricsText } from "./openmetrics.ts";
 * const text = openMetricsText({
 *   command: ["true"], tokenPattern: "", exitCode: 0, durationMs: 0, interrupted: false, runs: [],
 * });
 * console.log(text.endsWith("# EOF\n")); // true
 * ```
 */
export function openMetricsText(
  result: ProfileResult | readonly ProfileResult[],
  options: OpenMetricsOptions = {},
): string {
  const openMetrics = options.openMetrics ?? true;
  const results = Array.isArray(result) ? result : [result as ProfileResult];
  const constant = options.constLabels ?? {};
  const families = new Map<string, Family>();
  const family = (name: string, help: string, unit: string): Family => {
    let entry = families.get(name);
    if (entry === undefined) families.set(name, entry = { name, help, unit, samples: [] });
    return entry;
  };
  for (const one of results) {
    // Several commands (a --command comparison) are told apart by their label.
    const command: Record<string, string> = results.length > 1
      ? { command: one.name ?? one.command.join(" ") }
      : {};
    const add = (target: Family, pairs: Record<string, string>, value: number) => {
      target.samples.push(
        `${target.name}${labels({ ...constant, ...command, ...pairs })} ${number(value)}`,
      );
    };
    add(
      family("joule_profiler_runs", "Measured runs the figures are the mean of.", ""),
      {},
      one.runs.length,
    );
    add(
      family("joule_profiler_exit_code", "Exit status of the profiled command.", ""),
      {},
      one.exitCode,
    );
    const duration = family(
      "joule_profiler_phase_duration_seconds",
      "Duration of a phase (mean over the runs).",
      "seconds",
    );
    const energy = family(
      "joule_profiler_energy_joules",
      "Energy of a phase per domain (mean over the runs); method says measured, attributed or estimated.",
      "joules",
    );
    const carbon = family(
      "joule_profiler_carbon_grams",
      "CO2-equivalent of a phase's energy (mean over the runs), from the given grid intensity and PUE.",
      "grams",
    );
    const { methods, frozen } = methodsAndFrozenCounters(one);
    for (const phase of phaseStatistics(one)) {
      const where = { phase: phase.name, phase_index: String(phase.index) };
      add(duration, where, phase.durationMs.mean / 1000);
      for (const metric of phase.metrics) {
        const { unit, factor } = baseUnit(metric.unit);
        const value = metric.value.mean * factor;
        const key = `${metric.source}\u0000${metric.name}`;
        const method = methods.get(key) ?? "measured";
        if (unit === "joules") {
          // A counter that never moved (a VM's RAPL) read 0 J: there is no energy to export.
          if (frozen.has(key)) continue;
          add(energy, { ...where, domain: metric.name, source: metric.source, method }, value);
        } else if (metric.unit === CARBON_UNIT) {
          const domain = metric.name.replace(/_CO2E(_[A-Z]+)?$/, "");
          add(carbon, { ...where, domain, source: metric.source, method }, value);
        } else {
          const name = `joule_profiler_${namePart(metric.source)}_${namePart(metric.name)}` +
            (unit !== "" && !namePart(metric.name).endsWith(`_${unit}`) ? `_${unit}` : "");
          // A gauge whose name ends in _total reads as a counter to OpenMetrics parsers.
          const safeName = name.endsWith("_total") ? `${name}_value` : name;
          const target = family(
            safeName,
            `${metric.name} from ${metric.source} per phase (mean over the runs)` +
              (metric.unit ? `, in ${unit || metric.unit}` : "") + ".",
            safeName.endsWith(`_${unit}`) ? unit : "",
          );
          add(target, where, value);
        }
      }
    }
  }
  const lines: string[] = [];
  for (const entry of families.values()) {
    if (entry.samples.length === 0) continue;
    lines.push(`# HELP ${entry.name} ${entry.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    lines.push(`# TYPE ${entry.name} gauge`);
    if (openMetrics && entry.unit !== "") lines.push(`# UNIT ${entry.name} ${entry.unit}`);
    lines.push(...entry.samples);
  }
  if (openMetrics) lines.push("# EOF");
  return `${lines.join("\n")}\n`;
}

/**
 * The method label of each metric (by `source\0name`), from any phase that has it, and the
 * metrics some run marked as a counter that never moved (`details.not_updating`).
 */
function methodsAndFrozenCounters(
  result: ProfileResult,
): { methods: Map<string, string>; frozen: Set<string> } {
  const methods = new Map<string, string>();
  const frozen = new Set<string>();
  for (const run of result.runs) {
    for (const phase of run.phases) {
      for (const metric of phase.metrics) {
        const key = `${metric.source}\u0000${metric.name}`;
        const method = metric.details?.method;
        if (typeof method === "string") methods.set(key, method);
        if (metric.details?.not_updating === true) frozen.add(key);
      }
    }
  }
  return { methods, frozen };
}
