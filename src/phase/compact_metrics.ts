/**
 * Compact storage of a long run's per-phase metrics.
 *
 * A phase's metrics are a handful of objects (name, value, unit, source,
 * `details`), about 200 bytes each: with the default sources, 100,000
 * phases carry 4 million of them. Across phases only the numbers change,
 * so each phase is kept as a shape (one shared descriptor per metric:
 * name, unit, source, the keys and the non-numeric values of `details`)
 * plus its numbers in a `Float64Array`: about 8 bytes per number.
 *
 * `PhaseResult.metrics` stays an ordinary array of ordinary objects: it is
 * built again when read, and the last phases read are kept as built (so
 * code that changes them, or assigns a new list, keeps its changes: they
 * are stored again when the phase leaves that cache).
 *
 * @module
 */

import type { PhaseResult } from "../result.ts";
import type { Metric } from "../source.ts";

/** One metric's constant part, shared by every phase that has it. */
interface Template {
  name: string;
  unit: string;
  source: string;
  /** Keys of `details` in order, or `undefined` when the metric has no `details`. */
  keys: string[] | undefined;
  /** Per key: the constant (string or boolean) value, or `undefined` for a number kept per phase. */
  constants: (string | boolean | undefined)[];
  /** Numbers kept per phase: the value, then each numeric detail. */
  slots: number;
  /** A `details` object the source shares between phases (frozen): kept as it is. */
  shared?: Readonly<Record<string, number | string | boolean>>;
}

/** A phase's list of templates, shared by every phase with the same metrics in the same order. */
interface Shape {
  templates: Template[];
  slots: number;
}

/** Phases kept as built, most recently read last. */
const CACHED_PHASES = 16;

/**
 * Room a phase gets for its numbers, per number: attribution adds about half
 * as many again (the `_ATTRIBUTED` twin of each RAPL metric), in place.
 */
const ROOM_FACTOR = 2;

/** The shape of a phase with no metric: the shared empty list. */
const EMPTY_SHAPE = -1;
/** A phase whose metrics could not be described by a shape (kept as they are). */
const AS_IS = -2;

const EMPTY: Metric[] = Object.freeze([]) as unknown as Metric[];

/**
 * The metrics of one run's phases, kept compactly.
 *
 * @example Usage
 * ```ts
 * import { CompactMetrics } from "./compact_metrics.ts";
 * const store = new CompactMetrics(2);
 * store.write(0, [{ name: "CPU_TIME", value: 1200, unit: "ns", source: "process" }]);
 * store.write(1, [{ name: "CPU_TIME", value: 900, unit: "ns", source: "process" }]);
 * console.log(store.read(1)[0]!.value); // 900
 * ```
 */
export class CompactMetrics {
  readonly #templates: Template[] = [];
  readonly #templateIds = new Map<string, number>();
  readonly #shapes: Shape[] = [];
  readonly #shapeIds = new Map<string, number>();
  /** The shape last stored: the next phase's metrics usually have it too. */
  #lastShape = -1;
  /** Frozen `details` objects met so far, by identity. */
  readonly #sharedIds = new Map<object, number>();
  /** Per phase: its shape, {@linkcode EMPTY_SHAPE} or {@linkcode AS_IS}. */
  readonly #shapeOf: Int32Array;
  /**
   * Per phase: where its numbers start in `#values` (one array for the run:
   * objects per phase would leave garbage for the collector at every change).
   */
  readonly #offsetOf: Float64Array;
  #values = new Float64Array(1024);
  /** Numbers in use at the start of `#values` (some of them left behind by phases that grew). */
  #used = 0;
  /** Per phase: numbers it has room for at its offset. */
  readonly #roomOf: Uint32Array;
  /** Phases whose metrics are kept as they are (no shape fits them). */
  readonly #asIs = new Map<number, Metric[]>();
  /** Phases kept as built, least recently read first. */
  readonly #cache = new Map<number, Metric[]>();

  /**
   * Creates a store for a run's phases.
   *
   * @param phases Number of phases.
   */
  constructor(phases: number) {
    this.#shapeOf = new Int32Array(phases).fill(EMPTY_SHAPE);
    this.#offsetOf = new Float64Array(phases);
    this.#roomOf = new Uint32Array(phases);
  }

  /**
   * The metrics of a phase: built from the stored numbers, or the list
   * built at a recent read (with any changes made to it since).
   *
   * @param phase 0-based phase.
   * @returns The phase's metrics.
   */
  read(phase: number): Metric[] {
    const cache = this.#cache;
    const cached = cache.get(phase);
    if (cached !== undefined) {
      cache.delete(phase);
      cache.set(phase, cached);
      return cached;
    }
    const metrics = this.#build(phase);
    if (metrics !== EMPTY) this.#keep(phase, metrics);
    return metrics;
  }

