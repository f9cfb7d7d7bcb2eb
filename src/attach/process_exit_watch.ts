/**
 * Waits for processes the profiler did not start to exit: one `pidfd` per
 * process (`pidfd_open(2)`, Linux ≥ 5.3), all polled in one blocking
 * `poll(2)` that runs in the runtime's blocking pool. A pidfd becomes
 * readable the moment its process exits, so the end is taken from the
 * kernel's event, never from a timer. An `eventfd` in the same poll set
 * wakes the wait when the measurement ends for another reason.
 *
 * @module
 */

import { ProfilerError } from "../errors.ts";
import { errno, libc, POLL, SyscallError } from "../ffi/libc.ts";

const SYS_PIDFD_OPEN = 434n;
const POLLFD_SIZE = POLL.FD_BYTES;
const EFD_CLOEXEC = 0o2000000;
const ESRCH = 3;

/**
 * Watches processes until every one has exited.
 *
 * @example Usage
 * ```ts
 * import { ProcessExitWatch } from "./process_exit_watch.ts";
 * const child = new Deno.Command("sleep", { args: ["0.1"] }).spawn();
 * const watch = ProcessExitWatch.open([child.pid]);
 * await watch.allExited; // resolves when sleep exits
 * watch.close();
 * await child.status;
 * ```
 */
export class ProcessExitWatch {
  /** The watched pids. */
  readonly pids: readonly number[];
  /** Resolves `true` once every process has exited, `false` when closed first. */
  readonly allExited: Promise<boolean>;
  readonly #pidfds: number[];
  #wakeFd: number;
  #closing = false;

  private constructor(pids: readonly number[], pidfds: number[], wakeFd: number) {
    this.pids = pids;
    this.#pidfds = pidfds;
    this.#wakeFd = wakeFd;
    this.allExited = this.#wait();
  }

  /**
   * Opens a pidfd on each process.
   *
   * @param pids The processes.
   * @returns The watch, already waiting.
   * @throws {ProfilerError} When a process does not exist (anymore).
   * @throws {SyscallError} When pidfds are not available (kernel < 5.3).
   */
  static open(pids: readonly number[]): ProcessExitWatch {
    const fds: number[] = [];
    const closeAll = () => fds.forEach((fd) => libc().close(fd));
    for (const pid of pids) {
      const fd = Number(libc().pidfd_open(SYS_PIDFD_OPEN, pid, 0));
      if (fd < 0) {
        const code = errno();
        closeAll();
        if (code === ESRCH) throw new ProfilerError(`no process with PID ${pid}`, { exitCode: 2 });
        throw new SyscallError("pidfd_open", code, `PID ${pid}`);
      }
      fds.push(fd);
    }
    const wakeFd = libc().eventfd(0, EFD_CLOEXEC);
    if (wakeFd < 0) {
      const code = errno();
      closeAll();
      throw new SyscallError("eventfd", code);
    }
    return new ProcessExitWatch([...pids], fds, wakeFd);
  }

  /** Polls until every pidfd has been readable once, or the wake descriptor fires. */
  async #wait(): Promise<boolean> {
    const pending = new Set(this.#pidfds);
    const set = new Uint8Array(POLLFD_SIZE * (this.#pidfds.length + 1));
    const view = new DataView(set.buffer);
    while (pending.size > 0) {
      const fds = [this.#wakeFd, ...pending];
      fds.forEach((fd, i) => {
        view.setInt32(i * POLLFD_SIZE, fd, true);
        view.setInt16(i * POLLFD_SIZE + 4, POLL.IN, true);
        view.setInt16(i * POLLFD_SIZE + 6, 0, true);
      });
      const ready = await libc().poll_blocking(set, BigInt(fds.length), -1);
      if (this.#closing) return false;
      // -1 is EINTR at most here (errno is the blocking thread's): poll again.
      if (ready <= 0) continue;
      for (let i = 0; i < fds.length; i++) {
        if (view.getInt16(i * POLLFD_SIZE + 6, true) === 0) continue;
        if (i === 0) return false;
        pending.delete(fds[i]!);
      }
    }
    return true;
  }

  /**
   * Stops waiting (wakes the poll) and closes every descriptor once it has
   * returned. Safe to call twice.
   *
   * @returns A promise settled when the descriptors are closed.
   */
  async close(): Promise<void> {
    if (this.#wakeFd < 0) return;
    this.#closing = true;
    const one = new BigUint64Array([1n]);
    libc().write(this.#wakeFd, one, 8n);
    await this.allExited;
    for (const fd of this.#pidfds) libc().close(fd);
    libc().close(this.#wakeFd);
    this.#wakeFd = -1;
  }
}
