/**
 * The `joule-profiler` command line.
 *
 * @module
 */

import { Command, CommanderError, Option } from "commander";
import denoConfig from "../../deno.json" with { type: "json" };
import { EXIT_PROFILER_FAILURE, EXIT_USAGE, ProfilerError, UsageError } from "../errors.ts";
import { Logger, type Verbosity } from "../logger.ts";
import { writeText } from "../output/result_file.ts";
import { DEFAULT_TOKEN_PATTERN } from "../phase/token_pattern.ts";
import { type ByteSink, DiscardSink, WriterSink } from "../process/byte_sink.ts";
import {
  type DisplayFlags,
  echoesProgramOutput,
  progressBarFor,
  progressCallback,
} from "./profile_display.ts";
import {
  JouleProfiler,
  type NamedCommand,
  validateProfileConfig,
  validateRunSettings,
} from "../profiler.ts";
import { ResultFile } from "../output/result_file.ts";
import type { Comparison } from "../stats/comparison.ts";
import { splitShellWords } from "./shell_words.ts";
import { type InvokingUser, invokingUser } from "../process/invoking_user.ts";
import type { ProfileResult, SourceStatus } from "../result.ts";
import type { Sensor } from "../source.ts";
import {
  buildSources,
  eventSourcePath,
  parseGpuList,
  raplPath,
  type SourceFlags,
} from "./sources.ts";
import { DEFAULT_PERF_EVENTS } from "../../sources/perf_event/event_catalog.ts";
import {
  type OutputFlags,
  type OutputTarget,
  prepareListOutput,
  prepareProfileOutput,
} from "./output_target.ts";

/** The version printed by `--version`, from `deno.json`. */
export const VERSION: string = denoConfig.version;

/** Global flags (before the subcommand). */
interface GlobalFlags extends OutputFlags, SourceFlags {
  verbose: number;
  csvRaw?: boolean;
}

/** `profile` flags. */
interface ProfileFlags extends DisplayFlags {
  lineBuffered?: boolean;
  allPhases?: boolean;
  tokenPattern: string;
  stdoutFile?: string;
  iterations: number;
  warmup?: number;
  minRuns?: number;
  minTime?: number;
  prepare?: string;
  cleanup?: string;
  idle?: number;
  command?: string[];
  commandName?: string[];
  exportMarkdown?: string;
  useRoot?: boolean;
  phaseChannel: boolean;
  raplPolling?: number;
  sampleInterval?: number;
  timeline?: string;
  samplesCsv?: string;
}

/** Sampling interval used when `--timeline` or `--samples-csv` comes without `--sample-interval`. */
const DEFAULT_SAMPLE_INTERVAL_MS = 10;
/** Below this, powercap counters (updated about every 1 ms) and timers make noisy samples. */
const NOISY_SAMPLE_INTERVAL_MS = 2;

function sampleInterval(value: string): number {
  const ms = Number(value);
  if (value.trim() === "" || !Number.isFinite(ms) || ms < 1) {
    throw new UsageError(`--sample-interval must be a number of milliseconds ≥ 1, got '${value}'`);
  }
  return ms;
}

function timelineFile(value: string): string {
  if (!/\.(html?|svg)$/i.test(value)) {
    throw new UsageError(
      `--timeline must name a .html or .svg file (the format follows the extension), got '${value}'`,
    );
  }
  return value;
}

/** The files sampling writes besides the results, reserved before the run. */
interface SampleOutputs {
  timeline?: ResultFile;
  samplesCsv?: ResultFile;
}

/** `compare` flags. */
interface CompareFlags {
  exportMarkdown?: string;
  alpha: number;
}

const encoder = new TextEncoder();

function writeStdout(text: string | Iterable<string>): void {
  writeText(Deno.stdout, text);
}

/** CPU time the profiler itself has used (user + system), in seconds, or "?". */
function cpuSeconds(): string {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime, in clock ticks of 1/100 s on Linux.
    return ((Number(fields[11]) + Number(fields[12])) / 100).toFixed(2);
  } catch {
    return "?";
  }
}

/** The profiler's peak resident memory (VmHWM), in MiB, or "?" when unknown. */
function peakRssMiB(): string {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
    return Number.isFinite(kib) ? (kib / 1024).toFixed(1) : "?";
  } catch {
    return "?";
  }
}

