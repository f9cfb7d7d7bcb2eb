/**
 * `profile -p` (attach), `profile -a` (system-wide) and `-I` (live
 * intervals), end to end through the CLI with a fake powercap tree, and
 * every bad input of these flags.
 */

import assert from "node:assert/strict";
import { monotonicNs } from "../src/clock.ts";
import { checkAttachable, parsePidList } from "../src/attach/attach_target.ts";
import { ProcessExitWatch } from "../src/attach/process_exit_watch.ts";
import { energyText, writeFakePowercap } from "./fixtures/fake_powercap.ts";
import { CLI_ENTRY, listDir, REPO_ROOT, runCli } from "./helpers.ts";

/** A fake powercap tree with one package zone; returns its env and counter file. */
async function fakeRapl(): Promise<{ env: Record<string, string>; file: string }> {
  const root = await Deno.makeTempDir({ prefix: "jp-attach-" });
  const files = await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0" }]);
  return {
    file: files.get("intel-rapl:0")!,
    env: {
      JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
      JOULE_PROFILER_EVENT_SOURCE_PATH: root,
    },
  };
}

/** Spawns the CLI with stderr read line by line, so the test can act on what it prints. */
function spawnProfiler(args: string[], cwd: string, env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${CLI_ENTRY}`, ...args],
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const waiters: { pattern: RegExp; resolve: (match: RegExpExecArray) => void }[] = [];
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr += chunk;
      for (const waiter of [...waiters]) {
        const match = waiter.pattern.exec(stderr);
        if (match) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(match);
        }
      }
    }
  })();
  return {
    child,
    /** Resolves when stderr matches. */
    waitFor(pattern: RegExp): Promise<RegExpExecArray> {
      const match = pattern.exec(stderr);
      if (match) return Promise.resolve(match);
      return new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
    async finish(): Promise<{ code: number; stderr: string }> {
      const [status] = await Promise.all([child.status, child.stdout.cancel(), reading]);
      return { code: status.code, stderr };
    },
  };
}

Deno.test("profile -p attaches to a running sleep, takes phases from the FIFO and stops on its exit", async () => {
  const rapl = await fakeRapl();
  const cwd = await Deno.makeTempDir({ prefix: "jp-attach-" });
  const sleep = new Deno.Command("sleep", { args: ["2"] }).spawn();
  try {
    const profiler = spawnProfiler(
      ["--json", "-o", "out.json", "profile", "-p", String(sleep.pid)],
      cwd,
      rapl.env,
    );
    const [, fifo] = await profiler.waitFor(/phase channel: echo __NAME__ > (\S+)\n/);
    await Deno.writeTextFile(fifo!, "__MIDDLE__\n", { append: true });
    await sleep.status;
    const exitedNs = monotonicNs();
    const { code, stderr } = await profiler.finish();
    assert.equal(code, 0, stderr);
    assert.match(
      stderr,
      new RegExp(`measuring PID ${sleep.pid} \\(\\S*sleep 2\\) until it exits or Ctrl-C`),
    );
    const result = JSON.parse(await Deno.readTextFile(`${cwd}/out.json`));
    assert.match(result.command, /^\S*sleep 2$/);
    assert.deepEqual(
      result.phases.map((phase: { start_token: string; end_token: string }) =>
        `${phase.start_token} -> ${phase.end_token}`
      ),
      ["START -> __MIDDLE__", "__MIDDLE__ -> END"],
    );
    // END is the exit event (pidfd), as the test's own wait for its child is: the two are
    // taken within a fraction of a millisecond of each other (docs/PERFORMANCE.md); the bounds
    // here only leave room for a loaded machine.
    const lagMs = Number(exitedNs - BigInt(result.end_ns)) / 1e6;
    assert.ok(lagMs > -100 && lagMs < 250, `END ${lagMs} ms before the test saw the exit`);
    const names = result.phases[0].metrics.map((metric: { name: string }) => metric.name);
    assert.ok(names.includes("PACKAGE-0"), `energy measured: ${names}`);
    assert.ok(names.includes("CPU_TIME"), `process metrics of the attached PID: ${names}`);
  } finally {
    try {
      sleep.kill();
    } catch {
      // Exited.
    }
    await sleep.status;
  }
});

Deno.test("profile -p: the terminal's full listing (--all-phases) keeps the lower default phase limit", async () => {
  // The same attach, once to JSON and once to the terminal with --all-phases: only the second
  // holds every phase's lines at once, so its default limit is lower (as for a profiled command).
  const limits: number[] = [];
  for (const flags of [["--json", "-o", "out.json"], ["-o", "out.txt"]]) {
    const cwd = await Deno.makeTempDir({ prefix: "jp-attach-limit-" });
    const sleep = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      const terminal = flags[0] !== "--json";
      const profiler = spawnProfiler(
        [...flags, "profile", "-p", String(sleep.pid), ...(terminal ? ["--all-phases"] : [])],
        cwd,
        {},
      );
      const [, fifo] = await profiler.waitFor(/phase channel: echo __NAME__ > (\S+)\n/);
      // More tokens than either limit can take.
      await Deno.writeTextFile(fifo!, "__A__\n".repeat(160_000), { append: true });
      let found = false;
      const [, limit] = await Promise.race([
        profiler.waitFor(/more than (\d+) phases/).then((match) => {
          found = true;
          return match;
        }),
        // The attached sleep ends the profile at 30 s: say what the profiler printed by then.
        sleep.status.then(async () => {
          if (found) return [];
          const { stderr } = await profiler.finish();
          throw new Error(`no phase-limit warning before the attached process exited:\n${stderr}`);
        }),
      ]);
      limits.push(Number(limit));
      sleep.kill();
      const { code, stderr } = await profiler.finish();
      assert.equal(code, 0, stderr);
    } finally {
      try {
        sleep.kill();
      } catch {
        // Exited.
      }
      await sleep.status;
    }
  }
  assert.ok(limits[1]! < limits[0]!, `terminal --all-phases ${limits[1]} vs JSON ${limits[0]}`);
});

Deno.test("profile -p with several PIDs ends when the last exits and keeps machine-wide sources", async () => {
  const rapl = await fakeRapl();
  const short = new Deno.Command("sleep", { args: ["0.3"] }).spawn();
  const long = new Deno.Command("sleep", { args: ["1.2"] }).spawn();
  const out = await runCli(
    ["--json", "-o", "-", "profile", "-p", `${short.pid},${long.pid}`],
    { env: rapl.env },
  );
  await Promise.all([short.status, long.status]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, /only machine-wide sources/);
  const result = JSON.parse(out.stdoutText);
  const names = result.phases[0].metrics.map((metric: { name: string }) => metric.name);
  assert.ok(names.includes("PACKAGE-0"));
  assert.ok(!names.includes("CPU_TIME"));
});

Deno.test("profile -a --duration 1 measures the machine for one second", async () => {
  const rapl = await fakeRapl();
  const out = await runCli(["--json", "-o", "-", "profile", "-a", "--duration", "1"], {
    env: rapl.env,
  });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, /measuring the whole machine until 1 s have passed or Ctrl-C/);
  assert.match(out.stderr, /phase channel: echo __NAME__ > \S+\/phases/);
  const result = JSON.parse(out.stdoutText);
  assert.equal(result.command, "(system-wide)");
  assert.equal(result.exit_code, 0);
  assert.ok(result.duration_ms >= 990 && result.duration_ms < 2000, `${result.duration_ms} ms`);
  const names = result.phases[0].metrics.map((metric: { name: string }) => metric.name);
  assert.ok(names.includes("PACKAGE-0"), `${names}`);
  assert.ok(!names.includes("CPU_TIME"), "no process is measured with -a");
});

Deno.test("profile -a ends on SIGINT (Ctrl-C) with exit status 0 and its results", async () => {
  const rapl = await fakeRapl();
  const cwd = await Deno.makeTempDir({ prefix: "jp-attach-" });
  const profiler = spawnProfiler(["--json", "-o", "out.json", "profile", "-a"], cwd, rapl.env);
  await profiler.waitFor(/phase channel/);
  profiler.child.kill("SIGINT");
  const { code, stderr } = await profiler.finish();
  assert.equal(code, 0, stderr);
  const result = JSON.parse(await Deno.readTextFile(`${cwd}/out.json`));
  assert.equal(result.phases.length, 1);
});

Deno.test("-I 100 prints about 10 intervals for a 1 s program, energy per interval from the counter", async () => {
  const rapl = await fakeRapl();
  // The program moves the package counter by 0.1 J every 0.1 s: 1 W. It rewrites the fixed-width
  // value in place (no truncation), as sysfs never shows an empty counter to the sampler.
  const steps = Array.from(
    { length: 10 },
    (_, i) =>
      `printf '${energyText((i + 1) * 100_000).trimEnd()}\\n' | ` +
      `dd of='${rapl.file}' conv=notrunc status=none; sleep 0.1`,
  ).join("; ");
  const cwd = await Deno.makeTempDir({ prefix: "jp-attach-" });
  const out = await runCli(
    ["--json", "-o", "result.json", "profile", "-I", "100", "--", "sh", "-c", steps],
    { cwd, env: rapl.env },
  );
  assert.equal(out.code, 0, out.stderr);
  const intervals = out.stderr.split("\n").filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
  // About 10, one per full 100 ms of the run (ten `sleep 0.1` take a little over 1 s, more on
  // a loaded machine); a tick delayed past the next deadline merges two intervals (the sampler
  // skips the deadline it missed), so a few fewer may come.
  const result = JSON.parse(await Deno.readTextFile(`${cwd}/result.json`));
  const full = Math.floor(result.duration_ms / 100);
  assert.ok(result.duration_ms >= 1000, `${result.duration_ms} ms`);
  assert.ok(
    intervals.length >= full - 3 && intervals.length <= full,
    `${intervals.length} intervals in ${result.duration_ms} ms`,
  );
  let previousEnd = 0;
  intervals.forEach((interval, i) => {
    assert.equal(interval.interval, i + 1);
    assert.ok(interval.duration_s > 0.05 && interval.duration_s < 0.35, `${interval.duration_s}`);
    // Intervals tile the run: each starts where the previous ended, up to the spread of one
    // tick's reads (each source stamps its own sample; a few ms apart on a loaded machine).
    const gap = interval.time_s - interval.duration_s - previousEnd;
    assert.ok(Math.abs(gap) < 0.02, `interval ${i + 1} starts ${gap} s off`);
    previousEnd = interval.time_s;
  });
  const energies = intervals.map((interval) =>
    interval.values.find((value: { name: string }) => value.name === "PACKAGE-0").energy_j
  );
  const total = energies.reduce((sum: number, joules: number) => sum + joules, 0);
  // About 1 W for about a second; the last partial interval is not printed.
  assert.ok(total > 0.5 && total <= 1.0 + 1e-9, `${total} J over the intervals`);
  const power = intervals[2].values.find((value: { name: string }) => value.name === "PACKAGE-0");
  assert.ok(power.power_w > 0.3 && power.power_w < 3, `${power.power_w} W`);
});

Deno.test("-I prints perf stat columns on stderr, and CSV rows to --interval-file", async () => {
  const rapl = await fakeRapl();
  const terminal = await runCli(["profile", "-I", "100", "--", "sleep", "0.35"], { env: rapl.env });
  assert.equal(terminal.code, 0, terminal.stderr);
  assert.match(terminal.stderr, /^# +time +counts unit events$/m);
  const rows = terminal.stderr.split("\n").filter((line) =>
    /^ +\d+\.\d{6} .* PACKAGE-0 /.test(line)
  );
  assert.ok(rows.length >= 2 && rows.length <= 4, rows.join("\n"));
  assert.match(rows[0]!, /J +PACKAGE-0 +# +\d+\.\d\d W$/);

  const cwd = await Deno.makeTempDir({ prefix: "jp-attach-" });
  const csv = await runCli(
    [
      "--csv",
      "-o",
      "out.csv",
      "profile",
      "-I",
      "100",
      "--interval-file",
      "iv.csv",
      "--",
      "sleep",
      "0.35",
    ],
    { cwd, env: rapl.env },
  );
  assert.equal(csv.code, 0, csv.stderr);
  assert.doesNotMatch(csv.stderr, /interval;time_s/);
  const lines = (await Deno.readTextFile(`${cwd}/iv.csv`)).trim().split("\n");
  assert.equal(lines[0], "interval;time_s;duration_s;name;value;unit;source");
  assert.ok(
    lines.some((line) => /^1;[\d.]+;[\d.]+;PACKAGE-0;[\d.e-]+;J;RAPL \(Powercap\)$/.test(line)),
  );
  assert.ok(lines.some((line) => /^1;[\d.]+;[\d.]+;PACKAGE-0;[\d.e-]+;W;/.test(line)));
});

Deno.test("-I with --perf adds the counters of each interval", async () => {
  const rapl = await fakeRapl();
  const out = await runCli(
    [
      "--json",
      "-o",
      "-",
      "profile",
      "-I",
      "100",
      "--perf-events",
      "task-clock",
      "--",
      "sh",
      "-c",
      "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done",
    ],
    { env: rapl.env },
  );
  assert.equal(out.code, 0, out.stderr);
  const intervals = out.stderr.split("\n").filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
  assert.ok(intervals.length >= 1, out.stderr);
  const clock = intervals[0].values.find((value: { name: string }) => value.name === "TASK_CLOCK");
  assert.equal(clock.unit, "ns");
  // A busy loop runs most of each 100 ms interval.
  assert.ok(clock.count > 10_000_000, `${clock.count} ns`);
});

Deno.test("bad input of -p, -a and -I: one line, exit status 2, nothing started or written", async () => {
  const sleep = new Deno.Command("sleep", { args: ["30"] }).spawn();
  const cases: [string[], RegExp][] = [
    [
      ["profile", "-p", String(sleep.pid), "--", "true"],
      /^error: -p attaches to running processes: give no command \(got 'true'\)$/,
    ],
    [
      ["profile", "-p", String(sleep.pid), "--command", "true"],
      /^error: option '--command' cannot be used with option '--pid'$|give no command/,
    ],
    [["profile", "-p", "abc"], /^error: --pid: 'abc' is not a process ID/],
    [["profile", "-p", "0"], /^error: --pid: '0' is not a process ID/],
    [
      ["profile", "-p", "999999999"],
      /^error: --pid: '999999999' is not a process ID|no process with PID/,
    ],
    [["profile", "-p", "4194303"], /^error: --pid: no process with PID 4194303$/],
    [
      ["profile", "-p", String(sleep.pid), "-a"],
      /^error: option '--system-wide' cannot be used with option '--pid'$/,
    ],
    [
      ["profile", "-a", "--", "true"],
      /^error: -a measures the machine with no program: give no command/,
    ],
    [["profile", "-a", "--perf"], /^error: --perf counts the profiled process, and -a has none/],
    [["profile", "-a", "-n", "3"], /^error: --iterations goes with a command, not with -a$/],
    [["profile", "-a", "--warmup", "1"], /^error: --warmup goes with a command, not with -a$/],
    [
      ["profile", "-a", "--ignore-failure"],
      /^error: --ignore-failure goes with a command, not with -a$/,
    ],
    [
      ["profile", "-a", "--parameter-list", "N", "1,2"],
      /^error: --parameter-list goes with a command, not with -a$/,
    ],
    [
      ["profile", "-a", "--duration", "0"],
      /^error: --duration must be a number of seconds > 0, got '0'$/,
    ],
    [["profile", "--duration", "1", "--", "true"], /^error: --duration goes with -a or -p/],
    [["profile", "-I", "5", "--", "true"], /^error: -I\/--interval-print 5: the minimum is 10 ms/],
    [
      ["profile", "-I", "x", "--", "true"],
      /^error: -I\/--interval-print must be a number of milliseconds/,
    ],
    [
      ["profile", "--interval-file", "iv.txt", "--", "true"],
      /^error: --interval-file goes with -I/,
    ],
    [
      ["-o", "same.json", "profile", "-I", "100", "--interval-file", "same.json", "--", "true"],
      /^error: .*--interval-file/,
    ],
    [
      ["profile", "-I", "50", "--sample-interval", "10", "--", "true"],
      /^error: -I 50 samples every 50 ms/,
    ],
  ];
  try {
    for (const [args, expected] of cases) {
      const cwd = await Deno.makeTempDir({ prefix: "jp-attach-bad-" });
      const out = await runCli(["--json", ...args], { cwd });
      assert.equal(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
      const lines = out.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `${args.join(" ")}: ${out.stderr}`);
      assert.match(lines[0]!, expected, args.join(" "));
      assert.equal(out.stdoutText, "");
      assert.deepEqual(await listDir(cwd), [], `${args.join(" ")} wrote files`);
    }
  } finally {
    sleep.kill();
    await sleep.status;
  }
});

Deno.test("checkAttachable: another user's process, a PID /proc hides, and a zombie are refused", async () => {
  // As a user other than the owner (uid 0 here) of PID 1.
  assert.throws(
    () => checkAttachable(1, { perProcess: false, uid: 65534 }),
    /--pid: process 1 belongs to user 0: only its owner or root may observe it/,
  );
  // /proc mounted with hidepid: the process answers kill(0) but has no folder.
  const hidden = await Deno.makeTempDir({ prefix: "jp-attach-proc-" });
  assert.throws(
    () => checkAttachable(Deno.pid, { perProcess: false, procRoot: hidden }),
    /does not show it \(mounted with hidepid\?\)/,
  );
  // A child that exited but was not reaped yet.
  const child = new Deno.Command("true").spawn();
  const watch = ProcessExitWatch.open([child.pid]);
  assert.equal(await watch.allExited, true);
  await watch.close();
  if (/State:\s+Z/.test(await Deno.readTextFile(`/proc/${child.pid}/status`).catch(() => ""))) {
    assert.throws(() => checkAttachable(child.pid, { perProcess: false }), /already exited/);
  }
  await child.status;
  assert.equal(checkAttachable(Deno.pid, { perProcess: true }).pid, Deno.pid);
  assert.deepEqual(parsePidList("3,1,3"), [3, 1]);
});

Deno.test("ProcessExitWatch waits for every PID, and close() wakes a wait in progress", async () => {
  const a = new Deno.Command("sleep", { args: ["0.1"] }).spawn();
  const b = new Deno.Command("sleep", { args: ["0.3"] }).spawn();
  const watch = ProcessExitWatch.open([a.pid, b.pid]);
  let done = false;
  watch.allExited.then(() => done = true);
  await a.status;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(done, false, "one of two exited");
  assert.equal(await watch.allExited, true);
  await b.status;
  await watch.close();

  const long = new Deno.Command("sleep", { args: ["30"] }).spawn();
  const waiting = ProcessExitWatch.open([long.pid]);
  await waiting.close();
  assert.equal(await waiting.allExited, false);
  long.kill();
  await long.status;
  assert.throws(() => ProcessExitWatch.open([4194303]), /no process with PID 4194303/);
});

Deno.test("profile -p --perf counts a process that was already running", async () => {
  const rapl = await fakeRapl();
  const busy = new Deno.Command("sh", {
    args: ["-c", "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done"],
  }).spawn();
  const out = await runCli(
    ["--json", "-o", "-", "profile", "-p", String(busy.pid), "--perf-events", "task-clock"],
    { env: rapl.env },
  );
  await busy.status;
  assert.equal(out.code, 0, out.stderr);
  const result = JSON.parse(out.stdoutText);
  const clock = result.phases[0].metrics.find((metric: { name: string }) =>
    metric.name === "TASK_CLOCK"
  );
  // Counting starts when the counter opens (no exec to wait for): a busy shell adds CPU time.
  assert.ok(clock.value > 10_000_000, `${clock.value} ns`);
});

Deno.test("README documents every flag of -p, -a and -I, next to its perf stat equivalent", async () => {
  const readme = await Deno.readTextFile(`${REPO_ROOT}README.md`);
  const help = await runCli(["profile", "--help"]);
  for (
    const flag of ["--pid", "--system-wide", "--duration", "--interval-print", "--interval-file"]
  ) {
    assert.ok(help.stdoutText.includes(flag), `${flag} in profile --help`);
    assert.ok(readme.includes(`\`${flag}`), `${flag} in README.md`);
  }
  for (const perf of ["perf stat -p", "perf stat -a", "perf stat -I"]) {
    assert.ok(readme.includes(perf), `${perf} in README.md`);
  }
});
