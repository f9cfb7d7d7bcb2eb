import assert from "node:assert/strict";
import { refuseSharedDestinations, ResultFile } from "../src/output/result_file.ts";
import { UsageError } from "../src/errors.ts";
import { listDir, runCli } from "./helpers.ts";

// An attacker (uid 65534, unprivileged) plants links in a world-writable
// sticky folder; the profiler runs as root. Each case runs with the kernel's
// fs.protected_symlinks off and on: the profiler's checks must not depend on it.

const NOBODY = 65534;
const PROTECTED_SYMLINKS = "/proc/sys/fs/protected_symlinks";
const isRoot = Deno.uid() === 0;

async function asNobody(...command: string[]): Promise<void> {
  const out = await new Deno.Command("setpriv", {
    args: [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", ...command],
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

/** A world-writable sticky folder like /tmp, and a root-only folder with a precious file. */
async function scene(): Promise<{ sticky: string; victim: string; vault: string }> {
  const sticky = await Deno.makeTempDir({ prefix: "jp-sticky-" });
  await Deno.chmod(sticky, 0o1777);
  const vault = await Deno.makeTempDir({ prefix: "jp-vault-" }); // 0700 root
  const victim = `${vault}/precious`;
  await Deno.writeTextFile(victim, "precious\n");
  await Deno.chmod(victim, 0o600);
  return { sticky, victim, vault };
}

async function withProtectedSymlinks(value: "0" | "1", body: () => Promise<void>) {
  const before = (await Deno.readTextFile(PROTECTED_SYMLINKS)).trim();
  await Deno.writeTextFile(PROTECTED_SYMLINKS, value);
  try {
    await body();
  } finally {
    await Deno.writeTextFile(PROTECTED_SYMLINKS, before);
  }
}

async function assertUntouched(victim: string): Promise<void> {
  assert.equal(await Deno.readTextFile(victim), "precious\n");
  const info = await Deno.stat(victim);
  assert.equal(info.mode! & 0o777, 0o600, "mode unchanged");
  assert.equal(info.uid, 0, "still root's");
}

const OUTPUTS: [string, string[]][] = [
  ["x.json", ["--json", "-o", "@", "profile", "--", "true"]],
  ["x.txt", ["--json", "-o", "-", "profile", "--stdout-file", "@", "--", "echo", "hi"]],
  ["x.md", ["--json", "-o", "-", "profile", "--export-markdown", "@", "--", "true"]],
  ["x.csv", ["--json", "-o", "-", "profile", "--samples-csv", "@", "--", "true"]],
  ["x.svg", ["--json", "-o", "-", "profile", "--timeline", "@", "--", "true"]],
  ["x.prom", ["--json", "-o", "-", "profile", "--openmetrics", "@", "--", "true"]],
];

for (const setting of ["0", "1"] as const) {
  Deno.test({
    name: `a link planted by uid 65534 in a sticky folder is never written through, by any ` +
      `output (protected_symlinks=${setting})`,
    ignore: !isRoot,
    fn: () =>
      withProtectedSymlinks(setting, async () => {
        const { sticky, victim } = await scene();
        for (const [name, args] of OUTPUTS) {
          const link = `${sticky}/${name}`;
          await asNobody("ln", "-s", victim, link);
          const out = await runCli(args.map((arg) => arg === "@" ? link : arg));
          assert.equal(out.code, 2, `${name}: ${out.stderr}`);
          assert.match(out.stderr, /symbolic link of uid 65534 in a world-writable sticky folder/);
          await assertUntouched(victim);
          assert.ok((await Deno.lstat(link)).isSymlink, "the planted link is left alone");
        }
        assert.deepEqual(await listDir(sticky), OUTPUTS.map(([name]) => name).sort());
      }),
  });

  Deno.test({
    name:
      `a folder link planted by uid 65534 is not followed either (protected_symlinks=${setting})`,
    ignore: !isRoot,
    fn: () =>
      withProtectedSymlinks(setting, async () => {
        const { sticky, vault, victim } = await scene();
        await asNobody("ln", "-s", vault, `${sticky}/d`);
        const out = await runCli(["--json", "-o", `${sticky}/d/precious`, "profile", "--", "true"]);
        assert.equal(out.code, 2, out.stderr);
        assert.match(out.stderr, /'d' is a symbolic link of uid 65534/);
        await assertUntouched(victim);
        assert.deepEqual(await listDir(vault), ["precious"]);
      }),
  });

  Deno.test({
    name: `the invoking user's own link in a sticky folder keeps working under sudo; the file ` +
      `keeps its mode and owner (protected_symlinks=${setting})`,
    ignore: !isRoot,
    fn: () =>
      withProtectedSymlinks(setting, async () => {
        const { sticky } = await scene();
        const home = await Deno.makeTempDir({ prefix: "jp-home-" });
        await Deno.chown(home, NOBODY, NOBODY);
        await asNobody(
          "sh",
          "-c",
          `umask 077; echo old > ${home}/r.json; chmod 640 ${home}/r.json`,
        );
        await asNobody("ln", "-s", `${home}/r.json`, `${sticky}/mine.json`);
        const out = await runCli(["--json", "-o", `${sticky}/mine.json`, "profile", "--", "true"], {
          cwd: sticky,
          env: { SUDO_UID: String(NOBODY), SUDO_GID: String(NOBODY), SUDO_USER: "nobody" },
        });
        assert.equal(out.code, 0, out.stderr);
        assert.ok((await Deno.lstat(`${sticky}/mine.json`)).isSymlink, "the link stays");
        const written = await Deno.stat(`${home}/r.json`);
        assert.equal(written.mode! & 0o777, 0o640, "mode kept");
        assert.equal(written.uid, NOBODY, "owner kept");
        assert.ok(JSON.parse(await Deno.readTextFile(`${home}/r.json`)));
      }),
  });
}

Deno.test({
  name: "root's link of its own is followed without sudo (the invoking user is root)",
  ignore: !isRoot,
  fn: async () => {
    const { sticky, vault } = await scene();
    await Deno.symlink(`${vault}/out.json`, `${sticky}/root.json`);
    ResultFile.prepare(`${sticky}/root.json`).commit("{}\n");
    assert.equal(await Deno.readTextFile(`${vault}/out.json`), "{}\n");
  },
});

Deno.test({
  name: "a replaced file keeps its mode (0600 stays 0600) and a new one is fchowned to the owner",
  ignore: !isRoot,
  fn: async () => {
    const directory = await Deno.makeTempDir();
    await Deno.writeTextFile(`${directory}/keep.json`, "old\n", { mode: 0o600 });
    await Deno.chmod(`${directory}/keep.json`, 0o600);
    ResultFile.prepare(`${directory}/keep.json`).commit("new\n", { uid: NOBODY, gid: NOBODY });
    const kept = await Deno.stat(`${directory}/keep.json`);
    assert.equal(kept.mode! & 0o777, 0o600);
    assert.equal(kept.uid, 0, "a replaced file keeps its owner");
    ResultFile.prepare(`${directory}/new.json`).commit("new\n", { uid: NOBODY, gid: NOBODY });
    assert.equal((await Deno.stat(`${directory}/new.json`)).uid, NOBODY);
  },
});

Deno.test({
  name: "ResultFile.prepare() follows a link only for its owner, in a shared folder",
  ignore: !isRoot,
  fn: async () => {
    const { sticky, victim } = await scene();
    const made = await new Deno.Command("setpriv", {
      args: [
        "--reuid=1234",
        "--regid=1234",
        "--clear-groups",
        "ln",
        "-s",
        victim,
        `${sticky}/l.json`,
      ],
    }).output();
    assert.ok(made.success);
    assert.throws(
      () => ResultFile.prepare(`${sticky}/l.json`, { invokingUid: 0 }),
      (error: unknown) => error instanceof UsageError && /uid 1234/.test(error.message),
    );
    ResultFile.prepare(`${sticky}/l.json`, { invokingUid: 1234 }).discard();
    // A default name is replaced itself, link or not.
    ResultFile.prepare(`${sticky}/l.json`, { followSymlinks: false, invokingUid: 0 }).commit("x\n");
    assert.equal((await Deno.lstat(`${sticky}/l.json`)).isFile, true);
    await assertUntouched(victim);
  },
});

Deno.test("refuseSharedDestinations() names both options when two outputs are one file", async () => {
  const directory = await Deno.makeTempDir();
  await Deno.mkdir(`${directory}/sub`);
  await Deno.symlink(`${directory}/out.json`, `${directory}/alias.json`);
  assert.throws(
    () =>
      refuseSharedDestinations([
        { option: "-o", path: `${directory}/out.json` },
        { option: "--stdout-file", path: `${directory}/sub/../out.json` },
      ]),
    /-o '.*out\.json' and --stdout-file '.*sub\/\.\.\/out\.json' name the same file/,
  );
  assert.throws(
    () =>
      refuseSharedDestinations([
        { option: "--timeline", path: `${directory}/alias.json` },
        { option: "--export-markdown", path: `${directory}/out.json` },
      ]),
    /name the same file/,
  );
  refuseSharedDestinations([
    { option: "-o", path: "/dev/null" },
    { option: "--stdout-file", path: "/dev/null" },
    { option: "--timeline", path: `${directory}/a.svg` },
  ]);
  assert.deepEqual(await listDir(directory), ["alias.json", "sub"], "nothing written");
});

Deno.test("profile refuses the same path for two outputs before running the program", async () => {
  const cwd = await Deno.makeTempDir();
  await Deno.writeTextFile(`${cwd}/same.txt`, "old\n");
  const out = await runCli(
    ["--json", "-o", "same.txt", "profile", "--stdout-file", "./same.txt", "--", "touch", "ran"],
    { cwd },
  );
  assert.equal(out.code, 2, out.stderr);
  assert.match(out.stderr, /-o 'same\.txt' and --stdout-file '\.\/same\.txt' name the same file/);
  assert.deepEqual(await listDir(cwd), ["same.txt"], "the program did not run");
  assert.equal(await Deno.readTextFile(`${cwd}/same.txt`), "old\n");
});

Deno.test("a full disk on the program's stdout file warns, keeps measuring and writes results", async () => {
  const cwd = await Deno.makeTempDir();
  const out = await runCli([
    "--json",
    "-o",
    "r.json",
    "profile",
    "--stdout-file",
    "/dev/full",
    "--",
    "sh",
    "-c",
    "echo __A__; echo __B__; echo after > done",
  ], { cwd });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, /cannot write the program's stdout to '\/dev\/full'.*ENOSPC/);
  assert.match(out.stderr, /stopped copying it/);
  const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
  const phases = JSON.stringify(document);
  assert.match(phases, /__A__/, "tokens after the failed write are still measured");
  assert.match(phases, /__B__/);
  assert.equal(await Deno.readTextFile(`${cwd}/done`), "after\n", "the program ran to its end");
});

Deno.test("/dev/stdout and /dev/stderr name the profiler's own descriptors: written to directly", async () => {
  const out = await runCli([
    "--json",
    "-o",
    "/dev/stdout",
    "profile",
    "--stdout-file",
    "/dev/null",
    "--",
    "echo",
    "__A__",
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(JSON.parse(out.stdoutText).phases.length, 2);
  const err = await runCli(["--json", "-o", "/dev/stderr", "profile", "--", "true"]);
  assert.equal(err.code, 0, err.stderr);
  assert.match(err.stderr, /"token_pattern"/);
  const closed = await runCli(["--json", "-o", "/dev/fd/987", "profile", "--", "true"]);
  assert.equal(closed.code, 2);
  assert.match(closed.stderr, /descriptor 987 is not open/);
});