function positiveInteger(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
      throw new UsageError(`${name} must be a positive integer, got '${value}'`);
    }
    return Number(value);
  };
}

function socketList(value: string): number[] {
  const parts = value.split(",").map((part) => part.trim());
  if (parts.some((part) => !/^\d+$/.test(part))) {
    throw new UsageError(
      `--sockets expects socket numbers separated by commas (e.g. 0,1), got '${value}'`,
    );
  }
  const sockets = [...new Set(parts.map(Number))];
  return sockets.sort((a, b) => a - b);
}

function nonNegativeSeconds(name: string) {
  return (value: string): number => {
    const seconds = Number(value);
    if (value.trim() === "" || !Number.isFinite(seconds) || seconds < 0) {
      throw new UsageError(`${name} must be a number of seconds ≥ 0, got '${value}'`);
    }
    return seconds;
  };
}

function nonNegativeInteger(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new UsageError(`${name} must be an integer ≥ 0, got '${value}'`);
    }
    return Number(value);
  };
}

function positiveSeconds(name: string) {
  return (value: string): number => {
    const seconds = Number(value);
    if (value.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) {
      throw new UsageError(`${name} must be a number of seconds > 0, got '${value}'`);
    }
    return seconds;
  };
}

function significanceLevel(value: string): number {
  const alpha = Number(value);
  if (value.trim() === "" || !(alpha > 0 && alpha < 1)) {
    throw new UsageError(`--alpha must be a number between 0 and 1 (e.g. 0.05), got '${value}'`);
  }
  return alpha;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function countVerbosity(_value: string, previous: number): number {
  return previous + 1;
}

function verbosityOf(flags: GlobalFlags): Verbosity {
  return Math.min(flags.verbose, 3) as Verbosity;
}

/** Where results went, and to whom the files belong. */
interface EmitOptions {
  logger: Logger;
  label: string;
  owner?: { uid: number; gid: number };
}

function emit(target: OutputTarget, text: string | Iterable<string>, options: EmitOptions): void {
  const { logger, label } = options;
  if (target.destination === "stdout") {
    try {
      writeStdout(text);
    } catch (error) {
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
      throw new ProfilerError("cannot write the results: stdout was closed (broken pipe)");
    }
    return;
  }
  try {
    target.destination.commit(text, options.owner);
  } catch (error) {
    throw new ProfilerError(
      `cannot write results to '${target.destination.path}': ${(error as Error).message} ` +
        `(any previous file of that name is unchanged)`,
      { cause: error },
    );
  }
  logger.notice(`${label} written to: ${target.destination.path}`);
}

// Formatters are loaded when used: start-up is part of every run's cost, and a JSON
// run does not need the table library the terminal layout uses.

async function render(
  target: OutputTarget,
  result: ProfileResult,
  options: { iterations: number; csvRaw?: boolean; allPhases?: boolean },
): Promise<string | Iterable<string>> {
  const forceIterations = options.iterations > 1;
  switch (target.format) {
    case "json":
      return (await import("../output/json.ts")).jsonChunks(result, forceIterations);
    case "csv":
      return (await import("../output/csv.ts")).csvChunks(result, forceIterations, {
        rawCells: options.csvRaw,
      });
    case "terminal":
      return (await import("../output/terminal.ts")).terminalChunks(result, {
        color: target.destination === "stdout" ? undefined : false,
        statistics: options.iterations > 1,
        allPhases: options.allPhases,
      });
  }
}

/** Several commands' results, with each compared to the first. */
async function renderMany(
  target: OutputTarget,
  results: readonly ProfileResult[],
  comparisons: readonly Comparison[],
  options: { csvRaw?: boolean; allPhases?: boolean },
): Promise<string | Iterable<string>> {
  const { comparisonDocument, totalMetricKeys } = await import("../stats/comparison.ts");
  const totals = totalMetricKeys(results);
  switch (target.format) {
    case "json":
      return (await import("../output/json.ts")).multiJsonChunks(
        results,
        comparisons.map((comparison) => comparisonDocument(comparison, totals)),
      );
    case "csv": {
      const { csvChunks } = await import("../output/csv.ts");
      return results.flatMap((result, i) => [
        ...csvChunks(result, true, {
          rawCells: options.csvRaw,
          commandName: resultLabelOf(result),
          header: i === 0,
        }),
      ]);
    }
    case "terminal": {
      const { formatComparisonTerminal, formatTerminal } = await import("../output/terminal.ts");
      const color = target.destination === "stdout" ? undefined : false;
      return [
        ...results.map((result) =>
          formatTerminal(result, { color, statistics: true, allPhases: options.allPhases })
        ),
        formatComparisonTerminal(comparisons, totals, { color }),
      ];
    }
  }
}

function resultLabelOf(result: ProfileResult): string {
  return result.name ?? result.command.join(" ");
}

async function markdownOf(
  results: readonly ProfileResult[],
  comparisons: readonly Comparison[],
): Promise<string> {
  const { comparisonsMarkdown, resultsMarkdown } = await import("../output/markdown.ts");
  const { totalMetricKeys } = await import("../stats/comparison.ts");
  const parts = [resultsMarkdown(results)];
  if (comparisons.length > 0) {
    parts.push(comparisonsMarkdown(comparisons, totalMetricKeys(results)));
  }
  return `# joule-profiler results\n\n${parts.join("\n")}`;
}

async function renderSensors(
  target: OutputTarget,
  sensors: Sensor[],
  csvRaw?: boolean,
): Promise<string> {
  switch (target.format) {
    case "json":
      return (await import("../output/json.ts")).formatSensorsJson(sensors);
    case "csv":
      return (await import("../output/csv.ts")).formatSensorsCsv(sensors, { rawCells: csvRaw });
    case "terminal":
      return (await import("../output/terminal.ts")).formatSensorsTerminal(sensors, {
        color: target.destination === "stdout" ? undefined : false,
      });
  }
}

const LABELS = { json: "JSON", csv: "CSV", terminal: "Results" } as const;

/** Opens where the program's stdout goes; never the same stream as machine-readable results. */
function openProgramStdout(
  flags: ProfileFlags,
  target: OutputTarget,
  owner: InvokingUser | undefined,
  echo: boolean,
): ByteSink {
  if (flags.stdoutFile !== undefined) {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(flags.stdoutFile, { write: true, create: true, truncate: true });
    } catch (error) {
      throw new UsageError(
        `cannot write --stdout-file '${flags.stdoutFile}': ${(error as Error).message}`,
      );
    }
    if (owner !== undefined) Deno.chownSync(flags.stdoutFile, owner.uid, owner.gid);
    return new WriterSink(file, () => file.close());
  }
  // Still scanned for tokens; only the echo is dropped (--quiet-output, repeated runs).
  if (!echo) return new DiscardSink();
  if (target.destination === "stdout" && target.format !== "terminal") {
    return new WriterSink(Deno.stderr);
  }
  return new WriterSink(Deno.stdout);
}

