/**
 * `joule-profiler profile`: run a program (or several, interleaved) and
 * report its metrics per phase.
 *
 * @module
 */

import { EXIT_PROFILER_FAILURE, ProfilerError, UsageError } from "../../errors.ts";
import { Logger, sinceStart } from "../../logger.ts";
import { compileByteSearchInBackground } from "../../phase/byte_search.ts";
import { idleHelperThreads, requestShortSlice } from "../../process/scheduler_slice.ts";
import { openStreamFile, refuseSharedDestinations, ResultFile } from "../../output/result_file.ts";
import { type ByteSink, DiscardSink, WriterSink } from "../../process/byte_sink.ts";
import {
  JouleProfiler,
  type NamedCommand,
  validateProfileConfig,
  validateRunSettings,
} from "../../profiler.ts";
import type { Comparison } from "../../stats/comparison.ts";
import { type InvokingUser, invokingUser } from "../../process/invoking_user.ts";
import type { ProfileResult, SourceStatus } from "../../result.ts";
import { missingDerivedMetrics } from "../../derived_metrics.ts";
import {
  DEFAULT_PERF_EVENTS,
  parsePerfEventList,
} from "../../../sources/perf_event/event_catalog.ts";
import { splitShellWords } from "../shell_words.ts";
import { expandParameterScan, type ScanFlags } from "../parameter_scan.ts";
import { buildSources, machineWideSourceKinds } from "../sources.ts";
import { TaskContext } from "../../cluster/task_context.ts";
import { type OutputTarget, prepareProfileOutput } from "../output_target.ts";
import { emit, type GlobalFlags, LABELS, verbosityOf, writeStdout } from "../command_context.ts";
import type { SampleOutputs } from "../sample_outputs.ts";
import type { LiveIntervalOutput } from "../live_interval_output.ts";
import {
  applyCarbon,
  discardExports,
  type ExportFlags,
  type PreparedExports,
  prepareExports,
  writeExports,
} from "./profile_exports.ts";
import {
  type DisplayFlags,
  echoesProgramOutput,
  progressBarFor,
  progressCallback,
} from "../profile_display.ts";
import { formatCpuList } from "../../process/cpu_list.ts";
import { loadLazily } from "../../lazy_module.ts";

/** `profile` flags. */
export interface ProfileFlags extends ExportFlags, ScanFlags, DisplayFlags {
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
  killAfter: number;
  killDescendants?: boolean;
  keepDescendants?: boolean;
  idle?: number;
  command?: string[];
  commandName?: string[];
  exportMarkdown?: string;
  useRoot?: boolean;
  phaseChannel: boolean;
  /** `false` with `--no-stdout-tokens`: the program's stdout is never read. */
  stdoutTokens?: boolean;
  raplPolling?: number;
  sampleInterval?: number;
  profilerCpus?: number[];
  timeline?: string;
  samplesCsv?: string;
  /** `--energy-model FILE`. */
  energyModel?: string;
  /** `--tdp WATTS`. */
  tdp?: number;
  nodeLeader?: number;
  maxPhases?: number;
  /** `--max-samples N`: samples kept per sampled series. */
  maxSamples?: number;
  ignoreFailure?: boolean;
  initTimeout?: number;
  /** `-p`: attach to these PIDs (see `profile_attach.ts`). */
  pid?: number[];
  /** `-a`: measure the machine with no program. */
  systemWide?: boolean;
  /** `--duration` (with `-p`/`-a`). */
  duration?: number;
  /** `-I`: live intervals every this many ms. */
  intervalPrint?: number;
  /** `--interval-file`: where the `-I` lines go (default stderr). */
  intervalFile?: string;
}

/** Sampling interval used when `--timeline` or `--samples-csv` comes without `--sample-interval`. */
const DEFAULT_SAMPLE_INTERVAL_MS = 10;
/** Below this, powercap counters (updated about every 1 ms) and timers make noisy samples. */
const NOISY_SAMPLE_INTERVAL_MS = 2;

/** Expands `%j %n %r %h %p` in every file flag; refuses one all tasks of a job would share. */
function taskFileNames(task: TaskContext, global: GlobalFlags, flags: ProfileFlags): void {
  if (global.outputFile !== undefined) global.outputFile = task.fileName("-o", global.outputFile);
  if (flags.stdoutFile !== undefined) {
    flags.stdoutFile = task.fileName("--stdout-file", flags.stdoutFile);
  }
  if (flags.exportMarkdown !== undefined) {
    flags.exportMarkdown = task.fileName("--export-markdown", flags.exportMarkdown);
  }
  if (flags.timeline !== undefined) flags.timeline = task.fileName("--timeline", flags.timeline);
  if (flags.samplesCsv !== undefined) {
    flags.samplesCsv = task.fileName("--samples-csv", flags.samplesCsv);
  }
  if (flags.intervalFile !== undefined) {
    flags.intervalFile = task.fileName("--interval-file", flags.intervalFile);
  }
}

