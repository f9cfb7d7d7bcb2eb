/**
 * scripts/bundle.ts: the rewrites it makes, and the bundle it builds run as the CLI
 * (the release binary is compiled from it).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  bundleCli,
  BUNDLED_PATHS,
  BundleError,
  computeChunkImports,
  rewriteLazyImports,
} from "../scripts/bundle.ts";
import denoConfig from "../deno.json" with { type: "json" };
import { type CommandOutput, REPO_ROOT, runCommand } from "./helpers.ts";

Deno.test("rewriteLazyImports turns each literal loadLazily call into an import()", () => {
  const source = [
    'import { loadLazily } from "../lazy_module.ts";',
    "/** Example: `loadLazily(name, base)` is not a call to rewrite. */",
    'const a = await loadLazily<typeof import("./a.ts")>("./a.ts", import.meta.url);',
    "const b = (await loadLazily<",
    '  typeof import("../b.ts")',
    '>("../b.ts", import.meta.url)).b;',
    "function command(file: string) {",
    "  return loadLazily<unknown>(`./commands/${file}.ts`, import.meta.url);",
    "}",
  ].join("\n");
  const { text, count } = rewriteLazyImports(source, "x.ts");
  assert.equal(count, 3);
  assert.match(text, /const a = await import\("\.\/a\.ts"\);/);
  assert.match(text, /const b = \(await import\("\.\.\/b\.ts"\)\)\.b;/);
  assert.match(text, /return import\(`\.\/commands\/\$\{file\}\.ts`\);/);
  assert.match(text, /`loadLazily\(name, base\)` is not a call to rewrite/);
});

Deno.test("rewriteLazyImports refuses a computed specifier, naming the file and line", () => {
  const source = 'const file = "./a.ts";\nawait loadLazily(file, import.meta.url);\n';
  assert.throws(
    () => rewriteLazyImports(source, "src/x.ts"),
    (error: unknown) =>
      error instanceof BundleError && error.name === "BundleError" &&
      error.message.startsWith("src/x.ts:2: loadLazily needs a literal specifier"),
  );
  // The definition itself is no call.
  const definition = "export function loadLazily<Module>(specifier: string, base: string) {}";
  assert.equal(rewriteLazyImports(definition, "lazy_module.ts").count, 0);
});

Deno.test("computeChunkImports makes chunk imports computed and leaves others", () => {
  const { text, count } = computeChunkImports(
    'a=()=>import("./chunk-AB12.js");b=import("node:inspector");c=import("./x-9.js")',
  );
  assert.equal(count, 2);
  assert.equal(
    text,
    'a=()=>import(new URL("./chunk-AB12.js",import.meta.url).href);' +
      'b=import("node:inspector");c=import(new URL("./x-9.js",import.meta.url).href)',
  );
});

/** deno.json's `start` task's V8 flags, which the release binary is compiled with too. */
const V8_FLAGS = denoConfig.tasks.start.match(/--v8-flags=\S+/)![0];

/** Runs an entry point as `deno task start` runs main.ts. */
function runEntry(entry: string, args: string[], cwd: string): Promise<CommandOutput> {
  return runCommand(Deno.execPath(), ["run", "-A", V8_FLAGS, entry, ...args], {
    cwd,
    env: { NO_COLOR: "1" },
  });
}

