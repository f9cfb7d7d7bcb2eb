/**
 * Reads result files written by `--json` back into typed results, for
 * `compare`.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { PhaseResult, ProfileResult, RunResult } from "../result.ts";
import type { Metric, SampleSeries } from "../source.ts";
import type { Launcher, TaskPlacement } from "../cluster/placement.ts";
import type { JobSummary, NodePhase, NodeSummary } from "../cluster/job_summary.ts";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function text(value: unknown, fallback = ""): string {
  return typeof value === "string" ? value : fallback;
}

function number(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(`${what} is not a number`);
  }
  return value;
}

function nanoseconds(value: unknown): bigint {
  return typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : 0n;
}

function readMetric(value: unknown, where: string): Metric {
  if (!isObject(value)) throw new TypeError(`${where}: a metric is not an object`);
  const metric: Metric = {
    name: text(value.name),
    value: number(value.value, `${where}: metric ${text(value.name)} value`),
    unit: text(value.unit),
    source: text(value.source),
  };
  if (isObject(value.details)) metric.details = value.details as Metric["details"];
  return metric;
}

function readPhase(value: unknown, where: string): PhaseResult {
  if (!isObject(value)) throw new TypeError(`${where}: a phase is not an object`);
  const startToken = text(value.start_token, "START");
  const endToken = text(value.end_token, "END");
  const index = number(value.index, `${where}: phase index`);
  const here = `${where}, phase ${index}`;
  const metrics = Array.isArray(value.metrics) ? value.metrics : [];
  return {
    index,
    name: `${startToken} -> ${endToken}`,
    startToken,
    endToken,
    startNs: nanoseconds(value.start_ns),
    endNs: nanoseconds(value.end_ns),
    timestamp: typeof value.timestamp === "number" ? value.timestamp : 0,
    durationMs: number(value.duration_ms, `${here}: duration_ms`),
    metrics: metrics.map((metric) => readMetric(metric, here)),
    failures: Array.isArray(value.failures)
      ? value.failures.filter(isObject).map((failure) => ({
        source: text(failure.source),
        message: text(failure.message),
      }))
      : [],
  };
}

/**
 * A run's `samples`: `time_ms` (since the run's START) back to times on the
 * clock of its `start_ns`, as the profiler recorded them.
 */
function readSamples(list: unknown, startNs: bigint, where: string): SampleSeries[] {
  if (!Array.isArray(list)) throw new TypeError(`${where}: samples is not an array`);
  const origin = Number(startNs);
  return list.map((value, i) => {
    if (!isObject(value)) throw new TypeError(`${where}: sample series ${i} is not an object`);
    const here = `${where}: sample series ${i} (${text(value.name)})`;
    const numbers = (items: unknown, what: string) => {
      if (!Array.isArray(items)) throw new TypeError(`${here}: no ${what}[]`);
      return Float64Array.from(items, (item) => number(item, `${here}: a ${what} value`));
    };
    const times = numbers(value.time_ms, "time_ms");
    const values = numbers(value.values, "values");
    if (times.length !== values.length) {
      throw new TypeError(
        `${here}: ${times.length} time_ms but ${values.length} values`,
      );
    }
    const series: SampleSeries = {
      name: text(value.name),
      unit: text(value.unit),
      source: text(value.source),
      timesNs: times.map((ms) => origin + ms * 1e6),
      values,
    };
    if (value.scope === "machine" || value.scope === "process") series.scope = value.scope;
    if (typeof value.node === "string") series.node = value.node;
    if (value.rank !== undefined) series.rank = count(value.rank, `${here}: rank`);
    if (value.every !== undefined) series.every = count(value.every, `${here}: every`);
    return series;
  });
}

function readRun(value: Json, index: number, where: string): RunResult {
  if (!Array.isArray(value.phases)) throw new TypeError(`${where}: no phases[]`);
  const exitCode = typeof value.exit_code === "number" ? value.exit_code : 0;
  const startNs = nanoseconds(value.start_ns);
  const run: RunResult = {
    index,
    exitCode,
    signal: typeof value.signal === "string" ? value.signal : null,
    interrupted: value.interrupted === true,
    startNs,
    endNs: nanoseconds(value.end_ns),
    timestamp: typeof value.timestamp === "number" ? value.timestamp : 0,
    durationMs: typeof value.duration_ms === "number" ? value.duration_ms : 0,
    phases: value.phases.map((phase) => readPhase(phase, where)),
  };
  if (value.samples !== undefined) run.samples = readSamples(value.samples, startNs, where);
  if (isObject(value.sampling)) {
    const sampling = value.sampling;
    run.sampling = {
      intervalMs: number(sampling.interval_ms, `${where}: sampling.interval_ms`),
      ticks: count(sampling.ticks, `${where}: sampling.ticks`),
      missed: count(sampling.missed, `${where}: sampling.missed`),
    };
  }
  return run;
}

