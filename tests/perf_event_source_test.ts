import assert from "node:assert/strict";
import { SourceError, UsageError } from "../src/errors.ts";
import { sendSignal, SIGNALS } from "../src/ffi/libc.ts";
import {
  PERF_FORMAT,
  PERF_TYPE,
  PerfCounter,
  readPerfEventParanoid,
} from "../src/ffi/perf_event.ts";
import { JouleProfiler } from "../src/profiler.ts";
import type { Metric } from "../src/source.ts";
import {
  DEFAULT_PERF_EVENTS,
  parsePerfEventList,
  PERF_EVENT_CATALOG,
  PerfEventSource,
  type PerfEventSpec,
  resolvePerfEvents,
  scaleCount,
} from "../sources/perf_event/mod.ts";
import { compileC, REPO_ROOT, skipUnlessNobodyRunsDeno } from "./helpers.ts";

const WORKLOAD = "tests/programs/perf_workload.c";
const MS = 1e6;

/** This process's open perf_event file descriptors. */
function openFds(): string[] {
  const fds: string[] = [];
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${entry.name}`).includes("perf_event")) {
        fds.push(entry.name);
      }
    } catch {
      // Closed while listing.
    }
  }
  return fds.sort();
}

/**
 * Asserts that no perf_event descriptor opened since `before` stays open.
 * Test modules run in parallel in one process, so another module's
 * counters may be open for a moment: only one that never closes is a leak.
 */
async function assertNoLeakedFds(before: readonly string[]): Promise<void> {
  const deadline = performance.now() + 3000;
  let extra: string[] = [];
  do {
    extra = openFds().filter((fd) => !before.includes(fd));
    if (extra.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  } while (performance.now() < deadline);
  assert.fail(`perf_event descriptors left open: ${extra.join(", ")}`);
}

function metric(metrics: readonly Metric[], name: string): Metric {
  const found = metrics.find((m) => m.name === name);
  assert.ok(found, `no ${name} in ${JSON.stringify(metrics)}`);
  return found;
}

function names(events: readonly PerfEventSpec[]): string[] {
  return events.map((event) => event.name);
}

/** Profiles a command with a perf_event source (program stdout goes to stderr). */
async function profile(
  source: PerfEventSource,
  command: string[],
  iterations = 1,
) {
  return await new JouleProfiler().addSource(source).profile({
    command,
    iterations,
    stdout: "stderr",
    handleSignals: false,
  });
}

Deno.test("resolvePerfEvents() accepts perf list names and ours, any case, - and _ alike", () => {
  assert.deepEqual(
    names(
      resolvePerfEvents([
        "cycles",
        "INSTRUCTIONS",
        "Task_Clock",
        "cs",
        "page_faults",
        "cpu-migrations",
      ]),
    ),
    [
      "CPU_CYCLES",
      "INSTRUCTIONS",
      "TASK_CLOCK",
      "CONTEXT_SWITCHES",
      "PAGE_FAULTS",
      "CPU_MIGRATIONS",
    ],
  );
  assert.deepEqual(
    names(parsePerfEventList("cpu_cycles,branches,ref-cycles,minor-faults,MAJOR-FAULTS,faults")),
    [
      "CPU_CYCLES",
      "BRANCH_INSTRUCTIONS",
      "REF_CPU_CYCLES",
      "PAGE_FAULTS_MIN",
      "PAGE_FAULTS_MAJ",
      "PAGE_FAULTS",
    ],
  );
  for (const event of PERF_EVENT_CATALOG) {
    assert.equal(resolvePerfEvents([event.name])[0], event);
    for (const alias of event.aliases) assert.equal(resolvePerfEvents([alias])[0], event);
  }
});

Deno.test("resolvePerfEvents() rejects unknown names, listing the valid ones", () => {
  assert.throws(() => parsePerfEventList("task-clock,bogus"), (error: Error) => {
    assert.ok(error instanceof UsageError);
    assert.match(error.message, /unknown perf event 'bogus'/);
    for (const event of PERF_EVENT_CATALOG) assert.ok(error.message.includes(event.name));
    assert.match(error.message, /CPU_CYCLES \(cycles, cpu-cycles\), INSTRUCTIONS \(instructions\)/);
    assert.ok(!error.message.includes("\n"));
    return true;
  });
});

Deno.test("resolvePerfEvents() rejects an event given twice, under any of its names", () => {
  assert.throws(
    () => parsePerfEventList("cycles,instructions,CPU_CYCLES"),
    /perf event CPU_CYCLES is given twice \('cycles' and 'CPU_CYCLES'\)/,
  );
  assert.throws(() => parsePerfEventList("cs,context-switches"), UsageError);
});

Deno.test("parsePerfEventList() rejects an empty list or an empty item", () => {
  assert.throws(() => parsePerfEventList(""), /the list of perf events is empty/);
  assert.throws(() => parsePerfEventList(" "), UsageError);
  assert.throws(() => parsePerfEventList("task-clock,,cs"), /empty perf event name/);
  assert.throws(() => parsePerfEventList("task-clock,"), /empty perf event name/);
  assert.throws(() => resolvePerfEvents([]), UsageError);
});

Deno.test("the catalog has the agreed names, units and default events", () => {
  assert.deepEqual(names(PERF_EVENT_CATALOG), [
    "CPU_CYCLES",
    "INSTRUCTIONS",
    "CACHE_REFERENCES",
    "CACHE_MISSES",
    "BRANCH_INSTRUCTIONS",
    "BRANCH_MISSES",
    "BUS_CYCLES",
    "STALLED_CYCLES_FRONTEND",
    "STALLED_CYCLES_BACKEND",
    "REF_CPU_CYCLES",
    "CPU_CLOCK",
    "TASK_CLOCK",
    "PAGE_FAULTS",
    "CONTEXT_SWITCHES",
    "CPU_MIGRATIONS",
    "PAGE_FAULTS_MIN",
    "PAGE_FAULTS_MAJ",
    "ALIGNMENT_FAULTS",
    "EMULATION_FAULTS",
  ]);
  const nanoseconds = PERF_EVENT_CATALOG.filter((event) => event.unit === "ns");
  assert.deepEqual(names(nanoseconds), ["CPU_CLOCK", "TASK_CLOCK"]);
  assert.deepEqual(
    names(resolvePerfEvents(DEFAULT_PERF_EVENTS)),
    [...DEFAULT_PERF_EVENTS],
  );
});

Deno.test("scaleCount() scales multiplexed counts and tells a phase never counted", () => {
  assert.deepEqual(scaleCount(1000, 500, 500), {
    value: 1000,
    scaled: false,
    runningRatio: 1,
    counted: true,
  });
  assert.deepEqual(scaleCount(1000, 400, 100), {
    value: 4000,
    scaled: true,
    runningRatio: 0.25,
    counted: true,
  });
  assert.equal(scaleCount(10, 3, 2).value, 15);
  // Enabled but never on the PMU: the count is unknown, not 0.
  assert.deepEqual(scaleCount(0, 1000, 0), {
    value: 0,
    scaled: false,
    runningRatio: 0,
    counted: false,
  });
  // The program was not on a CPU during the phase: nothing to scale.
  assert.deepEqual(scaleCount(0, 0, 0), {
    value: 0,
    scaled: false,
    runningRatio: 1,
    counted: true,
  });
});

async function waitStopped(pid: number): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("T")) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`pid ${pid} never stopped`);
}

Deno.test("counting starts at exec: work the held process does before exec is not counted", async () => {
  const program = await compileC(WORKLOAD);
  const fdsBefore = openFds();
  // Like the profiler's gate, but the shell works hard after being resumed
  // and before its exec.
  const child = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      'kill -STOP $$; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; exec "$0" spin 50',
      program,
    ],
    stdout: "null",
  }).spawn();
  await waitStopped(child.pid);
  const source = new PerfEventSource({ events: resolvePerfEvents(["task-clock"]) });
  source.init(child.pid);
  // Counts from now on, the shell's loop included.
  const whole = PerfCounter.open("task-clock (from resume)", {
    type: PERF_TYPE.SOFTWARE,
    config: 1n,
    readFormat: PERF_FORMAT.TOTAL_TIME_ENABLED | PERF_FORMAT.TOTAL_TIME_RUNNING,
    inherit: true,
  }, { pid: child.pid, cpu: -1 });
  source.measure();
  sendSignal(child.pid, SIGNALS.SIGCONT);
  assert.equal((await child.status).code, 0);
  source.measure();
  whole.read();
  whole.close();
  const taskClock = metric(source.toMetrics(source.retrieve()), "TASK_CLOCK");
  source.join();
  await assertNoLeakedFds(fdsBefore);
  const beforeExec = whole.value - taskClock.value;
  assert.ok(
    taskClock.value >= 50 * MS && taskClock.value < 70 * MS,
    `program TASK_CLOCK ${taskClock.value / MS} ms for a 50 ms burn`,
  );
  assert.ok(beforeExec >= 30 * MS, `the shell's loop took only ${beforeExec / MS} ms`);
  assert.deepEqual(taskClock.details, { scaled: false, running_ratio: 1 });
});

