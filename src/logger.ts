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

/** SGR codes of the colours used, with their reset. */
const COLORS = { red: [31, 39], yellow: [33, 39], cyan: [36, 39], gray: [90, 39] } as const;

let stderrColors: boolean | undefined;

/**
 * Whether stderr takes colours, by the rules of Node's `styleText` (which this
 * replaces: importing `node:util` starts Deno's Node layer, about 5 ms of
 * every run's start-up): `FORCE_COLOR` (not 0) forces them; `NO_COLOR`,
 * `NODE_DISABLE_COLORS` and `TERM=dumb` turn them off; else a terminal has them.
 */
function stderrTakesColors(): boolean {
  if (stderrColors !== undefined) return stderrColors;
  const env = (name: string): string | undefined => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined; // no --allow-env: the defaults below
    }
  };
  const force = env("FORCE_COLOR");
  if (force !== undefined && force !== "0") stderrColors = true;
  else if (Deno.noColor || env("NODE_DISABLE_COLORS") !== undefined) stderrColors = false;
  else if (env("TERM") === "dumb") stderrColors = false;
  else stderrColors = Deno.stderr.isTerminal();
  return stderrColors;
}

function paint(color: keyof typeof COLORS, text: string): string {
  if (!stderrTakesColors()) return text;
  const [on, off] = COLORS[color];
  return `\x1b[${on}m${text}\x1b[${off}m`;
}

/**
 * Milliseconds since the runtime started (`performance.now()`), for debug
 * lines that mark where start-up and a run spend their time (`-vv`).
 *
 * @returns e.g. `"41.3 ms after start"`.
 *
 * @example Usage
 * ```ts
 * import { sinceStart } from "./logger.ts";
 * console.log(`ready ${sinceStart()}`); // "ready 12.5 ms after start"
 * ```
 */
export function sinceStart(): string {
  return `${performance.now().toFixed(1)} ms after start`;
}
