/**
 * Per-process perf_event counters of the profiled program and everything it
 * starts (threads and child processes), per phase.
 *
 * @module
 */

import { SourceError } from "../../src/errors.ts";
import {
  PERF_EVENT_PARANOID_PATH,
  PERF_FORMAT,
  PERF_TYPE,
  PerfCounter,
  type PerfEventAttr,
  PerfEventOpenError,
  readPerfEventParanoid,
} from "../../src/ffi/perf_event.ts";
import { Logger } from "../../src/logger.ts";
import { SnapshotStore } from "../../src/snapshot_store.ts";
import type { Metric, SampleSeries, Sensor, Source } from "../../src/source.ts";
import { SampleBuffer } from "../../src/sampling/sample_buffer.ts";
import { DEFAULT_PERF_EVENTS, type PerfEventSpec, resolvePerfEvents } from "./event_catalog.ts";

/** Source name in every output. */
export const PERF_EVENT_SOURCE_NAME = "perf_event";

const READ_FORMAT = PERF_FORMAT.TOTAL_TIME_ENABLED | PERF_FORMAT.TOTAL_TIME_RUNNING;
/** Numbers stored per counter and reading: value, time enabled, time running. */
const COLUMNS = 3;

/** Options of {@linkcode PerfEventSource}. */
export interface PerfEventSourceOptions {
  /** Events to count (default: {@linkcode DEFAULT_PERF_EVENTS}). */
  events?: readonly PerfEventSpec[];
  /** Where the one-time warnings go (default: stderr). */
  warn?: (message: string) => void;
  /** Where `kernel.perf_event_paranoid` is read, for messages (default: procfs). */
  paranoidPath?: string;
  /**
   * The pid given to `init()` is already running (`profile -p`), not held
   * before its `exec`: counters start counting when opened instead of at
   * `exec`. `inherit` still covers the threads and children it creates
   * afterwards, not those that existed before (default `false`).
   */
  running?: boolean;
}

/** A phase's count corrected for multiplexing. */
export interface ScaledCount {
  /** The count, scaled when the counter was not always on the PMU. */
  value: number;
  /** `true` when `value` is an estimate scaled by enabled/running time. */
  scaled: boolean;
  /** Time running / time enabled (1 when nothing was missed, 0 when never counted). */
  runningRatio: number;
  /** `false` when the counter was enabled but never on the PMU: the value is unknown. */
  counted: boolean;
}

/**
 * Corrects a phase's count for multiplexing, as `perf stat` does: when a
 * counter ran for only part of the time it was enabled, the count is scaled
 * by enabled/running. A per-process counter's enabled time advances only
 * while the program's tasks are on a CPU, so a phase in which the program
 * never ran has both times 0: its count (0) is exact, not missing.
 *
 * @param count Count delta over the phase.
 * @param enabled Time-enabled delta over the phase, ns.
 * @param running Time-running delta over the phase, ns.
 * @returns The value to report and how it was obtained.
 *
 * @example Usage
 * ```ts
 * import { scaleCount } from "./perf_event_source.ts";
 * console.log(scaleCount(1000, 200, 100)); // { value: 2000, scaled: true, runningRatio: 0.5, counted: true }
 * ```
 */
export function scaleCount(count: number, enabled: number, running: number): ScaledCount {
  if (running <= 0) {
    if (enabled <= 0) return { value: count, scaled: false, runningRatio: 1, counted: true };
    return { value: 0, scaled: false, runningRatio: 0, counted: false };
  }
  if (running >= enabled) return { value: count, scaled: false, runningRatio: 1, counted: true };
  return {
    value: Math.round(count * enabled / running),
    scaled: true,
    runningRatio: running / enabled,
    counted: true,
  };
}

/** Why an event is not counted. */
type Refusal = { event: PerfEventSpec; code: string };

/** What opening the events on one process gave. */
interface OpenResult {
  /** Counters that opened, in event order. */
  counters: PerfCounter[];
  /** The event of each counter. */
  events: PerfEventSpec[];
  /** Events the machine lacks. */
  unsupported: Refusal[];
  /** Events refused for permissions, even user space only. */
  denied: Refusal[];
  /** Events left out because they only occur in the kernel and the kernel is excluded. */
  kernelOnly: PerfEventSpec[];
  /** Kernel counting was refused: counting user space only. */
  userSpaceOnly: boolean;
}

