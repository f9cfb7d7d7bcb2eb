/**
 * Runs the steps of examples/ci/github-actions-energy-gate.yml, in order, through bash, as a
 * GitHub runner would: the job's `env`, `$GITHUB_ENV`/`$GITHUB_PATH` carried from step to step,
 * a base branch and a pull request checked out from a real git remote, install.sh fetched with
 * curl from a local server and installing a release archive (whose binary runs this checkout),
 * and a fake RAPL tree whose counter the benchmark itself advances by a known energy.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parse } from "yaml";
import { CLI_ENTRY, REPO_ROOT } from "./helpers.ts";
import { HOST_TARGET, SCRIPTS_DIR } from "./release_fixture.ts";
import { writeFakePowercap } from "./fixtures/fake_powercap.ts";

const WORKFLOW = `${REPO_ROOT}examples/ci/github-actions-energy-gate.yml`;

interface Step {
  name?: string;
  uses?: string;
  run?: string;
}

async function sh(args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(args[0]!, { args: args.slice(1), cwd, stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** A benchmark that adds `joules` (read from bench_energy.txt of its checkout) to the counter. */
const BENCH = [
  "import os, sys, time",
  "here = os.path.dirname(os.path.abspath(__file__))",
  "joules = float(open(os.path.join(here, 'bench_energy.txt')).read())",
  "path = os.environ.get('BENCH_ENERGY_FILE')",
  "print('__WORK__', flush=True)",
  "time.sleep(0.03)",
  "if path:",
  "    with open(path, 'r+') as f:",
  "        value = int(f.read())",
  "        f.seek(0)",
  "        f.write('%020d\\n' % (value + int(joules * 1e6)))",
  "else:",
  "    # A runner without RAPL: the work is CPU time (0.15 s per 'joule'), estimated by --tdp.",
  "    end = time.process_time() + 0.15 * joules",
  "    while time.process_time() < end:",
  "        pass",
  "print('__DONE__', flush=True)",
].join("\n");

/** Serves install.sh and a one-release tree laid out like GitHub's. */
async function serveInstallAndRelease(
  tag: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const root = await Deno.makeTempDir({ prefix: "jp-gate-release-" });
  const wrapper = `${root}/joule-profiler`;
  // The job runs with a fresh HOME: the wrapper keeps this process's Deno cache (npm packages).
  const info = JSON.parse(await sh([Deno.execPath(), "info", "--json"], root));
  await Deno.writeTextFile(
    wrapper,
    `#!/bin/sh\nDENO_DIR='${info.denoDir}' exec '${Deno.execPath()}' run -A ` +
      `'${CLI_ENTRY}' "$@"\n`,
  );
  await sh([
    "bash",
    `${SCRIPTS_DIR}package_release.sh`,
    tag,
    HOST_TARGET,
    wrapper,
    `${root}/${tag}`,
  ], root);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/install.sh") {
        return new Response(
          await Deno.readFile(`${SCRIPTS_DIR}install.sh`),
        );
      }
      const download = path.match(/^\/releases\/download\/(v[\d.]+)\/([\w.-]+)$/);
      if (download) {
        try {
          return new Response(await Deno.readFile(`${root}/${download[1]}/${download[2]}`));
        } catch {
          // Fall through to 404.
        }
      }
      return new Response("Not Found", { status: 404 });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

