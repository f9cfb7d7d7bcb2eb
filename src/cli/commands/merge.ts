/**
 * `joule-profiler merge FILES... [-o job.json]`: joins the per-task results
 * of a Slurm or MPI job into one job result.
 *
 * @module
 */

import { Logger } from "../../logger.ts";
import { invokingUser } from "../../process/invoking_user.ts";
import { mergeTaskFiles } from "../../cluster/merge.ts";
import { prepareListOutput } from "../output_target.ts";
import { emit, type GlobalFlags, verbosityOf } from "../command_context.ts";
import { loadLazily } from "../../lazy_module.ts";

/** `merge` flags. */
export interface MergeFlags {
  /** `--allow-missing`: merge although ranks or leader files are missing. */
  allowMissing?: boolean;
  /** `--force`: merge files of different jobs. */
  force?: boolean;
}

/** The process's peak resident memory (VmHWM), MiB, or "?". */
function peakRssMiB(): string {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
    return Number.isFinite(kib) ? (kib / 1024).toFixed(1) : "?";
  } catch {
    return "?";
  }
}

/**
 * Runs `merge`: reads the files one at a time, checks they form one job,
 * and writes the job result to stdout (terminal layout by default) or to
 * `-o FILE` (format from `--json`/`--csv` or the extension). Nothing is
 * written when a file is refused.
 *
 * @param global The global flags (`-o`, `--json`, `--csv`, `-v`).
 * @param flags `--allow-missing`, `--force`.
 * @param files The per-task `--json` files.
 * @returns The exit status (0).
 * @throws {MergeError} On a file that cannot be merged (exit 2).
 *
 * @example Usage
 * ```ts ignore
 * import { mergeCommand } from "./merge.ts";
 * await mergeCommand({ verbose: 0, json: true }, {}, ["out-node1-0.json", "out-node2-1.json"]);
 * ```
 */
export async function mergeCommand(
  global: GlobalFlags,
  flags: MergeFlags,
  files: readonly string[],
): Promise<number> {
  const logger = new Logger(verbosityOf(global));
  const target = prepareListOutput(global);
  try {
    const started = performance.now();
    const result = await mergeTaskFiles(files, flags);
    logger.info(
      `merged ${files.length} file(s) in ${(performance.now() - started).toFixed(1)} ms; ` +
        `peak RSS ${peakRssMiB()} MiB`,
    );
    const job = result.job!;
    const unmeasured = job.nodes.filter((node) => !node.measured);
    if (unmeasured.length > 0) {
      logger.warn(
        `merged without the leader file of ${unmeasured.map((node) => node.node).join(", ")}: ` +
          `their energy is not in the totals`,
      );
    }
    if (job.missingRanks.length > 0) {
      logger.warn(`merged without rank(s) ${job.missingRanks.join(", ")}`);
    }
    const iterations = result.runs.length > 1;
    let text: string | Iterable<string>;
    switch (target.format) {
      case "json":
        text = (await loadLazily<typeof import("../../output/json.ts")>(
          "../../output/json.ts",
          import.meta.url,
        )).jsonChunks(result, iterations);
        break;
      case "csv":
        text = (await loadLazily<typeof import("../../output/csv.ts")>(
          "../../output/csv.ts",
          import.meta.url,
        )).csvChunks(result, iterations, {
          rawCells: global.csvRaw,
        });
        break;
      case "terminal": {
        const { formatTerminal } = await loadLazily<typeof import("../../output/terminal.ts")>(
          "../../output/terminal.ts",
          import.meta.url,
        );
        const { formatJobTerminal } = await loadLazily<
          typeof import("../../cluster/job_terminal.ts")
        >("../../cluster/job_terminal.ts", import.meta.url);
        const color = target.destination === "stdout" ? undefined : false;
        text = [
          formatTerminal(result, { color, statistics: iterations }),
          "\n",
          formatJobTerminal(job, result.runs[0]?.phases.map((phase) => phase.name) ?? []),
        ];
        break;
      }
    }
    emit(target, text, { logger, label: "Job result", owner: invokingUser() });
    return 0;
  } catch (error) {
    if (target.destination !== "stdout") target.destination.discard();
    throw error;
  }
}
