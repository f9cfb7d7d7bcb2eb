/**
 * Where this profiler runs inside a distributed job: the launcher (Slurm,
 * Open MPI, MPICH/Hydra), the job, the node and the task's ranks, read from
 * the variables the launchers set.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** The launchers the profiler recognises. */
export type Launcher = "slurm" | "openmpi" | "mpich";

/** Where one task of a distributed job runs. */
export interface Placement {
  /** The launcher that started this task. */
  launcher: Launcher;
  /** The job's identifier (`SLURM_JOB_ID`, Open MPI's or Hydra's job), when the launcher gives one. */
  jobId?: string;
  /** The node's name as the launcher knows it (`SLURMD_NODENAME`), else the host name. */
  node: string;
  /** The host name of the machine (`/proc/sys/kernel/hostname`). */
  hostname: string;
  /** Rank of this task in the job, 0-based. */
  rank: number;
  /** Rank of this task on its node, 0-based. */
  localRank: number;
  /** Number of tasks in the job (or step). */
  tasks: number;
  /** Index of the node in the allocation (`SLURM_NODEID`), when known. */
  nodeId?: number;
  /** Number of tasks on this node, when the launcher says. */
  localTasks?: number;
}

/** Variables read, by name; `Deno.env.toObject()` or a test's own map. */
export type Environment = Readonly<Record<string, string | undefined>>;

function integer(env: Environment, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text.trim() === "") return undefined;
  if (!/^\s*\d+\s*$/.test(text)) {
    throw new UsageError(`${name}='${text}' is not a non-negative integer (launcher variable)`);
  }
  return Number(text);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/**
 * The machine's host name (the kernel's, not `$HOSTNAME`, which shells set
 * and launchers may not pass on).
 *
 * @returns The host name, or `localhost` when it cannot be read.
 *
 * @example Usage
 * ```ts
 * import { hostName } from "./placement.ts";
 * console.log(hostName());
 * ```
 */
export function hostName(): string {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/hostname").trim() || "localhost";
  } catch {
    return "localhost";
  }
}

/** Tasks per node from `SLURM_TASKS_PER_NODE` (`2(x3),1`) for node `nodeId`. */
function slurmTasksOnNode(
  list: string | undefined,
  nodeId: number | undefined,
): number | undefined {
  if (list === undefined || nodeId === undefined) return undefined;
  let node = 0;
  for (const part of list.split(",")) {
    const match = /^(\d+)(?:\(x(\d+)\))?$/.exec(part.trim());
    if (match === null) return undefined;
    const repeat = Number(match[2] ?? 1);
    if (nodeId < node + repeat) return Number(match[1]);
    node += repeat;
  }
  return undefined;
}

/**
 * Detects the launcher from the environment. Open MPI's variables win
 * over Slurm's (`mpirun` inside an allocation), Slurm's task variables over
 * Hydra's `PMI_RANK` (which Slurm's PMI plugins also set). Inside an
 * `sbatch` script but outside `srun` (no `SLURM_STEP_ID`) the batch script
 * is one task.
 *
 * @param env The environment (default: the process's).
 * @param host The host name (default: the kernel's).
 * @returns The placement, or `undefined` without a launcher.
 * @throws {UsageError} When a launcher variable is malformed.
 *
 * @example Under srun
 * ```ts
 * import { detectPlacement } from "./placement.ts";
 * const placement = detectPlacement({
 *   SLURM_JOB_ID: "42", SLURM_STEP_ID: "0", SLURM_PROCID: "3", SLURM_LOCALID: "1",
 *   SLURM_NODEID: "1", SLURMD_NODENAME: "node2", SLURM_NTASKS: "4",
 * }, "login1");
 * console.log(placement?.rank, placement?.node); // 3 node2
 * ```
 */
