/**
 * No optimized code lands inside a short run: V8 optimizes a hot function on a
 * worker thread and installs the code later. When the baseline reads made one
 * hot (a byte loop over each process's 1.4 KiB `/proc/<pid>/status`), that
 * happened while the program started. It cost `profile -- true` about 0.9 ms
 * of START→END on a 2-vCPU VM (3.25 → 2.30 ms, medians of 25 interleaved runs;
 * docs/PERFORMANCE.md). The sources' parsers now find bytes with the runtime's
 * own search. The system source parses `/proc/stat`'s cpu lines in one call
 * per read (its number parser, called per line, was marked at the END read on a
 * VM with three network interfaces); with it on, the run's functions are
 * checked by name, as the conversion after END sorts enough metric names to
 * make the name order hot, which is outside the window.
 */
import assert from "node:assert/strict";
import denoConfig from "../deno.json" with { type: "json" };
import { REPO_ROOT } from "./helpers.ts";

/** What V8's `--trace-opt` prints when it queues a function for optimization. */
const MARKED = /\[marking .*<JSFunction ([^ >]*).* for optimization/g;

/** deno.json's `start` task's V8 flags: the profiler runs with these. */
const PROFILER_V8_FLAGS = denoConfig.tasks.start.match(/--v8-flags=(\S+)/)![1]!;

async function runTraced(args: string[]): Promise<{ code: number; stdout: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    // The profiler's own V8 flags, with the optimizer's trace.
    args: ["run", "-A", `--v8-flags=${PROFILER_V8_FLAGS},--trace-opt`, ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
}

Deno.test("--trace-opt shows a function V8 optimizes (the check below can see one)", async () => {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      file,
      "function spin(n: number) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }\n" +
        "let t = 0; for (let r = 0; r < 200; r++) t += spin(10_000); console.log(t > 0);\n",
    );
    const { code, stdout } = await runTraced([file]);
    assert.equal(code, 0, stdout);
    assert.ok([...stdout.matchAll(MARKED)].some((match) => match[1] === "spin"), stdout);
  } finally {
    await Deno.remove(file);
  }
});

/**
 * `profile -- true` with JSON on stdout, under `--trace-opt`; the names of the functions V8
 * marked for optimization, and the output.
 */
async function profileTrueTraced(options: string[]): Promise<{ marked: string[]; stdout: string }> {
  const { code, stdout } = await runTraced(
    ["main.ts", "--json", "-o", "-", "profile", ...options, "--", "true"],
  );
  assert.equal(code, 0, stdout);
  // The run itself happened (the JSON is there, beside any trace lines).
  assert.match(stdout, /"phases"/);
  return { marked: [...stdout.matchAll(MARKED)].map((match) => match[1]!), stdout };
}

Deno.test("profiling `true` with the process source makes no function hot enough to optimize", async () => {
  const { marked, stdout } = await profileTrueTraced(["--no-system"]);
  assert.deepEqual(marked, [], `optimized during the run:\n${stdout}`);
});

/** Names of the functions and methods declared in a source's modules. */
async function declaredNames(folder: string): Promise<Set<string>> {
  const names = new Set<string>();
  for await (const entry of Deno.readDir(`${REPO_ROOT}/${folder}`)) {
    if (!entry.name.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(`${REPO_ROOT}/${folder}/${entry.name}`);
    for (const match of text.matchAll(/^\s*(?:export )?(?:async )?function\*? (\w+)\(/gm)) {
      names.add(match[1]!);
    }
    for (const match of text.matchAll(/^ {2}(?:static |async |get |private )*(#?\w+)\(/gm)) {
      names.add(match[1]!);
    }
  }
  return names;
}

Deno.test("profiling `true` with the default sources optimizes none of their code", async () => {
  const { marked, stdout } = await profileTrueTraced([]);
  const sourceCode = new Set([
    ...await declaredNames("sources/system"),
    ...await declaredNames("sources/process"),
  ]);
  assert.ok(sourceCode.has("numbers") && sourceCode.has("#readCpus"), [...sourceCode].join());
  assert.deepEqual(
    marked.filter((name) => sourceCode.has(name)),
    [],
    `optimized during the run:\n${stdout}`,
  );
});
