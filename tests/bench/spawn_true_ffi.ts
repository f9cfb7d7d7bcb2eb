/**
 * Runs `true` as {@link ./spawn_true.ts} does, without the runtime's process
 * and stream code: `posix_spawn(3)` through the profiler's libc bindings,
 * its stdout on a pipe read with `read(2)` to the end on the main thread,
 * its exit reaped with `waitid(2)` on a runtime thread. The performance
 * report times it beside spawn_true.ts: whether a profiler that spawned
 * and read that way would start measurably sooner.
 *
 * `deno run -A spawn_true_ffi.ts /usr/bin/true`
 *
 * @module
 */

import { cString, libc } from "../../src/ffi/libc.ts";
import { openPipe, reapProcess } from "../../src/ffi/posix_spawn.ts";

const [path] = Deno.args;
if (path === undefined) {
  console.error("usage: spawn_true_ffi.ts <absolute path of true>");
  Deno.exit(2);
}
const c = libc();
const [readFd, writeFd] = openPipe();
const actions = new Uint8Array(256); // room for glibc's posix_spawn_file_actions_t (80 bytes)
c.posix_spawn_file_actions_init(actions);
c.posix_spawn_file_actions_adddup2(actions, writeFd, 1);
const program = cString(path);
const argv = new BigUint64Array([
  BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(program))),
  0n,
]);
const env = new BigUint64Array([0n]);
const pid = new Int32Array(1);
const failed = c.posix_spawn(
  new Uint8Array(pid.buffer),
  program,
  actions,
  null, // no attributes
  new Uint8Array(argv.buffer),
  new Uint8Array(env.buffer),
);
c.posix_spawn_file_actions_destroy(actions);
if (failed !== 0) throw new Error(`posix_spawn ${path}: error ${failed}`);
c.close(writeFd);
const buffer = new Uint8Array(64 * 1024);
while (Number(c.read(readFd, buffer, BigInt(buffer.length))) > 0) {
  // Drained only: `true` writes nothing.
}
c.close(readFd);
await reapProcess(pid[0]!);
