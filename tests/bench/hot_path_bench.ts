/**
 * Micro-benchmarks of the work done between a token arriving and its
 * measurement: scanning a stdout chunk, stamping the clock, recording a
 * boundary. Run with `deno task bench`.
 *
 * @module
 */

import { stampMonotonic } from "../../src/clock.ts";
import { SourceOrchestrator } from "../../src/orchestrator.ts";
import { BoundaryLog } from "../../src/phase/boundary_log.ts";
import { DEFAULT_TOKEN_PATTERN } from "../../src/phase/token_pattern.ts";
import { TokenScanner } from "../../src/phase/token_scanner.ts";

const encoder = new TextEncoder();
const line = "some ordinary output line of a program, about sixty bytes\n";
const plainChunk = encoder.encode(line.repeat(Math.floor(65536 / line.length)));
const tokenChunk = encoder.encode("__PHASE_1__\n");

// Scanners are made once: making one compiles nothing but instantiates its search module.
const scanner = new TokenScanner(DEFAULT_TOKEN_PATTERN);
Deno.bench("TokenScanner.push: 64 KiB of plain lines", { group: "scan" }, () => {
  scanner.push(plainChunk);
});

Deno.bench("TokenScanner.push: one token line", { group: "scan", baseline: true }, () => {
  scanner.push(tokenChunk);
});

// Pseudo-random bytes without newlines: one long line, "__" about every 64 KiB.
const binaryChunk = new Uint8Array(1 << 20);
for (let i = 0, seed = 1; i < binaryChunk.length; i++) {
  seed = (seed * 1103515245 + 12345) >>> 0;
  const byte = seed >>> 24;
  binaryChunk[i] = byte === 10 ? 32 : byte;
}
const longLineScanner = new TokenScanner(DEFAULT_TOKEN_PATTERN);
Deno.bench("TokenScanner.push: 1 MiB of one binary line", { group: "scan" }, () => {
  longLineScanner.push(binaryChunk);
});

const slots = new Float64Array(2);
Deno.bench("stampMonotonic (FFI clock_gettime)", { group: "boundary" }, () => {
  stampMonotonic(slots, 0);
});

const log = new BoundaryLog();
Deno.bench("BoundaryLog.record", { group: "boundary" }, () => {
  log.record("__PHASE_1__", 1);
});

const orchestrator = new SourceOrchestrator([]);
orchestrator.measure();
Deno.bench("boundary with no source: record + measure + retrieve", { group: "boundary" }, () => {
  log.record("__PHASE_1__", 1);
  orchestrator.measure();
  orchestrator.retrieve();
});
