import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import type { InfoRecord, Parser } from 'csv-parse';
import { KosmoError } from '../errors.js';
import type { ImportSpec } from '../integrations/definition.js';
import { requirePackage } from '../require-package.js';

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
  if (code === 'CSV_MAX_RECORD_SIZE') {
    return `the row is longer than ${MAX_ROW_CHARS / 1024 / 1024} MiB (a quote that never closes?): close the quote`;
  }
  return `the row cannot be read as CSV (${typeof code === 'string' ? code : (error as Error).message})`;
}

/**
 * A file with more unreadable rows than this is not CSV worth importing. The cap also bounds the work: each
 * unreadable row costs a read of up to MAX_ROW_CHARS after it.
 */
export const MAX_UNREADABLE_CSV_ROWS = 100;

/**
 * Longer than any row a call accepts (arguments are capped at 1 MiB by default): a row this long is a quote that
 * never closes, swallowing the file. Bounds the parser's memory too, which would otherwise hold the rest of the file.
 */
const MAX_ROW_CHARS = 2 * 1024 * 1024;

/** Where parsing stands: the last line read, and the byte offset where the line after it starts. */
interface Position {
  line: number;
  byte: number;
}

const isSpace = (byte: number) => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);

/**
 * From `after` (the end of the last row read), skips blank lines and the row that could not be read: returns that
 * row's line and where the next line starts (undefined at the end of the file). Reads only those lines.
 */
async function skipUnreadableRow(path: string, after: Position): Promise<{ line: number; next?: number }> {
  let line = after.line + 1;
  let offset = after.byte;
  let blank = true;
  for await (const chunk of createReadStream(path, { start: after.byte }) as AsyncIterable<Buffer>) {
    for (const byte of chunk) {
      offset++;
      if (byte !== 0x0a) {
        if (!isSpace(byte)) blank = false;
        continue;
      }
      if (!blank) return { line, next: offset };
      line++;
    }
  }
  return { line };
}

/**
 * Rows of a CSV file, each with the line it ends on, read as a stream: memory stays flat in the file's size. A row
 * csv-parse cannot read (a stray or unclosed quote) is reported on the line it starts and skipped: parsing resumes
 * on the next line, with a new parser reading the file from there, so one bad quote costs one row, not the file.
 */
async function* csvRows(
  path: string,
  parameters: string[],
  dataField: string,
  required: string[],
): AsyncGenerator<ImportRow> {
  const csvParse = requirePackage('csv-parse') as typeof import('csv-parse');
  let header: string[] | undefined;
  const unreadable: number[] = [];
  for (let from: Position = { line: 1, byte: 0 }; ; ) {
    const start = from;
    const rows: ImportRow[] = [];
    let last: Position = { line: start.line - 1, byte: start.byte };
    const parser: Parser = csvParse.parse({
      columns:
        header ??
        ((names: string[]) => {
          header = names.map((name) => name.trim());
          checkHeader(header, parameters, required);
          last = { line: start.line, byte: start.byte + parser.info.bytes };
          return header;
        }),
      skip_empty_lines: true,
      relax_column_count: true,
      bom: start.byte === 0,
      max_record_size: MAX_ROW_CHARS,
      on_record: (record: Record<string, string>, context: InfoRecord) => {
        last = { line: start.line - 1 + context.lines, byte: start.byte + context.bytes };
        rows.push(
          context.error
            ? { line: last.line, problem: 'the row has a different number of columns than the header' }
            : { line: last.line, args: toArgs(record, parameters, dataField) },
        );
        return null;
      },
    });
    // Records are collected as each chunk is parsed (on_record), so a parse error never drops rows read before it;
    // the error itself is read from `errored` right after the write that met it (the event comes later).
    parser.on('error', () => {});
    for await (const chunk of createReadStream(path, { start: start.byte }) as AsyncIterable<Buffer>) {
      parser.write(chunk);
      yield* rows.splice(0);
      if (parser.errored) break;
    }
    if (!parser.errored) {
      parser.end();
      await finished(parser, { readable: false }).catch(() => undefined);
      yield* rows.splice(0);
    }
    const error = parser.errored;
    if (!error) return;
    if (error instanceof ImportFileError) throw error;
    if (header === undefined)
      throw new ImportFileError(`the CSV header cannot be read: ${csvProblem(error)}`);
    const skipped = await skipUnreadableRow(path, last);
    yield { line: skipped.line, problem: csvProblem(error) };
    unreadable.push(skipped.line);
    if (unreadable.length > MAX_UNREADABLE_CSV_ROWS) {
      throw new ImportFileError(
        `more than ${MAX_UNREADABLE_CSV_ROWS} rows cannot be read as CSV (lines ${unreadable.slice(0, 5).join(', ')}, ...): check the file's quoting and try again.`,
      );
    }
    if (skipped.next === undefined) return;
    from = { line: skipped.line + 1, byte: skipped.next };
  }
}

/** Rows of a JSONL file, one object per line, read line by line. */
async function* jsonlRows(path: string, parameters: string[], dataField: string): AsyncGenerator<ImportRow> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of lines) {
    line++;
    // Editors on Windows start UTF-8 files with a byte-order mark; it is not part of the first object.
    const content = line === 1 ? text.replace(/^\uFEFF/, '') : text;
    if (content.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(content);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        yield { line, problem: 'expected one JSON object per line' };
      } else yield { line, args: toArgs(value as Record<string, unknown>, parameters, dataField) };
    } catch (error) {
      yield { line, problem: `not valid JSON: ${(error as Error).message}` };
    }
  }
}

/** A read error of the file itself (missing, a directory, no permission) says which file and why. */
async function* readable(path: string, rows: AsyncGenerator<ImportRow>): AsyncGenerator<ImportRow> {
  try {
    yield* rows;
  } catch (error) {
    if (error instanceof ImportFileError) throw error;
    throw new ImportFileError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Reads a byte now, so a file that cannot be read (missing, a directory) is refused before any row is used. */
async function checkReadable(path: string): Promise<void> {
  try {
    const file = await open(path);
    try {
      await file.read(Buffer.alloc(1), 0, 1, 0);
    } finally {
      await file.close();
    }
  } catch (error) {
    throw new ImportFileError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/**
 * Reads a `.csv` (header row first) or `.jsonl` file as a stream of argument objects for `spec.function`. A CSV
 * file is read through once before this returns, so a file that cannot be imported (no usable header, too many
 * unreadable rows) is refused before any of its rows is used.
 */
export async function readImportFile(
  path: string,
  parameters: string[],
  spec: ImportSpec,
  required: string[] = [],
): Promise<AsyncIterable<ImportRow>> {
  if (/\.jsonl?$/i.test(path)) {
    await checkReadable(path);
    return readable(path, jsonlRows(path, parameters, spec.dataField));
  }
  if (!/\.csv$/i.test(path)) throw new ImportFileError(`${path}: expected a .csv or .jsonl file`);
  for await (const _ of readable(path, csvRows(path, parameters, spec.dataField, required))) {
    // The first pass only checks the file.
  }
  return readable(path, csvRows(path, parameters, spec.dataField, required));
}
