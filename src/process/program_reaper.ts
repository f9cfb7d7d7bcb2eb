/**
 * No process of the profiled program outlives the profiler: what happens
 * to the processes a program leaves behind.
 *
 * @module
 */

import { DEFAULT_KILL_AFTER_SECONDS, isForegroundJob } from "./signal_relay.ts";
import { OrphanWatchdog } from "./orphan_watchdog.ts";
import type { ProgramProcess } from "./program_process.ts";
import { type ProcessContainer, ProgramTree } from "./program_tree.ts";

/**
 * What becomes of processes the program started and left running when it
 * exited:
 * - `"end-with-profiler"` (default): they may run on while the profiler
 *   does (a warning names them), and are ended when it exits;
 * - `"end-with-program"` (`--kill-descendants`): they are ended as soon as
 *   the program has exited;
 * - `"keep"` (`--keep-descendants`): never signalled by the profiler, for
 *   daemons started on purpose; signals go to the program alone.
 */
export type DescendantPolicy = "end-with-profiler" | "end-with-program" | "keep";

/** The policies, for validating input. */
export const DESCENDANT_POLICIES: readonly DescendantPolicy[] = [
  "end-with-profiler",
  "end-with-program",
  "keep",
];

/** Options of {@linkcode ProgramReaper}. */
export interface ProgramReaperOptions {
  /** What to do with processes left running (default `"end-with-profiler"`). */
  policy?: DescendantPolicy;
  /** SIGTERM → SIGKILL delay when ending them, ms (default 5 s). */
  killAfterMs?: number;
  /**
   * Start each program in a process group of its own (default: yes, unless
   * the profiler is a terminal's foreground job, where the program shares
   * its group so that the terminal works as without the profiler).
   */
  ownProcessGroup?: boolean;
  /** Guard against the profiler's sudden death with a watchdog (default `true`). */
  watchdog?: boolean;
  /** Warnings. */
  warn?: (message: string) => void;
  /** Information (`-v`). */
  info?: (message: string) => void;
}

/** What the run knows when the program has exited. */
export interface ProgramExitContext {
  /** A signal was relayed during the run. */
  interrupted: boolean;
  /** When the relay's `--kill-after` runs out (a `performance.now()` time). */
  killDeadline?: number;
  /** A descendant still held the program's stdout, so reading it stopped. */
  stdoutHeld: boolean;
}

const STDOUT_HELD = "stopped reading it (output after this point is not passed on)";

/**
 * Keeps custody of each run's processes: guards them against the
 * profiler's sudden death, and ends what the program leaves behind as its
 * policy says.
 *
 * @example Usage
 * ```ts
 * import { ProgramReaper } from "./program_reaper.ts";
 * import { ProgramProcess } from "./program_process.ts";
 * const reaper = new ProgramReaper({ policy: "end-with-program", killAfterMs: 1000 });
 * const program = ProgramProcess.spawnHeld({
 *   executable: "/bin/sh",
 *   args: ["-c", "sleep 30 & echo started"],
 *   stdout: "null",
 *   ownProcessGroup: reaper.ownProcessGroup,
 *   onSpawn: (pid) => reaper.spawned(pid),
 * });
 * const tree = reaper.adopt(program);
 * await program.untilHeld();
 * program.resume();
 * await program.exit;
 * await reaper.programExited(tree, { interrupted: false, stdoutHeld: false }); // ends the sleep
 * await reaper.close();
 * ```
 */
export class ProgramReaper {
  /** What happens to processes left running. */
  readonly policy: DescendantPolicy;
  /** SIGTERM → SIGKILL delay, ms. */
  readonly killAfterMs: number;
  /** Whether programs get a process group of their own. */
  readonly ownProcessGroup: boolean;
  readonly #useWatchdog: boolean;
  readonly #warn: (message: string) => void;
  readonly #info: (message: string) => void;
  #watchdog: OrphanWatchdog | undefined;
  /** Runs whose leftovers are ended when the profiler exits. */
  readonly #pending: ProgramTree[] = [];

  /** @param options Policy, delay, group and messages. */
  constructor(options: ProgramReaperOptions = {}) {
    this.policy = options.policy ?? "end-with-profiler";
    this.killAfterMs = options.killAfterMs ?? DEFAULT_KILL_AFTER_SECONDS * 1000;
    this.ownProcessGroup = options.ownProcessGroup ?? !isForegroundJob();
    this.#useWatchdog = options.watchdog ?? true;
    this.#warn = options.warn ?? (() => {});
    this.#info = options.info ?? (() => {});
  }

  /**
   * Guards a program's process group from the moment it exists (pass this
   * as `onSpawn` of `ProgramProcess.spawnHeld`): a profiler killed while
   * the program is being held still leaves nothing behind.
   *
   * @param pid The program's pid (its process group when it leads one).
   */
  spawned(pid: number): void {
    if (this.policy !== "keep" && this.ownProcessGroup && this.#useWatchdog) {
      this.#watchdog ??= OrphanWatchdog.shared();
      this.#watchdog.guard({ processGroup: pid });
    }
  }

  /**
   * Stops guarding a program that never got past its gate (the spawn failed).
   *
   * @param pid What {@linkcode ProgramReaper.spawned} was given.
   */
  spawnFailed(pid: number): void {
    this.#watchdog?.release({ processGroup: pid });
  }

