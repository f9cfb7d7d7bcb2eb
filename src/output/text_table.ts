/**
 * A small aligned text table for the terminal: a header row, a rule, and
 * columns padded to their widest cell. Loads nothing: start-up is part of
 * every run's cost.
 *
 * @module
 */

/** How a column's cells line up. */
export type Alignment = "left" | "right";

/** A column of a {@linkcode textTable}. */
export interface Column {
  /** The header text. */
  header: string;
  /** Alignment of its cells (default `left`). */
  align?: Alignment;
}

/** Options of {@linkcode textTable}. */
export interface TextTableOptions {
  /** Prefix of every line (default two spaces). */
  indent?: string;
  /** Styles the header cells (e.g. bold), after padding. */
  styleHeader?: (text: string) => string;
}

/** Terminal columns a string takes: code points (combining marks and wide characters aside). */
function width(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function pad(text: string, size: number, align: Alignment): string {
  const fill = " ".repeat(Math.max(0, size - width(text)));
  return align === "right" ? fill + text : text + fill;
}

/**
 * Lays out rows under headers, columns two spaces apart; trailing blanks
 * are trimmed. Rows may be shorter than the header (missing cells are
 * blank).
 *
 * @param columns The columns.
 * @param rows The cells, row by row.
 * @param options Indent and header style.
 * @returns The lines (header, rule, rows).
 *
 * @example Usage
 * ```ts
 * import { textTable } from "./text_table.ts";
 * console.log(textTable(
 *   [{ header: "Metric" }, { header: "Value", align: "right" }],
 *   [["PACKAGE-0", "3.914 J"]],
 * ).join("\n"));
 * ```
 */
export function textTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  options: TextTableOptions = {},
): string[] {
  const indent = options.indent ?? "  ";
  const style = options.styleHeader ?? ((text: string) => text);
  const widths = columns.map((column, i) =>
    rows.reduce((widest, row) => Math.max(widest, width(row[i] ?? "")), width(column.header))
  );
  const line = (cells: readonly string[], header: boolean) =>
    (indent + columns.map((column, i) => {
      const text = pad(cells[i] ?? "", widths[i]!, column.align ?? "left");
      return header ? style(text) : text;
    }).join("  ")).trimEnd();
  const rule = indent + widths.map((size) => "─".repeat(size)).join("  ");
  return [
    line(columns.map((column) => column.header), true),
    rule,
    ...rows.map((row) => line(row, false)),
  ];
}
