/**
 * Starting a helper process with `posix_spawn(3)` through FFI, and reaping
 * it with `waitid(2)`, for processes the profiler only writes to (its
 * watchdog). The runtime's `Deno.Command` costs about 7 ms the first time
 * it is touched in a process (the runtime loads its process module then)
 * and about 2.6 ms per spawn on the 2-CPU VM the report ran on; this way a
 * spawn cost about 1 ms there, and no `/proc` scan is needed to find the
 * pipe's write end (the runtime does not expose it).
 *
 * Linux with glibc or musl, on x86_64 and aarch64: the buffers below are at
 * least as large as `posix_spawn_file_actions_t` (80 bytes on glibc) and
 * `posix_spawnattr_t` (336 bytes), and `sigset_t` is 128 bytes.
 *
 * @module
 */

import { cString, libc, SyscallError, unwrap, WAITID } from "./libc.ts";

const O_CLOEXEC = 0o2000000;
const O_RDONLY = 0;
const O_WRONLY = 1;
/** `<spawn.h>` flags (Linux). */
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const FILE_ACTIONS_BYTES = 256;
const SPAWN_ATTR_BYTES = 512;
const SIGSET_BYTES = 128;
/** glibc's own signals (32 and 33, for threads and set*id): never given a default here. */
const INTERNAL_SIGNALS = new Set([32, 33]);
const NSIG = 65;
/** `waitid(2)`: this pid, its exit, reaped. */
const { P_PID, WEXITED, SIGINFO_BYTES } = WAITID;
/** `si_code` values of `<signal.h>` for a child that ended. */
const CLD_EXITED = 1;

/** What to run with {@linkcode spawnProcess}. */
export interface SpawnOptions {
  /** The executable's path (not searched on `PATH`). */
  path: string;
  /** Its arguments, `argv[0]` first. */
  argv: readonly string[];
  /** Its whole environment. */
  env: Readonly<Record<string, string>>;
  /** A descriptor to become its stdin (`/dev/null` when left out). */
  stdinFd?: number;
  /** Start it in a session (and process group) of its own. */
  newSession?: boolean;
}

/**
 * How a process ended: `code` when it exited, `signal` when a signal killed it.
 */
export interface ProcessEnd {
  /** Exit status, or `null` when killed by a signal. */
  code: number | null;
  /** The killing signal's number, or `null` when it exited. */
  signal: number | null;
}

/**
 * Opens a pipe whose two ends are closed on exec.
 *
 * @returns `[readFd, writeFd]`.
 * @throws {SyscallError} When `pipe2(2)` fails.
 *
 * @example Usage
 * ```ts
 * import { openPipe } from "./posix_spawn.ts";
 * import { libc } from "./libc.ts";
 * const [readFd, writeFd] = openPipe();
 * libc().close(readFd);
 * libc().close(writeFd);
 * ```
 */
export function openPipe(): [number, number] {
  const fds = new Int32Array(2);
  unwrap(libc().pipe2(new Uint8Array(fds.buffer), O_CLOEXEC), "pipe2");
  return [fds[0]!, fds[1]!];
}

/**
 * Starts a process, its stdout and stderr on `/dev/null`, its signal mask
 * empty and every signal at its default action (as the runtime's own spawn
 * leaves them). Descriptors marked close-on-exec are not inherited.
 *
 * @param options What to run.
 * @returns The process's pid.
 * @throws {SyscallError} When it cannot be started (`posix_spawn` fails, e.g.
 * `ENOENT` for a missing executable, `EINVAL` for `newSession` on a C
 * library older than glibc 2.26).
 *
 * @example Usage
 * ```ts
 * import { reapProcess, spawnProcess } from "./posix_spawn.ts";
 * const pid = spawnProcess({ path: "/bin/sh", argv: ["sh", "-c", "exit 3"], env: {} });
 * console.log(await reapProcess(pid)); // { code: 3, signal: null }
 * ```
 */
