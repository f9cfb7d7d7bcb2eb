/**
 * The profiler's short scheduler slice: taken on its own main thread, not
 * passed on to the processes it starts, and declined where it would change
 * what a child inherits (negative nice) or where the policy is not a fair one.
 * Each case runs in a fresh Deno process: the request changes the calling thread.
 */

import assert from "node:assert/strict";
import { runCli } from "./helpers.ts";

const MODULE = new URL("../src/process/scheduler_slice.ts", import.meta.url).href;

/** Whether this kernel reports a fair task's slice (Linux ≥ 6.12). */
const SLICES_REPORTED = /^se\.slice\s/m.test(Deno.readTextFileSync("/proc/self/sched"));

interface Report {
  outcome: { applied: boolean; sliceNs?: number; previousNs?: number; reason?: string };
  mainSlice: number | undefined;
  childSlice: number | undefined;
  childPrio: number;
}

/**
 * Runs `source` in a fresh Deno process (optionally under a wrapper such as
 * `nice -n -5`) and parses the JSON it prints: the scheduling changes apply
 * to the calling process's threads, not the test runner's.
 */
async function reportOf<T>(source: string, wrapper: string[] = []): Promise<T> {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(script, source);
    const [command, ...args] = [...wrapper, Deno.execPath(), "run", "-A", script];
    const output = await new Deno.Command(command!, { args, stderr: "inherit" }).output();
    assert.ok(output.success, `the script's process failed (${output.code})`);
    return JSON.parse(new TextDecoder().decode(output.stdout)) as T;
  } finally {
    await Deno.remove(script);
  }
}

/** Runs the request in a fresh process (optionally under a wrapper such as `nice -n -5`). */
function requestIn(wrapper: string[]): Promise<Report> {
  return reportOf<Report>(
    `import { requestShortSlice } from "${MODULE}";
const outcome = requestShortSlice();
const field = (text: string, name: string) => {
  const match = new RegExp("^" + name.replace(".", "\\\\.") + "\\\\s+:\\\\s+(-?\\\\d+)", "m").exec(text);
  return match === null ? undefined : Number(match[1]);
};
// /proc/self/sched describes the main thread (the thread-group leader), the one asked for.
const mine = Deno.readTextFileSync("/proc/self/sched");
const child = new TextDecoder().decode(
  new Deno.Command("cat", { args: ["/proc/self/sched"] }).outputSync().stdout,
);
console.log(JSON.stringify({
  outcome,
  mainSlice: field(mine, "se.slice"),
  childSlice: field(child, "se.slice"),
  childPrio: field(child, "prio"),
}));
`,
    wrapper,
  );
}

Deno.test("the main thread gets a 0.1 ms slice; the processes it starts keep the default", async () => {
  const report = await requestIn([]);
  if (!SLICES_REPORTED) {
    assert.equal(report.outcome.applied, false);
    assert.match(report.outcome.reason!, /Linux < 6\.12/);
    return;
  }
  assert.equal(report.outcome.applied, true, report.outcome.reason);
  assert.equal(report.outcome.sliceNs, 100_000);
  assert.equal(report.mainSlice, 100_000);
  assert.ok(report.outcome.previousNs! > 100_000);
  assert.equal(report.childSlice, report.outcome.previousNs, "the child inherited the slice");
  assert.equal(report.childPrio, 120);
});

Deno.test("a negative nice is left alone, and children still inherit it", async () => {
  const report = await requestIn(["nice", "-n", "-5"]);
  assert.equal(report.outcome.applied, false);
  assert.match(report.outcome.reason!, /nice -5/);
  assert.equal(report.childPrio, 115, "the child lost the profiler's nice");
  if (SLICES_REPORTED) assert.ok(report.mainSlice! > 100_000);
});

Deno.test("a positive nice is kept, in the profiler and its children", async () => {
  const report = await requestIn(["nice", "-n", "7"]);
  assert.equal(report.outcome.applied, SLICES_REPORTED, report.outcome.reason);
  assert.equal(report.childPrio, 127);
});

Deno.test("an idle-policy profiler is left alone", async () => {
  const report = await requestIn(["chrt", "--idle", "0"]);
  assert.equal(report.outcome.applied, false);
  assert.match(report.outcome.reason!, /policy 5 is not SCHED_OTHER\/BATCH/);
});

/** `policy` (field 41) of a `/proc/.../stat` line; the name in parentheses may hold spaces. */
function policyOf(stat: string): number {
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[38]);
}

/** What the helper-thread script reports. */
interface ThreadsReport {
  outcome: { found: number; idle: number; reason?: string };
  threads: { tid: number; name: string; stat: string }[];
  child: string;
}

Deno.test("the runtime's helper threads go idle; the main thread, I/O threads and children do not", async () => {
  const report = await reportOf<ThreadsReport>(
    `import { idleHelperThreads } from "${MODULE}";
const outcome = idleHelperThreads();
const threads = [...Deno.readDirSync("/proc/self/task")].map((entry) => ({
  tid: Number(entry.name),
  name: Deno.readTextFileSync("/proc/self/task/" + entry.name + "/comm").trim(),
  stat: Deno.readTextFileSync("/proc/self/task/" + entry.name + "/stat"),
}));
const child = new TextDecoder().decode(
  new Deno.Command("cat", { args: ["/proc/self/stat"] }).outputSync().stdout,
);
console.log(JSON.stringify({ outcome, threads, child }));
`,
  );
  const workers = report.threads.filter((thread) => thread.name.startsWith("V8 DefaultWork"));
  assert.ok(workers.length > 0, "no V8 worker thread in the runtime");
  assert.equal(report.outcome.found, workers.length);
  assert.equal(report.outcome.idle, workers.length, report.outcome.reason);
  for (const thread of report.threads) {
    const idle = thread.name.startsWith("V8 DefaultWork");
    assert.equal(policyOf(thread.stat), idle ? 5 : 0, `${thread.name} (${thread.tid})`);
  }
  assert.equal(policyOf(report.child), 0, "the child inherited SCHED_IDLE");
});

Deno.test("profile runs with the short slice and idle helper threads; the program keeps the defaults", async () => {
  const { code, stderr } = await runCli([
    "profile",
    "-vv",
    "--",
    "sh",
    "-c",
    "grep -E '^se\\.slice' /proc/self/sched >&2; echo policy $(cut -d ' ' -f 41 /proc/self/stat) >&2",
  ]);
  assert.equal(code, 0, stderr);
  // The runtime's helper threads are idle before START; the program keeps SCHED_OTHER.
  const line = /runtime helper threads under SCHED_IDLE: (\d+) of (\d+)/.exec(stderr);
  assert.ok(line !== null, stderr);
  assert.ok(Number(line[2]) > 0);
  assert.equal(line[1], line[2], stderr);
  assert.ok(stderr.indexOf(line[0]) < stderr.indexOf("program started (START)"), stderr);
  assert.match(stderr, /^policy 0$/m);
  // The main thread's short slice, not passed on to the program.
  if (!SLICES_REPORTED) {
    assert.match(stderr, /scheduler slice left as it is: this kernel keeps no custom slice/);
    return;
  }
  assert.match(stderr, /scheduler slice of the profiler's main thread: 0\.1 ms \(was \d/);
  const programSlice = Number(/^se\.slice\s+:\s+(\d+)/m.exec(stderr)?.[1]);
  assert.ok(programSlice > 100_000, `the program ran with a slice of ${programSlice} ns`);
});
