/**
 * The GitHub workflows: parsed as YAML, and the release build job's shell steps run for
 * each target with a fake `deno compile` (the real one downloads `denort`), so that the
 * assets they produce are checked against what scripts/install.sh downloads and installs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parse } from "yaml";
import denoConfig from "../deno.json" with { type: "json" };
import { listDir, REPO_ROOT, runCommand } from "./helpers.ts";
import { BUNDLED_PATHS } from "../scripts/bundle.ts";
import {
  assetName,
  fakeUname,
  runScript,
  serveRelease,
  type Target,
  TARGETS,
  versionOf,
} from "./release_fixture.ts";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

interface Job {
  needs?: string | string[];
  permissions?: Record<string, string>;
  strategy?: { matrix?: { target?: string[] } };
  env?: Record<string, string>;
  steps: Step[];
}

interface Workflow {
  on: Record<string, { tags?: string[] } | null>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

async function readWorkflow(name: string): Promise<Workflow> {
  return parse(await Deno.readTextFile(`${REPO_ROOT}.github/workflows/${name}`)) as Workflow;
}

function job(workflow: Workflow, name: string): Job {
  const found = workflow.jobs[name];
  assert.ok(found, `no job '${name}'`);
  return found;
}

const TAG = `v${denoConfig.version}`;
const DENO_DIR = Deno.env.get("DENO_DIR") ||
  `${Deno.env.get("XDG_CACHE_HOME") || `${Deno.env.get("HOME")}/.cache`}/deno`;
const PINNED_DENO = (await Deno.readTextFile(`${REPO_ROOT}.ci/run`))
  .match(/^DENO_VERSION="([^"]+)"/m)?.[1];

function assertSetupDenoPinned(workflow: Workflow): void {
  const setups = Object.values(workflow.jobs).flatMap((each) => each.steps)
    .filter((step) => step.uses?.startsWith("denoland/setup-deno@"));
  assert.ok(setups.length > 0);
  for (const step of setups) {
    assert.equal(step.uses, "denoland/setup-deno@v2");
    assert.equal(step.with?.["deno-version"], PINNED_DENO);
  }
}

/** The flags of a `deno compile` command line, without `--target`/`--output` and their values. */
function compileFlags(words: string[]): string[] {
  const flags: string[] = [];
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    if (word === "--target" || word === "--output" || word === "-o") index++;
    else if (word.startsWith("-") && !word.startsWith("--target=")) flags.push(word);
  }
  return flags;
}

Deno.test("ci.yml runs deno task test on pushes and pull requests with the pinned Deno", async () => {
  const ci = await readWorkflow("ci.yml");
  assert.ok("push" in ci.on && "pull_request" in ci.on);
  assertSetupDenoPinned(ci);
  const runs = Object.values(ci.jobs).flatMap((each) => each.steps).map((step) => step.run ?? "");
  assert.ok(runs.some((run) => run.trim() === "deno task test"));
  assert.ok(runs.some((run) => /apt-get install/.test(run) && /shellcheck/.test(run)));
});

Deno.test("release.yml builds on v* tags the targets install.sh downloads, and publishes them", async () => {
  const release = await readWorkflow("release.yml");
  assert.deepEqual(release.on.push?.tags, ["v*"]);
  assertSetupDenoPinned(release);

  const installer = await Deno.readTextFile(`${REPO_ROOT}scripts/install.sh`);
  const installerTargets = [...installer.matchAll(/TARGET="([^"]+)"/g)].map((match) => match[1]);
  const build = job(release, "build");
  assert.deepEqual(build.strategy?.matrix?.target, installerTargets);
  assert.deepEqual([...installerTargets].sort(), [...TARGETS].sort());

  const publish = job(release, "release");
  assert.deepEqual([publish.needs].flat(), ["build"]);
  assert.equal(publish.permissions?.contents, "write");
  const upload = build.steps.find((step) => step.uses?.startsWith("actions/upload-artifact@"));
  const download = publish.steps.find((step) =>
    step.uses?.startsWith("actions/download-artifact@")
  );
  const uploadName = String(upload?.with?.name);
  const downloadPattern = String(download?.with?.pattern);
  assert.match(
    uploadName.replace("${{ matrix.target }}", TARGETS[0]),
    globToRegExp(downloadPattern),
  );
  assert.equal(download?.with?.["merge-multiple"], true);
  const downloadPath = String(download?.with?.path);
  const publishRun = publish.steps.map((step) => step.run ?? "").join("\n");
  assert.ok(
    publishRun.includes(`gh release upload "$GITHUB_REF_NAME" ${downloadPath}/* --clobber`),
  );
  assert.match(publishRun, /gh release create "\$GITHUB_REF_NAME"/);
});

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*");
  return new RegExp(`^${escaped}$`);
}

/**
 * A `deno` for the build steps: `compile` writes at `--output` a stand-in for the binary that
 * runs its entry point (the bundle) with the real Deno and the same V8 flags, so that the
 * workflow's smoke test and the installed binary run the bundled CLI for real; the rest runs
 * Deno.
 */
async function fakeDeno(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "jp-fake-deno-" });
  await Deno.writeTextFile(
    `${dir}/deno`,
    `#!/bin/sh
if [ "$1" != compile ]; then exec "${Deno.execPath()}" "$@"; fi
printf '%s\\n' "$@" >"$COMPILE_ARGS_LOG"
output=""
flags=""
entry=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --output) output="$2"; shift ;;
    --target) shift ;;
    --v8-flags=*) flags="$1" ;;
    -*) ;;
    *) entry="$1" ;;
  esac
  shift
done
mkdir -p "$(dirname "$output")"
printf '#!/bin/sh\\nexec "%s" run -A %s "%s" "$@"\\n' "${Deno.execPath()}" "$flags" "$PWD/$entry" >"$output"
chmod +x "$output"
`,
  );
  await Deno.chmod(`${dir}/deno`, 0o755);
  return dir;
}

