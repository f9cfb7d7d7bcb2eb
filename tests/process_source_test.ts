/**
 * The `process` source on real programs: process-tree CPU time against the
 * kernel's rusage of the children, storage writes, phases, sampling, and the
 * program's cgroup (created, used, killed, removed), with and without a
 * cgroup.
 *
 * @module
 */

import assert from "node:assert/strict";
import { libc } from "../src/ffi/libc.ts";
import { Logger } from "../src/logger.ts";
import { JouleProfiler } from "../src/profiler.ts";
import { CGROUP_NAME_PREFIX, ProgramCgroup } from "../src/process/program_cgroup.ts";
import type { Metric, RunResult } from "../src/mod.ts";
import { PROCESS_METRIC_NAMES, ProcessSource } from "../sources/process/mod.ts";
import { FIELD, FIELD_COUNT, ProcessTree } from "../sources/process/process_tree.ts";
import { CgroupCounters } from "../sources/process/cgroup_counters.ts";
import { CLI_ENTRY, REPO_ROOT, startSleepingTree } from "./helpers.ts";

const quiet = () => new Logger(0, () => {});

/** A new program cgroup, or `undefined` (said on the log) on a machine without one. */
function cgroupOrSkip(): ProgramCgroup | undefined {
  try {
    return ProgramCgroup.create();
  } catch (error) {
    console.log(`no cgroup here (${error}); nothing to check`);
    return undefined;
  }
}