/** The commands of `profile`: after `--`, or from repeated `--command`. */
function profiledCommands(flags: ProfileFlags, positional: string[]): NamedCommand[] {
  const names = flags.commandName ?? [];
  if (flags.command === undefined) {
    if (positional.length === 0) {
      throw new UsageError("missing command: give the program to profile after --, or --command");
    }
    if (names.length > 1) {
      throw new UsageError(`${names.length} --command-name for 1 command`);
    }
    return [{ command: positional, name: names[0] }];
  }
  if (positional.length > 0) {
    throw new UsageError(
      "give the commands either after -- or with --command, not both " +
        `(got --command and '${positional.join(" ")}')`,
    );
  }
  if (names.length > 0 && names.length !== flags.command.length) {
    throw new UsageError(
      `${names.length} --command-name for ${flags.command.length} --command: give one per command`,
    );
  }
  if (new Set(names).size !== names.length) {
    throw new UsageError("--command-name values must differ: they label the comparison");
  }
  return flags.command.map((line, i) => ({ command: splitShellWords(line), name: names[i] }));
}

async function profileCommand(
  global: GlobalFlags,
  flags: ProfileFlags,
  positional: string[],
): Promise<number> {
  const logger = new Logger(verbosityOf(global));
  const commands = profiledCommands(flags, positional);
  const settings = {
    warmup: flags.warmup,
    minRuns: flags.minRuns,
    minTimeSeconds: flags.minTime,
    idleSeconds: flags.idle,
  };
  validateRunSettings(settings);
  let sampleIntervalMs = flags.sampleInterval;
  const sampleFiles = flags.timeline ?? flags.samplesCsv;
  if (sampleFiles !== undefined && commands.length > 1) {
    throw new UsageError(
      "--timeline and --samples-csv take one command: profile each --command on its own for them",
    );
  }
  if (sampleIntervalMs === undefined && sampleFiles !== undefined) {
    sampleIntervalMs = DEFAULT_SAMPLE_INTERVAL_MS;
    logger.info(`sampling every ${sampleIntervalMs} ms (the default; set --sample-interval)`);
  }
  for (const { command } of commands) {
    validateProfileConfig({ command, tokenPattern: flags.tokenPattern, sampleIntervalMs });
  }
  const target = prepareProfileOutput(global);
  let markdown: ResultFile | undefined;
  let programStdout: ByteSink | undefined;
  const shape = { ...settings, iterations: flags.iterations, commands: commands.length };
  const echo = echoesProgramOutput(flags, shape);
  let progress: ReturnType<typeof progressBarFor>;
  const extra: SampleOutputs = {};
  try {
    if (sampleIntervalMs !== undefined && sampleIntervalMs < NOISY_SAMPLE_INTERVAL_MS) {
      logger.warn(
        `--sample-interval ${sampleIntervalMs}: RAPL counters update about every 1 ms and ` +
          `timers fire about 1 ms late, so power at this interval is noisy and deadlines are missed`,
      );
    }
    if (flags.exportMarkdown !== undefined) markdown = ResultFile.prepare(flags.exportMarkdown);
    if (flags.timeline !== undefined) extra.timeline = ResultFile.prepare(flags.timeline);
    if (flags.samplesCsv !== undefined) extra.samplesCsv = ResultFile.prepare(flags.samplesCsv);
    const profiler = new JouleProfiler();
    // Under sudo the program runs as the user who typed the command, not root.
    const runAs = flags.useRoot ? undefined : invokingUser();
    if (runAs !== undefined) {
      logger.info(`running the program as ${runAs.name} (uid ${runAs.uid}); --use-root keeps root`);
    }
    programStdout = openProgramStdout(flags, target, runAs, echo);
    const sharesTerminal = echo && flags.stdoutFile === undefined &&
      target.format === "terminal" && target.destination === "stdout";
    progress = progressBarFor(flags, shape, { echo: sharesTerminal });
    const statuses: SourceStatus[] = [];
    for (const source of await buildSources({ ...global, ...flags }, logger, "profile", statuses)) {
      const origin = statuses.find((status) => status.name === source.name)?.origin;
      profiler.addSource(source, { origin });
    }
    for (const status of statuses) if (!status.active) profiler.addUnavailableSource(status);
    const results = await profiler.profileCommands({
      ...settings,
      commands,
      tokenPattern: flags.tokenPattern,
      iterations: flags.iterations,
      prepare: flags.prepare,
      cleanup: flags.cleanup,
      stdout: programStdout,
      logger,
      runAs,
      phaseChannel: flags.phaseChannel,
      sampleIntervalMs,
      lineBuffered: flags.lineBuffered,
      onProgress: progressCallback(progress),
    });
    progress?.finish();
    if (results.every((result) => result.runs.length === 0)) {
      throw new ProfilerError("interrupted before any run completed; no results", {
        exitCode: 130,
      });
    }
    const formatting = performance.now();
    let comparisons: Comparison[] = [];
    let text: string | Iterable<string>;
    if (results.length === 1) {
      const repeated = flags.iterations > 1 || results[0]!.runs.length > 1;
      text = await render(target, results[0]!, {
        iterations: repeated ? Math.max(2, flags.iterations) : 1,
        csvRaw: global.csvRaw,
        allPhases: flags.allPhases,
      });
    } else {
      const { compareResults } = await import("../stats/comparison.ts");
      comparisons = results.slice(1).map((result) => compareResults(results[0]!, result));
      text = await renderMany(target, results, comparisons, {
        csvRaw: global.csvRaw,
        allPhases: flags.allPhases,
      });
    }
    // The program's last line may lack its newline: start the results on a fresh line.
    const sharesStdout = target.destination === "stdout" && flags.stdoutFile === undefined &&
      target.format === "terminal";
    if (sharesStdout && echo && !programStdout.atLineStart) writeStdout("\n");
    if (markdown !== undefined) {
      const content = await markdownOf(results, comparisons);
      try {
        markdown.commit(content, runAs);
      } catch (error) {
        throw new ProfilerError(
          `cannot write Markdown to '${markdown.path}': ${(error as Error).message}`,
          { cause: error },
        );
      }
      logger.notice(`Markdown written to: ${markdown.path}`);
      markdown = undefined;
    }
    emit(target, text, { logger, label: LABELS[target.format], owner: runAs });
    await writeSourcesSidecar(target, results[0]!, { logger, owner: runAs, csvRaw: global.csvRaw });
    await writeSampleOutputs(extra, results[0]!, { logger, owner: runAs, csvRaw: global.csvRaw });
    logger.info(
      `results formatted and written in ${(performance.now() - formatting).toFixed(1)} ms; ` +
        `profiler peak RSS ${peakRssMiB()} MiB, CPU ${cpuSeconds()} s`,
    );
    return results.find((result) => result.exitCode !== 0)?.exitCode ?? 0;
  } catch (error) {
    if (target.destination !== "stdout") target.destination.discard();
    markdown?.discard();
    extra.timeline?.discard();
    extra.samplesCsv?.discard();
    throw error;
  } finally {
    progress?.finish();
    programStdout?.close();
  }
}

