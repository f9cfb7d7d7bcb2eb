/**
 * Tokens that reach the profiler in one read share one reading: every
 * source records its last reading again (`Source.repeat`), so the phase
 * between them is empty, whatever the counters did meanwhile; and the user
 * is told.
 */
import assert from "node:assert/strict";
import { runCli } from "./helpers.ts";
import { energyText, writeFakePowercap } from "./fixtures/fake_powercap.ts";

Deno.test("tokens of one read share one reading: the phase between them is empty", async () => {
  const root = await Deno.makeTempDir({ prefix: "jp-shared-reading-" });
  try {
    const files = await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0" }]);
    const energy = files.get("intel-rapl:0")!;
    const set = (uj: number) => `printf '${energyText(uj).trimEnd()}\\n' > '${energy}'`;
    // __A__ and __B__ go out in one write(2); then the counter moves and CPU is spent. (The
    // file is rewritten only while no token is due: a read during the rewrite fails.)
    const script = `${set(1_000_000)}; printf '__A__\\n__B__\\n'; sleep 0.02; ` +
      `${set(9_000_000)}; awk 'BEGIN { for (i = 0; i < 2000000; i++); }'; sleep 0.05; ` +
      `echo __C__`;
    const out = await runCli(
      [
        "--json",
        "-o",
        "out.json",
        "profile",
        "--perf-events",
        "task-clock",
        "--",
        "sh",
        "-c",
        script,
      ],
      {
        env: {
          JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
          JOULE_PROFILER_EVENT_SOURCE_PATH: root,
        },
        cwd: root,
      },
    );
    assert.equal(out.code, 0, out.stderr);
    const document = JSON.parse(await Deno.readTextFile(`${root}/out.json`));
    const phases = document.phases as {
      start_token: string;
      end_token: string;
      duration_ms: number;
      start_ns: number;
      end_ns: number;
      metrics: { name: string; value: number; source: string }[];
    }[];
    assert.deepEqual(phases.map((p) => `${p.start_token}>${p.end_token}`), [
      "START>__A__",
      "__A__>__B__",
      "__B__>__C__",
      "__C__>END",
    ]);
    const shared = phases[1]!;
    assert.equal(shared.duration_ms, 0);
    assert.deepEqual(
      (phases as { shared_reading?: boolean }[]).map((p) => p.shared_reading ?? false),
      [false, true, false, false],
    );
    assert.equal(shared.start_ns, shared.end_ns);
    const value = (phase: typeof shared, source: string | RegExp, name: string) =>
      phase.metrics.find((m) => m.name === name && new RegExp(source).test(m.source))?.value;
    // Every built-in source that is on here recorded its reading again.
    for (
      const [source, name] of [
        ["RAPL", "PACKAGE-0"],
        ["^process$", "CPU_TIME"],
        ["^process$", "CONTEXT_SWITCHES_VOLUNTARY"],
        ["^system$", "SYSTEM_CPU_TIME"],
        ["perf_event", "TASK_CLOCK"],
      ] as const
    ) {
      const shown = value(shared, source, name);
      if (source === "perf_event" && shown === undefined) continue; // no perf_event_open here
      assert.equal(shown, 0, `${source} ${name} between __A__ and __B__`);
    }
    // The counter's moves show in the phases where they happened.
    const packageEnergy = phases.map((p) => value(p, "RAPL", "PACKAGE-0") ?? 0);
    assert.deepEqual(packageEnergy, [1_000_000, 0, 8_000_000, 0]);
    assert.ok(phases[2]!.duration_ms >= 40, `__B__ -> __C__ lasted ${phases[2]!.duration_ms} ms`);
    assert.match(
      out.stderr,
      /1 of 4 phases \(e\.g\. __A__ -> __B__\) began and ended within one read/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("tokens in separate reads are each measured, and nothing is said", async () => {
  const out = await runCli([
    "--json",
    "-o",
    "-",
    "profile",
    "--",
    "sh",
    "-c",
    "echo __A__; sleep 0.02; echo __B__",
  ]);
  assert.equal(out.code, 0, out.stderr);
  const document = JSON.parse(out.stdoutText.slice(out.stdoutText.indexOf("{")));
  const durations = (document.phases as { duration_ms: number }[]).map((p) => p.duration_ms);
  assert.ok(durations[1]! >= 15, `__A__ -> __B__ lasted ${durations[1]} ms`);
  assert.doesNotMatch(out.stderr, /within one read/);
});
