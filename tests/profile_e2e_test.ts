import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { CLI_ENTRY, compileC, listDir, readDefaultJson, runCli, spawnCli } from "./helpers.ts";

interface JsonPhase {
  index: number;
  start_token: string;
  end_token: string;
  start_token_line?: number;
  end_token_line?: number;
  duration_ms: number;
  start_ns: number;
  end_ns: number;
}

Deno.test("profile passes stdout through byte for byte (binary, NUL, CRLF, no final newline, huge line)", async () => {
  const cwd = await Deno.makeTempDir();
  const bytes = new Uint8Array(3 * 1024 * 1024 + 7);
  let seed = 12345;
  for (let i = 0; i < bytes.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    bytes[i] = seed >> 16;
  }
  const text = new TextEncoder().encode("__A__\r\nline\0with NUL\n\xff\xfe __B__\n");
  bytes.set(text, 1000);
  bytes.fill(120, 2_000_000, 3_000_000); // a 1 MB run with no newline
  bytes[bytes.length - 1] = 0x41; // no trailing newline
  await Deno.writeFile(`${cwd}/input.bin`, bytes);
  const out = await runCli(["--json", "-o", "r.json", "profile", "--", "cat", "input.bin"], {
    cwd,
  });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout.length, bytes.length);
  assert.deepEqual(out.stdout, bytes);
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  assert.ok(document.phases.length >= 2);
});

Deno.test("profile exits with the program's exit code, and 128+N when it is killed by signal N", async () => {
  const seven = await runCli(["profile", "--", "sh", "-c", "exit 7"]);
  assert.equal(seven.code, 7);
  assert.match(seven.stdoutText, /Exit code +: 7/);

  const cwd = await Deno.makeTempDir();
  const killed = await runCli(["--json", "profile", "--", "sh", "-c", "kill -TERM $$"], { cwd });
  assert.equal(killed.code, 143);
  const { document } = await readDefaultJson(cwd);
  assert.equal(document.exit_code, 143);
  assert.equal(document.signal, "SIGTERM");
  assert.match(killed.stderr, /JSON written to: .*data\d+\.json/);
});

Deno.test("profile splits phases at tokens and stamps boundaries on the program's own clock", async () => {
  const program = await compileC("examples/programs/phases.c");
  const cwd = await Deno.makeTempDir();
  const out = await runCli(["--json", "-o", "r.json", "profile", "--", program, "4", "30"], {
    cwd,
  });
  assert.equal(out.code, 0, out.stderr);
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  const phases: JsonPhase[] = document.phases;
  assert.deepEqual(phases.map((p) => `${p.start_token} -> ${p.end_token}`), [
    "START -> __PHASE_0__",
    "__PHASE_0__ -> __PHASE_1__",
    "__PHASE_1__ -> __PHASE_2__",
    "__PHASE_2__ -> __PHASE_3__",
    "__PHASE_3__ -> END",
  ]);
  assert.deepEqual(phases.map((p) => p.end_token_line), [0, 1, 2, 3, undefined]);
  // The program wrote "token <i> <CLOCK_MONOTONIC ns>" on stderr just before each token.
  const stamps = new Map<number, number>();
  let mainNs = 0;
  let exitNs = 0;
  for (const line of out.stderr.split("\n")) {
    const [kind, a, b] = line.split(" ");
    if (kind === "token") stamps.set(Number(a), Number(b));
    if (kind === "main") mainNs = Number(a);
    if (kind === "exit") exitNs = Number(a);
  }
  assert.equal(stamps.size, 4);
  // Same clock: the profiler sees each token after the program wrote it, and soon after.
  for (let i = 0; i < 4; i++) {
    const boundary = phases[i]!.end_ns;
    const written = stamps.get(i)!;
    assert.ok(boundary >= written, `boundary ${i} before the write`);
    assert.ok(boundary - written < 20e6, `boundary ${i} ${(boundary - written) / 1e6} ms late`);
  }
  // The program's inner phases last 30 ms each (by its own clock).
  for (let i = 1; i <= 3; i++) {
    const own = (stamps.get(i)! - stamps.get(i - 1)!) / 1e6;
    assert.ok(own >= 30);
    assert.ok(
      Math.abs(phases[i]!.duration_ms - own) < 20,
      `phase ${i}: ${phases[i]!.duration_ms} vs ${own}`,
    );
  }
  // START is before main() and END after the program's last instruction.
  assert.ok(phases[0]!.start_ns <= mainNs);
  assert.ok(phases[4]!.end_ns >= exitNs);
  assert.equal(document.duration_ms, (phases[4]!.end_ns - phases[0]!.start_ns) / 1e6);
});

