/**
 * The CLI as a task of a distributed job, with the launcher's variables set
 * by the test (the real launchers are in slurm_cluster_test.ts), and the
 * `merge` command's output and refusals.
 *
 * @module
 */

import assert from "node:assert/strict";
import { listDir, REPO_ROOT, runCli } from "./helpers.ts";
import { writeFakePowercap } from "./fixtures/fake_powercap.ts";
import { buildNvmlStub, stubChildEnv } from "./nvml_stub.ts";

/** srun -N2 -n4, as seen by one task. */
function slurmTask(rank: number): Record<string, string> {
  const node = rank < 2 ? 0 : 1;
  return {
    SLURM_JOB_ID: "77",
    SLURM_STEP_ID: "0",
    SLURM_PROCID: String(rank),
    SLURM_LOCALID: String(rank % 2),
    SLURM_NODEID: String(node),
    SLURMD_NODENAME: `node${node + 1}`,
    SLURM_NTASKS: "4",
    SLURM_STEP_NUM_TASKS: "4",
    SLURM_STEP_TASKS_PER_NODE: "2(x2)",
  };
}

async function sourcesEnv(nvmlLog = ""): Promise<Record<string, string>> {
  const root = await Deno.makeTempDir({ prefix: "jp-task-" });
  await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0", energyUj: 1000 }]);
  await Deno.mkdir(`${root}/no-pmu`);
  return {
    JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
    JOULE_PROFILER_EVENT_SOURCE_PATH: `${root}/no-pmu`,
    JOULE_PROFILER_NVML_PATH: await buildNvmlStub(),
    // No AMD GPU library: --gpu reads the stub NVIDIA GPUs only, on any machine.
    JOULE_PROFILER_AMDSMI_PATH: "/nonexistent/libamd_smi.so",
    ...stubChildEnv({ NVML_STUB_LOG: nvmlLog }),
  };
}

const PROGRAM = ["sh", "-c", "echo __A__; sleep 0.05"];

interface Document {
  placement?: Record<string, unknown>;
  phases: { metrics: { name: string; source: string }[] }[];
  job?: { nodes: { node: string; measured: boolean }[] };
}

async function profileTask(
  rank: number,
  cwd: string,
  env: Record<string, string>,
  extra: string[] = [],
): Promise<void> {
  const out = await runCli(
    ["--gpu", "--json", "-o", "out-%n-%r.json", "profile", ...extra, "--", ...PROGRAM],
    { cwd, env: { ...env, ...slurmTask(rank) } },
  );
  assert.equal(out.code, 0, out.stderr);
}

Deno.test("task: the node leader reads RAPL and the GPUs, the other tasks leave them to it", async () => {
  const cwd = await Deno.makeTempDir();
  const logs = await Deno.makeTempDir();
  await profileTask(2, cwd, await sourcesEnv(`${logs}/leader.log`));
  await profileTask(3, cwd, await sourcesEnv(`${logs}/other.log`));
  assert.match(await Deno.readTextFile(`${logs}/leader.log`), /^init\n/);
  assert.deepEqual(await listDir(logs), ["leader.log"], "the other task never loads NVML");
  assert.deepEqual(await listDir(cwd), ["out-node2-2.json", "out-node2-3.json"]);
  const leader: Document = JSON.parse(await Deno.readTextFile(`${cwd}/out-node2-2.json`));
  const other: Document = JSON.parse(await Deno.readTextFile(`${cwd}/out-node2-3.json`));
  const sources = (document: Document) =>
    [...new Set(document.phases.flatMap((phase) => phase.metrics.map((m) => m.source)))].sort();
  // The process source is per task; the system source is machine-wide like RAPL.
  // `derived`: the energy-delay product of the leader's energy.
  assert.deepEqual(sources(leader), ["NVML", "RAPL (Powercap)", "derived", "process", "system"]);
  assert.deepEqual(sources(other), ["process"]);
  assert.equal(leader.placement!.node_leader, true);
  assert.deepEqual(other.placement!.left_to_leader, ["RAPL", "NVML", "AMD SMI", "system"]);
  assert.deepEqual(
    Object.fromEntries(
      ["launcher", "job_id", "node", "rank", "local_rank", "node_id", "tasks", "local_tasks"].map(
        (key) => [key, other.placement![key]],
      ),
    ),
    {
      launcher: "slurm",
      job_id: "77",
      node: "node2",
      rank: 3,
      local_rank: 1,
      node_id: 1,
      tasks: 4,
      local_tasks: 2,
    },
  );
});

