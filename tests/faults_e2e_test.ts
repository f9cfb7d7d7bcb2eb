import assert from "node:assert/strict";
import { CLI_ENTRY, compileC, runCli, spawnCli } from "./helpers.ts";
import { writeFakePowercap } from "./fixtures/fake_powercap.ts";

interface JsonPhase {
  start_token: string;
  end_token: string;
  duration_ms: number;
  metrics: { name: string; value: number }[];
  failures?: { source: string; message: string }[];
}

async function jsonRun(args: string[], env: Record<string, string> = {}) {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(["--json", "-o", "r.json", ...args], { cwd, env });
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  return { out, document, cwd };
}

Deno.test("a segfaulting program: results written, exit 139, the phase before the crash kept", async () => {
  const program = await compileC("tests/fixtures/segfault.c");
  const { out, document } = await jsonRun(["profile", "--", program]);
  assert.equal(out.code, 139);
  assert.equal(document.signal, "SIGSEGV");
  assert.equal(document.exit_code, 139);
  assert.deepEqual(document.phases.map((p: JsonPhase) => p.end_token), ["__BEFORE_CRASH__", "END"]);
});

Deno.test("a program that prints nothing still gets its START -> END phase", async () => {
  const { out, document } = await jsonRun(["profile", "--", "true"]);
  assert.equal(out.code, 0);
  assert.equal(document.phases.length, 1);
  assert.equal(document.phases[0].end_token, "END");
});

Deno.test("a program that closes stdout early: END is its exit, not the end of its output", async () => {
  const { out, document } = await jsonRun([
    "profile",
    "--",
    "sh",
    "-c",
    "echo __A__; exec >&-; sleep 0.4",
  ]);
  assert.equal(out.code, 0, out.stderr);
  const last: JsonPhase = document.phases.at(-1);
  assert.equal(last.start_token, "__A__");
  assert.ok(last.duration_ms >= 390, `last phase ${last.duration_ms} ms`);
});

Deno.test("Ctrl-C during -n 10 keeps the finished runs and the interrupted one, exit 130", async () => {
  const cwd = await Deno.makeTempDir();
  const child = spawnCli([
    "--json",
    "-o",
    "r.json",
    "profile",
    "-n",
    "10",
    // Repeated runs echo the program's output only on request: the test waits for it.
    "--show-output",
    "--",
    "python3",
    "-c",
    "import time; print('__A__', flush=True); time.sleep(0.4)",
  ], cwd);
  // Interrupt while the second run sleeps (after its token), not during its start-up.
  const reader = child.stdout.getReader();
  let seen = "";
  while ((seen.match(/__A__/g) ?? []).length < 2) {
    const chunk = await reader.read();
    if (chunk.done) break;
    seen += new TextDecoder().decode(chunk.value);
  }
  child.kill("SIGINT");
  const status = await child.status;
  reader.releaseLock();
  await child.stdout.cancel();
  await child.stderr.cancel();
  assert.equal(status.code, 130);
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  assert.equal(document.interrupted, true);
  assert.equal(document.nb_iterations, 2, "the finished run and the interrupted one");
  const last = document.iterations.at(-1);
  assert.equal(last.exit_code, 130);
  assert.equal(last.signal, "SIGINT");
  for (const run of document.iterations.slice(0, -1)) assert.equal(run.exit_code, 0);
});

