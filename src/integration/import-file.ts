import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { KosmoError } from '../errors.js';

/** How rows of an import file become a function's arguments. */
export interface ImportSpec {
  /** The function each row calls, e.g. `identify_user`. */
  function: string;
  /** Columns that are not parameters of the function go into this object parameter, e.g. `data`. */
  dataField: string;
}

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

function csvRows(text: string, parameters: string[], dataField: string, required: string[]): ImportRow[] {
  let records: Array<{
    record: Record<string, string>;
    info: { lines: number; error?: { message: string } };
  }>;
  try {
    records = parse(text, {
      columns: (header: string[]) => {
        const names = header.map((name) => name.trim());
        checkHeader(names, parameters, required);
        return names;
      },
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
      bom: true,
    });
  } catch (error) {
    if (error instanceof ImportFileError) throw error;
    throw new ImportFileError(`the CSV file cannot be read: ${(error as Error).message}`);
  }
  return records.map(({ record, info }) =>
    info.error
      ? { line: info.lines, problem: `the row has a different number of columns than the header` }
      : { line: info.lines, args: toArgs(record, parameters, dataField) },
  );
}

function jsonlRows(text: string, parameters: string[], dataField: string): ImportRow[] {
  const rows: ImportRow[] = [];
  text.split(/\r?\n/).forEach((content, index) => {
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
