/**
 * Spawning the profiled program held before its first instruction.
 *
 * @module
 */

import { openKeptFile, readKeptFile } from "../ffi/kept_file.ts";
import { ProfilerError, UsageError } from "../errors.ts";
import { type FileStatus, fileStatus } from "../ffi/file_status.ts";
import {
  bindNow,
  errno,
  isNonBlocking,
  libc,
  sendSignal,
  setPipeSize,
  signalNumber,
  SIGNALS,
  sleepMicros,
  SyscallError,
  WAITID,
} from "../ffi/libc.ts";
import { afterMs } from "../one_shot_timer.ts";
import { type InvokingUser, passwdEntry } from "./invoking_user.ts";

/**
 * The gate: `sh` stops itself, and once resumed replaces itself with the
 * program (same pid). Per-process counters opened with `enable_on_exec`
 * while it is stopped therefore start at the program's own exec.
 *
 * It first checks that its parent is still the profiler (`$1`): a
 * parent-death signal set after the parent died is never sent, and a
 * profiler killed that early would otherwise leave the gate stopped for
 * ever. `$2` redirects its stdout, before it stops, for a program that
 * writes its stdout itself (see {@linkcode SpawnHeldOptions.stdout}): `2`
 * to stderr, a `/proc/self/fd/N` path to a descriptor it inherited (the
 * runtime hands a child only its own stdout or stderr, and POSIX `sh` names
 * no descriptor above 9), or nothing.
 */
const GATE_SCRIPT =
  '[ "$PPID" = "$1" ] || exit 125; case $2 in 2) exec >&2 ;; ?*) exec >>"$2" ;; ' +
  'esac; shift 2; kill -STOP "$$" && exec "$@"';

/**
 * Capacity asked for the program's stdout pipe (the default is 64 KiB; 1 MiB
 * is Linux's default `pipe-max-size`): a program writing fast then rarely
 * waits while the profiler handles a chunk.
 */
const STDOUT_PIPE_BYTES = 1 << 20;

/** `PF_EXITING` in `/proc/<pid>/stat`'s flags: the task is exiting (`<linux/sched.h>`). */
const PF_EXITING = 0x4;

/** `waitid(2)`: wait for this pid, for a stop or an exit, leaving it to be reaped. */
const { P_PID, WSTOPPED, WEXITED, WNOWAIT, SIGINFO_BYTES } = WAITID;
/**
 * How often the wait for the gate looks at its deadline (ms): a bound, not a
 * poll (the wait is woken by the kernel); at most one such timer is left
 * running once the gate is reached.
 */
const GATE_DEADLINE_CHECK_MS = 20;

/** How the program ended. */
export interface ProgramExit {
  /** Exit code, or 128 + signal number when killed by a signal. */
  code: number;
  /** Signal number that killed it, or `null`. */
  signal: number | null;
}

/** Options of {@linkcode ProgramProcess.spawnHeld}. */
export interface SpawnHeldOptions {
  /** Path to execute (already resolved). */
  executable: string;
  /** Arguments after the program name. */
  args: string[];
  /**
   * `piped` to read its stdout, `inherit`, `null`, or a descriptor of this
   * process that becomes its stdout, which the program then writes itself:
   * 1 (as `inherit`), 2 (this process's stderr), or another, such as a
   * file's (reopened by the gate through `/proc/self/fd`, appending; the
   * program keeps one more descriptor of it, which `sh` cannot close).
   */
  stdout: "piped" | "inherit" | "null" | number;
  /** Working directory. */
  cwd?: string;
  /** Environment to add. */
  env?: Record<string, string>;
  /** How long to wait for the gate to stop, in ms (default 10 s). */
  gateTimeoutMs?: number;
  /**
   * Called with the pid as soon as the process exists, before the gate is
   * reached (e.g. to have a watchdog guard its process group at once).
   */
  onSpawn?: (pid: number) => void;
  /**
   * Run the program as this user (with its groups, `HOME`, `USER`,
   * `LOGNAME`) instead of the profiler's.
   */
  runAs?: InvokingUser;
  /**
   * Start the program in a session and process group of its own, so that
   * one signal reaches it and every descendant (default `false`: it shares
   * the profiler's group, as under `time`, and keeps the terminal).
   */
  ownProcessGroup?: boolean;
  /**
   * Have the kernel SIGKILL the program when the profiler dies (its
   * parent-death signal, set through util-linux `setpriv --pdeathsig`
   * where available; default `true`).
   */
  parentDeathSignal?: boolean;
}

