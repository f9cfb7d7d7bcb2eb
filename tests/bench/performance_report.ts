/**
 * Measures the profiler's own cost, side by side with reference tools in
 * the same run, and writes `docs/PERFORMANCE.md`. Run with
 * `deno task bench` (after the micro-benchmarks) or directly:
 * `deno run -A tests/bench/performance_report.ts [--runs N] [--idle-seconds S]`.
 *
 * Figures on shared VMs are noisy: everything is a median (or a ratio of
 * medians) of interleaved runs, never a single absolute time.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { monotonicNs } from "../../src/clock.ts";
import { SourceOrchestrator } from "../../src/orchestrator.ts";
import type { Source } from "../../src/source.ts";
import { PerfRaplSource, planPerfRaplCounters } from "../../sources/rapl/perf_rapl_source.ts";
import { discoverPowerPmu } from "../../sources/rapl/power_pmu.ts";
import { compileC, REPO_ROOT } from "../helpers.ts";
import { twoSocketZones, writeFakePowercap, writeFakePowerPmu } from "../fixtures/fake_powercap.ts";
import { PerfEventSource } from "../../sources/perf_event/mod.ts";
import { phaseChannelFigures } from "./phase_channel_figures.ts";
import { startupFigures } from "./startup_figures.ts";
import { processSourceFigures } from "./process_source_figures.ts";
import { mergeScaleFigure } from "./merge_figures.ts";
import { twoSocketPowercapSource } from "./fake_rapl_sources.ts";
import { type Figure, median, percentile } from "./figure.ts";

const { values: options } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "20" },
    "idle-seconds": { type: "string", default: "30" },
    output: { type: "string", default: `${REPO_ROOT}docs/PERFORMANCE.md` },
  },
});
const RUNS = Number(options.runs);
const IDLE_SECONDS = Number(options["idle-seconds"]);
const V8_FLAGS = "--v8-flags=--max-semi-space-size=4";
const PROFILER = [Deno.execPath(), "run", "-A", V8_FLAGS, `${REPO_ROOT}main.ts`];

const decoder = new TextDecoder();

/** Wall time of a command, ms, measured on CLOCK_MONOTONIC around spawn-to-exit. */
async function wallMs(command: string[], env: Record<string, string> = {}): Promise<number> {
  const start = monotonicNs();
  const output = await new Deno.Command(command[0]!, {
    args: command.slice(1),
    stdout: "null",
    stderr: "null",
    env,
  }).output();
  const elapsed = Number(monotonicNs() - start) / 1e6;
  if (!output.success) throw new Error(`${command.join(" ")} failed (${output.code})`);
  return elapsed;
}

async function run(
  command: string[],
  env: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string }> {
  const output = await new Deno.Command(command[0]!, {
    args: command.slice(1),
    env: { NO_COLOR: "1", ...env },
  }).output();
  const stderr = decoder.decode(output.stderr);
  if (!output.success) throw new Error(`${command.join(" ")} failed: ${stderr}`);
  return { stdout: decoder.decode(output.stdout), stderr };
}

async function noRaplEnv(): Promise<Record<string, string>> {
  const empty = await Deno.makeTempDir();
  return { JOULE_PROFILER_EVENT_SOURCE_PATH: empty, JOULE_PROFILER_RAPL_PATH: empty };
}

interface Boundary {
  end_token: string;
  start_ns: number;
  end_ns: number;
  duration_ms: number;
}

/** Runs `profile` on a program and returns its JSON phases and the program's stderr. */
async function profileJson(
  program: string[],
  env: Record<string, string>,
  globalFlags: string[] = [],
  discardOutput = false,
): Promise<{ phases: Boundary[]; stderr: string; durationMs: number }> {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  const profile = ["profile", ...(discardOutput ? ["--stdout-file", "/dev/null"] : []), "--"];
  const { stderr } = await run(
    [...PROFILER, ...globalFlags, "--json", "-o", file, ...profile, ...program],
    env,
  );
  const document = JSON.parse(await Deno.readTextFile(file));
  return { phases: document.phases, stderr, durationMs: document.duration_ms };
}

