/**
 * `--profiler-cpus`: CPU lists, the checks before a profile starts, and,
 * through the real CLI, where the program, the profiler's threads and the
 * hooks run (read back from /proc by the program itself).
 *
 * @module
 */

import assert from "node:assert/strict";
import { CPU_LIMIT, formatCpuList, parseCpuList } from "../src/process/cpu_list.ts";
import { allowedCpus, CpuPlacement, restrictToCpus } from "../src/process/cpu_placement.ts";
import { UsageError } from "../src/errors.ts";
import { runCli, spawnCli } from "./helpers.ts";

/** `Cpus_allowed_list` of a /proc status file. */
function cpusOf(status: string): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
  assert.ok(list !== undefined, status);
  return parseCpuList(list);
}

const allowed = cpusOf(Deno.readTextFileSync("/proc/self/status"));

/** Each thread's `Cpus_allowed_list` of a process (threads that ended meanwhile are skipped). */
function threadCpus(pid: number): string[] {
  const lists: string[] = [];
  try {
    for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        const status = Deno.readTextFileSync(`/proc/${pid}/task/${entry.name}/status`);
        lists.push(/^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? "");
      } catch {
        // ended since the listing
      }
    }
  } catch {
    // the process has ended
  }
  return lists;
}
const fewerThanTwo = allowed.length < 2;

Deno.test("CPU lists parse as taskset writes them, and format back", () => {
  assert.deepEqual(parseCpuList("6,2-3"), [2, 3, 6]);
  assert.deepEqual(parseCpuList(" 1 , 1-2 "), [1, 2]);
  assert.equal(formatCpuList([0, 1, 2, 3, 6, 8, 9]), "0-3,6,8-9");
  assert.equal(formatCpuList([5]), "5");
  for (const bad of ["", "a", "3-1", "1,,2", "-1", "1-", `${CPU_LIMIT}`]) {
    assert.throws(() => parseCpuList(bad), RangeError, bad);
  }
});

Deno.test("the affinity read through the FFI is the one /proc reports", () => {
  assert.deepEqual(allowedCpus(), allowed);
  // Setting the same set again changes nothing and does not fail.
  restrictToCpus(0, allowed);
  assert.deepEqual(allowedCpus(), allowed);
});

Deno.test("CpuPlacement.plan refuses a CPU outside the process's set, and a list that leaves none", () => {
  const placement = CpuPlacement.plan([3], [0, 1, 2, 3]);
  assert.deepEqual(placement.programCpus, [0, 1, 2]);
  assert.deepEqual(placement.profilerCpus, [3]);
  assert.throws(() => CpuPlacement.plan([4], [0, 1, 2, 3]), (error: Error) => {
    assert.ok(error instanceof UsageError);
    assert.match(error.message, /CPU 4 is not one this process may run on \(allowed: 0-3\)/);
    return true;
  });
  assert.throws(
    () => CpuPlacement.plan([0, 1], [0, 1]),
    /--profiler-cpus 0-1 leaves no CPU for the program \(allowed: 0-1\)/,
  );
});

Deno.test("CLI: bad --profiler-cpus values exit 2 with one line, before anything runs", async () => {
  const marker = await Deno.makeTempFile();
  await Deno.remove(marker);
  for (
    const [value, expected] of [
      ["x", /--profiler-cpus: 'x' is not a CPU list/],
      [formatCpuList(allowed), /leaves no CPU for the program/],
      [String(CPU_LIMIT - 1), /is not one this process may run on/],
    ] as const
  ) {
    const { code, stderr } = await runCli([
      "profile",
      "--profiler-cpus",
      value,
      "--",
      "touch",
      marker,
    ]);
    assert.equal(code, 2, stderr);
    assert.match(stderr, expected);
    assert.equal(stderr.trim().split("\n").filter((line) => line.startsWith("error")).length, 1);
  }
  await assert.rejects(Deno.stat(marker), Deno.errors.NotFound);
});

Deno.test({
  name: "CLI: --profiler-cpus runs the profiler's threads on its CPU, the program on the others, " +
    "hooks where the profiler started",
  ignore: fewerThanTwo,
  async fn() {
    const profilerCpu = allowed.at(-1)!;
    const dir = await Deno.makeTempDir();
    const report = `${dir}/report`;
    // The program reports its own CPUs, then each of its parent's (the profiler's) threads'.
    const program = `grep Cpus_allowed_list /proc/self/status >> ${report}; ` +
      `for t in /proc/$PPID/task/*; do echo "profiler $(grep Cpus_allowed_list $t/status)"; ` +
      `done >> ${report}`;
    const { code, stderr } = await runCli([
      "--json",
      "-o",
      `${dir}/out.json`,
      "profile",
      "-n",
      "2",
      "--no-process",
      "--no-system",
      "--profiler-cpus",
      String(profilerCpu),
      "--prepare",
      `echo "hook $(grep Cpus_allowed_list /proc/self/status)" >> ${report}`,
      "--",
      "sh",
      "-c",
      program,
    ]);
    assert.equal(code, 0, stderr);
    const lines = (await Deno.readTextFile(report)).trim().split("\n");
    const hooks = lines.filter((line) => line.startsWith("hook "));
    const profiler = lines.filter((line) => line.startsWith("profiler "));
    const programs = lines.filter((line) => line.startsWith("Cpus_allowed_list"));
    assert.equal(hooks.length, 2, lines.join("\n"));
    assert.equal(programs.length, 2, lines.join("\n"));
    for (const hook of hooks) assert.deepEqual(cpusOf(hook.slice(5)), allowed, hook);
    for (const line of programs) {
      assert.deepEqual(cpusOf(line), allowed.filter((cpu) => cpu !== profilerCpu), line);
    }
    assert.ok(profiler.length >= 4, lines.join("\n"));
    for (const line of profiler) assert.deepEqual(cpusOf(line.slice(9)), [profilerCpu], line);
  },
});

Deno.test({
  name:
    "CLI: with -p, --profiler-cpus moves only the profiler; the measured process keeps its CPUs",
  ignore: fewerThanTwo,
  async fn() {
    const profilerCpu = allowed.at(-1)!;
    const target = new Deno.Command("sleep", { args: ["5"] }).spawn();
    const dir = await Deno.makeTempDir();
    const cli = spawnCli([
      "--json",
      "-o",
      `${dir}/out.json`,
      "profile",
      "-p",
      String(target.pid),
      "--duration",
      "3",
      "--no-process",
      "--no-system",
      "--profiler-cpus",
      String(profilerCpu),
    ], dir);
    try {
      // Until the profiler ends: at some point (its measurement) every thread is on its CPU.
      const exited = cli.output();
      let done = false;
      exited.finally(() => done = true);
      let pinnedSeen = false;
      while (!done && !pinnedSeen) {
        const cpus = threadCpus(cli.pid);
        pinnedSeen = cpus.length > 1 && cpus.every((list) => list === String(profilerCpu));
        if (pinnedSeen) {
          // Meanwhile the measured process keeps the CPUs it had.
          assert.deepEqual(cpusOf(Deno.readTextFileSync(`/proc/${target.pid}/status`)), allowed);
        } else await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.ok(pinnedSeen, "the profiler's threads were never all on its CPU");
      const output = await exited;
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    } finally {
      target.kill();
      await target.status;
    }
  },
});
