/**
 * The runtime's own cost of waking up on a timer, for the performance
 * report's sampling yardstick: `deno run timer_loop.ts <intervalMs> <seconds>`
 * sets a timer for each deadline `start + k × interval` (as the sampler
 * does) and does nothing else; an interval of 0 sleeps once.
 *
 * @module
 */

const [intervalMs = 10, seconds = 2] = Deno.args.map(Number);
const start = performance.now();
const end = start + seconds * 1000;
if (intervalMs <= 0) {
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
} else {
  let next = 1;
  while (performance.now() < end) {
    const deadline = start + next * intervalMs;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - performance.now())));
    next = Math.floor((performance.now() - start) / intervalMs) + 1;
  }
}