/** `/proc` text is ASCII apart from the command name, which is only skipped. */
const latin1 = new TextDecoder("latin1");

const SETPRIV_PATHS = ["/usr/bin/setpriv", "/bin/setpriv"];
const SETSID_PATHS = ["/usr/bin/setsid", "/bin/setsid"];

/** How to start `/bin/sh`, possibly as another user. */
export interface ShellLauncher {
  /** The executable to spawn (`/bin/sh`, `setpriv` or `setsid`). */
  program: string;
  /** Arguments before the shell's own (`-c …`). */
  prefix: string[];
  /** uid for the runtime to switch to (only without `setpriv`). */
  uid?: number;
  /** gid for the runtime to switch to (only without `setpriv`). */
  gid?: number;
  /** Environment the user switch implies (`HOME`, `USER`, `LOGNAME`). */
  env: Record<string, string>;
  /** Have the runtime start a new session (only without util-linux `setsid`). */
  detached?: boolean;
}

/** Options of {@linkcode shellLauncher}. */
export interface ShellLauncherOptions {
  /** Have the kernel SIGKILL the shell when the profiler dies (where `setpriv` can). */
  parentDeathSignal?: boolean;
  /** Start the shell in a session and process group of its own. */
  newSession?: boolean;
}

/**
 * The launcher of `/bin/sh`: `sh` itself, or a chain of util-linux tools
 * that each exec the next in the same process: `setpriv` (to drop to
 * another user with all of that user's groups, and to set a parent-death
 * signal) and `setsid` (a new session). Without `setpriv` the runtime's
 * uid/gid switch is used, which keeps only the primary group; without
 * `setsid`, the runtime's `detached` (slower: the runtime then forks its
 * whole address space). Used for the gate and for `--prepare`/`--cleanup`
 * hooks.
 *
 * @param runAs The user to run as, or `undefined` for the profiler's own.
 * @param options Parent-death signal and new session.
 * @returns How to spawn the shell.
 *
 * @example Usage
 * ```ts
 * import { shellLauncher } from "./program_process.ts";
 * console.log(shellLauncher(undefined).program); // "/bin/sh"
 * ```
 */