/** The `token i <ns>`, `main <ns>`, `exit <ns>` lines examples/programs/phases.c writes. */
function programStamps(stderr: string): { tokens: number[]; main: number; exit: number } {
  const tokens: number[] = [];
  let main = 0;
  let exit = 0;
  for (const line of stderr.split("\n")) {
    const [kind, a, b] = line.split(" ");
    if (kind === "token") tokens[Number(a)] = Number(b);
    if (kind === "main") main = Number(a);
    if (kind === "exit") exit = Number(a);
  }
  return { tokens, main, exit };
}

async function fixedOverhead(): Promise<Figure> {
  const env = await noRaplEnv();
  const commands: Record<string, string[]> = {
    true: ["true"],
    "perf stat": ["perf", "stat", "-e", "task-clock", "-x,", "-o", "/dev/null", "true"],
    "deno (empty script)": [
      Deno.execPath(),
      "run",
      "-A",
      V8_FLAGS,
      `${REPO_ROOT}tests/bench/empty.ts`,
    ],
    "joule-profiler --version": [...PROFILER, "--version"],
    "joule-profiler": [...PROFILER, "--json", "-o", "/dev/null", "profile", "--", "true"],
  };
  const times: Record<string, number[]> = Object.fromEntries(
    Object.keys(commands).map((k) => [k, []]),
  );
  for (let i = 0; i < RUNS; i++) {
    for (const [name, command] of Object.entries(commands)) {
      times[name]!.push(await wallMs(command, env));
    }
  }
  const medians = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const ratio = medians["joule-profiler"]! / medians["perf stat"]!;
  return {
    name: "fixed overhead",
    measured: `${medians["joule-profiler"]!.toFixed(1)} ms vs perf stat ` +
      `${medians["perf stat"]!.toFixed(1)} ms (${ratio.toFixed(1)} ×); true ` +
      `${medians.true!.toFixed(1)} ms; Deno running an empty script ` +
      `${medians["deno (empty script)"]!.toFixed(1)} ms; \`joule-profiler --version\` ` +
      `${medians["joule-profiler --version"]!.toFixed(1)} ms`,
    target: "≤ 2 × perf stat (goal 1.5 ×)",
    met: ratio <= 2,
    how: `wall time of \`profile -- true\`, \`perf stat -e task-clock true\`, \`true\`, medians ` +
      `of ${RUNS} interleaved runs`,
    note: "Missed by far: most of it is start-up before any profiling. Deno starts in the " +
      "empty-script time; loading the CLI (`--version`) adds the module graph (see the " +
      "start-up figures). Formatters, NVML, perf_event and doctor are " +
      "loaded only when used. The profiled window itself is not affected: START is taken " +
      "after all of this (see the window overhead). A compiled binary (`deno task compile`) " +
      "embeds the modules and skips resolution, but still starts the runtime.",
  };
}

async function windowOverhead(program: string): Promise<Figure> {
  const env = await noRaplEnv();
  const gaps: number[] = [];
  const before: number[] = [];
  const after: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { phases, stderr } = await profileJson([program, "0", "0"], env, [], true);
    const stamps = programStamps(stderr);
    const startNs = phases[0]!.start_ns;
    const endNs = phases.at(-1)!.end_ns;
    gaps.push((endNs - startNs - (stamps.exit - stamps.main)) / 1e6);
    before.push((stamps.main - startNs) / 1e6);
    after.push((endNs - stamps.exit) / 1e6);
  }
  const gap = median(gaps);
  return {
    name: "window overhead",
    measured: `${gap.toFixed(3)} ms (START→main ${median(before).toFixed(3)} ms, ` +
      `exit→END ${median(after).toFixed(3)} ms)`,
    target: "≤ 1 ms",
    met: gap <= 1,
    how: `START→END of a static C program minus its own main()→exit() time ` +
      `(CLOCK_MONOTONIC both), median of ${RUNS} runs`,
    note: "Missed: START→main is the kernel's exec and the program's own start (the profiler " +
      "releases the program and takes START before it); exit→END is how long the end of " +
      "the program's output takes to reach JavaScript plus the check that the process is " +
      "gone. In a small script Deno delivers that end of output 0.2–0.5 ms after the exit; " +
      "inside the profiler it takes longer (1–4 ms in these runs), a delay of the runtime's " +
      "event loop whose cause was not pinned down. It only delays END: the last phase " +
      "looks that much longer than the program's own last stretch.",
  };
}

