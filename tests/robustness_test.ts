import assert from "node:assert/strict";
import { runCli } from "./helpers.ts";

Deno.test("a failing --cleanup keeps the completed runs, warns and exits 125", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli([
    "--json",
    "-o",
    "r.json",
    "profile",
    "-n",
    "5",
    "--cleanup",
    "test -e stop && exit 3; touch stop",
    "--",
    "sh",
    "-c",
    "echo __A__",
  ], { cwd });
  assert.equal(out.code, 125, out.stderr);
  assert.match(
    out.stderr,
    /--cleanup '.*' exited with code 3; profile stopped; the completed runs are kept/,
  );
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  assert.equal(document.iterations.length, 2, "run 2 completed before its cleanup failed");
  assert.ok(document.iterations.every((run: { phases: unknown[] }) => run.phases.length === 2));
});

Deno.test("a failing --cleanup in a warm-up run (nothing to keep) stops with 125 and writes nothing", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(
    ["--json", "-o", "r.json", "profile", "--warmup", "1", "--cleanup", "exit 4", "--", "true"],
    { cwd },
  );
  assert.equal(out.code, 125, out.stderr);
  assert.match(out.stderr, /--cleanup 'exit 4' exited with code 4; profile stopped/);
  assert.equal(await Deno.stat(`${cwd}/r.json`).then(() => true, () => false), false);
});
