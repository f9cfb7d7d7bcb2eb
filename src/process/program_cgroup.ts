/**
 * A cgroup of the profiled program's own: every process it starts lands in
 * it, so the kernel keeps counting the CPU time of descendants that already exited, and the whole tree can be listed and
 * killed, orphans included.
 *
 * Lifecycle: {@linkcode ProgramCgroup.create} makes a private folder (named
 * `joule-profiler-<profiler pid>-<random>`) under the profiler's own cgroup
 * in each usable hierarchy, so the limits that apply to the profiler keep
 * applying to the program; {@linkcode ProgramCgroup.adopt} moves the held
 * program in before its first instruction (children inherit the cgroup);
 * {@linkcode ProgramCgroup.killAll} signals every process in it;
 * {@linkcode ProgramCgroup.remove} deletes the folders once they are empty.
 * Folders left by a profiler that died (e.g. SIGKILL) are removed by the
 * next one.
 *
 * Hierarchies used: cgroup v1 `cpuacct` (CPU time in ns) where mounted,
 * and the cgroup v2 hierarchy (CPU time from `cpu.stat` in µs,
 * `cgroup.kill`). No controller that limits anything is involved.
 *
 * @module
 */

import { ProfilerError } from "../errors.ts";
import { cString, libc, sendSignal, SIGNALS } from "../ffi/libc.ts";
import { pathMode } from "../ffi/file_status.ts";

/** Prefix of every folder the profiler creates. */
export const CGROUP_NAME_PREFIX = "joule-profiler-";

/** The cgroup could not be created or used here; `message` says why. */
export class CgroupUnavailableError extends ProfilerError {
  /**
   * Creates the error.
   *
   * @param message Why no cgroup can be used.
   * @param options The underlying error.
   */
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options);
    this.name = "CgroupUnavailableError";
  }
}

/** The signals {@linkcode ProgramCgroup.killAll} sends. */
export type CgroupSignal =
  | "SIGHUP"
  | "SIGINT"
  | "SIGQUIT"
  | "SIGKILL"
  | "SIGTERM"
  | "SIGCONT"
  | "SIGSTOP";

/** One hierarchy the program's cgroup lives in. */
export interface CgroupFolder {
  /** `1` (a legacy hierarchy) or `2` (the unified one). */
  version: 1 | 2;
  /** v1: the hierarchy's controllers (e.g. `["cpuacct"]`); v2: those enabled for the folder. */
  controllers: string[];
  /** The program's folder. */
  path: string;
}

/** Options of {@linkcode ProgramCgroup.create}. */
export interface ProgramCgroupOptions {
  /**
   * `/proc/self/mountinfo` and `/proc/self/cgroup` to read (tests point
   * them elsewhere); default the real ones.
   */
  procSelf?: string;
}

/** One cgroup mount of interest, with the profiler's place in it. */
interface Hierarchy {
  version: 1 | 2;
  controllers: string[];
  /** The profiler's own cgroup folder in this hierarchy. */
  parent: string;
}

/**
 * The program's own cgroup, in every usable hierarchy.
 *
 * @example Usage
 * ```ts
 * import { ProgramCgroup } from "./program_cgroup.ts";
 * const cgroup = ProgramCgroup.create(); // throws CgroupUnavailableError where none can be made
 * const child = new Deno.Command("sleep", { args: ["10"] }).spawn();
 * cgroup.adopt(child.pid);
 * console.log(cgroup.pids()); // [ <pid> ]
 * cgroup.killAll("SIGKILL");
 * await child.status;
 * cgroup.remove();
 * ```
 */
export class ProgramCgroup {
  /** The folders, one per hierarchy. */
  readonly folders: readonly CgroupFolder[];
  #removed = false;

  private constructor(folders: CgroupFolder[]) {
    this.folders = folders;
  }

  /**
   * Creates the program's cgroup under the profiler's own.
   *
   * @param options Where to read the mounts (tests).
   * @returns The new, empty cgroup.
   * @throws {CgroupUnavailableError} When no hierarchy can hold it (not
   * root, no cgroup mounted, a read-only cgroupfs…).
   */
  static create(options: ProgramCgroupOptions = {}): ProgramCgroup {
    const procSelf = options.procSelf ?? "/proc/self";
    const hierarchies = findHierarchies(procSelf);
    if (hierarchies.length === 0) {
      throw new CgroupUnavailableError("no cgroup v2 or v1 cpuacct hierarchy mounted");
    }
    const name = `${CGROUP_NAME_PREFIX}${Deno.pid}-${randomHex()}`;
    const folders: CgroupFolder[] = [];
    const failures: string[] = [];
    for (const hierarchy of hierarchies) {
      removeStale(hierarchy.parent);
      const path = `${hierarchy.parent}/${name}`;
      try {
        // mkdir fails when the name exists: nothing planted is ever reused.
        Deno.mkdirSync(path, { mode: 0o755 });
      } catch (error) {
        failures.push(`${hierarchy.parent}: ${describe(error)}`);
        continue;
      }
      const controllers = hierarchy.version === 1
        ? hierarchy.controllers
        : readWords(`${path}/cgroup.controllers`);
      folders.push({ version: hierarchy.version, controllers, path });
    }
    if (folders.length === 0) {
      throw new CgroupUnavailableError(`cannot create a cgroup (${failures.join("; ")})`);
    }
    return new ProgramCgroup(folders);
  }

