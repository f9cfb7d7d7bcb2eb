/**
 * The profiled program and every process it started: how to find them,
 * signal them all, and end them.
 *
 * @module
 */

import { errno, libc, signalName, SIGNALS, SyscallError } from "../ffi/libc.ts";
import type { CgroupSignal, ProgramCgroup } from "./program_cgroup.ts";

/**
 * A set of processes the kernel keeps together for us, other than the
 * process group: the program's own cgroup, where one was made.
 */
export interface ProcessContainer {
  /** Sends `signal` to every process in it. */
  killAll(signal: number): void;
  /** The pids in it now. */
  pids(): number[];
  /** Its folder (with `cgroup.procs`, maybe `cgroup.kill`), for the watchdog. */
  readonly path?: string;
  /** Called once it is empty and no longer needed (e.g. to remove the folder). */
  release?(): void;
}

const CGROUP_SIGNALS = new Set<string>(["SIGHUP", "SIGINT", "SIGQUIT", "SIGKILL", "SIGTERM"]);

/**
 * The program's cgroup (made by the `process` source) as a
 * {@linkcode ProcessContainer}.
 *
 * @param cgroup The cgroup.
 * @returns The container; its `path` is the folder with `cgroup.kill`
 * where there is one (cgroup v2), else the first.
 *
 * @example Usage
 * ```ts
 * import { cgroupContainer } from "./program_tree.ts";
 * import { ProgramCgroup } from "./program_cgroup.ts";
 * const container = cgroupContainer(ProgramCgroup.create()); // as root, with a cgroup mounted
 * console.log(container.pids()); // []
 * container.release?.();
 * ```
 */
export function cgroupContainer(cgroup: ProgramCgroup): ProcessContainer {
  const killable = cgroup.folders.find((folder) => folder.version === 2) ?? cgroup.folders[0];
  return {
    path: killable?.path,
    pids: () => cgroup.pids(),
    killAll: (signal) => {
      const name = signalName(signal);
      if (CGROUP_SIGNALS.has(name)) cgroup.killAll(name as CgroupSignal);
    },
    release: () => void cgroup.remove(),
  };
}

/** Options of {@linkcode ProgramTree}. */
export interface ProgramTreeOptions {
  /** The program's pid (the leader of its process group when `ownProcessGroup`). */
  pid: number;
  /**
   * The program leads a process group of its own (so every descendant that
   * did not leave it is reached with one `kill(-pgid)`). When `false` the
   * program shares the profiler's group and descendants are found through
   * `/proc` parent links while the program runs.
   */
  ownProcessGroup: boolean;
  /** The program's cgroup, when there is one: it also holds descendants that left the group. */
  container?: ProcessContainer;
}

/** How long `end()` waits for processes to vanish after SIGKILL, ms. */
const KILL_SETTLE_MS = 1000;

/**
 * The processes of one run of the program.
 *
 * @example Usage
 * ```ts
 * import { ProgramTree } from "./program_tree.ts";
 * const child = new Deno.Command("sleep", { args: ["5"], detached: true }).spawn();
 * const tree = new ProgramTree({ pid: child.pid, ownProcessGroup: true });
 * console.log(tree.members()); // [ <pid of sleep> ]
 * await tree.end({ graceMs: 500 });
 * await child.status;
 * ```
 */
export class ProgramTree {
  /** The program's pid. */
  readonly pid: number;
  /** Whether the program leads its own process group. */
  readonly ownProcessGroup: boolean;
  #container: ProcessContainer | undefined;

  /** @param options The program and how its processes are held together. */
  constructor(options: ProgramTreeOptions) {
    this.pid = options.pid;
    this.ownProcessGroup = options.ownProcessGroup;
    this.#container = options.container;
  }

  /** The program's cgroup, when it has one. */
  get container(): ProcessContainer | undefined {
    return this.#container;
  }

  /**
   * Adds the program's cgroup once a source has made it (after `init`).
   *
   * @param container The cgroup.
   */
  attachContainer(container: ProcessContainer): void {
    this.#container = container;
  }

  /**
   * Sends a signal to the program and all its descendants that can be
   * reached: its process group (or, sharing the profiler's group, the
   * descendants found under it), and its cgroup when there is one.
   *
   * @param signal Signal number.
   * @returns `true` when at least one process was signalled.
   */
  signal(signal: number): boolean {
    let sent = false;
    const reached = new Set<number>();
    if (this.ownProcessGroup) {
      sent = kill(-this.pid, signal);
    } else {
      for (const pid of descendantsOf(this.pid, true)) {
        reached.add(pid);
        sent = kill(pid, signal) || sent;
      }
    }
    const container = this.#container;
    if (container !== undefined) {
      if (signal === SIGNALS.SIGKILL) {
        // Atomic where the kernel has cgroup.kill; repeated until empty otherwise.
        if (container.pids().length > 0) {
          container.killAll(signal);
          sent = true;
        }
      } else {
        // Each process gets a signal once: those the group (or the walk) reached are left out.
        for (const pid of container.pids()) {
          if (reached.has(pid)) continue;
          if (this.ownProcessGroup && readStat(pid)?.pgrp === this.pid) continue;
          sent = kill(pid, signal) || sent;
        }
      }
    }
    return sent;
  }