Deno.test("profile with no token gives one START -> END phase", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli(["--json", "-o", "-", "profile", "--", "sh", "-c", "echo plain"], {
    cwd,
  });
  assert.equal(out.code, 0);
  const document = JSON.parse(out.stdoutText);
  assert.equal(document.phases.length, 1);
  assert.equal(document.phases[0].start_token, "START");
  assert.equal(document.phases[0].end_token, "END");
  // With results on stdout, the program's stdout moves to stderr.
  assert.match(out.stderr, /^plain$/m);
  assert.deepEqual(await listDir(cwd), []);
});

Deno.test("profile honours --token-pattern with a capture group and several tokens per line", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli([
    "--json",
    "-o",
    "-",
    "profile",
    "--token-pattern",
    "<<(\\w+)>>",
    "--",
    "sh",
    "-c",
    "echo '<<load>> <<run>>'; echo '<<done>>'",
  ], { cwd });
  const document = JSON.parse(out.stdoutText);
  assert.equal(document.token_pattern, "<<(\\w+)>>");
  assert.deepEqual(document.phases.map((p: JsonPhase) => p.end_token), [
    "load",
    "run",
    "done",
    "END",
  ]);
});

Deno.test("profile writes CSV by flag or by -o extension, and JSON to data<TIMESTAMP>.json by default", async () => {
  const cwd = await Deno.makeTempDir();
  const csv = await runCli(["-o", "r.csv", "profile", "--", "sh", "-c", "echo __A__"], { cwd });
  assert.equal(csv.code, 0, csv.stderr);
  const rows: string[][] = parse(await Deno.readTextFile(`${cwd}/r.csv`), { delimiter: ";" });
  assert.equal(rows[0]![0], "phase_id");
  // One row per metric (the process and system sources are on by default): phases in order.
  assert.deepEqual([...new Set(rows.slice(1).map((row) => row[1]))], [
    "START -> __A__",
    "__A__ -> END",
  ]);
  assert.match(csv.stderr, /CSV written to: .*r\.csv/);

  const csvDefault = await runCli(["--csv", "profile", "--", "true"], { cwd });
  assert.equal(csvDefault.code, 0);
  assert.ok((await listDir(cwd)).some((name) => /^data\d+\.csv$/.test(name)));

  const jsonCwd = await Deno.makeTempDir();
  await runCli(["--json", "profile", "--", "true"], { cwd: jsonCwd });
  const { document } = await readDefaultJson(jsonCwd);
  assert.equal(document.command, "true");
});

Deno.test("profile -n runs the program n times and keeps each iteration", async () => {
  const cwd = await Deno.makeTempDir();
  const script = "echo $$ >> pids; echo __MID__";
  const json = await runCli([
    "--json",
    "-o",
    "r.json",
    "profile",
    "-n",
    "3",
    "--",
    "sh",
    "-c",
    script,
  ], {
    cwd,
  });
  assert.equal(json.code, 0, json.stderr);
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  assert.equal(document.nb_iterations, 3);
  assert.deepEqual(document.iterations.map((run: { index: number }) => run.index), [0, 1, 2]);
  for (const run of document.iterations) assert.equal(run.phases.length, 2);
  assert.equal((await Deno.readTextFile(`${cwd}/pids`)).trim().split("\n").length, 3);

  const terminal = await runCli(["profile", "-n", "2", "--", "sh", "-c", script], { cwd });
  assert.match(terminal.stdoutText, /Iterations +: 2/);
  assert.match(terminal.stdoutText, /Phase: START -> __MID__/);
  assert.match(terminal.stdoutText, /Duration +: [\d.]+ ± [\d.]+ [µm]?s/);
});

Deno.test("profile --stdout-file writes the program's output to a file", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli([
    "profile",
    "--stdout-file",
    "out.txt",
    "--",
    "sh",
    "-c",
    "printf 'a\\n__A__\\nz'",
  ], {
    cwd,
  });
  assert.equal(out.code, 0);
  assert.equal(await Deno.readTextFile(`${cwd}/out.txt`), "a\n__A__\nz");
  assert.match(out.stdoutText, /Phase: START -> __A__/);
  assert.ok(!out.stdoutText.startsWith("a\n"));
});

Deno.test("profile inherits stdin", async () => {
  const out = await runCli([
    "--json",
    "-o",
    "-",
    "profile",
    "--",
    "sh",
    "-c",
    'read x; echo "got $x" >&2',
  ], {
    stdin: new TextEncoder().encode("hello\n"),
  });
  assert.equal(out.code, 0);
  assert.match(out.stderr, /got hello/);
});

