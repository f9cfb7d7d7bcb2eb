/**
 * The held start (src/process/program_process.ts): `spawnHeld` returns at
 * once, `untilHeld()` resolves once the gate has stopped itself (woken by
 * the kernel, not a poll), and not one instruction of the program has run
 * until `resume()`.
 */
import assert from "node:assert/strict";
import { ProgramProcess } from "../src/process/program_process.ts";
import { ProfilerError } from "../src/errors.ts";

Deno.test("untilHeld() resolves with the gate stopped and the program not started", async () => {
  const dir = await Deno.makeTempDir();
  const marker = `${dir}/started`;
  try {
    const program = ProgramProcess.spawnHeld({
      executable: "/bin/sh",
      args: ["-c", `: > '${marker}'`],
      stdout: "null",
      ownProcessGroup: true,
    });
    assert.throws(() => program.resume(), /before the program was held/);
    await program.untilHeld();
    const stat = Deno.readTextFileSync(`/proc/${program.pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    assert.equal(fields[0], "T", "stopped at the gate");
    // setsid has run: the gate leads its own session and process group.
    assert.equal(Number(fields[2]), program.pid);
    assert.equal(Number(fields[3]), program.pid);
    assert.equal(await Deno.stat(marker).catch(() => undefined), undefined);
    program.resume();
    assert.deepEqual(await program.exit, { code: 0, signal: null });
    assert.ok((await Deno.stat(marker)).isFile, "the program ran once resumed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("untilHeld() rejects, without hanging, when the launcher dies before the gate", async () => {
  const program = ProgramProcess.spawnHeld({
    executable: "/bin/true",
    args: [],
    stdout: "piped",
    onSpawn: (pid) => Deno.kill(pid, "SIGKILL"),
  });
  await assert.rejects(
    program.untilHeld(),
    (error) =>
      error instanceof ProfilerError && /launcher exited before the program could start/.test(
        error.message,
      ),
  );
  assert.equal((await program.exit).signal, 9);
  await program.stdout!.cancel();
});
