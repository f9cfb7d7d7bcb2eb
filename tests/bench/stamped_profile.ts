/**
 * Runs `profile --json` on a program that stamps its tokens on stderr, with
 * the profiler's stderr (which the program inherits) in a file, as the
 * yardsticks' programs write theirs. Through a pipe to the report, each
 * stamp would wake the report's process just as the profiler wakes for the
 * same token, and on a 2-vCPU VM the two would compete for the other core.
 *
 * @module
 */

import { PROFILER } from "./running_cpu.ts";

/** One phase of the JSON result, as the latency figures read it. */
export interface StampedBoundary {
  /** The token that ended the phase. */
  end_token: string;
  /** Its start, ns (CLOCK_MONOTONIC). */
  start_ns: number;
  /** Its end, ns (CLOCK_MONOTONIC): the boundary's time. */
  end_ns: number;
  /** Its length. */
  duration_ms: number;
}

/** Options of {@linkcode profileStamped}. */
export interface StampedProfileOptions {
  /** Environment added to the profiler's. */
  env?: Record<string, string>;
  /**
   * The program's stdout: to `profile --stdout-file /dev/null` (`"file"`),
   * or to the profiler's own stdout, opened on /dev/null (`"null"`).
   */
  programStdout: "file" | "null";
  /** More `profile` flags, before `--`. */
  profileFlags?: readonly string[];
}

/**
 * Runs the profiler as `deno task start` does and returns its phases, the
 * run's duration and the program's stderr.
 *
 * @param program The program and its arguments.
 * @param options Where output goes, environment and flags.
 * @returns The phases, the program's stderr and `duration_ms`.
 *
 * @example Usage
 * ```ts ignore
 * import { profileStamped } from "./stamped_profile.ts";
 * const { phases, stderr } = await profileStamped(["./phases", "20", "1"], { programStdout: "null" });
 * ```
 */
export async function profileStamped(
  program: readonly string[],
  options: StampedProfileOptions,
): Promise<{ phases: StampedBoundary[]; stderr: string; durationMs: number }> {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  const err = await Deno.makeTempFile();
  const words = [
    ...PROFILER,
    "--json",
    "-o",
    file,
    "profile",
    ...(options.programStdout === "file" ? ["--stdout-file", "/dev/null"] : []),
    ...(options.profileFlags ?? []),
    "--",
    ...program,
  ].map(shellWord).join(" ");
  try {
    const output = await new Deno.Command("sh", {
      args: ["-c", `${words} >/dev/null 2>${shellWord(err)}`],
      env: { NO_COLOR: "1", ...options.env },
      stdout: "null",
      stderr: "null",
    }).output();
    const stderr = await Deno.readTextFile(err);
    if (!output.success) throw new Error(`${program.join(" ")} failed under profile: ${stderr}`);
    const document = JSON.parse(await Deno.readTextFile(file));
    return { phases: document.phases, stderr, durationMs: document.duration_ms };
  } finally {
    await Deno.remove(err).catch(() => {});
    await Deno.remove(file).catch(() => {});
  }
}

/** `word` quoted for sh: single quotes, each one inside closed, escaped and reopened. */
function shellWord(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
