/**
 * Figures of the performance report for live intervals (`profile -I`):
 * the profiler's CPU over a sleeping program without intervals, with
 * sampling alone at 100 ms, and with `-I 100` and `-I 10` (the minimum),
 * through the real CLI on a fake two-socket powercap tree with the default
 * process and system sources. Also how long a PID's exit takes to end a
 * `-p` measurement.
 *
 * @module
 */

import { monotonicNs } from "../../src/clock.ts";
import { MIN_LIVE_INTERVAL_MS } from "../../src/live_intervals.ts";
import { twoSocketZones, writeFakePowercap } from "../fixtures/fake_powercap.ts";
import { type Figure, median } from "./figure.ts";
import { PROFILER, RUNNING_WINDOW, runningCpuPercent } from "./running_cpu.ts";
const decoder = new TextDecoder();

/** CPU seconds (user + system) of a whole profiler run, read from its waiting shell's `cutime`. */
async function runCpuSeconds(args: string[], env: Record<string, string>): Promise<number> {
  const output = await new Deno.Command("sh", {
    args: ["-c", '"$@" >/dev/null 2>&1; cat /proc/$$/stat', "sh", ...PROFILER, ...args],
    env,
    stderr: "null",
  }).output();
  const stat = decoder.decode(output.stdout);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / 100; // cutime + cstime
}

async function fakeRaplEnv(): Promise<Record<string, string>> {
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, twoSocketZones());
  return { JOULE_PROFILER_EVENT_SOURCE_PATH: root, JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl` };
}

/**
 * The CPU cost of `-I 100` and of `-I` at its minimum.
 *
 * @param runs How many interleaved runs of each mode (the report's `--runs` / 4, 1 to 5).
 * @returns The figure.
 */
export async function liveIntervalCost(runs: number): Promise<Figure> {
  const env = await fakeRaplEnv();
  const { seconds } = RUNNING_WINDOW;
  const min = String(MIN_LIVE_INTERVAL_MS);
  const modes: Record<string, string[]> = {
    off: [],
    "sampling 100 ms": ["--sample-interval", "100"],
    "-I 100": ["-I", "100"],
    [`-I ${min}`]: ["-I", min],
  };
  const cpu: Record<string, number[]> = Object.fromEntries(
    Object.keys(modes).map((mode) => [mode, []]),
  );
  const running: Record<string, number[]> = Object.fromEntries(
    Object.keys(modes).map((mode) => [mode, []]),
  );
  for (let i = 0; i < runs; i++) {
    // Interleaved, so a noisy neighbour hits every mode alike.
    for (const [mode, flags] of Object.entries(modes)) {
      const args = ["--json", "-o", "/dev/null", "profile", ...flags];
      cpu[mode]!.push(await runCpuSeconds([...args, "--", "sleep", String(seconds)], env));
      running[mode]!.push(await runningCpuPercent(args, env));
    }
  }
  const whole = (mode: string) => (median(cpu[mode]!) - median(cpu.off!)) / seconds * 100;
  const extra = (mode: string) => median(running[mode]!) - median(running.off!);
  const { from, to } = RUNNING_WINDOW;
  return {
    name: "live intervals (-I) cost",
    measured: `+${extra("-I 100").toFixed(1)} % of one core at -I 100 while the program runs ` +
      `(sampling alone at 100 ms: +${extra("sampling 100 ms").toFixed(1)} %), ` +
      `+${extra(`-I ${min}`).toFixed(1)} % at -I ${min} (the minimum); over whole ` +
      `${seconds} s runs, start-up and results included: +${whole("-I 100").toFixed(1)} % at ` +
      `-I 100, +${whole(`-I ${min}`).toFixed(1)} % at -I ${min}`,
    target: "≤ 2 % of one core at -I 100",
    met: extra("-I 100") <= 2,
    how: `while the program runs: the profiler's own CPU time (the schedstat of each of its ` +
      `threads) from ${from} s to ${to} s after the spawn of \`profile -- sleep ${seconds}\`; ` +
      `whole runs: utime+stime of the run (10 ms ticks); -I 100, -I ${min} and ` +
      `--sample-interval 100 vs none, --json (intervals as JSON lines), fake two-socket ` +
      `powercap tree plus the default process and system sources, medians of ${runs} ` +
      `interleaved runs; the profiler with the V8 flags of \`deno task start\``,
    note: `Each interval is a sampling tick, the conversion of the newest 16 samples of every ` +
      `series (about 20 with the default sources; convertTail keeps it independent of the ` +
      `run's length) and one line written; -I 100 costs about what sampling at 100 ms costs. ` +
      `Below ${MIN_LIVE_INTERVAL_MS} ms the timer's ~1 ms lateness exceeds a tenth of the ` +
      `interval, so -I refuses it (perf stat -I also discourages under 100 ms). Until ` +
      `2026-12-06 the figure was the whole-run difference alone, with the profiler run ` +
      `without its V8 flags: 2.5 % at -I 100.`,
  };
}

/**
 * How late a `-p` measurement's END is after the attached process exits:
 * the `end_ns` of the result against the moment this process learnt of
 * the exit of its own child (both `CLOCK_MONOTONIC`).
 *
 * @param runs How many attach runs.
 * @returns The figure.
 */
export async function attachExitLatency(runs: number): Promise<Figure> {
  const env = await fakeRaplEnv();
  const lags: number[] = [];
  for (let i = 0; i < runs; i++) {
    const sleep = new Deno.Command("sleep", { args: ["1.5"] }).spawn();
    const profiler = new Deno.Command(PROFILER[0]!, {
      args: [...PROFILER.slice(1), "--json", "-o", "-", "profile", "-p", String(sleep.pid)],
      env,
      stdout: "piped",
      stderr: "null",
    }).spawn();
    await sleep.status;
    const seenNs = monotonicNs();
    const output = await profiler.output();
    const result = JSON.parse(decoder.decode(output.stdout));
    lags.push(Number(seenNs - BigInt(result.end_ns)) / 1e6);
  }
  const lag = median(lags);
  const after = -lag;
  return {
    name: "-p end at the process's exit",
    measured: `END ${Math.abs(lag).toFixed(2)} ms ${lag >= 0 ? "before" : "after"} the ` +
      `parent's own wait for the exit returned (median of ${runs})`,
    target: "≤ 5 ms after the parent's wait",
    met: after <= 5,
    how: "profile -p on a sleep 1.5 started by the bench: the result's end_ns vs CLOCK_MONOTONIC " +
      "when the bench's await of the child's status returned",
    note: "END is taken when the pidfd becomes readable (a blocking poll in the runtime's " +
      "thread pool), not by polling: the profiler learns of the exit about when the parent " +
      "itself does.",
  };
}
