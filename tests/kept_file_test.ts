/**
 * Kept files read whole: `/proc` files the kernel writes a page at a time
 * (`seq_file`) come back in several reads, the buffer grows to hold them.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  MAX_WHOLE_READ_BYTES,
  openKeptFile,
  readKeptFile,
  readWholeKeptFile,
} from "../src/ffi/kept_file.ts";
import { libc } from "../src/ffi/libc.ts";

/** A Python process that loaded enough modules for a `maps` of several pages, then sleeps. */
async function idlePython(): Promise<{ pid: number; stop: () => Promise<void> }> {
  const child = new Deno.Command("python3", {
    args: [
      "-c",
      "import json, decimal, ssl, sqlite3, asyncio\nprint('ready', flush=True)\nimport time; time.sleep(30)",
    ],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  assert.match(new TextDecoder().decode((await reader.read()).value), /ready/);
  return {
    pid: child.pid,
    stop: async () => {
      child.kill("SIGKILL");
      await reader.cancel();
      await child.status;
    },
  };
}

Deno.test("readWholeKeptFile reads a /proc file of several pages whole, where one read gives a page", async () => {
  const python = await idlePython();
  const fd = openKeptFile(`/proc/${python.pid}/maps`);
  try {
    const text = Deno.readTextFileSync(`/proc/${python.pid}/maps`);
    assert.ok(text.length > 3 * 4096, `maps of ${text.length} bytes`);
    // One read, even into a buffer that could hold it all, stops at the kernel's page.
    const once = readKeptFile(fd, new Uint8Array(1 << 20));
    assert.ok(once < text.length, `one read gave ${once} of ${text.length} bytes`);
    let buffer = new Uint8Array(1024);
    const sizes: number[] = [];
    const length = readWholeKeptFile(fd, buffer, (bytes) => {
      sizes.push(bytes);
      return buffer = new Uint8Array(bytes);
    });
    assert.equal(new TextDecoder().decode(buffer.subarray(0, length)), text);
    // Doubled each time, and kept: a second read needs no larger buffer.
    assert.deepEqual(sizes, sizes.map((_, i) => 2048 << i));
    const kept = buffer;
    assert.equal(readWholeKeptFile(fd, buffer, () => assert.fail("grown again")), length);
    assert.equal(buffer, kept);
  } finally {
    libc().close(fd);
    await python.stop();
  }
});

Deno.test("readWholeKeptFile: a short file in one read, a missing one as -1, a huge one up to the bound", async () => {
  const fd = openKeptFile("/proc/self/stat");
  let buffer = new Uint8Array(4096);
  try {
    const length = readWholeKeptFile(fd, buffer, () => assert.fail("grown for a short file"));
    assert.equal(new TextDecoder().decode(buffer.subarray(0, length)).split(" ")[0], `${Deno.pid}`);
  } finally {
    libc().close(fd);
  }
  assert.equal(readWholeKeptFile(-1, buffer, () => buffer), -1);
  // A regular file past the bound: read up to the bound, no further.
  const path = await Deno.makeTempFile();
  try {
    const file = await Deno.open(path, { write: true });
    await file.truncate(MAX_WHOLE_READ_BYTES + 4096);
    file.close();
    const big = openKeptFile(path);
    const length = readWholeKeptFile(big, buffer, (bytes) => buffer = new Uint8Array(bytes));
    libc().close(big);
    assert.equal(length, MAX_WHOLE_READ_BYTES);
    assert.equal(buffer.length, MAX_WHOLE_READ_BYTES);
  } finally {
    await Deno.remove(path);
  }
});
