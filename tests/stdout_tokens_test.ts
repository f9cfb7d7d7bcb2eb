/**
 * `profile --no-stdout-tokens`: the profiler never reads the program's
 * stdout. The program is given the destination itself (the profiler's
 * stdout or stderr, the `--stdout-file` file, /dev/null), which it reports
 * by comparing its own descriptor 1 with its parent's (the profiler's);
 * phases come from the phase channel alone.
 */
import assert from "node:assert/strict";
import { JouleProfiler } from "../src/profiler.ts";
import { DiscardSink, WriterSink } from "../src/process/byte_sink.ts";
import { UsageError } from "../src/errors.ts";
import { CLI_ENTRY, runCli } from "./helpers.ts";

/**
 * Prints where its stdout is (`stdout-is <target>` on stderr, its parent's
 * stdout and stderr beside it), a stdout token the profiler must not see, a
 * channel token, and a line of output.
 */
const PROGRAM = [
  'echo "stdout-is $(readlink /proc/$$/fd/1) parent-stdout $(readlink /proc/$PPID/fd/1) ' +
  'parent-stderr $(readlink /proc/$PPID/fd/2)" >&2',
  "echo __ON_STDOUT__",
  'echo "from channel" >&"$JOULE_PROFILER_PHASE_FD"',
  "echo program-output",
].join("; ");

interface Where {
  stdout: string;
  parentStdout: string;
  parentStderr: string;
}

function whereFrom(stderr: string): Where[] {
  return [...stderr.matchAll(/^stdout-is (\S+) parent-stdout (\S+) parent-stderr (\S+)$/gm)].map(
    (match) => ({ stdout: match[1]!, parentStdout: match[2]!, parentStderr: match[3]! }),
  );
}

interface JsonPhase {
  start_token: string;
  end_token: string;
  end_token_line?: number;
}

/**
 * `joule-profiler --json -o <file> profile <args…>`: the CLI's output, the
 * results document and its phases' end tokens.
 */
async function profiled(args: string[], options: Parameters<typeof runCli>[1] = {}) {
  const dir = await Deno.makeTempDir();
  const out = await runCli(["--json", "-o", `${dir}/r.json`, "profile", ...args], options);
  assert.equal(out.code, 0, out.stderr);
  const result = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
  // One run's layout; several runs' (-n) has no `phases` list.
  const ends = ((result.phases ?? []) as JsonPhase[]).map((phase) => phase.end_token);
  return { out, result, ends, dir };
}

Deno.test("--no-stdout-tokens: the program writes the profiler's stdout itself; channel tokens only", async () => {
  const { out, result, ends } = await profiled(["--no-stdout-tokens", "--", "bash", "-c", PROGRAM]);
  const [where] = whereFrom(out.stderr);
  assert.ok(where, out.stderr);
  assert.equal(where.stdout, where.parentStdout, "the program's stdout is the profiler's own");
  assert.match(out.stdoutText, /^__ON_STDOUT__\nprogram-output\n$/);
  assert.deepEqual(ends, ["from channel", "END"]);
  assert.equal((result.phases as JsonPhase[])[0]!.end_token_line, undefined);
  assert.equal(result.token_pattern, "", "no pattern was looked for");
});

Deno.test("without the flag the same program's stdout is a pipe the profiler reads", async () => {
  const { out, ends } = await profiled(["--", "bash", "-c", PROGRAM]);
  const [where] = whereFrom(out.stderr);
  assert.ok(where, out.stderr);
  assert.notEqual(where.stdout, where.parentStdout);
  assert.match(where.stdout, /^pipe:/);
  assert.deepEqual(ends, ["__ON_STDOUT__", "from channel", "END"]);
});

