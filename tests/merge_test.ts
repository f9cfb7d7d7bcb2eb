import assert from "node:assert/strict";
import { JobMerger, MergeError, mergeTaskFiles } from "../src/cluster/merge.ts";
import type { TaskPlacement } from "../src/cluster/placement.ts";
import { formatJson } from "../src/output/json.ts";
import { parseResultFile } from "../src/output/json_reader.ts";
import type { PhaseResult, ProfileResult, RunResult } from "../src/result.ts";
import type { Metric, SampleSeries } from "../src/source.ts";
import { samplesCsvChunks } from "../src/output/samples_csv.ts";
import { compareResults } from "../src/stats/comparison.ts";

/** Two nodes whose monotonic clocks differ by hours; their anchors put them on one wall clock. */
const NODES = {
  node1: { monotonicNs: 5_000_000_000_000n, realtimeNs: 1_800_000_000_000_000_000n },
  node2: { monotonicNs: 90_000_000_000_000n, realtimeNs: 1_800_000_000_000_000_000n },
};
const WATTS = { node1: 20, node2: 35 };
const TOKENS = ["START", "__LOAD__", "__SOLVE__", "END"];

interface TaskSpec {
  rank: number;
  node: keyof typeof NODES;
  jobId?: string;
  /** Wall-clock delay of this task's START after the job's, ms. */
  delayMs?: number;
  /** Phase lengths, ms. */
  phaseMs?: number[];
  tokens?: string[];
  runs?: number;
  leader?: boolean;
  /**
   * Sample every 10 ms from START: the leader's machine-wide `PACKAGE-0`
   * (its node's watts) and every task's `CPU` (10 × rank + the sample's index).
   */
  sampled?: boolean;
}

/** A task's result as the profiler writes it: energy only on node leaders. */
function taskResult(spec: TaskSpec): ProfileResult {
  const anchor = NODES[spec.node];
  const localRank = spec.rank % 2;
  const leader = spec.leader ?? localRank === 0;
  const tokens = spec.tokens ?? TOKENS;
  const lengths = spec.phaseMs ?? [100, 400, 200];
  const runs: RunResult[] = [];
  for (let r = 0; r < (spec.runs ?? 1); r++) {
    let ns = anchor.monotonicNs + BigInt((spec.delayMs ?? 0) + r * 1000) * 1_000_000n;
    const startNs = ns;
    const phases: PhaseResult[] = [];
    for (let i = 0; i + 1 < tokens.length; i++) {
      const lengthMs = (lengths[i] ?? 100) + r;
      const phaseStart = ns;
      ns += BigInt(lengthMs) * 1_000_000n;
      const metrics: Metric[] = [
        { name: "task-clock", value: lengthMs * 1e6, unit: "ns", source: "perf_event" },
      ];
      if (leader) {
        metrics.unshift({
          name: "PACKAGE-0",
          value: WATTS[spec.node] * lengthMs * 1000,
          unit: "µJ",
          source: "RAPL (Powercap)",
        });
      }
      phases.push({
        index: i,
        name: `${tokens[i]} -> ${tokens[i + 1]}`,
        startToken: tokens[i]!,
        endToken: tokens[i + 1]!,
        startNs: phaseStart,
        endNs: ns,
        timestamp: 0,
        durationMs: lengthMs,
        metrics,
        failures: [],
      });
    }
    runs.push({
      index: r,
      exitCode: 0,
      signal: null,
      interrupted: false,
      startNs,
      endNs: ns,
      timestamp: 0,
      durationMs: Number(ns - startNs) / 1e6,
      phases,
      ...(spec.sampled ? taskSamples(spec, startNs, ns, leader) : {}),
    });
  }
  const placement: TaskPlacement = {
    launcher: "slurm",
    node: spec.node,
    hostname: "vm",
    rank: spec.rank,
    localRank,
    tasks: 4,
    nodeId: spec.node === "node1" ? 0 : 1,
    localTasks: 2,
    pid: 1000 + spec.rank,
    nodeLeader: leader,
    leaderLocalRank: 0,
    leftToLeader: leader ? [] : ["RAPL (Powercap)"],
    clockAnchor: anchor,
  };
  if (spec.jobId !== null) placement.jobId = spec.jobId ?? "42";
  return {
    command: ["./solver"],
    tokenPattern: "__[A-Z0-9_]+__",
    exitCode: 0,
    durationMs: runs.reduce((sum, run) => sum + run.durationMs, 0),
    interrupted: false,
    runs,
    placement,
  };
}

