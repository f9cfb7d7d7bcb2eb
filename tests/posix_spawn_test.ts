import assert from "node:assert/strict";
import { openPipe, reapProcess, spawnProcess } from "../src/ffi/posix_spawn.ts";
import { libc, SyscallError } from "../src/ffi/libc.ts";
import { OrphanWatchdog } from "../src/process/orphan_watchdog.ts";

const encoder = new TextEncoder();

/** Fields of /proc/<pid>/stat after the command name: state is [0], session [3]. */
function statFields(pid: number): string[] {
  const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

Deno.test("spawnProcess() runs a program with the given environment, stdin and /dev/null output", async () => {
  const folder = await Deno.makeTempDir();
  const [readFd, writeFd] = openPipe();
  const pid = spawnProcess({
    path: "/bin/sh",
    argv: [
      "sh",
      "-c",
      `read line; echo "$line $GREETING $#" > ${folder}/out; ls -l /proc/self/fd/1`,
    ],
    env: { GREETING: "hello", PATH: "/usr/bin:/bin" },
    stdinFd: readFd,
  });
  libc().close(readFd);
  const line = encoder.encode("from-stdin\n");
  libc().write(writeFd, line, BigInt(line.length));
  libc().close(writeFd);
  assert.deepEqual(await reapProcess(pid), { code: 0, signal: null });
  assert.equal(await Deno.readTextFile(`${folder}/out`), "from-stdin hello 0\n");
  await Deno.remove(folder, { recursive: true });
});

Deno.test("spawnProcess() passes no close-on-exec descriptor, and resets the signal mask", async () => {
  const [readFd, writeFd] = openPipe();
  const folder = await Deno.makeTempDir();
  // The child lists its descriptors and its blocked and ignored signals.
  const pid = spawnProcess({
    path: "/bin/sh",
    argv: [
      "sh",
      "-c",
      `ls /proc/self/fd > ${folder}/fds; grep -E '^Sig(Blk|Ign)' /proc/self/status > ${folder}/sig`,
    ],
    env: {},
  });
  assert.deepEqual(await reapProcess(pid), { code: 0, signal: null });
  const fds = (await Deno.readTextFile(`${folder}/fds`)).trim().split("\n").map(Number);
  assert.ok(!fds.includes(readFd) && !fds.includes(writeFd), `inherited: ${fds.join(" ")}`);
  const signals = await Deno.readTextFile(`${folder}/sig`);
  assert.match(signals, /SigBlk:\s+0+\n/);
  // SIGPIPE (bit 13), which the runtime ignores, is back at its default.
  const ignored = BigInt(`0x${/SigIgn:\s+([0-9a-f]+)/.exec(signals)![1]}`);
  assert.equal(ignored & (1n << 12n), 0n, signals);
  libc().close(readFd);
  libc().close(writeFd);
  await Deno.remove(folder, { recursive: true });
});

Deno.test("spawnProcess() starts a session of its own; reapProcess() tells exits from signals", async () => {
  const pid = spawnProcess({
    path: "/bin/sh",
    argv: ["sh", "-c", "sleep 30"],
    env: {},
    newSession: true,
  });
  // Field 6 of stat is the session id: the process leads its own.
  for (let tries = 0; statFields(pid)[3] !== String(pid) && tries < 100; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(statFields(pid)[3], String(pid));
  libc().kill(pid, 9);
  assert.deepEqual(await reapProcess(pid), { code: null, signal: 9 });
  const exited = spawnProcess({ path: "/bin/sh", argv: ["sh", "-c", "exit 7"], env: {} });
  assert.deepEqual(await reapProcess(exited), { code: 7, signal: null });
  // Reaped already: not ours any more.
  await assert.rejects(() => reapProcess(exited), SyscallError);
});

Deno.test("spawnProcess() names a missing executable", () => {
  assert.throws(
    () => spawnProcess({ path: "/no/such/program", argv: ["x"], env: {} }),
    (error: unknown) => error instanceof SyscallError && error.code === "ENOENT",
  );
});

Deno.test("OrphanWatchdog: a session of its own, only PATH, at /, output on /dev/null", async () => {
  const watchdog = OrphanWatchdog.start();
  try {
    const pid = watchdog.pid;
    // posix_spawn returns once the exec has begun: its arguments are set up a moment later.
    for (
      let tries = 0;
      Deno.readTextFileSync(`/proc/${pid}/cmdline`) === "" && tries < 100;
      tries++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(statFields(pid)[3], String(pid), "session leader");
    const environment = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0").filter(Boolean);
    assert.deepEqual(environment, ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]);
    for (let tries = 0; Deno.readLinkSync(`/proc/${pid}/cwd`) !== "/" && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(Deno.readLinkSync(`/proc/${pid}/cwd`), "/");
    assert.equal(Deno.readLinkSync(`/proc/${pid}/fd/1`), "/dev/null");
    assert.equal(Deno.readLinkSync(`/proc/${pid}/fd/2`), "/dev/null");
    assert.match(Deno.readLinkSync(`/proc/${pid}/fd/0`), /^pipe:/);
  } finally {
    await watchdog.close();
  }
  // Reaped: gone from /proc.
  assert.throws(() => Deno.statSync(`/proc/${watchdog.pid}`), Deno.errors.NotFound);
});