Deno.test("forked children are counted: TASK_CLOCK is parent + child", async () => {
  const program = await compileC(WORKLOAD);
  const source = new PerfEventSource({ events: resolvePerfEvents(["task-clock", "cs"]) });
  const result = await profile(source, [program, "fork", "150"]);
  const taskClock = metric(result.runs[0]!.phases[0]!.metrics, "TASK_CLOCK");
  assert.equal(taskClock.unit, "ns");
  assert.ok(
    taskClock.value >= 300 * MS && taskClock.value < 340 * MS,
    `TASK_CLOCK ${taskClock.value / MS} ms for two 150 ms burns`,
  );
});

for (const mode of ["live-child", "live-thread"]) {
  Deno.test(`a phase's delta includes a ${mode.slice(5)} still running at its boundary`, async () => {
    const program = await compileC(WORKLOAD);
    const source = new PerfEventSource({ events: resolvePerfEvents(["task-clock"]) });
    const result = await profile(source, [program, mode, "150"]);
    const [burning, after] = result.runs[0]!.phases;
    assert.equal(burning!.endToken, "__CHILD_BURNT__");
    // The child burnt 150 ms and is alive (blocked) when __CHILD_BURNT__ is read.
    const during = metric(burning!.metrics, "TASK_CLOCK").value;
    const later = metric(after!.metrics, "TASK_CLOCK").value;
    assert.ok(during >= 150 * MS, `TASK_CLOCK ${during / MS} ms up to the boundary`);
    assert.ok(later < 50 * MS, `TASK_CLOCK ${later / MS} ms after the boundary`);
  });
}

