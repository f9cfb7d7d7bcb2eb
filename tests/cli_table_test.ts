/**
 * The declarative command line: the parser and help driven by the option
 * table, the forgiving command line (issue 17 item 4), shell completions run
 * in real bash, zsh and fish, and the README listing every flag of `--help`.
 */

import assert from "node:assert/strict";
import { parseCommandLine, type ParsedCommandLine } from "../src/cli/arg_parser.ts";
import { helpText } from "../src/cli/help_text.ts";
import { COMMANDS, OPTIONS, optionsOf } from "../src/cli/option_table.ts";
import { completionScript, type Shell } from "../src/cli/commands/completions.ts";
import { UsageError } from "../src/errors.ts";
import { listDir, REPO_ROOT, runCli } from "./helpers.ts";

function run(args: string[]): Extract<ParsedCommandLine, { action: "run" }> {
  const parsed = parseCommandLine(args);
  assert.equal(parsed.action, "run");
  return parsed as Extract<ParsedCommandLine, { action: "run" }>;
}

function usageError(args: string[], message: RegExp): void {
  assert.throws(() => parseCommandLine(args), (error: unknown) => {
    assert.ok(error instanceof UsageError, `${args.join(" ")}: ${error}`);
    assert.match(error.message, message);
    assert.doesNotMatch(error.message, /\n/, "one line");
    return true;
  });
}

Deno.test("parseCommandLine() reads long, short, stacked and attached forms", () => {
  const parsed = run([
    "-vvv",
    "--output-file=r.json",
    "-s0,1",
    "profile",
    "-n3",
    "--warmup",
    "2",
    "--command",
    "true",
    "--command=false",
    "--no-phase-channel",
  ]);
  assert.equal(parsed.command, "profile");
  assert.equal(parsed.global.verbose, 3);
  assert.equal(parsed.global.outputFile, "r.json");
  assert.deepEqual(parsed.global.sockets, [0, 1]);
  assert.equal(parsed.options.iterations, 3);
  assert.equal(parsed.options.warmup, 2);
  assert.deepEqual(parsed.options.command, ["true", "false"]);
  assert.equal(parsed.options.phaseChannel, false);
  assert.equal(parsed.options.tokenPattern, "__[A-Z0-9_]+__", "default applied");
  assert.deepEqual(parsed.operands, []);
});

Deno.test("parseCommandLine() passes everything after the program (or --) to it", () => {
  const afterDashes = run(["profile", "-n", "2", "--", "sh", "-c", "exit 3", "-v"]);
  assert.deepEqual(afterDashes.operands, ["sh", "-c", "exit 3", "-v"]);
  assert.equal(afterDashes.global.verbose, 0);
  const withoutDashes = run(["profile", "sh", "-c", "--json"]);
  assert.deepEqual(withoutDashes.operands, ["sh", "-c", "--json"]);
  assert.equal(withoutDashes.global.json, undefined);
  // A value flag takes the next argument whatever it looks like.
  assert.equal(run(["profile", "--token-pattern", "--", "--", "true"]).options.tokenPattern, "--");
  // A -- before the command ends nothing: the command's flags still follow.
  assert.equal(run(["--", "profile", "-n", "2", "--", "true"]).options.iterations, 2);
  // compare takes flags between its files.
  const compare = run(["compare", "a.json", "--alpha", "0.01", "b.json"]);
  assert.deepEqual(compare.operands, ["a.json", "b.json"]);
  assert.equal(compare.options.alpha, 0.01);
});