/** SHA-256 of a shell pipeline's stdout, and its stderr. */
async function pipelineHash(pipeline: string): Promise<{ hash: string; stderr: string }> {
  const output = await new Deno.Command("bash", {
    args: ["-c", `set -o pipefail; ${pipeline} | sha256sum`],
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return {
    hash: new TextDecoder().decode(output.stdout).split(" ")[0]!,
    stderr: new TextDecoder().decode(output.stderr),
  };
}

function peakRss(stderr: string): number {
  const match = /profiler peak RSS ([\d.]+) MiB/.exec(stderr);
  assert.ok(match, stderr);
  return Number(match[1]);
}

const profiler = `"${Deno.execPath()}" run -A "${CLI_ENTRY}" -v --json -o /dev/null profile --`;

Deno.test("1 GiB of binary stdout (NUL, CRLF, invalid UTF-8) passes through byte-exact in bounded memory", async () => {
  const generator = await compileC("tests/fixtures/output_generator.c");
  const direct = await pipelineHash(`"${generator}" bytes 1024`);
  const profiled = await pipelineHash(`${profiler} "${generator}" bytes 1024`);
  assert.equal(profiled.hash, direct.hash);
  const rss = peakRss(profiled.stderr);
  console.log(`peak RSS while passing 1 GiB through: ${rss} MiB`);
  assert.ok(rss < 300, `peak RSS ${rss} MiB`);
  assert.match(profiled.stderr, /run 1: 1025 phases/);
});

Deno.test("a 50 MiB line without newline passes through byte-exact; its tokens are found", async () => {
  const generator = await compileC("tests/fixtures/output_generator.c");
  const direct = await pipelineHash(`"${generator}" longline 50`);
  const profiled = await pipelineHash(`${profiler} "${generator}" longline 50`);
  assert.equal(profiled.hash, direct.hash);
  const rss = peakRss(profiled.stderr);
  console.log(`peak RSS with a 50 MiB line: ${rss} MiB`);
  assert.ok(rss < 300, `peak RSS ${rss} MiB`);
  // One __INSIDE__ per MiB and __LAST__ at the end: 51 tokens, 52 phases.
  assert.match(profiled.stderr, /run 1: 52 phases/);
});

Deno.test("100,000 phases in one run: all reported, memory and post-processing measured", async () => {
  const generator = await compileC("tests/fixtures/output_generator.c");
  const cwd = await Deno.makeTempDir();
  // The profiler's own scaling: without the process and system sources, which add 25 metrics
  // to every phase (the bench reports that case).
  const out = await runCli([
    "-v",
    "--no-process",
    "--no-system",
    "--json",
    "-o",
    "r.json",
    "profile",
    "--",
    generator,
    "tokens",
    "100000",
  ], {
    cwd,
  });
  assert.equal(out.code, 0, out.stderr);
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  assert.equal(document.phases.length, 100_001);
  assert.equal(document.phases[99_999].end_token, "__T999__");
  assert.equal(document.phases[99_999].end_token_line, 99_999);
  const converted = /converted to metrics in ([\d.]+) ms/.exec(out.stderr)![1];
  const written = /results formatted and written in ([\d.]+) ms/.exec(out.stderr)![1];
  const rss = peakRss(out.stderr);
  console.log(
    `100,000 phases: conversion ${converted} ms, output ${written} ms, peak RSS ${rss} MiB`,
  );
  assert.ok(rss < 500, `peak RSS ${rss} MiB`);
});

Deno.test("the output directory vanishing during the run gives a clear error and no stray file", async () => {
  const cwd = await Deno.makeTempDir();
  await Deno.mkdir(`${cwd}/results`);
  const out = await runCli(
    ["--json", "-o", "results/r.json", "profile", "--", "rm", "-rf", "results"],
    { cwd },
  );
  assert.equal(out.code, 125);
  assert.match(out.stderr, /error: cannot write results to '.*results\/r\.json': .*No such file/);
  assert.deepEqual([...Deno.readDirSync(cwd)], []);
});

function canMountTmpfs(): boolean {
  try {
    const probe = Deno.makeTempDirSync();
    const mounted = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe],
      stderr: "null",
    }).outputSync().success;
    if (mounted) new Deno.Command("umount", { args: [probe] }).outputSync();
    return mounted;
  } catch {
    return false;
  }
}

Deno.test({
  name: "a full disk while writing results leaves the previous file untouched",
  ignore: !canMountTmpfs(), // needs root and mount(2), as on the CI machines
  fn: async () => {
    const disk = await Deno.makeTempDir();
    const mounted = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", disk],
    }).output();
    assert.ok(mounted.success);
    try {
      await Deno.writeTextFile(`${disk}/r.json`, "previous results\n");
      const out = await runCli([
        "--json",
        "-o",
        `${disk}/r.json`,
        "profile",
        "--",
        "sh",
        "-c",
        `cat /dev/zero > '${disk}/filler' 2>/dev/null; echo __A__`,
      ]);
      assert.equal(out.code, 125, out.stderr);
      assert.match(
        out.stderr,
        /error: cannot write results to '.*r\.json': .*No space left on device/,
      );
      assert.match(out.stderr, /previous file of that name is unchanged/);
      assert.equal(await Deno.readTextFile(`${disk}/r.json`), "previous results\n");
      assert.deepEqual([...Deno.readDirSync(disk)].map((e) => e.name).sort(), ["filler", "r.json"]);
    } finally {
      await new Deno.Command("umount", { args: [disk] }).output();
    }
  },
});

Deno.test("a source failing mid-run marks the phases it affects; the others keep their metrics", async () => {
  const root = await Deno.makeTempDir();
  const files = await writeFakePowercap(root, [{
    id: "intel-rapl:0",
    name: "package-0",
    energyUj: 100,
  }]);
  const file = files.get("intel-rapl:0")!;
  const w = (text: string) => `printf '${text}\\n' > '${file}'`;
  const script = [
    w("200"),
    "echo __A__; sleep 0.2",
    w("garbage"),
    "echo __B__; sleep 0.2",
    w("500"),
    "echo __C__; sleep 0.2",
    w("600"),
  ].join("; ");
  const { out, document } = await jsonRun(
    [
      "--rapl-path",
      `${root}/intel-rapl`,
      "profile",
      "--rapl-polling",
      "0",
      "--",
      "sh",
      "-c",
      script,
    ],
    { JOULE_PROFILER_EVENT_SOURCE_PATH: root },
  );
  assert.equal(out.code, 0, out.stderr);
  const phases: JsonPhase[] = document.phases;
  assert.deepEqual(phases.map((p) => p.failures?.map((f) => f.source) ?? []), [
    [],
    ["RAPL (Powercap)"],
    ["RAPL (Powercap)"],
    [],
  ]);
  assert.equal(phases[0]!.metrics[0]!.value, 100);
  assert.equal(phases[3]!.metrics[0]!.value, 100);
  assert.match(phases[1]!.failures![0]!.message, /not a plain non-negative decimal integer/);
  assert.match(
    out.stderr,
    /warning: RAPL \(Powercap\): .*not a plain non-negative decimal integer.*affected phases are marked/,
  );
});