Deno.test("CONTEXT_SWITCHES counts a program that sleeps 20 times", async () => {
  const program = await compileC(WORKLOAD);
  const source = new PerfEventSource({ events: resolvePerfEvents(["cs", "task-clock"]) });
  const result = await profile(source, [program, "sleep", "20"]);
  const switches = metric(result.runs[0]!.phases[0]!.metrics, "CONTEXT_SWITCHES");
  assert.equal(switches.unit, "count");
  assert.ok(switches.value >= 20 && switches.value < 200, `${switches.value} context switches`);
});

Deno.test("PAGE_FAULTS of the phase that touches 2000 fresh pages", async () => {
  const program = await compileC(WORKLOAD);
  const source = new PerfEventSource({ events: resolvePerfEvents(["page-faults"]) });
  const result = await profile(source, [program, "touch", "2000"]);
  const phase = result.runs[0]!.phases.find((p) => p.name === "__TOUCH__ -> __TOUCHED__")!;
  const faults = metric(phase.metrics, "PAGE_FAULTS").value;
  assert.ok(faults >= 2000 && faults < 2200, `${faults} page faults for 2000 pages`);
});

const BOGUS: PerfEventSpec = {
  name: "BOGUS",
  type: PERF_TYPE.SOFTWARE,
  config: 999n, // far past the last software event any kernel has
  unit: "count",
  aliases: [],
  kernelOnly: false,
};

Deno.test("an event the kernel lacks is reported once; the others count", async () => {
  const warnings: string[] = [];
  const source = new PerfEventSource({
    events: [BOGUS, ...resolvePerfEvents(["task-clock"])],
    warn: (message) => warnings.push(message),
  });
  const fdsBefore = openFds();
  const result = await profile(source, ["sh", "-c", "echo __X__"], 2);
  await assertNoLeakedFds(fdsBefore);
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0]!,
    /^perf_event: not supported on this machine, not counted: BOGUS \(E[A-Z]+\)$/,
  );
  assert.equal(result.runs.length, 2);
  for (const run of result.runs) {
    for (const phase of run.phases) {
      assert.deepEqual(phase.metrics.map((m) => m.name), ["TASK_CLOCK"]);
    }
  }
});

Deno.test("a run still happens when no requested event exists", async () => {
  const warnings: string[] = [];
  const source = new PerfEventSource({ events: [BOGUS], warn: (m) => warnings.push(m) });
  source.preflight();
  const result = await profile(source, ["true"]);
  assert.equal(result.exitCode, 0);
  assert.deepEqual(result.runs[0]!.phases[0]!.metrics, []);
  assert.equal(warnings.length, 1);
});

Deno.test("sensors() lists every event with its availability on this machine", async () => {
  const fdsBefore = openFds();
  const sensors = new PerfEventSource({
    events: [...resolvePerfEvents(["cycles", "task-clock", "page-faults"]), BOGUS],
  }).sensors();
  await assertNoLeakedFds(fdsBefore);
  assert.deepEqual(sensors.map((s) => [s.name, s.unit, s.source]), [
    ["CPU_CYCLES", "count", "perf_event"],
    ["TASK_CLOCK", "ns", "perf_event"],
    ["PAGE_FAULTS", "count", "perf_event"],
    ["BOGUS", "count", "perf_event"],
  ]);
  assert.equal(sensors[1]!.available, true);
  assert.equal(sensors[2]!.available, true);
  assert.equal(sensors[3]!.available, false);
  assert.match(sensors[3]!.note!, /^not supported on this machine \(E[A-Z]+\)$/);
  let hasCycles = true;
  try {
    PerfCounter.open("cycles", { type: PERF_TYPE.HARDWARE, config: 0n }, { pid: 0, cpu: -1 })
      .close();
  } catch {
    hasCycles = false;
  }
  assert.equal(sensors[0]!.available, hasCycles);
});

