/**
 * A tiny process that outlives the profiler only to end the program's
 * processes when the profiler dies without cleaning up (SIGKILL, the OOM
 * killer, a crash).
 *
 * @module
 */

import { libc, SyscallError } from "../ffi/libc.ts";
import { pathMode } from "../ffi/file_status.ts";
import { openPipe, reapProcess, spawnProcess } from "../ffi/posix_spawn.ts";

/**
 * The watchdog: a shell that reads what to guard from its stdin, whose only
 * writer is the profiler: `+g<pgid>` a process group, `+c<folder>` a
 * cgroup, `+f<path>` a temporary file or folder (`-…` releases it). The
 * kernel closes that pipe when the profiler dies by any route; at end of
 * input the shell SIGKILLs the groups and cgroups it still guards and
 * removes the files. It ignores the signals a terminal or a job manager
 * sends to the profiler's whole group, so it is still there when the
 * profiler goes. `=` (a normal close) makes it exit at once.
 */
const WATCHDOG_SCRIPT = `trap '' INT QUIT HUP TERM TSTP TTIN TTOU PIPE USR1 USR2 ALRM
cd /
set -f
g=; c=; f=
while IFS= read -r l; do
  case $l in
    =) exit 0 ;;
    +g*) g="$g \${l#+g}" ;;
    -g*) k=; for x in $g; do [ "$x" = "\${l#-g}" ] || k="$k $x"; done; g=$k ;;
    +c*) c="$c \${l#+c}" ;;
    -c*) k=; for x in $c; do [ "$x" = "\${l#-c}" ] || k="$k $x"; done; c=$k ;;
    +f*) f="$f \${l#+f}" ;;
    -f*) k=; for x in $f; do [ "$x" = "\${l#-f}" ] || k="$k $x"; done; f=$k ;;
  esac
done
for r in 1 2 3; do
  for x in $g; do kill -9 "-$x"; done
  for x in $c; do
    if [ -w "$x/cgroup.kill" ]; then echo 1 > "$x/cgroup.kill"
    else while read -r p; do kill -9 "$p"; done < "$x/cgroup.procs"; fi
  done
done 2>/dev/null
for x in $f; do rm -rf -- "$x"; done 2>/dev/null`;

/** What the watchdog guards. */
export type GuardedThing =
  | { processGroup: number }
  | { cgroup: string }
  | { temporaryPath: string };

const SETSID_PATHS = ["/usr/bin/setsid", "/bin/setsid"];
const encoder = new TextEncoder();
let shared: OrphanWatchdog | undefined;

/** The line naming a thing, or `undefined` for a name with blanks (the shell splits on them). */
function entry(thing: GuardedThing): string | undefined {
  const text = "processGroup" in thing
    ? `g${thing.processGroup}`
    : "cgroup" in thing
    ? `c${thing.cgroup}`
    : `f${thing.temporaryPath}`;
  return /\s/.test(text) ? undefined : text;
}

/**
 * Guards process groups, cgroups and temporary files against the
 * profiler's sudden death. A path with blanks in it is not guarded (the
 * profiler's own temporary names have none, unless `TMPDIR` has).
 *
 * @example Usage
 * ```ts
 * import { OrphanWatchdog } from "./orphan_watchdog.ts";
 * const watchdog = OrphanWatchdog.start();
 * const program = new Deno.Command("sleep", { args: ["5"], detached: true }).spawn();
 * watchdog.guard({ processGroup: program.pid }); // killed if this process dies now
 * program.kill("SIGKILL");
 * await program.status;
 * watchdog.release({ processGroup: program.pid });
 * await watchdog.close();
 * ```
 */
export class OrphanWatchdog {
  /** The watchdog's pid. */
  readonly pid: number;
  /** Our end of its stdin, written synchronously: guarded before the next instruction. */
  readonly #fd: number;
  /** What is guarded now (the lines sent, without their sign). */
  readonly #guarded = new Set<string>();
  #closed = false;
  #ended: Promise<unknown> | undefined;

  private constructor(pid: number, fd: number) {
    this.pid = pid;
    this.#fd = fd;
    // Bound now, not on the first guard(): binding a libc symbol takes up to a millisecond,
    // long enough for a signal to land between a temporary file's creation and its guard.
    void libc().write;
  }

