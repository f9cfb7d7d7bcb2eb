/**
 * A fake GitHub release for the installer tests: archives packed by
 * `scripts/package_release.sh` (as the release workflow packs them), served by a local HTTP
 * server laid out like `https://github.com/<owner>/<repo>/releases`, and a runner for the
 * install scripts with a controlled environment and no controlling terminal.
 *
 * @module
 */

import { REPO_ROOT } from "./helpers.ts";

/** The release targets the installer knows. */
export const TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] as const;

/** A release target. */
export type Target = typeof TARGETS[number];

/** The target of this machine. */
export const HOST_TARGET: Target = Deno.build.arch === "aarch64"
  ? "aarch64-unknown-linux-gnu"
  : "x86_64-unknown-linux-gnu";

/** Path of the repository's `scripts/` directory (with a trailing slash). */
export const SCRIPTS_DIR = `${REPO_ROOT}scripts/`;

/** The asset name of a release archive, as install.sh downloads it. */
export function assetName(tag: string, target: Target): string {
  return `joule-profiler-${tag}-${target}.tar.gz`;
}

/** What the fake `joule-profiler` of a release prints for `--version` (and anything else). */
export function fakeVersionLine(tag: string, target: Target): string {
  return `joule-profiler-fake ${tag} ${target}`;
}

async function run(command: string, args: string[], cwd?: string): Promise<string> {
  const output = await new Deno.Command(command, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`${command} ${args.join(" ")} failed: ${stderr}`);
  return new TextDecoder().decode(output.stdout);
}

/**
 * Packs a fake `joule-profiler` (a shell script printing {@linkcode fakeVersionLine}) for a
 * tag and target with `scripts/package_release.sh` into `<root>/<tag>/`.
 */
export async function packFakeBinary(
  root: string,
  tag: string,
  target: Target,
  printedTag = tag,
): Promise<void> {
  const binary = await Deno.makeTempFile({ prefix: "jp-fake-bin-" });
  await Deno.writeTextFile(binary, `#!/bin/sh\necho "${fakeVersionLine(printedTag, target)}"\n`);
  await run("bash", [`${SCRIPTS_DIR}package_release.sh`, tag, target, binary, `${root}/${tag}`]);
  await Deno.remove(binary);
}

/** Tags of the fake release: newest first. `v0.0.8`'s archives do not match their checksums. */
export const FAKE_TAGS = ["v0.1.0", "v0.0.9", "v0.0.8"] as const;

/**
 * Builds the fake releases of {@linkcode FAKE_TAGS} for every target in a fresh directory.
 * The `v0.0.8` archives are replaced after their `.sha256` files were written (a tampered
 * download).
 *
 * @returns The directory, with one sub-directory per tag.
 */
export async function buildFakeReleases(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "jp-release-" });
  for (const tag of FAKE_TAGS) {
    for (const target of TARGETS) await packFakeBinary(root, tag, target);
  }
  for (const target of TARGETS) {
    const sums = `${root}/v0.0.8/${assetName("v0.0.8", target)}.sha256`;
    const original = await Deno.readTextFile(sums);
    await packFakeBinary(root, "v0.0.8", target, "tampered");
    await Deno.writeTextFile(sums, original);
  }
  return root;
}

/** A running fake release server. */
export interface ReleaseServer {
  /** The release base, as `JOULE_PROFILER_RELEASES_URL` takes it. */
  releasesUrl: string;
  /** Paths requested so far, in order. */
  requests: string[];
  /** Stops the server. */
  close(): Promise<void>;
}

/** Options of {@linkcode serveRelease}. */
export interface ServeReleaseOptions {
  /** Directory with one sub-directory of assets per tag. */
  root: string;
  /** Tags for `releases.atom`, newest first. */
  tags: readonly string[];
  /** Where `<base>/latest` redirects: `<base>/tag/<latest>`, or `<base>` when `null`. */
  latest: string | null;
}

const RELEASES_PATH = "/owner/repo/releases";

function atomFeed(tags: readonly string[]): string {
  const entries = tags.map((tag, index) => `
  <entry>
    <id>tag:github.com,2008:Repository/1/${tag}</id>
    <updated>2026-01-${String(20 - index).padStart(2, "0")}T00:00:00Z</updated>
    <link rel="alternate" type="text/html" href="https://github.com${RELEASES_PATH}/tag/${tag}"/>
    <title>${tag}</title>
    <content type="html">&lt;p&gt;Release ${tag}&lt;/p&gt;</content>
    <author><name>someone</name></author>
  </entry>`).join("");
  return `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/" xml:lang="en-US">
  <id>tag:github.com,2008:https://github.com${RELEASES_PATH}</id>
  <link type="text/html" rel="alternate" href="https://github.com${RELEASES_PATH}"/>
  <link type="application/atom+xml" rel="self" href="https://github.com${RELEASES_PATH}.atom"/>
  <title>Release notes from repo</title>
  <updated>2026-01-20T00:00:00Z</updated>${entries}
</feed>
`;
}

/**
 * Serves a fake release on 127.0.0.1 (a free port): `<base>.atom`, `<base>/latest` (a 302 to
 * `<base>/tag/<tag>`), `<base>/tag/<tag>` and `<base>/download/<tag>/<asset>`.
 */
