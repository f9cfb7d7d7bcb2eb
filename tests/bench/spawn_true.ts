/**
 * Runs `true` the least a Deno profiler must: spawned with its stdout piped,
 * read to the end, its exit awaited. The performance report times `deno run`
 * of this file beside the empty script: what any profiler on this runtime
 * pays to start and wait for a program, before loading its own code.
 *
 * @module
 */

const child = new Deno.Command("true", { stdout: "piped" }).spawn();
for await (const _ of child.stdout) {
  // Drained only: `true` writes nothing.
}
await child.status;
