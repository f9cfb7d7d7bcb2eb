/**
 * Error classes shared by the library and the CLI.
 *
 * Every error the profiler raises on purpose extends {@linkcode ProfilerError}
 * and carries the process exit code the CLI should use, so user mistakes end
 * with one line and a distinct status while real bugs keep their stack.
 *
 * @module
 */

/** Exit code for mistakes in the command line (bad flag, bad regex, ...). */
export const EXIT_USAGE = 2;
/** Exit code when the profiler itself fails (a source, an output file, ...). */
export const EXIT_PROFILER_FAILURE = 125;
/** Exit code when the command exists but cannot be executed. */
export const EXIT_NOT_EXECUTABLE = 126;
/** Exit code when the command cannot be found. */
export const EXIT_NOT_FOUND = 127;

/**
 * Base class of every error the profiler raises on purpose.
 *
 * @example Usage
 * ```ts
 * import { ProfilerError } from "./errors.ts";
 * const err = new ProfilerError("counter vanished");
 * console.log(err.exitCode); // 125
 * ```
 */
export class ProfilerError extends Error {
  /** Exit status the CLI uses when this error ends a run. */
  readonly exitCode: number;

  /**
   * Creates the error.
   *
   * @param message One line saying what went wrong.
   * @param options `exitCode` (default 125) and the standard `cause`.
   */
  constructor(message: string, options: ErrorOptions & { exitCode?: number } = {}) {
    super(message, options);
    this.name = "ProfilerError";
    this.exitCode = options.exitCode ?? EXIT_PROFILER_FAILURE;
  }
}

/**
 * A mistake in what the user asked for: printed as one line, exit code 2.
 *
 * @example Usage
 * ```ts
 * import { UsageError } from "./errors.ts";
 * const error = new UsageError("--iterations must be a positive integer, got '0'");
 * console.log(error.exitCode); // 2
 * ```
 */
export class UsageError extends ProfilerError {
  /**
   * Creates the error (exit code 2).
   *
   * @param message One line naming what was wrong.
   * @param options The standard `cause`.
   */
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, exitCode: EXIT_USAGE });
    this.name = "UsageError";
  }
}

/**
 * The command to profile could not be found or executed (exit 127 or 126).
 *
 * @example Usage
 * ```ts
 * import { CommandNotFoundError } from "./errors.ts";
 * const err = new CommandNotFoundError("nosuchprog", "not found on PATH", 127);
 * console.log(err.message); // "nosuchprog: not found on PATH"
 * ```
 */
export class CommandNotFoundError extends ProfilerError {
  /** The command as the user typed it. */
  readonly command: string;

  /**
   * Creates the error.
   *
   * @param command The command as typed.
   * @param reason Why it cannot run.
   * @param exitCode 127 (not found) or 126 (not executable).
   */
  constructor(command: string, reason: string, exitCode: number) {
    super(`${command}: ${reason}`, { exitCode });
    this.name = "CommandNotFoundError";
    this.command = command;
  }
}

/**
 * A metric source failed (to open, to read, to convert).
 *
 * @example Usage
 * ```ts
 * import { SourceError } from "./errors.ts";
 * const error = new SourceError("NVML", "nvmlInit_v2 failed: Driver Not Loaded");
 * console.log(error.message); // "NVML: nvmlInit_v2 failed: Driver Not Loaded"
 * ```
 */
export class SourceError extends ProfilerError {
  /** Name of the source that failed. */
  readonly source: string;

  /**
   * Creates the error; the message is prefixed with the source's name.
   *
   * @param source The source's name.
   * @param message What failed.
   */
  constructor(source: string, message: string, options: ErrorOptions = {}) {
    super(`${source}: ${message}`, options);
    this.name = "SourceError";
    this.source = source;
  }
}