export function serveRelease(options: ServeReleaseOptions): ReleaseServer {
  const requests: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      const path = url.pathname;
      requests.push(path);
      const base = `${url.origin}${RELEASES_PATH}`;
      if (path === `${RELEASES_PATH}.atom`) {
        return new Response(atomFeed(options.tags), {
          headers: { "content-type": "application/atom+xml; charset=utf-8" },
        });
      }
      if (path === `${RELEASES_PATH}/latest`) {
        const location = options.latest === null ? base : `${base}/tag/${options.latest}`;
        return new Response(null, { status: 302, headers: { location } });
      }
      if (path === RELEASES_PATH || path.startsWith(`${RELEASES_PATH}/tag/`)) {
        return new Response("<html>release page</html>", {
          headers: { "content-type": "text/html" },
        });
      }
      const download = path.match(/^\/owner\/repo\/releases\/download\/([^/]+)\/([^/]+)$/);
      if (download && !download[1]!.startsWith(".") && !download[2]!.startsWith(".")) {
        try {
          const bytes = await Deno.readFile(`${options.root}/${download[1]}/${download[2]}`);
          return new Response(bytes, { headers: { "content-type": "application/octet-stream" } });
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
      }
      return new Response("Not Found", { status: 404 });
    },
  );
  return {
    releasesUrl: `http://127.0.0.1:${server.addr.port}${RELEASES_PATH}`,
    requests,
    close: () => server.shutdown(),
  };
}

/** What a script run produced. */
export interface ScriptOutput {
  /** Exit status. */
  code: number;
  /** Signal that ended the script (the timeout's SIGTERM if it hung). */
  signal: Deno.Signal | null;
  /** stdout as text. */
  stdout: string;
  /** stderr as text. */
  stderr: string;
}

/** Options of {@linkcode runScript}. */
export interface RunScriptOptions {
  /** `JOULE_PROFILER_RELEASES_URL`; unset when absent. */
  releasesUrl?: string;
  /** Directories put before the system's on `PATH` (e.g. one with a fake `uname`). */
  pathPrefix?: string[];
  /** `HOME` (default: a fresh temporary directory). */
  home?: string;
  /** Feed the script to `bash -s` on stdin, as `curl … | bash -s -- args` does. */
  viaStdin?: boolean;
}

const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Runs `scripts/<script>` with bash in a new session (no controlling terminal, so
 * `/dev/tty` cannot be opened, as in CI or a piped install without a terminal), a minimal
 * environment and a generous time limit; a script that waits for input is killed and shows
 * as `signal: "SIGTERM"`.
 */
export async function runScript(
  script: string,
  args: string[],
  options: RunScriptOptions = {},
): Promise<ScriptOutput> {
  const path = `${SCRIPTS_DIR}${script}`;
  const env: Record<string, string> = {
    PATH: [...(options.pathPrefix ?? []), SYSTEM_PATH].join(":"),
    HOME: options.home ?? await Deno.makeTempDir({ prefix: "jp-home-" }),
    LANG: "C.UTF-8",
  };
  if (options.releasesUrl !== undefined) env.JOULE_PROFILER_RELEASES_URL = options.releasesUrl;
  const bashArgs = options.viaStdin ? ["bash", "-s", "--", ...args] : ["bash", path, ...args];
  const child = new Deno.Command("setsid", {
    args: ["-w", ...bashArgs],
    clearEnv: true,
    env,
    stdin: options.viaStdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  if (options.viaStdin) {
    const writer = child.stdin.getWriter();
    await writer.write(await Deno.readFile(path));
    await writer.close();
  }
  const output = await child.output();
  return {
    code: output.code,
    signal: output.signal,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** Options of {@linkcode runScriptInTerminal}. */
export interface TerminalRunOptions {
  /** `JOULE_PROFILER_RELEASES_URL`. */
  releasesUrl: string;
  /** What the user types on the terminal, e.g. `"n\n"`. */
  answers: string;
}

/**
 * Runs `bash -s -- <args> < scripts/<script>` inside a pseudo-terminal (util-linux
 * `script`): like `curl … | bash -s -- <args>` typed in a terminal, stdin is the script and
 * the answers can only come from `/dev/tty`. Output is the terminal's (CRLF line ends, the
 * answers echoed).
 */
export async function runScriptInTerminal(
  script: string,
  args: string[],
  options: TerminalRunOptions,
): Promise<ScriptOutput> {
  const quoted = [...args, "<", `${SCRIPTS_DIR}${script}`].map((word) =>
    word === "<" ? word : `'${word.replaceAll("'", `'\\''`)}'`
  );
  const child = new Deno.Command("setsid", {
    args: ["-w", "script", "-qefc", `bash -s -- ${quoted.join(" ")}`, "/dev/null"],
    clearEnv: true,
    env: {
      PATH: SYSTEM_PATH,
      HOME: await Deno.makeTempDir({ prefix: "jp-home-" }),
      LANG: "C.UTF-8",
      JOULE_PROFILER_RELEASES_URL: options.releasesUrl,
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(options.answers));
  await writer.close();
  const output = await child.output();
  return {
    code: output.code,
    signal: output.signal,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/**
 * Writes an executable fake `uname` into a fresh directory, for `PATH` shadowing.
 *
 * @returns The directory.
 */
export async function fakeUname(os: string, machine: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "jp-uname-" });
  await Deno.writeTextFile(
    `${dir}/uname`,
    `#!/bin/sh\ncase "$1" in\n  -m) echo "${machine}" ;;\n  -r) echo 6.1.0 ;;\n  *) echo "${os}" ;;\nesac\n`,
  );
  await Deno.chmod(`${dir}/uname`, 0o755);
  return dir;
}

/** Runs a binary with `--version` and returns its trimmed stdout. */
export async function versionOf(binary: string): Promise<string> {
  return (await run(binary, ["--version"])).trim();
}

/** `getcap` output for a file (empty when it has none), or `null` when getcap is missing. */
export async function capabilitiesOf(file: string): Promise<string | null> {
  try {
    return (await run("getcap", [file])).trim();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