  /**
   * The profiler's watchdog, started on first use. It exits when the
   * profiler does (with nothing left to do when everything was released),
   * or at {@linkcode OrphanWatchdog.closeSharedIfIdle}.
   *
   * @returns The shared watchdog.
   */
  static shared(): OrphanWatchdog {
    shared ??= OrphanWatchdog.start();
    return shared;
  }

  /**
   * Lets the shared watchdog go when it guards nothing (e.g. at the end of
   * a profile run as a library): no process or descriptor stays behind. The
   * next {@linkcode OrphanWatchdog.shared} starts a new one.
   */
  static async closeSharedIfIdle(): Promise<void> {
    const watchdog = shared;
    if (watchdog === undefined || watchdog.#guarded.size > 0) return;
    shared = undefined;
    await watchdog.close();
  }

  /**
   * Starts a watchdog of its own (see {@linkcode OrphanWatchdog.shared}).
   * It is started with `posix_spawn` (src/ffi/posix_spawn.ts), in a session
   * of its own: a `kill -9` of the profiler's whole process group (a job
   * manager ending a job) leaves it to clean up.
   *
   * @returns The running watchdog.
   * @throws {SyscallError} When it cannot be started.
   */
  static start(): OrphanWatchdog {
    const [readFd, writeFd] = openPipe();
    try {
      const shell = ["/bin/sh", "-c", WATCHDOG_SCRIPT, "joule-profiler-watchdog"];
      const launch = (newSession: boolean, argv: string[]) =>
        spawnProcess({
          path: argv[0]!,
          argv,
          // Nothing of the profiler's environment (the script holds no folder busy: `cd /`).
          env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
          stdinFd: readFd,
          newSession,
        });
      let pid: number;
      try {
        pid = launch(true, shell);
      } catch (error) {
        // A C library without POSIX_SPAWN_SETSID (glibc < 2.26): util-linux setsid, if there.
        if (!(error instanceof SyscallError && error.code === "EINVAL")) throw error;
        const setsid = SETSID_PATHS.find((path) => pathMode(path) >= 0);
        pid = launch(false, setsid === undefined ? shell : [setsid, ...shell]);
      }
      return new OrphanWatchdog(pid, writeFd);
    } catch (error) {
      libc().close(writeFd);
      throw error;
    } finally {
      // Only the watchdog holds the read end: at the profiler's death its input ends.
      libc().close(readFd);
    }
  }

  /**
   * Kills a process group or cgroup, or removes a temporary file or
   * folder, if the profiler dies before {@linkcode OrphanWatchdog.release}.
   * The watchdog is told before this returns.
   *
   * @param thing What to guard.
   */
  guard(thing: GuardedThing): void {
    const line = entry(thing);
    if (line === undefined) return;
    this.#guarded.add(line);
    this.#send(`+${line}\n`);
  }

  /**
   * Stops guarding something.
   *
   * @param thing What {@linkcode OrphanWatchdog.guard} was given.
   */
  release(thing: GuardedThing): void {
    const line = entry(thing);
    if (line === undefined || !this.#guarded.delete(line)) return;
    this.#send(`-${line}\n`);
  }

  /** Lets the watchdog exit without killing anything, and reaps it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#send("=\n");
    await this.abandon();
  }

  /**
   * Closes the pipe without the goodbye of {@linkcode OrphanWatchdog.close},
   * as the kernel does when the profiler dies: what is still guarded is
   * killed or removed. Resolves once the watchdog has done so and exited.
   */
  async abandon(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (shared === this) shared = undefined;
      libc().close(this.#fd);
      // Reaped on a runtime thread: it exits at once, and the wait keeps the event loop alive.
      this.#ended = reapProcess(this.pid).catch(() => {});
    }
    await this.#ended;
  }

  #send(line: string): void {
    if (this.#closed) return;
    const bytes = encoder.encode(line);
    // A watchdog that died cannot be helped (EPIPE, SIGPIPE ignored by the runtime); the program
    // keeps its parent-death signal.
    libc().write(this.#fd, bytes, BigInt(bytes.length));
  }
}