Deno.test("task: an -o every task would share is refused before the program runs", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(
    ["--json", "-o", "out.json", "profile", "--", "sh", "-c", "touch ran"],
    { cwd, env: slurmTask(1) },
  );
  assert.equal(out.code, 2);
  assert.match(
    out.stderr,
    /-o 'out\.json': the 4 tasks of this slurm job would all write this one file; put %r \(rank\) or %p \(pid\) in the name, e.g. 'out-%r\.json'/,
  );
  assert.deepEqual(await listDir(cwd), [], "nothing ran, nothing written");
  const stdoutFile = await runCli(
    ["--json", "-o", "r-%r.json", "profile", "--stdout-file", "log.txt", "--", "true"],
    { cwd, env: slurmTask(1) },
  );
  assert.equal(stdoutFile.code, 2);
  assert.match(stdoutFile.stderr, /--stdout-file 'log\.txt': the 4 tasks/);
});

Deno.test("task: the default result name carries the rank; --node-leader is checked", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(["--json", "profile", "--", "true"], { cwd, env: slurmTask(1) });
  assert.equal(out.code, 0, out.stderr);
  const [name] = await listDir(cwd);
  assert.match(name!, /^data\d+-1\.json$/);
  const leader = await runCli(
    ["--json", "-o", "-", "profile", "--node-leader", "2", "--", "true"],
    {
      cwd,
      env: slurmTask(1),
    },
  );
  assert.equal(leader.code, 2);
  assert.match(leader.stderr, /--node-leader 2: node node1 runs 2 task\(s\) \(local ranks 0-1\)/);
});