  /**
   * The metrics of a phase, built without being kept: for code that reads
   * every phase once, whose lists then die young instead of surviving in
   * the cache long enough to be promoted to the old generation (where they
   * would stay, as garbage, until the next full collection).
   *
   * @param phase 0-based phase.
   * @returns The phase's metrics (the cached list when there is one).
   */
  peek(phase: number): Metric[] {
    return this.#cache.get(phase) ?? this.#build(phase);
  }

  /**
   * Replaces the metrics of a phase; they are stored compactly when they
   * leave the cache of recently used phases.
   *
   * @param phase 0-based phase.
   * @param metrics Its new metrics.
   */
  assign(phase: number, metrics: Metric[]): void {
    this.#cache.delete(phase);
    this.#keep(phase, metrics);
  }

  /**
   * Stores the metrics of a phase now (they are not kept as objects).
   *
   * @param phase 0-based phase.
   * @param metrics Its metrics.
   */
  write(phase: number, metrics: readonly Metric[]): void {
    this.#cache.delete(phase);
    this.#store(phase, metrics);
  }

  #keep(phase: number, metrics: Metric[]): void {
    const cache = this.#cache;
    cache.set(phase, metrics);
    if (cache.size <= CACHED_PHASES) return;
    const [oldest, kept] = cache.entries().next().value!;
    cache.delete(oldest);
    this.#store(oldest, kept);
  }

  #build(phase: number): Metric[] {
    const shapeId = this.#shapeOf[phase]!;
    if (shapeId === EMPTY_SHAPE) return EMPTY;
    if (shapeId === AS_IS) return this.#asIs.get(phase)!;
    const { templates } = this.#shapes[shapeId]!;
    const values = this.#values;
    let at = this.#offsetOf[phase]!;
    const metrics: Metric[] = new Array(templates.length);
    for (let i = 0; i < templates.length; i++) {
      const template = templates[i]!;
      const metric: Metric = {
        name: template.name,
        value: values[at++]!,
        unit: template.unit,
        source: template.source,
      };
      const keys = template.keys;
      if (template.shared !== undefined) {
        metric.details = template.shared as Record<string, number | string | boolean>;
      } else if (keys !== undefined) {
        const details: Record<string, number | string | boolean> = {};
        const constants = template.constants;
        for (let k = 0; k < keys.length; k++) {
          const constant = constants[k];
          details[keys[k]!] = constant === undefined ? values[at++]! : constant;
        }
        metric.details = details;
      }
      metrics[i] = metric;
    }
    return metrics;
  }

  #store(phase: number, metrics: readonly Metric[]): void {
    this.#asIs.delete(phase);
    if (metrics.length === 0) {
      this.#shapeOf[phase] = EMPTY_SHAPE;
      this.#roomOf[phase] = 0;
      return;
    }
    const previous = this.#shapeOf[phase]!;
    // Usually the metrics still have the shape they were built with: only numbers to write.
    if (previous >= 0 && this.#fits(this.#shapes[previous]!, metrics)) {
      writeNumbers(this.#values, this.#offsetOf[phase]!, metrics);
      return;
    }
    // A phase mostly has the shape of the one before: checked in place, that costs no key (a
    // string per metric, then a lookup), which took most of a long run's conversion.
    const last = this.#lastShape;
    const shapeId = last >= 0 && this.#fits(this.#shapes[last]!, metrics)
      ? last
      : this.#shapeFor(metrics);
    if (shapeId >= 0) this.#lastShape = shapeId;
    if (shapeId === AS_IS) {
      this.#shapeOf[phase] = AS_IS;
      this.#roomOf[phase] = 0;
      this.#asIs.set(phase, metrics as Metric[]);
      return;
    }
    const slots = this.#shapes[shapeId]!.slots;
    // A phase that outgrew its room takes fresh room, with some to spare: energy
    // attribution adds numbers to most phases after the run.
    if (this.#roomOf[phase]! < slots) {
      this.#shapeOf[phase] = EMPTY_SHAPE;
      const room = Math.ceil(slots * ROOM_FACTOR);
      this.#offsetOf[phase] = this.#reserve(room);
      this.#roomOf[phase] = room;
    }
    this.#shapeOf[phase] = shapeId;
    writeNumbers(this.#values, this.#offsetOf[phase]!, metrics);
  }

  /** Room for `slots` numbers at the end, after dropping what phases left behind if needed. */
  #reserve(slots: number): number {
    if (this.#used + slots > this.#values.length) {
      this.#compact();
      const needed = this.#used + slots;
      if (needed > this.#values.length) {
        // Room for as many numbers again per phase as the stored ones have on average.
        const stored = this.#shapeOf.reduce((n, shape) => shape >= 0 ? n + 1 : n, 0);
        const estimate = stored === 0 ? 0 : this.#used / stored * this.#shapeOf.length;
        const grown = new Float64Array(Math.ceil(Math.max(needed * 1.25, estimate * 1.1)));
        grown.set(this.#values.subarray(0, this.#used));
        this.#values = grown;
      }
    }
    const offset = this.#used;
    this.#used += slots;
    return offset;
  }

  /** Moves every phase's numbers to the front, in order, dropping the room left behind. */
  #compact(): void {
    const order: number[] = [];
    for (let phase = 0; phase < this.#shapeOf.length; phase++) {
      if (this.#shapeOf[phase]! >= 0) order.push(phase);
    }
    const offsets = this.#offsetOf;
    // In the order they lie: each moves down, never over numbers not yet moved.
    order.sort((a, b) => offsets[a]! - offsets[b]!);
    const values = this.#values;
    let used = 0;
    for (const phase of order) {
      const slots = this.#roomOf[phase]!;
      const from = offsets[phase]!;
      if (from !== used) values.copyWithin(used, from, from + slots);
      offsets[phase] = used;
      used += slots;
    }
    this.#used = used;
  }

  /** Whether every metric matches its template (same strings, keys and constants). */
  #fits(shape: Shape, metrics: readonly Metric[]): boolean {
    const templates = shape.templates;
    if (templates.length !== metrics.length) return false;
    for (let i = 0; i < templates.length; i++) {
      const metric = metrics[i]!;
      const template = templates[i]!;
      if (
        metric === null || typeof metric !== "object" || typeof metric.value !== "number" ||
        metric.name !== template.name || metric.unit !== template.unit ||
        metric.source !== template.source || !plainMetric(metric)
      ) return false;
      const details = metric.details;
      const keys = template.keys;
      if (template.shared !== undefined) {
        if (details !== template.shared) return false;
        continue;
      }
      if (details === undefined || keys === undefined) {
        if (details !== keys || "details" in metric) return false;
        continue;
      }
      if (!plainObject(details)) return false;
      let k = 0;
      for (const key in details) {
        if (k >= keys.length || key !== keys[k]) return false;
        const value = details[key];
        const constant = template.constants[k];
        if (constant === undefined ? typeof value !== "number" : value !== constant) return false;
        k++;
      }
      if (k !== keys.length) return false;
    }
    return true;
  }

  /** The shape of these metrics (made if new), or {@linkcode AS_IS} when none can describe them. */
  #shapeFor(metrics: readonly Metric[]): number {
    let key = "";
    for (const metric of metrics) {
      const template = this.#templateFor(metric);
      if (template === undefined) return AS_IS;
      key += `${template},`;
    }
    let id = this.#shapeIds.get(key);
    if (id === undefined) {
      const templates = key.slice(0, -1).split(",").map((t) => this.#templates[Number(t)]!);
      id = this.#shapes.length;
      this.#shapes.push({ templates, slots: templates.reduce((sum, t) => sum + t.slots, 0) });
      this.#shapeIds.set(key, id);
    }
    return id;
  }

  #templateFor(metric: Metric): number | undefined {
    if (
      metric === null || typeof metric !== "object" || !plainMetric(metric) ||
      typeof metric.name !== "string" || typeof metric.unit !== "string" ||
      typeof metric.source !== "string" || typeof metric.value !== "number"
    ) return undefined;
    const details = metric.details;
    // Each string with its length first: no two different metrics share a key, whatever they hold.
    const { source, name, unit } = metric;
    let key = `${source.length}:${source}${name.length}:${name}${unit.length}:${unit}`;
    const keys: string[] = [];
    const constants: (string | boolean | undefined)[] = [];
    let slots = 1;
    let shared: Template["shared"];
    if (details === undefined) {
      if ("details" in metric) return undefined;
      key += "-";
    } else if (details !== null && typeof details === "object" && !Object.isExtensible(details)) {
      // Shared by the source between phases: the same object, never a copy.
      let sharedId = this.#sharedIds.get(details);
      if (sharedId === undefined) this.#sharedIds.set(details, sharedId = this.#sharedIds.size);
      key += `#${sharedId}`;
      shared = details;
    } else {
      if (details === null || typeof details !== "object" || !plainObject(details)) {
        return undefined;
      }
      for (const detail in details) {
        // Rebuilt by assignment, which would set the prototype instead.
        if (detail === "__proto__") return undefined;
        const value = details[detail];
        keys.push(detail);
        if (typeof value === "number") {
          constants.push(undefined);
          slots++;
          key += `${detail.length}:${detail}n`;
        } else if (typeof value === "string" || typeof value === "boolean") {
          constants.push(value);
          const text = String(value);
          key += `${detail.length}:${detail}${typeof value === "string" ? "s" : "b"}` +
            `${text.length}:${text}`;
        } else {
          return undefined;
        }
      }
    }
    let id = this.#templateIds.get(key);
    if (id === undefined) {
      id = this.#templates.length;
      this.#templates.push({
        name: metric.name,
        unit: metric.unit,
        source: metric.source,
        keys: details === undefined ? undefined : keys,
        constants,
        slots,
      });
      if (shared !== undefined) this.#templates[id]!.shared = shared;
      this.#templateIds.set(key, id);
    }
    return id;
  }
}

