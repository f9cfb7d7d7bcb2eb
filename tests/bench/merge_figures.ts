/**
 * The cost of `merge` on a large job: 1,024 task files of 100 phases each
 * (64 nodes × 16 ranks; leaders with three RAPL domains, every task with
 * two per-process counters), written by the real JSON writer, merged by the
 * real CLI. Yardstick: Deno reading and `JSON.parse`-ing the same files and
 * doing nothing else, in the same run.
 *
 * Part of `tests/bench/performance_report.ts`; alone:
 * `deno run -A tests/bench/merge_figures.ts`.
 *
 * @module
 */

import { monotonicNs } from "../../src/clock.ts";
import type { TaskPlacement } from "../../src/cluster/placement.ts";
import { jsonChunks } from "../../src/output/json.ts";
import type { PhaseResult, ProfileResult } from "../../src/result.ts";
import type { Metric } from "../../src/source.ts";
import { REPO_ROOT } from "../helpers.ts";
import { type Figure, median } from "./figure.ts";

const NODES = 64;
const RANKS_PER_NODE = 16;
const PHASES = 100;

function taskResult(rank: number): ProfileResult {
  const node = Math.floor(rank / RANKS_PER_NODE);
  const leader = rank % RANKS_PER_NODE === 0;
  const origin = 1_000_000_000_000n + BigInt(node) * 7_000_000n;
  const phases: PhaseResult[] = [];
  for (let i = 0; i < PHASES; i++) {
    const startNs = origin + BigInt(i) * 10_000_000n + BigInt(rank % 7) * 1000n;
    const metrics: Metric[] = [
      { name: "cycles", value: 31_000_000 + rank, unit: "count", source: "perf_event" },
      { name: "task-clock", value: 9_900_000 + i, unit: "ns", source: "perf_event" },
    ];
    if (leader) {
      for (const name of ["CORE-0", "DRAM-0", "PACKAGE-0"]) {
        metrics.push({
          name,
          value: 120_000 + i,
          unit: "µJ",
          source: "RAPL (Powercap)",
          details: { average_power_w: 12 },
        });
      }
    }
    phases.push({
      index: i,
      name: `__P${i}__ -> __P${i + 1}__`,
      startToken: `__P${i}__`,
      endToken: `__P${i + 1}__`,
      startNs,
      endNs: startNs + 10_000_000n,
      timestamp: 1_800_000_000_000 + i * 10,
      durationMs: 10,
      metrics,
      failures: [],
    });
  }
  const placement: TaskPlacement = {
    launcher: "slurm",
    jobId: "4242",
    node: `node${String(node).padStart(3, "0")}`,
    hostname: `node${node}`,
    rank,
    localRank: rank % RANKS_PER_NODE,
    tasks: NODES * RANKS_PER_NODE,
    nodeId: node,
    localTasks: RANKS_PER_NODE,
    pid: 10_000 + rank,
    nodeLeader: leader,
    leaderLocalRank: 0,
    leftToLeader: leader ? [] : ["RAPL (Powercap)"],
    clockAnchor: { monotonicNs: origin, realtimeNs: 1_800_000_000_000_000_000n },
  };
  return {
    command: ["./solver", "--steps", "100"],
    tokenPattern: "__[A-Z0-9_]+__",
    exitCode: 0,
    durationMs: PHASES * 10,
    interrupted: false,
    runs: [{
      index: 0,
      exitCode: 0,
      signal: null,
      interrupted: false,
      startNs: phases[0]!.startNs,
      endNs: phases.at(-1)!.endNs,
      timestamp: 1_800_000_000_000,
      durationMs: PHASES * 10,
      phases,
    }],
    placement,
  };
}

/** Writes the 1,024 task files; returns their paths. */
async function writeTaskFiles(): Promise<{ paths: string[]; bytes: number }> {
  const directory = await Deno.makeTempDir({ prefix: "jp-merge-bench-" });
  const paths: string[] = [];
  let bytes = 0;
  for (let rank = 0; rank < NODES * RANKS_PER_NODE; rank++) {
    const path = `${directory}/out-${rank}.json`;
    const text = [...jsonChunks(taskResult(rank))].join("");
    bytes += text.length;
    await Deno.writeTextFile(path, text);
    paths.push(path);
  }
  return { paths, bytes };
}

async function timed(args: string[]): Promise<{ ms: number; stderr: string }> {
  const start = monotonicNs();
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const ms = Number(monotonicNs() - start) / 1e6;
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`${args.join(" ")} failed: ${stderr}`);
  return { ms, stderr };
}

/**
 * Measures `merge` of 1,024 task files of 100 phases: wall time of the
 * command, its own merge time and peak RSS, against parsing the same files.
 *
 * @param runs Interleaved repetitions (medians are reported).
 * @returns The figure.
 */
export async function mergeScaleFigure(runs = 3): Promise<Figure> {
  const { paths, bytes } = await writeTaskFiles();
  const listFile = await Deno.makeTempFile({ suffix: ".txt" });
  await Deno.writeTextFile(listFile, paths.join("\n"));
  const parseOnly = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    parseOnly,
    `for (const path of Deno.readTextFileSync(${JSON.stringify(listFile)}).split("\\n")) ` +
      `JSON.parse(await Deno.readTextFile(path));\n`,
  );
  const output = await Deno.makeTempFile({ suffix: ".json" });
  const walls: number[] = [];
  const merges: number[] = [];
  const rss: number[] = [];
  const parses: number[] = [];
  for (let i = 0; i < runs; i++) {
    const merge = await timed([
      "run",
      "-A",
      "--v8-flags=--max-semi-space-size=4,--no-lazy",
      `${REPO_ROOT}main.ts`,
      "-v",
      "merge",
      ...paths,
      "-o",
      output,
    ]);
    walls.push(merge.ms);
    merges.push(Number(/merged \d+ file\(s\) in ([\d.]+) ms/.exec(merge.stderr)?.[1]));
    rss.push(Number(/peak RSS ([\d.]+) MiB/.exec(merge.stderr)?.[1]));
    parses.push((await timed(["run", "-A", parseOnly])).ms);
  }
  const wall = median(walls) / 1000;
  const merged = median(merges) / 1000;
  const peak = Math.max(...rss);
  const parse = median(parses) / 1000;
  return {
    name: "merge (1,024 task files × 100 phases)",
    measured: `${wall.toFixed(2)} s for the command (merge itself ${merged.toFixed(2)} s), ` +
      `peak RSS ${peak.toFixed(0)} MiB; Deno only reading and parsing the files: ` +
      `${parse.toFixed(2)} s (${(wall / parse).toFixed(1)} ×)`,
    target: "≤ 2 s, ≤ 300 MB",
    met: wall <= 2 && peak * 1.048576 <= 300,
    how: `\`merge\` of ${paths.length} files (${NODES} nodes × ${RANKS_PER_NODE} ranks, ` +
      `${(bytes / 2 ** 20).toFixed(0)} MiB of JSON) to \`-o job.json\`, wall time spawn to exit ` +
      `and the command's own \`-v\` report; yardstick: a Deno script that reads and ` +
      `JSON.parse-s the same files; medians of ${runs} interleaved runs`,
    note: "Files are folded into the job one at a time, so memory follows phases × metrics × " +
      "nodes, not the number of files; most of the time is reading and parsing the JSON, " +
      "which the yardstick measures alone.",
  };
}

if (import.meta.main) {
  const figure = await mergeScaleFigure();
  console.log(
    `| ${figure.name} | ${figure.measured} | ${figure.target} | ${
      figure.met ? "yes" : "**no**"
    } | ${figure.how} |`,
  );
}
