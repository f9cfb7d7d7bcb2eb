/**
 * Distributed jobs on real launchers: a two-node Slurm cluster started on
 * this machine (scripts/test_cluster/start_slurm.sh: Debian's slurm-wlm and
 * munge, slurmctld plus two slurmd) and Open MPI's mpirun. Each node reads
 * its own fake powercap tree at a known power, picked by node name.
 *
 * Without the packages or root these tests are ignored with the reason
 * printed, except under CI=true (.ci/run installs the packages), where they
 * fail with it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CLI_ENTRY, type CommandOutput, compileC, REPO_ROOT, runCommand } from "./helpers.ts";
import { writeFakePowercap } from "./fixtures/fake_powercap.ts";

const CI = Deno.env.get("CI") !== undefined;
const WATTS: Record<string, number> = { node1: 20, node2: 35 };
/** Long phases: a writer late by a few ms on a loaded machine stays well under 2 %. */
const PROGRAM = ["sh", "-c", "echo __LOAD__; sleep 1.5; echo __SOLVE__; sleep 1.5"];
const TIMEOUT = "180";

/** Root runs the cluster scripts itself; another user through passwordless sudo (GitHub's runners). */
const AS_ROOT = Deno.uid() === 0 ? [] : ["sudo", "-n"];

function canBecomeRoot(): boolean {
  if (AS_ROOT.length === 0) return true;
  try {
    return new Deno.Command("sudo", { args: ["-n", "true"], stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

function missingTools(tools: string[], needsRoot: boolean): string | undefined {
  if (needsRoot && !canBecomeRoot()) {
    return "needs root or passwordless sudo (slurmctld, slurmd and munged run as root)";
  }
  const path = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/usr/bin"]);
  const missing = tools.filter((tool) =>
    !path.some((folder) => {
      try {
        return Deno.statSync(`${folder}/${tool}`).isFile;
      } catch {
        return false;
      }
    })
  );
  return missing.length === 0 ? undefined : `${missing.join(", ")} not installed`;
}

const slurmMissing = missingTools(["munged", "slurmctld", "slurmd", "srun", "sinfo"], true);
const mpiMissing = missingTools(["mpirun"], false);
for (const [what, why] of [["Slurm", slurmMissing], ["Open MPI", mpiMissing]]) {
  if (why !== undefined && !CI) {
    console.warn(
      `${what} tests ignored: ${why} (apt-get install -y slurm-wlm munge openmpi-bin; ` +
        `under CI=true they fail instead)`,
    );
  }
}

interface JsonMetric {
  name: string;
  value: number;
  unit: string;
  source: string;
}
interface JsonPhase {
  start_token: string;
  end_token: string;
  duration_ms: number;
  metrics: JsonMetric[];
}
interface TaskDocument {
  placement: {
    launcher: string;
    job_id?: string;
    node: string;
    rank: number;
    local_rank: number;
    tasks: number;
    node_leader: boolean;
    left_to_leader: string[];
  };
  phases: JsonPhase[];
}

/**
 * One fake powercap tree per node (package-0 at the node's power), a writer
 * advancing them, and a wrapper that srun/mpirun run as the profiler: it
 * picks the tree by `$SLURMD_NODENAME` (node1 outside Slurm).
 */
async function setUp(): Promise<{ root: string; wrapper: string; writer: Deno.ChildProcess }> {
  const root = await Deno.makeTempDir({ prefix: "jp-cluster-" });
  const args = ["200", "600"];
  for (const [node, watts] of Object.entries(WATTS)) {
    const files = await writeFakePowercap(`${root}/rapl/${node}`, [
      { id: "intel-rapl:0", name: "package-0" },
    ]);
    args.push(files.get("intel-rapl:0")!, String(watts), "262143328850");
  }
  await Deno.mkdir(`${root}/no-pmu`);
  await Deno.mkdir(`${root}/out`);
  await Deno.mkdir(`${root}/bin`);
  const wrapper = `${root}/bin/joule-profiler`;
  await Deno.writeTextFile(
    wrapper,
    `#!/bin/sh
export JOULE_PROFILER_RAPL_PATH="${root}/rapl/\${SLURMD_NODENAME:-node1}/intel-rapl"
export JOULE_PROFILER_EVENT_SOURCE_PATH="${root}/no-pmu"
exec "${Deno.execPath()}" run -A "${CLI_ENTRY}" "$@"
`,
  );
  await Deno.chmod(wrapper, 0o755);
  // Ahead of the 4 profilers and the daemons on a small machine: a late writer is a wrong energy.
  const writer = new Deno.Command("nice", {
    args: ["-n", "-10", await compileC("tests/fixtures/fake_rapl_writer.c"), ...args],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = writer.stdout.getReader();
  await reader.read(); // the files are being advanced
  reader.releaseLock();
  return { root, wrapper, writer };
}

async function tearDown(writer: Deno.ChildProcess): Promise<void> {
  writer.kill();
  await writer.status;
  await writer.stdout.cancel();
}

async function run(
  command: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<CommandOutput> {
  return await runCommand("timeout", [TIMEOUT, ...command], {
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
  });
}

/** Three consecutive free TCP ports on 127.0.0.1 (slurmctld, node1, node2). */
function freePorts(): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 40000 + Math.floor(Math.random() * 20000);
    const listeners: Deno.Listener[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        listeners.push(Deno.listen({ hostname: "0.0.0.0", port: base + i }));
      }
      return base;
    } catch {
      // taken: try another
    } finally {
      for (const listener of listeners) listener.close();
    }
  }
  throw new Error("no three consecutive free ports found");
}

async function readTasks(folder: string, pattern: RegExp): Promise<Map<string, TaskDocument>> {
  const tasks = new Map<string, TaskDocument>();
  for await (const entry of Deno.readDir(folder)) {
    if (pattern.test(entry.name)) {
      tasks.set(entry.name, JSON.parse(await Deno.readTextFile(`${folder}/${entry.name}`)));
    }
  }
  return tasks;
}

/** The pids in the cluster's pid files (munged, slurmctld, each slurmd). */
async function daemonPids(folder: string): Promise<number[]> {
  const pids: number[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) {
      if (entry.name.endsWith(".pid")) {
        pids.push(Number((await Deno.readTextFile(`${folder}/${entry.name}`)).trim()));
      }
    }
  } catch {
    // never started
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(Deno.readTextFileSync(`/proc/${pid}/status`));
  } catch {
    return false;
  }
}

function energyJ(phase: JsonPhase): number | undefined {
  const metric = phase.metrics.find((entry) => entry.name === "PACKAGE-0");
  return metric === undefined ? undefined : metric.value / 1e6;
}

/** Checks one RAPL reader per node and returns each node's leader document. */
function leadersByNode(tasks: Map<string, TaskDocument>): Map<string, TaskDocument> {
  const leaders = new Map<string, TaskDocument>();
  for (const [name, task] of tasks) {
    const reads = task.phases.some((phase) => energyJ(phase) !== undefined);
    assert.equal(reads, task.placement.node_leader, `${name}: RAPL read iff node leader`);
    if (!task.placement.node_leader) {
      assert.deepEqual(task.placement.left_to_leader, ["RAPL", "system"], name);
      continue;
    }
    assert.ok(!leaders.has(task.placement.node), `two RAPL readers on ${task.placement.node}`);
    leaders.set(task.placement.node, task);
  }
  return leaders;
}

/** Per phase of at least 1 s: the job's energy is Σ node power × its leader's phase time, within 2 %. */
function checkJobEnergy(job: { phases: JsonPhase[] }, leaders: Map<string, TaskDocument>): void {
  let checked = 0;
  for (const [i, phase] of job.phases.entries()) {
    let expected = 0;
    for (const [node, leader] of leaders) {
      expected += WATTS[node]! * leader.phases[i]!.duration_ms / 1000;
    }
    const measured = energyJ(phase);
    assert.ok(measured !== undefined, `job phase ${i} has PACKAGE-0`);
    if (phase.duration_ms < 1000) continue;
    const error = Math.abs(measured - expected) / expected;
    assert.ok(
      error < 0.02,
      `phase ${phase.start_token} -> ${phase.end_token}: ${measured.toFixed(3)} J measured, ` +
        `${expected.toFixed(3)} J expected (${(error * 100).toFixed(2)} %)`,
    );
    checked++;
  }
  assert.equal(checked, 2, "both long phases checked");
}

Deno.test({
  name:
    "Slurm: srun -N2 -n4 profiles one file per task, one RAPL reader per node; merge sums the nodes",
  ignore: slurmMissing !== undefined && !CI,
  sanitizeResources: false,
  async fn(t) {
    assert.equal(slurmMissing, undefined, `cannot start the Slurm cluster: ${slurmMissing}`);
    const { root, wrapper, writer } = await setUp();
    const cluster = `${root}/cluster`;
    const out = `${root}/out`;
    const start = await run(
      [
        ...AS_ROOT,
        "bash",
        `${REPO_ROOT}scripts/test_cluster/start_slurm.sh`,
        cluster,
        String(freePorts()),
      ],
      { cwd: root },
    );
    try {
      assert.equal(start.code, 0, `cannot start the Slurm cluster:\n${start.stderr}`);
      const env = { SLURM_CONF: `${cluster}/slurm.conf` };

      await t.step("srun -N2 -n4 … profile, then merge", async () => {
        const job = await run([
          "srun",
          "-N2",
          "-n4",
          wrapper,
          "--json",
          "-o",
          "out-%n-%r.json",
          "profile",
          "--",
          ...PROGRAM,
        ], { cwd: out, env });
        assert.equal(job.code, 0, job.stderr);
        const tasks = await readTasks(out, /^out-node\d-\d\.json$/);
        assert.deepEqual([...tasks.keys()].sort(), [
          "out-node1-0.json",
          "out-node1-1.json",
          "out-node2-2.json",
          "out-node2-3.json",
        ]);
        const jobIds = new Set([...tasks.values()].map((task) => task.placement.job_id));
        assert.equal(jobIds.size, 1);
        for (const [name, task] of tasks) {
          assert.equal(task.placement.launcher, "slurm", name);
          assert.equal(task.placement.tasks, 4, name);
          assert.equal(name, `out-${task.placement.node}-${task.placement.rank}.json`);
        }
        const leaders = leadersByNode(tasks);
        assert.deepEqual([...leaders.keys()].sort(), ["node1", "node2"]);
        for (const leader of leaders.values()) assert.equal(leader.placement.local_rank, 0);

        const merge = await run([
          wrapper,
          "merge",
          ...[...tasks.keys()].sort(),
          "-o",
          "job.json",
        ], { cwd: out, env });
        assert.equal(merge.code, 0, merge.stderr);
        const merged = JSON.parse(await Deno.readTextFile(`${out}/job.json`));
        assert.deepEqual(merged.job.nodes.map((node: { node: string }) => node.node), [
          "node1",
          "node2",
        ]);
        checkJobEnergy(merged, leaders);
      });

      await t.step(
        "the README's sbatch script: srun inside the batch job, then merge",
        async () => {
          const folder = `${root}/batch`;
          await Deno.mkdir(folder);
          const script = `${folder}/job.sh`;
          await Deno.writeTextFile(
            script,
            `#!/bin/bash
#SBATCH --job-name=solver
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=2
#SBATCH --output=solver-%j.log
set -e
mkdir -p "energy-$SLURM_JOB_ID"
srun joule-profiler --json -o "energy-$SLURM_JOB_ID/task-%n-%r.json" profile -- ${PROGRAM[0]} ${
              PROGRAM[1]
            } '${PROGRAM[2]}'
joule-profiler merge "energy-$SLURM_JOB_ID"/task-*.json -o "energy-$SLURM_JOB_ID/job.json"
`,
          );
          const batch = await run(["sbatch", "--wait", "--parsable", script], {
            cwd: folder,
            env: { ...env, PATH: `${root}/bin:${Deno.env.get("PATH")}` },
          });
          const jobId = batch.stdout.trim().split(";")[0]!;
          const log = await Deno.readTextFile(`${folder}/solver-${jobId}.log`).catch(() => "");
          assert.equal(batch.code, 0, `${batch.stderr}\n${log}`);
          const merged = JSON.parse(
            await Deno.readTextFile(`${folder}/energy-${jobId}/job.json`),
          );
          assert.deepEqual(merged.job.job_ids, [jobId]);
          assert.equal(merged.job.files, 4);
          const leaders = leadersByNode(await readTasks(`${folder}/energy-${jobId}`, /^task-/));
          checkJobEnergy(merged, leaders);
        },
      );

      await t.step("--node-leader 1 moves the reader to local rank 1", async () => {
        const job = await run([
          "srun",
          "-N2",
          "-n4",
          wrapper,
          "--json",
          "-o",
          "leader1-%r.json",
          "profile",
          "--node-leader",
          "1",
          "--",
          "sh",
          "-c",
          "echo __X__",
        ], { cwd: out, env });
        assert.equal(job.code, 0, job.stderr);
        const leaders = leadersByNode(await readTasks(out, /^leader1-\d\.json$/));
        assert.deepEqual(
          [...leaders.values()].map((task) => task.placement.rank).sort(),
          [1, 3],
        );
      });
    } finally {
      const pids = await daemonPids(`${cluster}/run`);
      const stop = await run([
        ...AS_ROOT,
        "bash",
        `${REPO_ROOT}scripts/test_cluster/stop_slurm.sh`,
        cluster,
      ], {
        cwd: root,
      });
      await tearDown(writer);
      assert.equal(stop.code, 0, stop.stderr);
      assert.deepEqual(pids.filter(alive), [], "every daemon stopped");
    }
  },
});

Deno.test({
  name: "Open MPI: mpirun --oversubscribe -np 4 has one RAPL reader on the node",
  ignore: mpiMissing !== undefined && !CI,
  sanitizeResources: false,
  async fn() {
    assert.equal(mpiMissing, undefined, `cannot run Open MPI: ${mpiMissing}`);
    const { root, wrapper, writer } = await setUp();
    const out = `${root}/out`;
    try {
      const job = await run([
        "mpirun",
        "--oversubscribe",
        "-np",
        "4",
        wrapper,
        "--json",
        "-o",
        "mpi-%r.json",
        "profile",
        "--",
        ...PROGRAM,
      ], {
        cwd: out,
        // mpirun refuses root unless told twice.
        env: { OMPI_ALLOW_RUN_AS_ROOT: "1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1" },
      });
      assert.equal(job.code, 0, job.stderr);
      const tasks = await readTasks(out, /^mpi-\d\.json$/);
      assert.equal(tasks.size, 4);
      for (const [name, task] of tasks) {
        assert.equal(task.placement.launcher, "openmpi", name);
        assert.equal(task.placement.tasks, 4, name);
      }
      const leaders = leadersByNode(tasks);
      assert.equal(leaders.size, 1, "one RAPL reader on the one node");
      const merge = await run([wrapper, "--json", "merge", ...tasks.keys(), "-o", "job.json"], {
        cwd: out,
      });
      assert.equal(merge.code, 0, merge.stderr);
      const merged = JSON.parse(await Deno.readTextFile(`${out}/job.json`));
      // The one node reads node1's tree (no SLURMD_NODENAME): 20 W.
      checkJobEnergy(merged, new Map([["node1", [...leaders.values()][0]!]]));
    } finally {
      await tearDown(writer);
    }
  },
});