/** Waits up to 2 s for a cgroup to list no process (killed ones leave as they are reaped). */
async function untilEmpty(cgroup: ProgramCgroup): Promise<void> {
  for (let i = 0; i < 200 && cgroup.pids().length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Swallows the program's stdout. */
function nullSink(onWrite: () => void = () => {}) {
  return { write: onWrite, close: () => {}, broken: false, atLineStart: true };
}

/** CPU time of the test's reaped children (user + system), ns. */
function childrenCpuNs(): number {
  const usage = new BigInt64Array(18);
  libc().getrusage(-1, usage);
  return Number(usage[0]!) * 1e9 + Number(usage[1]!) * 1e3 + Number(usage[2]!) * 1e9 +
    Number(usage[3]!) * 1e3;
}

function total(run: RunResult, name: string): number {
  return run.phases.reduce((sum, phase) => sum + find(phase.metrics, name).value, 0);
}

function find(metrics: Metric[], name: string): Metric {
  const metric = metrics.find((entry) => entry.source === "process" && entry.name === name);
  assert.ok(metric, `no process metric ${name}`);
  return metric;
}

async function profileWith(cgroup: boolean, script: string, sampleIntervalMs?: number) {
  const source = new ProcessSource({ cgroup });
  const result = await new JouleProfiler().addSource(source).profile({
    command: ["sh", "-c", script],
    logger: quiet(),
    stdout: nullSink(),
    sampleIntervalMs,
  });
  return { source, run: result.runs[0]! };
}

/** About 0.5 s of CPU (a fixed amount of work, however loaded the machine is). */
const BUSY = "awk 'BEGIN { for (i = 0; i < 50000000; i++); }'";
/** A third of it. */
const SHORT_BUSY = "awk 'BEGIN { for (i = 0; i < 15000000; i++); }'";

/** Two 0.5 s busy loops, one in the background: the shell waits for both. */
const TWO_BUSY_LOOPS = `busy() { ${BUSY}; }; busy & busy; wait`;

for (const cgroup of [true, false]) {
  const mode = cgroup ? "with a cgroup" : "from /proc";
  Deno.test(`process source (${mode}): tree CPU time is within 10 % of the children's rusage`, async () => {
    const before = childrenCpuNs();
    const { run } = await profileWith(cgroup, TWO_BUSY_LOOPS);
    const rusage = childrenCpuNs() - before;
    const cpu = total(run, "CPU_TIME");
    assert.ok(rusage > 0.2e9, `the loops used ${rusage / 1e6} ms of CPU`);
    assert.ok(
      Math.abs(cpu - rusage) <= 0.1 * rusage,
      `CPU_TIME ${cpu / 1e6} ms vs rusage ${rusage / 1e6} ms`,
    );
    const user = total(run, "CPU_USER_TIME");
    const system = total(run, "CPU_SYSTEM_TIME");
    assert.ok(Math.abs(user + system - cpu) <= 1e6 * run.phases.length, "user + system = total");
    const via = find(run.phases[0]!.metrics, "CPU_TIME").details?.via;
    assert.match(String(via), cgroup ? /^cgroup v[12] / : /^\/proc/);
  });

  Deno.test(`process source (${mode}): a 50 MB fsync'd write reports ≥ 50 MB written`, async () => {
    // A folder on the repository's disk: /tmp may be a tmpfs, which never writes to storage.
    const dir = await Deno.makeTempDir({ dir: REPO_ROOT, prefix: ".jp-disk-test-" });
    try {
      const { run } = await profileWith(
        cgroup,
        `dd if=/dev/zero of='${dir}/data' bs=1M count=50 conv=fsync 2>/dev/null`,
      );
      const written = total(run, "DISK_WRITE_BYTES");
      assert.ok(written >= 50 * 1048576, `DISK_WRITE_BYTES ${written}`);
      const chars = total(run, "WRITE_CHARS");
      assert.ok(chars >= 50 * 1048576, `WRITE_CHARS ${chars}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`process source (${mode}): CPU lands in the phase that used it, exited children included`, async () => {
    // The idle phase still execs `sleep`: 14–37 ms of CPU on a VM where page faults are dear
    // (2026-12-06), a fifth of the short loop's 150 ms there. The full loop keeps the margin.
    const { run } = await profileWith(
      cgroup,
      `${BUSY}; echo __IDLE__; sleep 0.2`,
    );
    assert.equal(run.phases.length, 2);
    const busy = find(run.phases[0]!.metrics, "CPU_TIME").value;
    const idle = find(run.phases[1]!.metrics, "CPU_TIME").value;
    assert.ok(busy > 0.05e9, `busy phase ${busy / 1e6} ms`);
    assert.ok(idle < busy / 5, `idle phase ${idle / 1e6} ms vs busy ${busy / 1e6} ms`);
    const names = run.phases[0]!.metrics.filter((m) => m.source === "process").map((m) => m.name);
    assert.deepEqual(names.sort(), [...PROCESS_METRIC_NAMES].sort());
    for (const metric of run.phases[0]!.metrics) {
      assert.equal(typeof metric.details?.via, "string", `${metric.name} says how it was read`);
    }
    assert.ok(find(run.phases[0]!.metrics, "RSS_PEAK").value > 0);
    assert.ok(find(run.phases[0]!.metrics, "VMS_PEAK").value > 0);
  });
}

Deno.test("process source: the program's cgroup holds the tree during the run and is gone after", async () => {
  const source = new ProcessSource();
  let seen: string[] = [];
  let pids: number[] = [];
  const sink = nullSink(() => {
    if (source.cgroup !== undefined) {
      seen = source.cgroup.folders.map((folder) => folder.path);
      pids = source.cgroup.pids();
    }
  });
  await new JouleProfiler().addSource(source).profile({
    command: ["sh", "-c", "sleep 0.2 & echo __A__; wait"],
    logger: quiet(),
    stdout: sink,
  });
  if (source.noCgroupReason !== undefined) {
    console.log(`no cgroup here (${source.noCgroupReason}); nothing to check`);
    return;
  }
  assert.ok(seen.length > 0);
  assert.ok(pids.length >= 2, `processes in the cgroup: ${pids}`);
  for (const path of seen) {
    assert.ok(path.includes(CGROUP_NAME_PREFIX));
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  }
});

Deno.test("ProgramCgroup.warmUp() leaves the profiler where it is; a program adopted after it is in its cgroup", async () => {
  const before = await Deno.readTextFile("/proc/self/cgroup");
  const cgroup = cgroupOrSkip();
  if (cgroup === undefined) return;
  // Two at once, as the CLI and the source may issue them: they share the kernel's wait.
  const warm = Promise.all([ProgramCgroup.warmUp(), ProgramCgroup.warmUp()]);
  const child = new Deno.Command("sleep", { args: ["5"] }).spawn();
  try {
    cgroup.adopt(child.pid);
    await warm;
    assert.deepEqual(cgroup.pids(), [child.pid]);
    assert.equal(await Deno.readTextFile("/proc/self/cgroup"), before);
    for (const folder of cgroup.folders) {
      const own = await Deno.readTextFile(`${folder.path}/cgroup.procs`);
      assert.ok(!own.split("\n").includes(String(Deno.pid)), "the profiler never moves");
    }
  } finally {
    cgroup.killAll("SIGKILL");
    await child.status;
    cgroup.remove();
  }
});

Deno.test("ProgramCgroup.warmUp() does nothing where there is no cgroup mount", async () => {
  const fake = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${fake}/mountinfo`, "");
    await Deno.writeTextFile(`${fake}/cgroup`, "0::/\n");
    await ProgramCgroup.warmUp({ procSelf: fake });
  } finally {
    await Deno.remove(fake, { recursive: true });
  }
});

Deno.test("ProgramCgroup.killAll() kills the whole tree, orphans included", async () => {
  const cgroup = cgroupOrSkip();
  if (cgroup === undefined) return;
  // Held until adopted, as the profiler does; the middle shell exits, orphaning its sleeps.
  const child = new Deno.Command("sh", {
    args: ["-c", "kill -STOP $$; sh -c 'sleep 30 & sleep 30 & exit 0'; sleep 30"],
    stdout: "null",
  }).spawn();
  try {
    for (let i = 0; i < 200; i++) {
      const stat = await Deno.readTextFile(`/proc/${child.pid}/stat`);
      if (stat.charAt(stat.lastIndexOf(")") + 2) === "T") break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    cgroup.adopt(child.pid);
    Deno.kill(child.pid, "SIGCONT");
    let pids: number[] = [];
    for (let i = 0; i < 200 && pids.length < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      pids = cgroup.pids();
    }
    assert.ok(pids.length >= 3, `cgroup holds ${pids}`);
    assert.ok(cgroup.killAll("SIGKILL") >= 3);
    await child.status;
    await untilEmpty(cgroup);
    assert.deepEqual(cgroup.pids(), []);
    for (const pid of pids) {
      // Gone, or a zombie its new parent has not reaped yet: not running either way.
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => ") X");
      assert.match(stat.slice(stat.lastIndexOf(")") + 2), /^[XZ]/, `pid ${pid} still runs`);
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    assert.equal(cgroup.remove(), true);
  }
});

Deno.test("process source: sampling gives the tree's CPU, RSS and disk series, once each", async () => {
  const { run } = await profileWith(true, SHORT_BUSY, 20);
  const series = run.samples!.filter((entry) => entry.source === "process");
  assert.deepEqual(series.map((entry) => entry.name), ["CPU", "RSS", "DISK_READ", "DISK_WRITE"]);
  const cpu = series[0]!;
  assert.ok(cpu.values.length >= 5);
  const peak = Math.max(...cpu.values);
  assert.ok(peak > 30 && peak < 250, `CPU peak ${peak} %`);
});

Deno.test("ProgramCgroup.create() removes empty folders left by a profiler that died", () => {
  const probe = cgroupOrSkip();
  if (probe === undefined) return;
  // A pid that is not running: the folder of a profiler killed before it could clean up.
  const stale = probe.folders.map((folder) =>
    folder.path.replace(/joule-profiler-\d+-[0-9a-f]+$/, "joule-profiler-2147483646-abcdef")
  );
  for (const path of stale) Deno.mkdirSync(path);
  assert.equal(probe.remove(), true);
  const next = ProgramCgroup.create();
  try {
    for (const path of stale) assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
  } finally {
    next.remove();
  }
});

Deno.test("CLI: SIGTERM during a run forwards to the program and still removes its cgroup", async () => {
  let probe: ProgramCgroup;
  try {
    probe = ProgramCgroup.create();
    probe.remove();
  } catch (error) {
    console.log(`no cgroup here (${error}); nothing to check`);
    return;
  }
  const parents = probe.folders.map((folder) => folder.path.replace(/\/[^/]+$/, ""));
  const profiler = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${CLI_ENTRY}`, "profile", "--", "sleep", "30"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const ours = () =>
    parents.flatMap((parent) =>
      [...Deno.readDirSync(parent)]
        .filter((entry) => entry.name.startsWith(`${CGROUP_NAME_PREFIX}${profiler.pid}-`))
        .map((entry) => `${parent}/${entry.name}`)
    );
  // Wait until the program runs in its cgroup.
  for (let i = 0; i < 500 && ours().length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(ours().length > 0, "the run made a cgroup");
  await new Promise((resolve) => setTimeout(resolve, 200));
  profiler.kill("SIGTERM");
  const status = await profiler.status;
  await profiler.stderr.cancel();
  assert.notEqual(status.code, 0);
  assert.deepEqual(ours(), []);
});

Deno.test("process source: on a cgroup v2 hierarchy alone, CPU time comes from cpu.stat", async () => {
  const mountinfo = Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .filter((line) => / - cgroup2 /.test(line));
  if (mountinfo.length === 0) {
    console.log("no cgroup v2 hierarchy here; nothing to check");
    return;
  }
  // A /proc/self that shows only the v2 hierarchy, as on a machine without v1 controllers.
  const procSelf = await Deno.makeTempDir({ prefix: "jp-proc-self-" });
  try {
    await Deno.writeTextFile(`${procSelf}/mountinfo`, `${mountinfo.join("\n")}\n`);
    const own = Deno.readTextFileSync("/proc/self/cgroup").split("\n")
      .find((line) => line.startsWith("0::"))!;
    await Deno.writeTextFile(`${procSelf}/cgroup`, `${own}\n`);
    const source = new ProcessSource({ cgroupOptions: { procSelf } });
    const before = childrenCpuNs();
    const result = await new JouleProfiler().addSource(source).profile({
      command: ["sh", "-c", TWO_BUSY_LOOPS],
      logger: quiet(),
      stdout: nullSink(),
    });
    const rusage = childrenCpuNs() - before;
    if (source.noCgroupReason !== undefined) {
      console.log(`no cgroup v2 folder could be made here (${source.noCgroupReason})`);
      return;
    }
    const run = result.runs[0]!;
    assert.equal(find(run.phases[0]!.metrics, "CPU_TIME").details?.via, "cgroup v2 cpu.stat");
    const cpu = total(run, "CPU_TIME");
    assert.ok(Math.abs(cpu - rusage) <= 0.1 * rusage, `${cpu / 1e6} ms vs ${rusage / 1e6} ms`);
  } finally {
    await Deno.remove(procSelf, { recursive: true });
  }
});

Deno.test("ProcessTree: RSS and virtual size, read from /proc/<pid>/status, equal /proc/<pid>/statm's", async () => {
  // A process that touched 48 MiB and then only sleeps: its memory stays put while both are read.
  const child = new Deno.Command("python3", {
    args: [
      "-c",
      "b = bytearray(48 << 20)\nprint('ready', flush=True)\nimport time; time.sleep(30)",
    ],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  try {
    assert.match(new TextDecoder().decode((await reader.read()).value), /ready/);
    const statm = () => Deno.readTextFileSync(`/proc/${child.pid}/statm`).split(" ").map(Number);
    const pageBytes = Number(libc().sysconf(30)); // _SC_PAGESIZE
    const tree = new ProcessTree(child.pid);
    const values = new Float64Array(FIELD_COUNT);
    const [sizePages, residentPages] = statm();
    tree.read(values, 0);
    // The files kept open between reads (and, without a cgroup, the list of its children):
    // statm is not one of them.
    const kept = [...Deno.readDirSync("/proc/self/fd")].map((entry) => {
      try {
        return Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
      } catch {
        return ""; // the listing's own descriptor, closed by now
      }
    }).filter((target) => target.startsWith(`/proc/${child.pid}/`)).sort();
    tree.close();
    assert.deepEqual(
      kept,
      [
        ...["io", "schedstat", "stat", "status"].map((file) => `/proc/${child.pid}/${file}`),
        `/proc/${child.pid}/task/${child.pid}/children`,
      ].sort(),
    );
    assert.deepEqual(statm().slice(0, 2), [sizePages, residentPages], "the process's memory moved");
    assert.ok(residentPages! * pageBytes >= 48 << 20, `resident ${residentPages} pages`);
    assert.equal(values[FIELD.RSS], residentPages! * pageBytes);
    assert.equal(values[FIELD.VMS], sizePages! * pageBytes);
  } finally {
    child.kill("SIGKILL");
    await reader.cancel();
    await child.status;
  }
});

Deno.test("ProcessTree: a cgroup.procs longer than the first read buffer is read whole", async () => {
  // Two sleeping processes that touched memory: A is the program, B is found only through the
  // list, behind 8 KiB of pids that do not exist (all above pid_max). B's line starts at the
  // 8,192nd byte: a read cut at 8 KiB left B out and took its first digit for a pid.
  const spawn = () =>
    new Deno.Command("python3", {
      args: [
        "-c",
        "b = bytearray(8 << 20)\nprint('ready', flush=True)\nimport time; time.sleep(30)",
      ],
      stdout: "piped",
    }).spawn();
  const children = [spawn(), spawn()];
  const readers = children.map((child) => child.stdout.getReader());
  const list = await Deno.makeTempFile({ prefix: "jp-cgroup-procs-" });
  try {
    for (const reader of readers) {
      assert.match(new TextDecoder().decode((await reader.read()).value), /ready/);
    }
    const [a, b] = children;
    // 909 eight-digit pids and one nine-digit pid: 8,191 bytes before B's line.
    const before = Array.from({ length: 909 }, (_, i) => `${10_000_000 + i}\n`).join("") +
      "100000000\n";
    assert.equal(before.length, 8191);
    const after = Array.from({ length: 500 }, (_, i) => `${20_000_000 + i}\n`).join("");
    await Deno.writeTextFile(list, `${before}${b!.pid}\n${after}`);
    const pageBytes = Number(libc().sysconf(30)); // _SC_PAGESIZE
    const resident = (pid: number) =>
      Number(Deno.readTextFileSync(`/proc/${pid}/statm`).split(" ")[1]) * pageBytes;
    const tree = new ProcessTree(a!.pid, { cgroupProcs: list });
    const values = new Float64Array(FIELD_COUNT);
    tree.read(values, 0);
    const size = tree.size;
    tree.close();
    assert.equal(size, 2);
    assert.equal(values[FIELD.RSS], resident(a!.pid) + resident(b!.pid));
  } finally {
    for (const child of children) child.kill("SIGKILL");
    for (const reader of readers) await reader.cancel();
    for (const child of children) await child.status;
    await Deno.remove(list);
  }
});

Deno.test("ProcessTree: without a cgroup, a children list of several pages is walked whole", async () => {
  // 1,200 sleeping children: 6 KB or more of pids in the shell's `children`, which one read gives
  // a page (4 KiB) of at most. Every one is in the tree and in its RSS.
  const tree = await startSleepingTree(1200);
  try {
    const pids = [tree.shell.pid, ...tree.children()];
    assert.equal(pids.length, 1201);
    const pageBytes = Number(libc().sysconf(30)); // _SC_PAGESIZE
    const resident = () =>
      pids.reduce(
        (sum, pid) => sum + Number(Deno.readTextFileSync(`/proc/${pid}/statm`).split(" ")[1]),
        0,
      ) * pageBytes;
    const before = resident();
    const processTree = new ProcessTree(tree.shell.pid);
    const values = new Float64Array(FIELD_COUNT);
    processTree.read(values, 0);
    const size = processTree.size;
    processTree.close();
    assert.equal(resident(), before, "the tree's memory moved");
    assert.equal(size, 1201);
    assert.equal(values[FIELD.RSS], before);
  } finally {
    await tree.stop();
  }
});

Deno.test("ProcessTree: with the cgroup's exact CPU time, a tree that ran nothing is not read again; a process woken for a few µs is", async () => {
  const cgroup = cgroupOrSkip();
  if (cgroup === undefined) return;
  // Waits in pause(); each SIGUSR1 wakes it for a handler that does nothing.
  const child = new Deno.Command("python3", {
    args: [
      "-c",
      "import signal\nsignal.signal(signal.SIGUSR1, lambda *a: None)\nprint('ready', flush=True)\n" +
      "while True: signal.pause()",
    ],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  let counters: CgroupCounters | undefined;
  let tree: ProcessTree | undefined;
  try {
    await reader.read(); // "ready": it waits in pause() from now on
    cgroup.adopt(child.pid);
    counters = new CgroupCounters(cgroup);
    const exact = counters.exactNs;
    tree = new ProcessTree(child.pid, { cgroupProcs: `${cgroup.folders[0]!.path}/cgroup.procs` });
    const read = () => {
      const snapshot = new Float64Array(FIELD_COUNT);
      tree!.read(snapshot, 0, exact ? counters!.read().cpuNs : NaN);
      return snapshot;
    };
    const first = read();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const idle = read();
    assert.deepEqual(idle, first);
    assert.equal(tree.unchangedReads, exact ? 1 : 0, `CPU time via ${counters.cpuVia}`);
    const fullReads = tree.fullReads;
    Deno.kill(child.pid, "SIGUSR1");
    let woken = idle;
    for (let i = 0; i < 100 && woken[FIELD.VOLUNTARY] === idle[FIELD.VOLUNTARY]; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      woken = read();
    }
    assert.ok(
      woken[FIELD.VOLUNTARY]! > idle[FIELD.VOLUNTARY]!,
      `voluntary switches ${idle[FIELD.VOLUNTARY]} → ${woken[FIELD.VOLUNTARY]}`,
    );
    assert.ok(tree.fullReads > fullReads);
  } finally {
    tree?.close();
    counters?.close();
    child.kill("SIGKILL");
    await reader.cancel();
    await child.status;
    await untilEmpty(cgroup);
    assert.equal(cgroup.remove(), true);
  }
});