const encoder = new TextEncoder();

function writeStderrLine(line: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(`${line}\n`));
  } catch {
    // stderr closed: diagnostics are best effort.
  }
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

// Formatters are loaded when used: start-up is part of every run's cost, and a JSON
// run does not need the terminal layout's modules.

/**
 * Loads the module that will format the results, while the first run's
 * program is held (`whileHeld`): the wait for its launcher's execs then
 * takes this load's cost instead of the time after the run.
 */
function loadFormatter(format: OutputTarget["format"]): Promise<unknown> {
  // One literal specifier per call: scripts/bundle.ts turns each into an import the bundler sees.
  return format === "json"
    ? loadLazily("../../output/json.ts", import.meta.url)
    : format === "csv"
    ? loadLazily("../../output/csv.ts", import.meta.url)
    : loadLazily("../../output/terminal.ts", import.meta.url);
}

let helpersIdle = false;

/**
 * Once per process, before the first START: background compiles and garbage collection on the
 * runtime's helper threads are to take no CPU time the program wants (the figures are in
 * scheduler_slice.ts). Done while the first program is held, in the wait for its launcher's
 * execs, where its 0.5–1 ms costs no time.
 */
function idleHelpers(logger: Logger): void {
  if (helpersIdle) return;
  helpersIdle = true;
  const helpers = idleHelperThreads();
  logger.debug(
    `runtime helper threads under SCHED_IDLE: ${helpers.idle} of ${helpers.found}` +
      (helpers.reason === undefined ? "" : ` (${helpers.reason})`),
  );
}