  /**
   * The live processes of the program (zombies excluded), the program
   * itself included while it runs; sorted.
   *
   * @returns Their pids.
   */
  members(): number[] {
    const found = new Set<number>();
    if (this.ownProcessGroup) {
      // Fast path: no process left in the group at all.
      if (libc().kill(-this.pid, 0) === 0 || errno() !== 3) {
        for (const entry of readProcesses()) {
          if (entry.pgrp === this.pid && entry.state !== "Z") found.add(entry.pid);
        }
      }
    } else {
      for (const pid of descendantsOf(this.pid, true)) found.add(pid);
    }
    if (this.#container !== undefined) {
      for (const pid of this.#container.pids()) {
        if (isLive(pid)) found.add(pid);
      }
    }
    return [...found].sort((a, b) => a - b);
  }

  /**
   * Ends every process of the program: `firstSignal` (default SIGTERM), up
   * to `graceMs` for them to exit, then SIGKILL to whatever is left and up
   * to a second more for the kernel to finish them.
   *
   * @param options `graceMs` before SIGKILL (0: SIGKILL at once);
   * `firstSignal`, or `null` when the first signal was already sent.
   * @returns The pids that had to be killed with SIGKILL.
   */
  async end(
    options: { graceMs: number; firstSignal?: number | null; deadline?: number },
  ): Promise<number[]> {
    const first = options.firstSignal === undefined ? SIGNALS.SIGTERM : options.firstSignal;
    if (first !== null && options.graceMs > 0) this.signal(first);
    const deadline = options.deadline ?? performance.now() + options.graceMs;
    await this.#waitUntilEmpty(deadline);
    const left = this.members();
    if (left.length === 0) return [];
    this.signal(SIGNALS.SIGKILL);
    await this.#waitUntilEmpty(performance.now() + KILL_SETTLE_MS);
    return left;
  }

  async #waitUntilEmpty(deadline: number): Promise<void> {
    let pause = 1;
    while (this.members().length > 0 && performance.now() < deadline) {
      // Termination path, not a latency path: a few ms of timer slack is fine.
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 20);
    }
  }
}

/** `kill(2)` that treats "no such process" as `false`. */
function kill(pid: number, signal: number): boolean {
  if (libc().kill(pid, signal) === 0) return true;
  const code = errno();
  if (code === 3) return false;
  throw new SyscallError("kill", code, `pid ${pid}, signal ${signal}`);
}

/** One process as `/proc/<pid>/stat` describes it. */
interface ProcessEntry {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
}

/** Every process of the machine (those that vanish while read are skipped). */
function readProcesses(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const parsed = readStat(pid);
    if (parsed !== undefined) entries.push(parsed);
  }
  return entries;
}

function readStat(pid: number): ProcessEntry | undefined {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // After "pid (comm) ": state ppid pgrp ...; comm may hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { pid, state: fields[0]!, ppid: Number(fields[1]), pgrp: Number(fields[2]) };
}

function isLive(pid: number): boolean {
  const entry = readStat(pid);
  return entry !== undefined && entry.state !== "Z" && entry.state !== "X";
}

/**
 * The live descendants of `root` through parent links (and `root` itself
 * when `includeRoot` and it is live).
 *
 * @param root The ancestor.
 * @param includeRoot Whether to list `root` too.
 * @returns Their pids.
 *
 * @example Usage
 * ```ts
 * import { descendantsOf } from "./program_tree.ts";
 * console.log(descendantsOf(Deno.pid, false)); // usually []
 * ```
 */
export function descendantsOf(root: number, includeRoot: boolean): number[] {
  const children = new Map<number, ProcessEntry[]>();
  let rootEntry: ProcessEntry | undefined;
  for (const entry of readProcesses()) {
    if (entry.pid === root) rootEntry = entry;
    const list = children.get(entry.ppid);
    if (list === undefined) children.set(entry.ppid, [entry]);
    else list.push(entry);
  }
  const found: number[] = [];
  if (includeRoot && rootEntry !== undefined && rootEntry.state !== "Z") found.push(root);
  const queue = [root];
  const seen = new Set(queue);
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      queue.push(child.pid);
      if (child.state !== "Z") found.push(child.pid);
    }
  }
  return found;
}
