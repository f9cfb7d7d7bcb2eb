/**
 * Every file the profiler writes goes through this module: results (`-o`),
 * the program's stdout (`--stdout-file`), Markdown, samples CSV, timelines.
 *
 * The profiler often runs as root on shared machines, so a path is walked
 * one component at a time through directory descriptors opened with
 * `O_NOFOLLOW`. A symbolic link is followed only when the invoking user (or
 * root) could have put it there; the file is created with `O_EXCL` beside
 * its destination, owned with `fchown` on its descriptor, and renamed into
 * place with `renameat` in the directory that was checked. An existing
 * file keeps its mode and owner. See docs/SECURITY.md.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { cString, errno, libc, SyscallError } from "../ffi/libc.ts";
import { type FileStatus, fileStatus } from "../ffi/file_status.ts";
import { invokingUser } from "../process/invoking_user.ts";
import { OrphanWatchdog } from "../process/orphan_watchdog.ts";

// Linux open(2) flags (the same on x86_64 and aarch64 for these).
const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_DIRECTORY = 0o200000;
const O_NOFOLLOW = 0o400000;
const O_CLOEXEC = 0o2000000;
const O_PATH = 0o10000000;
const AT_FDCWD = -100;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
/** As the kernel's MAXSYMLINKS. */
const MAX_LINK_HOPS = 40;

/** Who owns a file. */
export interface FileOwner {
  /** User id. */
  uid: number;
  /** Group id. */
  gid: number;
}

/** Options of {@linkcode ResultFile.prepare} and {@linkcode openStreamFile}. */
export interface SafeFileOptions {
  /**
   * Follow a symbolic link at the final name (default `true`). `false`
   * replaces a link there by the file itself, as for the default
   * `data<TIMESTAMP>` names.
   */
  followSymlinks?: boolean;
  /**
   * The user on whose behalf the file is written: links they (or root)
   * own, or that lie in folders only they (or root) can write, are
   * followed. Default: the user behind `sudo`, else the process's user.
   */
  invokingUid?: number;
}

/** A destination checked component by component, held by its directory descriptor. */
interface CheckedPath {
  /** Absolute path as given (what messages show). */
  shown: string;
  /** `O_PATH` descriptor of the directory that holds the final name. */
  directoryFd: number;
  /** The final name inside that directory. */
  base: string;
  /** The file already there (after following trusted links), or `undefined`. */
  existing: FileStatus | undefined;
  /**
   * One of the profiler's own descriptors, when the path names it
   * (`/dev/stdout`, `/dev/fd/3`, `/proc/self/fd/1`): written to directly.
   */
  descriptor?: number;
}

function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

function openAt(directoryFd: number, name: string, flags: number, mode = 0): number {
  return libc().openat(directoryFd, cString(name), flags | O_CLOEXEC, mode);
}

function readLinkAt(fd: number): string {
  const buffer = new Uint8Array(4096);
  const length = Number(libc().readlinkat(fd, cString(""), buffer, BigInt(buffer.length)));
  if (length < 0) throw new SyscallError("readlinkat", errno());
  return new TextDecoder().decode(buffer.subarray(0, length));
}

function defaultInvokingUid(): number {
  return invokingUser()?.uid ?? Deno.uid() ?? 0;
}

/**
 * Whether a link could only have been made by the invoking user or root:
 * it is theirs, or its folder is writable by nobody else (not group- or
 * world-writable, and owned by them or root).
 */
function linkTrusted(link: FileStatus, folder: FileStatus, invokingUid: number): boolean {
  if (link.uid === invokingUid || link.uid === 0) return true;
  const othersMayWrite = (folder.mode & 0o022) !== 0;
  return !othersMayWrite && (folder.uid === invokingUid || folder.uid === 0);
}

function describeFolder(folder: FileStatus): string {
  if ((folder.mode & 0o1002) === 0o1002) return "a world-writable sticky folder";
  if ((folder.mode & 0o002) !== 0) return "a world-writable folder";
  if ((folder.mode & 0o020) !== 0) return "a group-writable folder";
  return `a folder of uid ${folder.uid}`;
}

