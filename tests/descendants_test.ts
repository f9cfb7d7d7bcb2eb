import assert from "node:assert/strict";
import { CLI_ENTRY } from "./helpers.ts";
import {
  killMarked,
  markedProcesses,
  MARKER_VARIABLE,
  newMarker,
  waitUntilMarked,
  waitUntilNoneMarked,
} from "./process_marker.ts";
import { JouleProfiler } from "../src/profiler.ts";
import { Logger } from "../src/logger.ts";
import { DiscardSink } from "../src/process/byte_sink.ts";
import { type RelayTarget, SignalRelay } from "../src/process/signal_relay.ts";
import { runProgram } from "../src/program_run.ts";
import { compileTokenPattern } from "../src/phase/token_pattern.ts";
import { ProfilerError } from "../src/errors.ts";
import { ProgramTree } from "../src/process/program_tree.ts";
import { OrphanWatchdog } from "../src/process/orphan_watchdog.ts";
import { ProgramCgroup } from "../src/process/program_cgroup.ts";
import { ProgramReaper } from "../src/process/program_reaper.ts";
import { PhaseChannel } from "../src/process/phase_channel.ts";
import { ResultFile } from "../src/output/result_file.ts";

interface Profiler {
  child: Deno.ChildProcess;
  marker: string;
  cwd: string;
  tmp: string;
  stderr: Promise<string>;
}

/**
 * Starts the CLI on `sh -c script` with a marker in its environment and a
 * private TMPDIR, and returns once the program printed `__UP__`.
 */
