import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { KosmoError } from '../errors.js';
import type { ImportSpec } from '../integrations/definition.js';

export interface ImportRow {
  /** Line of the file the row ends on (1-based), for error reports. */
  line: number;
  /** The function's arguments, or why the row could not be read. */
  args?: Record<string, unknown>;
  problem?: string;
}

export class ImportFileError extends KosmoError {
  constructor(message: string) {
    super('import_file', message);
  }
}

/** Parameters go top-level; every other non-empty column goes into `dataField`. CSV values stay strings. */
function toArgs(
  record: Record<string, unknown>,
  parameters: string[],
  dataField: string,
): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  const data: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(record)) {
    if (value === '' || value === undefined) continue;
    if (parameters.includes(column)) args[column] = value;
    else data[column] = value;
  }
  if (Object.keys(data).length > 0) {
    const given = args[dataField];
    args[dataField] = typeof given === 'object' && given !== null ? { ...given, ...data } : data;
  }
  return args;
}

/** A header without a required column would fail every row alike: say so once, with what was expected and found. */
function checkHeader(header: string[], parameters: string[], required: string[]): void {
  const missing = required.filter((column) => !header.includes(column));
  if (missing.length === 0) return;
  throw new ImportFileError(
    `the header has no ${missing.join(', ')} column: expected ${parameters.join(', ')} (required: ${required.join(', ')}; any other column becomes a data attribute), found ${header.join(', ')}`,
  );
}

/** What went wrong in a CSV row, said so that the row can be fixed (csv-parse's own text counts lines from a resume). */
function csvProblem(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'CSV_INVALID_CLOSING_QUOTE') {
    return 'a quote in the middle of a field: quote the whole field and double the quotes inside it ("say ""hi""")';
  }
  if (code === 'CSV_QUOTE_NOT_CLOSED') return 'a quoted field is never closed: add the closing quote';
  return `the row cannot be read as CSV (${typeof code === 'string' ? code : (error as Error).message})`;
}

/**
 * A file with more unreadable rows than this is not CSV worth importing. The cap also bounds the work: a row whose
 * quote never closes is only found unreadable at the end of the file, so each one costs a read of the rest.
 */
export const MAX_UNREADABLE_CSV_ROWS = 100;

/**
 * Rows of a CSV file, each with the line it ends on. A row csv-parse cannot read (a stray or unclosed quote) is
 * reported on the line it starts and skipped: parsing resumes on the next line, so one bad quote costs one row,
 * not the file. Each resume parses a view of the same bytes from where the last one stopped, so the file is read
 * about once however many rows are bad.
 */
function csvRows(text: string, parameters: string[], dataField: string, required: string[]): ImportRow[] {
  const bytes = Buffer.from(text, 'utf8');
  const lineStarts = [0];
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) lineStarts.push(at + 1);
  const isBlank = (line: number) =>
    bytes.toString('utf8', lineStarts[line - 1], lineStarts[line] ?? bytes.length).trim() === '';
  const rows: ImportRow[] = [];
  let header: string[] | undefined;
  const unreadable: number[] = [];
  for (let from = 1; from <= lineStarts.length; ) {
    let lastLine = from - 1;
    try {
      parse(bytes.subarray(lineStarts[from - 1]), {
        columns:
          header ??
          ((names: string[]) => {
            lastLine = from;
            header = names.map((name) => name.trim());
            checkHeader(header, parameters, required);
            return header;
          }),
        skip_empty_lines: true,
        relax_column_count: true,
        bom: from === 1,
        on_record: (record: Record<string, string>, context: { lines: number; error?: unknown }) => {
          const line = from - 1 + context.lines;
          lastLine = line;
          rows.push(
            context.error
              ? { line, problem: 'the row has a different number of columns than the header' }
              : { line, args: toArgs(record, parameters, dataField) },
          );
          return null;
        },
      });
      break;
    } catch (error) {
      if (error instanceof ImportFileError) throw error;
      if (header === undefined) {
        throw new ImportFileError(`the CSV header cannot be read: ${csvProblem(error)}`);
      }
      let bad = lastLine + 1;
      while (bad < lineStarts.length && isBlank(bad)) bad++;
      rows.push({ line: bad, problem: csvProblem(error) });
      unreadable.push(bad);
      if (unreadable.length > MAX_UNREADABLE_CSV_ROWS) {
        throw new ImportFileError(
          `more than ${MAX_UNREADABLE_CSV_ROWS} rows cannot be read as CSV (lines ${unreadable.slice(0, 5).join(', ')}, ...): check the file's quoting and try again.`,
        );
      }
      from = bad + 1;
    }
  }
  return rows;
}

function jsonlRows(text: string, parameters: string[], dataField: string): ImportRow[] {
  const rows: ImportRow[] = [];
  // Editors on Windows start UTF-8 files with a byte-order mark; it is not part of the first object.
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((content, index) => {
      if (content.trim() === '') return;
      const line = index + 1;
      try {
        const value: unknown = JSON.parse(content);
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          rows.push({ line, problem: 'expected one JSON object per line' });
        } else rows.push({ line, args: toArgs(value as Record<string, unknown>, parameters, dataField) });
      } catch (error) {
        rows.push({ line, problem: `not valid JSON: ${(error as Error).message}` });
      }
    });
  return rows;
}

/** Reads a `.csv` (header row first) or `.jsonl` file into argument objects for `spec.function`. */
export function readImportFile(
  path: string,
  parameters: string[],
  spec: ImportSpec,
  required: string[] = [],
): ImportRow[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ImportFileError(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (/\.jsonl?$/i.test(path)) return jsonlRows(text, parameters, spec.dataField);
  if (/\.csv$/i.test(path)) return csvRows(text, parameters, spec.dataField, required);
  throw new ImportFileError(`${path}: expected a .csv or .jsonl file`);
}