export function detectPlacement(
  env: Environment = Deno.env.toObject(),
  host: string = hostName(),
): Placement | undefined {
  const slurmJob = nonEmpty(env.SLURM_JOB_ID) ?? nonEmpty(env.SLURM_JOBID);
  const ompiRank = integer(env, "OMPI_COMM_WORLD_RANK");
  if (ompiRank !== undefined) {
    const placement: Placement = {
      launcher: "openmpi",
      node: nonEmpty(env.SLURMD_NODENAME) ?? host,
      hostname: host,
      rank: ompiRank,
      localRank: integer(env, "OMPI_COMM_WORLD_LOCAL_RANK") ?? 0,
      tasks: integer(env, "OMPI_COMM_WORLD_SIZE") ?? 1,
    };
    const jobId = slurmJob ?? nonEmpty(env.PMIX_NAMESPACE) ?? nonEmpty(env.OMPI_MCA_ess_base_jobid);
    if (jobId !== undefined) placement.jobId = jobId;
    const localTasks = integer(env, "OMPI_COMM_WORLD_LOCAL_SIZE");
    if (localTasks !== undefined) placement.localTasks = localTasks;
    return placement;
  }
  const slurmRank = integer(env, "SLURM_PROCID");
  if (slurmJob !== undefined && slurmRank !== undefined) {
    const inStep = nonEmpty(env.SLURM_STEP_ID) !== undefined;
    const nodeId = integer(env, "SLURM_NODEID");
    const placement: Placement = {
      launcher: "slurm",
      jobId: slurmJob,
      node: nonEmpty(env.SLURMD_NODENAME) ?? host,
      hostname: host,
      rank: slurmRank,
      localRank: integer(env, "SLURM_LOCALID") ?? 0,
      // The batch script itself (no step) is one task whatever the allocation holds.
      tasks: inStep ? integer(env, "SLURM_STEP_NUM_TASKS") ?? integer(env, "SLURM_NTASKS") ?? 1 : 1,
    };
    if (nodeId !== undefined) placement.nodeId = nodeId;
    const localTasks = inStep
      ? slurmTasksOnNode(
        nonEmpty(env.SLURM_STEP_TASKS_PER_NODE) ?? nonEmpty(env.SLURM_TASKS_PER_NODE),
        nodeId,
      )
      : 1;
    if (localTasks !== undefined) placement.localTasks = localTasks;
    return placement;
  }
  const pmiRank = integer(env, "PMI_RANK");
  if (pmiRank !== undefined) {
    const placement: Placement = {
      launcher: "mpich",
      node: host,
      hostname: host,
      rank: pmiRank,
      localRank: integer(env, "MPI_LOCALRANKID") ?? 0,
      tasks: integer(env, "PMI_SIZE") ?? 1,
    };
    const jobId = slurmJob ?? nonEmpty(env.PMI_JOBID);
    if (jobId !== undefined) placement.jobId = jobId;
    const localTasks = integer(env, "MPI_LOCALNRANKS");
    if (localTasks !== undefined) placement.localTasks = localTasks;
    return placement;
  }
  return undefined;
}

/**
 * Whether this task reads the node's machine-wide sources (RAPL, GPUs,
 * system metrics): the task whose local rank is `leaderLocalRank` (default
 * 0). Without a launcher every profiler is its own leader.
 *
 * @param placement The task's placement, or `undefined`.
 * @param leaderLocalRank The local rank that leads each node.
 * @returns `true` for the node leader.
 *
 * @example Usage
 * ```ts
 * import { isNodeLeader } from "./placement.ts";
 * console.log(isNodeLeader(undefined)); // true
 * ```
 */
export function isNodeLeader(placement: Placement | undefined, leaderLocalRank = 0): boolean {
  return placement === undefined || placement.localRank === leaderLocalRank;
}

/**
 * Checks `--node-leader` against the node's task count where the launcher
 * gives it: a leader rank no task holds would leave the node unmeasured.
 *
 * @param placement The task's placement.
 * @param leaderLocalRank The requested leader's local rank.
 * @throws {UsageError} When no task on the node has that local rank.
 *
 * @example Usage
 * ```ts
 * import { checkNodeLeader } from "./placement.ts";
 * checkNodeLeader(undefined, 0);
 * ```
 */
export function checkNodeLeader(placement: Placement | undefined, leaderLocalRank: number): void {
  if (!Number.isSafeInteger(leaderLocalRank) || leaderLocalRank < 0) {
    throw new UsageError(`--node-leader must be a local rank ≥ 0, got ${leaderLocalRank}`);
  }
  if (placement === undefined || placement.localTasks === undefined) return;
  if (leaderLocalRank >= placement.localTasks) {
    throw new UsageError(
      `--node-leader ${leaderLocalRank}: node ${placement.node} runs ${placement.localTasks} ` +
        `task(s) (local ranks 0-${placement.localTasks - 1}), so no task would measure it`,
    );
  }
}

/** `CLOCK_MONOTONIC` and `CLOCK_REALTIME` read at one moment on a node. */
export interface WallClockAnchor {
  /** `CLOCK_MONOTONIC`, ns: the clock of every `start_ns`/`end_ns` of the node's results. */
  monotonicNs: bigint;
  /** `CLOCK_REALTIME`, ns since the Unix epoch, at the same moment. */
  realtimeNs: bigint;
}

/** A task's placement as recorded in its result. */
export interface TaskPlacement extends Placement {
  /** The profiler's pid. */
  pid: number;
  /** Whether this task read the node's machine-wide sources. */
  nodeLeader: boolean;
  /** The local rank that leads every node (`--node-leader`, default 0). */
  leaderLocalRank: number;
  /** Machine-wide sources this task left to its node leader. */
  leftToLeader: string[];
  /**
   * Maps the node's monotonic times to wall-clock times, so `merge` can
   * line up phases of different nodes (their monotonic clocks differ).
   */
  clockAnchor: WallClockAnchor;
}