export function spawnProcess(options: SpawnOptions): number {
  const c = libc();
  const actions = new Uint8Array(FILE_ACTIONS_BYTES);
  const attributes = new Uint8Array(SPAWN_ATTR_BYTES);
  unwrapError(c.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
  try {
    unwrapError(c.posix_spawnattr_init(attributes), "posix_spawnattr_init");
    try {
      const devNull = cString("/dev/null");
      if (options.stdinFd === undefined) {
        unwrapError(
          c.posix_spawn_file_actions_addopen(actions, 0, devNull, O_RDONLY, 0),
          "addopen",
        );
      } else if (options.stdinFd !== 0) {
        // dup2 clears close-on-exec on the copy: the process gets it as its stdin.
        unwrapError(c.posix_spawn_file_actions_adddup2(actions, options.stdinFd, 0), "adddup2");
      }
      for (const fd of [1, 2]) {
        unwrapError(
          c.posix_spawn_file_actions_addopen(actions, fd, devNull, O_WRONLY, 0),
          "addopen",
        );
      }
      const flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
        (options.newSession === true ? POSIX_SPAWN_SETSID : 0);
      unwrapError(c.posix_spawnattr_setflags(attributes, flags), "posix_spawnattr_setflags");
      unwrapError(
        c.posix_spawnattr_setsigmask(attributes, new Uint8Array(SIGSET_BYTES)),
        "posix_spawnattr_setsigmask",
      );
      unwrapError(
        c.posix_spawnattr_setsigdefault(attributes, everySignal()),
        "posix_spawnattr_setsigdefault",
      );
      // The strings must stay alive (referenced) until posix_spawn returns: they are.
      const argv = pointerArray(options.argv.map(cString));
      const env = pointerArray(Object.entries(options.env).map(([k, v]) => cString(`${k}=${v}`)));
      const pid = new Int32Array(1);
      unwrapError(
        c.posix_spawn(
          new Uint8Array(pid.buffer),
          cString(options.path),
          actions,
          attributes,
          argv.table,
          env.table,
        ),
        "posix_spawn",
        options.path,
      );
      return pid[0]!;
    } finally {
      c.posix_spawnattr_destroy(attributes);
    }
  } finally {
    c.posix_spawn_file_actions_destroy(actions);
  }
}

/**
 * Waits, on a runtime thread, until the process has ended, and reaps it.
 *
 * @param pid A child of this process.
 * @returns How it ended.
 * @throws {SyscallError} When `waitid(2)` fails (e.g. `ECHILD`: not a
 * child, or reaped already).
 *
 * @example Usage
 * ```ts
 * import { reapProcess, spawnProcess } from "./posix_spawn.ts";
 * const pid = spawnProcess({ path: "/bin/sh", argv: ["sh", "-c", "kill -9 $$"], env: {} });
 * console.log(await reapProcess(pid)); // { code: null, signal: 9 }
 * ```
 */
export async function reapProcess(pid: number): Promise<ProcessEnd> {
  const info = new Uint8Array(SIGINFO_BYTES);
  while (await libc().waitid_blocking(P_PID, pid, info, WEXITED) !== 0) {
    // errno is the pool thread's, not readable here. A wait on a child of ours fails only with
    // EINTR (a signal reached that thread: wait again) or ECHILD (not ours, or reaped already).
    if (libc().kill(pid, 0) !== 0) throw new SyscallError("waitid", ECHILD, `pid ${pid}`);
  }
  // siginfo_t (64-bit): si_code at 8, si_status at 24.
  const view = new DataView(info.buffer);
  const status = view.getInt32(24, true);
  return view.getInt32(8, true) === CLD_EXITED
    ? { code: status, signal: null }
    : { code: null, signal: status };
}

const ECHILD = 10;

/** A C array of pointers to the given strings, ending with NULL. */
function pointerArray(strings: Uint8Array<ArrayBuffer>[]): {
  table: Uint8Array<ArrayBuffer>;
  strings: Uint8Array<ArrayBuffer>[];
} {
  const pointers = new BigUint64Array(strings.length + 1);
  strings.forEach((bytes, index) => {
    pointers[index] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
  });
  return { table: new Uint8Array(pointers.buffer), strings };
}

/** A `sigset_t` with every signal but glibc's internal ones. */
function everySignal(): Uint8Array<ArrayBuffer> {
  const set = new Uint8Array(SIGSET_BYTES);
  for (let signal = 1; signal < NSIG; signal++) {
    if (INTERNAL_SIGNALS.has(signal)) continue;
    const bit = signal - 1;
    set[bit >> 3]! |= 1 << (bit & 7);
  }
  return set;
}

/** `posix_spawn` and its helpers return an error number (0 for success), not -1 and errno. */
function unwrapError(rc: number, call: string, detail?: string): void {
  if (rc !== 0) throw new SyscallError(call, rc, detail);
}
