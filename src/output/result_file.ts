/**
 * Result files that are either complete or absent: written to a temporary
 * file beside the target, then renamed over it.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { OrphanWatchdog } from "../process/orphan_watchdog.ts";

/**
 * A result file reserved before the run and written whole after it.
 *
 * `prepare` creates the temporary file at once (exclusively, never
 * following a planted symlink), so an unwritable destination is reported
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
  /** Temporary file renamed over `path`, or `undefined` when writing straight to a device. */
  readonly #temporary: string | undefined;
  #file: Deno.FsFile | undefined;

  private constructor(path: string, temporary: string | undefined, file: Deno.FsFile) {
    this.path = path;
    this.#temporary = temporary;
    this.#file = file;
  }

  /**
   * Checks the destination and reserves a temporary file beside it.
   *
   * A symbolic link is followed (the file it names is replaced atomically)
   * unless `followSymlinks` is false, as for the default `data<TIMESTAMP>`
   * names, where a planted link is replaced itself. A device or FIFO such
   * as `/dev/null` or `/dev/stdout` is written to directly: it is never
   * replaced by a file.
   *
   * @param path Destination path (relative to the cwd or absolute).
   * @param options `followSymlinks` (default `true`).
   * @returns The reserved file.
   * @throws {UsageError} When the directory is missing or not writable, or
   * the path is a directory.
   */
  static prepare(path: string, options: { followSymlinks?: boolean } = {}): ResultFile {
    let absolute = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
    const name = absolute.slice(absolute.lastIndexOf("/") + 1);
    if (name === "" || name === "." || name === "..") {
      throw new UsageError(`cannot write results to '${path}': not a file name`);
    }
    let existing: Deno.FileInfo | undefined;
    try {
      existing = Deno.lstatSync(absolute);
      if (existing.isSymlink && (options.followSymlinks ?? true)) {
        absolute = Deno.realPathSync(absolute);
        existing = Deno.statSync(absolute);
      }
    } catch {
      // Absent (the usual case), a dangling link, or unreadable: opening says why.
    }
    if (existing?.isDirectory) {
      throw new UsageError(`cannot write results to '${path}': it is a directory`);
    }
    if (existing !== undefined && !existing.isFile && !existing.isSymlink) {
      try {
        return new ResultFile(absolute, undefined, Deno.openSync(absolute, { write: true }));
      } catch (error) {
        throw new UsageError(`cannot write results to '${path}': ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    const slash = absolute.lastIndexOf("/");
    const directory = absolute.slice(0, slash) || "/";
    const base = absolute.slice(slash + 1);
    const random = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
    const temporary = `${directory}/.${base}.${Deno.pid}.${random}.tmp`;
    // Started before the file exists: it removes the file if the profiler is killed before
    // commit or discard.
    const watchdog = OrphanWatchdog.shared();
    try {
      const file = Deno.openSync(temporary, { write: true, createNew: true, mode: 0o644 });
      watchdog.guard({ temporaryPath: temporary });
      return new ResultFile(absolute, temporary, file);
    } catch (error) {
      throw new UsageError(`cannot write results to '${path}': ${describe(error, directory)}`, {
        cause: error,
      });
    }
  }

  /**
   * Writes the whole content and moves it into place.
   *
   * @param content The file's text, whole or in pieces (written as they come).
   * @param owner Give the file to this user and group (e.g. the user behind
   * `sudo`) before it appears.
   * @throws {Error} When writing fails; the destination is then untouched
   * and the temporary file removed.
   */
  commit(content: string | Iterable<string>, owner?: { uid: number; gid: number }): void {
    const file = this.#file;
    if (file === undefined) throw new Error("result file already committed or discarded");
    this.#file = undefined;
    try {
      writeText(file, content);
      if (this.#temporary === undefined) {
        file.close();
        return;
      }
      file.syncSync();
      file.close();
      if (owner !== undefined) Deno.chownSync(this.#temporary, owner.uid, owner.gid);
      Deno.renameSync(this.#temporary, this.path);
      OrphanWatchdog.shared().release({ temporaryPath: this.#temporary });
    } catch (error) {
      try {
        file.close();
      } catch {
        // Already closed.
      }
      this.#remove();
      throw error;
    }
  }

  /** Gives up: removes the temporary file, leaves the destination as it was. */
  discard(): void {
    if (this.#file === undefined) return;
    try {
      this.#file.close();
    } catch {
      // Already closed.
    }
    this.#file = undefined;
    this.#remove();
  }

  #remove(): void {
    if (this.#temporary === undefined) return;
    try {
      Deno.removeSync(this.#temporary);
    } catch {
      // Nothing to clean up.
    }
    OrphanWatchdog.shared().release({ temporaryPath: this.#temporary });
  }
}

function describe(error: unknown, directory: string): string {
  if (error instanceof Deno.errors.NotFound) return `directory '${directory}' does not exist`;
  if (error instanceof Deno.errors.NotADirectory) return `'${directory}' is not a directory`;
  if (error instanceof Deno.errors.PermissionDenied) {
    return `permission denied in directory '${directory}'`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Flush threshold for buffered pieces. */
const WRITE_BATCH = 1 << 16;

/**
 * Writes text, whole or as pieces, to a synchronous writer: small pieces
 * are gathered into ~64 KiB writes, so a large result is never held as one
 * string or one buffer.
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
  const flush = (text: string) => {
    const bytes = encoder.encode(text);
    let offset = 0;
    while (offset < bytes.length) offset += writer.writeSync(bytes.subarray(offset));
  };
  if (typeof content === "string") {
    flush(content);
    return;
  }
  let pending: string[] = [];
  let size = 0;
  for (const piece of content) {
    pending.push(piece);
    size += piece.length;
    if (size >= WRITE_BATCH) {
      flush(pending.join(""));
      pending = [];
      size = 0;
    }
  }
  if (size > 0) flush(pending.join(""));
}