/** How fast Deno itself reads a child's stdout (BYOB, 64 KiB), MiB/s: the floor under the profiler. */
async function denoPipeReadMiBs(generator: string, mib: number): Promise<number> {
  const start = monotonicNs();
  const child = new Deno.Command(generator, { args: ["lines", String(mib)], stdout: "piped" })
    .spawn();
  const reader = child.stdout.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(65536);
  for (;;) {
    const { value, done } = await reader.read(new Uint8Array(buffer));
    if (done || value === undefined) break;
    buffer = value.buffer;
  }
  await child.status;
  return mib / (Number(monotonicNs() - start) / 1e9);
}

/** When Deno itself sees each token line the program stamped, µs: the floor under the latency. */
async function denoArrivalLatency(program: string): Promise<number[]> {
  const err = await Deno.makeTempFile();
  const child = new Deno.Command("sh", {
    args: ["-c", `"${program}" 2000 1 2>"${err}"`],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(65536);
  const arrivals: number[] = [];
  for (;;) {
    const { value, done } = await reader.read(new Uint8Array(buffer));
    const now = Number(monotonicNs());
    if (done || value === undefined) break;
    for (const byte of value) if (byte === 10) arrivals.push(now);
    buffer = value.buffer;
  }
  await child.status;
  const { tokens } = programStamps(await Deno.readTextFile(err));
  return tokens.map((written, i) => (arrivals[i]! - written) / 1000);
}

async function passthrough(generator: string): Promise<Figure> {
  const env = await noRaplEnv();
  const mib = 200;
  const catMs: number[] = [];
  const profiledMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    catMs.push(await wallMs(["sh", "-c", `"${generator}" lines ${mib} | cat > /dev/null`]));
    // The profiler's start-up is the fixed overhead above; here the run itself counts.
    profiledMs.push(
      (await profileJson([generator, "lines", String(mib)], env, [], true)).durationMs,
    );
  }
  const ratio = median(catMs) / median(profiledMs);
  const floor = median([
    await denoPipeReadMiBs(generator, mib),
    await denoPipeReadMiBs(generator, mib),
    await denoPipeReadMiBs(generator, mib),
  ]);
  return {
    note: `Deno alone, reading the same output and doing nothing with it, reached ` +
      `${floor.toFixed(0)} MiB/s (${(floor / (mib / median(catMs) * 1000) * 100).toFixed(0)} % ` +
      `of cat) in this run: the stream layer is the floor. On top of it the profiler scans ` +
      `every byte (lines are counted four bytes at a time; only lines holding the pattern's ` +
      `prefix are decoded) and writes the bytes on, on one thread.`,
    name: "stdout passthrough",
    measured: `${(mib / median(profiledMs) * 1000).toFixed(0)} MiB/s vs cat ` +
      `${(mib / median(catMs) * 1000).toFixed(0)} MiB/s (${(ratio * 100).toFixed(0)} %)`,
    target: "≥ 90 % of the cat pipe",
    met: ratio >= 0.9,
    how: `${mib} MiB of ~100-byte lines with a token every 1,000 lines: generator → profile ` +
      `(START→END) vs generator | cat, medians of 3`,
  };
}

async function tokenLatency(program: string): Promise<Figure> {
  const env = await noRaplEnv();
  const { phases, stderr } = await profileJson([program, "2000", "1"], env, [], true);
  const stamps = programStamps(stderr);
  const latencies = stamps.tokens.map((written, i) => (phases[i]!.end_ns - written) / 1000);
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const floor = await denoArrivalLatency(program);
  return {
    note: `Deno alone, timing when each token line reaches JavaScript, saw p50 ` +
      `${percentile(floor, 50).toFixed(1)} µs and p99 ${percentile(floor, 99).toFixed(1)} µs ` +
      `in this run: most of the latency is the runtime's delivery of pipe data to the event ` +
      `loop, and the tail follows the machine's load (these VMs are shared).`,
    name: "token → measurement latency",
    measured: `p50 ${p50.toFixed(1)} µs, p99 ${p99.toFixed(1)} µs (max ${
      Math.max(...latencies).toFixed(0)
    } µs)`,
    target: "p50 ≤ 30 µs, p99 ≤ 250 µs",
    met: p50 <= 30 && p99 <= 250,
    how: "a C program stamps CLOCK_MONOTONIC as it writes each of 2,000 tokens 1 ms apart; " +
      "latency = the boundary's time in the JSON minus that stamp",
  };
}

async function durationFidelity(program: string): Promise<Figure> {
  const env = await noRaplEnv();
  const maes: number[] = [];
  let worst = 0;
  for (let run = 0; run < 3; run++) {
    const { phases, stderr } = await profileJson([program, "40", "20"], env, [], true);
    const stamps = programStamps(stderr);
    const errors: number[] = [];
    for (let i = 1; i < stamps.tokens.length; i++) {
      const own = (stamps.tokens[i]! - stamps.tokens[i - 1]!) / 1e6;
      errors.push(Math.abs(phases[i]!.duration_ms - own));
    }
    maes.push(errors.reduce((sum, error) => sum + error, 0) / errors.length);
    worst = Math.max(worst, ...errors);
  }
  const mae = median(maes);
  return {
    name: "phase-duration fidelity",
    measured: `mean absolute error ${(mae * 1000).toFixed(1)} µs (runs: ${
      maes.map((value) => (value * 1000).toFixed(0)).join(", ")
    } µs; worst phase ${(worst * 1000).toFixed(0)} µs)`,
    target: "≤ 0.2 ms",
    met: mae <= 0.2,
    how: "39 phases of 20 ms (alternately sleeping and spinning) timed by the program itself " +
      "vs the reported duration_ms; median of 3 runs' mean absolute errors",
    note: "A phase's error is the difference between the latencies of its two boundaries. " +
      "Here tokens come 20 ms apart, so between them the profiler's thread sleeps and the " +
      "VM's idle vCPU is parked: waking it took 0.1–1.5 ms per token on this VM in a run " +
      "inspected by hand (`examples/programs/phases.c 12 20`), while with tokens 1 ms apart " +
      "(the latency figure) the median is tens of µs. Those wake-ups do not cancel between " +
      "the two ends of a phase. Quiet runs of this report met the target; on a busy host " +
      "(compare perf stat's own time between reports) they do not. Spinning instead of " +
      "sleeping would hide it, at the cost of a busy core in every energy figure.",
  };
}

async function measurementCost(): Promise<Figure> {
  const root = await Deno.makeTempDir();
  const powercap = await twoSocketPowercapSource(root);
  await writeFakePowerPmu(root, {
    type: 1,
    cpumask: "0",
    events: ["energy-pkg", "energy-cores", "energy-ram", "energy-psys"].map((name) => ({
      name,
      description: "event=0x00",
      scale: "2.3283064365386962890625e-10",
    })),
  });
  const pmu = discoverPowerPmu(root);
  if ("missing" in pmu) throw new Error(pmu.missing);
  const sources: Source[] = [
    powercap,
    new PerfRaplSource(pmu, planPerfRaplCounters(pmu, { packageOfCpu: () => 0 })),
    // The 8 `--perf` default events on this process (those the machine lacks are left out).
    new PerfEventSource({ warn: () => {} }),
  ];
  const orchestrator = new SourceOrchestrator(sources);
  await orchestrator.init(Deno.pid);
  orchestrator.measure();
  const costs: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const start = monotonicNs();
    orchestrator.measure();
    orchestrator.retrieve();
    costs.push(Number(monotonicNs() - start) / 1000);
  }
  await orchestrator.join();
  const names = sources.map((source) => source.name).join(", ");
  const p50 = percentile(costs, 50);
  return {
    note: "Each counter read is a `read(2)` or `pread(2)` system call of 1–3 µs (14 of them " +
      "here: 7 powercap zones, 4 RAPL perf counters, the 4 software perf events this VM " +
      "has), read back to back with nothing allocated. On this shared VM the median moved " +
      "between 6 and 42 µs from one run of the report to the next.",
    name: "measurement cost",
    measured: `${p50.toFixed(1)} µs per boundary (p99 ${percentile(costs, 99).toFixed(1)} µs); ` +
      `the spread between first and last read is at most this`,
    target: "≤ 20 µs; spread ≤ 20 µs",
    met: p50 <= 20,
    how: `one boundary (measure + retrieve) of: ${names}; fake two-socket powercap tree and ` +
      `fake PMU read through the real code; 20,000 boundaries`,
  };
}

