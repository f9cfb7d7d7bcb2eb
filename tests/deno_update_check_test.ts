/**
 * `deno run` checks for a newer Deno half a second into a run: it reads and
 * parses the system's CA certificates on the main thread, then resolves and
 * asks dl.deno.land (again at every run where that fails). A profiler must
 * make no such request, nor stall while it measures: `deno task start`
 * runs it with `DENO_NO_UPDATE_CHECK=1` (docs/SECURITY.md, "No network
 * traffic"). Checked with strace against a control run without the
 * variable, which shows the check where the machine lets it happen.
 *
 * @module
 */

import assert from "node:assert/strict";
import { REPO_ROOT } from "./helpers.ts";

/** strace's path, or `undefined` (the test then fails under CI, where `.ci/run` installs it). */
function strace(): string | undefined {
  for (const path of ["/usr/bin/strace", "/bin/strace"]) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not there.
    }
  }
  return undefined;
}

const STRACE = strace();

/** The files a command and its children opened that hold CA certificates. */
async function certificateOpens(
  command: string[],
  env: Record<string, string>,
): Promise<{ opened: string[]; stdout: string; code: number }> {
  const trace = await Deno.makeTempFile({ prefix: "jp-update-check-" });
  try {
    const output = await new Deno.Command(STRACE!, {
      args: ["-f", "-qq", "-e", "trace=openat,open", "-o", trace, ...command],
      cwd: REPO_ROOT,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "null",
    }).output();
    const opened = (await Deno.readTextFile(trace)).split("\n")
      .filter((line) => /"\/etc\/ssl\/certs\/|ca-certificates|ca-bundle/.test(line));
    return { opened, stdout: new TextDecoder().decode(output.stdout), code: output.code };
  } finally {
    await Deno.remove(trace);
  }
}

Deno.test({
  name:
    "deno task start runs the profiler without deno's update check (no certificates, no request)",
  ignore: STRACE === undefined && Deno.env.get("CI") === undefined,
  async fn() {
    assert.ok(STRACE !== undefined, "strace is needed (.ci/run installs it)");
    // The caller's environment without the variable: the task must set it itself.
    const env = Deno.env.toObject();
    delete env.DENO_NO_UPDATE_CHECK;
    env.NO_COLOR = "1";
    // Long enough for the check, which starts 500 ms after the main module is prepared.
    const program = ["sh", "-c", 'echo "program sees ${DENO_NO_UPDATE_CHECK:-nothing}"; sleep 0.9'];
    const results = ["--json", "-o", "/dev/null", "profile", "--no-process", "--no-system"];
    const task = await certificateOpens(
      [Deno.execPath(), "task", "-q", "start", ...results, "--", ...program],
      env,
    );
    assert.equal(task.code, 0);
    assert.match(task.stdout, /^program sees 1$/m, "the program inherits the task's variable");
    assert.deepEqual(task.opened, [], "no CA certificates read under deno task start");

    // Control: the same run through plain `deno run` reads them, where Deno checks at all (it
    // skips the request for 12 hours after one that succeeded).
    const plain = await certificateOpens(
      [Deno.execPath(), "run", "-A", `${REPO_ROOT}main.ts`, ...results, "--", ...program],
      env,
    );
    assert.equal(plain.code, 0);
    assert.match(plain.stdout, /^program sees nothing$/m);
    if (plain.opened.length === 0) {
      console.log(
        "control: this Deno skipped its update check (a recent one succeeded), so the " +
          "difference cannot be shown here; the task's variable was checked above",
      );
    }
  },
});
