import assert from "node:assert/strict";
import {
  EventLoopTurn,
  findRuntimeEpoll,
  MainThreadWait,
  type MainThreadWaitOptions,
  type WaitOutcome,
} from "../src/phase/main_thread_wait.ts";
import { TokenPump } from "../src/phase/token_pump.ts";
import { TokenScanner } from "../src/phase/token_scanner.ts";
import { DEFAULT_TOKEN_PATTERN } from "../src/phase/token_pattern.ts";
import { ProgramProcess } from "../src/process/program_process.ts";
import { PhaseChannel } from "../src/process/phase_channel.ts";
import { drainChannel } from "../src/program_run.ts";
import { libc } from "../src/ffi/libc.ts";
import { compileC, runCliJson } from "./helpers.ts";

const O_CLOEXEC = 0o2000000;

/** A MainThreadWait that counts how each of its waits ended. */
class CountingWait extends MainThreadWait {
  readonly outcomes: Record<WaitOutcome, number> = {
    readable: 0,
    runtime: 0,
    timeout: 0,
    unread: 0,
  };

  constructor(options: MainThreadWaitOptions) {
    super(options);
  }

  override wait(fds: readonly number[], timeoutMs: number, readable?: Uint8Array): WaitOutcome {
    const outcome = super.wait(fds, timeoutMs, readable);
    this.outcomes[outcome]++;
    return outcome;
  }
}

/** A held `sh -c script` with its stdout piped, released at once. */
async function started(script: string): Promise<ProgramProcess> {
  const program = ProgramProcess.spawnHeld({
    executable: "/bin/sh",
    args: ["-c", script],
    stdout: "piped",
  });
  assert.ok(program.stdoutFd !== undefined, "the pipe's descriptor was found");
  await program.untilHeld();
  return program;
}

/** Lets a held program from {@linkcode started} go, closes its stdout and waits for its end. */
async function endHeld(program: ProgramProcess): Promise<void> {
  program.resume();
  await program.stdout!.cancel();
  await program.exit;
}

function runtimeEpollOf(program: ProgramProcess): number {
  const epoll = findRuntimeEpoll(program.stdoutFd!);
  assert.ok(epoll !== undefined, "the runtime's epoll set was found");
  return epoll;
}

Deno.test("findRuntimeEpoll: the runtime's epoll set, which watches a child's stdout", async () => {
  const program = await started("exit 0");
  try {
    const epoll = runtimeEpollOf(program);
    assert.equal(Deno.readLinkSync(`/proc/self/fd/${epoll}`), "anon_inode:[eventpoll]");
    const info = Deno.readTextFileSync(`/proc/self/fdinfo/${epoll}`);
    assert.match(info, new RegExp(`^tfd:\\s+${program.stdoutFd}\\s`, "m"));
  } finally {
    await endHeld(program);
  }
});