/** Writes the numbers of metrics that fit a shape: each value, then its numeric details. */
function writeNumbers(values: Float64Array, offset: number, metrics: readonly Metric[]): void {
  let at = offset;
  for (const metric of metrics) {
    values[at++] = metric.value;
    const details = metric.details;
    if (details === undefined || !Object.isExtensible(details)) continue;
    for (const key in details) {
      const value = details[key];
      if (typeof value === "number") values[at++] = value;
    }
  }
}

/** Own keys a metric may have, in the order a rebuilt one has them. */
const METRIC_KEYS = ["name", "value", "unit", "source", "details"];

/** A plain object with exactly the keys of a {@linkcode Metric}, in their usual order. */
function plainMetric(metric: Metric): boolean {
  if (!plainObject(metric)) return false;
  let k = 0;
  for (const key in metric) {
    if (key !== METRIC_KEYS[k]) return false;
    k++;
  }
  return k >= 4;
}

function plainObject(value: object): boolean {
  return Object.getPrototypeOf(value) === Object.prototype && Object.isExtensible(value);
}

/** Where each compact phase's metrics are kept. */
const storeOf = new WeakMap<PhaseResult, { store: CompactMetrics; phase: number }>();

const metricsProperty: PropertyDescriptor = {
  get(this: PhaseResult): Metric[] {
    const { store, phase } = storeOf.get(this)!;
    return store.read(phase);
  },
  set(this: PhaseResult, metrics: Metric[]): void {
    const { store, phase } = storeOf.get(this)!;
    store.assign(phase, metrics);
  },
  enumerable: true,
  configurable: true,
};

