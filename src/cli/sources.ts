/**
 * Which sources a CLI invocation uses, built from its flags. Each built-in
 * source adds its flags to {@linkcode SourceFlags} and its construction to
 * {@linkcode buildSources}.
 *
 * @module
 */

import type { Logger } from "../logger.ts";
import type { Source } from "../source.ts";

/** The source-related global flags, as parsed by commander. */
export interface SourceFlags {
  /** Verbosity, for sources that report details. */
  verbose: number;
}

/** What the sources are for: a profile, or only listing sensors. */
export type SourcePurpose = "profile" | "list-sensors";

/**
 * Creates the sources the flags ask for. A source that was asked for
 * explicitly and cannot work is an error; a default source that cannot work
 * is left out with a warning saying why.
 *
 * @param flags The parsed global flags.
 * @param logger Diagnostics.
 * @param purpose Profile or list.
 * @returns The sources, in reading order.
 *
 * @example Usage
 * ```ts
 * import { buildSources } from "./sources.ts";
 * import { Logger } from "../logger.ts";
 * const sources = await buildSources({ verbose: 0 }, new Logger(), "list-sensors");
 * ```
 */
export function buildSources(
  _flags: SourceFlags,
  _logger: Logger,
  _purpose: SourcePurpose,
): Promise<Source[]> {
  const sources: Source[] = [];
  return Promise.resolve(sources);
}