  /**
   * Takes custody of a held program (already guarded through
   * {@linkcode ProgramReaper.spawned}), and of its cgroup.
   *
   * @param program The program, still held at its gate.
   * @param container Its cgroup, when one was made.
   * @returns Its process tree.
   */
  adopt(program: ProgramProcess, container?: ProcessContainer): ProgramTree {
    const tree = new ProgramTree({ pid: program.pid, ownProcessGroup: program.ownProcessGroup });
    if (container !== undefined) this.attachContainer(tree, container);
    return tree;
  }

  /**
   * Adds the program's cgroup to its tree once a source has made it: from
   * then on signals and the watchdog reach it too (descendants that left
   * the process group included).
   *
   * @param tree The run's processes.
   * @param container The program's cgroup.
   */
  attachContainer(tree: ProgramTree, container: ProcessContainer): void {
    tree.attachContainer(container);
    if (this.policy !== "keep" && container.path !== undefined && this.#useWatchdog) {
      this.#watchdog ??= OrphanWatchdog.shared();
      this.#watchdog.guard({ cgroup: container.path });
    }
  }

  /**
   * Called once the program has exited (and was reaped): ends, reports or
   * keeps the processes it left running.
   *
   * @param tree The run's processes.
   * @param context How the run went.
   */
  async programExited(tree: ProgramTree, context: ProgramExitContext): Promise<void> {
    const left = this.policy === "keep" && !context.stdoutHeld ? [] : tree.members();
    const what = left.length === 0 ? "" : describe(left);
    if (this.policy === "keep") {
      if (context.stdoutHeld) {
        this.#warn(
          `the program exited but ${what || "a process it started"} still holds its stdout ` +
            `open: ${STDOUT_HELD}; left running (--keep-descendants)`,
        );
      }
      return;
    }
    if (left.length === 0) {
      if (context.stdoutHeld) {
        this.#warn(
          `the program exited but a process it started still holds its stdout open; ${STDOUT_HELD}`,
        );
      }
      this.#release(tree);
      return;
    }
    if (context.interrupted) {
      // They got the relayed signal with the program: SIGKILL when --kill-after runs out.
      const killed = await tree.end({
        graceMs: this.killAfterMs,
        firstSignal: null,
        deadline: context.killDeadline,
      });
      if (killed.length > 0) {
        this.#warn(`killed (SIGKILL) ${describe(killed)} still running at --kill-after`);
      }
      this.#release(tree);
      return;
    }
    const held = context.stdoutHeld ? ` and hold${left.length === 1 ? "s" : ""} its stdout` : "";
    if (this.policy === "end-with-program") {
      const how = context.stdoutHeld ? `${STDOUT_HELD}; ` : "";
      this.#info(
        `the program exited but ${what} it started ${isAre(left)} still running${held}: ` +
          `${how}ending them (--kill-descendants)`,
      );
      await this.#end(tree);
      this.#release(tree);
      return;
    }
    this.#warn(
      `the program exited but ${what} it started ${isAre(left)} still running${held}` +
        (context.stdoutHeld ? `: ${STDOUT_HELD}` : "") +
        `; they are ended when the profiler exits (--kill-descendants ends them when the ` +
        `program exits: SIGTERM, then SIGKILL after --kill-after; --keep-descendants leaves ` +
        `them running)`,
    );
    this.#pending.push(tree);
  }

  /**
   * Kills every process of a run at once (after an error) and waits for
   * them to go; under `"keep"`, only the program.
   *
   * @param tree The run's processes.
   */
  async killNow(tree: ProgramTree): Promise<void> {
    if (this.policy === "keep") return;
    await tree.end({ graceMs: 0, firstSignal: null });
    this.#release(tree);
  }

  /**
   * Ends what runs left running (SIGTERM, then SIGKILL after the delay).
   * Call it when the profile is over.
   */
  async close(): Promise<void> {
    const pending = this.#pending.splice(0);
    await Promise.all(pending.map(async (tree) => {
      await this.#end(tree);
      this.#release(tree);
    }));
  }

  async #end(tree: ProgramTree): Promise<void> {
    const killed = await tree.end({ graceMs: this.killAfterMs });
    if (killed.length > 0) {
      this.#warn(
        `killed (SIGKILL) ${describe(killed)} still running ${
          this.killAfterMs / 1000
        } s after SIGTERM (--kill-after)`,
      );
    }
  }

  #release(tree: ProgramTree): void {
    if (tree.ownProcessGroup) this.#watchdog?.release({ processGroup: tree.pid });
    const container = tree.container;
    if (container?.path !== undefined) this.#watchdog?.release({ cgroup: container.path });
    if (container !== undefined && this.policy !== "keep" && tree.members().length === 0) {
      container.release?.();
    }
  }
}

/** "1 process (pid 12)" / "3 processes (pids 12, 13, 14)". */
function describe(pids: number[]): string {
  return pids.length === 1
    ? `1 process (pid ${pids[0]})`
    : `${pids.length} processes (pids ${pids.join(", ")})`;
}

function isAre(pids: number[]): string {
  return pids.length === 1 ? "is" : "are";
}
