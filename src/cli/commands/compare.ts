/**
 * `joule-profiler compare`: compare results of `--json` profiles, per phase
 * and metric (ratio B/A ± uncertainty, Welch's t-test).
 *
 * @module
 */

import { UsageError } from "../../errors.ts";
import { Logger } from "../../logger.ts";
import { refuseSharedDestinations, ResultFile } from "../../output/result_file.ts";
import { invokingUser } from "../../process/invoking_user.ts";
import type { ProfileResult } from "../../result.ts";
import { prepareListOutput } from "../output_target.ts";
import { emit, type GlobalFlags, verbosityOf } from "../command_context.ts";
import { loadLazily } from "../../lazy_module.ts";

/** `compare` flags. */
export interface CompareFlags {
  /** `--export-markdown` */
  exportMarkdown?: string;
  /** `--alpha` */
  alpha: number;
  /** `--fail-above` (percent): turns `compare` into a gate. */
  failAbove?: number;
  /** `--metric`: what the gate checks. */
  metric?: string;
  /** `--phase`: the phase the gate checks. */
  phase?: string;
}

/**
 * Runs `compare`.
 *
 * @param global The global flags.
 * @param flags The flags of `compare`.
 * @param files The result files; the first is the baseline.
 * @returns The exit status: 0, or 3 when the `--fail-above` gate fails.
 *
 * @example Usage
 * ```ts ignore
 * import { compareCommand } from "./compare.ts";
 * await compareCommand({ verbose: 0 }, { alpha: 0.05 }, ["a.json", "b.json"]);
 * ```
 */
export async function compareCommand(
  global: GlobalFlags,
  flags: CompareFlags,
  files: string[],
): Promise<number> {
  const logger = new Logger(verbosityOf(global));
  if (flags.failAbove === undefined && (flags.metric ?? flags.phase) !== undefined) {
    throw new UsageError(
      `${flags.metric !== undefined ? "--metric" : "--phase"} chooses what --fail-above checks: ` +
        "give --fail-above PCT too",
    );
  }
  const { parseResultFile, readResultFileText } = await loadLazily<
    typeof import("../../output/json_reader.ts")
  >("../../output/json_reader.ts", import.meta.url);
  const { compareResults, comparisonDocument, totalMetricKeys } = await import(
    "../../stats/comparison.ts"
  );
  const results: ProfileResult[] = [];
  for (const path of files) {
    // Regular files only, of bounded size: a FIFO or a device would never end.
    const parsed = parseResultFile(await readResultFileText(path), path);
    const labelled = parsed.map((result) =>
      parsed.length === 1 && result.name === undefined ? { ...result, name: path } : result
    );
    results.push(...labelled);
  }
  if (results.length < 2) {
    throw new UsageError(
      "compare needs two results: two --json files (A.json B.json), or one file of a " +
        "multi-command profile",
    );
  }
  const single = results.filter((result) => result.runs.length < 2);
  if (single.length > 0) {
    logger.warn(
      `${single.map((result) => result.name).join(", ")}: a single run has no spread; ` +
        "profile with -n 10 (or more) for a significance test",
    );
  }
  refuseSharedDestinations([
    { option: "-o", path: global.outputFile ?? "-" },
    { option: "--export-markdown", path: flags.exportMarkdown ?? "-" },
  ].filter((output) => output.path !== "-"));
  const target = prepareListOutput(global);
  let markdown: ResultFile | undefined;
  try {
    if (flags.exportMarkdown !== undefined) markdown = ResultFile.prepare(flags.exportMarkdown);
    const comparisons = results.slice(1).map((result) =>
      compareResults(results[0]!, result, { alpha: flags.alpha })
    );
    const totals = totalMetricKeys(results);
    const gate = flags.failAbove === undefined ? undefined : await import(
      "../../stats/energy_gate.ts"
    );
    const report = gate?.evaluateGate(comparisons, totals, {
      failAbovePct: flags.failAbove!,
      metric: flags.metric,
      phase: flags.phase,
    });
    let text: string | Iterable<string>;
    if (target.format === "json") {
      // Written in pieces: one string of a large comparison exceeds what V8 can hold.
      const { jsonValueChunks } = await loadLazily<typeof import("../../output/json.ts")>(
        "../../output/json.ts",
        import.meta.url,
      );
      const documents = comparisons.map((comparison) => comparisonDocument(comparison, totals));
      const document: unknown = documents.length === 1 ? documents[0] : documents;
      if (report !== undefined && gate !== undefined) {
        // One comparison: the gate sits in its document; several: beside the list.
        const gateDocument = gate.gateDocument(report, flags.alpha);
        text = jsonValueChunks(
          documents.length === 1
            ? { ...documents[0], gate: gateDocument }
            : { comparisons: documents, gate: gateDocument },
        );
      } else {
        text = jsonValueChunks(document);
      }
    } else if (target.format === "csv") {
      text = (await loadLazily<typeof import("../../output/csv.ts")>(
        "../../output/csv.ts",
        import.meta.url,
      )).comparisonCsvChunks(comparisons, {
        rawCells: global.csvRaw,
      });
    } else {
      const { formatComparisonTerminal } = await loadLazily<
        typeof import("../../output/terminal.ts")
      >("../../output/terminal.ts", import.meta.url);
      text = formatComparisonTerminal(comparisons, totals, {
        color: target.destination === "stdout" ? undefined : false,
      });
    }
    if (markdown !== undefined) {
      const { comparisonsMarkdown } = await loadLazily<typeof import("../../output/markdown.ts")>(
        "../../output/markdown.ts",
        import.meta.url,
      );
      markdown.commit(`# joule-profiler comparison\n\n${comparisonsMarkdown(comparisons, totals)}`);
      logger.notice(`Markdown written to: ${markdown.path}`);
      markdown = undefined;
    }
    if (report !== undefined && gate !== undefined) {
      const lines = gate.gateLines(report, flags.alpha).join("\n") + "\n";
      // The gate's lines follow the terminal table; beside JSON or CSV they go to stderr.
      if (target.format === "terminal") text = `${text as string}\n${lines}`;
      else Deno.stderr.writeSync(new TextEncoder().encode(lines));
    }
    emit(target, text, { logger, label: "Comparison", owner: invokingUser() });
    return report?.failed ? gate!.EXIT_GATE_FAILED : 0;
  } catch (error) {
    if (target.destination !== "stdout") target.destination.discard();
    markdown?.discard();
    throw error;
  }
}
