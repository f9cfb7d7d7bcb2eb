/**
 * statx(2) through FFI (src/ffi/file_status.ts): what the phase channel and
 * the result files read of an open file.
 */
import assert from "node:assert/strict";
import { fileStatus, modifiedAtEpoch, pathMode } from "../src/ffi/file_status.ts";
import { openKeptFile } from "../src/ffi/kept_file.ts";
import { libc } from "../src/ffi/libc.ts";

Deno.test("fileStatus() and modifiedAtEpoch() read an open file's times and owner", async () => {
  const path = await Deno.makeTempFile();
  const fd = openKeptFile(path);
  try {
    const status = fileStatus(fd);
    assert.equal(status.uid, Deno.uid());
    assert.equal((status.mode & 0o170000) === 0o100000, true, "a regular file");
    assert.equal(modifiedAtEpoch(fd), false, "a new file was just modified");
    // The epoch, as the phase channel marks its FIFO at START.
    await Deno.utime(path, 0, 0);
    assert.equal(modifiedAtEpoch(fd), true);
    assert.equal(fileStatus(fd).mtimeNs, 0n);
    await Deno.writeTextFile(path, "x");
    assert.equal(modifiedAtEpoch(fd), false, "a write sets the time again");
  } finally {
    libc().close(fd);
    await Deno.remove(path);
  }
});

Deno.test("modifiedAtEpoch() of a closed descriptor is a SyscallError (EBADF)", () => {
  assert.throws(() => modifiedAtEpoch(1_000_000), (error: Error) => /EBADF/.test(error.message));
});

Deno.test("pathMode() gives st_mode with links followed, or -errno without throwing", async () => {
  const folder = await Deno.makeTempDir();
  await Deno.writeTextFile(`${folder}/file`, "x", { mode: 0o640 });
  await Deno.symlink(folder, `${folder}/to-folder`);
  await Deno.symlink(`${folder}/loop`, `${folder}/loop`);
  assert.equal(pathMode(`${folder}/file`), 0o100640);
  assert.equal(pathMode(`${folder}/to-folder`) & 0o170000, 0o040000, "the link is followed");
  assert.equal(pathMode(`${folder}/missing`), -2); // ENOENT
  assert.equal(pathMode(`${folder}/file/below`), -20); // ENOTDIR
  assert.equal(pathMode(`${folder}/loop`), -40); // ELOOP
  await Deno.remove(folder, { recursive: true });
});
