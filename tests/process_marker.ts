/**
 * Finding the processes of one test run: every process the run starts
 * inherits a marker variable, searched for in `/proc/<pid>/environ`.
 *
 * @module
 */

/** The environment variable that marks a run's processes. */
export const MARKER_VARIABLE = "JOULE_PROFILER_TEST_MARKER";

/**
 * A fresh marker value.
 *
 * @param label Readable prefix (e.g. the test or case).
 * @returns A value no other run uses.
 */
export function newMarker(label: string): string {
  return `${label}-${crypto.randomUUID()}`;
}

/**
 * The live processes (zombies excluded) whose environment holds the marker.
 *
 * @param marker The marker value.
 * @param except Pids to leave out (e.g. a profiler still running).
 * @returns Their pids and command lines.
 */
export function markedProcesses(
  marker: string,
  except: number[] = [],
): { pid: number; command: string }[] {
  const needle = `\0${MARKER_VARIABLE}=${marker}\0`;
  const found: { pid: number; command: string }[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid === Deno.pid || except.includes(pid)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const state = stat.charAt(stat.lastIndexOf(")") + 2);
      if (state === "Z" || state === "X") continue;
      const environ = `\0${Deno.readTextFileSync(`/proc/${pid}/environ`)}`;
      if (!environ.includes(needle)) continue;
      const command = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim();
      found.push({ pid, command });
    } catch {
      // Gone while looked at, or not ours to read.
    }
  }
  return found;
}

/**
 * Waits until no live process holds the marker, or `timeoutMs` passes.
 *
 * @param marker The marker value.
 * @param timeoutMs The longest wait.
 * @returns What is still there at the end (empty when all are gone).
 */
export async function waitUntilNoneMarked(
  marker: string,
  timeoutMs: number,
): Promise<{ pid: number; command: string }[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const left = markedProcesses(marker);
    if (left.length === 0 || performance.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Waits until at least `count` processes hold the marker: a program can print
 * its token before the processes it starts have exec'd (and before then
 * their environment is not readable).
 *
 * @param marker The marker value.
 * @param count How many to wait for.
 * @param timeoutMs How long at most.
 * @param except Pids to leave out.
 * @returns Those found last.
 */
export async function waitUntilMarked(
  marker: string,
  count: number,
  timeoutMs: number,
  except: number[] = [],
): Promise<{ pid: number; command: string }[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const found = markedProcesses(marker, except);
    if (found.length >= count || performance.now() >= deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * SIGKILLs every process holding the marker (test clean-up).
 *
 * @param marker The marker value.
 */
export function killMarked(marker: string): void {
  for (const { pid } of markedProcesses(marker)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}
