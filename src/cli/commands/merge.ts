/**
 * `joule-profiler merge FILES... [-o job.json]`: joins the per-task results
 * of a Slurm or MPI job into one job result.
 *
 * @module
 */

import { Logger } from "../../logger.ts";
import { invokingUser } from "../../process/invoking_user.ts";
import { mergeTaskFiles } from "../../cluster/merge.ts";
import { type OutputTarget, prepareListOutput } from "../output_target.ts";
import { refuseSharedDestinations, ResultFile } from "../../output/result_file.ts";
import { UsageError } from "../../errors.ts";
import { emit, type GlobalFlags, verbosityOf } from "../command_context.ts";
import { loadLazily } from "../../lazy_module.ts";
import { type SampleOutputs, writeSampleOutputs } from "../sample_outputs.ts";

/** `merge` flags. */
export interface MergeFlags {
  /** `--allow-missing`: merge although ranks or leader files are missing. */
  allowMissing?: boolean;
  /** `--force`: merge files of different jobs. */
  force?: boolean;
  /** `--nodes-csv FILE`: the per-node breakdown as CSV (`-`: stdout). */
  nodesCsv?: string;
  /** `--timeline FILE`: the job's sampled series as `.html` or `.svg`. */
  timeline?: string;
  /** `--samples-csv FILE`: the job's sampled series as CSV. */
  samplesCsv?: string;
}

/**
 * Where the per-node CSV goes: `--nodes-csv FILE`, else beside a CSV job
 * result written to a file (`job.csv` → `job.nodes.csv`), else nowhere.
 * Reserved before the files are read, like the job result.
 */
async function prepareNodesCsv(
  flags: MergeFlags,
  target: OutputTarget,
): Promise<OutputTarget | undefined> {
  if (flags.nodesCsv === "-") {
    if (target.destination === "stdout") {
      throw new UsageError(
        "--nodes-csv -: the job result already goes to stdout; give -o FILE for it, or a file " +
          "name to --nodes-csv",
      );
    }
    return { format: "csv", destination: "stdout" };
  }
  if (flags.nodesCsv !== undefined) {
    return { format: "csv", destination: ResultFile.prepare(flags.nodesCsv) };
  }
  if (target.format !== "csv" || target.destination === "stdout") return undefined;
  const { nodesSidecarPath } = await loadLazily<typeof import("../../output/csv.ts")>(
    "../../output/csv.ts",
    import.meta.url,
  );
  return {
    format: "csv",
    destination: ResultFile.prepare(nodesSidecarPath(target.destination.path)),
  };
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
 * `-o FILE` (format from `--json`/`--csv` or the extension). The per-node
 * breakdown, which the JSON holds in `job.nodes`, goes to a CSV sidecar
 * beside a CSV file (`job.nodes.csv`) or to `--nodes-csv FILE`; the
 * tasks' sampled series to `--timeline` and `--samples-csv`. Nothing is
 * written when a file is refused.
 *
 * @param global The global flags (`-o`, `--json`, `--csv`, `-v`).
 * @param flags `--allow-missing`, `--force`, `--nodes-csv`, `--timeline`, `--samples-csv`.
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
  refuseSharedDestinations(
    [
      { option: "-o", path: global.outputFile ?? "-" },
      { option: "--nodes-csv", path: flags.nodesCsv ?? "-" },
      { option: "--timeline", path: flags.timeline ?? "-" },
      { option: "--samples-csv", path: flags.samplesCsv ?? "-" },
    ].filter((output) => output.path !== "-"),
  );
  const target = prepareListOutput(global);
  let nodesCsv: OutputTarget | undefined;
  const sampleFiles: SampleOutputs = {};
  try {
    nodesCsv = await prepareNodesCsv(flags, target);
    if (flags.timeline !== undefined) sampleFiles.timeline = ResultFile.prepare(flags.timeline);
    if (flags.samplesCsv !== undefined) {
      sampleFiles.samplesCsv = ResultFile.prepare(flags.samplesCsv);
    }
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
    const sampled = result.runs.some((run) => run.samples !== undefined);
    if (!sampled && (flags.timeline ?? flags.samplesCsv) !== undefined) {
      logger.warn(
        "the task files hold no samples: --timeline shows only the phases and --samples-csv " +
          "only its header (profile the tasks with --sample-interval MS)",
      );
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
    if (nodesCsv !== undefined) {
      const { nodesCsvChunks } = await loadLazily<typeof import("../../output/csv.ts")>(
        "../../output/csv.ts",
        import.meta.url,
      );
      emit(nodesCsv, nodesCsvChunks(result, { rawCells: global.csvRaw }), {
        logger,
        label: "Per-node CSV",
        owner: invokingUser(),
      });
    }
    await writeSampleOutputs(sampleFiles, result, {
      logger,
      owner: invokingUser(),
      csvRaw: global.csvRaw,
    });
    return 0;
  } catch (error) {
    if (target.destination !== "stdout") target.destination.discard();
    if (nodesCsv !== undefined && nodesCsv.destination !== "stdout") {
      nodesCsv.destination.discard();
    }
    sampleFiles.timeline?.discard();
    sampleFiles.samplesCsv?.discard();
    throw error;
  }
}