async function render(
  target: OutputTarget,
  result: ProfileResult,
  options: { iterations: number; csvRaw?: boolean; allPhases?: boolean },
): Promise<string | Iterable<string>> {
  const forceIterations = options.iterations > 1;
  switch (target.format) {
    case "json":
      return (await loadLazily<typeof import("../../output/json.ts")>(
        "../../output/json.ts",
        import.meta.url,
      )).jsonChunks(result, forceIterations);
    case "csv":
      return (await loadLazily<typeof import("../../output/csv.ts")>(
        "../../output/csv.ts",
        import.meta.url,
      )).csvChunks(result, forceIterations, {
        rawCells: options.csvRaw,
      });
    case "terminal":
      return (await loadLazily<typeof import("../../output/terminal.ts")>(
        "../../output/terminal.ts",
        import.meta.url,
      )).terminalChunks(result, {
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
  const { comparisonDocument, totalMetricKeys } = await loadLazily<
    typeof import("../../stats/comparison.ts")
  >("../../stats/comparison.ts", import.meta.url);
  const totals = totalMetricKeys(results);
  switch (target.format) {
    case "json":
      return (await loadLazily<typeof import("../../output/json.ts")>(
        "../../output/json.ts",
        import.meta.url,
      )).multiJsonChunks(
        results,
        comparisons.map((comparison) => comparisonDocument(comparison, totals)),
      );
    case "csv": {
      const { csvChunks } = await loadLazily<typeof import("../../output/csv.ts")>(
        "../../output/csv.ts",
        import.meta.url,
      );
      return results.flatMap((result, i) => [
        ...csvChunks(result, true, {
          rawCells: options.csvRaw,
          commandName: resultLabelOf(result),
          header: i === 0,
        }),
      ]);
    }
    case "terminal": {
      const { formatComparisonTerminal, formatTerminal } = await loadLazily<
        typeof import("../../output/terminal.ts")
      >("../../output/terminal.ts", import.meta.url);
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
  const { comparisonsMarkdown, resultsMarkdown } = await loadLazily<
    typeof import("../../output/markdown.ts")
  >("../../output/markdown.ts", import.meta.url);
  const { totalMetricKeys } = await loadLazily<typeof import("../../stats/comparison.ts")>(
    "../../stats/comparison.ts",
    import.meta.url,
  );
  const parts = [resultsMarkdown(results)];
  if (comparisons.length > 0) {
    parts.push(comparisonsMarkdown(comparisons, totalMetricKeys(results)));
  }
  return `# joule-profiler results\n\n${parts.join("\n")}`;
}

/** Opens where the program's stdout goes; never the same stream as machine-readable results. */
function openProgramStdout(
  flags: ProfileFlags,
  target: OutputTarget,
  owner: InvokingUser | undefined,
  logger: Logger,
  echo: boolean,
): ByteSink {
  if (flags.stdoutFile !== undefined) {
    const file = openStreamFile(flags.stdoutFile, {
      owner,
      label: `--stdout-file '${flags.stdoutFile}'`,
    });
    // A full disk stops the copy, not the measurement: the results are still written.
    return new WriterSink(file, () => file.close(), (error) => {
      logger.warn(
        `cannot write the program's stdout to '${file.path}': ${error.message}; ` +
          "stopped copying it (the program and the measurement go on)",
      );
    });
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
      throw new UsageError(
        "missing command: give the program to profile after --, or --command " +
          "(or -p PID to attach, -a for the whole machine)",
      );
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

/**
 * Runs `profile`.
 *
 * @param global The global flags.
 * @param flags The flags of `profile`.
 * @param positional The program and its arguments (after `--`).
 * @returns The exit status: the program's (the first non-zero one of several commands).
 *
 * @example Usage
 * ```ts ignore
 * import { profileCommand } from "./profile.ts";
 * const code = await profileCommand({ verbose: 0 }, { tokenPattern: "__[A-Z]+__", iterations: 1, phaseChannel: true }, ["true"]);
 * ```
 */
export async function profileCommand(
  global: GlobalFlags,
  flags: ProfileFlags,
  positional: string[],
): Promise<number> {
  // Diagnostics during a run go above the progress bar, not into it.
  let progress: ReturnType<typeof progressBarFor>;
  const logger = new Logger(
    verbosityOf(global),
    (line) => progress === undefined ? writeStderrLine(line) : progress.printAbove(line),
  );
  logger.debug(`the CLI and the profile command are loaded, ${sinceStart()}`);
  // The token scanner's WebAssembly compiles on V8's threads while the run is set up.
  void compileByteSearchInBackground();
  // Wake-ups on tokens and at the program's exit are not to wait out a busy task's slice.
  const slice = requestShortSlice();
  logger.debug(
    slice.applied
      ? `scheduler slice of the profiler's main thread: ${(slice.sliceNs! / 1e6).toFixed(1)} ms ` +
        `(was ${(slice.previousNs! / 1e6).toFixed(1)} ms; its children keep the default)`
      : `scheduler slice left as it is: ${slice.reason}`,
  );
  // -p/-a: no program of ours; checked (PIDs included) before anything starts.
  // -p, -a (and --duration, which needs one of them): their module loads only then.
  const attach = flags.pid !== undefined || flags.systemWide || flags.duration !== undefined
    ? (await loadLazily<typeof import("./profile_attach.ts")>(
      "./profile_attach.ts",
      import.meta.url,
    ))
      .AttachMode.fromFlags({ ...global, ...flags }, positional)
    : undefined;
  // --profiler-cpus: checked against this process's CPUs before anything starts.
  const placement = flags.profilerCpus === undefined
    ? undefined
    : (await loadLazily<typeof import("../../process/cpu_placement.ts")>(
      "../../process/cpu_placement.ts",
      import.meta.url,
    )).CpuPlacement.plan(flags.profilerCpus);
  // A parameter scan: each value set is a command of its own, `{VAR}` replaced.
  const commands = attach !== undefined
    ? [{ command: attach.command }]
    : expandParameterScan(profiledCommands(flags, positional), flags);
  if (flags.killDescendants && flags.keepDescendants) {
    throw new UsageError("--kill-descendants and --keep-descendants contradict each other");
  }
  const settings = {
    warmup: flags.warmup,
    minRuns: flags.minRuns,
    minTimeSeconds: flags.minTime,
    idleSeconds: flags.idle,
    killAfterSeconds: flags.killAfter,
    descendants: flags.killDescendants
      ? "end-with-program" as const
      : flags.keepDescendants
      ? "keep" as const
      : undefined,
  };
  validateRunSettings(settings);
  let sampleIntervalMs = flags.sampleInterval;
  if (flags.intervalPrint !== undefined) {
    if (sampleIntervalMs !== undefined && sampleIntervalMs !== flags.intervalPrint) {
      throw new UsageError(
        `-I ${flags.intervalPrint} samples every ${flags.intervalPrint} ms: give --sample-interval ` +
          `the same value or leave it out (got ${sampleIntervalMs})`,
      );
    }
    sampleIntervalMs = flags.intervalPrint;
  } else if (flags.intervalFile !== undefined) {
    throw new UsageError("--interval-file goes with -I <ms>: it receives the live intervals");
  }
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
  for (const { command } of attach === undefined ? commands : []) {
    validateProfileConfig({
      command,
      tokenPattern: flags.tokenPattern,
      sampleIntervalMs,
      maxPhases: flags.maxPhases,
      maxSamples: flags.maxSamples,
    });
  }
  // Under srun/mpirun: one reader of the node's machine-wide sources, and a file per task.
  const task = TaskContext.detect({ nodeLeader: flags.nodeLeader });
  taskFileNames(task, global, flags);
  // Two outputs on one file would overwrite each other: refused before anything is written.
  refuseSharedDestinations([
    { option: "-o", path: global.outputFile ?? "-" },
    { option: "--stdout-file", path: flags.stdoutFile ?? "-" },
    { option: "--export-markdown", path: flags.exportMarkdown ?? "-" },
    { option: "--timeline", path: flags.timeline ?? "-" },
    { option: "--samples-csv", path: flags.samplesCsv ?? "-" },
    { option: "--openmetrics", path: flags.openmetrics ?? "-" },
    { option: "--interval-file", path: flags.intervalFile ?? "-" },
  ].filter((output) => output.path !== "-"));
  const target = prepareProfileOutput(
    global,
    undefined,
    task.multiTask ? `-${task.placement!.rank}` : "",
  );
  let markdown: ResultFile | undefined;
  let programStdout: ByteSink | undefined;
  const shape = { ...settings, iterations: flags.iterations, commands: commands.length };
  const echo = echoesProgramOutput(flags, shape);
  const extra: SampleOutputs = {};
  let exports: PreparedExports | undefined;
  let live: LiveIntervalOutput | undefined;
  let completed = false;
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
    exports = prepareExports(flags, commands[0]!.command);
    const profiler = new JouleProfiler();
    // Under sudo the program runs as the user who typed the command, not root.
    const runAs = flags.useRoot ? undefined : invokingUser();
    if (runAs !== undefined) {
      logger.info(`running the program as ${runAs.name} (uid ${runAs.uid}); --use-root keeps root`);
    }
    programStdout = openProgramStdout(flags, target, runAs, logger, echo);
    if (flags.intervalPrint !== undefined) {
      live = (await loadLazily<typeof import("../live_interval_output.ts")>(
        "../live_interval_output.ts",
        import.meta.url,
      )).openLiveIntervals(target.format, flags.intervalFile, runAs);
    }
    // Model files are read and checked before the sources open and the program runs.
    const estimators = flags.energyModel !== undefined || flags.tdp !== undefined
      ? await (await loadLazily<typeof import("../estimators.ts")>(
        "../estimators.ts",
        import.meta.url,
      )).buildEstimators(flags, logger)
      : undefined;
    const statuses: SourceStatus[] = [];
    // Estimators (--energy-model, --tdp) were asked for: recorded beside the sources.
    for (const estimator of estimators ?? []) {
      statuses.push({ name: estimator.name, origin: "requested", active: true });
    }
    let sources = task.selectSources(
      await buildSources(
        { ...global, ...flags, machineWide: task.nodeLeader },
        logger,
        "profile",
        statuses,
      ),
    );
    if (attach !== undefined) sources = await attach.adaptSources(sources, logger);
    for (const source of sources) {
      const origin = statuses.find((status) => status.name === source.name)?.origin;
      profiler.addSource(source, { origin });
    }
    if (!task.nodeLeader) task.leaveToLeader(machineWideSourceKinds(global));
    if (task.leftToLeader.length > 0) {
      logger.info(
        `local rank ${task.placement!.localRank} on ${task.placement!.node}: ` +
          `${task.leftToLeader.join(", ")} read by the node leader ` +
          `(local rank ${task.leaderLocalRank})`,
      );
    }
    for (const status of statuses) if (!status.active) profiler.addUnavailableSource(status);
    const sharesTerminal = echo && flags.stdoutFile === undefined &&
      target.format === "terminal" && target.destination === "stdout";
    progress = attach !== undefined
      ? undefined
      : progressBarFor(flags, shape, { echo: sharesTerminal });
    if (attach !== undefined) idleHelpers(logger);
    // -p/-a: no program of ours to place; the profiler keeps to its CPUs while it measures.
    if (attach !== undefined && placement !== undefined) {
      const moved = placement.pinProfiler();
      logger.debug(
        `the profiler's ${moved} threads on CPUs ${formatCpuList(placement.profilerCpus)}`,
      );
    }
    const results = attach !== undefined
      ? [
        await attach.measure({
          sources,
          logger,
          tokenPattern: flags.tokenPattern,
          sampleIntervalMs,
          sampleObserver: live?.intervals,
          owner: runAs,
          maxPhases: flags.maxPhases,
          maxSamples: flags.maxSamples,
          // As for a profiled command: only the terminal's full listing keeps the lower limit.
          terminalLayout: target.format === "terminal" && flags.allPhases === true,
          estimators,
          initTimeoutSeconds: flags.initTimeout,
        }),
      ]
      : await profiler.profileCommands({
        ...settings,
        commands,
        tokenPattern: flags.tokenPattern,
        iterations: flags.iterations,
        prepare: flags.prepare,
        cleanup: flags.cleanup,
        stdout: programStdout,
        stdoutTokens: flags.stdoutTokens,
        logger,
        runAs,
        phaseChannel: flags.phaseChannel,
        sampleIntervalMs,
        lineBuffered: flags.lineBuffered,
        onProgress: progressCallback(progress),
        maxPhases: flags.maxPhases,
        maxSamples: flags.maxSamples,
        // Only the terminal's full listing builds every phase's lines at once (not its summary).
        terminalLayout: target.format === "terminal" && flags.allPhases === true,
        estimators,
        // As hyperfine: a failing run stops a comparison unless --ignore-failure keeps it.
        stopOnFailure: commands.length > 1 && !flags.ignoreFailure,
        initTimeoutSeconds: flags.initTimeout,
        sampleObserver: live?.intervals,
        cpuPlacement: placement,
        whileHeld: () => {
          idleHelpers(logger);
          return loadFormatter(target.format);
        },
      });
    progress?.finish();
    // -p/-a pinned the profiler above (each program run puts it back itself: a no-op then).
    placement?.release();
    if (results.every((result) => result.runs.length === 0)) {
      throw new ProfilerError("interrupted before any run completed; no results", {
        exitCode: 130,
      });
    }
    for (const result of results) task.record(result);
    if (global.perf || global.perfEvents !== undefined || global.sources?.includes("perf")) {
      // Only for counters asked for: `--perf-events task-clock` wants no IPC.
      const asked = parsePerfEventList(global.perfEvents ?? DEFAULT_PERF_EVENTS.join(","))
        .map((event) => event.name);
      for (const { name, reason } of missingDerivedMetrics(results, asked)) {
        logger.notice(`${name} not derived: ${reason}`);
      }
    }
    const formatting = performance.now();
    await applyCarbon(exports, results);
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
      const { compareResults } = await loadLazily<typeof import("../../stats/comparison.ts")>(
        "../../stats/comparison.ts",
        import.meta.url,
      );
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
    if (extra.timeline !== undefined || extra.samplesCsv !== undefined) {
      await (await loadLazily<typeof import("../sample_outputs.ts")>(
        "../sample_outputs.ts",
        import.meta.url,
      )).writeSampleOutputs(extra, results[0]!, { logger, owner: runAs, csvRaw: global.csvRaw });
    }
    await writeExports(exports, results, { logger, owner: runAs });
    if (logger.verbosity >= 1) {
      // Two /proc reads, only when shown.
      logger.info(
        `results formatted and written in ${(performance.now() - formatting).toFixed(1)} ms; ` +
          `profiler peak RSS ${peakRssMiB()} MiB, CPU ${cpuSeconds()} s`,
      );
    }
    logger.debug(`results written, ${sinceStart()}`);
    completed = true;
    // A failed hook stopped the profile: its completed runs are written, and the status says so.
    if (results.some((result) => result.stoppedBy !== undefined)) return EXIT_PROFILER_FAILURE;
    if (flags.ignoreFailure) return 0;
    return results.find((result) => result.exitCode !== 0)?.exitCode ?? 0;
  } catch (error) {
    if (target.destination !== "stdout") target.destination.discard();
    markdown?.discard();
    extra.timeline?.discard();
    extra.samplesCsv?.discard();
    discardExports(exports);
    throw error;
  } finally {
    progress?.finish();
    programStdout?.close();
    live?.close(completed);
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
  const { formatSourcesCsv, sourcesSidecarPath } = await loadLazily<
    typeof import("../../output/csv.ts")
  >("../../output/csv.ts", import.meta.url);
  const sidecar = ResultFile.prepare(sourcesSidecarPath(target.destination.path));
  emit(
    { format: "csv", destination: sidecar },
    formatSourcesCsv(result.sources, { rawCells: options.csvRaw }),
    { ...options, label: "Sources CSV" },
  );
}