function closeAll(counters: readonly PerfCounter[]): void {
  for (const counter of counters) counter.close();
}

function attrOf(event: PerfEventSpec, userSpaceOnly: boolean, running: boolean): PerfEventAttr {
  return {
    type: event.type,
    config: event.config,
    readFormat: READ_FORMAT,
    disabled: !running,
    inherit: true,
    enableOnExec: !running,
    excludeKernel: userSpaceOnly,
  };
}

function openEvent(
  event: PerfEventSpec,
  pid: number,
  userSpaceOnly: boolean,
  running: boolean,
): PerfCounter {
  return PerfCounter.open(event.name, attrOf(event, userSpaceOnly, running), { pid, cpu: -1 });
}

/**
 * Opens every event on `pid`. Kernel counting is tried first; when
 * permissions refuse it, every event is reopened user space only. Events
 * the machine lacks or permissions refuse are reported, not thrown.
 *
 * @throws {PerfEventOpenError} For any other failure, every counter closed.
 */
function openAll(events: readonly PerfEventSpec[], pid: number, running = false): OpenResult {
  let userSpaceOnly = false;
  for (;;) {
    const result: OpenResult = {
      counters: [],
      events: [],
      unsupported: [],
      denied: [],
      kernelOnly: [],
      userSpaceOnly,
    };
    let retry = false;
    try {
      for (const event of events) {
        if (userSpaceOnly && event.kernelOnly) {
          result.kernelOnly.push(event);
          continue;
        }
        try {
          result.counters.push(openEvent(event, pid, userSpaceOnly, running));
          result.events.push(event);
        } catch (error) {
          if (!(error instanceof PerfEventOpenError)) throw error;
          if (error.denied && !userSpaceOnly) {
            retry = true;
            break;
          }
          if (error.denied) result.denied.push({ event, code: error.code });
          else if (error.unsupported) result.unsupported.push({ event, code: error.code });
          else throw error;
        }
      }
    } catch (error) {
      closeAll(result.counters);
      throw error;
    }
    if (!retry) return result;
    closeAll(result.counters);
    userSpaceOnly = true;
  }
}

/**
 * Per-process perf_event counters (`--perf`).
 *
 * `init(pid)` opens one counter per event on the held program (no groups:
 * `inherit` forbids group reads), disabled, with `inherit` and
 * `enable_on_exec`: counting starts at the program's own `exec` and covers
 * its threads and children. Reading an inherited counter sums the program's
 * count, its exited descendants' and its live descendants', so each phase's
 * delta includes children still running at the boundary.
 *
 * `measure()` reads every counter's value, time enabled and time running
 * into a {@linkcode SnapshotStore} row (one `read(2)` each, no allocation);
 * `toMetrics()` takes the deltas between rows and scales counts that were
 * multiplexed (see {@linkcode scaleCount}).
 *
 * @example Usage
 * ```ts
 * import { JouleProfiler } from "../../src/mod.ts";
 * import { PerfEventSource, resolvePerfEvents } from "./mod.ts";
 * const source = new PerfEventSource({ events: resolvePerfEvents(["task-clock", "page-faults"]) });
 * source.preflight();
 * const profiler = new JouleProfiler().addSource(source);
 * const result = await profiler.profile({ command: ["sh", "-c", "echo __WORK__; ls -R /usr >/dev/null"] });
 * console.log(result.runs[0]!.phases[1]!.metrics);
 * ```
 */
export class PerfEventSource implements Source<number> {
  /** Source name shown in the outputs. */
  readonly name: string = PERF_EVENT_SOURCE_NAME;
  readonly #events: readonly PerfEventSpec[];
  readonly #warn: (message: string) => void;
  readonly #paranoidPath: string;
  readonly #warned = new Set<string>();
  #counters: PerfCounter[] = [];
  #countedEvents: PerfEventSpec[] = [];
  #userSpaceOnly = false;
  #store = new SnapshotStore(0);
  readonly #running: boolean;
  /** Values of every counter at each sample (`-I`, `--sample-interval`). */
  #samples = new SampleBuffer(0);