/** Evaluates the only kind of step condition the build job uses: `matrix.target == '<target>'`. */
function stepRuns(step: Step, target: Target): boolean {
  if (step.if === undefined) return true;
  const condition = step.if.match(/^matrix\.target == '([^']+)'$/);
  assert.ok(condition, `unexpected step condition: ${step.if}`);
  return condition[1] === target;
}

interface BuildResult {
  /** Arguments the fake `deno compile` received. */
  compileArgs: string[];
  /** The upload-artifact directory. */
  uploaded: string;
}

/** Runs the build job's shell steps for a target, for the tag `TAG`, in a scratch workspace. */
async function runBuildJob(build: Job, target: Target, tag: string): Promise<BuildResult> {
  const workspace = await Deno.makeTempDir({ prefix: "jp-workspace-" });
  // What the bundle step reads (it bundles the CLI for real) and the scripts the steps run.
  const copy = await runCommand("cp", [
    "-R",
    ...[...BUNDLED_PATHS, "scripts"].map((path) => `${REPO_ROOT}${path}`),
    workspace,
  ]);
  assert.equal(copy.code, 0, copy.stderr);
  const compileLog = `${workspace}/compile-args.log`;
  const expand = (value: string) => value.replaceAll("${{ matrix.target }}", target);
  const jobEnv = Object.fromEntries(
    Object.entries(build.env ?? {}).map(([key, value]) => [key, expand(value)]),
  );
  const path = `${await fakeDeno()}:/usr/local/bin:/usr/bin:/bin`;
  let uploaded = "";
  for (const step of build.steps) {
    if (!stepRuns(step, target)) continue;
    if (step.uses?.startsWith("actions/upload-artifact@")) {
      uploaded = `${workspace}/${String(step.with?.path)}`;
    }
    if (step.run === undefined) continue;
    assert.ok(!step.run.includes("${{"), `expressions belong in env: ${step.run}`);
    const output = await new Deno.Command("bash", {
      args: ["-e", "-c", step.run],
      cwd: workspace,
      clearEnv: true,
      env: {
        PATH: path,
        HOME: workspace,
        // Deno's cache as the tests have it: the bundler and its packages come from there.
        DENO_DIR: DENO_DIR,
        GITHUB_REF_NAME: tag,
        COMPILE_ARGS_LOG: compileLog,
        FAKE_VERSION: denoConfig.version,
        ...jobEnv,
        ...step.env,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    if (!output.success) throw new Error(`step '${step.name ?? step.run}' failed: ${stderr}`);
  }
  const compileArgs = (await Deno.readTextFile(compileLog)).trimEnd().split("\n");
  return { compileArgs, uploaded };
}

Deno.test("release.yml's build steps produce the assets install.sh installs, per target", async () => {
  const build = job(await readWorkflow("release.yml"), "build");
  // `deno task compile`: the bundle, then the compile of it.
  const [bundleCommand, compileCommand] = denoConfig.tasks.compile.split("&&").map((part) =>
    part.trim()
  );
  assert.equal(bundleCommand, denoConfig.tasks.bundle);
  assert.ok(build.steps.some((step) => step.run === "deno task bundle"));
  const taskWords = compileCommand!.split(/\s+/);
  assert.deepEqual(taskWords.slice(0, 2), ["deno", "compile"]);
  const root = await Deno.makeTempDir({ prefix: "jp-release-" });
  await Deno.mkdir(`${root}/${TAG}`);
  for (const target of TARGETS) {
    const { compileArgs, uploaded } = await runBuildJob(build, target, TAG);
    // The same baked-in flags as `deno task compile`, for this target, from the bundle.
    assert.deepEqual(compileFlags(compileArgs.slice(1)), compileFlags(taskWords.slice(2)));
    assert.equal(compileArgs[compileArgs.indexOf("--target") + 1], target);
    assert.equal(compileArgs.at(-1), taskWords.at(-1));
    const asset = assetName(TAG, target);
    assert.deepEqual(await listDir(uploaded), [asset, `${asset}.sha256`]);
    for (const name of [asset, `${asset}.sha256`]) {
      await Deno.copyFile(`${uploaded}/${name}`, `${root}/${TAG}/${name}`);
    }
  }

  const server = serveRelease({ root, tags: [TAG], latest: TAG });
  try {
    for (
      const [target, machine] of [["x86_64-unknown-linux-gnu", "x86_64"], [
        "aarch64-unknown-linux-gnu",
        "aarch64",
      ]] as const
    ) {
      const dir = await Deno.makeTempDir({ prefix: "jp-install-" });
      const output = await runScript("install.sh", ["--dir", dir, "--yes"], {
        releasesUrl: server.releasesUrl,
        pathPrefix: [await fakeUname("Linux", machine)],
      });
      assert.equal(output.code, 0, output.stderr);
      assert.equal(await versionOf(`${dir}/joule-profiler`), denoConfig.version);
      assert.ok(
        server.requests.includes(`/owner/repo/releases/download/${TAG}/${assetName(TAG, target)}`),
      );
    }
  } finally {
    await server.close();
  }
});

Deno.test("release.yml refuses a tag that is not deno.json's version", async () => {
  const build = job(await readWorkflow("release.yml"), "build");
  await assert.rejects(
    runBuildJob(build, "x86_64-unknown-linux-gnu", "v0.0.0-other"),
    /is not v\d+\.\d+\.\d+, the version in deno\.json/,
  );
});