/** Runs the workflow's steps; returns the exit status of the job and what it printed. */
async function runWorkflow(baseJoules: number, prJoules: number, options = { rapl: true }) {
  const workflow = parse(await Deno.readTextFile(WORKFLOW)) as {
    env: Record<string, string>;
    jobs: { energy: { steps: Step[] } };
  };
  const temp = await Deno.makeTempDir({ prefix: "jp-gate-job-" });
  const home = `${temp}/home`;
  const runnerTemp = `${temp}/runner`;
  await Deno.mkdir(home);
  await Deno.mkdir(runnerTemp);
  // The repository: main with the base benchmark, a pull request branch that changes its energy.
  const origin = `${temp}/origin.git`;
  const seed = `${temp}/seed`;
  await Deno.mkdir(seed);
  await Deno.writeTextFile(`${seed}/bench.py`, BENCH);
  await Deno.writeTextFile(`${seed}/bench_energy.txt`, String(baseJoules));
  const git = (args: string[], cwd: string) =>
    sh(["git", "-c", "user.name=ci", "-c", "user.email=ci@example.invalid", ...args], cwd);
  await git(["init", "-q", "-b", "main"], seed);
  await git(["add", "."], seed);
  await git(["commit", "-qm", "base"], seed);
  await git(["clone", "-q", "--bare", seed, origin], temp);
  const workspace = `${temp}/workspace`;
  await git(["clone", "-q", origin, workspace], temp);
  await git(["checkout", "-qb", "pr"], workspace);
  await Deno.writeTextFile(`${workspace}/bench_energy.txt`, String(prJoules));
  await git(["commit", "-q", "--allow-empty", "-am", "change"], workspace);

  const rapl = `${temp}/rapl`;
  await Deno.mkdir(rapl);
  const files = await writeFakePowercap(rapl, [{ id: "intel-rapl:0", name: "package-0" }]);
  const server = await serveInstallAndRelease(workflow.env.JOULE_PROFILER_VERSION!);
  const githubEnv = `${temp}/github_env`;
  const githubPath = `${temp}/github_path`;
  const summary = `${temp}/summary.md`;
  for (const file of [githubEnv, githubPath, summary]) await Deno.writeTextFile(file, "");
  const env: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    NO_COLOR: "1",
    ...workflow.env,
    // Only the addresses change: the local copy of install.sh and the local release.
    JOULE_PROFILER_INSTALL_URL: `${server.url}/install.sh`,
    JOULE_PROFILER_RELEASES_URL: `${server.url}/releases`,
    BENCHMARK: "python3 bench.py",
    RUNS: "5",
    GITHUB_BASE_REF: "main",
    GITHUB_ENV: githubEnv,
    GITHUB_PATH: githubPath,
    GITHUB_STEP_SUMMARY: summary,
    RUNNER_TEMP: runnerTemp,
    // The runner's "hardware": a RAPL tree the benchmark advances (or none), no perf power PMU.
    JOULE_PROFILER_RAPL_PATH: options.rapl ? `${rapl}/intel-rapl` : `${temp}/no-rapl`,
    JOULE_PROFILER_EVENT_SOURCE_PATH: options.rapl ? rapl : `${temp}/no-rapl`,
  };
  if (options.rapl) env.BENCH_ENERGY_FILE = files.get("intel-rapl:0")!;
  let log = "";
  let status = 0;
  try {
    for (const step of workflow.jobs.energy.steps) {
      if (step.uses !== undefined) {
        assert.match(step.uses, /^actions\/checkout@/, "the test stands in for checkout only");
        continue;
      }
      const out = await new Deno.Command("bash", {
        args: ["-eo", "pipefail", "-c", step.run!],
        cwd: workspace,
        clearEnv: true,
        env,
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(240_000),
      }).output();
      log += `== ${step.name}\n${new TextDecoder().decode(out.stdout)}${
        new TextDecoder().decode(out.stderr)
      }`;
      // $GITHUB_ENV and $GITHUB_PATH apply from the next step on, as on a runner.
      for (const line of (await Deno.readTextFile(githubEnv)).split("\n")) {
        const at = line.indexOf("=");
        if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
      }
      for (const line of (await Deno.readTextFile(githubPath)).split("\n")) {
        if (line !== "" && !env.PATH!.split(":").includes(line)) env.PATH = `${line}:${env.PATH}`;
      }
      if (out.code !== 0) {
        status = out.code;
        log += `== step '${step.name}' exited with ${out.code}\n`;
        break;
      }
    }
  } finally {
    await server.close();
  }
  return { status, log, summary: await Deno.readTextFile(summary) };
}

Deno.test("energy-gate workflow: equal energy passes the job", async () => {
  const { status, log, summary } = await runWorkflow(1, 1);
  assert.equal(status, 0, log);
  assert.match(log, /RAPL found: energy is measured/);
  assert.match(log, /gate passed/);
  assert.match(summary, /PACKAGE-0/);
});

Deno.test("energy-gate workflow: twice the energy fails the job on the gate", async () => {
  const { status, log } = await runWorkflow(1, 2);
  assert.equal(status, 3, log);
  assert.match(log, /== step 'Energy gate' exited with 3/);
  assert.match(log, /FAIL regression: phase __WORK__ -> __DONE__, PACKAGE-0 .* = 2\.0\d\d/);
  // Phases where the counter did not move have no ratio: said so, never NaN.
  assert.match(
    log,
    /ok {3}n\/a: zero on both sides: phase START -> __WORK__, .* = n\/a \(0 on both sides\)/,
  );
  const gateLines = log.split("\n").filter((line) => /^(ok |FAIL|gate )/.test(line));
  assert.equal(gateLines.length, 4, gateLines.join("\n"));
  assert.doesNotMatch(gateLines.join("\n"), /NaN/);
});

Deno.test("energy-gate workflow without RAPL: --tdp estimates, labelled, and the gate still catches 2×", async () => {
  const { status, log } = await runWorkflow(1, 2, { rapl: false });
  assert.equal(status, 3, log);
  assert.match(log, /no RAPL on this runner: energy is estimated from CPU time \(--tdp 120\)/);
  // Twice the CPU time: the estimate doubles, and the gate names it as an estimate.
  assert.match(
    log,
    /^FAIL regression: phase __WORK__ -> __DONE__, CPU \(TDP curve \(estimated\)\): .* = [12]\.\d{3}/m,
  );
});