Deno.test("--no-stdout-tokens with results on stdout: the program writes to the profiler's stderr", async () => {
  const out = await runCli([
    "--json",
    "-o",
    "-",
    "profile",
    "--no-stdout-tokens",
    "--",
    "bash",
    "-c",
    PROGRAM,
  ]);
  assert.equal(out.code, 0, out.stderr);
  const [where] = whereFrom(out.stderr);
  assert.ok(where, out.stderr);
  assert.equal(where.stdout, where.parentStderr);
  assert.match(out.stderr, /^program-output$/m);
  // stdout holds the results alone.
  const phases: JsonPhase[] = JSON.parse(out.stdoutText).phases;
  assert.deepEqual(phases.map((phase) => phase.end_token), ["from channel", "END"]);
});

Deno.test("--no-stdout-tokens --stdout-file: the program writes the file the profiler opened", async () => {
  const file = `${await Deno.makeTempDir()}/program.out`;
  const { out } = await profiled([
    "--no-stdout-tokens",
    "--stdout-file",
    file,
    "--",
    "bash",
    "-c",
    PROGRAM,
  ]);
  const [where] = whereFrom(out.stderr);
  assert.ok(where, out.stderr);
  assert.equal(where.stdout, file);
  assert.equal(await Deno.readTextFile(file), "__ON_STDOUT__\nprogram-output\n");
  assert.equal(out.stdoutText, "");
});

Deno.test("--no-stdout-tokens with repeated runs: their stdout goes to /dev/null, as the echo would", async () => {
  const { out } = await profiled([
    "-q",
    "-n",
    "2",
    "--no-stdout-tokens",
    "--",
    "bash",
    "-c",
    PROGRAM,
  ]);
  assert.deepEqual(whereFrom(out.stderr).map((where) => where.stdout), ["/dev/null", "/dev/null"]);
  assert.equal(out.stdoutText, "");
});

Deno.test("--no-stdout-tokens: END is the exit even when a leftover process holds the output", async () => {
  const { result } = await profiled([
    "--no-stdout-tokens",
    "--kill-descendants",
    "--",
    "bash",
    "-c",
    "sleep 5 & echo started",
  ]);
  assert.ok(result.duration_ms < 1000, `END waited for the leftover: ${result.duration_ms} ms`);
});

Deno.test("--no-stdout-tokens is refused with --token-pattern and with -p/-a (exit 2, one line)", async () => {
  for (
    const [args, message] of [
      [["profile", "--no-stdout-tokens", "--token-pattern", "X", "--", "true"], /--token-pattern/],
      [
        ["profile", "--token-pattern", "X", "--no-stdout-tokens", "--", "true"],
        /--no-stdout-tokens/,
      ],
      [["profile", "-a", "--duration", "0.1", "--no-stdout-tokens"], /goes with a command/],
    ] as const
  ) {
    const out = await runCli([...args]);
    assert.equal(out.code, 2, out.stderr);
    assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
    assert.match(out.stderr, message);
  }
});

Deno.test("library: stdoutTokens false hands over DiscardSink as /dev/null and refuses a sink without a descriptor", async () => {
  const profiler = new JouleProfiler();
  const discarded = await profiler.profile({
    command: ["bash", "-c", 'readlink /proc/$$/fd/1 > "$JOULE_PROFILER_PHASE_FIFO"'],
    stdout: new DiscardSink(),
    stdoutTokens: false,
  });
  assert.deepEqual(discarded.runs[0]!.phases.map((phase) => phase.name), [
    "START -> /dev/null",
    "/dev/null -> END",
  ]);
  const chunks: Uint8Array[] = [];
  const noDescriptor = new WriterSink({
    writeSync: (bytes) => {
      chunks.push(bytes.slice());
      return bytes.length;
    },
  });
  await assert.rejects(
    profiler.profile({ command: ["true"], stdout: noDescriptor, stdoutTokens: false }),
    (error) => error instanceof UsageError && /stdoutTokens: false/.test(error.message),
  );
  assert.equal(chunks.length, 0);
});

