/**
 * JSON output, in the reference tool's schema plus exact boundary times.
 *
 * @module
 */

import type { PhaseResult, ProfileResult, RunResult } from "../result.ts";
import type { Sensor } from "../source.ts";

/** Milliseconds rounded to the nanosecond, so floats print cleanly. */
function ms(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function phaseDocument(phase: PhaseResult): Record<string, unknown> {
  const document: Record<string, unknown> = {
    index: phase.index,
    start_token: phase.startToken,
    end_token: phase.endToken,
  };
  if (phase.startLine !== undefined) document.start_token_line = phase.startLine;
  if (phase.endLine !== undefined) document.end_token_line = phase.endLine;
  document.timestamp = phase.timestamp;
  document.duration_ms = ms(phase.durationMs);
  document.start_ns = phase.startNs;
  document.end_ns = phase.endNs;
  document.metrics = phase.metrics.map((metric) => {
    const entry: Record<string, unknown> = {
      name: metric.name,
      value: metric.value,
      unit: metric.unit,
      source: metric.source,
    };
    if (metric.details !== undefined) entry.details = metric.details;
    return entry;
  });
  if (phase.failures.length > 0) document.failures = phase.failures;
  return document;
}

function runDocument(run: RunResult): Record<string, unknown> {
  return {
    index: run.index,
    timestamp: run.timestamp,
    duration_ms: ms(run.durationMs),
    start_ns: run.startNs,
    end_ns: run.endNs,
    exit_code: run.exitCode,
    signal: run.signal,
    phases: run.phases.map(phaseDocument),
  };
}

/**
 * The JSON document of a result, as a plain object (bigints for `_ns`).
 *
 * One run gives the reference layout (`command`, `token_pattern`,
 * `exit_code`, `phases`) plus `signal`, `duration_ms`, `start_ns`,
 * `end_ns`; several runs give `nb_iterations` and `iterations[]`, each
 * with its own index, exit code, duration and phases.
 *
 * @param result A profile result.
 * @param forceIterations Use the iterations layout even for one run.
 * @returns The document.
 *
 * @example Usage
 * ```ts
 * import { toJsonDocument } from "./json.ts";
 * const doc = toJsonDocument({
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 1,
 *   interrupted: false, runs: [],
 * });
 * console.log(doc.command); // "true"
 * ```
 */
export function toJsonDocument(
  result: ProfileResult,
  forceIterations = false,
): Record<string, unknown> {
  const document: Record<string, unknown> = {
    command: result.command.join(" "),
    token_pattern: result.tokenPattern,
    exit_code: result.exitCode,
  };
  const only = result.runs[0];
  if (result.runs.length === 1 && only !== undefined && !forceIterations) {
    document.signal = only.signal;
    document.duration_ms = ms(only.durationMs);
    document.start_ns = only.startNs;
    document.end_ns = only.endNs;
    document.timestamp = only.timestamp;
    if (result.interrupted) document.interrupted = true;
    document.phases = only.phases.map(phaseDocument);
    return document;
  }
  document.duration_ms = ms(result.durationMs);
  if (result.interrupted) document.interrupted = true;
  document.nb_iterations = result.runs.length;
  document.iterations = result.runs.map(runDocument);
  return document;
}

/**
 * Serialises a result as pretty JSON; nanosecond times are written as exact
 * integers (no float rounding).
 *
 * @param result A profile result.
 * @param forceIterations Use the iterations layout even for one run.
 * @returns JSON text ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { formatJson } from "./json.ts";
 * const text = formatJson({
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 1,
 *   interrupted: false, runs: [],
 * });
 * ```
 */
export function formatJson(result: ProfileResult, forceIterations = false): string {
  return `${stringify(toJsonDocument(result, forceIterations))}\n`;
}

/**
 * The `list-sensors` JSON: an array of `{name, unit, source}`, plus
 * `available` and `note` when the source reports them.
 *
 * @param sensors The sensors.
 * @returns JSON text ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { formatSensorsJson } from "./json.ts";
 * console.log(formatSensorsJson([{ name: "PSYS", unit: "µJ", source: "RAPL (Powercap)" }]));
 * ```
 */
export function formatSensorsJson(sensors: readonly Sensor[]): string {
  const entries = sensors.map(({ name, unit, source, available, note }) => ({
    name,
    unit,
    source,
    ...(available === undefined ? {} : { available }),
    ...(note === undefined ? {} : { note }),
  }));
  return `${stringify(entries)}\n`;
}

/** `JSON.rawJSON` (ES2025, in V8) is not in TypeScript's lib yet. */
const rawJson = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

function stringify(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item) => typeof item === "bigint" ? rawJson(item.toString()) : item,
    2,
  );
}
