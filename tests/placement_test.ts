import assert from "node:assert/strict";
import {
  checkNodeLeader,
  detectPlacement,
  isNodeLeader,
  type Placement,
} from "../src/cluster/placement.ts";
import {
  checkTaskFileName,
  expandTaskFileName,
  namesEachTask,
} from "../src/cluster/task_file_name.ts";
import { sourcesForTask } from "../src/cluster/task_sources.ts";
import { TaskContext } from "../src/cluster/task_context.ts";
import { UsageError } from "../src/errors.ts";
import type { Source } from "../src/source.ts";

/** What srun -N2 -n4 sets for rank 3 (checked on a real cluster, Slurm 22.05). */
const SRUN_RANK_3 = {
  SLURM_JOB_ID: "42",
  SLURM_STEP_ID: "0",
  SLURM_PROCID: "3",
  SLURM_LOCALID: "1",
  SLURM_NODEID: "1",
  SLURMD_NODENAME: "node2",
  SLURM_NTASKS: "4",
  SLURM_STEP_NUM_TASKS: "4",
  SLURM_STEP_TASKS_PER_NODE: "2(x2)",
};

Deno.test("placement: no launcher variables, no placement", () => {
  assert.equal(detectPlacement({ HOME: "/root", PATH: "/bin" }, "h"), undefined);
  assert.equal(isNodeLeader(undefined), true);
});

Deno.test("placement: Slurm task of srun -N2 -n4", () => {
  assert.deepEqual(detectPlacement(SRUN_RANK_3, "vm"), {
    launcher: "slurm",
    jobId: "42",
    node: "node2",
    hostname: "vm",
    rank: 3,
    localRank: 1,
    tasks: 4,
    nodeId: 1,
    localTasks: 2,
  });
});

Deno.test("placement: uneven SLURM_TASKS_PER_NODE gives each node its count", () => {
  const env = { ...SRUN_RANK_3, SLURM_STEP_TASKS_PER_NODE: "3,2(x2)", SLURM_NODEID: "2" };
  assert.equal(detectPlacement(env, "vm")?.localTasks, 2);
  assert.equal(detectPlacement({ ...env, SLURM_NODEID: "0" }, "vm")?.localTasks, 3);
});

Deno.test("placement: an sbatch script outside srun is one task", () => {
  const placement = detectPlacement({
    SLURM_JOB_ID: "42",
    SLURM_PROCID: "0",
    SLURM_LOCALID: "0",
    SLURM_NTASKS: "8",
    SLURMD_NODENAME: "node1",
  }, "vm");
  assert.equal(placement?.tasks, 1);
  assert.equal(placement?.launcher, "slurm");
});

Deno.test("placement: Open MPI (as mpirun -np 2 sets it), also inside a Slurm allocation", () => {
  const env = {
    OMPI_COMM_WORLD_RANK: "1",
    OMPI_COMM_WORLD_LOCAL_RANK: "1",
    OMPI_COMM_WORLD_SIZE: "2",
    OMPI_COMM_WORLD_LOCAL_SIZE: "2",
    OMPI_COMM_WORLD_NODE_RANK: "1",
    PMIX_NAMESPACE: "1434714113",
  };
  assert.deepEqual(detectPlacement(env, "vm"), {
    launcher: "openmpi",
    jobId: "1434714113",
    node: "vm",
    hostname: "vm",
    rank: 1,
    localRank: 1,
    tasks: 2,
    localTasks: 2,
  });
  const inAllocation = detectPlacement({ ...env, SLURM_JOB_ID: "9", SLURM_PROCID: "0" }, "vm");
  assert.equal(inAllocation?.launcher, "openmpi");
  assert.equal(inAllocation?.rank, 1);
  assert.equal(inAllocation?.jobId, "9");
});

Deno.test("placement: MPICH/Hydra", () => {
  const placement = detectPlacement(
    { PMI_RANK: "5", PMI_SIZE: "8", MPI_LOCALRANKID: "1", MPI_LOCALNRANKS: "4" },
    "n3",
  );
  assert.deepEqual(placement, {
    launcher: "mpich",
    node: "n3",
    hostname: "n3",
    rank: 5,
    localRank: 1,
    tasks: 8,
    localTasks: 4,
  });
});

Deno.test("placement: a malformed launcher variable is a usage error naming it", () => {
  assert.throws(
    () => detectPlacement({ ...SRUN_RANK_3, SLURM_PROCID: "x" }, "vm"),
    (error: Error) => error instanceof UsageError && /SLURM_PROCID='x'/.test(error.message),
  );
});

