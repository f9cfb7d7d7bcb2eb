/**
 * Entry point of the `joule-profiler` CLI:
 * `deno run -A main.ts [global flags] <profile|list-sensors> ...`.
 *
 * @module
 */

import { main } from "./src/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