/** A program that counts the SIGTERM/SIGINT it receives and reports them. */
const COUNTING_PROGRAM = `
import signal, sys, time
got = []
def handler(number, frame):
    got.append(number)
signal.signal(signal.SIGTERM, handler)
signal.signal(signal.SIGINT, handler)
print("__READY__", flush=True)
deadline = time.time() + 10
while not got and time.time() < deadline:
    time.sleep(0.01)
time.sleep(0.3)  # a second, duplicated signal would arrive here
print("__STOPPING__", flush=True)
sys.stderr.write("received %s\\n" % ",".join(str(n) for n in got))
sys.exit(3)
`;

async function signalledRun(signal: Deno.Signal): Promise<void> {
  const cwd = await Deno.makeTempDir();
  await Deno.writeTextFile(`${cwd}/prog.py`, COUNTING_PROGRAM);
  const child = spawnCli(["--json", "-o", "r.json", "profile", "--", "python3", "prog.py"], cwd);
  const reader = child.stdout.getReader();
  const first = await reader.read();
  assert.match(new TextDecoder().decode(first.value), /__READY__/);
  child.kill(signal);
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    // drain
  }
  const status = await child.status;
  const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  const number = signal === "SIGTERM" ? 15 : 2;
  assert.match(
    stderr,
    new RegExp(`received ${number}\\n`),
    "the program got the signal exactly once",
  );
  assert.equal(status.code, 3, "the profiler exits with the program's code");
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  assert.equal(document.interrupted, true);
  assert.equal(document.exit_code, 3);
  assert.deepEqual(document.phases.map((p: JsonPhase) => p.end_token), [
    "__READY__",
    "__STOPPING__",
    "END",
  ]);
}

Deno.test("SIGTERM to the profiler reaches the program once and results are still written", async () => {
  await signalledRun("SIGTERM");
});

Deno.test("SIGINT from kill (not a terminal) reaches the program once and results are still written", async () => {
  await signalledRun("SIGINT");
});

Deno.test("Ctrl-C typed in a terminal reaches the program once (not forwarded a second time)", async () => {
  const cwd = await Deno.makeTempDir();
  await Deno.writeTextFile(`${cwd}/prog.py`, COUNTING_PROGRAM);
  // `script` runs the profiler on a pseudo-terminal; the \x03 we type there is
  // turned into SIGINT for the whole foreground process group by the tty.
  // `exec` keeps script's shell (dash, say, which would die of that SIGINT
  // itself) out of the foreground group, whatever $SHELL is.
  const profiler =
    `exec "${Deno.execPath()}" run -A "${CLI_ENTRY}" --json -o r.json profile -- python3 prog.py`;
  const child = new Deno.Command("script", {
    args: ["-qec", profiler, "/dev/null"],
    cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", SHELL: "/bin/sh" },
  }).spawn();
  const reader = child.stdout.getReader();
  let seen = "";
  while (!seen.includes("__READY__")) {
    const chunk = await reader.read();
    if (chunk.done) break;
    seen += new TextDecoder().decode(chunk.value);
  }
  const writer = child.stdin.getWriter();
  await writer.write(new Uint8Array([3]));
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    seen += new TextDecoder().decode(chunk.value);
  }
  await writer.close().catch(() => {});
  const status = await child.status;
  await child.stderr.cancel();
  assert.match(seen, /received 2\r?\n/, `the program got SIGINT exactly once: ${seen}`);
  assert.equal(status.code, 3);
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  assert.equal(document.interrupted, true);
});

Deno.test("profile stops reading when a grandchild keeps stdout open after the program exits", async () => {
  const cwd = await Deno.makeTempDir();
  const started = performance.now();
  const out = await runCli([
    "--json",
    "-o",
    "r.json",
    "profile",
    "--",
    "sh",
    "-c",
    "sleep 5 2>/dev/null & echo __A__",
  ], {
    cwd,
  });
  assert.ok(performance.now() - started < 4000, "did not wait for the grandchild");
  assert.equal(out.code, 0);
  // The warning names the process and what --kill-descendants would do.
  assert.match(
    out.stderr,
    /1 process \(pid \d+\) it started is still running and holds its stdout/,
  );
  assert.match(out.stderr, /--kill-descendants ends them when the program exits/);
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  assert.equal(document.phases.length, 2);
});

Deno.test("profile ends when its own stdout reader goes away (| head)", async () => {
  const cwd = await Deno.makeTempDir();
  const shell = new Deno.Command("sh", {
    args: [
      "-c",
      `"${Deno.execPath()}" run -A "${CLI_ENTRY}" --json -o r.json profile -- yes | head -n 2`,
    ],
    cwd,
    stdout: "piped",
    stderr: "piped",
  });
  const output = await shell.output();
  assert.equal(new TextDecoder().decode(output.stdout), "y\ny\n");
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  assert.equal(document.signal, "SIGPIPE");
  assert.equal(document.exit_code, 141);
});
