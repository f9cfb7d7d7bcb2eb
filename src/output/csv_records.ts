/**
 * CSV records as every CSV output of the profiler writes them: cells
 * separated by `;`, a newline after each record, and RFC 4180 quoting (a
 * cell is put in double quotes when it holds `;`, `"`, a newline or a
 * carriage return, or when its column is always quoted; a `"` inside is
 * doubled). Text is the same, byte for byte, as csv-stringify wrote with the
 * options the writers gave it (tests/csv_records_test.ts compares them),
 * about ten times faster: that library merged and checked its options
 * again for every cell it was told to quote, three per row here, and a
 * result of 17,000 phases took 7 s to write as CSV against 0.7 s as JSON.
 *
 * @module
 */

/** One cell: text, or a number written as JavaScript prints it. */
export type CsvCell = string | number;

/** How {@linkcode csvRecords} writes the text cells. */
export interface CsvRecordOptions {
  /**
   * Columns (0-based) whose text cells are always quoted. An empty cell
   * stays empty; numbers are never quoted.
   */
  quoted?: ReadonlySet<number>;
  /** Applied to each non-empty text cell before quoting (formula neutralisation). */
  clean?: (text: string) => string;
}

/** What makes a cell need quotes: the delimiter, a quote, a line break. */
const NEEDS_QUOTES = /[;"\n\r]/;

/**
 * Records as CSV text: `;` between cells, `\n` after each record.
 *
 * @param rows The records, each a list of cells.
 * @param options Columns always quoted and the text cells' cleaning.
 * @returns The text; empty for no rows.
 *
 * @example Usage
 * ```ts
 * import { csvRecords } from "./csv_records.ts";
 * console.log(csvRecords([["a;b", 1.5, 'say "hi"'], ["x", -2, ""]], { quoted: new Set([0]) }));
 * // "a;b";1.5;"say ""hi"""
 * // "x";-2;
 * ```
 */
export function csvRecords(
  rows: readonly (readonly CsvCell[])[],
  options: CsvRecordOptions = {},
): string {
  const { quoted, clean } = options;
  let text = "";
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      if (i > 0) text += ";";
      const cell = row[i];
      if (typeof cell === "number") {
        text += String(cell);
      } else if (typeof cell === "string" && cell !== "") {
        text += quotedText(clean === undefined ? cell : clean(cell), quoted?.has(i) ?? false);
      }
    }
    text += "\n";
  }
  return text;
}

/** A text cell, in quotes when its column asks for them or its text needs them. */
function quotedText(text: string, always: boolean): string {
  if (!always && !NEEDS_QUOTES.test(text)) return text;
  return `"${text.includes('"') ? text.replaceAll('"', '""') : text}"`;
}
