import { OutboxError } from '../errors.js';

/** Where a PostgreSQL outbox lives: the server, and the schema its tables are in. */
export interface PostgresLocation {
  /** What `pg` connects with (the URL without our `schema` parameter). */
  connectionString: string;
  schema: string;
  /** The URL for messages, its password masked. */
  label: string;
}

export const DEFAULT_SCHEMA = 'kosmo_vero';

/** An outbox location that names a PostgreSQL database rather than an SQLite file. */
export const isPostgresUrl = (location: string): boolean => /^postgres(ql)?:\/\//i.test(location);

/** The URL with its password (if any) replaced by `***`. Never print a PostgreSQL URL without this. */
export function maskPostgresUrl(location: string): string {
  try {
    const url = new URL(location);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    // Not parseable: keep only the scheme, since we cannot tell where a password would be.
    return `${location.split('://')[0]}://…`;
  }
}

/**
 * `postgres://user:password@host:port/database?schema=name`. `schema` (default `kosmo_vero`) keeps the outbox's
 * tables apart from anything else in the database, and lets tests run side by side in schemas of their own; it
 * must be a plain lower-case identifier, so it is safe to quote into SQL.
 */
export function parsePostgresLocation(location: string): PostgresLocation {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new OutboxError(
      'outbox_invalid_option',
      `Outbox: ${maskPostgresUrl(location)} is not a valid PostgreSQL URL; expected postgres://user@host:5432/database.`,
    );
  }
  const schema = url.searchParams.get('schema') ?? DEFAULT_SCHEMA;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new OutboxError(
      'outbox_invalid_option',
      `Outbox: schema "${schema}" in the PostgreSQL URL must be a lower-case identifier (letters, digits, _; at most 63).`,
    );
  }
  url.searchParams.delete('schema');
  return { connectionString: url.toString(), schema, label: maskPostgresUrl(location) };
}