/**
 * Beside a CSV results file, `<name>.sources.csv`: which sources measured
 * and why others did not (the results rows keep the reference schema).
 */
async function writeSourcesSidecar(
  target: OutputTarget,
  result: ProfileResult,
  options: { logger: Logger; owner?: { uid: number; gid: number }; csvRaw?: boolean },
): Promise<void> {
  if (target.format !== "csv" || target.destination === "stdout") return;
  if (result.sources === undefined) return;
  const { formatSourcesCsv, sourcesSidecarPath } = await import("../output/csv.ts");
  const sidecar = ResultFile.prepare(sourcesSidecarPath(target.destination.path));
  emit(
    { format: "csv", destination: sidecar },
    formatSourcesCsv(result.sources, { rawCells: options.csvRaw }),
    { ...options, label: "Sources CSV" },
  );
}

/** Writes `--timeline` (HTML with every run, or SVG of run 1) and `--samples-csv`. */
async function writeSampleOutputs(
  files: SampleOutputs,
  result: ProfileResult,
  options: { logger: Logger; owner?: { uid: number; gid: number }; csvRaw?: boolean },
): Promise<void> {
  const { timeline, samplesCsv } = files;
  if (timeline !== undefined) {
    const text = /\.svg$/i.test(timeline.path)
      ? `${(await import("../output/timeline_svg.ts")).timelineSvg(result.runs[0]!)}\n`
      : (await import("../output/timeline_html.ts")).timelineHtml(result);
    emit({ format: "json", destination: timeline }, text, { ...options, label: "Timeline" });
  }
  if (samplesCsv !== undefined) {
    const { samplesCsvChunks } = await import("../output/samples_csv.ts");
    emit(
      { format: "csv", destination: samplesCsv },
      samplesCsvChunks(result, { rawCells: options.csvRaw }),
      { ...options, label: "Samples CSV" },
    );
  }
}