Deno.test("no launcher: no placement in the result, names without placeholders unchanged", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(["--json", "-o", "plain-%r.json", "profile", "--", "true"], {
    cwd,
    env: { SLURM_JOB_ID: "", OMPI_COMM_WORLD_RANK: "", PMI_RANK: "", SLURM_PROCID: "" },
  });
  assert.equal(out.code, 0, out.stderr);
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/plain-%r.json`));
  assert.equal(document.placement, undefined);
});

Deno.test("merge: -o writes the job result (JSON, CSV, terminal); bad files leave no output", async () => {
  const cwd = await Deno.makeTempDir();
  const env = await sourcesEnv();
  for (const rank of [0, 1, 2, 3]) await profileTask(rank, cwd, env);
  const files = ["out-node1-0.json", "out-node1-1.json", "out-node2-2.json", "out-node2-3.json"];
  const json = await runCli(["merge", ...files, "-o", "job.json"], { cwd });
  assert.equal(json.code, 0, json.stderr);
  const job: Document = JSON.parse(await Deno.readTextFile(`${cwd}/job.json`));
  assert.deepEqual(job.job!.nodes.map((node) => [node.node, node.measured]), [
    ["node1", true],
    ["node2", true],
  ]);
  const compare = await runCli(["compare", "job.json", "job.json"], { cwd });
  assert.equal(compare.code, 0, compare.stderr);
  assert.match(compare.stdoutText, /__A__/);
  const csv = await runCli(["--csv", "merge", ...files], { cwd });
  assert.equal(csv.code, 0, csv.stderr);
  assert.match(csv.stdoutText.split("\n")[0]!, /;/);
  const terminal = await runCli(["merge", ...files], { cwd });
  assert.equal(terminal.code, 0, terminal.stderr);
  assert.match(terminal.stdoutText, /Job 77 \(slurm\): 4 tasks on 2 node\(s\), 4 file\(s\) merged/);
  assert.match(terminal.stdoutText, /node2\s+2-3\s+2\s+START -> __A__/);

  const missing = await runCli(["merge", ...files.slice(0, 2), files[3]!, "-o", "bad.json"], {
    cwd,
  });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /job 77 has 4 tasks but no file for rank 2/);
  assert.ok(!(await listDir(cwd)).includes("bad.json"), "no half-written file");
  const allowed = await runCli(
    ["--json", "merge", "--allow-missing", ...files.slice(0, 2), files[3]!],
    { cwd },
  );
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.match(allowed.stderr, /without the leader file of node2/);
  const unmeasured: Document = JSON.parse(allowed.stdoutText);
  assert.equal(unmeasured.job!.nodes[1]!.measured, false);

  await Deno.writeTextFile(`${cwd}/cut.json`, '{"command": "x", "phases": [');
  const cut = await runCli(["merge", files[0]!, "cut.json"], { cwd });
  assert.equal(cut.code, 2);
  assert.match(cut.stderr, /cut\.json is not JSON/);
  const duplicate = await runCli(["merge", ...files, files[1]!], { cwd });
  assert.equal(duplicate.code, 2);
  assert.match(
    duplicate.stderr,
    /out-node1-1\.json: rank 1 of job 77 is also in out-node1-1\.json/,
  );
});

/** The four task files of `srun -N2 -n4` (node1: ranks 0-1, node2: ranks 2-3), sampled every 10 ms. */
let sampledJob: Promise<{ cwd: string; files: string[] }> | undefined;

function sampledJobFiles(): Promise<{ cwd: string; files: string[] }> {
  sampledJob ??= (async () => {
    const cwd = await Deno.makeTempDir();
    const env = await sourcesEnv();
    for (const rank of [0, 1, 2, 3]) {
      await profileTask(rank, cwd, env, ["--sample-interval", "10"]);
    }
    return {
      cwd,
      files: ["out-node1-0.json", "out-node1-1.json", "out-node2-2.json", "out-node2-3.json"],
    };
  })();
  return sampledJob;
}

/** `;`-separated rows, header first, for cells without `;` (quotes removed). */
function csvRows(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trimEnd().split("\n").map((line) =>
    line.split(";").map((cell) => cell.replace(/^"(.*)"$/, "$1"))
  );
  return lines.map((cells) => Object.fromEntries(header!.map((name, i) => [name, cells[i]!])));
}

interface JobNode {
  node: string;
  ranks: number[];
  leader_rank?: number;
  measured: boolean;
  phases: {
    start_ns: number;
    metrics: { name: string; value: number; unit: string; source: string }[];
  }[];
}

Deno.test("merge: -o job.csv keeps the job rows and writes the per-node breakdown to job.nodes.csv", async () => {
  const { cwd, files } = await sampledJobFiles();
  const plain = await runCli(["--csv", "merge", ...files], { cwd });
  assert.equal(plain.code, 0, plain.stderr);
  const written = await runCli(["merge", ...files, "-o", "job.csv"], { cwd });
  assert.equal(written.code, 0, written.stderr);
  assert.match(written.stderr, /Per-node CSV written to: .*job\.nodes\.csv/);
  assert.equal(
    await Deno.readTextFile(`${cwd}/job.csv`),
    plain.stdoutText,
    "the job CSV is the same with or without the sidecar",
  );
  const nodesText = await Deno.readTextFile(`${cwd}/job.nodes.csv`);
  assert.equal(
    nodesText.split("\n")[0],
    "node;job_id;ranks;leader_rank;measured;iteration_id;phase_id;phase_name;phase_duration_ms;" +
      "metric_name;metric_value;metric_unit;metric_source;metric_method;start_ns;end_ns",
  );
  const rows = csvRows(nodesText);
  const json = await runCli(["--json", "merge", ...files], { cwd });
  assert.equal(json.code, 0, json.stderr);
  const document = JSON.parse(json.stdoutText) as {
    phases: { metrics: { name: string; value: number; unit: string; source: string }[] }[];
    job: { nodes: JobNode[] };
  };
  // Every node metric of the JSON is one row, with the same value, and nothing else is.
  const expected = document.job.nodes.flatMap((node) =>
    node.phases.flatMap((phase, i) =>
      phase.metrics.map((metric) =>
        [
          node.node,
          node.ranks.join(" "),
          String(node.leader_rank),
          String(i),
          metric.source,
          metric.name,
          String(metric.value),
        ].join("|")
      )
    )
  );
  assert.deepEqual(
    rows.map((row) =>
      [
        row.node,
        row.ranks,
        row.leader_rank,
        row.phase_id,
        row.metric_source,
        row.metric_name,
        row.metric_value,
      ].join("|")
    ),
    expected,
  );
  assert.deepEqual([...new Set(rows.map((row) => row.node))], ["node1", "node2"]);
  assert.deepEqual([...new Set(rows.map((row) => row.phase_name))], [
    "START -> __A__",
    "__A__ -> END",
  ]);
  assert.ok(rows.every((row) => row.job_id === "77" && row.measured === "true"));
  assert.ok(rows.some((row) => row.metric_source === "RAPL (Powercap)"));
  // The process counters of the two nodes add up to the job's.
  const jobRss = document.phases[1]!.metrics.find((m) => m.source === "process" && m.unit !== "%")!;
  const nodeSum = rows.filter((row) =>
    row.phase_id === "1" && row.metric_source === "process" && row.metric_name === jobRss.name
  ).reduce((sum, row) => sum + Number(row.metric_value), 0);
  assert.ok(
    Math.abs(nodeSum - jobRss.value) <= 1e-9 * Math.abs(jobRss.value),
    `${nodeSum} vs ${jobRss.value}`,
  );
  // Exact in the CSV; JSON.parse keeps about 17 digits of the epoch nanoseconds.
  const node2Start = rows.find((row) => row.node === "node2")!.start_ns!;
  assert.match(node2Start, /^\d{19}$/);
  assert.ok(Math.abs(Number(node2Start) - document.job.nodes[1]!.phases[0]!.start_ns) < 1000);
});

Deno.test("merge: --nodes-csv writes the per-node CSV anywhere; a clash with -o is refused", async () => {
  const { cwd, files } = await sampledJobFiles();
  const piped = await runCli(["merge", ...files, "-o", "job2.json", "--nodes-csv", "-"], { cwd });
  assert.equal(piped.code, 0, piped.stderr);
  assert.match(piped.stdoutText, /^node;job_id;ranks;/);
  assert.equal(csvRows(piped.stdoutText).filter((row) => row.metric_name === "").length, 0);
  const named = await runCli(["--csv", "merge", ...files, "--nodes-csv", "per-node.csv"], { cwd });
  assert.equal(named.code, 0, named.stderr);
  assert.equal(await Deno.readTextFile(`${cwd}/per-node.csv`), piped.stdoutText);
  const both = await runCli(["--csv", "merge", ...files, "--nodes-csv", "-"], { cwd });
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--nodes-csv -: the job result already goes to stdout/);
  const clash = await runCli(["merge", ...files, "-o", "same.csv", "--nodes-csv", "same.csv"], {
    cwd,
  });
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /-o 'same\.csv' and --nodes-csv 'same\.csv' name the same file/);
  const refused = await runCli(["merge", files[0]!, "-o", "bad.csv"], { cwd });
  assert.equal(refused.code, 2);
  assert.ok(
    !(await listDir(cwd)).some((name) => name.startsWith("bad.") || name === "same.csv"),
    "nothing written when the merge is refused",
  );
});

interface SampledDocument {
  start_ns: number;
  sampling?: { interval_ms: number; ticks: number; missed: number };
  samples?: {
    name: string;
    source: string;
    scope?: string;
    node?: string;
    rank?: number;
    time_ms: number[];
    values: number[];
  }[];
  placement?: { rank: number; clock_anchor: { monotonic_ns: number; realtime_ns: number } };
}

Deno.test("merge: the tasks' samples on the job's wall clock, each node's machine-wide ones once", async () => {
  const { cwd, files } = await sampledJobFiles();
  const out = await runCli(["--json", "merge", ...files], { cwd });
  assert.equal(out.code, 0, out.stderr);
  const job: SampledDocument = JSON.parse(out.stdoutText);
  const tasks: SampledDocument[] = await Promise.all(
    files.map(async (file) => JSON.parse(await Deno.readTextFile(`${cwd}/${file}`))),
  );
  const expected: string[] = [];
  for (const [i, task] of tasks.entries()) {
    const node = files[i]!.split("-")[1]!;
    const rank = task.placement!.rank;
    const machine = task.samples!.filter((series) => series.scope === "machine");
    // Only a node leader reads machine-wide sources (RAPL, NVML, system).
    assert.equal(machine.length > 0, rank % 2 === 0, `rank ${rank}`);
    assert.ok(task.samples!.some((series) => series.source === "process"));
    for (const series of machine) expected.push(`${node}/${series.name}`);
    for (const series of task.samples!) {
      if (series.scope !== "machine") expected.push(`${node}/rank${rank}/${series.name}`);
    }
  }
  assert.deepEqual(job.samples!.map((series) => series.name), expected);
  assert.ok(job.samples!.some((series) => series.source === "RAPL (Powercap)"));
  assert.equal(
    job.sampling!.ticks,
    tasks.reduce((sum, task) => sum + task.sampling!.ticks, 0),
  );
  // Each point, moved through its node's clock anchor, at the same wall-clock time as in its task.
  for (const [i, task] of tasks.entries()) {
    const anchor = task.placement!.clock_anchor;
    const taskStartWallMs = (task.start_ns + anchor.realtime_ns - anchor.monotonic_ns) / 1e6;
    const rank = task.placement!.rank;
    for (const series of task.samples!) {
      const merged = job.samples!.find((candidate) =>
        candidate.name.endsWith(`/${series.name}`) &&
        candidate.node === files[i]!.split("-")[1] &&
        (series.scope === "machine" ? candidate.rank === undefined : candidate.rank === rank)
      )!;
      assert.deepEqual(merged.values, series.values);
      for (const [k, time] of series.time_ms.entries()) {
        const wall = job.start_ns / 1e6 + merged.time_ms[k]!;
        assert.ok(
          Math.abs(wall - (taskStartWallMs + time)) < 0.003,
          `${merged.name} point ${k}: ${wall} vs ${taskStartWallMs + time}`,
        );
      }
    }
  }
});

Deno.test("merge: --timeline and --samples-csv draw and list the job's series", async () => {
  const { cwd, files } = await sampledJobFiles();
  const out = await runCli(
    ["merge", ...files, "-o", "job3.json", "--timeline", "job.html", "--samples-csv", "s.csv"],
    { cwd },
  );
  assert.equal(out.code, 0, out.stderr);
  const job: SampledDocument = JSON.parse(await Deno.readTextFile(`${cwd}/job3.json`));
  const rows = csvRows(await Deno.readTextFile(`${cwd}/s.csv`));
  assert.deepEqual(
    [...new Set(rows.map((row) => row.series))],
    job.samples!.map((series) => series.name),
  );
  const rank3Rss = job.samples!.find((series) => series.name === "node2/rank3/RSS")!;
  assert.deepEqual(
    rows.filter((row) => row.series === "node2/rank3/RSS").map((row) => Number(row.time_ms)),
    rank3Rss.time_ms,
  );
  const page = await Deno.readTextFile(`${cwd}/job.html`);
  assert.match(page, /node1\/rank0\/CPU/);
  assert.match(page, /node2\/PACKAGE-0/);
  const svg = await runCli(["merge", ...files, "-o", "-", "--timeline", "job.svg"], { cwd });
  assert.equal(svg.code, 0, svg.stderr);
  assert.match(await Deno.readTextFile(`${cwd}/job.svg`), /^<svg[^]*node2\/rank2\/CPU/);
  const wrong = await runCli(["merge", ...files, "--timeline", "job.txt"], { cwd });
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--timeline must name a \.html or \.svg file/);
  const clash = await runCli(["merge", ...files, "--timeline", "x.svg", "--samples-csv", "x.svg"], {
    cwd,
  });
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /--timeline 'x\.svg' and --samples-csv 'x\.svg' name the same file/);
});

Deno.test("merge: --samples-csv of unsampled tasks says why it is empty", async () => {
  const cwd = await Deno.makeTempDir();
  const env = await sourcesEnv();
  for (const rank of [0, 1, 2, 3]) await profileTask(rank, cwd, env);
  const files = ["out-node1-0.json", "out-node1-1.json", "out-node2-2.json", "out-node2-3.json"];
  const out = await runCli(["merge", ...files, "-o", "-", "--samples-csv", "s.csv"], { cwd });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, /the task files hold no samples: .*--sample-interval MS/);
  assert.equal(await Deno.readTextFile(`${cwd}/s.csv`), "run;time_ms;series;value;unit;source\n");
});

Deno.test("the test cluster's scripts are shellcheck clean", async () => {
  const output = await new Deno.Command("shellcheck", {
    args: ["start_slurm.sh", "stop_slurm.sh"],
    cwd: `${REPO_ROOT}scripts/test_cluster`,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, text);
});
