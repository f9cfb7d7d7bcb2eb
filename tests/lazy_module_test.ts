/**
 * Modules a command may not need are loaded on use, through a computed
 * specifier (`src/lazy_module.ts`): `deno run` prepares the graph of every
 * literal `import("…")` it can reach before it runs, taken or not.
 */
import assert from "node:assert/strict";
import { loadLazily } from "../src/lazy_module.ts";
import { productCodeLines, runCli } from "./helpers.ts";
import { runtimeModules } from "./bench/module_graph.ts";

Deno.test("loadLazily() imports relative to the caller's URL", async () => {
  const module = await loadLazily<typeof import("../src/text/digit_grouping.ts")>(
    "../src/text/digit_grouping.ts",
    import.meta.url,
  );
  assert.equal(module.groupDigits(1_234_567), "1,234,567");
  await assert.rejects(() => loadLazily("./no_such_module.ts", import.meta.url));
});

Deno.test("no literal dynamic import of project modules in src/ or sources/", async () => {
  const literal = /(?<!typeof )\bimport\("(\.[^"]+)"\)/;
  // A bare npm specifier inside a module that is itself loaded on use is fine.
  const offenders = (await productCodeLines())
    .filter(({ text }) => literal.test(text))
    .map(({ file, line }) => `${file}:${line}`);
  assert.deepEqual(offenders, [], "use loadLazily() (src/lazy_module.ts)");
});

Deno.test("profile, list-sensors and --help still load their modules on use", async () => {
  const json = await runCli(["--json", "-o", "-", "profile", "--", "true"]);
  assert.equal(json.code, 0, json.stderr);
  assert.ok(JSON.parse(json.stdoutText.slice(json.stdoutText.indexOf("{"))).phases.length >= 1);
  const csv = await runCli(["--csv", "-o", "-", "list-sensors"]);
  assert.equal(csv.code, 0, csv.stderr);
  assert.match(csv.stdoutText, /process/);
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdoutText, /Usage:/);
});

Deno.test("--version and --help load neither the CLI, nor the parser, nor the value parsers", async () => {
  const root = new URL("../", import.meta.url);
  const names = async (entry: string) =>
    [...(await runtimeModules(new URL(entry, root).pathname)).keys()]
      .map((specifier) => specifier.slice(root.href.length)).sort();
  // main.ts answers both from the built-in flags' module, before the CLI loads.
  assert.deepEqual(await names("main.ts"), [
    "deno.json",
    "main.ts",
    "src/cli/builtin_options.ts",
    "src/lazy_module.ts",
  ]);
  // --help then loads the help text and the table, whose defaults come from one module.
  assert.deepEqual(await names("src/cli/help_text.ts"), [
    "deno.json",
    "src/cli/builtin_options.ts",
    "src/cli/help_text.ts",
    "src/cli/option_table.ts",
    "src/lazy_module.ts",
    "src/setting_defaults.ts",
    "src/text/digit_grouping.ts",
  ]);
  // The parser brings the value parsers the table names.
  assert.ok((await names("src/cli/arg_parser.ts")).includes("src/cli/value_parsers.ts"));
});