async function startProfiler(script: string, flags: string[] = []): Promise<Profiler> {
  const marker = newMarker("descendants");
  const cwd = await Deno.makeTempDir({ prefix: "jp-desc-" });
  const tmp = await Deno.makeTempDir({ prefix: "jp-desc-tmp-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${CLI_ENTRY}`,
      "--json",
      "-o",
      "r.json",
      "profile",
      ...flags,
      "--",
      "sh",
      "-c",
      script,
    ],
    cwd,
    env: { NO_COLOR: "1", [MARKER_VARIABLE]: marker, TMPDIR: tmp },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  let seen = "";
  while (!seen.includes("__UP__")) {
    const chunk = await reader.read();
    if (chunk.done) throw new Error(`the program ended before __UP__: ${await stderr}`);
    seen += new TextDecoder().decode(chunk.value);
  }
  // Keep draining so the program never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return { child, marker, cwd, tmp, stderr };
}

/** Kills what a failed test left and removes its folders. */
async function cleanUp(run: Profiler): Promise<void> {
  killMarked(run.marker);
  for (const folder of [run.cwd, run.tmp]) {
    await Deno.remove(folder, { recursive: true }).catch(() => {});
  }
}

async function readResult(cwd: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
}

Deno.test("SIGTERM to the profiler: no sleep of sh -c 'sleep 30 & sleep 30' alive within --kill-after + 1 s; results written, exit 143", async () => {
  const run = await startProfiler("echo __UP__; sleep 30 & sleep 30");
  try {
    assert.equal(
      (await waitUntilMarked(run.marker, 3, 2000, [run.child.pid])).length,
      3,
      "sh and two sleeps",
    );
    const sent = performance.now();
    run.child.kill("SIGTERM");
    const status = await run.child.status;
    const left = await waitUntilNoneMarked(run.marker, 5000 + 1000 - (performance.now() - sent));
    assert.deepEqual(left, [], "no process of the program left");
    assert.equal(status.code, 143, await run.stderr);
    const document = await readResult(run.cwd);
    assert.equal(document.interrupted, true);
    assert.equal(document.signal, "SIGTERM");
    assert.deepEqual([...Deno.readDirSync(run.tmp)], [], "no temporary file left");
  } finally {
    await cleanUp(run);
  }
});

Deno.test("SIGTERM to the profiler: a descendant that ignores SIGTERM is killed at --kill-after", async () => {
  const run = await startProfiler(
    // __UP__ once the trap is set, so SIGTERM cannot come first.
    "(trap '' TERM; echo __UP__; exec sleep 30) & sleep 30",
    ["--kill-after", "1"],
  );
  try {
    const sent = performance.now();
    run.child.kill("SIGTERM");
    const status = await run.child.status;
    const elapsed = performance.now() - sent;
    assert.deepEqual(markedProcesses(run.marker), [], "gone when the profiler exits");
    assert.equal(status.code, 143);
    // The results wait for the stubborn one until --kill-after, not much longer.
    assert.ok(elapsed >= 900 && elapsed < 1000 + 2000, `took ${elapsed.toFixed(0)} ms`);
    const stderr = await run.stderr;
    assert.match(stderr, /killed \(SIGKILL\) 1 process \(pid \d+\) still running at --kill-after/);
    assert.equal((await readResult(run.cwd)).interrupted, true);
  } finally {
    await cleanUp(run);
  }
});

Deno.test("--keep-descendants (CLI): a daemon the program starts outlives the profile", async () => {
  const run = await startProfiler("sleep 30 >/dev/null 2>&1 & echo __UP__", ["--keep-descendants"]);
  try {
    const status = await run.child.status;
    assert.equal(status.code, 0, await run.stderr);
    const kept = markedProcesses(run.marker);
    assert.equal(kept.length, 1, "the sleep still runs");
    assert.match(kept[0]!.command, /^sleep 30/);
  } finally {
    await cleanUp(run);
  }
});

Deno.test("SIGKILL to the profiler: no process of the program alive within 1 s, no temporary file left", async () => {
  // A child, and a grandchild whose parent exited (re-parented away from the program's tree).
  const run = await startProfiler("sleep 30 & (sleep 30 &); echo __UP__; sleep 30");
  try {
    assert.ok(
      (await waitUntilMarked(run.marker, 3, 2000, [run.child.pid])).length >= 3,
      "sh and its sleeps",
    );
    run.child.kill("SIGKILL");
    const status = await run.child.status;
    assert.equal(status.signal, "SIGKILL");
    const killed = performance.now();
    const left = await waitUntilNoneMarked(run.marker, 1000);
    assert.deepEqual(left, [], "no process of the program left after 1 s");
    console.log(`all processes gone ${(performance.now() - killed).toFixed(0)} ms after SIGKILL`);
    // The watchdog removes the phase channel's folder and the unfinished result file.
    const deadline = performance.now() + 1000;
    while (
      ([...Deno.readDirSync(run.tmp)].length > 0 || [...Deno.readDirSync(run.cwd)].length > 0) &&
      performance.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual([...Deno.readDirSync(run.tmp)], [], "phase channel folder removed");
    assert.deepEqual([...Deno.readDirSync(run.cwd)], [], "no half-written result");
  } finally {
    await cleanUp(run);
  }
});

/** Profiles `sh -c script` in-process with a marker, capturing warnings. */
async function profileMarked(
  script: string,
  settings: Parameters<JouleProfiler["profile"]>[0] extends infer C ? Partial<C> : never,
) {
  const marker = newMarker("descendants-lib");
  const warnings: string[] = [];
  const logger = new Logger(1, (line) => warnings.push(line));
  const aliveAtEachRun: number[] = [];
  const result = await new JouleProfiler().profile({
    command: ["sh", "-c", script],
    env: { [MARKER_VARIABLE]: marker },
    stdout: new DiscardSink(),
    handleSignals: false,
    logger,
    onRun: () => aliveAtEachRun.push(markedProcesses(marker).length),
    ...settings,
  });
  return { result, marker, warnings, aliveAtEachRun };
}

Deno.test("leftovers at a normal exit: the warning names the pids and --kill-descendants; they are ended when the profile ends", async () => {
  const { result, marker, warnings, aliveAtEachRun } = await profileMarked(
    "sleep 30 & sleep 30 & echo __A__",
    { killAfterSeconds: 1 },
  );
  try {
    assert.equal(result.exitCode, 0);
    assert.equal(result.runs[0]!.phases.length, 2);
    assert.deepEqual(aliveAtEachRun, [2], "still running after the run (the default)");
    const warning = warnings.find((line) => line.includes("still running"));
    assert.ok(warning, warnings.join("\n"));
    assert.match(
      warning,
      /2 processes \(pids \d+, \d+\) it started are still running and hold its stdout/,
    );
    assert.match(warning, /--kill-descendants ends them when the program exits/);
    assert.match(warning, /--keep-descendants leaves them running/);
    assert.deepEqual(markedProcesses(marker), [], "ended when the profile ended");
  } finally {
    killMarked(marker);
  }
});

Deno.test("--kill-descendants: what a run leaves is ended before the next run starts", async () => {
  const { result, marker, aliveAtEachRun } = await profileMarked(
    "(trap '' TERM; exec sleep 30) >/dev/null & true",
    { descendants: "end-with-program", iterations: 2, killAfterSeconds: 0.3 },
  );
  try {
    assert.equal(result.runs.length, 2);
    assert.deepEqual(aliveAtEachRun, [0, 0]);
  } finally {
    killMarked(marker);
  }
});

Deno.test("--keep-descendants keeps them after the profile (a daemon started on purpose)", async () => {
  const { result, marker, warnings } = await profileMarked("sleep 30 >/dev/null & echo __A__", {
    descendants: "keep",
  });
  try {
    assert.equal(result.exitCode, 0);
    const kept = markedProcesses(marker);
    assert.equal(kept.length, 1, "the sleep is still running");
    assert.match(kept[0]!.command, /^sleep 30/);
    assert.deepEqual(warnings.filter((line) => line.includes("still running")), []);
  } finally {
    killMarked(marker);
  }
});

Deno.test("ProgramTree.end() sends SIGTERM, then SIGKILL to what ignores it after the grace time", async () => {
  const child = new Deno.Command("sh", {
    args: ["-c", "(trap '' TERM; exec sleep 30) & sleep 30 & wait"],
    detached: true,
    stdout: "null",
  }).spawn();
  const tree = new ProgramTree({ pid: child.pid, ownProcessGroup: true });
  const deadline = performance.now() + 2000;
  while (tree.members().length < 3 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(tree.members().length, 3);
  const started = performance.now();
  const killed = await tree.end({ graceMs: 300 });
  const took = performance.now() - started;
  assert.equal(killed.length, 1, "only the one ignoring SIGTERM needed SIGKILL");
  assert.ok(took >= 290, `waited ${took} ms`);
  assert.deepEqual(tree.members(), []);
  await child.status;
});

Deno.test("SignalRelay: SIGKILL to the target --kill-after ms after the first signal", async () => {
  const sent: number[] = [];
  let killedAfter: Deno.Signal | undefined;
  const relay = new SignalRelay({
    isForeground: () => false,
    killAfterMs: 50,
    onKillAfter: (received) => (killedAfter = received),
  });
  relay.target = { signal: (n) => (sent.push(n), true) };
  relay.handle("SIGHUP");
  assert.deepEqual(sent, [1]);
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.deepEqual(sent, [1, 9]);
  assert.equal(killedAfter, "SIGHUP");
  relay.dispose();
});

Deno.test("SignalRelay: a terminal's Ctrl-C is forwarded to a program in its own process group", () => {
  const sent: number[] = [];
  const relay = new SignalRelay({ isForeground: () => true, killAfterMs: 60_000 });
  relay.target = { signal: (n) => (sent.push(n), true) };
  relay.handle("SIGINT");
  assert.equal(sent.length, 0, "the terminal delivered it to a program sharing the group");
  relay.target = { signal: (n) => (sent.push(n), true), ownProcessGroup: true };
  relay.handle("SIGINT");
  assert.deepEqual(sent, [2]);
  relay.dispose();
});

Deno.test("OrphanWatchdog: at end of input it kills what it guards and removes temporary paths", async () => {
  const watchdog = OrphanWatchdog.start();
  const folder = await Deno.makeTempDir();
  await Deno.writeTextFile(`${folder}/inside`, "x");
  const group = new Deno.Command("sleep", { args: ["30"], detached: true }).spawn();
  const released = new Deno.Command("sleep", { args: ["30"], detached: true }).spawn();
  watchdog.guard({ processGroup: group.pid });
  watchdog.guard({ processGroup: released.pid });
  watchdog.guard({ temporaryPath: folder });
  watchdog.release({ processGroup: released.pid });
  // What the kernel does when the profiler dies: the watchdog's stdin reaches its end.
  await watchdog.abandon();
  assert.equal((await group.status).signal, "SIGKILL");
  assert.throws(() => Deno.statSync(folder), Deno.errors.NotFound);
  assert.ok(Deno.statSync(`/proc/${released.pid}`).isDirectory, "released: left alone");
  released.kill("SIGKILL");
  await released.status;
});

function canMakeCgroup(): boolean {
  try {
    ProgramCgroup.create().remove();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "a descendant that left the process group (setsid) is reached through the program's cgroup",
  ignore: !canMakeCgroup(), // needs root and a cgroup hierarchy, as on the CI machines
  fn: async (t) => {
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      await t.step(`${signal} to the profiler`, async () => {
        const run = await startProfiler("setsid sleep 30 & echo __UP__; sleep 30");
        try {
          const escaped = markedProcesses(run.marker, [run.child.pid]);
          assert.ok(escaped.length >= 2, JSON.stringify(escaped));
          run.child.kill(signal);
          await run.child.status;
          assert.deepEqual(await waitUntilNoneMarked(run.marker, 1000), [], "none left after 1 s");
        } finally {
          await cleanUp(run);
        }
      });
    }
  },
});

Deno.test("a signal that ends the launcher before its gate is an interrupt (130), not a launch failure", async () => {
  /**
   * A SIGHUP that arrives while the launcher is on its way to the gate: once it leads its own
   * process group (setsid has run), before the gate's shell has stopped itself.
   */
  class LaunchTimeSignal extends SignalRelay {
    pid: number | undefined;
    override set target(target: RelayTarget | undefined) {
      super.target = target;
      if (target === undefined || this.interrupted || this.pid === undefined) return;
      const deadline = performance.now() + 1000;
      while (performance.now() < deadline) {
        const stat = Deno.readTextFileSync(`/proc/${this.pid}/stat`);
        const [state, , group] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (state === "T" || Number(group) === this.pid) break;
      }
      this.handle("SIGHUP");
    }
    override get target(): RelayTarget | undefined {
      return super.target;
    }
  }
  const marker = newMarker("launch-interrupt");
  const relay = new LaunchTimeSignal({ isForeground: () => false, killAfterMs: 60_000 });
  try {
    // Several tries: the SIGHUP ends the launcher on its way to the gate, or (rarely) finds it
    // held at the gate, where the run sees the interrupt: both must read as the interrupt.
    let died = 0;
    for (let attempt = 0; attempt < 20; attempt++) {
      relay.received = undefined;
      relay.pid = undefined;
      await assert.rejects(
        runProgram({
          index: 0,
          executable: "/bin/echo",
          args: ["__A__"],
          pattern: compileTokenPattern("__[A-Z]+__"),
          sources: [],
          sink: new DiscardSink(),
          relay,
          logger: new Logger(0),
          env: { [MARKER_VARIABLE]: marker },
          reaper: new class extends ProgramReaper {
            override spawned(pid: number): void {
              relay.pid = pid;
              super.spawned(pid);
            }
          }({ ownProcessGroup: true }),
        }),
        (error: unknown) => {
          assert.ok(error instanceof ProfilerError, String(error));
          assert.equal(error.exitCode, 130, error.message);
          assert.equal(error.message, "interrupted by SIGHUP before the program started");
          if (/launcher exited/.test(String((error.cause as Error | undefined)?.message))) died++;
          return true;
        },
      );
    }
    assert.ok(died > 0, "the signal never reached a launcher before its gate");
    assert.deepEqual(await waitUntilNoneMarked(marker, 1000), []);
  } finally {
    relay.dispose();
    killMarked(marker);
  }
});

Deno.test("temporary result files and channel folders are guarded before they exist", async () => {
  // Created first and guarded after, a signal landing in between left them behind for good.
  const seen: { path: string; existed: boolean }[] = [];
  const guard = OrphanWatchdog.prototype.guard;
  OrphanWatchdog.prototype.guard = function (thing) {
    if ("temporaryPath" in thing) {
      let existed = true;
      try {
        Deno.lstatSync(thing.temporaryPath);
      } catch {
        existed = false;
      }
      seen.push({ path: thing.temporaryPath, existed });
    }
    return guard.call(this, thing);
  };
  const folder = await Deno.makeTempDir({ prefix: "jp-guard-" });
  try {
    const file = ResultFile.prepare(`${folder}/r.json`);
    const channel = await PhaseChannel.open();
    assert.equal(seen.length, 2, JSON.stringify(seen));
    assert.match(seen[0]!.path, /\/\.r\.json\.\d+\.\w+\.tmp$/);
    assert.ok(seen[1]!.path.startsWith(`${Deno.env.get("TMPDIR") ?? "/tmp"}/joule-profiler-`));
    assert.deepEqual(seen.map((entry) => entry.existed), [false, false]);
    // Both exist now, and go as they should.
    assert.ok(Deno.lstatSync(seen[0]!.path).isFile);
    assert.ok(Deno.lstatSync(seen[1]!.path).isDirectory);
    assert.equal(Deno.lstatSync(seen[1]!.path).mode! & 0o777, 0o700);
    file.commit("{}");
    await channel.close();
    assert.deepEqual([...Deno.readDirSync(folder)].map((entry) => entry.name), ["r.json"]);
    assert.throws(() => Deno.lstatSync(seen[1]!.path), Deno.errors.NotFound);
  } finally {
    OrphanWatchdog.prototype.guard = guard;
    await OrphanWatchdog.closeSharedIfIdle();
    await Deno.remove(folder, { recursive: true });
  }
});