function readResult(document: Json, where: string): ProfileResult {
  const runs = Array.isArray(document.iterations)
    ? document.iterations.map((run, i) => {
      if (!isObject(run)) throw new TypeError(`${where}: iteration ${i} is not an object`);
      return readRun(
        run,
        typeof run.index === "number" ? run.index : i,
        `${where}, iteration ${i}`,
      );
    })
    : [readRun(document, 0, where)];
  const result: ProfileResult = {
    command: text(document.command).split(" "),
    tokenPattern: text(document.token_pattern),
    exitCode: typeof document.exit_code === "number" ? document.exit_code : 0,
    durationMs: runs.reduce((total, run) => total + run.durationMs, 0),
    interrupted: document.interrupted === true,
    runs,
  };
  if (typeof document.name === "string") result.name = document.name;
  if (isObject(document.parameters)) {
    result.parameters = Object.fromEntries(
      Object.entries(document.parameters).map(([key, value]) => [key, String(value)]),
    );
  }
  if (document.placement !== undefined) {
    result.placement = readPlacement(document.placement, `${where}: placement`);
  }
  if (document.job !== undefined) result.job = readJob(document.job, `${where}: job`);
  return result;
}

function readNodePhase(value: unknown, where: string): NodePhase {
  if (!isObject(value)) throw new TypeError(`${where}: a node phase is not an object`);
  const metrics = Array.isArray(value.metrics) ? value.metrics : [];
  return {
    startNs: wideInteger(value.start_ns, `${where}: start_ns`),
    endNs: wideInteger(value.end_ns, `${where}: end_ns`),
    durationMs: number(value.duration_ms, `${where}: duration_ms`),
    metrics: metrics.map((metric) => readMetric(metric, where)),
  };
}

function readNode(value: unknown, where: string): NodeSummary {
  if (!isObject(value) || typeof value.node !== "string") {
    throw new TypeError(`${where}: a node is not an object with a name`);
  }
  const here = `${where} ${value.node}`;
  const phases = (list: unknown) => {
    if (!Array.isArray(list)) throw new TypeError(`${here}: no phases[]`);
    return list.map((phase) => readNodePhase(phase, here));
  };
  const runs = Array.isArray(value.iterations)
    ? value.iterations.map((run) => phases(isObject(run) ? run.phases : undefined))
    : [phases(value.phases)];
  const node: NodeSummary = {
    node: value.node,
    ranks: Array.isArray(value.ranks)
      ? value.ranks.map((rank) => count(rank, `${here}: rank`))
      : [],
    measured: value.measured === true,
    runs,
  };
  if (typeof value.job_id === "string") node.jobId = value.job_id;
  if (value.leader_rank !== undefined) {
    node.leaderRank = count(value.leader_rank, `${here}: leader_rank`);
  }
  return node;
}

function readJob(value: unknown, where: string): JobSummary {
  if (!isObject(value)) throw new TypeError(`${where} is not an object`);
  if (typeof value.launcher !== "string" || !LAUNCHERS.includes(value.launcher)) {
    throw new TypeError(`${where}: unknown launcher ${JSON.stringify(value.launcher)}`);
  }
  const strings = (list: unknown) =>
    Array.isArray(list) ? list.filter((item): item is string => typeof item === "string") : [];
  return {
    launcher: value.launcher as Launcher,
    jobIds: strings(value.job_ids),
    tasks: count(value.tasks, `${where}: tasks`),
    files: count(value.files, `${where}: files`),
    missingRanks: strings(value.missing_ranks),
    nodes: Array.isArray(value.nodes)
      ? value.nodes.map((node) => readNode(node, `${where}: node`))
      : [],
  };
}

const LAUNCHERS: readonly string[] = ["slurm", "openmpi", "mpich"] satisfies Launcher[];

function count(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${what} is not an integer ≥ 0`);
  }
  return value;
}

/** A JSON integer as a bigint (epoch nanoseconds exceed 2^53: exact to a few hundred ns). */
function wideInteger(value: unknown, what: string): bigint {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${what} is not an integer`);
  }
  return BigInt(value);
}

function readPlacement(value: unknown, where: string): TaskPlacement {
  if (!isObject(value)) throw new TypeError(`${where} is not an object`);
  if (typeof value.launcher !== "string" || !LAUNCHERS.includes(value.launcher)) {
    throw new TypeError(`${where}: unknown launcher ${JSON.stringify(value.launcher)}`);
  }
  if (typeof value.node !== "string") throw new TypeError(`${where}: node is not a string`);
  const anchor = value.clock_anchor;
  if (!isObject(anchor)) throw new TypeError(`${where}: no clock_anchor`);
  const placement: TaskPlacement = {
    launcher: value.launcher as Launcher,
    node: value.node,
    hostname: text(value.hostname, value.node),
    rank: count(value.rank, `${where}: rank`),
    localRank: count(value.local_rank, `${where}: local_rank`),
    tasks: count(value.tasks, `${where}: tasks`),
    pid: count(value.pid, `${where}: pid`),
    nodeLeader: value.node_leader === true,
    leaderLocalRank: count(value.leader_local_rank ?? 0, `${where}: leader_local_rank`),
    leftToLeader: Array.isArray(value.left_to_leader)
      ? value.left_to_leader.filter((name): name is string => typeof name === "string")
      : [],
    clockAnchor: {
      monotonicNs: wideInteger(anchor.monotonic_ns, `${where}: clock_anchor.monotonic_ns`),
      realtimeNs: wideInteger(anchor.realtime_ns, `${where}: clock_anchor.realtime_ns`),
    },
  };
  if (typeof value.job_id === "string") placement.jobId = value.job_id;
  if (value.node_id !== undefined) placement.nodeId = count(value.node_id, `${where}: node_id`);
  if (value.local_tasks !== undefined) {
    placement.localTasks = count(value.local_tasks, `${where}: local_tasks`);
  }
  return placement;
}