/** A task's samples, stamped on its node's monotonic clock like its phases. */
function taskSamples(
  spec: TaskSpec,
  startNs: bigint,
  endNs: bigint,
  leader: boolean,
): Pick<RunResult, "samples" | "sampling"> {
  const times: number[] = [];
  for (let ns = startNs + 10_000_000n; ns <= endNs; ns += 10_000_000n) times.push(Number(ns));
  const samples: SampleSeries[] = [{
    name: "CPU",
    unit: "%",
    source: "process",
    timesNs: Float64Array.from(times),
    values: Float64Array.from(times, (_, k) => 10 * spec.rank + k),
  }];
  if (leader) {
    samples.unshift({
      name: "PACKAGE-0",
      unit: "W",
      source: "RAPL (Powercap)",
      scope: "machine",
      timesNs: Float64Array.from(times),
      values: Float64Array.from(times, () => WATTS[spec.node]),
    });
  }
  return { samples, sampling: { intervalMs: 10, ticks: times.length, missed: spec.rank } };
}

const JOB: TaskSpec[] = [
  { rank: 0, node: "node1" },
  { rank: 1, node: "node1", delayMs: 3 },
  { rank: 2, node: "node2", delayMs: 7, phaseMs: [100, 410, 200] },
  { rank: 3, node: "node2", delayMs: 1 },
];

/** Writes each task's result with the real JSON writer; returns the paths. */
async function writeTasks(specs: TaskSpec[], folder?: string): Promise<string[]> {
  const directory = folder ?? await Deno.makeTempDir({ prefix: "jp-merge-" });
  const paths: string[] = [];
  for (const spec of specs) {
    const path = `${directory}/out-${spec.node}-${spec.rank}-${paths.length}.json`;
    const result = taskResult(spec);
    await Deno.writeTextFile(path, formatJson(result, result.runs.length > 1));
    paths.push(path);
  }
  return paths;
}

function metric(metrics: readonly Metric[], name: string): Metric {
  const found = metrics.find((entry) => entry.name === name);
  assert.ok(found, `metric ${name}`);
  return found;
}