async function compareCommand(
  global: GlobalFlags,
  flags: CompareFlags,
  files: string[],
): Promise<number> {
  const logger = new Logger(verbosityOf(global));
  const { parseResultFile } = await import("../output/json_reader.ts");
  const { compareResults, comparisonDocument, totalMetricKeys } = await import(
    "../stats/comparison.ts"
  );
  const results: ProfileResult[] = [];
  for (const path of files) {
    let content: string;
    try {
      content = await Deno.readTextFile(path);
    } catch (error) {
      throw new UsageError(`cannot read '${path}': ${(error as Error).message}`);
    }
    const parsed = parseResultFile(content, path);
    const labelled = parsed.map((result) =>
      parsed.length === 1 && result.name === undefined ? { ...result, name: path } : result
    );
    results.push(...labelled);
  }
  if (results.length < 2) {
    throw new UsageError(
      "compare needs two results: two --json files (A.json B.json), or one file of a " +
        "multi-command profile",
    );
  }
  const single = results.filter((result) => result.runs.length < 2);
  if (single.length > 0) {
    logger.warn(
      `${single.map((result) => result.name).join(", ")}: a single run has no spread; ` +
        "profile with -n 10 (or more) for a significance test",
    );
  }
  const target = prepareListOutput(global);
  let markdown: ResultFile | undefined;
  try {
    if (flags.exportMarkdown !== undefined) markdown = ResultFile.prepare(flags.exportMarkdown);
    const comparisons = results.slice(1).map((result) =>
      compareResults(results[0]!, result, { alpha: flags.alpha })
    );
    const totals = totalMetricKeys(results);
    let text: string;
    if (target.format === "json") {
      const documents = comparisons.map((comparison) => comparisonDocument(comparison, totals));
      text = `${JSON.stringify(documents.length === 1 ? documents[0] : documents, null, 2)}\n`;
    } else if (target.format === "csv") {
      text = (await import("../output/csv.ts")).formatComparisonCsv(comparisons, {
        rawCells: global.csvRaw,
      });
    } else {
      const { formatComparisonTerminal } = await import("../output/terminal.ts");
      text = formatComparisonTerminal(comparisons, totals, {
        color: target.destination === "stdout" ? undefined : false,
      });
    }
    if (markdown !== undefined) {
      const { comparisonsMarkdown } = await import("../output/markdown.ts");
      markdown.commit(`# joule-profiler comparison\n\n${comparisonsMarkdown(comparisons, totals)}`);
      logger.notice(`Markdown written to: ${markdown.path}`);
      markdown = undefined;
    }
    emit(target, text, { logger, label: "Comparison", owner: invokingUser() });
    return 0;
  } catch (error) {
    if (target.destination !== "stdout") target.destination.discard();
    markdown?.discard();
    throw error;
  }
}