/** Why an `open`-family call failed, in words for the user. */
function explain(code: number, directory: string): string {
  switch (code) {
    case 2:
      return `directory '${directory}' does not exist`;
    case 20:
      return `'${directory}' is not a directory`;
    case 1:
    case 13:
      return `permission denied in directory '${directory}'`;
    case 30:
      return `'${directory}' is on a read-only file system`;
    case 28:
    case 122:
      return `no space left in '${directory}'`;
    default:
      return new SyscallError("open", code).message;
  }
}

/**
 * Walks `path` through `O_NOFOLLOW` descriptors, following a symbolic link
 * only when {@linkcode linkTrusted} says so, and returns the directory that
 * holds the final name.
 */
function checkPath(path: string, options: SafeFileOptions, label: string): CheckedPath {
  const shown = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const fail = (reason: string): never => {
    throw new UsageError(`cannot write ${label}: ${reason}`);
  };
  const name = shown.slice(shown.lastIndexOf("/") + 1);
  if (name === "" || name === "." || name === "..") fail("not a file name");
  const invokingUid = options.invokingUid ?? defaultInvokingUid();
  const follow = options.followSymlinks ?? true;
  let directoryFd = -1;
  const restart = (absolute: boolean, where: string) => {
    closeFd(directoryFd);
    directoryFd = openAt(AT_FDCWD, absolute ? "/" : ".", O_PATH | O_DIRECTORY);
    if (directoryFd < 0) fail(explain(errno(), where));
  };
  let directoryShown = path.startsWith("/") ? "" : Deno.cwd().replace(/\/$/, "");
  restart(path.startsWith("/"), directoryShown || "/");
  const pending = path.split("/").filter((part) => part !== "" && part !== ".");
  let hops = 0;
  try {
    while (pending.length > 0) {
      const part = pending.shift()!;
      const last = pending.length === 0;
      const fd = openAt(directoryFd, part, O_PATH | O_NOFOLLOW);
      if (fd < 0) {
        const code = errno();
        if (last && code === 2) {
          if (directoryShown === `/proc/${Deno.pid}/fd`) fail(`descriptor ${part} is not open`);
          return { shown, directoryFd, base: part, existing: undefined };
        }
        fail(explain(code, last ? directoryShown || "/" : `${directoryShown}/${part}`));
      }
      let stat: FileStatus;
      try {
        stat = fileStatus(fd);
        if ((stat.mode & S_IFMT) === S_IFLNK) {
          // /proc/<our pid>/fd/N names a descriptor of ours, not a path to follow.
          if (last && /^\d+$/.test(part) && directoryShown === `/proc/${Deno.pid}/fd`) {
            closeFd(fd);
            const descriptor = Number(part);
            let existing: FileStatus;
            try {
              existing = fileStatus(descriptor);
            } catch {
              return fail(`descriptor ${descriptor} is not open`);
            }
            return { shown, directoryFd, base: part, existing, descriptor };
          }
          if (last && !follow) {
            return { shown, directoryFd, base: part, existing: undefined };
          }
          const folder = fileStatus(directoryFd);
          if (!linkTrusted(stat, folder, invokingUid)) {
            fail(
              `'${part}' is a symbolic link of uid ${stat.uid} in ${
                describeFolder(folder)
              }; the profiler does not write through links another user could have planted ` +
                `(remove it, or give the link's target instead)`,
            );
          }
          if (++hops > MAX_LINK_HOPS) fail("too many levels of symbolic links");
          const target = readLinkAt(fd);
          pending.unshift(...target.split("/").filter((piece) => piece !== "" && piece !== "."));
          if (target.startsWith("/")) {
            directoryShown = "";
            restart(true, "/");
          }
          if (pending.length === 0) fail("a symbolic link to '/' is not a file name");
          continue;
        }
      } catch (error) {
        closeFd(fd);
        throw error;
      }
      if (last) {
        closeFd(fd);
        if ((stat.mode & S_IFMT) === S_IFDIR) fail("it is a directory");
        return { shown, directoryFd, base: part, existing: stat };
      }
      if ((stat.mode & S_IFMT) !== S_IFDIR) {
        closeFd(fd);
        fail(`'${directoryShown}/${part}' is not a directory`);
      }
      closeFd(directoryFd);
      directoryFd = fd;
      directoryShown = `${directoryShown}/${part}`;
    }
    return fail("not a file name");
  } catch (error) {
    closeFd(directoryFd);
    throw error;
  }
}