  /**
   * Creates the source; nothing is opened until `preflight()`, `init()` or
   * `sensors()`.
   *
   * @param options Events, warning sink, paranoia file.
   */
  constructor(options: PerfEventSourceOptions = {}) {
    this.#events = options.events ?? resolvePerfEvents(DEFAULT_PERF_EVENTS);
    if (this.#events.length === 0) throw new SourceError(this.name, "no event to count");
    const logger = new Logger();
    this.#warn = options.warn ?? ((message) => logger.warn(message));
    this.#paranoidPath = options.paranoidPath ?? PERF_EVENT_PARANOID_PATH;
    this.#running = options.running ?? false;
  }

  /** The events this source was asked to count. */
  get events(): readonly PerfEventSpec[] {
    return this.#events;
  }

  /** `true` once kernel counting was refused and counters count user space only. */
  get userSpaceOnly(): boolean {
    return this.#userSpaceOnly;
  }

  /**
   * Opens every event on the profiler's own process and closes it at once,
   * so a machine that cannot count is reported before any program starts.
   * Prints the same one-time warnings as `init()`.
   *
   * @throws {SourceError} When permissions refuse every event.
   */
  preflight(): void {
    const result = this.#open(0);
    closeAll(result.counters);
    this.#report(result);
  }

  /**
   * Opens the counters on the held program.
   *
   * @param pid The program's pid (held before its `exec`).
   * @throws {SourceError} When permissions refuse every event, or opening
   * fails for another reason; no counter is left open.
   */
  init(pid: number): void {
    // A run whose start failed in another source never reached join().
    this.join();
    const result = this.#open(pid);
    try {
      this.#report(result);
    } catch (error) {
      closeAll(result.counters);
      throw error;
    }
    this.#counters = result.counters;
    this.#countedEvents = result.events;
    this.#userSpaceOnly = result.userSpaceOnly;
    const width = COLUMNS * result.counters.length;
    if (this.#store.width === width) this.#store.clear();
    else this.#store = new SnapshotStore(width);
    this.#samples = new SampleBuffer(result.counters.length);
  }

  /** Reads every counter's value into the sample buffer (boundary rows are untouched). */
  sample(): void {
    const counters = this.#counters;
    const offset = this.#samples.append();
    const values = this.#samples.values;
    for (let i = 0; i < counters.length; i++) {
      const counter = counters[i]!;
      counter.read();
      values[offset + i] = counter.value;
    }
  }

  /**
   * Each counted event's rate between consecutive samples.
   *
   * @returns One series per counted event, in its unit per second (`count/s`, `ns/s`).
   */
  samples(): SampleSeries[] {
    return this.#countedEvents.map((event, i) => ({
      name: event.name,
      unit: `${event.unit}/s`,
      source: this.name,
      ...this.#samples.rates(i),
    }));
  }

  /** Reads every counter into a new row. */
  measure(): void {
    const offset = this.#store.append();
    const values = this.#store.values;
    const counters = this.#counters;
    for (let i = 0; i < counters.length; i++) {
      const counter = counters[i]!;
      counter.read();
      const at = offset + i * COLUMNS;
      values[at] = counter.value;
      values[at + 1] = counter.enabled;
      values[at + 2] = counter.running;
    }
  }

  /** A boundary at the instant of the previous one: its readings again, nothing read. */
  repeat(): void {
    this.#store.appendCopy();
  }

  /**
   * The row of the boundary that closed the phase; the phase starts at the
   * row before it.
   *
   * @returns Row index.
   */
  retrieve(): number {
    return this.#store.rows - 1;
  }

  /** Closes every counter (idempotent). */
  join(): void {
    closeAll(this.#counters);
    this.#counters = [];
  }

  /**
   * One sensor per event, with whether this machine can count it (each is
   * opened on the profiler's own process and closed at once).
   *
   * @returns The sensors.
   */
  sensors(): Sensor[] {
    const result = this.#open(0);
    closeAll(result.counters);
    const paranoid = this.#paranoidText();
    const notes = new Map<PerfEventSpec, { available: boolean; note?: string }>();
    for (const event of result.events) {
      notes.set(event, {
        available: true,
        ...(result.userSpaceOnly
          ? { note: `user space only (${paranoid}; counting the kernel needs ≤ 1)` }
          : {}),
      });
    }
    for (const { event, code } of result.unsupported) {
      notes.set(event, { available: false, note: `not supported on this machine (${code})` });
    }
    for (const { event, code } of result.denied) {
      notes.set(event, { available: false, note: `permission denied (${code}; ${paranoid})` });
    }
    for (const event of result.kernelOnly) {
      notes.set(event, {
        available: false,
        note: `occurs only in the kernel, whose counting is refused (${paranoid}; needs ≤ 1)`,
      });
    }
    return this.#events.map((event) => ({
      name: event.name,
      unit: event.unit,
      source: this.name,
      ...notes.get(event),
    }));
  }

  /**
   * The phase's counts: deltas from the previous row, scaled when
   * multiplexed.
   *
   * @param row The row `retrieve()` returned at the phase's end.
   * @returns One metric per counted event.
   */
  toMetrics(row: number): Metric[] {
    const store = this.#store;
    return this.#countedEvents.map((event, i) => {
      const column = i * COLUMNS;
      const scaled = scaleCount(
        store.delta(row - 1, row, column),
        store.delta(row - 1, row, column + 1),
        store.delta(row - 1, row, column + 2),
      );
      const details: Record<string, number | string | boolean> = {
        scaled: scaled.scaled,
        running_ratio: scaled.runningRatio,
      };
      if (!scaled.counted) details.note = "not counted: never on the PMU during this phase";
      if (this.#userSpaceOnly) details.user_space_only = true;
      return {
        name: event.name,
        value: scaled.value,
        unit: event.unit,
        source: this.name,
        details,
      };
    });
  }

  #open(pid: number): OpenResult {
    try {
      return openAll(this.#events, pid, pid !== 0 && this.#running);
    } catch (error) {
      throw new SourceError(
        this.name,
        `cannot open counters on ${pid === 0 ? "the profiler" : `pid ${pid}`}: ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
  }

  /** Warns (once each) about what is not counted; throws when nothing can be for permissions. */
  #report(result: OpenResult): void {
    if (result.denied.length > 0 && result.counters.length === 0) {
      throw new SourceError(this.name, this.#deniedMessage(result.denied));
    }
    if (result.unsupported.length > 0) {
      const hardware = result.unsupported.some(({ event }) => event.type === PERF_TYPE.HARDWARE);
      this.#warnOnce(
        `${this.name}: not supported on this machine, not counted: ${
          result.unsupported.map(({ event, code }) => `${event.name} (${code})`).join(", ")
        }${hardware ? "; hardware events need a PMU, which most virtual machines lack" : ""}`,
      );
    }
    if (result.userSpaceOnly) {
      const left = result.kernelOnly.length === 0
        ? ""
        : `; ${
          result.kernelOnly.map((event) => event.name).join(", ")
        } occur only in the kernel and are not counted`;
      this.#warnOnce(
        `${this.name}: counting user space only, as ${this.#paranoidText()}, which refuses ` +
          `counting kernel work (that needs ≤ 1)${left}. For full counts: ${this.#fixes(1)}`,
      );
    }
    if (result.denied.length > 0) {
      this.#warnOnce(`${this.name}: ${this.#deniedMessage(result.denied)}`);
    }
  }

  #deniedMessage(denied: readonly Refusal[]): string {
    const refused = `permission denied (${denied[0]!.code}) for ${
      denied.map(({ event }) => event.name).join(", ")
    }`;
    const paranoid = readPerfEventParanoid(this.#paranoidPath);
    if (paranoid === undefined || paranoid > 2) {
      const value = paranoid === undefined ? "could not be read" : `is ${paranoid}`;
      return `${refused}: kernel.perf_event_paranoid ${value}; counting a process needs ≤ 2 ` +
        `(≤ 1 to include kernel work). ${this.#fixes(2)}`;
    }
    return `${refused} although kernel.perf_event_paranoid is ${paranoid}, which allows ` +
      `counting your own processes: the program may run as another user, or a container or ` +
      `security policy blocks perf_event_open. CAP_PERFMON may lift it: ` +
      `sudo setcap cap_perfmon=ep ${Deno.execPath()}`;
  }

  #fixes(needed: number): string {
    return `sudo sysctl kernel.perf_event_paranoid=${needed}, or, safer, ` +
      `sudo setcap cap_perfmon=ep ${Deno.execPath()} (CAP_PERFMON for this binary only)`;
  }

  #paranoidText(): string {
    const paranoid = readPerfEventParanoid(this.#paranoidPath);
    return paranoid === undefined
      ? "kernel.perf_event_paranoid could not be read"
      : `kernel.perf_event_paranoid is ${paranoid}`;
  }

  #warnOnce(message: string): void {
    if (this.#warned.has(message)) return;
    this.#warned.add(message);
    this.#warn(message);
  }
}
