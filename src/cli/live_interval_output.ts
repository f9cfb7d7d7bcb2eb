/**
 * Where `-I` intervals go: stderr, or `--interval-file`, written line by
 * line as the run goes (so `tail -f` follows it).
 *
 * The file is created under a fresh random name beside the destination
 * and renamed over it before the first line: a symbolic link planted at
 * the destination is replaced, never written through. A device such as
 * `/dev/stderr` is written to directly.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { type LiveIntervalFormat, LiveIntervals } from "../live_intervals.ts";

/** Live intervals and the file they go to, if any. */
export interface LiveIntervalOutput {
  /** The printer, to hand to the profiler as its sample observer. */
  intervals: LiveIntervals;
  /**
   * Closes the file; after a failed run (`ok` false) a file created here
   * is removed, so no half-written file stays.
   */
  close(ok: boolean): void;
}

/**
 * Opens the destination of `-I`.
 *
 * @param format `terminal` (perf stat columns), `json` (JSON lines) or `csv` (rows).
 * @param path `--interval-file`, or `undefined` for stderr.
 * @param owner Give a created file to this user (the one behind `sudo`).
 * @returns The printer and how to close it.
 * @throws {UsageError} When the file cannot be created.
 *
 * @example Usage
 * ```ts
 * import { openLiveIntervals } from "./live_interval_output.ts";
 * const output = openLiveIntervals("json", undefined);
 * output.close(true);
 * ```
 */
export function openLiveIntervals(
  format: LiveIntervalFormat,
  path: string | undefined,
  owner?: { uid: number; gid: number },
): LiveIntervalOutput {
  const encoder = new TextEncoder();
  if (path === undefined) {
    const intervals = new LiveIntervals({
      format,
      write: (text) => writeAll(Deno.stderr, encoder.encode(text)),
    });
    return { intervals, close: () => {} };
  }
  const { file, created } = createFile(path, owner);
  let broken = false;
  const intervals = new LiveIntervals({
    format,
    write: (text) => {
      if (broken) return;
      try {
        writeAll(file, encoder.encode(text));
      } catch {
        // A full disk must not stop the measurement; the results still get written.
        broken = true;
      }
    },
  });
  return {
    intervals,
    close: (ok) => {
      try {
        file.close();
      } catch {
        // Already closed.
      }
      if (!ok && created !== undefined) {
        try {
          Deno.removeSync(created);
        } catch {
          // Gone already.
        }
      }
    },
  };
}

function createFile(
  path: string,
  owner: { uid: number; gid: number } | undefined,
): { file: Deno.FsFile; created: string | undefined } {
  const absolute = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const fail = (why: string, cause?: unknown): never => {
    throw new UsageError(`cannot write --interval-file '${path}': ${why}`, { cause });
  };
  let existing: Deno.FileInfo | undefined;
  try {
    existing = Deno.lstatSync(absolute);
  } catch {
    // Absent: the usual case.
  }
  if (existing?.isDirectory) fail("it is a directory");
  if (existing !== undefined && !existing.isFile && !existing.isSymlink) {
    try {
      return { file: Deno.openSync(absolute, { write: true }), created: undefined };
    } catch (error) {
      fail((error as Error).message, error);
    }
  }
  const slash = absolute.lastIndexOf("/");
  const directory = absolute.slice(0, slash) || "/";
  const base = absolute.slice(slash + 1);
  if (base === "" || base === "." || base === "..") fail("not a file name");
  const random = crypto.getRandomValues(new Uint32Array(2)).join("");
  const temporary = `${directory}/.${base}.${Deno.pid}.${random}.tmp`;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(temporary, { write: true, createNew: true, mode: 0o644 });
  } catch (error) {
    return fail((error as Error).message, error);
  }
  try {
    // Our fresh, randomly named file, as result files are handed over (ResultFile).
    if (owner !== undefined) Deno.chownSync(temporary, owner.uid, owner.gid);
    Deno.renameSync(temporary, absolute);
  } catch (error) {
    file.close();
    try {
      Deno.removeSync(temporary);
    } catch {
      // Not created.
    }
    fail((error as Error).message, error);
  }
  return { file, created: absolute };
}

function writeAll(target: { writeSync(bytes: Uint8Array): number }, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += target.writeSync(bytes.subarray(offset));
}
