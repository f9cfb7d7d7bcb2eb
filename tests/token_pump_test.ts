import assert from "node:assert/strict";
import { TokenPump } from "../src/phase/token_pump.ts";
import { TokenScanner } from "../src/phase/token_scanner.ts";
import { DEFAULT_TOKEN_PATTERN } from "../src/phase/token_pattern.ts";
import { DiscardSink } from "../src/process/byte_sink.ts";
import { ProgramProcess } from "../src/process/program_process.ts";
import { libc } from "../src/ffi/libc.ts";

const encoder = new TextEncoder();

/** A byte stream the test writes to and closes by hand. */
function controlledStream(): {
  stream: ReadableStream<Uint8Array>;
  write(text: string): void;
  close(): void;
} {
  let controller!: ReadableByteStreamController;
  const stream = new ReadableStream({
    type: "bytes",
    start(c) {
      controller = c;
    },
  });
  return {
    stream,
    write: (text) => controller.enqueue(encoder.encode(text)),
    close: () => {
      controller.close();
      controller.byobRequest?.respond(0);
    },
  };
}

function pumpOf(stream: ReadableStream<Uint8Array>, tokens: string[]): TokenPump {
  return new TokenPump({
    reader: stream.getReader({ mode: "byob" }),
    scanner: new TokenScanner(DEFAULT_TOKEN_PATTERN),
    boundary: (token) => {
      tokens.push(token);
    },
    sink: new DiscardSink(),
    reportLines: true,
  });
}

Deno.test("TokenPump.drain() ends with the stream, not with its quiet timer", async () => {
  const source = controlledStream();
  const pump = pumpOf(source.stream, []);
  const running = pump.run();
  const started = performance.now();
  const drained = pump.drain(10_000, 20_000);
  setTimeout(() => source.close(), 5);
  assert.equal(await drained, true);
  // The quiet timer was 10 s: ending long before it means the end of the stream woke drain().
  assert.ok(performance.now() - started < 5_000);
  await running;
});

Deno.test("TokenPump.drain() reports a stream held open and quiet", async () => {
  const source = controlledStream();
  const pump = pumpOf(source.stream, []);
  const running = pump.run();
  assert.equal(await pump.drain(5, 50), false);
  await pump.cancel();
  await running;
});

Deno.test("TokenPump.activity() wakes once a chunk's boundaries were taken", async () => {
  const source = controlledStream();
  const tokens: string[] = [];
  const pump = pumpOf(source.stream, tokens);
  const running = pump.run();
  const woken = pump.activity(10_000);
  source.write("x\n__A__\n");
  assert.equal(await woken, true);
  assert.deepEqual(tokens, ["__A__"]);
  assert.equal(await pump.activity(5), false);
  source.close();
  await running;
  assert.equal(await pump.activity(10_000), true);
});

Deno.test("a held program's stdout pipe is grown to 1 MiB (or the system's most)", async () => {
  const most = Number(Deno.readTextFileSync("/proc/sys/fs/pipe-max-size"));
  const program = ProgramProcess.spawnHeld({
    executable: "/bin/sh",
    args: ["-c", "exit 0"],
    stdout: "piped",
  });
  await program.untilHeld();
  try {
    const pipe = Deno.readLinkSync(`/proc/${program.pid}/fd/1`);
    let size = -1;
    for (const entry of Deno.readDirSync("/proc/self/fd")) {
      try {
        if (Deno.readLinkSync(`/proc/self/fd/${entry.name}`) !== pipe) continue;
      } catch {
        continue;
      }
      size = libc().fcntl(Number(entry.name), 1032, /* F_GETPIPE_SZ */ 0);
    }
    assert.equal(size, Deno.uid() === 0 ? 1 << 20 : Math.min(1 << 20, most));
  } finally {
    program.resume();
    await program.stdout!.cancel();
    await program.exit;
  }
});

Deno.test("TokenPump reads what waits in the pipe directly: bytes exact, tokens on their lines", async () => {
  // Everything is written before reading starts, so after the first read through the
  // stream the rest is taken with read(2) in buffer-sized pieces.
  const program = ProgramProcess.spawnHeld({
    executable: "/bin/sh",
    args: [
      "-c",
      "printf '__A__\\n'; head -c 300000 /dev/zero | tr '\\0' x; printf '\\n__B__\\nend'",
    ],
    stdout: "piped",
  });
  assert.ok(program.stdoutFd !== undefined, "the pipe's descriptor was found");
  await program.untilHeld();
  program.resume();
  await program.exit;
  const received: Uint8Array[] = [];
  const found: [string, number][] = [];
  const scanner = new TokenScanner(DEFAULT_TOKEN_PATTERN);
  const pump = new TokenPump({
    reader: program.stdout!.getReader({ mode: "byob" }),
    scanner,
    boundary: (token, line) => {
      found.push([token, line]);
    },
    sink: {
      broken: false,
      atLineStart: true,
      write: (bytes) => received.push(bytes.slice()),
      close: () => {},
    },
    reportLines: true,
    readBufferBytes: 16 * 1024,
    fd: program.stdoutFd,
  });
  await pump.run();
  const text = new TextDecoder().decode(new Uint8Array(received.flatMap((chunk) => [...chunk])));
  assert.equal(text, `__A__\n${"x".repeat(300000)}\n__B__\nend`);
  assert.ok(received.length > 2, `${received.length} chunks`);
  assert.deepEqual(found, [["__A__", 0], ["__B__", 2]]);
});

Deno.test("TokenPump numbers reads: the tokens of one read share its number", async () => {
  const { stream, write, close } = controlledStream();
  const seen: [string, number][] = [];
  const pump = new TokenPump({
    reader: stream.getReader({ mode: "byob" }),
    scanner: new TokenScanner(DEFAULT_TOKEN_PATTERN),
    boundary: (token, _line, read) => {
      seen.push([token, read]);
    },
    sink: new DiscardSink(),
    reportLines: true,
  });
  const running = pump.run();
  write("__A__\nwork\n__B__\n__C__\n");
  await pump.activity(1000);
  write("__D__\n");
  await pump.activity(1000);
  close();
  await running;
  assert.deepEqual(seen.map(([token]) => token), ["__A__", "__B__", "__C__", "__D__"]);
  const reads = seen.map(([, read]) => read);
  assert.equal(reads[0], reads[1]);
  assert.equal(reads[1], reads[2]);
  assert.ok(reads[3]! > reads[2]!);
});