Deno.test({
  name:
    "under sudo, --no-stdout-tokens --stdout-file: the program, as the invoking user, writes the file",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    await Deno.chmod(dir, 0o777);
    const file = `${dir}/program.out`;
    const { ends } = await profiled([
      "--no-stdout-tokens",
      "--stdout-file",
      file,
      "--",
      "bash",
      "-c",
      'echo "uid $(id -u)"; echo done > "$JOULE_PROFILER_PHASE_FIFO"',
    ], { cwd: dir, env: { SUDO_UID: "65534", SUDO_GID: "65534", SUDO_USER: "nobody" } });
    assert.equal(await Deno.readTextFile(file), "uid 65534\n");
    assert.equal((await Deno.stat(file)).uid, 65534, "a new file under sudo is the user's");
    assert.deepEqual(ends, ["done", "END"]);
  },
});

Deno.test("bulk stdout with channel tokens only: the profiler suggests --no-stdout-tokens, once", async () => {
  const bulk = "yes 0123456789012345678901234567890123456789 | head -c 70000000";
  const channelOnly = await runCli([
    "profile",
    "-n",
    "2",
    "--stdout-file",
    "/dev/null",
    "--",
    "bash",
    "-c",
    `${bulk}; echo mark > "$JOULE_PROFILER_PHASE_FIFO"`,
  ]);
  assert.equal(channelOnly.code, 0, channelOnly.stderr);
  const notes = channelOnly.stderr.match(/^note: the program wrote 67 MiB on stdout .*$/gm) ?? [];
  assert.equal(notes.length, 1, channelOnly.stderr);
  assert.match(notes[0]!, /--no-stdout-tokens/);
  const withStdoutToken = await runCli([
    "profile",
    "--stdout-file",
    "/dev/null",
    "--",
    "bash",
    "-c",
    `echo __HALF__; ${bulk}; echo mark > "$JOULE_PROFILER_PHASE_FIFO"`,
  ]);
  assert.equal(withStdoutToken.code, 0, withStdoutToken.stderr);
  assert.doesNotMatch(withStdoutToken.stderr, /^note:/m);
});

/** Runs `profile --no-stdout-tokens --stdout-file <target>` with a socket from python3 as `fd`. */
async function withSocket(target: (fd: number) => string, asStdout: boolean) {
  const script = `
import os, socket, subprocess, sys, json
a, b = socket.socketpair()
os.set_inheritable(b.fileno(), True)
args = [sys.argv[1], "run", "-A", sys.argv[2], "--json", "-o", "/dev/null", "profile",
        "--no-stdout-tokens", "--stdout-file", sys.argv[3].replace("FD", str(b.fileno())),
        "--", "sh", "-c", "echo through-the-socket"]
p = subprocess.Popen(args, pass_fds=(b.fileno(),), stdout=b.fileno() if sys.argv[4] == "1" else None,
                     stderr=subprocess.PIPE, text=True)
b.close()
err = p.communicate()[1]
a.settimeout(5)
got = a.recv(1000).decode()
print(json.dumps({"code": p.returncode, "stderr": err, "socket": got}))
`;
  const output = await new Deno.Command("python3", {
    args: ["-c", script, Deno.execPath(), `${CLI_ENTRY}`, target(0), asStdout ? "1" : "0"],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return JSON.parse(new TextDecoder().decode(output.stdout)) as {
    code: number;
    stderr: string;
    socket: string;
  };
}

Deno.test("--no-stdout-tokens --stdout-file /dev/stdout on a socket: the program inherits it", async () => {
  const result = await withSocket(() => "/dev/stdout", true);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.socket, "through-the-socket\n");
});

Deno.test("--no-stdout-tokens --stdout-file on another socket: refused, exit 2, one line", async () => {
  const result = await withSocket(() => "/dev/fd/FD", false);
  assert.equal(result.code, 2, result.stderr);
  const errors = result.stderr.split("\n").filter((line) => line.startsWith("error:"));
  assert.equal(errors.length, 1, result.stderr);
  assert.match(errors[0]!, /socket/);
  assert.equal(result.socket, "", "nothing ran");
});
