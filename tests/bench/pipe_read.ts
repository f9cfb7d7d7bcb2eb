/**
 * Deno alone reading a child's stdout to its end and doing nothing with it,
 * as the profiler's reader does (BYOB reads of up to 1 MiB): the yardstick
 * for the profiler's passthrough CPU in the performance report.
 * `deno run -A pipe_read.ts <program> [args...]`
 *
 * @module
 */

const [program, ...args] = Deno.args;
const child = new Deno.Command(program!, { args, stdout: "piped", stderr: "inherit" }).spawn();
const reader = child.stdout.getReader({ mode: "byob" });
let buffer = new ArrayBuffer(1 << 20);
for (;;) {
  const { value, done } = await reader.read(new Uint8Array(buffer));
  if (done || value === undefined) break;
  buffer = value.buffer;
}
await child.status;