  /**
   * Makes the kernel's next move of a process between cgroups fast: call it
   * during a run's set-up, before the program is held, so that
   * {@linkcode ProgramCgroup.adopt} does not wait (the CLI calls it as it
   * starts `profile`, the process source again just before the program is spawned).
   *
   * A move takes the kernel's cgroup threadgroup lock for writing, which
   * waits for an RCU grace period (10–30 ms on a loaded VM) unless another
   * move happened within about the last grace period. On a runtime thread,
   * this writes the profiler's own pid into its own cgroup's `cgroup.procs`
   * (a move to where it already is: nothing changes), so that the wait
   * overlaps the rest of the set-up and a move soon after is fast. Writes
   * in flight together share one wait; a write made within the last grace
   * period of another is fast and keeps the fast path open for one more
   * (the JavaScript side learns of a write's end late, so each call writes
   * rather than guessing whether one is still in flight). Nothing is reported:
   * where the write is refused, `adopt` only pays the wait as before.
   *
   * @param options Where the mounts are read (tests).
   * @returns When the write has returned.
   *
   * @example Usage
   * ```ts
   * import { ProgramCgroup } from "./program_cgroup.ts";
   * const warm = ProgramCgroup.warmUp();
   * const cgroup = ProgramCgroup.create();
   * const child = new Deno.Command("sleep", { args: ["1"] }).spawn();
   * cgroup.adopt(child.pid); // waits for no more than what is left of the warm-up's wait
   * await warm;
   * cgroup.killAll("SIGKILL");
   * await child.status;
   * cgroup.remove();
   * ```
   */
  static warmUp(options: ProgramCgroupOptions = {}): Promise<void> {
    let parent: string | undefined;
    try {
      parent = findHierarchies(options.procSelf ?? "/proc/self")[0]?.parent;
    } catch {
      // No cgroup here: create() says why when it is used.
    }
    if (parent === undefined) return Promise.resolve();
    const fd = libc().open(cString(`${parent}/cgroup.procs`), O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) return Promise.resolve();
    // Referenced by the closure until the write has returned.
    const line = new TextEncoder().encode(`${Deno.pid}\n`);
    return libc().writeOffThread(fd, line, BigInt(line.length)).then(
      () => {},
      () => {},
    ).finally(() => {
      libc().close(fd);
      void line;
    });
  }

  /**
   * The folder of a v1 controller's hierarchy, or of the v2 hierarchy when
   * `controller` is `"unified"` or enabled there.
   *
   * @param controller e.g. `cpuacct` or `unified`.
   * @returns The folder, or `undefined` when this cgroup has none.
   */
  folder(controller: string): CgroupFolder | undefined {
    return this.folders.find((folder) =>
      folder.version === 1
        ? folder.controllers.includes(controller)
        : controller === "unified" || folder.controllers.includes(controller)
    );
  }

  /**
   * Moves a process (and, from then on, everything it starts) into the
   * cgroup, in every hierarchy. Give it the held program, before it runs.
   *
   * @param pid The process.
   * @throws {CgroupUnavailableError} When the kernel refuses the move.
   */
  adopt(pid: number): void {
    for (const folder of this.folders) {
      try {
        Deno.writeTextFileSync(`${folder.path}/cgroup.procs`, `${pid}\n`);
      } catch (error) {
        throw new CgroupUnavailableError(
          `cannot move pid ${pid} into ${folder.path}: ${describe(error)}`,
          { cause: error },
        );
      }
    }
  }

  /**
   * The processes now in the cgroup.
   *
   * @returns Their pids (empty once all have exited and been reaped).
   */
  pids(): number[] {
    const path = `${this.folders[0]!.path}/cgroup.procs`;
    // Gone once the run's cgroup was removed: one statx, not an exception.
    if (pathMode(path) < 0) return [];
    try {
      return parsePids(Deno.readTextFileSync(path));
    } catch {
      return [];
    }
  }

