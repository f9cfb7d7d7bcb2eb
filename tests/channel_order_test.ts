import assert from "node:assert/strict";
import { runCli } from "./helpers.ts";

// What order is guaranteed when stdout, the descriptor and the FIFO all carry
// tokens (README, "The phase channel"): program order within each channel,
// always; across channels, program order when tokens are a few milliseconds apart.

function endTokens(stdoutText: string): string[] {
  const document = JSON.parse(stdoutText);
  return document.phases.map((phase: { end_token: string }) => phase.end_token);
}

function runsEndTokens(stdoutText: string): string[][] {
  const document = JSON.parse(stdoutText);
  return document.iterations.map((run: { phases: { end_token: string }[] }) =>
    run.phases.map((phase) => phase.end_token)
  );
}

Deno.test("each channel keeps the program's order, even for tokens written back to back before exit", async () => {
  const numbers = Array.from({ length: 20 }, (_, i) => i + 1);
  const program = `for i in ${numbers.join(" ")}; do echo "__S\${i}__"; ` +
    'echo "__D${i}__" >&"$JOULE_PROFILER_PHASE_FD"; ' +
    'echo "__F${i}__" > "$JOULE_PROFILER_PHASE_FIFO"; done';
  const out = await runCli([
    "--json",
    "-o",
    "-",
    "profile",
    "-n",
    "5",
    "--stdout-file",
    "/dev/null",
    "--",
    "bash",
    "-c",
    program,
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.doesNotMatch(out.stderr, /arrived after the program's end/);
  for (const tokens of runsEndTokens(out.stdoutText)) {
    for (const channel of ["S", "D", "F"]) {
      const seen = tokens.filter((token) => token.startsWith(`__${channel}`));
      assert.deepEqual(seen, numbers.map((i) => `__${channel}${i}__`), channel);
    }
    assert.equal(tokens.at(-1), "END");
  }
});

Deno.test("across channels, tokens a few milliseconds apart come in the program's order", async () => {
  const steps: string[] = [];
  const expected: string[] = [];
  for (let i = 1; i <= 6; i++) {
    for (
      const [channel, write] of [
        ["S", (t: string) => `echo ${t}`],
        ["D", (t: string) => `echo ${t} >&"$JOULE_PROFILER_PHASE_FD"`],
        ["F", (t: string) => `echo ${t} > "$JOULE_PROFILER_PHASE_FIFO"`],
      ] as const
    ) {
      const token = `__${channel}${i}__`;
      steps.push(write(token), "sleep 0.01");
      expected.push(token);
    }
  }
  const out = await runCli([
    "--json",
    "-o",
    "-",
    "profile",
    "--stdout-file",
    "/dev/null",
    "--",
    "bash",
    "-c",
    steps.join("; "),
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(endTokens(out.stdoutText), [...expected, "END"]);
});