export function shellLauncher(
  runAs: InvokingUser | undefined,
  options: ShellLauncherOptions = {},
): ShellLauncher {
  const setpriv = findTool("setpriv", SETPRIV_PATHS);
  const chain: string[] = [];
  let env: Record<string, string> = {};
  let ids: { uid?: number; gid?: number } = {};
  // The kernel clears a parent-death signal on a user switch: setpriv sets it after its own.
  const deathSignal = options.parentDeathSignal === true && setpriv !== undefined &&
    setprivHasPdeathsig(setpriv);
  if (runAs !== undefined) env = { HOME: runAs.home, USER: runAs.name, LOGNAME: runAs.name };
  if (setpriv !== undefined && (deathSignal || runAs !== undefined)) {
    chain.push(setpriv);
    if (deathSignal) chain.push("--pdeathsig", "KILL");
    if (runAs !== undefined) {
      const groups = passwdEntry(runAs.uid) === undefined ? "--clear-groups" : "--init-groups";
      chain.push(`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, groups);
    }
    chain.push("--");
  } else if (runAs !== undefined) {
    ids = { uid: runAs.uid, gid: runAs.gid };
  }
  let detached = false;
  if (options.newSession === true) {
    const setsid = findTool("setsid", SETSID_PATHS);
    if (setsid !== undefined) chain.push(setsid);
    else detached = true;
  }
  chain.push("/bin/sh");
  return {
    program: chain[0]!,
    prefix: chain.slice(1),
    env,
    ...ids,
    ...(detached ? { detached } : {}),
  };
}

/**
 * How the gate sets the program's stdout: `target` is the gate's `$2`;
 * `inherited` a copy of the descriptor made for the child to inherit.
 */
function gateRedirect(stdout: SpawnHeldOptions["stdout"]): {
  target: string;
  inherited?: number;
} {
  if (typeof stdout !== "number" || stdout === 1) return { target: "" };
  if (stdout === 2) return { target: "2" };
  const status = fileStatus(stdout);
  // This process's own stdout or stderr under another number (`--stdout-file /dev/stdout`).
  if (sameFile(status, 1)) return { target: "" };
  if (sameFile(status, 2)) return { target: "2" };
  if ((status.mode & S_IFMT) === S_IFSOCK) {
    // The kernel refuses to open a socket through /proc/self/fd.
    throw new UsageError(
      "the program's stdout would be a socket other than the profiler's own stdout or stderr, " +
        "and a program writing its stdout itself can be given a socket only as one of those " +
        "(give --stdout-file a file, /dev/stdout or /dev/stderr)",
    );
  }
  // dup() clears close-on-exec: this copy crosses the launcher's execs to the gate.
  const inherited = libc().dup(stdout);
  if (inherited < 0) throw new SyscallError("dup", errno(), `the program's stdout (${stdout})`);
  return { target: `/proc/self/fd/${inherited}`, inherited };
}

/** `S_IFMT` and `S_IFSOCK` from `<sys/stat.h>`. */
const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;

/** Whether `status` is the file behind this process's descriptor `fd` (same device and inode). */
function sameFile(status: FileStatus, fd: number): boolean {
  try {
    const other = fileStatus(fd);
    return other.dev === status.dev && other.ino === status.ino;
  } catch {
    return false; // closed
  }
}

const toolPaths = new Map<string, string | null>();

function findTool(name: string, paths: string[]): string | undefined {
  if (!toolPaths.has(name)) {
    toolPaths.set(
      name,
      paths.find((path) => {
        try {
          return Deno.statSync(path).isFile;
        } catch {
          return false;
        }
      }) ?? null,
    );
  }
  return toolPaths.get(name) ?? undefined;
}

let pdeathsigSupport: boolean | undefined;

/**
 * `--pdeathsig` came with util-linux 2.33 (2018); older ones would refuse to
 * start the program. The option's name is looked for in the binary itself
 * (getopt's long-option table holds it as a string): running
 * `setpriv --help` would cost a process start on every profile.
 */
function setprivHasPdeathsig(setpriv: string): boolean {
  if (pdeathsigSupport === undefined) {
    try {
      pdeathsigSupport = containsBytes(Deno.readFileSync(setpriv), PDEATHSIG_OPTION);
    } catch {
      pdeathsigSupport = false;
    }
  }
  return pdeathsigSupport;
}

const PDEATHSIG_OPTION = new TextEncoder().encode("pdeathsig\0");

function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0]!;
  for (let at = haystack.indexOf(first); at >= 0; at = haystack.indexOf(first, at + 1)) {
    let i = 1;
    while (i < needle.length && haystack[at + i] === needle[i]) i++;
    if (i === needle.length) return true;
  }
  return false;
}

/**
 * A running (or held) profiled program.
 *
 * @example Usage
 * ```ts
 * import { ProgramProcess } from "./program_process.ts";
 * const program = ProgramProcess.spawnHeld({ executable: "/bin/true", args: [], stdout: "null" });
 * // ... set up what needs only program.pid ...
 * await program.untilHeld();
 * // ... attach counters to program.pid ...
 * program.resume();
 * console.log(await program.exit); // { code: 0, signal: null }
 * ```
 */
export class ProgramProcess {
  /** Process id; the same before and after the gate's exec. */
  readonly pid: number;
  /** Whether it leads a process group (and session) of its own. */
  readonly ownProcessGroup: boolean;
  /** The program's stdout when spawned with `stdout: "piped"`. */
  readonly stdout: ReadableStream<Uint8Array<ArrayBuffer>> | null;
  /** Resolves when the program has exited (and was reaped). */
  readonly exit: Promise<ProgramExit>;
  #exited = false;
  #resumed = false;
  #held = false;
  #gate: Promise<void> = Promise.resolve();
  /** `/proc/<pid>/stat`, kept open from the held start: read with pread at the exit. */
  #statFd = -1;
  readonly #statBuffer = new Uint8Array(1024);
  #stdoutFd: number | undefined;

  private constructor(child: Deno.ChildProcess, piped: boolean, ownProcessGroup: boolean) {
    this.pid = child.pid;
    this.ownProcessGroup = ownProcessGroup;
    this.stdout = piped ? child.stdout : null;
    this.exit = child.status.then((status) => {
      this.#exited = true;
      if (this.#statFd >= 0) libc().close(this.#statFd);
      this.#statFd = -1;
      const signal = status.signal === null
        ? null
        : signalNumber(status.signal) ?? status.code - 128;
      return { code: status.code, signal };
    });
  }

  /**
   * Spawns the program behind the gate and returns at once;
   * {@linkcode ProgramProcess.untilHeld} tells when the gate has stopped
   * itself, before one instruction of the program has run. Set-up that needs
   * only the pid (stream readers, the phase channel's warm-up) can go on
   * while the launcher execs its way to the gate (setpriv, setsid, sh: about
   * 0.85 ms each here).
   *
   * @param options What to run and how.
   * @returns The program, on its way to the gate.
   */
  static spawnHeld(options: SpawnHeldOptions): ProgramProcess {
    const start = shellLauncher(options.runAs, {
      parentDeathSignal: options.parentDeathSignal ?? true,
      newSession: options.ownProcessGroup ?? false,
    });
    const redirect = gateRedirect(options.stdout);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(start.program, {
        args: [
          ...start.prefix,
          "-c",
          GATE_SCRIPT,
          "joule-profiler-gate",
          String(Deno.pid),
          redirect.target,
          options.executable,
          ...options.args,
        ],
        stdin: "inherit",
        stdout: typeof options.stdout === "number" ? "inherit" : options.stdout,
        stderr: "inherit",
        cwd: options.cwd,
        env: { ...options.env, ...start.env },
        uid: start.uid,
        gid: start.gid,
        // Only where util-linux setsid is missing.
        detached: start.detached ?? false,
      }).spawn();
    } finally {
      // The child has its copy; ours goes.
      if (redirect.inherited !== undefined) libc().close(redirect.inherited);
    }
    const program = new ProgramProcess(
      child,
      options.stdout === "piped",
      options.ownProcessGroup ?? false,
    );
    try {
      options.onSpawn?.(program.pid);
    } catch (error) {
      program.kill();
      throw error;
    }
    try {
      // Opened once (the pid stays from the launcher to the program): at the exit one pread
      // answers (opening and reading through the runtime took ~50 µs, between the end of
      // output and END).
      program.#statFd = openKeptFile(`/proc/${program.pid}/stat`);
    } catch {
      // Gone already: the wait for the gate says so.
    }
    if (program.stdout !== null) program.#stdoutFd = growStdoutPipe(program.pid);
    // resume() is START's first kill(2): bound while the launcher execs, not in the window.
    bindNow("kill");
    program.#gate = program.#untilStopped(options.gateTimeoutMs ?? 10_000);
    // Awaited by the caller through untilHeld(); a failure nobody awaits is no crash.
    program.#gate.catch(() => {});
    return program;
  }

  /**
   * Resolves once the gate has stopped itself: the program is held, not one
   * of its instructions has run.
   *
   * @returns When held.
   * @throws {ProfilerError} When the launcher exited instead, or the gate was
   * not reached in time (the launcher is then killed).
   */
  untilHeld(): Promise<void> {
    return this.#gate;
  }

  /**
   * This process's descriptor of the read end of the program's stdout pipe,
   * when it was found and is non-blocking (the runtime's stream reads it
   * too; read it only while no stream read is pending).
   */
  get stdoutFd(): number | undefined {
    return this.#stdoutFd;
  }

  /** `true` once the program has exited and been reaped. */
  get exited(): boolean {
    return this.#exited;
  }

  /** `true` once {@linkcode ProgramProcess.resume} was called. */
  get resumed(): boolean {
    return this.#resumed;
  }

  /**
   * Lets the held program run (`SIGCONT`).
   *
   * @throws {Error} Before {@linkcode ProgramProcess.untilHeld} has resolved.
   */
  resume(): void {
    if (!this.#held) throw new Error("resume() before the program was held at its gate");
    this.#resumed = true;
    sendSignal(this.pid, SIGNALS.SIGCONT);
  }

  /**
   * Sends a signal if the program still runs.
   *
   * @param signal Signal number.
   * @returns `true` when sent.
   */
  signal(signal: number): boolean {
    if (this.#exited) return false;
    return sendSignal(this.pid, signal);
  }

  /**
   * Kills the program (`SIGKILL`, which also ends a stopped process) and
   * waits for it to be reaped, so it is never left stopped or orphaned.
   *
   * @returns The exit status.
   */
  kill(): Promise<ProgramExit> {
    this.signal(SIGNALS.SIGKILL);
    return this.exit;
  }

  /**
   * Watches `/proc/<pid>/stat` for up to `maxMicros` until the program has
   * exited: it is exiting (the kernel's `PF_EXITING` flag, set before it
   * closes its files, so at the end of its output it is usually set
   * already), a zombie, or reaped. Much quicker than waiting for the
   * runtime's exit notification, which lags by a millisecond or more.
   *
   * @param maxMicros How long to watch.
   * @returns `true` when it has exited.
   */
  waitForExit(maxMicros: number): boolean {
    const deadline = performance.now() + maxMicros / 1000;
    for (;;) {
      if (this.#exited) return true;
      const exiting = this.#readExiting();
      if (exiting !== false) return true;
      if (performance.now() > deadline) return false;
      sleepMicros(20);
    }
  }

  /**
   * Whether `/proc/<pid>/stat` shows the process exiting (state Z or X, or
   * `PF_EXITING` in its flags); `undefined` when it cannot be read (reaped).
   */
  #readExiting(): boolean | undefined {
    const text = this.#readStat();
    if (text === undefined) return undefined;
    // After "comm)": state ppid pgrp session tty_nr tpgid flags ...
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ", 7);
    const state = fields[0];
    return state === "Z" || state === "X" || (Number(fields[6]) & PF_EXITING) !== 0;
  }

  /**
   * Waits until the gate has stopped itself: `waitid(2)` in the runtime's
   * blocking pool, woken by the kernel at the stop (or an exit), which it
   * leaves to be reaped by the runtime (`WNOWAIT`); `/proc` then says which.
   */
  async #untilStopped(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const info = new Uint8Array(SIGINFO_BYTES);
    for (;;) {
      const waited = libc().waitid_blocking(P_PID, this.pid, info, WSTOPPED | WEXITED | WNOWAIT);
      let result: number | "check";
      do {
        const check = new Promise<"check">((resolve) =>
          afterMs(GATE_DEADLINE_CHECK_MS, () => resolve("check"))
        );
        result = await Promise.race([waited, check]);
        if (result === "check" && performance.now() > deadline) {
          this.kill();
          throw new ProfilerError(
            `the program did not reach its start gate within ${timeoutMs} ms`,
          );
        }
      } while (result === "check");
      const state = this.#readState();
      if (state === "T" || state === "t") {
        this.#held = true;
        return;
      }
      if (state === undefined || state === "Z" || state === "X") {
        throw new ProfilerError("the program's launcher exited before the program could start");
      }
      // Woken otherwise (the call failed): look again after a pause, within the deadline.
      if (result === -1) await new Promise((resolve) => afterMs(1, () => resolve(undefined)));
    }
  }

  /** The state letter of `/proc/<pid>/stat`, or `undefined` once it cannot be read (reaped). */
  #readState(): string | undefined {
    const text = this.#readStat();
    return text === undefined ? undefined : text.charAt(text.lastIndexOf(")") + 2);
  }

  /** `/proc/<pid>/stat`, through the kept descriptor while there is one. */
  #readStat(): string | undefined {
    if (this.#statFd >= 0) {
      const length = readKeptFile(this.#statFd, this.#statBuffer);
      return length <= 0 ? undefined : latin1.decode(this.#statBuffer.subarray(0, length));
    }
    try {
      return Deno.readTextFileSync(`/proc/${this.pid}/stat`);
    } catch {
      return undefined;
    }
  }
}

/**
 * Grows the pipe a held program writes its stdout to and returns this
 * process's descriptor of it when it is non-blocking. Deno does not show
 * the descriptor of a child's pipe, so it is found among this process's
 * own descriptors by the pipe's identity (`pipe:[inode]`); only our own
 * descriptors are touched. Quietly does nothing where that fails.
 */
function growStdoutPipe(pid: number): number | undefined {
  try {
    const pipe = Deno.readLinkSync(`/proc/${pid}/fd/1`);
    if (!pipe.startsWith("pipe:")) return undefined;
    for (const entry of Deno.readDirSync("/proc/self/fd")) {
      let target: string;
      try {
        target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
      } catch {
        continue; // the descriptor of the listing itself, closed by now
      }
      if (target !== pipe) continue;
      const fd = Number(entry.name);
      setPipeSize(fd, STDOUT_PIPE_BYTES);
      return isNonBlocking(fd) ? fd : undefined;
    }
  } catch {
    // No /proc, or no FFI: the pipe keeps its default size.
  }
  return undefined;
}
