/**
 * Who the profiled program should run as when the profiler runs under
 * `sudo`: the user who invoked sudo, not root.
 *
 * @module
 */

/** A user to run the program as. */
export interface InvokingUser {
  /** User id. */
  uid: number;
  /** Primary group id. */
  gid: number;
  /** Login name (`USER`, `LOGNAME`). */
  name: string;
  /** Home directory (`HOME`). */
  home: string;
}

/**
 * Reads a user's entry from a passwd-format file.
 *
 * @param uid The user id.
 * @param passwdPath The file (default `/etc/passwd`).
 * @returns Name, primary group and home, or `undefined` when absent.
 *
 * @example Usage
 * ```ts
 * import { passwdEntry } from "./invoking_user.ts";
 * console.log(passwdEntry(0)?.name); // "root"
 * ```
 */
export function passwdEntry(
  uid: number,
  passwdPath = "/etc/passwd",
): { name: string; gid: number; home: string } | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(passwdPath);
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const [name, , id, gid, , home] = line.split(":");
    if (name && Number(id) === uid && id !== "") {
      return { name, gid: Number(gid), home: home ?? "/" };
    }
  }
  return undefined;
}

/**
 * The user behind `sudo`, when the profiler runs as root through it:
 * `SUDO_UID`/`SUDO_GID` (and that user's name and home from `/etc/passwd`,
 * falling back to `SUDO_USER`). `undefined` when not root, when root logged
 * in directly (no `SUDO_UID`), or when sudo was run by root itself.
 *
 * @param env Environment to read (default: the process's).
 * @param euid Effective uid (default: the process's).
 * @returns The user to run the program as, or `undefined` to keep the current one.
 *
 * @example Usage
 * ```ts
 * import { invokingUser } from "./invoking_user.ts";
 * const user = invokingUser({ SUDO_UID: "1000", SUDO_GID: "1000", SUDO_USER: "ada" }, 0);
 * console.log(user?.uid); // 1000
 * ```
 */
export function invokingUser(
  env: Record<string, string | undefined> = Deno.env.toObject(),
  euid: number | null = Deno.uid(),
): InvokingUser | undefined {
  if (euid !== 0) return undefined;
  const uid = Number.parseInt(env.SUDO_UID ?? "", 10);
  if (!Number.isSafeInteger(uid) || uid <= 0) return undefined;
  const entry = passwdEntry(uid);
  const gid = Number.parseInt(env.SUDO_GID ?? "", 10);
  return {
    uid,
    gid: Number.isSafeInteger(gid) && gid >= 0 ? gid : entry?.gid ?? uid,
    name: entry?.name ?? env.SUDO_USER ?? String(uid),
    home: entry?.home ?? "/",
  };
}
