/**
 * The CSV writers' records (src/output/csv_records.ts) against the library
 * they replaced: csv-stringify with the options every writer gave it, on
 * random cells, quoted columns, formula neutralisation and header rows; and
 * read back by csv-parse. One deliberate difference: a cell with a carriage
 * return is quoted (csv-stringify 6.9.0 left a lone `\r` bare, which a reader
 * takes for the end of the record).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { type CsvCell, csvRecords } from "../src/output/csv_records.ts";
import { neutralizeFormula } from "../src/output/csv.ts";

/** What the writers asked csv-stringify for (src/output/csv.ts before the change). */
function oracle(
  header: readonly string[] | undefined,
  rows: CsvCell[][],
  quoted: ReadonlySet<number>,
  clean: ((text: string) => string) | undefined,
): string {
  const firstData = header === undefined ? 0 : 1;
  return stringify(header === undefined ? rows : [header as string[], ...rows], {
    delimiter: ";",
    record_delimiter: "unix",
    cast: {
      string: (value, context) => {
        if (context.header === true || context.records < firstData) return value;
        const cell = clean === undefined ? value : clean(value);
        return quoted.has(context.index as number) ? { value: cell, quoted: true } : cell;
      },
    },
  });
}

/** Text with the characters quoting and neutralisation care about, often. */
const text = (units: string[]) =>
  fc.oneof(
    fc.string({ unit: fc.constantFrom(...units) }),
    fc.string(),
    fc.constant(""),
  );
const SPECIAL = [";", '"', "\n", "=", "+", "-", "@", "\t", "a", " ", "é"];
const numbers = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(-0, 1e21, 1e-7, 0.1 + 0.2),
);
/** Cells without a carriage return: there the two writers agree byte for byte. */
const cell: fc.Arbitrary<CsvCell> = fc.oneof(
  text(SPECIAL).filter((value) => !value.includes("\r")),
  numbers,
);

Deno.test("csvRecords() writes what csv-stringify wrote with the writers' options", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(cell, { minLength: 1, maxLength: 6 }), { maxLength: 8 }),
      fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
      fc.boolean(),
      (rows, columns, neutralise) => {
        const quoted = new Set(columns);
        const clean = neutralise ? neutralizeFormula : undefined;
        assert.equal(csvRecords(rows, { quoted, clean }), oracle(undefined, rows, quoted, clean));
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("csvRecords() text reads back as the same cells, carriage returns included", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.array(fc.oneof(text([...SPECIAL, "\r", "\r\n"]), numbers), {
          minLength: 2,
          maxLength: 6,
        }),
        { minLength: 1, maxLength: 8 },
      ),
      fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
      (rows, columns) => {
        // Rows of one width, as the writers' tables are.
        const width = rows[0]!.length;
        const table = rows.map((row) => Array.from({ length: width }, (_, i) => row[i] ?? ""));
        const written = csvRecords(table, { quoted: new Set(columns) });
        const read = parse(written, { delimiter: ";", relax_column_count: false });
        assert.deepEqual(read, table.map((row) => row.map(String)));
      },
    ),
    { numRuns: 1000 },
  );
  // A lone carriage return is quoted, so that it is not taken for the end of the record.
  assert.equal(csvRecords([["a\rb", 1]]), '"a\rb";1\n');
});

Deno.test("csvRecords(): a header row is written as it is, as the writers did", () => {
  const header = ["phase_id", "phase_name", "command", "a;b", '"x"'];
  const rows: CsvCell[][] = [[1, "=SUM(A1)", "sh -c 'echo \"a;b\"'", "", -1.5]];
  const quoted = new Set([1, 2]);
  assert.equal(
    csvRecords([header]) + csvRecords(rows, { quoted, clean: neutralizeFormula }),
    oracle(header, rows, quoted, neutralizeFormula),
  );
  assert.equal(
    csvRecords([header]) + csvRecords(rows, { quoted, clean: neutralizeFormula }),
    'phase_id;phase_name;command;"a;b";"""x"""\n' +
      `1;"'=SUM(A1)";"sh -c 'echo ""a;b""'";;-1.5\n`,
  );
  assert.equal(csvRecords([]), "");
});