async function listSensorsCommand(global: GlobalFlags): Promise<number> {
  const logger = new Logger(verbosityOf(global));
  const target = prepareListOutput(global);
  try {
    const profiler = new JouleProfiler();
    for (const source of await buildSources(global, logger, "list-sensors")) {
      profiler.addSource(source);
    }
    const sensors = await profiler.listSensors();
    emit(target, await renderSensors(target, sensors, global.csvRaw), {
      logger,
      label: LABELS[target.format],
      owner: invokingUser(),
    });
    return 0;
  } catch (error) {
    if (target.destination !== "stdout") target.destination.discard();
    throw error;
  }
}

async function doctorCommand(global: GlobalFlags): Promise<number> {
  const logger = new Logger(verbosityOf(global));
  const target = prepareListOutput(global);
  try {
    const { diagnose, formatDoctorReport } = await import("./doctor.ts");
    const report = await diagnose({
      powercapPath: raplPath(global),
      eventSourcePath: eventSourcePath(),
      cpuSysfsPath: Deno.env.get("JOULE_PROFILER_CPU_SYSFS_PATH"),
      binaryPath: Deno.build.standalone ? Deno.execPath() : "<path to joule-profiler>",
    });
    const text = target.format === "json"
      ? `${JSON.stringify(report, null, 2)}\n`
      : formatDoctorReport(report);
    emit(target, text, { logger, label: "Report", owner: invokingUser() });
    return 0;
  } catch (error) {
    if (target.destination !== "stdout") target.destination.discard();
    throw error;
  }
}