/** A file descriptor opened by this module, written with `write(2)`. */
class Descriptor {
  #fd: number;

  constructor(fd: number) {
    this.#fd = fd;
  }

  get fd(): number {
    return this.#fd;
  }

  writeSync(bytes: Uint8Array): number {
    const written = Number(libc().write(this.#fd, bytes, BigInt(bytes.length)));
    if (written < 0) {
      const code = errno();
      if (code === 4) return 0; // EINTR: nothing written, the caller retries
      if (code === 32) throw new Deno.errors.BrokenPipe("write: broken pipe");
      throw new SyscallError("write", code);
    }
    return written;
  }

  close(): void {
    if (this.#fd < 0) return;
    libc().close(this.#fd);
    this.#fd = -1;
  }
}

function temporaryName(base: string): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
  return `.${base}.${Deno.pid}.${random}.tmp`;
}

/**
 * Opens a device or FIFO found at the checked name for writing, never a
 * regular file (a hard link planted there would be written through).
 */
function openSpecial(checked: CheckedPath, label: string): Descriptor | undefined {
  const fd = openAt(checked.directoryFd, checked.base, O_WRONLY | O_NOFOLLOW);
  if (fd < 0) {
    throw new UsageError(`cannot write ${label}: ${explain(errno(), checked.shown)}`);
  }
  const kind = fileStatus(fd).mode & S_IFMT;
  if (kind === S_IFREG) {
    // Replaced by a regular file since the check: take the rename path instead.
    closeFd(fd);
    return undefined;
  }
  return new Descriptor(fd);
}

/** A copy of one of the profiler's own descriptors, to write to and close. */
function dupOf(checked: CheckedPath, label: string): Descriptor {
  const fd = libc().dup(checked.descriptor!);
  if (fd < 0) {
    throw new UsageError(`cannot write ${label}: ${new SyscallError("dup", errno()).message}`);
  }
  return new Descriptor(fd);
}

function createTemporary(checked: CheckedPath, label: string): [number, string] {
  const temporary = temporaryName(checked.base);
  // Guarded before it exists: the watchdog removes it if the profiler is killed before commit
  // or discard, even by a signal landing between the file's creation and the next instruction.
  const guarded = { temporaryPath: pathIn(checked, temporary) };
  OrphanWatchdog.shared().guard(guarded);
  const mode = checked.existing === undefined ? 0o644 : checked.existing.mode & 0o777;
  const fd = openAt(
    checked.directoryFd,
    temporary,
    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
    mode,
  );
  if (fd < 0) {
    const code = errno();
    OrphanWatchdog.shared().release(guarded);
    const directory = checked.shown.slice(0, checked.shown.lastIndexOf("/")) || "/";
    throw new UsageError(`cannot write ${label}: ${explain(code, directory)}`);
  }
  return [fd, temporary];
}

/** The absolute path of `name` in the checked directory (for the watchdog, which needs a path). */
function pathIn(checked: CheckedPath, name: string): string {
  try {
    return `${
      Deno.readLinkSync(`/proc/self/fd/${checked.directoryFd}`).replace(/\/$/, "")
    }/${name}`;
  } catch {
    return name; // not guarded: the watchdog only acts on absolute paths it was given
  }
}

/** Tells the watchdog a temporary file is gone (renamed into place or removed). */
function released(checked: CheckedPath, name: string): void {
  OrphanWatchdog.shared().release({ temporaryPath: pathIn(checked, name) });
}

/** Gives the new file the replaced file's mode and owner, or `owner` when new. */
function settle(fd: number, existing: FileStatus | undefined, owner: FileOwner | undefined): void {
  if (existing !== undefined) {
    // umask narrowed the mode given to openat: set it exactly.
    if (libc().fchmod(fd, existing.mode & 0o7777) !== 0) {
      throw new SyscallError("fchmod", errno());
    }
    if (
      (existing.uid !== Deno.uid() || existing.gid !== Deno.gid()) &&
      libc().fchown(fd, existing.uid, existing.gid) !== 0 && errno() !== 1
    ) {
      throw new SyscallError("fchown", errno());
    }
    return;
  }
  if (owner !== undefined && libc().fchown(fd, owner.uid, owner.gid) !== 0) {
    throw new SyscallError("fchown", errno());
  }
}

/**
 * A result file reserved before the run and written whole after it.
 *
 * `prepare` checks the path and creates the temporary file at once (see
 * the module notes), so an unwritable or unsafe destination is reported
 * before the program starts. `commit` writes, syncs and renames; if
 * anything fails the previous file of that name is untouched.
 *
 * @example Usage
 * ```ts
 * import { ResultFile } from "./result_file.ts";
 * const file = ResultFile.prepare(await Deno.makeTempFile({ suffix: ".json" }));
 * // ... profile ...
 * file.commit('{"ok": true}\n');
 * ```
 */
export class ResultFile {
  /** Absolute path of the destination. */
  readonly path: string;
  /** Where the file lands (see {@linkcode refuseSharedDestinations}); equal for two spellings of one file. */
  readonly identity: string;
  readonly #checked: CheckedPath;
  /** Temporary name in the checked directory, or `undefined` when writing to a device. */
  readonly #temporary: string | undefined;
  #file: Descriptor | undefined;

  private constructor(
    checked: CheckedPath,
    temporary: string | undefined,
    file: Descriptor,
    identity: string,
  ) {
    this.path = checked.shown;
    this.#checked = checked;
    this.#temporary = temporary;
    this.#file = file;
    this.identity = identity;
  }

  /**
   * Checks the destination and reserves a temporary file beside it.
   *
   * A device or FIFO such as `/dev/null` or `/dev/stdout` is written to
   * directly: it is never replaced by a file.
   *
   * @param path Destination path (relative to the cwd or absolute).
   * @param options Link handling (see {@linkcode SafeFileOptions}).
   * @param what What is written, for messages (default `results`).
   * @returns The reserved file.
   * @throws {UsageError} When the directory is missing or not writable, the
   * path is a directory, or a symbolic link on the way is not trusted.
   */
  static prepare(path: string, options: SafeFileOptions = {}, what = "results"): ResultFile {
    const label = `${what} to '${path}'`;
    const checked = checkPath(path, options, label);
    try {
      if (checked.descriptor !== undefined) {
        return new ResultFile(checked, undefined, dupOf(checked, label), locationOf(checked));
      }
      const kind = (checked.existing?.mode ?? S_IFREG) & S_IFMT;
      if (kind !== S_IFREG) {
        const special = openSpecial(checked, label);
        if (special !== undefined) {
          return new ResultFile(checked, undefined, special, locationOf(checked));
        }
      }
      const [fd, temporary] = createTemporary(checked, label);
      return new ResultFile(checked, temporary, new Descriptor(fd), locationOf(checked));
    } catch (error) {
      closeFd(checked.directoryFd);
      throw error;
    }
  }

  /**
   * Writes the whole content and moves it into place.
   *
   * @param content The file's text, whole or in pieces (written as they come).
   * @param owner Give a new file to this user and group (e.g. the user
   * behind `sudo`) before it appears; a replaced file keeps its owner.
   * @throws {Error} When writing fails; the destination is then untouched
   * and the temporary file removed.
   */
  commit(content: string | Iterable<string>, owner?: FileOwner): void {
    const file = this.#file;
    if (file === undefined) throw new Error("result file already committed or discarded");
    this.#file = undefined;
    try {
      writeText(file, content);
      if (this.#temporary !== undefined) {
        settle(file.fd, this.#checked.existing, owner);
        if (libc().fsync(file.fd) !== 0) throw new SyscallError("fsync", errno());
      }
      file.close();
      if (this.#temporary !== undefined) {
        const { directoryFd, base } = this.#checked;
        if (libc().renameat(directoryFd, cString(this.#temporary), directoryFd, cString(base))) {
          throw new SyscallError("renameat", errno());
        }
        released(this.#checked, this.#temporary);
      }
      closeFd(this.#checked.directoryFd);
    } catch (error) {
      file.close();
      this.#remove();
      throw error;
    }
  }

  /** Gives up: removes the temporary file, leaves the destination as it was. */
  discard(): void {
    if (this.#file === undefined) return;
    this.#file.close();
    this.#file = undefined;
    this.#remove();
  }

  #remove(): void {
    if (this.#temporary !== undefined) {
      libc().unlinkat(this.#checked.directoryFd, cString(this.#temporary), 0);
      released(this.#checked, this.#temporary);
    }
    closeFd(this.#checked.directoryFd);
  }
}

/**
 * Where a checked path lands: the directory's device and inode plus the
 * final name, so two spellings of one destination (links, `..`) compare
 * equal before either file exists.
 */
function locationOf(checked: CheckedPath): string {
  if (
    checked.existing !== undefined &&
    ((checked.existing.mode & S_IFMT) !== S_IFREG || checked.descriptor !== undefined)
  ) {
    return `${checked.existing.dev}:${checked.existing.ino}`;
  }
  const directory = fileStatus(checked.directoryFd);
  return `${directory.dev}:${directory.ino}/${checked.base}`;
}

/** A file written while the program runs (its stdout), see {@linkcode openStreamFile}. */
export interface StreamFile {
  /** Absolute path as given. */
  readonly path: string;
  /** Where the file lands (see {@linkcode refuseSharedDestinations}). */
  readonly identity: string;
  /** Writes some of `bytes` (`write(2)`), returning how many. */
  writeSync(bytes: Uint8Array): number;
  /** Its descriptor (-1 once closed): a program may be given it as its stdout. */
  readonly fd: number;
  /** Closes the file. */
  close(): void;
}

/**
 * Opens a file to be written while the program runs, such as its stdout.
 * A regular file there is replaced at once (a new file created with
 * `O_EXCL` beside it, then renamed over it) rather than truncated, so a
 * hard link planted at the name is never written through; a device or FIFO
 * is written directly. Links follow the rules of {@linkcode ResultFile}.
 *
 * @param path The file.
 * @param options Link handling and the new file's owner.
 * @returns The open file.
 * @throws {UsageError} When the path cannot be written safely.
 *
 * @example Usage
 * ```ts
 * import { openStreamFile } from "./result_file.ts";
 * const file = openStreamFile(await Deno.makeTempFile());
 * file.writeSync(new TextEncoder().encode("program output\n"));
 * file.close();
 * ```
 */
export function openStreamFile(
  path: string,
  options: SafeFileOptions & { owner?: FileOwner; label?: string } = {},
): StreamFile {
  const label = options.label ?? `the program's stdout to '${path}'`;
  const checked = checkPath(path, options, label);
  try {
    if (checked.descriptor !== undefined) {
      return streamOf(checked.shown, dupOf(checked, label), locationOf(checked));
    }
    const kind = (checked.existing?.mode ?? S_IFREG) & S_IFMT;
    if (kind !== S_IFREG) {
      const special = openSpecial(checked, label);
      if (special !== undefined) {
        return streamOf(checked.shown, special, locationOf(checked));
      }
    }
    const identity = locationOf(checked);
    const [fd, temporary] = createTemporary(checked, label);
    const descriptor = new Descriptor(fd);
    try {
      settle(fd, checked.existing, options.owner);
      if (
        libc().renameat(
          checked.directoryFd,
          cString(temporary),
          checked.directoryFd,
          cString(checked.base),
        )
      ) {
        throw new SyscallError("renameat", errno());
      }
      released(checked, temporary);
    } catch (error) {
      descriptor.close();
      libc().unlinkat(checked.directoryFd, cString(temporary), 0);
      released(checked, temporary);
      throw new UsageError(`cannot write ${label}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return streamOf(checked.shown, descriptor, identity);
  } finally {
    closeFd(checked.directoryFd);
  }
}

/** One output named on the command line, for {@linkcode refuseSharedDestinations}. */
export interface NamedOutput {
  /** The option that names it, e.g. `-o` or `--stdout-file`. */
  option: string;
  /** The path given. */
  path: string;
  /** Link handling for this output (as it will be opened). */
  followSymlinks?: boolean;
}

/**
 * Refuses two outputs that land on the same file (the same path, or two
 * spellings of it through links or `..`), before anything is written.
 * `/dev/null` may be given to several.
 *
 * @param outputs The outputs of one command.
 * @param options The invoking user, as for {@linkcode ResultFile.prepare}.
 * @throws {UsageError} Naming both options, when two collide, or when a
 * path cannot be written safely.
 *
 * @example Usage
 * ```ts
 * import { refuseSharedDestinations } from "./result_file.ts";
 * refuseSharedDestinations([
 *   { option: "-o", path: "/tmp/results.json" },
 *   { option: "--stdout-file", path: "/tmp/program.txt" },
 * ]);
 * ```
 */
export function refuseSharedDestinations(
  outputs: readonly NamedOutput[],
  options: { invokingUid?: number } = {},
): void {
  const seen = new Map<string, NamedOutput>();
  for (const output of outputs) {
    if (output.path === "/dev/null") continue;
    const label = output.option === "-o"
      ? `results to '${output.path}'`
      : `${output.option} '${output.path}'`;
    const checked = checkPath(
      output.path,
      { ...options, followSymlinks: output.followSymlinks },
      label,
    );
    let location: string;
    try {
      location = locationOf(checked);
    } finally {
      closeFd(checked.directoryFd);
    }
    const earlier = seen.get(location);
    if (earlier !== undefined) {
      throw new UsageError(
        `${earlier.option} '${earlier.path}' and ${output.option} '${output.path}' name the same ` +
          `file: give each output its own path`,
      );
    }
    seen.set(location, output);
  }
}

function streamOf(path: string, descriptor: Descriptor, identity: string): StreamFile {
  return {
    path,
    identity,
    writeSync: (bytes) => descriptor.writeSync(bytes),
    get fd() {
      return descriptor.fd;
    },
    close: () => descriptor.close(),
  };
}

/** Flush threshold for buffered pieces. */
const WRITE_BATCH = 1 << 16;

/**
 * Writes text, whole or as pieces, to a synchronous writer: small pieces
 * are encoded as they come into one ~64 KiB buffer and written when it is
 * full, so a large result is never held as one string or one buffer. (No
 * piece is kept as a string until a write: pieces that lived that long
 * outlived young-generation collections, and 100,000 phases' CSV left a
 * hundred megabytes of old garbage.)
 *
 * @param writer The destination.
 * @param content Text, or pieces of text in order.
 *
 * @example Usage
 * ```ts
 * import { writeText } from "./result_file.ts";
 * writeText(Deno.stdout, ["a", "b\n"]);
 * ```
 */
export function writeText(
  writer: { writeSync(bytes: Uint8Array): number },
  content: string | Iterable<string>,
): void {
  const encoder = new TextEncoder();
  const write = (bytes: Uint8Array) => {
    let offset = 0;
    while (offset < bytes.length) offset += writer.writeSync(bytes.subarray(offset));
  };
  const flush = (text: string) => write(encoder.encode(text));
  if (typeof content === "string") {
    flush(content);
    return;
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit (a pair's 4 bytes are 2 per unit).
  const buffer = new Uint8Array(WRITE_BATCH * 3);
  let used = 0;
  // A high surrogate that ends a piece waits for the low one that starts the next.
  let carried = "";
  for (const piece of content) {
    let text = carried === "" ? piece : carried + piece;
    carried = "";
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      carried = text.slice(-1);
      text = text.slice(0, -1);
    }
    if (text.length > WRITE_BATCH) {
      if (used > 0) write(buffer.subarray(0, used));
      used = 0;
      flush(text);
      continue;
    }
    if (used + text.length * 3 > buffer.length) {
      write(buffer.subarray(0, used));
      used = 0;
    }
    used += encoder.encodeInto(text, buffer.subarray(used)).written;
  }
  if (carried !== "") {
    if (used + 3 > buffer.length) {
      write(buffer.subarray(0, used));
      used = 0;
    }
    used += encoder.encodeInto(carried, buffer.subarray(used)).written;
  }
  if (used > 0) write(buffer.subarray(0, used));
}