Deno.test("placement: --node-leader must name a local rank the node has", () => {
  const placement = detectPlacement(SRUN_RANK_3, "vm")!;
  checkNodeLeader(placement, 1);
  assert.equal(isNodeLeader(placement, 1), true);
  assert.equal(isNodeLeader(placement), false);
  assert.throws(
    () => checkNodeLeader(placement, 2),
    /--node-leader 2: node node2 runs 2 task\(s\) \(local ranks 0-1\)/,
  );
  assert.throws(() => checkNodeLeader(undefined, -1), /local rank ≥ 0/);
});

const SLURM: Placement = {
  launcher: "slurm",
  jobId: "42",
  node: "node2",
  hostname: "vm",
  rank: 3,
  localRank: 1,
  tasks: 4,
};

Deno.test("file names: %j %n %r %h %p %% expand; no placeholders, no change", () => {
  const context = { placement: SLURM, hostname: "vm", pid: 777 };
  assert.equal(
    expandTaskFileName("j%j-n%n-r%r-h%h-p%p-%%.json", context),
    "j42-nnode2-r3-hvm-p777-%.json",
  );
  assert.equal(expandTaskFileName("results.json", context), "results.json");
  assert.equal(
    expandTaskFileName("out-%j-%n-%r.json", { hostname: "vm", pid: 1 }),
    "out-nojob-vm-0.json",
  );
  assert.equal(
    expandTaskFileName("%n.json", { placement: { ...SLURM, node: "a/b" }, hostname: "vm", pid: 1 }),
    "a_b.json",
  );
  assert.throws(() => expandTaskFileName("out-%x.json", context), /unknown placeholder '%x'/);
  assert.throws(() => expandTaskFileName("out-%", context), /unknown placeholder '%'/);
});

Deno.test("file names: a name all tasks share is refused under a multi-task launcher", () => {
  assert.throws(
    () => checkTaskFileName("-o", "out-%n.json", SLURM),
    (error: Error) =>
      error instanceof UsageError &&
      error.message ===
        "-o 'out-%n.json': the 4 tasks of this slurm job would all write this one file; " +
          "put %r (rank) or %p (pid) in the name, e.g. 'out-%n-%r.json'",
  );
  checkTaskFileName("-o", "out-%n-%r.json", SLURM);
  checkTaskFileName("-o", "out-%p.json", SLURM);
  checkTaskFileName("-o", "-", SLURM);
  checkTaskFileName("-o", "out.json", { ...SLURM, tasks: 1 });
  checkTaskFileName("-o", "out.json", undefined);
  assert.equal(namesEachTask("a%%r"), false);
});

function fakeSource(name: string, scope?: "machine" | "process"): Source {
  return { name, scope, measure() {}, retrieve: () => 0, sensors: () => [], toMetrics: () => [] };
}

Deno.test("sources: machine-wide ones are read by the node leader only", () => {
  const rapl = fakeSource("RAPL", "machine");
  const gpu = fakeSource("NVML", "machine");
  const perf = fakeSource("perf_event");
  const mine = fakeSource("mine", "process");
  assert.deepEqual(sourcesForTask([rapl, gpu, perf, mine], true).read, [rapl, gpu, perf, mine]);
  const other = sourcesForTask([rapl, gpu, perf, mine], false);
  assert.deepEqual(other.read, [perf, mine]);
  assert.deepEqual(other.leftToLeader, ["RAPL", "NVML"]);
});

Deno.test("task context: records the placement with a wall-clock anchor", () => {
  const task = TaskContext.detect({ env: SRUN_RANK_3, hostname: "vm", pid: 99 });
  assert.equal(task.nodeLeader, false);
  assert.equal(task.multiTask, true);
  assert.equal(task.fileName("-o", "out-%n-%r.json"), "out-node2-3.json");
  const read = task.selectSources([fakeSource("RAPL", "machine"), fakeSource("perf")]);
  assert.deepEqual(read.map((source) => source.name), ["perf"]);
  const result = task.record({
    command: ["true"],
    tokenPattern: "x",
    exitCode: 0,
    durationMs: 0,
    interrupted: false,
    runs: [],
  });
  const placement = result.placement!;
  assert.equal(placement.pid, 99);
  assert.deepEqual(placement.leftToLeader, ["RAPL"]);
  const wallNs = BigInt(Date.now()) * 1_000_000n;
  const skew = placement.clockAnchor.realtimeNs - wallNs;
  assert.ok(skew > -1_000_000_000n && skew < 1_000_000_000n, `anchor ${skew} ns off`);
  assert.equal(
    TaskContext.detect({ env: {} }).record({ ...result, placement: undefined }).placement,
    undefined,
  );
});
