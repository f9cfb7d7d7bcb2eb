/**
 * One profiler run as a task of a distributed job: its placement, whether
 * it leads its node, its file names and the placement it records.
 *
 * @module
 */

import { monotonicNs, realtimeNs } from "../clock.ts";
import type { ProfileResult } from "../result.ts";
import type { Source } from "../source.ts";
import {
  checkNodeLeader,
  detectPlacement,
  type Environment,
  hostName,
  isNodeLeader,
  type Placement,
  type TaskPlacement,
} from "./placement.ts";
import { checkTaskFileName, expandTaskFileName } from "./task_file_name.ts";
import { sourcesForTask } from "./task_sources.ts";

/** Options of {@linkcode TaskContext.detect}. */
export interface TaskContextOptions {
  /** Local rank that reads each node's machine-wide sources (`--node-leader`, default 0). */
  nodeLeader?: number;
  /** The environment to read the launcher's variables from (default: the process's). */
  env?: Environment;
  /** The host name (default: the kernel's). */
  hostname?: string;
  /** The pid for `%p` (default: the profiler's). */
  pid?: number;
}

/**
 * The launcher-related state of one profile.
 *
 * @example Usage
 * ```ts
 * import { TaskContext } from "./task_context.ts";
 * const task = TaskContext.detect({ env: {} });
 * console.log(task.placement, task.nodeLeader); // undefined true
 * console.log(task.fileName("-o", "out-%r.json")); // "out-%r.json": no launcher, no change
 * ```
 */
export class TaskContext {
  /** The placement, or `undefined` without a launcher. */
  readonly placement: Placement | undefined;
  /** Whether this task reads the node's machine-wide sources. */
  readonly nodeLeader: boolean;
  /** The local rank leading every node. */
  readonly leaderLocalRank: number;
  /** Host name, for `%h`. */
  readonly hostname: string;
  /** Pid, for `%p`. */
  readonly pid: number;
  #leftToLeader: string[] = [];

  private constructor(
    placement: Placement | undefined,
    leaderLocalRank: number,
    hostname: string,
    pid: number,
  ) {
    this.placement = placement;
    this.leaderLocalRank = leaderLocalRank;
    this.nodeLeader = isNodeLeader(placement, leaderLocalRank);
    this.hostname = hostname;
    this.pid = pid;
  }

  /**
   * Reads the launcher's variables and checks `--node-leader`.
   *
   * @param options Leader rank, environment, host name, pid.
   * @returns The context.
   * @throws {UsageError} For a malformed launcher variable or a leader rank
   *   no task of the node holds.
   */
  static detect(options: TaskContextOptions = {}): TaskContext {
    const hostname = options.hostname ?? hostName();
    const placement = detectPlacement(options.env ?? Deno.env.toObject(), hostname);
    const leader = options.nodeLeader ?? 0;
    checkNodeLeader(placement, leader);
    return new TaskContext(placement, leader, hostname, options.pid ?? Deno.pid);
  }

  /** Whether a launcher started more than one task. */
  get multiTask(): boolean {
    return (this.placement?.tasks ?? 1) > 1;
  }

  /**
   * This task's name for a file flag: under a launcher, refuses a name
   * every task would share, then expands `%j %n %r %h %p %%`; without one,
   * the name as given.
   *
   * @param flag The flag, for messages (e.g. `-o`).
   * @param template The name as given.
   * @returns The name for this task.
   * @throws {UsageError} For a shared name or an unknown placeholder.
   */
  fileName(flag: string, template: string): string {
    // Without a launcher nothing changes: names are taken as given, `%` included.
    if (this.placement === undefined) return template;
    checkTaskFileName(flag, template, this.placement);
    return expandTaskFileName(template, {
      placement: this.placement,
      hostname: this.hostname,
      pid: this.pid,
    }, flag);
  }

  /**
   * Keeps the sources this task reads: all on a node leader, only the
   * per-process ones on other tasks.
   *
   * @param sources The sources built for the profile.
   * @returns The ones to register.
   */
  selectSources(sources: readonly Source[]): Source[] {
    const { read, leftToLeader } = sourcesForTask(sources, this.nodeLeader);
    this.leaveToLeader(leftToLeader);
    // A dropped source may hold a library or files open (NVML): release them now.
    for (const source of sources) {
      if (!read.includes(source)) (source as { close?: () => void }).close?.();
    }
    return read;
  }

  /**
   * Records machine-wide sources this task did not even open because its
   * node leader reads them (a non-leader skips opening RAPL and GPUs).
   *
   * @param names The sources' names or kinds.
   */
  leaveToLeader(names: readonly string[]): void {
    if (this.nodeLeader) return;
    for (const name of names) if (!this.#leftToLeader.includes(name)) this.#leftToLeader.push(name);
  }

  /** Names of the machine-wide sources left to the node leader. */
  get leftToLeader(): readonly string[] {
    return this.#leftToLeader;
  }

  /**
   * Records the placement (with a fresh wall-clock anchor) in a result;
   * does nothing without a launcher.
   *
   * @param result The task's result.
   * @returns The same result.
   */
  record(result: ProfileResult): ProfileResult {
    if (this.placement === undefined) return result;
    const before = monotonicNs();
    const realtime = realtimeNs();
    const after = monotonicNs();
    const placement: TaskPlacement = {
      ...this.placement,
      pid: this.pid,
      nodeLeader: this.nodeLeader,
      leaderLocalRank: this.leaderLocalRank,
      leftToLeader: [...this.#leftToLeader],
      clockAnchor: { monotonicNs: (before + after) / 2n, realtimeNs: realtime },
    };
    result.placement = placement;
    return result;
  }
}