/**
 * Parses a `--json` result file: one run, iterations, or a multi-command
 * profile (one result per command).
 *
 * @param content The file's text.
 * @param path The file's name, for messages.
 * @returns The results it holds (one, or one per command).
 * @throws {UsageError} When the text is not a joule-profiler result.
 *
 * @example Usage
 * ```ts
 * import { parseResultFile } from "./json_reader.ts";
 * const [result] = parseResultFile(
 *   '{"command":"true","token_pattern":"__X__","exit_code":0,"duration_ms":1,' +
 *     '"phases":[{"index":0,"start_token":"START","end_token":"END","duration_ms":1,"metrics":[]}]}',
 *   "a.json",
 * );
 * console.log(result!.runs[0]!.phases[0]!.name); // "START -> END"
 * ```
 */
export function parseResultFile(content: string, path: string): ProfileResult[] {
  let document: unknown;
  try {
    document = JSON.parse(content);
  } catch (error) {
    throw new UsageError(`${path} is not JSON: ${(error as Error).message}`);
  }
  try {
    if (!isObject(document)) throw new TypeError("not an object");
    if (Array.isArray(document.commands)) {
      return document.commands.map((command, i) => {
        if (!isObject(command)) throw new TypeError(`command ${i} is not an object`);
        return readResult(command, `command ${i}`);
      });
    }
    if (!Array.isArray(document.phases) && !Array.isArray(document.iterations)) {
      throw new TypeError("it has neither phases[] nor iterations[]");
    }
    return [readResult(document, "result")];
  } catch (error) {
    throw new UsageError(
      `${path} is not a joule-profiler --json result (${(error as Error).message})`,
    );
  }
}

/**
 * The largest result file `compare` reads: about the longest string the
 * JavaScript engine can hold (2^29 − 24 UTF-16 units), and already more
 * than a million phases.
 */
export const MAX_RESULT_FILE_BYTES = 512 * 1024 * 1024;

/**
 * Reads a result file for `compare`: only a regular file (a device or FIFO
 * may never end), at most `maxBytes`, read through one descriptor so the
 * check and the read concern the same file.
 *
 * @param path The file.
 * @param maxBytes The size limit (default {@linkcode MAX_RESULT_FILE_BYTES}).
 * @returns The file's text.
 * @throws {UsageError} When the file is missing, not a regular file, or too large.
 *
 * @example Usage
 * ```ts
 * import { readResultFileText } from "./json_reader.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "{}");
 * console.log(await readResultFileText(path)); // "{}"
 * ```
 */
export async function readResultFileText(
  path: string,
  maxBytes = MAX_RESULT_FILE_BYTES,
): Promise<string> {
  let file: Deno.FsFile;
  try {
    // A FIFO would block this open until a writer comes: O_NONBLOCK is not
    // available here, so the type is checked on the path first, then again
    // on the descriptor.
    const before = await Deno.stat(path);
    if (!before.isFile) throw new UsageError(notRegular(path, before));
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read '${path}': ${(error as Error).message}`, { cause: error });
  }
  try {
    const info = await file.stat();
    if (!info.isFile) throw new UsageError(notRegular(path, info));
    if (info.size > maxBytes) throw new UsageError(tooLarge(path, info.size, maxBytes));
    const bytes = new Uint8Array(info.size + 1);
    let length = 0;
    for (;;) {
      const read = await file.read(bytes.subarray(length));
      if (read === null) break;
      length += read;
      // It grew while being read: more than it said, maybe without end.
      if (length > info.size) throw new UsageError(tooLarge(path, length, maxBytes, true));
    }
    return new TextDecoder().decode(bytes.subarray(0, length));
  } finally {
    file.close();
  }
}

function notRegular(path: string, info: Deno.FileInfo): string {
  const kind = info.isFifo
    ? "a FIFO"
    : info.isCharDevice
    ? "a character device"
    : info.isBlockDevice
    ? "a block device"
    : info.isSocket
    ? "a socket"
    : info.isDirectory
    ? "a directory"
    : "not a regular file";
  return `cannot read '${path}': it is ${kind}; compare reads saved --json result files ` +
    "(write the results to a file first)";
}

function tooLarge(path: string, size: number, maxBytes: number, growing = false): string {
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
  return growing
    ? `cannot read '${path}': it grew while being read; compare reads finished result files`
    : `cannot read '${path}': ${mib(size)} is more than compare reads (${mib(maxBytes)})`;
}