Deno.test("the bundle runs the CLI as the source does", async () => {
  const work = await Deno.makeTempDir({ prefix: "jp-bundle-" });
  try {
    const outdir = `${work}/bundle`;
    const report = await bundleCli({ outdir });
    assert.equal(report.outdir, outdir);
    assert.ok(report.files > 10, `${report.files} files`);
    assert.ok(report.lazyImports > 40 && report.chunkImports > 40, JSON.stringify(report));
    for await (const entry of Deno.readDir(outdir)) {
      const text = await Deno.readTextFile(`${outdir}/${entry.name}`);
      // Every chunk is loaded on use: deno run would prepare a literal import's graph at start.
      assert.doesNotMatch(text, /\bimport\("\.\//, entry.name);
    }
    const bundled = `${outdir}/main.js`;
    const source = `${REPO_ROOT}main.ts`;

    for (
      const args of [["--version"], ["--help"], ["profile", "--help"], ["completions", "bash"]]
    ) {
      const [fromBundle, fromSource] = await Promise.all([
        runEntry(bundled, args, work),
        runEntry(source, args, work),
      ]);
      assert.equal(fromBundle.code, 0, fromBundle.stderr);
      assert.equal(fromBundle.stdout, fromSource.stdout, args.join(" "));
    }

    // A profile: the profile command, the sources, the phase channel and the JSON output.
    // The channel's token is written first, with a pause: stdout and the channel are two readers.
    const program = 'printf "B\\n" >>"$JOULE_PROFILER_PHASE_FIFO"; sleep 0.1; echo __C__';
    const profiled = await runEntry(
      bundled,
      ["--json", "-o", "-", "profile", "--", "sh", "-c", program],
      work,
    );
    assert.equal(profiled.code, 0, profiled.stderr);
    const document = JSON.parse(profiled.stdout);
    assert.deepEqual(
      document.phases.map((phase: { start_token: string; end_token: string }) =>
        `${phase.start_token} -> ${phase.end_token}`
      ),
      ["START -> B", "B -> __C__", "__C__ -> END"],
    );

    // CSV output loads its npm package, bundled into a chunk of its own.
    const csv = await runEntry(
      bundled,
      ["--csv", "-o", `${work}/r.csv`, "profile", "--", "sh", "-c", "echo __A__"],
      work,
    );
    assert.equal(csv.code, 0, csv.stderr);
    assert.match(await Deno.readTextFile(`${work}/r.csv`), /START -> __A__/);

    // A usage error keeps its wording and exit status.
    const bad = await runEntry(bundled, ["profile", "--bogus", "--", "true"], work);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim(), "error: unknown option '--bogus'");
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("a source the bundle would miss fails the build and leaves the last bundle", async () => {
  const work = await Deno.makeTempDir({ prefix: "jp-bundle-" });
  try {
    const root = `${work}/repo`;
    await Deno.mkdir(root);
    const copy = await runCommand("cp", [
      "-R",
      ...BUNDLED_PATHS.map((path) => `${REPO_ROOT}${path}`),
      root,
    ]);
    assert.equal(copy.code, 0, copy.stderr);
    const outdir = `${work}/bundle`;
    await Deno.mkdir(outdir);
    await Deno.writeTextFile(`${outdir}/main.js`, "// the last bundle\n");
    const module = `${root}/src/cli/commands/profile.ts`;
    await Deno.writeTextFile(
      module,
      (await Deno.readTextFile(module)) +
        '\nconst name = "../../output/json.ts";\nexport const late = () => ' +
        "loadLazily(name, import.meta.url);\n",
    );
    await assert.rejects(
      bundleCli({ root, outdir }),
      (error: unknown) =>
        error instanceof BundleError &&
        /^src\/cli\/commands\/profile\.ts:\d+: loadLazily needs a literal/.test(error.message),
    );
    assert.equal(await Deno.readTextFile(`${outdir}/main.js`), "// the last bundle\n");
    // Nothing half-built is left beside it.
    const left = [];
    for await (const entry of Deno.readDir(work)) left.push(entry.name);
    assert.deepEqual(left.sort(), ["bundle", "repo"]);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("deno task bundle refuses an unknown argument in one line, exit 2", async () => {
  const output = await runCommand(Deno.execPath(), [
    "run",
    "-A",
    `${REPO_ROOT}scripts/bundle.ts`,
    "--bogus",
  ]);
  assert.equal(output.code, 2);
  assert.equal(output.stderr, "bundle: unexpected argument '--bogus' (try --help)\n");
  assert.equal(output.stdout, "");
});
