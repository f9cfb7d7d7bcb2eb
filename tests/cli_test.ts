import assert from "node:assert/strict";
import { listDir, runCli } from "./helpers.ts";
import denoConfig from "../deno.json" with { type: "json" };

Deno.test("--version prints the version from deno.json", async () => {
  const out = await runCli(["--version"]);
  assert.equal(out.code, 0);
  assert.equal(out.stdoutText.trim(), denoConfig.version);
  for (const args of [["-V"], ["-v", "--version"], ["profile", "--version"]]) {
    const other = await runCli(args);
    assert.equal(other.code, 0, args.join(" "));
    assert.equal(other.stdoutText.trim(), denoConfig.version, args.join(" "));
  }
});

Deno.test("--version or --help alone is answered before the parser loads", async () => {
  // The runtime's debug log names every module it fetches: what each start pays for.
  const fetchedBy = async (flag: string) => {
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-L", "debug", "-A", new URL("../main.ts", import.meta.url).pathname, flag],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(run.success, flag);
    return [
      ...new TextDecoder().decode(run.stderr).matchAll(/fetch_no_follow - specifier: (\S+)/g),
    ].map((match) => match[1]!);
  };
  const loaded = (fetched: string[], file: string) =>
    fetched.some((specifier) => specifier.endsWith(file));
  const version = await fetchedBy("-V");
  assert.ok(loaded(version, "/src/cli/builtin_options.ts"));
  assert.ok(!loaded(version, "/src/cli/option_table.ts"), `option table in ${version}`);
  assert.ok(!loaded(version, "/src/cli/arg_parser.ts"), `parser in ${version}`);
  const help = await fetchedBy("--help");
  assert.ok(loaded(help, "/src/cli/help_text.ts"));
  assert.ok(!loaded(help, "/src/cli/arg_parser.ts"), `parser in ${help}`);
  // The parser's answer is the same text.
  const [short, parsed, none] = await Promise.all([
    runCli(["-h"]),
    runCli(["-v", "--help"]),
    runCli([]),
  ]);
  assert.equal(short.stdoutText, parsed.stdoutText);
  assert.equal(none.stdoutText, parsed.stdoutText);
  assert.match(parsed.stdoutText, /^Usage: joule-profiler \[options\] \[command\]/);
});

Deno.test("--help lists the subcommands and the global flags", async () => {
  const out = await runCli(["--help"]);
  assert.equal(out.code, 0);
  for (const word of ["profile", "list-sensors", "--json", "--csv", "--output-file", "-v"]) {
    assert.ok(out.stdoutText.includes(word), `help mentions ${word}`);
  }
  const profileHelp = await runCli(["profile", "--help"]);
  for (const word of ["--token-pattern", "--stdout-file", "--iterations"]) {
    assert.ok(profileHelp.stdoutText.includes(word), `profile help mentions ${word}`);
  }
});

/** Each bad input: one line on stderr, exit code, nothing spawned, no file written. */
const BAD_INPUTS: { name: string; args: string[]; code: number; message: RegExp }[] = [
  {
    name: "an invalid regex",
    args: ["profile", "--token-pattern", "([A-Z]", "--", "touch", "spawned"],
    code: 2,
    message: /invalid --token-pattern '\(\[A-Z\]': .*/,
  },
  {
    name: "--json with --csv",
    args: ["--json", "--csv", "profile", "--", "touch", "spawned"],
    code: 2,
    message: /--json.*--csv|--csv.*--json/,
  },
  {
    name: "no command after --",
    args: ["profile", "--"],
    code: 2,
    message: /missing command/,
  },
  {
    name: "no command at all",
    args: ["profile"],
    code: 2,
    message: /missing command/,
  },
  {
    name: "an unknown global flag",
    args: ["--bogus", "profile", "--", "touch", "spawned"],
    code: 2,
    message: /unknown option '--bogus'/,
  },
  {
    name: "an unknown profile flag",
    args: ["profile", "--bogus", "--", "touch", "spawned"],
    code: 2,
    message: /unknown option '--bogus'/,
  },
  {
    name: "-n 0",
    args: ["profile", "-n", "0", "--", "touch", "spawned"],
    code: 2,
    message: /--iterations must be a positive integer, got '0'/,
  },
  {
    name: "non-numeric -n",
    args: ["profile", "-n", "ten", "--", "touch", "spawned"],
    code: 2,
    message: /--iterations must be a positive integer, got 'ten'/,
  },
  {
    name: "a missing output directory",
    args: ["--json", "-o", "nowhere/out.json", "profile", "--", "touch", "spawned"],
    code: 2,
    message: /cannot write results to 'nowhere\/out.json': directory '.*nowhere' does not exist/,
  },
  {
    name: "a missing --stdout-file directory",
    args: ["profile", "--stdout-file", "nowhere/out.txt", "--", "touch", "spawned"],
    code: 2,
    message: /cannot write --stdout-file 'nowhere\/out.txt'/,
  },
  {
    name: "an unknown command",
    args: ["profile", "--", "no-such-program-xyz"],
    code: 127,
    message: /no-such-program-xyz: command not found on PATH/,
  },
  {
    name: "a command that is not executable",
    args: ["profile", "--", "./not-executable"],
    code: 126,
    message: /\.\/not-executable: permission denied/,
  },
  {
    name: "an unknown subcommand",
    args: ["frobnicate"],
    code: 2,
    message: /unknown command 'frobnicate'/,
  },
];

for (const bad of BAD_INPUTS) {
  Deno.test(`bad input: ${bad.name} gets one clear line, exit ${bad.code}, nothing run`, async () => {
    const cwd = await Deno.makeTempDir();
    await Deno.writeTextFile(`${cwd}/not-executable`, "#!/bin/sh\ntouch spawned\n", {
      mode: 0o644,
    });
    const out = await runCli(bad.args, { cwd });
    assert.equal(out.code, bad.code, out.stderr);
    const lines = out.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `one line, got: ${out.stderr}`);
    assert.match(lines[0]!, /^error: /);
    assert.match(lines[0]!, bad.message);
    assert.equal(out.stdoutText, "");
    assert.deepEqual(await listDir(cwd), ["not-executable"], "nothing spawned, no file written");
  });
}