Deno.test("global flags are accepted after the command; the command's -o wins", () => {
  const profile = run(["profile", "--json", "--perf", "-v", "-o", "out.txt", "--", "true"]);
  assert.equal(profile.global.json, true);
  assert.equal(profile.global.perf, true);
  assert.equal(profile.global.verbose, 1);
  assert.equal(profile.options.stdoutFile, "out.txt");
  assert.equal(profile.global.outputFile, undefined);
  const results = run(["profile", "--output-file", "r.json", "--", "true"]);
  assert.equal(results.global.outputFile, "r.json");
  const before = run(["-o", "r.json", "profile", "--", "true"]);
  assert.equal(before.global.outputFile, "r.json");
  assert.equal(before.options.stdoutFile, undefined);
  assert.equal(run(["list-sensors", "--perf"]).global.perf, true);
  assert.equal(run(["doctor", "-o", "d.json"]).global.outputFile, "d.json");
  assert.equal(run(["compare", "--csv", "a.json", "b.json"]).global.csv, true);
});

Deno.test("profile -o with a results-like name warns where results go", () => {
  for (const name of ["r.json", "R.CSV", "-"]) {
    const [warning] = run(["profile", "-o", name, "--", "true"]).warnings;
    assert.match(warning!, /this is the program's output; results go to the global -o/);
    assert.ok(warning!.includes(name));
  }
  assert.deepEqual(run(["profile", "-o", "out.txt", "--", "true"]).warnings, []);
  // Written in full, the user meant the program's output.
  assert.deepEqual(run(["profile", "--stdout-file", "out.json", "--", "true"]).warnings, []);
});

Deno.test("help, version and no arguments", () => {
  assert.deepEqual(parseCommandLine([]), { action: "help" });
  assert.deepEqual(parseCommandLine(["--help"]), { action: "help", command: undefined });
  assert.deepEqual(parseCommandLine(["help"]), { action: "help" });
  assert.deepEqual(parseCommandLine(["help", "help"]), { action: "help" });
  assert.deepEqual(parseCommandLine(["help", "compare"]), { action: "help", command: "compare" });
  assert.deepEqual(parseCommandLine(["profile", "-h"]), { action: "help", command: "profile" });
  assert.deepEqual(parseCommandLine(["-V"]), { action: "version" });
  assert.deepEqual(parseCommandLine(["doctor", "--version"]), { action: "version" });
  // After the program, --help is the program's.
  assert.deepEqual(run(["profile", "--", "ls", "--help"]).operands, ["ls", "--help"]);
});

Deno.test("usage errors are one line that says what and where", () => {
  usageError(["--bogus"], /^unknown option '--bogus'$/);
  usageError(["--jsno", "doctor"], /unknown option '--jsno' \(did you mean --json\?\)/);
  usageError(["profile", "--iteration", "3"], /did you mean --iterations\?/);
  usageError(
    ["-n", "3", "profile", "--", "true"],
    /'-n' before the command: it belongs to 'profile', after it \(joule-profiler profile -n …\)/,
  );
  usageError(
    ["list-sensors", "--iterations", "3"],
    /'--iterations' for 'list-sensors': it belongs to 'profile'/,
  );
  usageError(["doctor", "--alpha", "0.1"], /'--alpha' for 'doctor': it belongs to 'compare'/);
  usageError(
    ["--export-markdown", "x.md", "profile"],
    /it belongs to 'profile' and 'compare'/,
  );
  usageError(["profile", "--token-pattern"], /option '--token-pattern <regex>' argument missing/);
  usageError(["--rapl-backend", "msr", "doctor"], /argument 'msr' is invalid.*perf, powercap/);
  usageError(["--json", "--csv", "doctor"], /'--csv' cannot be used with option '--json'/);
  usageError(["--json=yes", "doctor"], /'--json' does not take a value/);
  usageError(["frobnicate"], /unknown command 'frobnicate'/);
  usageError(["profil"], /unknown command 'profil' \(did you mean profile\?\)/);
  usageError(["help", "nope"], /unknown command 'nope'/);
  usageError(["--json"], /^missing command: profile, compare, .*doctor.* or completions /);
  usageError(["doctor", "now"], /doctor takes no arguments, got 'now'/);
  usageError(["compare"], /missing required argument 'files'/);
  usageError(["completions"], /missing required argument 'shell'/);
  usageError(["completions", "tcsh"], /unknown shell 'tcsh' \(choices: bash, zsh, fish\)/);
  usageError(["completions", "bash", "zsh"], /completions takes one shell/);
  usageError(["profile", "-n", "0", "--", "true"], /--iterations must be a positive integer/);
});

Deno.test("the table is consistent: one meaning per name in every scope", () => {
  const globals = optionsOf("global");
  for (const command of COMMANDS) {
    const own = optionsOf(command.name);
    const longs = [...own, ...globals].map((option) => option.long);
    assert.equal(new Set(longs).size, longs.length, `${command.name}: a long name twice`);
    for (const option of own) {
      const clash = globals.find((global) =>
        option.short !== undefined && global.short === option.short
      );
      // The one deliberate clash: profile -o is the program's stdout, as in the reference CLI.
      if (clash !== undefined) {
        assert.deepEqual([command.name, option.short], ["profile", "o"], `${option.long}`);
      }
    }
  }
  for (const option of OPTIONS) {
    assert.match(option.long, /^[a-z][a-z0-9-]*$/);
    assert.ok(option.short === undefined || /^[A-Za-z]$/.test(option.short));
    assert.ok(!option.description.endsWith("."), `${option.long}: no final period`);
    assert.ok(!(option.repeatable && option.value === undefined), `${option.long}: repeatable`);
  }
});

Deno.test("help is rendered from the table: every flag, wrapped at the width", () => {
  for (const command of [undefined, ...COMMANDS.map((c) => c.name)]) {
    const text = helpText(command);
    const scope = command ?? "global";
    for (const option of optionsOf(scope)) {
      assert.ok(text.includes(`--${option.long}`), `${scope} help lists --${option.long}`);
    }
    for (const line of text.split("\n")) {
      // Indented example lines may run long; descriptions wrap.
      if (!line.startsWith("  bash:") && !line.startsWith("  fish:")) {
        assert.ok(line.length <= 80, `${scope}: '${line}'`);
      }
    }
  }
  const narrow = helpText("profile", 60);
  assert.ok(narrow.split("\n").some((line) => line.length > 60), "no wrap below 40 columns");
  const wide = helpText(undefined, 200);
  assert.ok(wide.includes("more diagnostics on stderr (-v info, -vv debug, -vvv trace and stack"));
  assert.match(helpText("profile"), /-o is --stdout-file \(the program's output\)/);
});

Deno.test("every flag of every --help is in the README", async () => {
  const readme = await Deno.readTextFile(`${REPO_ROOT}README.md`);
  const missing: string[] = [];
  for (const command of [undefined, ...COMMANDS.map((c) => c.name)]) {
    const out = await runCli(command === undefined ? ["--help"] : [command, "--help"]);
    assert.equal(out.code, 0);
    for (const line of out.stdoutText.split("\n")) {
      const term = /^ {2}(-\S.*?)(?: {2,}|$)/.exec(line)?.[1];
      if (term === undefined) continue;
      for (const flag of term.replace(/<[^>]*>/g, "").match(/--?[A-Za-z][\w-]*/g) ?? []) {
        const found = flag.startsWith("--") ? readme.includes(flag) : readme.includes(`\`${flag}`);
        if (!found) missing.push(`${command ?? "global"}: ${flag}`);
      }
    }
    if (command !== undefined) {
      assert.ok(readme.includes(`joule-profiler ${command}`), `README shows ${command}`);
    }
  }
  assert.deepEqual(missing, [], "flags in --help but not in README.md");
});

Deno.test("CLI: no arguments prints the help and exits 0", async () => {
  const out = await runCli([]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stderr, "");
  assert.match(out.stdoutText, /^Usage: joule-profiler \[options\] \[command\]/);
  assert.equal(out.stdoutText, (await runCli(["--help"])).stdoutText);
});

/** An environment without RAPL, so `profile` runs anywhere. */
async function noRaplEnv(): Promise<Record<string, string>> {
  const empty = await Deno.makeTempDir();
  return { JOULE_PROFILER_EVENT_SOURCE_PATH: empty, JOULE_PROFILER_RAPL_PATH: empty };
}

Deno.test("CLI: global flags after the subcommand work end to end", async () => {
  const env = await noRaplEnv();
  const json = await runCli(
    ["profile", "--json", "--output-file", "-", "--", "sh", "-c", "echo __A__"],
    { env },
  );
  assert.equal(json.code, 0, json.stderr);
  const document = JSON.parse(json.stdoutText);
  assert.equal(document.exit_code, 0);
  assert.equal(document.token_pattern, "__[A-Z0-9_]+__");
  const sensors = await runCli(["list-sensors", "--perf", "--json"], { env });
  assert.equal(sensors.code, 0, sensors.stderr);
  const names = JSON.parse(sensors.stdoutText).map((sensor: { name: string }) => sensor.name);
  assert.ok(names.includes("TASK_CLOCK"), names.join(","));
});

Deno.test("CLI: profile -o r.json warns, and the file holds the program's output", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(["profile", "-o", "r.json", "--", "echo", "hello"], {
    cwd,
    env: await noRaplEnv(),
  });
  assert.equal(out.code, 0, out.stderr);
  assert.match(
    out.stderr,
    /^warning: profile -o 'r\.json': this is the program's output; results go to the global -o/m,
  );
  assert.equal(await Deno.readTextFile(`${cwd}/r.json`), "hello\n");
});

Deno.test("CLI: a flag of another command is refused before anything runs", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(["-n", "3", "profile", "--", "touch", "spawned"], { cwd });
  assert.equal(out.code, 2);
  assert.equal(
    out.stderr,
    "error: unknown option '-n' before the command: it belongs to 'profile', after it " +
      "(joule-profiler profile -n …)\n",
  );
  assert.deepEqual(await listDir(cwd), []);
});

// ---- Shell completions, run in the real shells. ----

function has(program: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${program}`] }).outputSync().success;
  } catch {
    return false;
  }
}

/** Locally a shell may be missing (skipped, said why); under CI (.ci/run installs it) it fails. */
function needs(shell: string): boolean {
  const missing = !has(shell) && Deno.env.get("CI") === undefined;
  if (missing) console.log(`skipping the ${shell} completion test: ${shell} is not installed`);
  return missing;
}

async function completionFixture(shell: Shell): Promise<{ dir: string; script: string }> {
  const dir = await Deno.makeTempDir({ prefix: "jp-completion-" });
  await Deno.writeTextFile(`${dir}/a.json`, "{}");
  await Deno.writeTextFile(`${dir}/b.json`, "{}");
  await Deno.writeTextFile(`${dir}/notes.txt`, "");
  await Deno.mkdir(`${dir}/sub`);
  const out = await runCli(["completions", shell]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdoutText, completionScript(shell));
  await Deno.writeTextFile(`${dir}/script`, out.stdoutText);
  return { dir, script: `${dir}/script` };
}

async function output(program: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(program, { args, cwd, env: { HOME: cwd } }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, stderr);
  assert.equal(stderr, "", "the script loads without a message");
  return new TextDecoder().decode(out.stdout);
}

/** Bash completion on a partial command line: `words` with the cursor in the last one. */
async function bashComplete(script: string, dir: string, words: string[]): Promise<string[]> {
  const program = 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); ' +
    "_joule_profiler; printf '%s\\n' \"${COMPREPLY[@]}\"";
  const text = await output("bash", ["-c", program, "bash", script, ...words], dir);
  return [...new Set(text.split("\n").filter((line) => line !== ""))].sort();
}

Deno.test({
  name: "completions bash: completes commands, flags, values, files and the program",
  ignore: needs("bash"),
  fn: async () => {
    const { dir, script } = await completionFixture("bash");
    if (has("shellcheck")) {
      const lint = await new Deno.Command("shellcheck", { args: ["-s", "bash", script] }).output();
      assert.ok(lint.success, new TextDecoder().decode(lint.stdout));
    }
    const complete = (...words: string[]) =>
      bashComplete(script, dir, ["joule-profiler", ...words]);
    assert.deepEqual(await complete(""), [...COMMANDS.map((c) => c.name), "help"].sort());
    assert.deepEqual(await complete("pro"), ["profile"]);
    assert.deepEqual(await complete("--js"), ["--json"]);
    assert.deepEqual(await complete("profile", "--it"), ["--iterations"]);
    assert.deepEqual(await complete("profile", "--sam"), ["--sample-interval", "--samples-csv"]);
    // Global flags after the command, beside its own.
    assert.deepEqual(await complete("list-sensors", "--per"), ["--perf", "--perf-events"]);
    assert.deepEqual(await complete("-o", "x", "profile", "--ver"), ["--verbose", "--version"]);
    assert.deepEqual(await complete("--rapl-backend", ""), ["perf", "powercap"]);
    assert.deepEqual(await complete("--rapl-backend", "=", "po"), ["powercap"]);
    assert.deepEqual(await complete("--rapl-path", ""), ["sub"]);
    assert.deepEqual(await complete("profile", "-o", "a"), ["a.json"]);
    assert.deepEqual(await complete("--output-file", "n"), ["notes.txt"]);
    assert.deepEqual(await complete("compare", "a.json", ""), [
      "a.json",
      "b.json",
      "notes.txt",
      "script",
      "sub",
    ]);
    assert.deepEqual(await complete("completions", ""), ["bash", "fish", "zsh"]);
    assert.deepEqual(await complete("help", "list"), ["list-sensors"]);
    // The program after profile (a value flag's value is skipped) and its files.
    assert.deepEqual(await complete("profile", "--", "trunc"), ["truncate"]);
    assert.deepEqual(await complete("-s", "0", "profile", "-n", "3", "trunc"), ["truncate"]);
    assert.deepEqual(await complete("profile", "--", "cat", "no"), ["notes.txt"]);
    // A value that takes no completion offers nothing.
    assert.deepEqual(await complete("profile", "-n", ""), []);
  },
});

const BASH_COMPLETION = "/usr/share/bash-completion/bash_completion";

function bashCompletionMissing(): boolean {
  try {
    Deno.statSync(BASH_COMPLETION);
    return false;
  } catch {
    const skip = Deno.env.get("CI") === undefined;
    if (skip) console.log("skipping the bash-completion test: bash-completion is not installed");
    return skip;
  }
}

Deno.test({
  name: "completions bash: the program after profile gets its own completion (bash-completion)",
  ignore: bashCompletionMissing(),
  fn: async () => {
    const { dir, script } = await completionFixture("bash");
    const complete = async (...words: string[]) => {
      const program = `source ${BASH_COMPLETION}; source "$1"; shift; COMP_WORDS=("$@"); ` +
        'COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _joule_profiler; ' +
        "printf '%s\\n' \"${COMPREPLY[@]}\"";
      const out = await new Deno.Command("bash", {
        args: ["-c", program, "bash", script, "joule-profiler", ...words],
        cwd: dir,
      }).output();
      return new TextDecoder().decode(out.stdout).split("\n").filter((line) => line !== "");
    };
    // ls's own options, from ls's completion, after the profiler's flags and --.
    assert.ok((await complete("-v", "profile", "-n", "2", "--", "ls", "--al")).includes("--all"));
    assert.deepEqual(await complete("profile", "ls", "no"), ["notes.txt"]);
  },
});

Deno.test({
  name: "completions zsh: completes in an interactive zsh (zpty)",
  ignore: needs("zsh"),
  fn: async () => {
    const { dir, script } = await completionFixture("zsh");
    // Waits for the prompt, types the line, a Tab and a marker in an interactive zsh, and reads
    // until the marker is echoed: zle finishes the completion before it reads the marker. The
    // prompt is spelled \x52EADY in the command so that its echo does not look like the prompt.
    const driver = `
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "autoload -U compinit; compinit -u -D; source ${script}; PS1=\\$'\\\\x52EADY> '"
zpty -r z ready '*READY> '
zpty -w -n z "$1"$'\\t'ENDMARK
zpty -r z out '*ENDMARK*'
zpty -d z
print -r -- "\${out##*READY> }"`;
    const complete = async (line: string) =>
      (await output("timeout", ["20", "zsh", "-f", "-c", driver, "zsh", line], dir))
        // deno-lint-ignore no-control-regex -- terminal escapes
        .replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, "")
        // deno-lint-ignore no-control-regex -- a character and the backspace that erased it
        .replace(/.\x08/g, "")
        // deno-lint-ignore no-control-regex -- carriage returns, bells
        .replace(/[\x00-\x1f]/g, "")
        .replace(/ ?ENDMARK$/, "");
    assert.equal(await complete("joule-profiler pro"), "joule-profiler profile");
    assert.equal(
      await complete("joule-profiler profile --itera"),
      "joule-profiler profile --iterations=",
    );
    assert.equal(
      await complete("joule-profiler --rapl-backend powe"),
      "joule-profiler --rapl-backend powercap",
    );
    assert.equal(
      await complete("joule-profiler profile -o a.j"),
      "joule-profiler profile -o a.json",
    );
    assert.equal(
      await complete("joule-profiler completions fi"),
      "joule-profiler completions fish",
    );
    assert.equal(
      await complete("joule-profiler list-sensors --perf-e"),
      "joule-profiler list-sensors --perf-events=",
    );
    assert.equal(
      await complete("joule-profiler profile -- trunc"),
      "joule-profiler profile -- truncate",
    );
    assert.equal(
      await complete("joule-profiler profile -- cat no"),
      "joule-profiler profile -- cat notes.txt",
    );
  },
});

Deno.test({
  name: "completions fish: complete -C on partial command lines",
  ignore: needs("fish"),
  fn: async () => {
    const { dir, script } = await completionFixture("fish");
    const complete = async (line: string) => {
      const text = await output(
        "fish",
        ["--no-config", "-c", `source ${script}; complete -C $argv[1]`, line],
        dir,
      );
      return text.split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0]!).sort();
    };
    assert.deepEqual(await complete("joule-profiler pro"), ["profile"]);
    assert.deepEqual(await complete("joule-profiler profile --it"), ["--iterations"]);
    assert.deepEqual(await complete("joule-profiler --rapl-backend "), ["perf", "powercap"]);
    assert.deepEqual(await complete("joule-profiler profile -o a"), ["a.json"]);
    assert.deepEqual(await complete("joule-profiler completions "), ["bash", "fish", "zsh"]);
    assert.deepEqual(await complete("joule-profiler list-sensors --per"), [
      "--perf",
      "--perf-events",
    ]);
    assert.deepEqual(await complete("joule-profiler -o x profile -n 3 trunc"), ["truncate"]);
    assert.ok((await complete("joule-profiler compare ")).includes("b.json"));
  },
});

Deno.test("CLI: diagnostics are coloured only when FORCE_COLOR asks for it off a terminal", async () => {
  const forced = await runCli(["frobnicate"], { env: { FORCE_COLOR: "1" } });
  assert.equal(forced.code, 2);
  assert.ok(forced.stderr.startsWith("\x1b[31merror\x1b[39m: unknown command"), forced.stderr);
  const plain = await runCli(["frobnicate"], { env: { FORCE_COLOR: "0" } });
  assert.ok(plain.stderr.startsWith("error: unknown command"), plain.stderr);
});
