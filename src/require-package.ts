import { createRequire } from 'node:module';

/**
 * Loads a CommonJS package (wasmoon, better-sqlite3, pg, csv-parse) where it is first used. Two reasons: an `import`
 * of a CommonJS file makes Node scan its whole source for the names to export to ESM (40–100 ms for wasmoon's 150 KB
 * bundle; `require` skips that scan), and a command that never needs a package never loads it (a `run` that
 * delivers directly opens no outbox, so it loads neither SQLite nor PostgreSQL's driver). Type with
 * `typeof import('name')`.
 */
export const requirePackage = createRequire(import.meta.url);