Deno.test("init() on a process that is gone fails with a SourceError and leaks no fd", async () => {
  const child = new Deno.Command("true").spawn();
  await child.status;
  const fdsBefore = openFds();
  const source = new PerfEventSource({ events: resolvePerfEvents(["task-clock", "cs"]) });
  assert.throws(() => source.init(child.pid), (error: Error) => {
    assert.ok(error instanceof SourceError);
    assert.match(error.message, /^perf_event: cannot open counters on pid \d+: .*\(ESRCH\)/);
    return true;
  });
  await assertNoLeakedFds(fdsBefore);
});

Deno.test("measure() and retrieve() give per-phase deltas over several runs, no fd left", async () => {
  const fdsBefore = openFds();
  const source = new PerfEventSource({ events: resolvePerfEvents(["task-clock", "faults"]) });
  const result = await profile(source, ["sh", "-c", "echo __A__; echo __B__"], 3);
  await assertNoLeakedFds(fdsBefore);
  for (const run of result.runs) {
    assert.equal(run.phases.length, 3);
    const total = run.phases.reduce((sum, p) => sum + metric(p.metrics, "TASK_CLOCK").value, 0);
    assert.ok(total > 0 && total < 200 * MS, `TASK_CLOCK ${total / MS} ms for a tiny sh`);
  }
});

/** Runs the unprivileged scenario script as `nobody`; needs root and paranoid = 2. */
const canDropPrivileges = Deno.uid() === 0 && readPerfEventParanoid() === 2 &&
  (() => {
    try {
      return Deno.statSync("/usr/bin/setpriv").isFile;
    } catch {
      return false;
    }
  })();

Deno.test({
  name: "unprivileged at perf_event_paranoid=2: user space only, said once; refusals explained",
  ignore: !canDropPrivileges ||
    skipUnlessNobodyRunsDeno("unprivileged at perf_event_paranoid=2"),
  fn: async () => {
    const scratch = await Deno.makeTempDir({ prefix: "jp-perf-nobody-" });
    await Deno.chmod(scratch, 0o777);
    const fakeParanoid = `${scratch}/perf_event_paranoid`;
    await Deno.writeTextFile(fakeParanoid, "3\n");
    await Deno.chmod(fakeParanoid, 0o644);
    const output = await new Deno.Command("/usr/bin/setpriv", {
      args: [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        Deno.execPath(),
        "run",
        "-A",
        `${REPO_ROOT}tests/programs/perf_unprivileged.ts`,
        fakeParanoid,
      ],
      cwd: scratch,
      env: { HOME: scratch, DENO_DIR: `${scratch}/deno`, NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const report = JSON.parse(new TextDecoder().decode(output.stdout));
    assert.equal(report.uid, 65534);
    const userSpace = report.warnings.filter((w: string) => /counting user space only/.test(w));
    assert.equal(userSpace.length, 1, report.warnings.join("\n"));
    assert.match(userSpace[0], /kernel\.perf_event_paranoid is 2/);
    assert.match(userSpace[0], /CONTEXT_SWITCHES, CPU_MIGRATIONS occur only in the kernel/);
    assert.match(userSpace[0], /sudo sysctl kernel\.perf_event_paranoid=1/);
    assert.match(userSpace[0], /sudo setcap cap_perfmon=ep /);
    const metrics = report.metrics as Metric[];
    assert.deepEqual(metrics.map((m) => m.name), ["PAGE_FAULTS", "TASK_CLOCK"]);
    for (const m of metrics) assert.equal(m.details?.user_space_only, true);
    assert.ok(metric(metrics, "TASK_CLOCK").value > 1 * MS);
    const cs = report.sensors.find((s: { name: string }) => s.name === "CONTEXT_SWITCHES");
    assert.equal(cs.available, false);
    assert.match(cs.note, /occurs only in the kernel/);
    const taskClock = report.sensors.find((s: { name: string }) => s.name === "TASK_CLOCK");
    assert.equal(taskClock.available, true);
    assert.match(taskClock.note, /^user space only/);
    // pid 1 is root's: refused whatever the setting, and the message says so.
    assert.match(
      report.refusedReal,
      /permission denied \(EACCES\) .*although kernel\.perf_event_paranoid is 2/,
    );
    assert.match(
      report.refusedFake,
      /kernel\.perf_event_paranoid is 3; counting a process needs ≤ 2 .*sudo sysctl kernel\.perf_event_paranoid=2, or, safer, sudo setcap cap_perfmon=ep /,
    );
    assert.equal(report.fdsLeaked, 0);
  },
});