function buildCli(done: (code: Promise<number>) => void): Command {
  const program = new Command("joule-profiler")
    .description(
      "Measure the energy and counters of a program, phase by phase.\n" +
        "Phases are delimited by tokens the program prints on stdout.",
    )
    .version(VERSION, "-V, --version", "print the version and exit")
    .helpOption("-h, --help", "print help and exit")
    .option(
      "-v, --verbose",
      "more diagnostics on stderr (-v info, -vv debug, -vvv trace and stack traces)",
      countVerbosity,
      0,
    )
    .addOption(new Option("--json", "write results as JSON").conflicts("csv"))
    .addOption(new Option("--csv", "write results as ';'-separated CSV").conflicts("json"))
    .option(
      "--csv-raw",
      "keep CSV text cells that start with = + - @ as they are (by default they get a " +
        "leading ' so spreadsheets do not run them as formulas)",
    )
    .option(
      "-o, --output-file <path>",
      "results file ('-' for stdout); default data<TIMESTAMP>.json|csv for --json/--csv, " +
        "stdout for the terminal layout",
    )
    .option(
      "--rapl-path <path>",
      "powercap RAPL folder (default $JOULE_PROFILER_RAPL_PATH, else " +
        "/sys/devices/virtual/powercap/intel-rapl)",
    )
    .option(
      "-s, --sockets <list>",
      "CPU sockets (packages) to measure, e.g. 0 or 0,1 (default all; PSYS is always measured)",
      socketList,
    )
    .addOption(
      new Option(
        "--rapl-backend <backend>",
        "RAPL backend (default: perf if its power PMU opens, else powercap)",
      ).choices(["perf", "powercap"]),
    )
    .option(
      "--perf",
      "count per-process perf_event counters of the program and its descendants " +
        `(default events: ${DEFAULT_PERF_EVENTS.join(", ")})`,
    )
    .option(
      "--perf-events <events>",
      "comma-separated perf events to count, perf list names or ours " +
        "(e.g. cycles,instructions,task-clock); implies --perf",
    )
    .option("--gpu", "measure the energy of every NVIDIA GPU (NVML)")
    .option(
      "--gpus <indices>",
      "measure these NVIDIA GPUs only, e.g. 0,2 (implies --gpu)",
      parseGpuList,
    )
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: () => {} });

  program
    .command("profile")
    .description("run a program and report its metrics per phase")
    .usage(
      '[options] -- <command> [args...]\n       joule-profiler profile [options] --command "A" --command "B" ...',
    )
    .option(
      "--token-pattern <regex>",
      "regular expression marking phase boundaries on stdout; with a capture group, " +
        "group 1 names the token",
      DEFAULT_TOKEN_PATTERN,
    )
    .option("-o, --stdout-file <path>", "write the program's stdout to this file")
    .option(
      "-n, --iterations <n>",
      "run the program n times and report per-phase mean and spread",
      positiveInteger("--iterations"),
      1,
    )
    .option(
      "--warmup <n>",
      "run the program n times first and discard those runs (warm caches, JIT, frequency)",
      nonNegativeInteger("--warmup"),
    )
    .option(
      "--min-runs <n>",
      "run at least n times (with --min-time: until both are met)",
      positiveInteger("--min-runs"),
    )
    .option(
      "--min-time <seconds>",
      "keep running until the measured runs add up to this many seconds",
      nonNegativeSeconds("--min-time"),
    )
    .option(
      "--prepare <cmd>",
      "shell command run before every run (warm-up included), not measured; its failure stops " +
        "the profile",
    )
    .option(
      "--cleanup <cmd>",
      "shell command run after every run (warm-up included), not measured",
    )
    .option(
      "--idle <seconds>",
      "first measure the machine at rest this long, and report energy above idle " +
        "(raw − idle power × duration) next to the raw energy",
      positiveSeconds("--idle"),
    )
    .option(
      "--command <cmd>",
      "a command to profile (repeat to compare several: runs are interleaved A B A B; the " +
        "first is the baseline); instead of a command after --",
      collect,
    )
    .option(
      "--command-name <name>",
      "label of the --command at the same position (repeat, one per --command)",
      collect,
    )
    .option(
      "--export-markdown <file>",
      "also write the results (and comparisons) as Markdown tables to this file",
    )
    .option(
      "--rapl-polling <seconds>",
      "seconds between powercap counter reads that catch wraps (default: derived from " +
        "max_energy_range_uj; 0 turns polling off)",
      nonNegativeSeconds("--rapl-polling"),
    )
    .option(
      "--sample-interval <ms>",
      "sample power (RAPL, NVML) and the program's CPU and RSS every <ms> milliseconds " +
        "(≥ 1; default off, or 10 with --timeline/--samples-csv); samples go to the JSON",
      sampleInterval,
    )
    .option(
      "--timeline <file>",
      "write the power timeline: .html (interactive page, every run) or .svg (run 1)",
      timelineFile,
    )
    .option(
      "--samples-csv <file>",
      "write every sample as ';'-separated CSV (run;time_ms;series;value;unit;source)",
    )
    .option(
      "--no-phase-channel",
      "do not offer the phase channel (JOULE_PROFILER_PHASE_FD / JOULE_PROFILER_PHASE_FIFO)",
    )
    .option(
      "--use-root",
      "under sudo, run the program as root (by default it runs as the user who invoked sudo)",
    )
    .argument("[command...]", "the program to profile and its arguments, after --")
    .passThroughOptions()
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .action((command: string[], flags: ProfileFlags) => {
      done(profileCommand(program.opts<GlobalFlags>(), flags, command));
    });

  program
    .command("compare")
    .description(
      "compare results of --json profiles (A.json B.json …, or one multi-command file): " +
        "per phase and metric, the ratio B/A ± uncertainty and Welch's t-test",
    )
    .usage("[options] <A.json> <B.json> [more.json...]")
    .argument("<files...>", "result files written by --json; the first is the baseline")
    .option(
      "--alpha <level>",
      "significance level of the test",
      significanceLevel,
      0.05,
    )
    .option("--export-markdown <file>", "also write the comparison as Markdown tables")
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .action((files: string[], flags: CompareFlags) => {
      done(compareCommand(program.opts<GlobalFlags>(), flags, files));
    });

  program
    .command("doctor")
    .description(
      "check every source on this machine: what works, why not, and the command that fixes it",
    )
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .action(() => {
      done(doctorCommand(program.opts<GlobalFlags>()));
    });

  program
    .command("list-sensors")
    .description("list what the enabled sources can measure on this machine")
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .action(() => {
      done(listSensorsCommand(program.opts<GlobalFlags>()));
    });

  return program;
}

