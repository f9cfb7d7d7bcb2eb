/**
 * Diagnostics on stderr, filtered by verbosity (`-v` to `-vvv`).
 *
 * @module
 */

/** Verbosity levels: 0 warnings and errors, 1 info, 2 debug, 3 trace. */
export type Verbosity = 0 | 1 | 2 | 3;

/**
 * A leveled logger writing one line per message to stderr.
 *
 * @example Usage
 * ```ts
 * import { Logger } from "./logger.ts";
 * const log = new Logger(1);
 * log.info("profiling 'sleep 1'");
 * log.debug("not shown at verbosity 1");
 * ```
 */
export class Logger {
  /** The current verbosity. */
  readonly verbosity: Verbosity;
  readonly #write: (line: string) => void;

  /**
   * Creates a logger.
   *
   * @param verbosity 0 (default) to 3.
   * @param write Where lines go (default: stderr).
   */
  constructor(verbosity: Verbosity = 0, write: (line: string) => void = writeStderr) {
    this.verbosity = verbosity;
    this.#write = write;
  }

  /**
   * A problem that ends the run.
   *
   * @param message One line.
   */
  error(message: string): void {
    this.#write(`${paint("red", "error")}: ${message}`);
  }

  /**
   * Something the user should know; the run goes on.
   *
   * @param message One line.
   */
  warn(message: string): void {
    this.#write(`${paint("yellow", "warning")}: ${message}`);
  }

  /**
   * A plain status line shown at every verbosity (e.g. where results went).
   *
   * @param message One line.
   */
  notice(message: string): void {
    this.#write(message);
  }

  /**
   * Progress information (`-v`).
   *
   * @param message One line.
   */
  info(message: string): void {
    if (this.verbosity >= 1) this.#write(`${paint("cyan", "info")}: ${message}`);
  }

  /**
   * Details for debugging (`-vv`).
   *
   * @param message One line.
   */
  debug(message: string): void {
    if (this.verbosity >= 2) this.#write(`${paint("gray", "debug")}: ${message}`);
  }

  /**
   * Very detailed tracing (`-vvv`).
   *
   * @param message One line.
   */
  trace(message: string): void {
    if (this.verbosity >= 3) this.#write(`${paint("gray", "trace")}: ${message}`);
  }
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(`${line}\n`));
  } catch {
    // stderr closed: diagnostics are best effort.
  }
}

/** SGR colour codes (the same as `node:util` `styleText` uses). */
const COLORS = { red: 31, yellow: 33, cyan: 36, gray: 90 } as const;

let stderrColors: boolean | undefined;

/**
 * Whether stderr gets colours, decided as `node:util` `styleText` does
 * (`FORCE_COLOR` first, then `NO_COLOR`/`NODE_DISABLE_COLORS`, a terminal,
 * `TERM=dumb`), without loading the Node.js compatibility layer at start-up.
 */
function colorsOnStderr(): boolean {
  if (stderrColors !== undefined) return stderrColors;
  const env = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined; // no --allow-env: plain text
    }
  };
  const force = env("FORCE_COLOR");
  if (force !== undefined) {
    stderrColors = !["0", "false"].includes(force);
  } else if (Deno.noColor || env("NODE_DISABLE_COLORS") !== undefined) {
    stderrColors = false;
  } else {
    stderrColors = Deno.stderr.isTerminal() && env("TERM") !== "dumb";
  }
  return stderrColors;
}

function paint(color: keyof typeof COLORS, text: string): string {
  return colorsOnStderr() ? `\x1b[${COLORS[color]}m${text}\x1b[39m` : text;
}
