/**
 * Diagnostics on stderr, filtered by verbosity (`-v` to `-vvv`).
 *
 * @module
 */

import process from "node:process";
import { styleText } from "node:util";

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

function paint(color: "red" | "yellow" | "cyan" | "gray", text: string): string {
  try {
    return styleText(color, text, { stream: process.stderr });
  } catch {
    return text;
  }
}