  /**
   * Sends a signal to every process in the cgroup, including those that
   * left the program's process tree (orphans, daemons). With `SIGKILL` it
   * repeats until the cgroup is empty (a process forking while it is killed
   * cannot escape), using v2's `cgroup.kill` where there is one.
   *
   * @param signal Signal name, e.g. `SIGTERM` or `SIGKILL`.
   * @returns How many processes were signalled.
   */
  killAll(signal: CgroupSignal): number {
    const number = SIGNALS[signal];
    const unified = this.folder("unified");
    let signalled = 0;
    if (number === SIGNALS.SIGKILL && unified !== undefined) {
      const count = this.pids().length;
      try {
        Deno.writeTextFileSync(`${unified.path}/cgroup.kill`, "1");
        return count;
      } catch {
        // Kernels before 5.14 have no cgroup.kill: signal one by one below.
      }
    }
    for (let round = 0; round < (number === SIGNALS.SIGKILL ? 100 : 1); round++) {
      const pids = this.pids().filter((pid) => pid !== Deno.pid);
      if (pids.length === 0) break;
      for (const pid of pids) if (sendSignal(pid, number)) signalled++;
    }
    return signalled;
  }

  /**
   * Deletes the cgroup's folders (idempotent). Processes still in it keep
   * running, and their folders are kept: kill them first
   * (`killAll("SIGKILL")`) and wait for them to be reaped.
   *
   * @returns `true` when every folder was removed.
   */
  remove(): boolean {
    if (this.#removed) return true;
    let all = true;
    for (const folder of this.folders) {
      try {
        Deno.removeSync(folder.path);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) all = false;
      }
    }
    this.#removed = all;
    return all;
  }
}

const O_WRONLY = 0o1;
const O_NOFOLLOW = 0o400000;
const O_CLOEXEC = 0o2000000;

/** The cgroup hierarchies to use, with the profiler's folder in each. */
function findHierarchies(procSelf: string): Hierarchy[] {
  let mountinfo: string;
  let membership: string;
  try {
    mountinfo = Deno.readTextFileSync(`${procSelf}/mountinfo`);
    membership = Deno.readTextFileSync(`${procSelf}/cgroup`);
  } catch (error) {
    throw new CgroupUnavailableError(`cannot read ${procSelf}: ${describe(error)}`);
  }
  /** Own cgroup per hierarchy: `""` for v2, the controller list for v1. */
  const own = new Map<string, string>();
  for (const line of membership.split("\n")) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (match !== null) own.set(match[1]!, match[2]!);
  }
  const found: Hierarchy[] = [];
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    if (left === undefined || right === undefined) continue;
    const fields = left.split(" ");
    const [fsType, , superOptions = ""] = right.split(" ");
    const root = fields[3]!;
    const mountPoint = unescapeMount(fields[4] ?? "");
    if (fsType === "cgroup2") {
      const path = own.get("");
      if (path === undefined) continue;
      found.push({ version: 2, controllers: [], parent: joinCgroupPath(mountPoint, root, path) });
    } else if (fsType === "cgroup") {
      const controllers: string[] = superOptions.split(",").filter((option) =>
        option === "cpuacct" || option === "cpu"
      );
      if (!controllers.includes("cpuacct")) continue;
      const key = [...own.keys()].find((entry) =>
        entry.split(",").some((name) => controllers.includes(name))
      );
      if (key === undefined) continue;
      found.push({
        version: 1,
        controllers,
        parent: joinCgroupPath(mountPoint, root, own.get(key)!),
      });
    }
  }
  return found;
}

/** The folder of cgroup `path` in a hierarchy mounted at `mountPoint` from `root`. */
function joinCgroupPath(mountPoint: string, root: string, path: string): string {
  // A mount of a sub-folder (containers): paths in /proc/self/cgroup are relative to the hierarchy.
  const relative = root !== "/" && path.startsWith(root) ? path.slice(root.length) : path;
  return `${mountPoint}${relative === "/" ? "" : relative}`.replace(/\/+$/, "");
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMount(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8)));
}

/** Removes empty folders left by profilers that are no longer running. */
function removeStale(parent: string): void {
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync(parent);
  } catch {
    return;
  }
  for (const entry of entries) {
    const match = /^joule-profiler-(\d+)-[0-9a-f]+$/.exec(entry.name);
    if (match === null || !entry.isDirectory) continue;
    const pid = Number(match[1]);
    if (pid === Deno.pid || processExists(pid)) continue;
    try {
      Deno.removeSync(`${parent}/${entry.name}`);
    } catch {
      // Still holds processes: leave it.
    }
  }
}

function processExists(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

function parsePids(text: string): number[] {
  const pids: number[] = [];
  for (const line of text.split("\n")) if (line !== "") pids.push(Number(line));
  return pids;
}

function readWords(path: string): string[] {
  try {
    return Deno.readTextFileSync(path).trim().split(/\s+/).filter((word) => word !== "");
  } catch {
    return [];
  }
}

function randomHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