/**
 * Runs the CLI and returns the exit status: the profiled program's status
 * (128 + N when it was killed by signal N), 2 for usage errors, 126/127
 * when the command cannot be run, 125 for other profiler failures.
 *
 * @param args Command-line arguments (without the executable).
 * @returns The exit status.
 *
 * @example Usage
 * ```ts
 * import { main } from "./main.ts";
 * Deno.exit(await main(["--version"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let running: Promise<number> | undefined;
  const cli = buildCli((code) => running = code);
  try {
    await cli.parseAsync(args, { from: "user" });
    if (running === undefined) {
      writeStdout(cli.helpInformation());
      return EXIT_USAGE;
    }
    return await running;
  } catch (error) {
    return report(error, verbosityFromArgs(args));
  }
}

/** Verbosity for error reports, also when parsing failed half-way. */
function verbosityFromArgs(args: string[]): number {
  let count = 0;
  for (const arg of args) {
    if (arg === "--") break;
    if (arg === "--verbose") count++;
    else if (/^-v+$/.test(arg)) count += arg.length - 1;
    if (["profile", "list-sensors", "doctor", "compare"].includes(arg)) break;
  }
  return count;
}

function report(error: unknown, verbosity: number): number {
  const logger = new Logger();
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) return 0;
    logger.error(error.message.replace(/^error: /, ""));
    return EXIT_USAGE;
  }
  if (error instanceof ProfilerError) {
    logger.error(error.message);
    if (verbosity >= 3 && error.stack) Deno.stderr.writeSync(encoder.encode(`${error.stack}\n`));
    return error.exitCode;
  }
  if (error instanceof Deno.errors.NotCapable) {
    logger.error(`${error.message} (run with -A, or use the installed binary)`);
    return EXIT_PROFILER_FAILURE;
  }
  const message = error instanceof Error ? error.message : String(error);
  logger.error(`internal error: ${message}`);
  if (verbosity >= 3 && error instanceof Error && error.stack) {
    Deno.stderr.writeSync(encoder.encode(`${error.stack}\n`));
  } else {
    Deno.stderr.writeSync(encoder.encode("(run with -vvv for the stack trace)\n"));
  }
  return EXIT_PROFILER_FAILURE;
}
