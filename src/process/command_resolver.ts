/**
 * Finding the program to run before anything is spawned.
 *
 * @module
 */

import {
  CommandNotFoundError,
  EXIT_NOT_EXECUTABLE,
  EXIT_NOT_FOUND,
  UsageError,
} from "../errors.ts";
import { cString, errno, libc } from "../ffi/libc.ts";

const X_OK = 1;

/** Options of {@linkcode resolveCommand}. */
export interface ResolveOptions {
  /** Search path; defaults to `$PATH`, or `/usr/local/bin:/usr/bin:/bin` when unset. */
  path?: string;
  /** Directory relative names are resolved against; defaults to the cwd. */
  cwd?: string;
}

/**
 * Resolves a command like `execvp(3)` does: a name containing `/` is used as
 * is, otherwise each `$PATH` entry is tried in order. Executability is
 * checked with `access(X_OK)`, so mount flags and ACLs count.
 *
 * @param command The command as the user typed it.
 * @param options Search path and working directory.
 * @returns The path that will be executed.
 * @throws {CommandNotFoundError} 127 when nothing matches, 126 when the only
 * matches are not executable or are directories.
 *
 * @example Usage
 * ```ts
 * import { resolveCommand } from "./command_resolver.ts";
 * console.log(resolveCommand("sh")); // e.g. "/usr/bin/sh"
 * ```
 */
export function resolveCommand(command: string, options: ResolveOptions = {}): string {
  if (command.length === 0) throw new UsageError("the command to profile is an empty string");
  if (command.includes("/")) {
    const problem = checkCandidate(command, options.cwd);
    if (problem === undefined) return command;
    throw new CommandNotFoundError(
      command,
      problem,
      problem === "no such file" ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE,
    );
  }
  const searchPath = options.path ?? Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
  let denied: string | undefined;
  for (const directory of searchPath.split(":")) {
    const candidate = `${directory === "" ? "." : directory}/${command}`;
    const problem = checkCandidate(candidate, options.cwd);
    if (problem === undefined) return candidate;
    if (problem !== "no such file") denied ??= `${candidate}: ${problem}`;
  }
  if (denied !== undefined) {
    throw new CommandNotFoundError(
      command,
      `found but cannot be run (${denied})`,
      EXIT_NOT_EXECUTABLE,
    );
  }
  throw new CommandNotFoundError(command, "command not found on PATH", EXIT_NOT_FOUND);
}

/** Returns why `path` cannot be executed, or `undefined` when it can. */
function checkCandidate(path: string, cwd: string | undefined): string | undefined {
  const absolute = path.startsWith("/") || cwd === undefined ? path : `${cwd}/${path}`;
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(absolute);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "no such file";
    if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
    if (error instanceof Deno.errors.NotADirectory) return "no such file";
    throw error;
  }
  if (info.isDirectory) return "is a directory";
  if (libc().access(cString(absolute), X_OK) !== 0) {
    return errno() === 13 ? "permission denied (not executable)" : "cannot be executed";
  }
  return undefined;
}
