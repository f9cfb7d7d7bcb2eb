/**
 * Where `-I` intervals go: stderr, or `--interval-file`, written line by
 * line as the run goes (so `tail -f` follows it).
 *
 * The file is opened as the program's `--stdout-file` is
 * (`openStreamFile`): a new file renamed over the name, so a link planted
 * there is never written through; a device such as `/dev/stderr` is
 * written to directly.
 *
 * @module
 */

import { openStreamFile } from "../output/result_file.ts";
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
  let replaced = false;
  try {
    replaced = Deno.lstatSync(path).isFile;
  } catch {
    replaced = true; // Absent: created here.
  }
  const file = openStreamFile(path, { owner, label: `--interval-file '${path}'` });
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
      if (!ok && replaced) {
        try {
          Deno.removeSync(file.path);
        } catch {
          // Gone already.
        }
      }
    },
  };
}

function writeAll(target: { writeSync(bytes: Uint8Array): number }, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += target.writeSync(bytes.subarray(offset));
}