function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

async function idleCost(
  maxEnergyRangeUj: number,
  label: string,
): Promise<{ percent: number; text: string }> {
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, twoSocketZones(maxEnergyRangeUj));
  const child = new Deno.Command(PROFILER[0]!, {
    args: [
      ...PROFILER.slice(1),
      "--json",
      "-o",
      "/dev/null",
      "profile",
      "--",
      "sleep",
      String(IDLE_SECONDS),
    ],
    env: { JOULE_PROFILER_EVENT_SOURCE_PATH: root, JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl` },
    stdout: "null",
    stderr: "null",
  }).spawn();
  // Skip start-up: measure the profiler's CPU between 2 s in and 1 s before the end.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const first = cpuTicks(child.pid);
  const t0 = monotonicNs();
  await new Promise((resolve) => setTimeout(resolve, (IDLE_SECONDS - 3) * 1000));
  const ticks = cpuTicks(child.pid) - first;
  const seconds = Number(monotonicNs() - t0) / 1e9;
  await child.status;
  const percent = ticks / 100 / seconds * 100;
  return { percent, text: `${percent.toFixed(3)} % of one core ${label}` };
}

async function idleCosts(): Promise<Figure> {
  const usual = await idleCost(262143328850, "(usual counter range: polls once a minute)");
  // A 40 J range wraps in 40 ms at 1 kW, so the default period becomes 10 ms.
  const fast = await idleCost(40_000_000, "(40 J range: polls every 10 ms)");
  return {
    name: "idle cost",
    measured: `${usual.text}; ${fast.text}`,
    target: "≤ 0.5 % of one core",
    // The target is for polling as configured by default on real counters; the 10 ms case
    // shows what a tiny counter range would cost.
    met: usual.percent <= 0.5,
    how: `profiler CPU time (utime+stime) while the program sleeps ${IDLE_SECONDS} s, with ` +
      `powercap polling on (fake two-socket tree), start-up excluded`,
    note: "Each poll costs a Deno timer wake-up (about 0.2 ms of CPU) more than the seven " +
      "`pread`s themselves (about 4 µs): a 10 ms period costs about 2 % of a core, the default " +
      "period for real counter ranges (60 s) nothing measurable.",
  };
}

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

async function samplingCost(): Promise<Figure> {
  const root = await Deno.makeTempDir();
  await writeFakePowercap(root, twoSocketZones());
  const env = {
    JOULE_PROFILER_EVENT_SOURCE_PATH: root,
    JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
  };
  const seconds = 2;
  const modes: Record<string, string[]> = {
    off: [],
    "10 ms": ["--sample-interval", "10"],
    "1 ms": ["--sample-interval", "1"],
  };
  const cpu: Record<string, number[]> = { off: [], "10 ms": [], "1 ms": [] };
  const repeats = Math.max(1, Math.min(5, Math.round(RUNS / 4)));
  for (let i = 0; i < repeats; i++) {
    // Interleaved, so a noisy neighbour hits every mode alike.
    for (const [mode, flags] of Object.entries(modes)) {
      cpu[mode]!.push(
        await runCpuSeconds(
          ["--json", "-o", "/dev/null", "profile", ...flags, "--", "sleep", String(seconds)],
          env,
        ),
      );
    }
  }
  const extra = (mode: string) => (median(cpu[mode]!) - median(cpu.off!)) / seconds * 100;
  return {
    name: "sampling cost",
    measured: `+${extra("10 ms").toFixed(1)} % of one core at 10 ms, ` +
      `+${extra("1 ms").toFixed(1)} % at 1 ms (off: ${median(cpu.off!).toFixed(2)} s CPU per run)`,
    target: "≤ 5 % of one core at 10 ms",
    met: extra("10 ms") <= 5,
    how: `profiler CPU time (utime+stime of the whole run) over \`sleep ${seconds}\` with ` +
      `--sample-interval 10 and 1 vs none, fake two-socket powercap tree plus the default ` +
      `process and system sources, ` +
      `median of ${repeats} interleaved runs`,
    note: "Each tick is a Deno timer wake-up plus seven `pread`s of powercap, the process " +
      "source's reads of the program's tree and the system source's two `/proc` files; the " +
      "wake-up dominates. Across runs of this " +
      "report on this VM the 10 ms figure ranged from +1.5 % to +6.5 % of a core, moving with " +
      "the host's load like the other timings.",
  };
}

async function scale(generator: string, defaultSources = false): Promise<Figure> {
  const env = await noRaplEnv();
  const file = await Deno.makeTempFile({ suffix: ".json" });
  const sources = defaultSources ? [] : ["--no-process", "--no-system"];
  const { stderr } = await run(
    [
      ...PROFILER,
      "-v",
      ...sources,
      "--json",
      "-o",
      file,
      "profile",
      "--",
      generator,
      "tokens",
      "100000",
    ],
    env,
  );
  const bytes = (await Deno.stat(file)).size;
  await Deno.remove(file);
  const converted = Number(/converted to metrics in ([\d.]+) ms/.exec(stderr)?.[1]);
  const written = Number(/results formatted and written in ([\d.]+) ms/.exec(stderr)?.[1]);
  const rss = Number(/profiler peak RSS ([\d.]+) MiB/.exec(stderr)?.[1]);
  const post = (converted + written) / 1000;
  const measured = `peak RSS ${rss.toFixed(0)} MiB; post-processing ${post.toFixed(2)} s ` +
    `(conversion ${converted.toFixed(0)} ms, JSON ${written.toFixed(0)} ms, ` +
    `${(bytes / 1e6).toFixed(0)} MB)`;
  if (defaultSources) {
    return {
      name: "scale, process and system on",
      measured,
      target: "none (reported)",
      met: true,
      how: "the same, with the default process and system sources (25 more metrics per phase " +
        "on this 2-CPU machine)",
      note: "Every metric of every phase is an object in memory and a line of JSON: with the " +
        "process and system sources, 100,000 phases carry 2.5 million of them. For runs with " +
        "that many phases, `--no-process --no-system` keeps the profiler within the figures above.",
    };
  }
  return {
    name: "scale (100,000 phases)",
    measured,
    target: "≤ 150 MB, ≤ 2 s",
    met: rss * 1.048576 <= 150 && post <= 2,
    how: "a program printing 100,000 tokens, with `--no-process --no-system`; figures from the " +
      "profiler's own `-v` report",
  };
}

function machine(): string {
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown CPU";
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  return `${model}, ${cores} cores, Linux ${Deno.osRelease()}, Deno ${Deno.version.deno}`;
}

function report(figures: Figure[]): string {
  const lines = [
    "# Performance",
    "",
    "The profiler's own cost, measured side by side with reference tools in one run of",
    "`deno task bench` (which runs `tests/bench/performance_report.ts` after the",
    "micro-benchmarks). Medians and ratios of interleaved runs: the figures come from a shared",
    "virtual machine, so single absolute times would mean little.",
    "",
    `Measured on ${new Date().toISOString().slice(0, 10)}: ${machine()}.`,
    "",
    "| Figure | Measured | Target | Met | How |",
    "| --- | --- | --- | --- | --- |",
    ...figures.map((f) =>
      `| ${f.name} | ${f.measured} | ${f.target} | ${f.met ? "yes" : "**no**"} | ${f.how} |`
    ),
    "",
    "## Notes",
    "",
    ...figures.filter((f) => f.note).map((f) => `- **${f.name}**: ${f.note}`),
    "",
    "Command: `deno task bench` (or `deno run -A tests/bench/performance_report.ts --runs 20",
    "--idle-seconds 30`).",
    "",
  ];
  return lines.join("\n");
}

const phasesProgram = await compileC("examples/programs/phases.c", ["-static"]);
const generator = await compileC("tests/fixtures/output_generator.c");
const figures: Figure[] = [];
for (
  const measure of [
    fixedOverhead,
    () => startupFigures(RUNS),
    () => windowOverhead(phasesProgram),
    () => passthrough(generator),
    () => tokenLatency(phasesProgram),
    () => durationFidelity(phasesProgram),
    measurementCost,
    idleCosts,
    samplingCost,
    phaseChannelFigures,
    processSourceFigures,
    () => scale(generator),
    () => scale(generator, true),
    () => mergeScaleFigure(),
  ]
) {
  const measured = await measure();
  for (const figure of Array.isArray(measured) ? measured : [measured]) {
    console.log(
      `${figure.met ? "✓" : "✗"} ${figure.name}: ${figure.measured} (target ${figure.target})`,
    );
    figures.push(figure);
  }
}
await Deno.mkdir(new URL(".", `file://${options.output}`).pathname, { recursive: true });
await Deno.writeTextFile(options.output, report(figures));
// Keep the generated table in the repository's Markdown format (`deno task test` checks it).
await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", options.output] }).output();
console.log(`written to ${options.output}`);