Deno.test("MainThreadWait.wait: readable when bytes come, timeout when none, runtime for a signal", async () => {
  const program = await started("sleep 0.05; echo hello");
  const turn = new EventLoopTurn();
  const wait = new MainThreadWait({ epoll: runtimeEpollOf(program), turn });
  try {
    program.resume();
    await wait.yieldTurn();
    const started = performance.now();
    let outcome: WaitOutcome = "timeout";
    while (outcome !== "readable" && performance.now() - started < 5_000) {
      outcome = wait.wait([program.stdoutFd!], 100);
      await wait.yieldTurn();
    }
    assert.equal(outcome, "readable");

    await program.stdout!.cancel();
    await program.exit;
    // The runtime's loop takes in the program's end and exit (a turn yielded by the wait does
    // not run its I/O driver: those events stay pending until the loop itself waits).
    await new Promise((resolve) => setTimeout(resolve, 20));

    // A descriptor that stays empty: the wait ends at its time-out.
    const quiet = pipePair();
    const [quietRead] = quiet;
    const before = performance.now();
    assert.equal(wait.wait([quietRead], 30), "timeout");
    assert.ok(performance.now() - before >= 25, `${performance.now() - before} ms`);

    // A signal, which the runtime handles, ends the wait long before its time-out; its
    // listener runs once the loop has turned.
    let heard = false;
    const listener = () => heard = true;
    Deno.addSignalListener("SIGUSR2", listener);
    try {
      const kill = new Deno.Command("sh", { args: ["-c", `sleep 0.1; kill -USR2 ${Deno.pid}`] })
        .spawn();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const asleep = performance.now();
      assert.equal(wait.wait([quietRead], 5_000), "runtime");
      assert.ok(performance.now() - asleep < 2_000, `${performance.now() - asleep} ms`);
      await kill.status;
      for (let i = 0; i < 100 && !heard; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.ok(heard, "the listener ran");
    } finally {
      Deno.removeSignalListener("SIGUSR2", listener);
    }
    closeBoth(quiet);
  } finally {
    await program.stdout!.cancel().catch(() => {});
    await program.exit;
  }
});

Deno.test("MainThreadWait.yieldTurn: an operation started before it runs while the thread sleeps", async () => {
  const program = await started("exit 0");
  const turn = new EventLoopTurn();
  const wait = new MainThreadWait({ epoll: runtimeEpollOf(program), turn });
  const quiet = pipePair();
  try {
    for (let round = 0; round < 20; round++) {
      let done = false;
      const stat = Deno.stat("/").then(() => done = true);
      // The turn hands the operation to the runtime's pool; its end may or may not wake a
      // wait (the runtime's thread is not parked in its driver), so waits are sliced (as a
      // linger's are, 1 ms): the result comes at the turn after the slice it ended in.
      const started = performance.now();
      while (!done && performance.now() - started < 5_000) {
        await wait.yieldTurn();
        if (!done) wait.wait([quiet[0]], 1);
      }
      await stat;
      assert.ok(performance.now() - started < 100, `${performance.now() - started} ms`);
    }
  } finally {
    closeBoth(quiet);
    await endHeld(program);
  }
});

Deno.test("TokenPump lingering on the main thread: every token and byte, timers and ops go on", async () => {
  // 400 tokens 1 ms apart, each on its own line, then the end.
  const phases = await compileC("examples/programs/phases.c");
  const program = ProgramProcess.spawnHeld({
    executable: "/bin/sh",
    args: ["-c", `exec "${phases}" 400 1 2>/dev/null`],
    stdout: "piped",
  });
  await program.untilHeld();
  const turn = new EventLoopTurn();
  const wait = new CountingWait({ epoll: runtimeEpollOf(program), turn });
  const received: number[] = [];
  const found: [string, number][] = [];
  let statsDone = 0;
  let statsStarted = 0;
  let release!: () => void;
  const from = new Promise<void>((resolve) => release = resolve);
  const pump = new TokenPump({
    reader: program.stdout!.getReader({ mode: "byob" }),
    scanner: new TokenScanner(DEFAULT_TOKEN_PATTERN),
    boundary: (token, line) => {
      found.push([token, line]);
      // An asynchronous operation started on the way: it must not wait for the linger's end.
      if (statsStarted++ % 50 === 0) Deno.stat("/").then(() => statsDone++);
    },
    sink: {
      broken: false,
      atLineStart: true,
      write: (bytes) => received.push(bytes.length),
      close: () => {},
    },
    reportLines: true,
    fd: program.stdoutFd,
    linger: { wait, ms: 2, from },
  });
  // A timer every 5 ms meanwhile: lingering must not hold it back beyond a slice.
  const fires: number[] = [];
  const interval = setInterval(() => fires.push(performance.now()), 5);
  try {
    const running = pump.run();
    const start = performance.now();
    program.resume();
    release();
    await running;
    const elapsed = performance.now() - start;
    clearInterval(interval);
    assert.equal(found.length, 400);
    found.forEach(([token, line], i) => {
      assert.equal(token, `__PHASE_${i}__`);
      assert.equal(line, i);
    });
    assert.equal(received.reduce((sum, n) => sum + n, 0), pump.bytes);
    assert.ok(wait.outcomes.readable > 300, JSON.stringify(wait.outcomes));
    // The end was seen by the linger, before the stream's own report: it is left open.
    assert.ok(pump.done);
    await pump.cancel();
    await program.exit;
    // Every stat finished, while the program still ran.
    assert.equal(statsDone, 8);
    // The timer kept its pace: no gap much over its interval plus one slice of a linger.
    const gaps = fires.slice(1).map((at, i) => at - fires[i]!);
    assert.ok(fires.length >= elapsed / 5 * 0.6, `${fires.length} fires in ${elapsed} ms`);
    assert.ok(Math.max(...gaps) < 25, `largest gap ${Math.max(...gaps)} ms`);
  } finally {
    clearInterval(interval);
  }
});

Deno.test("TokenPump on the phase socket: markers 1 ms apart are read on the main thread", async () => {
  // 400 markers through joule_phase.h's descriptor, 1 ms apart.
  const marker = await compileC("tests/fixtures/marker_timing.c");
  const channel = await PhaseChannel.open();
  assert.ok(channel.socket !== undefined && channel.socketFd >= 0, "the socket's descriptor");
  const wait = new CountingWait({
    epoll: findRuntimeEpoll(channel.socketFd)!,
    turn: new EventLoopTurn(),
  });
  const found: string[] = [];
  const pump = new TokenPump({
    reader: channel.socket.readable.getReader({ mode: "byob" }),
    scanner: new TokenScanner(DEFAULT_TOKEN_PATTERN),
    boundary: (token) => {
      found.push(token);
    },
    reportLines: false,
    fd: channel.socketFd,
    // Each marker leaves the socket in the runtime's report (it stays writable): the linger
    // lets the runtime's driver take that in, and sleeps again.
    linger: { wait, ms: 2 },
  });
  const running = pump.run();
  try {
    const program = new Deno.Command(marker, {
      args: ["channel", "400", "1000"],
      env: channel.env(),
      stdout: "null",
      stderr: "null",
    }).spawn();
    channel.closeInheritedEnd();
    assert.equal((await program.status).code, 0);
    // The profiler keeps a copy of the program's end: reading stops when told to.
    await drainChannel(channel, [pump]);
    pump.stop();
    channel.wake();
    await running;
    assert.deepEqual(found, Array.from({ length: 400 }, (_, i) => `__MARK_${i}__`));
    // Had the linger ended at the runtime's report, the next marker would come through the
    // stream: about half of them (199 of 400, measured).
    assert.ok(wait.outcomes.readable > 300, JSON.stringify(wait.outcomes));
  } finally {
    await pump.cancel();
    await running.catch(() => {});
    await channel.close();
  }
});

Deno.test("MainThreadWait.end: a linger ends at once, before any turn of the event loop", async () => {
  const program = await started("exit 0");
  const wait = new CountingWait({ epoll: runtimeEpollOf(program), turn: new EventLoopTurn() });
  const quiet = pipePair();
  try {
    const lingering = wait.linger(quiet[0], 10_000);
    // The end comes before the wait's first turn: the promise is settled by the time a
    // microtask runs. (A turn is work the runtime does not count: at the end of a run nothing
    // else may keep the event loop alive until the next one.)
    wait.end(quiet[0]);
    const outcome = await Promise.race([lingering, Promise.resolve("pending")]);
    assert.equal(outcome, false);
    assert.equal(wait.outcomes.timeout + wait.outcomes.readable + wait.outcomes.runtime, 0);
  } finally {
    closeBoth(quiet);
    await endHeld(program);
  }
});

Deno.test("TokenPump: cancel() ends a linger at once", async () => {
  const program = await started("for i in $(seq 100); do echo line; sleep 0.05; done");
  const turn = new EventLoopTurn();
  let cancelledAt = 0;
  let cancelling: Promise<void> | undefined;
  // Cancelled from inside the linger (a timer set now would itself end the wait: the runtime
  // has a new timer), after a few of its slices went by quietly.
  let waitsAfterCancel = 0;
  class CancellingWait extends CountingWait {
    override wait(fds: readonly number[], timeoutMs: number, readable?: Uint8Array): WaitOutcome {
      // After cancel() the descriptor is closed (its number may be reused): no wait on it.
      if (cancelling !== undefined) waitsAfterCancel++;
      const outcome = super.wait(fds, timeoutMs, readable);
      if (this.outcomes.timeout === 3 && cancelling === undefined) {
        cancelledAt = performance.now();
        cancelling = pump.cancel();
      }
      return outcome;
    }
  }
  const wait = new CancellingWait({ epoll: runtimeEpollOf(program), turn });
  const pump: TokenPump = new TokenPump({
    reader: program.stdout!.getReader({ mode: "byob" }),
    scanner: new TokenScanner(DEFAULT_TOKEN_PATTERN),
    boundary: () => {},
    reportLines: true,
    fd: program.stdoutFd,
    linger: { wait, ms: 10_000, from: Promise.resolve() },
  });
  try {
    program.resume();
    // Something of the runtime's own may end a wait (the reader then waits through its stream
    // until the next line, which starts a linger again): the line every 50 ms gives the
    // reader as many tries as it needs, and the program's end bounds the test.
    await pump.run();
    assert.ok(
      cancelling !== undefined,
      `never three quiet slices: ${JSON.stringify(wait.outcomes)}`,
    );
    await cancelling;
    assert.ok(performance.now() - cancelledAt < 500, `${performance.now() - cancelledAt} ms`);
    assert.equal(wait.outcomes.timeout, 3, JSON.stringify(wait.outcomes));
    assert.equal(waitsAfterCancel, 0);
  } finally {
    try {
      Deno.kill(program.pid, "SIGKILL");
    } catch {
      // Ended already.
    }
    await program.exit;
  }
});

Deno.test("profile: sampling keeps its pace while the stdout reader lingers", async () => {
  // Tokens 1 ms apart for 0.3 s: the reader is in its main-thread wait nearly all along.
  const phases = await compileC("examples/programs/phases.c");
  const { code, stderr, document } = await runCliJson([
    "profile",
    "--sample-interval",
    "5",
    "--",
    phases,
    "300",
    "1",
  ]);
  assert.equal(code, 0, stderr);
  assert.equal(document.phases.length, 301);
  const cpu = document.samples.find((series: { name: string }) => series.name === "CPU");
  const times: number[] = cpu.time_ms;
  const gaps = times.slice(1).map((at, i) => at - times[i]!);
  const duration = document.duration_ms;
  assert.ok(times.length >= duration / 5 * 0.6, `${times.length} samples in ${duration} ms`);
  assert.ok(Math.max(...gaps) < 40, `largest gap ${Math.max(...gaps)} ms`);
});

/** A pipe of this process's, both ends (its read end stays empty). */
function pipePair(): [number, number] {
  const fds = new Int32Array(2);
  assert.equal(libc().pipe2(fds, O_CLOEXEC), 0);
  return [fds[0]!, fds[1]!];
}

function closeBoth([read, write]: [number, number]): void {
  libc().close(read);
  libc().close(write);
}

Deno.test("profile --no-stdout-tokens: markers 1 ms apart through the phase socket, each measured", async () => {
  // No stdout reader: the wait finds the runtime's epoll set through the socket instead.
  const marker = await compileC("tests/fixtures/marker_timing.c");
  const { code, stderr, document } = await runCliJson([
    "profile",
    "--no-stdout-tokens",
    "--",
    marker,
    "channel",
    "300",
    "1000",
  ]);
  assert.equal(code, 0, stderr);
  const tokens = document.phases.map((phase: { end_token: string }) => phase.end_token);
  assert.deepEqual(tokens, [...Array.from({ length: 300 }, (_, i) => `__MARK_${i}__`), "END"]);
  // Each marker's boundary comes after the program stamped it (its stderr: "token i ns cost").
  const stamps = [...stderr.matchAll(/^token (\d+) (\d+) /gm)].map((m) => Number(m[2]));
  assert.equal(stamps.length, 300);
  document.phases.slice(0, 300).forEach((phase: { end_ns: number }, i: number) => {
    assert.ok(phase.end_ns > stamps[i]!, `marker ${i} measured before it was written`);
  });
});
