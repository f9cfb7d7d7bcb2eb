/**
 * A yardstick for the token-latency figure: Deno reading a child's stdout
 * with a blocking read(2) on its main thread, outside the runtime's event
 * loop, as the C reader (tests/fixtures/pipe_reader.c) does. It prints what
 * that reader prints: the CLOCK_MONOTONIC time at which each of the first
 * 100,000 newlines arrived (`line <ns>`) and when the end was read
 * (`eof <ns>`), after the end, so printing never delays a read.
 *
 * The difference to a Deno process reading through the runtime's stream
 * (tests/bench/pipe_read.ts) is the event loop's delivery of a read; the
 * difference to the C reader is what is left of Deno's own.
 *
 * `deno run -A main_thread_read.ts <program> [args...]`
 *
 * @module
 */

import { libc } from "../../src/ffi/libc.ts";
import { monotonicNs } from "../../src/clock.ts";

const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
const MAX_LINES = 100_000;

const [program, ...args] = Deno.args;
if (program === undefined) {
  console.error("usage: main_thread_read.ts <program> [args...]");
  Deno.exit(2);
}
const child = new Deno.Command(program, { args, stdout: "piped", stderr: "inherit" }).spawn();

/** This process's descriptor of the pipe the child writes its stdout to (see `pipe:[inode]`). */
function pipeDescriptor(pid: number): number {
  const pipe = Deno.readLinkSync(`/proc/${pid}/fd/1`);
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${entry.name}`) === pipe) return Number(entry.name);
    } catch {
      // The listing's own descriptor, closed by now.
    }
  }
  throw new Error(`no descriptor of ${pipe} in this process`);
}

// A copy of the descriptor survives the stream's cancel, which closes the runtime's and stops
// it watching the pipe: from here only this thread reads it.
const fd = libc().dup(pipeDescriptor(child.pid));
if (fd < 0) throw new Error("dup failed");
await child.stdout.cancel();
const flags = libc().fcntl(fd, F_GETFL, 0);
if (flags < 0 || libc().fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
  throw new Error("fcntl failed");
}

const buffer = new Uint8Array(1 << 20);
const arrivals = new Float64Array(MAX_LINES);
let lines = 0;
let eof = 0n;
for (;;) {
  const got = Number(libc().read(fd, buffer, BigInt(buffer.length)));
  const at = monotonicNs();
  if (got < 0) throw new Error("read failed");
  if (got === 0) {
    eof = at;
    break;
  }
  for (let i = 0; i < got; i++) {
    if (buffer[i] === 10 && lines < MAX_LINES) arrivals[lines++] = Number(at);
  }
}
libc().close(fd);
await child.status;
const out: string[] = [];
for (let i = 0; i < lines; i++) out.push(`line ${arrivals[i]}`);
out.push(`eof ${eof}`);
console.log(out.join("\n"));