async function refusal(paths: string[], pattern: RegExp, options = {}): Promise<MergeError> {
  const error = await mergeTaskFiles(paths, options).then(
    () => assert.fail("merge should have refused"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof MergeError, String(error));
  assert.equal(error.exitCode, 2);
  assert.match(error.message, pattern);
  return error;
}

Deno.test("merge: energy summed over nodes (leaders only), process metrics over ranks", async () => {
  const job = await mergeTaskFiles(await writeTasks(JOB));
  const phases = job.runs[0]!.phases;
  assert.deepEqual(phases.map((phase) => phase.name), [
    "START -> __LOAD__",
    "__LOAD__ -> __SOLVE__",
    "__SOLVE__ -> END",
  ]);
  // Node 1 at 20 W for 400 ms plus node 2 at 35 W for 410 ms (its leader's phase).
  assert.equal(metric(phases[1]!.metrics, "PACKAGE-0").value, 20 * 400_000 + 35 * 410_000);
  assert.equal(metric(phases[1]!.metrics, "task-clock").value, (400 + 400 + 410 + 400) * 1e6);
  // Wall clock: earliest start (rank 0, +100 ms) to latest end (rank 2: +7 + 100 + 410 ms).
  assert.equal(phases[1]!.durationMs, 7 + 100 + 410 - 100);
  assert.equal(phases[1]!.startNs, NODES.node1.realtimeNs + 100_000_000n);
  assert.equal(job.runs[0]!.durationMs, 7 + 100 + 410 + 200);
  const average = metric(phases[1]!.metrics, "PACKAGE-0").details?.average_power_w as number;
  assert.ok(Math.abs(average - (20 * 0.4 + 35 * 0.41) / 0.417) < 1e-3, String(average));

  const summary = job.job!;
  assert.deepEqual(summary.jobIds, ["42"]);
  assert.equal(summary.tasks, 4);
  assert.equal(summary.files, 4);
  assert.deepEqual(
    summary.nodes.map((node) => [node.node, node.ranks, node.leaderRank, node.measured]),
    [["node1", [0, 1], 0, true], ["node2", [2, 3], 2, true]],
  );
  const node2 = summary.nodes[1]!.runs[0]![1]!;
  assert.equal(metric(node2.metrics, "PACKAGE-0").value, 35 * 410_000);
  assert.equal(metric(node2.metrics, "task-clock").value, (410 + 400) * 1e6);
});

Deno.test("merge: the job result is written as JSON that compare and the statistics accept", async () => {
  const one = await mergeTaskFiles(await writeTasks(JOB.map((spec) => ({ ...spec, runs: 3 }))));
  assert.equal(one.runs.length, 3);
  const text = formatJson(one, true);
  const document = JSON.parse(text);
  assert.equal(document.nb_iterations, 3);
  assert.equal(document.job.nodes.length, 2);
  assert.equal(document.job.nodes[1].leader_rank, 2);
  assert.equal(document.job.nodes[1].iterations.length, 3);
  assert.equal(document.job.clock, "realtime");
  const statistics = document.statistics[1].metrics.find((m: Metric) => m.name === "PACKAGE-0");
  assert.equal(statistics.value.n, 3);
  const [reread] = parseResultFile(text, "job.json");
  const other = await mergeTaskFiles(
    await writeTasks(JOB.map((spec) => ({ ...spec, runs: 3, phaseMs: [100, 800, 200] }))),
  );
  const comparison = compareResults(reread!, other);
  const solve = comparison.phases.find((phase) => phase.name === "__LOAD__ -> __SOLVE__")!;
  const energy = solve.metrics.find((entry) => entry.name === "PACKAGE-0")!;
  assert.ok(energy.ratio > 1.9 && energy.ratio < 2.1, String(energy.ratio));
});

Deno.test("merge: one run keeps the one-run layout, per node phases included", async () => {
  const job = await mergeTaskFiles(await writeTasks(JOB));
  const document = JSON.parse(formatJson(job));
  assert.equal(document.phases.length, 3);
  assert.equal(document.job.nodes[0].phases.length, 3);
  assert.equal(document.job.nodes[0].phases[1].metrics[0].name, "PACKAGE-0");
  assert.equal(typeof document.job.nodes[0].phases[1].start_ns, "number");
});

Deno.test("merge: files of different jobs are refused, unless forced", async () => {
  const paths = await writeTasks([...JOB, { rank: 0, node: "node1", jobId: "43" }]);
  await refusal(
    paths,
    /out-node1-0-4\.json is from job 43, .*out-node1-0-0\.json from job 42: merge the files of one job \(or --force\)/,
  );
  const other = JOB.map((spec) => ({ ...spec, jobId: "43" }));
  const forced = await mergeTaskFiles([...await writeTasks(JOB), ...await writeTasks(other)], {
    force: true,
  });
  assert.deepEqual(forced.job!.jobIds, ["42", "43"]);
  assert.equal(forced.job!.nodes.length, 4);
  assert.equal(
    metric(forced.runs[0]!.phases[1]!.metrics, "PACKAGE-0").value,
    2 * (20 * 400_000 + 35 * 410_000),
  );
});

Deno.test("merge: a duplicate rank names both files", async () => {
  const paths = await writeTasks([...JOB, { rank: 2, node: "node2" }]);
  await refusal(
    paths,
    /out-node2-2-4\.json: rank 2 of job 42 is also in .*out-node2-2-2\.json \(a duplicate rank\)/,
  );
});

Deno.test("merge: truncated or foreign JSON names the file", async () => {
  const paths = await writeTasks(JOB);
  const text = await Deno.readTextFile(paths[2]!);
  await Deno.writeTextFile(paths[2]!, text.slice(0, text.length / 2));
  await refusal(paths, /out-node2-2-2\.json is not JSON/);
  await Deno.writeTextFile(paths[2]!, JSON.stringify({ hello: "world" }));
  await refusal(paths, /out-node2-2-2\.json is not a joule-profiler --json result/);
  const placementless = JSON.parse(text);
  delete placementless.placement;
  await Deno.writeTextFile(paths[2]!, JSON.stringify(placementless));
  await refusal(paths, /out-node2-2-2\.json has no placement: it was not profiled as a task/);
  placementless.placement = { launcher: "pbs", node: "x" };
  await Deno.writeTextFile(paths[2]!, JSON.stringify(placementless));
  await refusal(
    paths,
    /out-node2-2-2\.json is not a joule-profiler --json result \(result: placement: unknown launcher "pbs"\)/,
  );
  await refusal(
    [...paths.slice(0, 2), "/nonexistent/x.json"],
    /cannot read '\/nonexistent\/x\.json'/,
  );
  await refusal([paths[0]!, "/dev/zero"], /'\/dev\/zero' is not a regular file/);
});

Deno.test("merge: phases that do not match name the rank and the phase", async () => {
  const renamed = await writeTasks([
    ...JOB.slice(0, 3),
    { rank: 3, node: "node2", tokens: ["START", "__LOAD__", "__SAVE__", "END"] },
  ]);
  await refusal(
    renamed,
    /\(rank 3 of job 42\): phase 1 is '__LOAD__ -> __SAVE__' where rank 0 \(.*\) has '__LOAD__ -> __SOLVE__'/,
  );
  const shorter = await writeTasks([
    ...JOB.slice(0, 3),
    { rank: 3, node: "node2", tokens: ["START", "__LOAD__", "END"] },
  ]);
  await refusal(
    shorter,
    /rank 3 of job 42\): phase 1 is '__LOAD__ -> END' where rank 0 .* \(2 vs 3 phases\)/,
  );
  const runs = await writeTasks([...JOB.slice(0, 3), { rank: 3, node: "node2", runs: 2 }]);
  await refusal(runs, /rank 3 of job 42\) has 2 run\(s\), rank 0 \(.*\) has 1/);
});