/**
 * A phase's metrics for code that reads each phase once (writers, post-run
 * steps): for a phase kept compactly, a list built for this call and not
 * kept (changes to it are lost unless given to {@linkcode writePhaseMetrics});
 * otherwise `phase.metrics` itself. Reading `phase.metrics` instead keeps the
 * last lists read, which a long run's post-run steps would turn into old
 * garbage by the megabyte.
 *
 * @param phase A phase.
 * @returns Its metrics.
 *
 * @example Usage
 * ```ts
 * import { readPhaseMetrics } from "./compact_metrics.ts";
 * const phase = {
 *   index: 0, name: "START -> END", startToken: "START", endToken: "END", startNs: 0n,
 *   endNs: 1n, timestamp: 0, durationMs: 0, failures: [],
 *   metrics: [{ name: "CPU_TIME", value: 5, unit: "ns", source: "process" }],
 * };
 * console.log(readPhaseMetrics(phase)[0]!.value); // 5
 * ```
 */
export function readPhaseMetrics(phase: PhaseResult): Metric[] {
  const compact = storeOf.get(phase);
  return compact === undefined ? phase.metrics : compact.store.peek(compact.phase);
}

/**
 * Sets a phase's metrics: for a phase kept compactly, stores them now
 * (nothing is kept as objects); otherwise assigns `phase.metrics`.
 *
 * @param phase A phase.
 * @param metrics Its new metrics.
 *
 * @example Usage
 * ```ts
 * import { readPhaseMetrics, writePhaseMetrics } from "./compact_metrics.ts";
 * import type { PhaseResult } from "../result.ts";
 * const phase: PhaseResult = {
 *   index: 0, name: "START -> END", startToken: "START", endToken: "END", startNs: 0n,
 *   endNs: 1n, timestamp: 0, durationMs: 0, failures: [], metrics: [],
 * };
 * writePhaseMetrics(phase, [{ name: "CPU_TIME", value: 5, unit: "ns", source: "process" }]);
 * console.log(readPhaseMetrics(phase).length); // 1
 * ```
 */
export function writePhaseMetrics(phase: PhaseResult, metrics: Metric[]): void {
  const compact = storeOf.get(phase);
  if (compact === undefined) phase.metrics = metrics;
  else compact.store.write(compact.phase, metrics);
}

/**
 * Makes `phase.metrics` read from and write to a store.
 *
 * @param phase The phase (without a `metrics` property yet).
 * @param store The store of its run.
 * @param index Its position in the store.
 */
export function attachMetrics(phase: PhaseResult, store: CompactMetrics, index: number): void {
  storeOf.set(phase, { store, phase: index });
  Object.defineProperty(phase, "metrics", metricsProperty);
}
