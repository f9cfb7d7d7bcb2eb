/**
 * `--prepare` / `--cleanup`: shell commands run around each run, outside
 * the measurement.
 *
 * @module
 */

import { ProfilerError } from "../errors.ts";
import type { InvokingUser } from "./invoking_user.ts";
import { shellLauncher } from "./program_process.ts";

/** Where and as whom a hook runs. */
export interface HookOptions {
  /** Which hook, for messages (`--prepare`, `--cleanup`). */
  label: string;
  /** Working directory (the program's). */
  cwd?: string;
  /** Extra environment (the program's). */
  env?: Record<string, string>;
  /** Run as this user (the same as the program). */
  runAs?: InvokingUser;
}

/**
 * A `--prepare` or `--cleanup` hook that failed or could not start (exit 125).
 *
 * @example Usage
 * ```ts
 * import { HookError } from "./hook_command.ts";
 * const error = new HookError("--cleanup 'false' exited with code 1; profile stopped");
 * console.log(error.name); // "HookError"
 * ```
 */
export class HookError extends ProfilerError {
  /**
   * Creates the error.
   *
   * @param message One line naming the hook and how it failed.
   * @param options The standard `cause`.
   */
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options);
    this.name = "HookError";
  }
}

/**
 * Runs a hook through `/bin/sh -c`, its stdout sent to stderr so it never
 * mixes with results written to stdout. A hook that fails stops the
 * profile: runs after a failed `--prepare` would measure an unprepared
 * state.
 *
 * @param command Shell command line.
 * @param options Label, working directory, environment, user.
 * @throws {ProfilerError} When the hook exits non-zero or cannot start.
 *
 * @example Usage
 * ```ts
 * import { runHook } from "./hook_command.ts";
 * await runHook("sync", { label: "--prepare" });
 * ```
 */
export async function runHook(command: string, options: HookOptions): Promise<void> {
  const start = shellLauncher(options.runAs);
  let status: Deno.CommandStatus;
  try {
    status = await new Deno.Command(start.program, {
      args: [...start.prefix, "-c", `exec 1>&2\n${command}`],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
      cwd: options.cwd,
      env: { ...options.env, ...start.env },
      uid: start.uid,
      gid: start.gid,
    }).spawn().status;
  } catch (error) {
    throw new HookError(
      `${options.label} '${command}' could not start: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (!status.success) {
    const how = status.signal === null
      ? `exited with code ${status.code}`
      : `was killed by ${status.signal}`;
    throw new HookError(`${options.label} '${command}' ${how}; profile stopped`);
  }
}
