/**
 * The `joule-profiler` command line.
 *
 * @module
 */

import { Command, CommanderError, Option } from "commander";
import denoConfig from "../../deno.json" with { type: "json" };
import { EXIT_PROFILER_FAILURE, EXIT_USAGE, ProfilerError, UsageError } from "../errors.ts";
import { Logger, type Verbosity } from "../logger.ts";
import { formatCsv, formatSensorsCsv } from "../output/csv.ts";
import { formatJson, formatSensorsJson } from "../output/json.ts";
import { formatSensorsTerminal, formatTerminal } from "../output/terminal.ts";
import { DEFAULT_TOKEN_PATTERN } from "../phase/token_pattern.ts";
import { WriterSink } from "../process/byte_sink.ts";
import { JouleProfiler } from "../profiler.ts";
import type { ProfileResult } from "../result.ts";
import type { Sensor } from "../source.ts";
import { buildSources, parseGpuList, type SourceFlags } from "./sources.ts";
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
}

/** `profile` flags. */
interface ProfileFlags {
  tokenPattern: string;
  stdoutFile?: string;
  iterations: number;
}

const encoder = new TextEncoder();

function writeStdout(text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += Deno.stdout.writeSync(bytes.subarray(offset));
}

function positiveInteger(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
      throw new UsageError(`${name} must be a positive integer, got '${value}'`);
    }
    return Number(value);
  };
}

function countVerbosity(_value: string, previous: number): number {
  return previous + 1;
}

function verbosityOf(flags: GlobalFlags): Verbosity {
  return Math.min(flags.verbose, 3) as Verbosity;
}

function emit(target: OutputTarget, text: string, logger: Logger, label: string): void {
  if (target.destination === "stdout") {
    writeStdout(text);
    return;
  }
  target.destination.commit(text);
  logger.notice(`${label} written to: ${target.destination.path}`);
}

function render(target: OutputTarget, result: ProfileResult, iterations: number): string {
  const forceIterations = iterations > 1;
  switch (target.format) {
    case "json":
      return formatJson(result, forceIterations);
    case "csv":
      return formatCsv(result, forceIterations);
    case "terminal":
      return formatTerminal(result, { color: target.destination === "stdout" ? undefined : false });
  }
}

function renderSensors(target: OutputTarget, sensors: Sensor[]): string {
  switch (target.format) {
    case "json":
      return formatSensorsJson(sensors);
    case "csv":
      return formatSensorsCsv(sensors);
    case "terminal":
      return formatSensorsTerminal(sensors, {
        color: target.destination === "stdout" ? undefined : false,
      });
  }
}

const LABELS = { json: "JSON", csv: "CSV", terminal: "Results" } as const;

/** Opens where the program's stdout goes; never the same stream as machine-readable results. */
function openProgramStdout(flags: ProfileFlags, target: OutputTarget): WriterSink {
  if (flags.stdoutFile !== undefined) {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(flags.stdoutFile, { write: true, create: true, truncate: true });
    } catch (error) {
      throw new UsageError(
        `cannot write --stdout-file '${flags.stdoutFile}': ${(error as Error).message}`,
      );
    }
    return new WriterSink(file, () => file.close());
  }
  if (target.destination === "stdout" && target.format !== "terminal") {
    return new WriterSink(Deno.stderr);
  }
  return new WriterSink(Deno.stdout);
}

async function profileCommand(
  global: GlobalFlags,
  flags: ProfileFlags,
  command: string[],
): Promise<number> {
  const logger = new Logger(verbosityOf(global));
  const target = prepareProfileOutput(global);
  let programStdout: WriterSink | undefined;
  try {
    const profiler = new JouleProfiler();
    for (const source of await buildSources(global, logger, "profile")) profiler.addSource(source);
    programStdout = openProgramStdout(flags, target);
    const result = await profiler.profile({
      command,
      tokenPattern: flags.tokenPattern,
      iterations: flags.iterations,
      stdout: programStdout,
      logger,
    });
    if (result.runs.length === 0) {
      throw new ProfilerError("interrupted before any run completed; no results", {
        exitCode: 130,
      });
    }
    const text = render(target, result, flags.iterations);
    // The program's last line may lack its newline: start the results on a fresh line.
    const sharesStdout = target.destination === "stdout" && flags.stdoutFile === undefined &&
      target.format === "terminal";
    emit(
      target,
      sharesStdout && !programStdout.atLineStart ? `\n${text}` : text,
      logger,
      LABELS[target.format],
    );
    return result.exitCode;
  } catch (error) {
    if (target.destination !== "stdout") target.destination.discard();
    throw error;
  } finally {
    programStdout?.close();
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
    emit(target, renderSensors(target, sensors), logger, LABELS[target.format]);
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
      "-o, --output-file <path>",
      "results file ('-' for stdout); default data<TIMESTAMP>.json|csv for --json/--csv, " +
        "stdout for the terminal layout",
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
    .usage("[options] -- <command> [args...]")
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
    .argument("[command...]", "the program to profile and its arguments, after --")
    .passThroughOptions()
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .action((command: string[], flags: ProfileFlags) => {
      if (command.length === 0) {
        throw new UsageError("missing command: give the program to profile after --");
      }
      done(profileCommand(program.opts<GlobalFlags>(), flags, command));
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
    if (arg === "profile" || arg === "list-sensors") break;
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
