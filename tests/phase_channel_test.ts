import assert from "node:assert/strict";
import { compileC, REPO_ROOT, runCli } from "./helpers.ts";

const CHANNEL = `${REPO_ROOT}examples/phase_channel`;

interface JsonPhase {
  start_token: string;
  end_token: string;
  end_token_line?: number;
}

async function phasesOf(args: string[], env: Record<string, string> = {}) {
  const out = await runCli(["--json", "-o", "-", "profile", ...args], { env });
  assert.equal(out.code, 0, out.stderr);
  const phases: JsonPhase[] = JSON.parse(out.stdoutText).phases;
  return { phases, ends: phases.map((p) => p.end_token), out };
}

Deno.test("the Python helper marks phases through the channel, beside stdout output", async () => {
  const { ends, phases, out } = await phasesOf(["--", "python3", `${CHANNEL}/demo.py`]);
  assert.deepEqual(ends, ["__LOAD__", "__SLEEP__", "__DONE__", "END"]);
  assert.equal(phases[0]!.end_token_line, undefined, "channel tokens have no stdout line");
  assert.match(out.stderr, /^loaded 300000$/m, "stdout still passed on (to stderr with -o -)");
});

Deno.test("the C header marks phases through the inherited descriptor", async () => {
  const program = await compileC("examples/phase_channel/demo.c", ["-I", CHANNEL]);
  const { ends } = await phasesOf(["--", program]);
  assert.deepEqual(ends, ["__SPIN__", "__SLEEP__", "__DONE__", "END"]);
});

Deno.test("the JavaScript helper works in Node.js (descriptor) and Deno (FIFO path)", async () => {
  const node = await phasesOf(["--", "node", `${CHANNEL}/demo.mjs`]);
  assert.deepEqual(node.ends, ["__WORK__", "__WAIT__", "__DONE__", "END"]);
  const deno = await phasesOf([
    "--",
    Deno.execPath(),
    "run",
    "--allow-env",
    "--allow-write",
    `${CHANNEL}/demo.mjs`,
  ]);
  assert.deepEqual(deno.ends, ["__WORK__", "__WAIT__", "__DONE__", "END"]);
});

Deno.test("every helper is a no-op when the program runs without the profiler", async () => {
  const program = await compileC("examples/phase_channel/demo.c", ["-I", CHANNEL]);
  const commands = [
    ["python3", `${CHANNEL}/demo.py`],
    [program],
    ["node", `${CHANNEL}/demo.mjs`],
    [Deno.execPath(), "run", "--allow-env", "--allow-write", `${CHANNEL}/demo.mjs`],
  ];
  for (const [command, ...args] of commands) {
    const output = await new Deno.Command(command!, { args, env: {} }).output();
    assert.equal(output.code, 0, `${command}: ${new TextDecoder().decode(output.stderr)}`);
    assert.equal(new TextDecoder().decode(output.stderr), "");
  }
});

Deno.test("channel and stdout tokens interleave by arrival; blank lines are not tokens", async () => {
  const script = [
    "echo __OUT_1__",
    "sleep 0.1",
    'printf "  channel one \\n\\n   \\n" >&"$JOULE_PROFILER_PHASE_FD"',
    "sleep 0.1",
    "echo __OUT_2__",
    "sleep 0.1",
    'echo CHANNEL_TWO > "$JOULE_PROFILER_PHASE_FIFO"',
  ].join("; ");
  const { ends } = await phasesOf(["--", "bash", "-c", script]);
  assert.deepEqual(ends, ["__OUT_1__", "channel one", "__OUT_2__", "CHANNEL_TWO", "END"]);
});

Deno.test("tokens written just before exit, by path or descriptor, still count; nothing is left behind", async () => {
  const { ends, out } = await phasesOf([
    "--",
    "bash",
    "-c",
    'echo "$JOULE_PROFILER_PHASE_FIFO" >&2; [ -S /proc/self/fd/"$JOULE_PROFILER_PHASE_FD" ] && ' +
    'echo socket >&2; echo BY_PATH > "$JOULE_PROFILER_PHASE_FIFO"; ' +
    'echo LAST >&"$JOULE_PROFILER_PHASE_FD"',
  ]);
  // Two ways in, read side by side: both count, in whichever order they arrived.
  assert.deepEqual([...ends.slice(0, 2)].sort(), ["BY_PATH", "LAST"]);
  assert.equal(ends[2], "END");
  assert.match(out.stderr, /^socket$/m, "the descriptor is a socket the runtime polls");
  const fifo = out.stderr.split("\n").find((line) => line.endsWith("/phases"))!;
  assert.ok(fifo, out.stderr);
  // The FIFO, the socket and their folder are gone.
  assert.throws(() => Deno.statSync(fifo.slice(0, fifo.lastIndexOf("/"))), Deno.errors.NotFound);
});

Deno.test("--no-phase-channel offers no channel", async () => {
  const { ends, out } = await phasesOf([
    "--no-phase-channel",
    "--",
    "bash",
    "-c",
    'echo "fd=[${JOULE_PROFILER_PHASE_FD-}] fifo=[${JOULE_PROFILER_PHASE_FIFO-}]" >&2',
  ]);
  assert.deepEqual(ends, ["END"]);
  assert.match(out.stderr, /fd=\[\] fifo=\[\]/);
});

Deno.test("where no socket can be made (temporary folder too long), the descriptor is the FIFO", async () => {
  const long = `${await Deno.makeTempDir()}/${"d".repeat(100)}`;
  await Deno.mkdir(long);
  const { ends, out } = await phasesOf([
    "--",
    "bash",
    "-c",
    '[ -p /proc/self/fd/"$JOULE_PROFILER_PHASE_FD" ] && echo fifo >&2; ' +
    'echo __X__; sleep 0.05; echo BY_FD >&"$JOULE_PROFILER_PHASE_FD"',
  ], { TMPDIR: long });
  assert.deepEqual(ends, ["__X__", "BY_FD", "END"]);
  assert.match(out.stderr, /^fifo$/m);
});

Deno.test("PhaseChannel.fifoWritten() tells a FIFO something wrote to since START from one nobody did", async () => {
  const { PhaseChannel } = await import("../src/process/phase_channel.ts");
  const channel = await PhaseChannel.open();
  try {
    // Before the mark nothing is known: the answer is the safe one.
    assert.equal(channel.fifoWritten(), true);
    channel.markFifoUnwritten();
    assert.equal(channel.fifoWritten(), false);
    // A write by path, as a program without the descriptor makes it.
    const writer = await Deno.open(channel.path, { write: true });
    await writer.write(new TextEncoder().encode("__A__\n"));
    writer.close();
    assert.equal(channel.fifoWritten(), true);
    // Marked again: forgotten until the next write.
    channel.markFifoUnwritten();
    assert.equal(channel.fifoWritten(), false);
    channel.send("__B__\n");
    assert.equal(channel.fifoWritten(), true);
  } finally {
    await channel.close();
  }
});
