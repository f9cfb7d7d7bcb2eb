import assert from "node:assert/strict";
import { ResultFile, writeText } from "../src/output/result_file.ts";
import { UsageError } from "../src/errors.ts";
import { listDir } from "./helpers.ts";

Deno.test("ResultFile writes the whole file and leaves no temporary behind", async () => {
  const directory = await Deno.makeTempDir();
  const file = ResultFile.prepare(`${directory}/out.json`);
  assert.deepEqual((await listDir(directory)).length, 1); // the reserved temporary
  file.commit("{}\n");
  assert.deepEqual(await listDir(directory), ["out.json"]);
  assert.equal(await Deno.readTextFile(`${directory}/out.json`), "{}\n");
});

Deno.test("ResultFile.prepare() refuses a missing directory, a directory and a bad name", async () => {
  const directory = await Deno.makeTempDir();
  assert.throws(
    () => ResultFile.prepare(`${directory}/missing/out.json`),
    (error: unknown) =>
      error instanceof UsageError && /directory '.*missing' does not exist/.test(error.message),
  );
  assert.throws(() => ResultFile.prepare(directory), /is a directory/);
  assert.throws(() => ResultFile.prepare(`${directory}/`), /not a file name/);
  assert.deepEqual(await listDir(directory), []);
});

Deno.test("ResultFile.discard() keeps the previous file untouched", async () => {
  const directory = await Deno.makeTempDir();
  await Deno.writeTextFile(`${directory}/out.csv`, "old\n");
  const file = ResultFile.prepare(`${directory}/out.csv`);
  file.discard();
  assert.deepEqual(await listDir(directory), ["out.csv"]);
  assert.equal(await Deno.readTextFile(`${directory}/out.csv`), "old\n");
});

Deno.test("ResultFile replaces a planted symlink instead of writing through it", async () => {
  const directory = await Deno.makeTempDir();
  await Deno.writeTextFile(`${directory}/victim`, "precious\n");
  await Deno.symlink(`${directory}/victim`, `${directory}/data1.json`);
  ResultFile.prepare(`${directory}/data1.json`, { followSymlinks: false }).commit("{}\n");
  assert.equal(await Deno.readTextFile(`${directory}/victim`), "precious\n");
  assert.equal((await Deno.lstat(`${directory}/data1.json`)).isSymlink, false);
});

Deno.test("ResultFile writes straight to a device or FIFO and never replaces it", async () => {
  const directory = await Deno.makeTempDir();
  const fifo = `${directory}/results.fifo`;
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.ok(made.success);
  const reader = Deno.open(fifo, { read: true }).then(async (file) => {
    const text = await new Response(file.readable).text();
    return text;
  });
  const file = ResultFile.prepare(fifo);
  file.commit("through the fifo\n");
  assert.equal(await reader, "through the fifo\n");
  assert.ok((await Deno.lstat(fifo)).isFifo, "still a FIFO");
  ResultFile.prepare("/dev/null").commit("discarded\n");
  const devNull = await Deno.lstat("/dev/null");
  assert.ok(devNull.isCharDevice, "/dev/null is still a device");
  assert.deepEqual((await listDir(directory)).length, 1);
});

Deno.test("ResultFile follows an explicit symlink and replaces the file it names", async () => {
  const directory = await Deno.makeTempDir();
  await Deno.mkdir(`${directory}/real`);
  await Deno.writeTextFile(`${directory}/real/out.json`, "old\n");
  await Deno.symlink(`${directory}/real/out.json`, `${directory}/link.json`);
  ResultFile.prepare(`${directory}/link.json`).commit("new\n");
  assert.ok((await Deno.lstat(`${directory}/link.json`)).isSymlink, "the link stays");
  assert.equal(await Deno.readTextFile(`${directory}/real/out.json`), "new\n");
});

Deno.test("writeText writes pieces as the UTF-8 of their joined text, pairs split across pieces included", () => {
  const pieces = [
    "phase;µJ;",
    "x".repeat(70_000),
    "a\ud83d",
    "\ude00b",
    ...Array.from({ length: 5_000 }, (_, i) => `${i};é€;\n`),
    "end\ud83d",
  ];
  const written: Uint8Array[] = [];
  // A writer that takes at most 1000 bytes a call, as a pipe may.
  writeText({
    writeSync(bytes: Uint8Array): number {
      const taken = bytes.slice(0, 1000);
      written.push(taken);
      return taken.length;
    },
  }, pieces);
  const bytes = new Uint8Array(written.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of written) {
    bytes.set(part, offset);
    offset += part.length;
  }
  assert.deepEqual(bytes, new TextEncoder().encode(pieces.join("")));
});
