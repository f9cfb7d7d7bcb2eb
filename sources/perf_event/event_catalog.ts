/**
 * The generic perf events the `perf_event` source can count: their metric
 * names, `perf_event_attr` type and config, unit, and the names `perf list`
 * uses for them.
 *
 * @module
 */

import { UsageError } from "../../src/errors.ts";
import { PERF_TYPE } from "../../src/ffi/perf_event.ts";

/** One countable event. */
export interface PerfEventSpec {
  /** Metric name, e.g. `CPU_CYCLES`. */
  readonly name: string;
  /** `perf_event_attr.type`: `PERF_TYPE.HARDWARE` or `PERF_TYPE.SOFTWARE`. */
  readonly type: number;
  /** `perf_event_attr.config`: the `PERF_COUNT_HW_*` or `PERF_COUNT_SW_*` number. */
  readonly config: bigint;
  /** Unit of the count: `ns` for the clocks, `count` otherwise. */
  readonly unit: "count" | "ns";
  /** The names `perf list` gives it (`cycles`, `cpu-cycles`, ...). */
  readonly aliases: readonly string[];
  /**
   * `true` when the kernel raises the event only in kernel context
   * (scheduler events): counting user space only always reads 0.
   */
  readonly kernelOnly: boolean;
}

function hardware(name: string, config: number, aliases: string[]): PerfEventSpec {
  return {
    name,
    type: PERF_TYPE.HARDWARE,
    config: BigInt(config),
    unit: "count",
    aliases,
    kernelOnly: false,
  };
}

function software(
  name: string,
  config: number,
  aliases: string[],
  extra: { unit?: "count" | "ns"; kernelOnly?: boolean } = {},
): PerfEventSpec {
  return {
    name,
    type: PERF_TYPE.SOFTWARE,
    config: BigInt(config),
    unit: extra.unit ?? "count",
    aliases,
    kernelOnly: extra.kernelOnly ?? false,
  };
}

/**
 * Every event the source knows, in the kernel's order (hardware events by
 * `PERF_COUNT_HW_*`, then software events by `PERF_COUNT_SW_*`).
 *
 * @example Usage
 * ```ts
 * import { PERF_EVENT_CATALOG } from "./event_catalog.ts";
 * console.log(PERF_EVENT_CATALOG.map((event) => event.name).join(", "));
 * ```
 */
export const PERF_EVENT_CATALOG: readonly PerfEventSpec[] = [
  hardware("CPU_CYCLES", 0, ["cycles", "cpu-cycles"]),
  hardware("INSTRUCTIONS", 1, ["instructions"]),
  hardware("CACHE_REFERENCES", 2, ["cache-references"]),
  hardware("CACHE_MISSES", 3, ["cache-misses"]),
  hardware("BRANCH_INSTRUCTIONS", 4, ["branches", "branch-instructions"]),
  hardware("BRANCH_MISSES", 5, ["branch-misses"]),
  hardware("BUS_CYCLES", 6, ["bus-cycles"]),
  hardware("STALLED_CYCLES_FRONTEND", 7, ["stalled-cycles-frontend", "idle-cycles-frontend"]),
  hardware("STALLED_CYCLES_BACKEND", 8, ["stalled-cycles-backend", "idle-cycles-backend"]),
  hardware("REF_CPU_CYCLES", 9, ["ref-cycles"]),
  software("CPU_CLOCK", 0, ["cpu-clock"], { unit: "ns" }),
  software("TASK_CLOCK", 1, ["task-clock"], { unit: "ns" }),
  software("PAGE_FAULTS", 2, ["page-faults", "faults"]),
  software("CONTEXT_SWITCHES", 3, ["context-switches", "cs"], { kernelOnly: true }),
  software("CPU_MIGRATIONS", 4, ["cpu-migrations", "migrations"], { kernelOnly: true }),
  software("PAGE_FAULTS_MIN", 5, ["minor-faults"]),
  software("PAGE_FAULTS_MAJ", 6, ["major-faults"]),
  software("ALIGNMENT_FAULTS", 7, ["alignment-faults"]),
  software("EMULATION_FAULTS", 8, ["emulation-faults"]),
];

export { DEFAULT_PERF_EVENTS } from "../../src/setting_defaults.ts";

/** Case-insensitive, `_` and `-` alike. */
function normalize(name: string): string {
  return name.trim().toLowerCase().replaceAll("_", "-");
}

const BY_NAME: ReadonlyMap<string, PerfEventSpec> = new Map(
  PERF_EVENT_CATALOG.flatMap((event) =>
    [event.name, ...event.aliases].map((name) => [normalize(name), event] as const)
  ),
);

/** `CPU_CYCLES (cycles, cpu-cycles), INSTRUCTIONS (instructions), ...`, for error messages. */
function validNames(): string {
  return PERF_EVENT_CATALOG.map((event) => `${event.name} (${event.aliases.join(", ")})`).join(
    ", ",
  );
}

/**
 * Looks events up by name. Names are matched case-insensitively with `-`
 * and `_` alike, so `CPU_CYCLES`, `cpu-cycles` and `cycles` are one event.
 *
 * @param names Event names, metric or `perf list` style.
 * @returns The events, in the order given.
 * @throws {UsageError} For an empty list, an unknown name (the message lists
 * the valid ones) or an event named twice.
 *
 * @example Usage
 * ```ts
 * import { resolvePerfEvents } from "./event_catalog.ts";
 * const events = resolvePerfEvents(["cycles", "task-clock", "CS"]);
 * console.log(events.map((event) => event.name)); // ["CPU_CYCLES", "TASK_CLOCK", "CONTEXT_SWITCHES"]
 * ```
 */
export function resolvePerfEvents(names: readonly string[]): PerfEventSpec[] {
  if (names.length === 0) throw new UsageError("no perf event given");
  const events: PerfEventSpec[] = [];
  const given = new Map<PerfEventSpec, string>();
  for (const name of names) {
    if (normalize(name) === "") throw new UsageError("empty perf event name in the list");
    const event = BY_NAME.get(normalize(name));
    if (event === undefined) {
      throw new UsageError(
        `unknown perf event '${name}'; valid events (case-insensitive, - and _ alike): ${validNames()}`,
      );
    }
    const previous = given.get(event);
    if (previous !== undefined) {
      throw new UsageError(
        `perf event ${event.name} is given twice ('${previous}' and '${name}')`,
      );
    }
    given.set(event, name);
    events.push(event);
  }
  return events;
}

/**
 * Parses a comma-separated event list such as `--perf-events` takes.
 *
 * @param list For example `cycles,instructions,task-clock`.
 * @returns The events, in the order given.
 * @throws {UsageError} As {@linkcode resolvePerfEvents} does, and for an
 * empty list or an empty item (`a,,b`).
 *
 * @example Usage
 * ```ts
 * import { parsePerfEventList } from "./event_catalog.ts";
 * console.log(parsePerfEventList("task-clock,page-faults").length); // 2
 * ```
 */
export function parsePerfEventList(list: string): PerfEventSpec[] {
  if (list.trim() === "") throw new UsageError("the list of perf events is empty");
  return resolvePerfEvents(list.split(","));
}