Deno.test("merge: a missing leader file is refused, or the node is unmeasured with allowMissing", async () => {
  const paths = await writeTasks(JOB);
  const withoutLeader = paths.filter((path) => !path.includes("node2-2-"));
  await refusal(withoutLeader, /job 42 has 4 tasks but no file for rank 2/);
  const leaderless = await writeTasks(
    JOB.map((spec) => spec.rank === 2 ? { ...spec, leader: false } : spec),
  );
  await refusal(
    leaderless,
    /node node2 of job 42: no file of its node leader \(local rank 0\), which alone measured its energy; give that file, or --allow-missing/,
  );
  const job = await mergeTaskFiles(withoutLeader, { allowMissing: true });
  assert.deepEqual(job.job!.missingRanks, ["2"]);
  const node2 = job.job!.nodes[1]!;
  assert.equal(node2.measured, false);
  assert.equal(node2.leaderRank, undefined);
  assert.equal(metric(job.runs[0]!.phases[1]!.metrics, "PACKAGE-0").value, 20 * 400_000);
});

Deno.test("merge: two leaders on one node would count it twice", async () => {
  const paths = await writeTasks(
    JOB.map((spec) => spec.rank === 3 ? { ...spec, leader: true } : spec),
  );
  await refusal(paths, /rank 3 and rank 2 \(.*\) both read node node2's machine-wide sources/);
});

Deno.test("merge: a merged result is not merged again; nothing to merge is an error", async () => {
  const directory = await Deno.makeTempDir();
  const job = await mergeTaskFiles(await writeTasks(JOB, directory));
  await Deno.writeTextFile(`${directory}/job.json`, formatJson(job));
  await refusal([`${directory}/job.json`], /job\.json is already a merged job result/);
  const [reread] = parseResultFile(await Deno.readTextFile(`${directory}/job.json`), "job.json");
  // Epoch nanoseconds exceed 2^53: JSON numbers keep them to a few hundred ns.
  const nearNs = (_key: string, value: unknown) =>
    typeof value === "bigint" ? Number(value) : value;
  assert.equal(
    JSON.stringify(reread!.job, nearNs),
    JSON.stringify(job.job, nearNs),
    "the per-node breakdown reads back as written",
  );
  assert.throws(() => new JobMerger().finish(), /merge needs at least one task's file/);
});

Deno.test("merge: sampled series on the job's wall clock, each node's machine-wide ones once", async () => {
  const sampled = JOB.map((spec) => ({ ...spec, sampled: true }));
  const job = await mergeTaskFiles(await writeTasks(sampled));
  const run = job.runs[0]!;
  assert.deepEqual(run.samples!.map((series) => [series.name, series.node, series.rank]), [
    ["node1/PACKAGE-0", "node1", undefined],
    ["node1/rank0/CPU", "node1", 0],
    ["node1/rank1/CPU", "node1", 1],
    ["node2/PACKAGE-0", "node2", undefined],
    ["node2/rank2/CPU", "node2", 2],
    ["node2/rank3/CPU", "node2", 3],
  ]);
  assert.deepEqual(run.sampling, { intervalMs: 10, ticks: 70 + 70 + 71 + 70, missed: 6 });
  const document = JSON.parse(formatJson(job));
  const byName = new Map<string, { time_ms: number[]; values: number[]; scope?: string }>(
    document.samples.map((series: { name: string }) => [series.name, series]),
  );
  // The nodes' monotonic clocks are hours apart; on the wall clock rank 2 starts 7 ms after
  // rank 0 (the job's START), so its first sample, 10 ms after its own START, is at 17 ms.
  assert.deepEqual(byName.get("node2/rank2/CPU")!.time_ms.slice(0, 2), [17, 27]);
  assert.deepEqual(byName.get("node2/rank2/CPU")!.values.slice(0, 2), [20, 21]);
  assert.deepEqual(byName.get("node1/rank1/CPU")!.time_ms.slice(0, 2), [13, 23]);
  assert.deepEqual(byName.get("node2/PACKAGE-0")!.time_ms[0], 17);
  assert.equal(byName.get("node2/PACKAGE-0")!.scope, "machine");
  assert.ok(byName.get("node2/PACKAGE-0")!.values.every((watts) => watts === 35));
  // The samples CSV takes the merged series as they are.
  const csv = [...samplesCsvChunks(job)].join("").split("\n");
  assert.equal(csv[0], "run;time_ms;series;value;unit;source");
  assert.ok(csv.includes("0;17;node2/rank2/CPU;20;%;process"), csv.slice(0, 5).join("\n"));
  // Read back, the merged JSON keeps the series where they were.
  const [reread] = parseResultFile(formatJson(job), "job.json");
  assert.deepEqual(
    reread!.runs[0]!.samples!.map((series) => [series.name, series.node, series.rank]),
    run.samples!.map((series) => [series.name, series.node, series.rank]),
  );
});

Deno.test("merge: each run's samples stay in that run; unsampled files give no samples", async () => {
  const job = await mergeTaskFiles(
    await writeTasks(JOB.map((spec) => ({ ...spec, sampled: true, runs: 2 }))),
  );
  assert.equal(job.runs.length, 2);
  const second = JSON.parse(formatJson(job, true)).iterations[1];
  const rank3 = second.samples.find((series: { name: string }) =>
    series.name === "node2/rank3/CPU"
  );
  // Run 2 starts 1 s after run 1 on every task: rank 3 is 1 ms late, as in run 1.
  assert.equal(rank3.time_ms[0], 11);
  const plain = await mergeTaskFiles(await writeTasks(JOB));
  assert.equal(plain.runs[0]!.samples, undefined);
  assert.equal(JSON.parse(formatJson(plain)).samples, undefined);
});

Deno.test("merge: broken samples name the file and the series", async () => {
  const paths = await writeTasks(JOB.map((spec) => ({ ...spec, sampled: true })));
  const document = JSON.parse(await Deno.readTextFile(paths[3]!));
  document.samples[0].values.pop();
  await Deno.writeTextFile(paths[3]!, JSON.stringify(document));
  await refusal(
    paths,
    /out-node2-3-3\.json is not a joule-profiler --json result \(result: sample series 0 \(CPU\): 70 time_ms but 69 values\)/,
  );
});
