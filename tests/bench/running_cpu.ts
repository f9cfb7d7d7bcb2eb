/**
 * The profiler's own CPU while the program runs, for the performance
 * report's rate figures (sampling, live intervals): the CPU time of each of
 * the profiler's threads, read from `/proc/<pid>/task/<tid>/schedstat`
 * (nanoseconds; `stat`'s utime and stime count whole 10 ms ticks) over a
 * window that leaves out the start-up, V8's optimizing of the first ticks,
 * END and the writing of the results. The program is another process: its
 * time is not counted.
 *
 * @module
 */

import { monotonicNs } from "../../src/clock.ts";
import { PROFILER_V8_FLAGS, REPO_ROOT } from "../helpers.ts";

/** The V8 flags `deno task start` and the release binary run the profiler with. */
export const V8_FLAGS: string = PROFILER_V8_FLAGS;

/** The profiler's command line, as `deno task start` runs it. */
export const PROFILER: readonly string[] = [
  Deno.execPath(),
  "run",
  "-A",
  V8_FLAGS,
  `${REPO_ROOT}main.ts`,
];

/**
 * CPU time (ns) so far of every thread of a process. A thread that ended
 * takes its time with it: the runtime's threads live as long as the process.
 *
 * @param pid The process.
 * @returns Nanoseconds.
 */
export function threadsCpuNs(pid: number): number {
  let total = 0;
  for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const text = Deno.readTextFileSync(`/proc/${pid}/task/${entry.name}/schedstat`);
      total += Number(text.slice(0, text.indexOf(" ")));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return total;
}

/** Length of the profiled `sleep` and the window measured within it, seconds after the spawn. */
export interface RunningWindow {
  seconds: number;
  from: number;
  to: number;
}

/** The default window: 1 s to 3.5 s into a 4 s `sleep`. */
export const RUNNING_WINDOW: RunningWindow = { seconds: 4, from: 1, to: 3.5 };

/**
 * The profiler's CPU, % of one core, while it profiles `sleep`.
 *
 * @param args The profiler's arguments before `-- sleep N` (e.g. `["--json", "-o",
 * "/dev/null", "profile", "-I", "100"]`).
 * @param env Its environment (fake counters).
 * @param window The run's length and the window.
 * @returns % of one core over the window.
 * @throws {Error} When the profiler fails.
 */
export async function runningCpuPercent(
  args: string[],
  env: Record<string, string>,
  window: RunningWindow = RUNNING_WINDOW,
): Promise<number> {
  const child = new Deno.Command(PROFILER[0]!, {
    args: [...PROFILER.slice(1), ...args, "--", "sleep", String(window.seconds)],
    env,
    stdout: "null",
    stderr: "null",
  }).spawn();
  const spawned = monotonicNs();
  const until = (seconds: number) => {
    const left = seconds * 1000 - Number(monotonicNs() - spawned) / 1e6;
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, left)));
  };
  await until(window.from);
  const before = threadsCpuNs(child.pid);
  const t0 = monotonicNs();
  await until(window.to);
  const used = threadsCpuNs(child.pid) - before;
  const seconds = Number(monotonicNs() - t0) / 1e9;
  const status = await child.status;
  if (!status.success) throw new Error(`joule-profiler ${args.join(" ")} -- sleep failed`);
  return used / 1e9 / seconds * 100;
}
