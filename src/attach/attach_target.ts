/**
 * The processes `profile -p` attaches to: parsed from the command line and
 * checked before anything starts, so a PID that does not exist, or that
 * this user may not observe, is one clear error.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { errno, libc } from "../ffi/libc.ts";

export { parsePidList } from "./pid_list.ts";

const EPERM = 1;
const ESRCH = 3;

/** What {@linkcode checkAttachable} learns about a process. */
export interface AttachTarget {
  /** Its PID. */
  pid: number;
  /** Its command line (from `/proc/PID/cmdline`), or its name in brackets for a kernel thread. */
  command: string[];
  /** Its real user ID. */
  uid: number;
}

/** Options of {@linkcode checkAttachable}. */
export interface AttachCheckOptions {
  /** Per-process metrics will be read: `/proc/PID/io` must be readable (ptrace access). */
  perProcess: boolean;
  /** The profiler's effective user ID (default: the real one of this process). */
  uid?: number;
  /** Where `/proc` is (tests). */
  procRoot?: string;
}

/**
 * Checks that a process exists and may be observed: it answers `kill(pid,
 * 0)`, `/proc` shows it (not hidden by `hidepid`), it belongs to this user
 * unless the profiler runs as root, and, for per-process metrics, its
 * `/proc/PID/io` can be read (the kernel's ptrace access check, which Yama
 * may tighten).
 *
 * @param pid The process.
 * @param options What will be read.
 * @returns What is known about it.
 * @throws {UsageError} Saying why it cannot be observed.
 *
 * @example Usage
 * ```ts
 * import { checkAttachable } from "./attach_target.ts";
 * console.log(checkAttachable(Deno.pid, { perProcess: true }).pid === Deno.pid); // true
 * ```
 */
export function checkAttachable(pid: number, options: AttachCheckOptions): AttachTarget {
  const proc = options.procRoot ?? "/proc";
  const myUid = options.uid ?? Deno.uid() ?? 0;
  if (libc().kill(pid, 0) !== 0) {
    const code = errno();
    if (code === ESRCH) throw new UsageError(`--pid: no process with PID ${pid}`);
    if (code !== EPERM) throw new UsageError(`--pid: cannot check PID ${pid} (errno ${code})`);
    // EPERM: it exists but belongs to another user; the checks below say so.
  }
  let status: string;
  try {
    status = Deno.readTextFileSync(`${proc}/${pid}/status`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(
        `--pid: process ${pid} exists but ${proc} does not show it (mounted with hidepid?); ` +
          `run as its owner or root`,
      );
    }
    throw new UsageError(`--pid: cannot read ${proc}/${pid}/status: ${(error as Error).message}`);
  }
  if (/^State:\s+Z/m.test(status)) {
    throw new UsageError(`--pid: process ${pid} has already exited (a zombie): nothing to measure`);
  }
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  if (myUid !== 0 && uid !== myUid) {
    throw new UsageError(
      `--pid: process ${pid} belongs to user ${uid}: only its owner or root may observe it`,
    );
  }
  if (options.perProcess) {
    try {
      Deno.openSync(`${proc}/${pid}/io`).close();
    } catch (error) {
      const why = error instanceof Deno.errors.PermissionDenied
        ? "ptrace access refused (see kernel.yama.ptrace_scope; run as root or its owner)"
        : (error as Error).message;
      throw new UsageError(
        `--pid: may not read process ${pid}'s counters: ${why}; --no-process and no --perf ` +
          `measure only the machine`,
      );
    }
  }
  let command: string[] = [];
  try {
    const cmdline = Deno.readTextFileSync(`${proc}/${pid}/cmdline`);
    command = cmdline.split("\0").filter((part, i, all) => part !== "" || i < all.length - 1);
  } catch {
    // Gone meanwhile: the watch that follows reports it.
  }
  if (command.length === 0) {
    command = [`[${/^Name:\s+(.*)$/m.exec(status)?.[1] ?? pid}]`];
  }
  return { pid, command, uid };
}
