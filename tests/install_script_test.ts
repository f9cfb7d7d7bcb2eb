/**
 * scripts/install.sh and scripts/uninstall.sh against a fake release served on 127.0.0.1,
 * packed by scripts/package_release.sh as the release workflow packs it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname } from "node:path";
import denoConfig from "../deno.json" with { type: "json" };
import { listDir, REPO_ROOT } from "./helpers.ts";
import { bundleCli } from "../scripts/bundle.ts";
import {
  assetName,
  buildFakeReleases,
  capabilitiesOf,
  FAKE_TAGS,
  fakeUname,
  fakeVersionLine,
  HOST_TARGET,
  type ReleaseServer,
  runScript,
  runScriptInTerminal,
  type ScriptOutput,
  SCRIPTS_DIR,
  serveRelease,
  versionOf,
} from "./release_fixture.ts";

let releases: Promise<string> | undefined;

async function withRelease(
  test: (server: ReleaseServer) => Promise<void>,
  latest: string | null = "v0.1.0",
): Promise<void> {
  releases ??= buildFakeReleases();
  const server = serveRelease({ root: await releases, tags: FAKE_TAGS, latest });
  try {
    await test(server);
  } finally {
    await server.close();
  }
}

function assertExit(output: ScriptOutput, code: number): void {
  assert.equal(output.signal, null, `the script was killed (waiting for input?): ${output.stderr}`);
  assert.equal(
    output.code,
    code,
    `exit ${output.code}\nstdout: ${output.stdout}\nstderr: ${output.stderr}`,
  );
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "jp-install-" });
}

function downloads(server: ReleaseServer): string[] {
  return server.requests.filter((path) => path.includes("/download/"));
}

Deno.test("install.sh installs the latest release into --dir and runs it", async () => {
  await withRelease(async (server) => {
    const dir = await tempDir();
    const output = await runScript("install.sh", ["--dir", dir, "--yes"], {
      releasesUrl: server.releasesUrl,
    });
    assertExit(output, 0);
    const binary = `${dir}/joule-profiler`;
    assert.deepEqual(await listDir(dir), ["joule-profiler"]);
    assert.equal((await Deno.stat(binary)).mode! & 0o777, 0o755);
    const expected = fakeVersionLine("v0.1.0", HOST_TARGET);
    assert.equal(await versionOf(binary), expected);
    assert.match(output.stdout, /Latest release: v0\.1\.0/);
    assert.ok(output.stdout.includes(`joule-profiler --version: ${expected}`), output.stdout);
    assert.match(output.stderr, /Checksum verified/);
    assert.ok(output.stderr.includes(`${dir} is not on your PATH`), output.stderr);
    const asset = assetName("v0.1.0", HOST_TARGET);
    assert.deepEqual(downloads(server), [
      `/owner/repo/releases/download/v0.1.0/${asset}`,
      `/owner/repo/releases/download/v0.1.0/${asset}.sha256`,
    ]);
    assert.ok(server.requests.includes("/owner/repo/releases/latest"));
    // --yes does not grant measurement access: the commands are printed, nothing applied.
    assert.match(output.stdout, /setcap cap_perfmon=ep /);
    assert.match(output.stdout, /Nothing was changed/);
    const capabilities = await capabilitiesOf(binary);
    if (capabilities !== null) assert.equal(capabilities, "");
  });
});

Deno.test("install.sh --version installs that release, without asking for the latest", async () => {
  await withRelease(async (server) => {
    for (const version of ["v0.0.9", "0.0.9"]) {
      const dir = await tempDir();
      const output = await runScript("install.sh", ["--dir", dir, "--version", version, "--yes"], {
        releasesUrl: server.releasesUrl,
      });
      assertExit(output, 0);
      assert.equal(
        await versionOf(`${dir}/joule-profiler`),
        fakeVersionLine("v0.0.9", HOST_TARGET),
      );
    }
    assert.ok(!server.requests.includes("/owner/repo/releases/latest"));
  });
});

Deno.test("install.sh expands --dir=~/… against HOME and creates it with --yes", async () => {
  await withRelease(async (server) => {
    const home = await tempDir();
    const output = await runScript("install.sh", ["--dir=~/.local/bin", "--yes"], {
      releasesUrl: server.releasesUrl,
      home,
    });
    assertExit(output, 0);
    assert.deepEqual(await listDir(`${home}/.local/bin`), ["joule-profiler"]);
    const removed = await runScript("uninstall.sh", ["--dir=~/.local/bin", "--yes"], { home });
    assertExit(removed, 0);
    assert.deepEqual(await listDir(`${home}/.local/bin`), []);
  });
});

Deno.test("install.sh detects aarch64/arm64 and downloads that target's archive", async () => {
  await withRelease(async (server) => {
    for (const machine of ["aarch64", "arm64"]) {
      const dir = await tempDir();
      const output = await runScript("install.sh", ["--dir", dir, "--yes"], {
        releasesUrl: server.releasesUrl,
        pathPrefix: [await fakeUname("Linux", machine)],
      });
      assertExit(output, 0);
      assert.equal(
        await versionOf(`${dir}/joule-profiler`),
        fakeVersionLine("v0.1.0", "aarch64-unknown-linux-gnu"),
      );
    }
  });
});

Deno.test("install.sh --list prints the tags of the releases feed, newest first", async () => {
  await withRelease(async (server) => {
    const output = await runScript("install.sh", ["--list"], { releasesUrl: server.releasesUrl });
    assertExit(output, 0);
    assert.deepEqual(output.stdout.trim().split("\n"), [...FAKE_TAGS]);
    assert.deepEqual(server.requests, ["/owner/repo/releases.atom"]);
  });
});

Deno.test("install.sh refuses an archive whose SHA-256 does not match, installing nothing", async () => {
  await withRelease(async (server) => {
    const fresh = await tempDir();
    const refused = await runScript(
      "install.sh",
      ["--dir", fresh, "--version", "v0.0.8", "--yes"],
      {
        releasesUrl: server.releasesUrl,
      },
    );
    assertExit(refused, 1);
    assert.match(
      refused.stderr,
      /checksum mismatch for joule-profiler-v0\.0\.8-.*nothing was installed/,
    );
    assert.deepEqual(await listDir(fresh), []);

    // An installed version stays as it was.
    const upgraded = await tempDir();
    assertExit(
      await runScript("install.sh", ["--dir", upgraded, "--version", "v0.0.9", "--yes"], {
        releasesUrl: server.releasesUrl,
      }),
      0,
    );
    const again = await runScript(
      "install.sh",
      ["--dir", upgraded, "--version", "v0.0.8", "--yes"],
      {
        releasesUrl: server.releasesUrl,
      },
    );
    assertExit(again, 1);
    assert.equal(
      await versionOf(`${upgraded}/joule-profiler`),
      fakeVersionLine("v0.0.9", HOST_TARGET),
    );
  });
});

Deno.test("install.sh refuses an unsupported architecture or OS before downloading", async () => {
  await withRelease(async (server) => {
    for (
      const [os, machine, message] of [
        ["Linux", "s390x", /unsupported architecture 's390x'/],
        ["Linux", "i686", /unsupported architecture 'i686'/],
        ["Darwin", "arm64", /unsupported operating system 'Darwin': .*Linux only/],
      ] as const
    ) {
      const dir = await tempDir();
      const output = await runScript("install.sh", ["--dir", dir, "--yes"], {
        releasesUrl: server.releasesUrl,
        pathPrefix: [await fakeUname(os, machine)],
      });
      assertExit(output, 1);
      assert.match(output.stderr, message);
      assert.deepEqual(await listDir(dir), []);
    }
    assert.deepEqual(server.requests, []);
  });
});

Deno.test("install.sh piped into bash without a terminal never waits for an answer", async () => {
  await withRelease(async (server) => {
    const dir = await tempDir();
    // A fresh install asks nothing: it installs, and only prints the access commands.
    const first = await runScript("install.sh", ["--dir", dir], {
      releasesUrl: server.releasesUrl,
      viaStdin: true,
    });
    assertExit(first, 0);
    assert.equal(await versionOf(`${dir}/joule-profiler`), fakeVersionLine("v0.1.0", HOST_TARGET));
    assert.match(first.stdout, /Nothing was changed/);

    // Replacing would need a "yes": refused at once, before downloading, the binary untouched.
    const downloaded = downloads(server).length;
    const replace = await runScript("install.sh", ["--dir", dir, "--version", "v0.0.9"], {
      releasesUrl: server.releasesUrl,
      viaStdin: true,
    });
    assertExit(replace, 1);
    assert.match(replace.stderr, /already exists and there is no terminal to ask on: pass --yes/);
    assert.equal(await versionOf(`${dir}/joule-profiler`), fakeVersionLine("v0.1.0", HOST_TARGET));

    // So would creating the directory.
    const missing = `${await tempDir()}/not/yet`;
    const create = await runScript("install.sh", ["--dir", missing], {
      releasesUrl: server.releasesUrl,
      viaStdin: true,
    });
    assertExit(create, 1);
    assert.match(create.stderr, /does not exist and there is no terminal to ask on: pass --yes/);
    await assert.rejects(Deno.stat(missing), Deno.errors.NotFound);
    assert.equal(downloads(server).length, downloaded);

    // With --yes both go ahead.
    assertExit(
      await runScript("install.sh", ["--dir", missing, "--yes"], {
        releasesUrl: server.releasesUrl,
        viaStdin: true,
      }),
      0,
    );
    assert.deepEqual(await listDir(missing), ["joule-profiler"]);
  });
});

Deno.test("install.sh under curl | bash asks on the terminal, not on stdin", async () => {
  await withRelease(async (server) => {
    const dir = await tempDir();
    const binary = `${dir}/joule-profiler`;
    assertExit(
      await runScript("install.sh", ["--dir", dir, "--yes"], { releasesUrl: server.releasesUrl }),
      0,
    );
    const declined = await runScriptInTerminal(
      "install.sh",
      ["--dir", dir, "--version", "v0.0.9"],
      {
        releasesUrl: server.releasesUrl,
        answers: "n\n",
      },
    );
    assertExit(declined, 1);
    assert.match(
      declined.stdout,
      /joule-profiler-fake v0\.1\.0 .*exists\. Replace it with v0\.0\.9\? \[y\/N\]/,
    );
    assert.match(declined.stdout, /cancelled: nothing was installed/);
    assert.equal(await versionOf(binary), fakeVersionLine("v0.1.0", HOST_TARGET));
    assert.ok(!server.requests.some((path) => path.includes("/v0.0.9/")));

    // "y" replaces it; the access step is then offered, and "n" leaves it undone.
    const accepted = await runScriptInTerminal(
      "install.sh",
      ["--dir", dir, "--version", "v0.0.9"],
      {
        releasesUrl: server.releasesUrl,
        answers: "y\nn\nn\n",
      },
    );
    assertExit(accepted, 0);
    assert.equal(await versionOf(binary), fakeVersionLine("v0.0.9", HOST_TARGET));
    assert.match(accepted.stdout, /Measuring without root/);
    const capabilities = await capabilitiesOf(binary);
    if (capabilities !== null) assert.equal(capabilities, "");
  });
});

Deno.test("install.sh reports a missing release or a missing latest release clearly", async () => {
  await withRelease(async (server) => {
    const dir = await tempDir();
    const missing = await runScript("install.sh", ["--dir", dir, "--version", "v9.9.9", "--yes"], {
      releasesUrl: server.releasesUrl,
    });
    assertExit(missing, 1);
    assert.match(missing.stderr, /could not download .*\/download\/v9\.9\.9\//);
    assert.deepEqual(await listDir(dir), []);
  });
  await withRelease(async (server) => {
    const dir = await tempDir();
    const none = await runScript("install.sh", ["--dir", dir, "--yes"], {
      releasesUrl: server.releasesUrl,
    });
    assertExit(none, 1);
    assert.match(none.stderr, /no latest release found/);
    assert.deepEqual(await listDir(dir), []);
  }, null);
});

Deno.test("install.sh and uninstall.sh reject bad flags with exit 2 and print --help", async () => {
  for (
    const [script, args, message] of [
      ["install.sh", ["--bogus"], /unknown option '--bogus'/],
      ["install.sh", ["--version", "latest"], /invalid version 'latest'/],
      ["install.sh", ["--dir"], /--dir needs a directory/],
      ["uninstall.sh", ["--bogus"], /unknown option '--bogus'/],
    ] as const
  ) {
    const output = await runScript(script, [...args]);
    assertExit(output, 2);
    assert.match(output.stderr, message);
  }
  for (const script of ["install.sh", "uninstall.sh"]) {
    const help = await runScript(script, ["--help"]);
    assertExit(help, 0);
    assert.match(help.stdout, /--dir DIR/);
    assert.match(help.stdout, /--yes/);
  }
});

Deno.test("uninstall.sh removes the binary from --dir or from PATH, and asks first", async () => {
  await withRelease(async (server) => {
    const install = async (dir: string) =>
      assertExit(
        await runScript("install.sh", ["--dir", dir, "--yes"], {
          releasesUrl: server.releasesUrl,
        }),
        0,
      );

    const dir = await tempDir();
    await install(dir);
    const removed = await runScript("uninstall.sh", ["--dir", dir, "--yes"]);
    assertExit(removed, 0);
    assert.match(removed.stdout, /Removed .*joule-profiler/);
    assert.deepEqual(await listDir(dir), []);

    const onPath = await tempDir();
    await install(onPath);
    // No terminal and no --yes: nothing removed, at once.
    const refused = await runScript("uninstall.sh", [], { pathPrefix: [onPath], viaStdin: true });
    assertExit(refused, 1);
    assert.match(refused.stderr, /pass --yes/);
    assert.deepEqual(await listDir(onPath), ["joule-profiler"]);

    const found = await runScript("uninstall.sh", ["--yes"], { pathPrefix: [onPath] });
    assertExit(found, 0);
    assert.deepEqual(await listDir(onPath), []);

    // A `deno install -g` shim is left to `deno uninstall`, which also removes its config.
    const shimDir = await tempDir();
    await Deno.writeTextFile(
      `${shimDir}/joule-profiler`,
      "#!/bin/sh\n# generated by deno install\nexec deno run --allow-all 'file:///x/main.ts' \"$@\"\n",
    );
    const shim = await runScript("uninstall.sh", ["--dir", shimDir, "--yes"]);
    assertExit(shim, 1);
    assert.match(shim.stderr, /deno uninstall -g joule-profiler/);
    assert.deepEqual(await listDir(shimDir), ["joule-profiler"]);

    const nothing = await runScript("uninstall.sh", ["--dir", onPath, "--yes"]);
    assertExit(nothing, 1);
    assert.match(nothing.stderr, /no joule-profiler in /);
  });
});

const canGrantHere = Deno.uid() === 0 &&
  !(await Array.fromAsync(Deno.readDir("/sys/class/powercap")).catch(() => []))
    .some((entry) => entry.name.startsWith("intel-rapl:")) &&
  (await capabilitiesOf("/bin/sh")) !== null &&
  ["/usr/sbin/setcap", "/sbin/setcap", "/usr/bin/setcap"].some((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });

Deno.test({
  name: "install.sh --grant-access sets cap_perfmon on the binary (root, no powercap zones)",
  // Without powercap zones the powercap step writes nothing under /etc, so this only setcaps.
  ignore: !canGrantHere,
  fn: async () => {
    await withRelease(async (server) => {
      const dir = await tempDir();
      const output = await runScript("install.sh", ["--dir", dir, "--yes", "--grant-access"], {
        releasesUrl: server.releasesUrl,
      });
      assertExit(output, 0);
      assert.match(await capabilitiesOf(`${dir}/joule-profiler`) ?? "", /cap_perfmon[=+]ep/);
      assert.match(output.stdout, /No RAPL powercap zone on this machine/);
    });
  },
});

Deno.test("the install scripts are shellcheck clean", async () => {
  const output = await new Deno.Command("shellcheck", {
    args: ["install.sh", "uninstall.sh", "package_release.sh"],
    cwd: SCRIPTS_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, text);
});

Deno.test("the README's from-source install gives a working joule-profiler command", async () => {
  const readme = await Deno.readTextFile(`${REPO_ROOT}README.md`);
  const command = readme.match(/^deno install -g .* main\.ts$/m)?.[0];
  assert.ok(command, "no `deno install -g … main.ts` line in README.md");
  const words = command.split(" ");
  const root = await tempDir();
  const install = await new Deno.Command(Deno.execPath(), {
    args: [...words.slice(1, -1), "--root", root, words.at(-1)!],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(install.success, new TextDecoder().decode(install.stderr));
  const run = await new Deno.Command(`${root}/bin/joule-profiler`, {
    args: ["--version"],
    cwd: root,
    env: { PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(run.success, new TextDecoder().decode(run.stderr));
  assert.equal(new TextDecoder().decode(run.stdout).trim(), denoConfig.version);
});

Deno.test("the README's install of the bundle gives a working joule-profiler command", async () => {
  const readme = await Deno.readTextFile(`${REPO_ROOT}README.md`);
  const line = readme.match(/^deno task bundle && (deno install -g .* dist\/bundle\/main\.js)$/m);
  assert.ok(
    line,
    "no `deno task bundle && deno install -g … dist/bundle/main.js` line in README.md",
  );
  // The bundle goes to a folder of the test's, not the checkout's dist/.
  const work = await tempDir();
  await bundleCli({ outdir: `${work}/bundle` });
  const words = line[1]!.split(" ");
  const root = await tempDir();
  const install = await new Deno.Command(Deno.execPath(), {
    args: [...words.slice(1, -1), "--root", root, `${work}/bundle/main.js`],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(install.success, new TextDecoder().decode(install.stderr));
  const checks: { args: string[]; expected: string }[] = [
    { args: ["--version"], expected: denoConfig.version },
    // doctor loads a command's chunk of the bundle (its exit says whether RAPL is there).
    { args: ["doctor"], expected: "system" },
  ];
  for (const { args, expected } of checks) {
    const run = await new Deno.Command(`${root}/bin/joule-profiler`, {
      args,
      cwd: root,
      env: { PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    assert.ok(stdout.includes(expected), `${args.join(" ")}: ${stdout}`);
  }
});

Deno.test("install.sh --binary installs a local build (deno task compile) without downloading", async () => {
  await withRelease(async (server) => {
    const build = await tempDir();
    const binary = `${build}/joule-profiler`;
    await Deno.writeTextFile(binary, "#!/bin/sh\necho joule-profiler-local-build\n");
    await Deno.chmod(binary, 0o755);
    const dir = await tempDir();
    const output = await runScript("install.sh", ["--binary", binary, "--dir", dir, "--yes"], {
      releasesUrl: server.releasesUrl,
    });
    assertExit(output, 0);
    assert.equal(await versionOf(`${dir}/joule-profiler`), "joule-profiler-local-build");
    assert.deepEqual(server.requests, [], "nothing was fetched");
    assert.match(output.stdout, /Nothing was changed/, "the access set-up is offered as usual");

    for (
      const [args, message] of [
        [["--binary", `${build}/missing`], /--binary '.*missing' is not an executable file/],
        [["--binary", binary, "--version", "v0.1.0"], /takes no --version or --list/],
      ] as const
    ) {
      const refused = await runScript("install.sh", [...args, "--dir", dir, "--yes"], {
        releasesUrl: server.releasesUrl,
      });
      assertExit(refused, 2);
      assert.match(refused.stderr, message);
    }
  });
});
